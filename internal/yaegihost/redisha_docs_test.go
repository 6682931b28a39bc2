package yaegihost

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	gatehouse "github.com/gatehouse-oidc/gatehouse"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/mitchellh/mapstructure"
	"gopkg.in/yaml.v3"
)

// docExample is one Gatehouse configuration found in a documentation page.
type docExample struct {
	where  string         // "yaml block 3 (line 120)", with the middleware's name for labels
	config map[string]any // what Traefik hands the plugin
	labels bool
	crd    bool // a Kubernetes Middleware
}

// TestRedisHADocExamplesCompile keeps docs/REDIS-HA.md's configuration examples true.
// Every ```yaml block must parse; every Gatehouse configuration in one (the map under
// plugin.gatehouse of a file-provider or Kubernetes CRD document, or Docker labels
// traefik.http.middlewares.<name>.plugin.gatehouse.<option>=<value>) is decoded over
// CreateConfig the way Traefik does (mapstructure, weakly typed, "a,b" lists), with
// unknown option names refused so that a misspelt option cannot pass unnoticed, and
// compiled by config.Compile with every env: and file: reference resolved (the test
// supplies their values, and a PEM CA for *.crt and *.pem files). No compiled string
// may still read env: or file: (an option that does not resolve references), and
// each must configure Redis. It also decodes each under Yaegi, as Traefik would.
func TestRedisHADocExamplesCompile(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "docs", "REDIS-HA.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples := docExamples(t, string(md))

	caPEM := testCAPEM(t)
	env := config.Environment{
		Getenv: func(name string) string {
			return "value-of-" + name + "-for-the-docs-test-0123456789abcdef"
		},
		ReadFile: func(path string) ([]byte, error) {
			if strings.HasSuffix(path, ".crt") || strings.HasSuffix(path, ".pem") {
				return caPEM, nil
			}
			if strings.HasSuffix(path, ".key") {
				return nil, errors.New("the docs test supplies no private keys")
			}
			return []byte("secret-read-from-" + path + "-0123456789abcdef\n"), nil
		},
	}

	kinds := map[string]int{}
	for _, ex := range examples {
		cfg := gatehouse.CreateConfig()
		var md mapstructure.Metadata
		d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook: mapstructure.StringToSliceHookFunc(","), WeaklyTypedInput: true,
			ErrorUnused: true, Metadata: &md, Result: cfg,
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
		r := o.Cache.Redis
		switch {
		case o.Cache.Mode == "memory":
			t.Errorf("%s: configures no Redis", ex.where)
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
		if ex.crd && len(r.Sentinel.Addresses) > 0 {
			kinds["crd-sentinel"]++
		}
		if _, err := host(t).CreateConfig(ex.config); err != nil {
			t.Errorf("%s: does not decode under Yaegi: %v", ex.where, err)
		}
	}
	// The page's sections must keep an example each.
	for kind, min := range map[string]int{"sentinel": 3, "cluster": 2, "url": 1, "tls": 2, "elasticache": 1, "labels": 1, "crd-sentinel": 1} {
		if kinds[kind] < min {
			t.Errorf("docs/REDIS-HA.md has %d %s examples, expected at least %d (found %v)", kinds[kind], kind, min, kinds)
		}
	}
	t.Logf("%d examples compiled: %v", len(examples), kinds)
}

// docExamples returns every Gatehouse configuration in the page's ```yaml blocks.
func docExamples(t *testing.T, md string) []docExample {
	t.Helper()
	var out []docExample
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```yaml" {
			continue
		}
		start := i + 1
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		where := "yaml block at line " + strconv.Itoa(start)
		dec := yaml.NewDecoder(strings.NewReader(strings.Join(body, "\n")))
		for {
			var doc any
			err := dec.Decode(&doc)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s does not parse: %v", where, err)
			}
			crd := false
			if m, ok := doc.(map[string]any); ok && m["kind"] == "Middleware" {
				crd = true
			}
			for _, c := range pluginMaps(doc, "") {
				out = append(out, docExample{where: where, config: c, crd: crd})
			}
			labels := map[string]map[string]any{}
			collectLabels(doc, labels)
			var names []string
			for name := range labels {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				out = append(out, docExample{where: where + " (labels of " + name + ")", config: labels[name], labels: true})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no Gatehouse configuration found in docs/REDIS-HA.md")
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
// middleware name, values as strings, as Traefik's label parser hands them over.
func collectLabels(v any, into map[string]map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		for _, child := range v {
			collectLabels(child, into)
		}
	case []any:
		for _, child := range v {
			collectLabels(child, into)
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
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "docs test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
