package yaegihost

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
	"gopkg.in/yaml.v3"
)

// traefikFileTemplate does to a dynamic-configuration file what Traefik's file
// provider does before decoding it (pkg/provider/file, CreateConfiguration): the
// whole file is parsed as a Go text/template, with the functions of
// traefikTemplateFuncs (no environment), and executed with the data false.
func traefikFileTemplate(name, content string) (string, error) {
	t, err := template.New(name).Funcs(traefikTemplateFuncs(func(string) string { return "" })).Parse(content)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, false); err != nil {
		return "", err
	}
	return b.String(), nil
}

// TestUnescapedGoTemplateDoesNotSurviveTheFileProvider is the problem the ${...}
// syntax solves: Traefik executes {{ .claims.tenant }} itself, and fails.
func TestUnescapedGoTemplateDoesNotSurviveTheFileProvider(t *testing.T) {
	_, err := traefikFileTemplate("dynamic.yml", "templates:\n  X-Tenant: \"{{ .claims.tenant }}\"\n")
	if err == nil {
		t.Fatal("Traefik's templating passed an unescaped Go template through")
	}
}

// TestHeaderTemplatesSurviveTheFileProvider reads a file-provider YAML the way
// Traefik does (Go templating over the file, then YAML) and signs in through the
// middleware it configures: the ${...} templates and the escaped Go templates reach
// Gatehouse and produce the same headers. Compiled and under Yaegi.
func TestHeaderTemplatesSurviveTheFileProvider(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "fileprovider", "templates.yml"))
	if err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "carol"})
		if err := op.AddUser(testop.User{
			Username: "carol", Password: "carol-password", Email: "carol@example.com", EmailVerified: true,
			Roles: []string{"admin", "user"}, Claims: map[string]any{"tenant": "acme"},
		}); err != nil {
			t.Fatal(err)
		}
		rendered, err := traefikFileTemplate("templates.yml", strings.Replace(string(raw), "issuer: ISSUER", "issuer: "+op.URL(), 1))
		if err != nil {
			t.Fatalf("Traefik's file provider would refuse the file: %v", err)
		}
		for _, want := range []string{`"${claims.tenant}"`, `'{{ .claims.tenant }}'`, `"{{ .claims.tenant }}"`, `'{{ index .claims.realm_access.roles 0 }}'`} {
			if !strings.Contains(rendered, want) {
				t.Fatalf("after Traefik's templating the file lacks %s:\n%s", want, rendered)
			}
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(rendered), &doc); err != nil {
			t.Fatal(err)
		}
		cfg := dig(t, doc, "http", "middlewares", "sso", "plugin", "gatehouse")
		srv := startGatehouse(t, md, cfg, "sso@file")
		p := newBrowser().get(t, srv.URL+"/")
		mustContain(t, "signed in", p, "X-Forwarded-User: carol@example.com",
			"X-Tenant: acme\n", "X-Tenant-Escaped: acme\n", "X-Tenant-Backticks: acme\n",
			"X-First-Role: admin\n", "X-First-Role-Escaped: admin\n", "X-Roles: admin;user\n")
	})
}

// TestManifestTestDataSurvivesTheFileProvider: the testData of .traefik.yml, copied
// into a file-provider YAML, is read unchanged.
func TestManifestTestDataSurvivesTheFileProvider(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, ".traefik.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := traefikFileTemplate(".traefik.yml", string(raw))
	if err != nil || out != string(raw) {
		t.Fatalf("Traefik's templating changes the manifest (%v):\n%s", err, out)
	}
	if !strings.Contains(string(raw), "${claims.") {
		t.Fatal("the manifest's testData shows no header template")
	}
}

// dig returns the map at the path of keys in a decoded YAML document.
func dig(t *testing.T, doc map[string]any, keys ...string) map[string]any {
	t.Helper()
	cur := doc
	for _, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("no map at %s", k)
		}
		cur = next
	}
	return cur
}
