package yaegihost

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	gatehouse "github.com/gatehouse-oidc/gatehouse"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/mitchellh/mapstructure"
	"gopkg.in/yaml.v3"
)

// The deployment examples under testdata/ are what README.md and docs/ show (a test
// below checks every example block there against these files), and each is loaded
// here the way Traefik loads it:
//
//   - file provider (testdata/traefik-file, and every redis-ha example whose top level
//     is http:): Go text/template over the whole file with Traefik's template
//     functions, then YAML, then the map under http.middlewares.<name>.plugin.gatehouse;
//   - Docker labels (testdata/docker-compose, and labels in any example):
//     traefik.http.middlewares.<name>.plugin.gatehouse.<a.b.c>=<value> turned into
//     nested maps of strings, as Traefik's label parser hands them over;
//   - Kubernetes CRDs (testdata/kubernetes, and Middlewares in any example):
//     spec.plugin.gatehouse of a Middleware;
//   - static configuration (traefik.yml, the Helm chart's values): the plugin's
//     moduleName and version.
//
// Each Gatehouse configuration is then decoded over CreateConfig with mapstructure
// (weakly typed, "a,b" lists, and unknown names refused so a misspelt option cannot
// pass unnoticed), compiled by config.Compile with every env: and file: reference
// resolved (the test supplies the values, and a PEM CA for *.crt and *.pem files), and
// built by New, compiled and under Yaegi (with the references replaced by literal
// values, since the example's files and variables do not exist here).

// example is one Gatehouse configuration found in a testdata file.
type example struct {
	where  string         // file, and the middleware's name for labels
	config map[string]any // what Traefik hands the plugin
	labels bool
	crd    bool // from a Kubernetes Middleware
}

// exampleFile is what one testdata file yields.
type exampleFile struct {
	examples []example
	static   []map[string]any // static configurations (traefik.yml, Helm values)
	docs     []any            // every YAML document, after templating
}

// traefikTemplateFuncs are the template functions of Traefik's file provider that the
// examples use (Traefik's are Sprig's, plus normalize and split). A function missing
// here fails the test at parse time: add it, with Sprig's meaning.
func traefikTemplateFuncs(env func(string) string) template.FuncMap {
	return template.FuncMap{
		"env": env,
		"default": func(def any, given ...any) any {
			if len(given) == 0 || given[0] == nil || given[0] == "" {
				return def
			}
			return given[0]
		},
		"split": strings.Split,
		"quote": strconv.Quote,
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
		"trim":  strings.TrimSpace,
	}
}

// fileProviderTemplate runs Traefik's file-provider templating over a whole file.
func fileProviderTemplate(t *testing.T, name, text string) string {
	t.Helper()
	out, err := traefikFileTemplate(name, text)
	if err != nil {
		t.Fatalf("%s: Traefik's file provider would refuse the file: %v", name, err)
	}
	return out
}

// loadExampleFile reads one testdata file as Traefik would.
func loadExampleFile(t *testing.T, root, rel string) exampleFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if isFileProvider(text) {
		text = fileProviderTemplate(t, rel, text)
	}
	var out exampleFile
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var doc any
		err := dec.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s does not parse: %v", rel, err)
		}
		out.docs = append(out.docs, doc)
		m, _ := doc.(map[string]any)
		crd := m != nil && m["kind"] == "Middleware"
		for _, c := range pluginMaps(doc, "") {
			out.examples = append(out.examples, example{where: rel, config: c, crd: crd})
		}
		labels := map[string]map[string]any{}
		collectLabels(doc, labels)
		var names []string
		for name := range labels {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			out.examples = append(out.examples, example{where: rel + " (labels of " + name + ")", config: labels[name], labels: true})
		}
		if exp, ok := m["experimental"].(map[string]any); ok {
			out.static = append(out.static, exp)
		}
	}
	return out
}

// isFileProvider reports whether a file is a file provider's dynamic configuration
// (its top level has http:), which Traefik templates.
func isFileProvider(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "http:") {
			return true
		}
	}
	return false
}

// TestEveryDeploymentExampleLoadsAsTraefikLoadsIt loads every file under testdata/
// (see the comment at the top of this file): every one must be an example Traefik
// can load, each Gatehouse configuration in them must decode, compile and build
// under Yaegi and compiled, and each directory must keep the examples the docs rely
// on.
func TestEveryDeploymentExampleLoadsAsTraefikLoadsIt(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files := testdataFiles(t, root)
	if len(files) == 0 {
		t.Fatal("no file under testdata/")
	}
	loaded := map[string]exampleFile{}
	var all []example
	for _, rel := range files {
		if filepath.Ext(rel) != ".yml" {
			t.Errorf("%s: not an example this test loads (only .yml files belong under testdata/)", rel)
			continue
		}
		f := loadExampleFile(t, root, rel)
		if len(f.examples) == 0 && len(f.static) == 0 && !strings.HasPrefix(rel, "testdata/kubernetes/") {
			t.Errorf("%s holds neither a Gatehouse configuration nor a static configuration of the plugin", rel)
		}
		for _, s := range f.static {
			checkStaticPlugin(t, rel, s)
		}
		loaded[rel] = f
		all = append(all, f.examples...)
	}

	checkCompose(t, loaded["testdata/docker-compose/compose.yml"])
	checkKubernetes(t, loaded)
	kinds := compileExamples(t, all)
	// What the docs describe must keep an example each.
	for kind, min := range map[string]int{
		"sentinel": 3, "cluster": 2, "url": 3, "tls": 2, "elasticache": 1, "labels": 2, "crd": 2, "crd-sentinel": 1,
		"file-provider-templated": 1,
	} {
		if kinds[kind] < min {
			t.Errorf("testdata has %d %s examples, expected at least %d (found %v)", kinds[kind], kind, min, kinds)
		}
	}
	t.Logf("%d configurations in %d files: %v", len(all), len(files), kinds)

	// Each configuration is built by New, as Traefik builds it, compiled and under
	// Yaegi.
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, testCAPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, md mode) {
		for i, ex := range all {
			ctx, cancel := context.WithCancel(context.Background())
			cfg := literalValues(ex.config, caFile).(map[string]any)
			func() {
				defer cancel()
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: New panicked: %v", ex.where, r)
					}
				}()
				h := md.build(t, ctx, http.NotFoundHandler(), cfg, "example-"+strconv.Itoa(i))
				if h == nil {
					t.Errorf("%s: New returned no handler", ex.where)
				}
			}()
		}
	})
}

// testdataFiles lists every file under testdata/ at the repository's top level.
func testdataFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "testdata"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// checkStaticPlugin checks a static configuration's experimental section: the plugin
// under the name gatehouse, with the module's name, and for the catalog the version
// of the latest release in CHANGELOG.md.
func checkStaticPlugin(t *testing.T, where string, exp map[string]any) {
	t.Helper()
	var p map[string]any
	if plugins, ok := exp["plugins"].(map[string]any); ok {
		p, _ = plugins["gatehouse"].(map[string]any)
		if p != nil && p["version"] != latestRelease(t) {
			t.Errorf("%s: the catalog plugin's version is %v, the latest release in CHANGELOG.md is %s", where, p["version"], latestRelease(t))
		}
	} else if local, ok := exp["localPlugins"].(map[string]any); ok {
		p, _ = local["gatehouse"].(map[string]any)
	}
	if p == nil || p["moduleName"] != ModuleName {
		t.Errorf("%s: experimental.plugins.gatehouse or localPlugins.gatehouse with moduleName %s expected, got %v", where, ModuleName, exp)
	}
}

var releaseHeading = regexp.MustCompile(`(?m)^## \[?(v\d+\.\d+\.\d+)\]?`)

// latestRelease is the first version heading of CHANGELOG.md ("## v0.1.0 …").
func latestRelease(t *testing.T) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := releaseHeading.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("CHANGELOG.md has no release heading (## vX.Y.Z)")
	}
	return m[1]
}

// checkCompose checks the Docker Compose example as a deployment: the labels attach
// the middleware to a router, Traefik's own container declares the plugin, and every
// env: reference of the Gatehouse labels names a variable of Traefik's container
// (Gatehouse reads them there, not on the application's container).
func checkCompose(t *testing.T, f exampleFile) {
	t.Helper()
	if len(f.docs) != 1 {
		t.Fatal("testdata/docker-compose/compose.yml: one document expected")
	}
	services, _ := f.docs[0].(map[string]any)["services"].(map[string]any)
	traefik, _ := services["traefik"].(map[string]any)
	if traefik == nil || services["redis"] == nil {
		t.Fatalf("compose.yml: services traefik and redis expected, got %v", services)
	}
	env := map[string]bool{}
	for k := range asStringMap(traefik["environment"]) {
		env[k] = true
	}
	flags := strings.Join(asStrings(traefik["command"]), " ")
	for _, want := range []string{"--experimental.plugins.gatehouse.moduleName=" + ModuleName, "--experimental.plugins.gatehouse.version=" + latestRelease(t)} {
		if !strings.Contains(flags, want) {
			t.Errorf("compose.yml: Traefik's command lacks %s", want)
		}
	}
	attached := false
	for name, svc := range services {
		for k, v := range asStringMap(svc.(map[string]any)["labels"]) {
			if strings.HasPrefix(k, "traefik.http.routers.") && strings.HasSuffix(k, ".middlewares") && strings.Contains(v, "sso@docker") {
				attached = true
			}
			if strings.Contains(k, ".plugin.gatehouse.") && strings.HasPrefix(v, "env:") && !env[strings.TrimPrefix(v, "env:")] {
				t.Errorf("compose.yml: %s's label %s reads %s, which Traefik's container does not define", name, k, v)
			}
		}
	}
	if !attached {
		t.Error("compose.yml: no router label attaches the middleware (traefik.http.routers.<r>.middlewares=sso@docker)")
	}
}

// checkKubernetes checks that every IngressRoute's middlewares are Middlewares of the
// examples, in the same namespace.
func checkKubernetes(t *testing.T, files map[string]exampleFile) {
	t.Helper()
	defined := map[string]bool{}
	var routes []map[string]any
	for _, f := range files {
		for _, doc := range f.docs {
			m, _ := doc.(map[string]any)
			meta, _ := m["metadata"].(map[string]any)
			switch m["kind"] {
			case "Middleware":
				defined[meta["namespace"].(string)+"/"+meta["name"].(string)] = true
			case "IngressRoute":
				routes = append(routes, m)
			}
		}
	}
	if len(routes) == 0 {
		t.Error("no IngressRoute among the examples")
	}
	for _, r := range routes {
		ns, _ := r["metadata"].(map[string]any)["namespace"].(string)
		spec, _ := r["spec"].(map[string]any)
		routeList, _ := spec["routes"].([]any)
		uses := 0
		for _, rt := range routeList {
			mws, _ := rt.(map[string]any)["middlewares"].([]any)
			for _, mw := range mws {
				name, _ := mw.(map[string]any)["name"].(string)
				uses++
				if !defined[ns+"/"+name] {
					t.Errorf("IngressRoute %s/%v uses middleware %s, which no example Middleware defines", ns, r["metadata"].(map[string]any)["name"], name)
				}
			}
		}
		if uses == 0 {
			t.Errorf("IngressRoute %v attaches no middleware", r["metadata"])
		}
	}
}

// compileExamples decodes and compiles every configuration and counts their kinds.
func compileExamples(t *testing.T, all []example) map[string]int {
	t.Helper()
	caPEM := testCAPEM(t)
	env := config.Environment{
		Getenv: func(name string) string {
			if strings.HasSuffix(name, "_URL") {
				return "redis://user:password@redis.example:6379/0"
			}
			return "value-of-" + name + "-for-the-examples-test-0123456789abcdef"
		},
		ReadFile: func(path string) ([]byte, error) {
			if strings.HasSuffix(path, ".crt") || strings.HasSuffix(path, ".pem") {
				return caPEM, nil
			}
			if strings.HasSuffix(path, ".key") {
				return nil, errors.New("the examples test supplies no private keys")
			}
			return []byte("secret-read-from-" + path + "-0123456789abcdef\n"), nil
		},
	}
	kinds := map[string]int{}
	for _, ex := range all {
		cfg := gatehouse.CreateConfig()
		d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook: mapstructure.StringToSliceHookFunc(","), WeaklyTypedInput: true,
			ErrorUnused: true, Result: cfg,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(ex.config); err != nil {
			t.Errorf("%s: does not decode as Traefik would: %v", ex.where, err)
			continue
		}
		o, err := config.Compile(cfg, env)
		if err != nil {
			t.Errorf("%s: does not compile: %v", ex.where, err)
			continue
		}
		for _, bad := range unresolvedReferences(reflect.ValueOf(*o), "") {
			t.Errorf("%s: %s is still a reference after compilation: that option does not accept env: or file:", ex.where, bad)
		}
		if consumedTemplate(ex.config) {
			t.Errorf("%s: Traefik's templating consumed a {{ … }} meant for Gatehouse (it left \"<no value>\"): escape it as {{`{{ … }}`}}", ex.where)
		}
		if _, ok := o.Headers.Templates["X-Tenant"]; ok && strings.HasPrefix(ex.where, "testdata/traefik-file/") {
			kinds["file-provider-templated"]++
		}
		r := o.Cache.Redis
		switch {
		case o.Cache.Mode == "memory":
			kinds["memory"]++
		case len(r.Sentinel.Addresses) > 0:
			kinds["sentinel"]++
		case len(r.Cluster.Addresses) > 0:
			kinds["cluster"]++
		default:
			kinds["url"]++
		}
		if r.TLSEnabled {
			kinds["tls"]++
		}
		if r.TLSEnabled && len(r.Cluster.Addresses) > 0 && r.Password != "" && r.TLSCAPEM == nil {
			kinds["elasticache"]++
		}
		if ex.labels {
			kinds["labels"]++
		}
		if ex.crd {
			kinds["crd"]++
			if len(r.Sentinel.Addresses) > 0 {
				kinds["crd-sentinel"]++
			}
		}
	}
	return kinds
}

// consumedTemplate reports whether a configuration holds what Traefik's templating
// leaves of a {{ .field }} it executed over no data.
func consumedTemplate(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			if consumedTemplate(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if consumedTemplate(x) {
				return true
			}
		}
	case string:
		return strings.Contains(v, "<no value>")
	}
	return false
}

// literalValues copies a configuration with every env: and file: reference replaced
// by a literal secret, and every caFile by the given file: New reads them for real.
func literalValues(v any, caFile string) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if strings.EqualFold(k, "caFile") {
				out[k] = caFile
				continue
			}
			out[k] = literalValues(x, caFile)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = literalValues(x, caFile)
		}
		return out
	case string:
		var parts []string
		for _, p := range strings.Split(v, ",") {
			switch {
			case strings.HasPrefix(p, "env:") && strings.HasSuffix(p, "_URL"):
				p = "redis://127.0.0.1:1/0"
			case strings.HasPrefix(p, "env:") || strings.HasPrefix(p, "file:"):
				p = "literal-secret-for-" + strings.NewReplacer(":", "-", "/", "-").Replace(p) + "-0123456789abcdef"
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, ",")
	}
	return v
}

func asStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, strings.TrimSpace(x.(string)))
	}
	return out
}

// asStringMap reads a Compose list ("K=V" entries) or map as a map.
func asStringMap(v any) map[string]string {
	out := map[string]string{}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			out[k], _ = x.(string)
		}
	case []any:
		for _, x := range v {
			s, _ := x.(string)
			k, val, _ := strings.Cut(s, "=")
			out[k] = val
		}
	}
	return out
}

// pluginMaps finds the maps under plugin.gatehouse anywhere in a YAML document.
func pluginMaps(v any, parent string) []map[string]any {
	var out []map[string]any
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if k == "gatehouse" && parent == "plugin" {
				if m, ok := child.(map[string]any); ok {
					out = append(out, m)
					continue
				}
			}
			out = append(out, pluginMaps(child, k)...)
		}
	case []any:
		for _, child := range v {
			out = append(out, pluginMaps(child, parent)...)
		}
	}
	return out
}

// collectLabels turns Docker labels traefik.http.middlewares.<name>.plugin.gatehouse.
// <a.b.c>=<value> found anywhere in a document into one configuration map per
// middleware name, values as strings, as Traefik's label parser hands them over:
// segments written name[i] (rules[00].path) make a list, ordered as Traefik orders
// it, by the text of the index.
func collectLabels(v any, into map[string]map[string]any) {
	collectLabelTree(v, into)
	for name, m := range into {
		into[name] = indexedLists(m).(map[string]any)
	}
}

// indexedLists replaces, in a label tree, every run of keys name[i] by a list under
// name, its elements sorted by the text of their keys (Traefik sorts labels as
// strings: rules[10] comes before rules[2]).
func indexedLists(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	lists := map[string][]string{}
	out := map[string]any{}
	for k, child := range m {
		if i := strings.IndexByte(k, '['); i > 0 && strings.HasSuffix(k, "]") {
			lists[k[:i]] = append(lists[k[:i]], k)
			continue
		}
		out[k] = indexedLists(child)
	}
	for name, keys := range lists {
		sort.Strings(keys)
		var list []any
		for _, k := range keys {
			list = append(list, indexedLists(m[k]))
		}
		out[name] = list
	}
	return out
}

func collectLabelTree(v any, into map[string]map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		for _, child := range v {
			collectLabelTree(child, into)
		}
	case []any:
		for _, child := range v {
			collectLabelTree(child, into)
		}
	case string:
		const marker = ".plugin.gatehouse."
		key, value, ok := strings.Cut(v, "=")
		i := strings.Index(key, marker)
		if !ok || i < 0 || !strings.HasPrefix(key, "traefik.http.middlewares.") {
			return
		}
		name := strings.TrimPrefix(key[:i], "traefik.http.middlewares.")
		if into[name] == nil {
			into[name] = map[string]any{}
		}
		m := into[name]
		path := strings.Split(key[i+len(marker):], ".")
		for _, p := range path[:len(path)-1] {
			p = sameKey(m, p)
			next, _ := m[p].(map[string]any)
			if next == nil {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[sameKey(m, path[len(path)-1])] = value
	}
}

// sameKey returns the key of m that equals k ignoring case, else k: Traefik's label
// parser (paerser's DecodeToNode) merges label segments that differ only in case,
// keeping the first name.
func sameKey(m map[string]any, k string) string {
	for have := range m {
		if strings.EqualFold(have, k) {
			return have
		}
	}
	return k
}

// unresolvedReferences lists the compiled string fields (and list entries) that still
// start with env: or file:.
func unresolvedReferences(v reflect.Value, path string) []string {
	var out []string
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out = append(out, unresolvedReferences(v.Field(i), path+"."+v.Type().Field(i).Name)...)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			out = append(out, unresolvedReferences(v.Elem(), path)...)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			s := string(v.Bytes())
			if strings.HasPrefix(s, "env:") || strings.HasPrefix(s, "file:") {
				out = append(out, strings.TrimPrefix(path, "."))
			}
			return out
		}
		for i := 0; i < v.Len(); i++ {
			out = append(out, unresolvedReferences(v.Index(i), path+"["+strconv.Itoa(i)+"]")...)
		}
	case reflect.String:
		if s := v.String(); strings.HasPrefix(s, "env:") || strings.HasPrefix(s, "file:") {
			out = append(out, strings.TrimPrefix(path, "."))
		}
	}
	return out
}

// testCAPEM is a self-signed CA certificate in PEM, standing for the examples' CA
// files.
func testCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "examples test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// exampleLink finds a link to a testdata file in a Markdown line.
var exampleLink = regexp.MustCompile(`\]\((?:\.\./)?(testdata/[^)#]+\.yml)\)`)

// TestDocsShowTheTestedExamples: every YAML block of README.md and docs/*.md that
// configures the plugin (a gatehouse: key, a plugin.gatehouse label, or the module's
// name) is a testdata file shown whole — the line before the block links to it, and
// the block equals the file — so what the docs show is what
// TestEveryDeploymentExampleLoadsAsTraefikLoadsIt loads.
func TestDocsShowTheTestedExamples(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	pages = append([]string{filepath.Join(root, "README.md")}, pages...)
	shown := 0
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, page)
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			if strings.TrimSpace(lines[i]) != "```yaml" {
				continue
			}
			start := i
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				body = append(body, lines[i])
			}
			block := strings.Join(body, "\n")
			prev := ""
			for j := start - 1; j >= 0; j-- {
				if strings.TrimSpace(lines[j]) != "" {
					prev = lines[j]
					break
				}
			}
			link := exampleLink.FindStringSubmatch(prev)
			configures := strings.Contains(block, "gatehouse:") || strings.Contains(block, ".plugin.gatehouse.") || strings.Contains(block, ModuleName)
			if link == nil {
				if configures {
					t.Errorf("%s:%d: a plugin configuration that is not a tested example: put it under testdata/ and link to it on the line before the block", rel, start+1)
				}
				continue
			}
			want, err := os.ReadFile(filepath.Join(root, link[1]))
			if err != nil {
				t.Errorf("%s:%d: links to %s: %v", rel, start+1, link[1], err)
				continue
			}
			if block != strings.TrimSuffix(string(want), "\n") {
				t.Errorf("%s:%d: the block differs from %s (copy the file into the block)", rel, start+1, link[1])
			}
			shown++
		}
	}
	if shown == 0 {
		t.Fatal("no documentation block shows a testdata example")
	}
}
