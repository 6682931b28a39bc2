package yaegihost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	gatehouse "github.com/gatehouse-oidc/gatehouse"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/pages"
	"github.com/mitchellh/mapstructure"
)

func TestCatalogCheckPassesWithManifestTestData(t *testing.T) {
	h := host(t)
	if h.Manifest.DisplayName == "" || h.Manifest.Type != "middleware" || h.Manifest.Import != ModuleName {
		t.Fatalf("manifest: %+v", h.Manifest)
	}
	if err := h.CatalogCheck(); err != nil {
		t.Fatal(err)
	}
}

func TestStagedGoPathLooksLikeTheModuleZip(t *testing.T) {
	h := host(t)
	src := filepath.Join(h.GoPath, "src", filepath.FromSlash(ModuleName))
	for _, want := range []string{".traefik.yml", "go.mod", "plugin.go", "internal/config/config.go"} {
		if _, err := os.Stat(filepath.Join(src, want)); err != nil {
			t.Errorf("%s missing from GOPATH copy", want)
		}
	}
	for _, absent := range []string{".git", "internal/yaegihost"} {
		if _, err := os.Stat(filepath.Join(src, absent)); err == nil {
			t.Errorf("%s must not be in the GOPATH copy (Go leaves it out of the module zip)", absent)
		}
	}
	b, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "require") {
		t.Fatalf("root go.mod has a require; the plugin catalog rejects it:\n%s", b)
	}
}

func TestManifestChecksRejectBrokenManifests(t *testing.T) {
	good := Manifest{DisplayName: "G", Type: "middleware", Import: ModuleName, Summary: "s", TestData: map[string]any{}}
	if err := CheckLocalManifest(&good, ModuleName); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Manifest){
		"type":        func(m *Manifest) { m.Type = "router" },
		"import":      func(m *Manifest) { m.Import = "github.com/other/plugin" },
		"displayName": func(m *Manifest) { m.DisplayName = "" },
		"summary":     func(m *Manifest) { m.Summary = "" },
		"testData":    func(m *Manifest) { m.TestData = nil },
		"runtime":     func(m *Manifest) { m.Runtime = "lua" },
	} {
		m := good
		mutate(&m)
		if err := CheckLocalManifest(&m, ModuleName); err == nil {
			t.Errorf("broken %s accepted", name)
		}
	}
}

func TestSpoofedIdentityHeadersNeverReachTheBackend(t *testing.T) {
	cfg := baseConfig()
	cfg["excludedURLs"] = "/public/"
	cfg["headers"] = map[string]any{"templates": map[string]any{"X-Tenant": "{{.claims.tenant}}"}}
	h := build(t, cfg, "spoof@file")
	for _, name := range []string{"X-Forwarded-User", "x_forwarded_user", "X.Forwarded.User", "X-FORWARDED-EMAIL", "x-forwarded_groups", "X-Tenant", "x_tenant", "X-Gatehouse-Anything"} {
		req := httptest.NewRequest("GET", "/public/page", nil)
		req.Header[name] = []string{"attacker"}
		resp, body := serve(t, h, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", name, resp.StatusCode)
		}
		if strings.Contains(body, "attacker") {
			t.Errorf("spoofed %s reached the backend:\n%s", name, body)
		}
	}
	// A header that merely resembles one stays.
	req := httptest.NewRequest("GET", "/public/page", nil)
	req.Header.Set("X-Forwarded-Userish", "kept")
	if _, body := serve(t, h, req); !strings.Contains(body, "kept") {
		t.Errorf("unrelated header removed:\n%s", body)
	}
}

func TestExcludedURLReachesTheBackendAndOthersGet401(t *testing.T) {
	cfg := baseConfig()
	cfg["excludedURLs"] = "/health,/public/"
	h := build(t, cfg, "excluded@file")
	for path, want := range map[string]int{
		"/health":            http.StatusOK,
		"/health/live":       http.StatusOK,
		"/public/a.css":      http.StatusOK,
		"/healthz":           http.StatusUnauthorized,
		"/public":            http.StatusUnauthorized,
		"/":                  http.StatusUnauthorized,
		"/app":               http.StatusUnauthorized,
		"/public/../admin":   http.StatusUnauthorized,
		"/public/%2e%2e/adm": http.StatusUnauthorized,
		"/public%2fadmin":    http.StatusUnauthorized,
		"//public/x":         http.StatusUnauthorized,
		"/public/./x":        http.StatusUnauthorized,
		"/public\\..\\admin": http.StatusUnauthorized,
	} {
		req := rawRequest(path)
		req.Header.Set("Accept", "application/json") // an API client: 401, not a redirect
		resp, body := serve(t, h, req)
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d (%s)", path, resp.StatusCode, want, strings.TrimSpace(body))
		}
		if want == http.StatusUnauthorized && strings.Contains(body, "backend") {
			t.Errorf("%s: unauthenticated request reached the backend", path)
		}
		if want == http.StatusUnauthorized && resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: 401 without Cache-Control: no-store", path)
		}
	}
}

func TestExcludedURLStripsAuthorizationWhenBearerIsOn(t *testing.T) {
	cfg := baseConfig()
	cfg["excludedURLs"] = "/public/"
	cfg["bearer"] = map[string]any{"enabled": "true", "audience": "https://api.example.com"}
	h := build(t, cfg, "bearer-excluded@file")
	req := httptest.NewRequest("GET", "/public/x", nil)
	req.Header.Set("Authorization", "Bearer secret-token-value")
	if _, body := serve(t, h, req); strings.Contains(body, "secret-token-value") {
		t.Fatalf("Authorization forwarded on an excluded URL:\n%s", body)
	}
}

func TestThreeInstancesInOneInterpreterKeepTheirOwnSettings(t *testing.T) {
	var hs []http.Handler
	for _, p := range []string{"/a", "/b", "/c"} {
		cfg := baseConfig()
		cfg["excludedURLs"] = p
		cfg["session"].(map[string]any)["cookieName"] = "cookie" + strings.TrimPrefix(p, "/")
		hs = append(hs, build(t, cfg, "instance"+p))
	}
	for i, h := range hs {
		for j, p := range []string{"/a", "/b", "/c"} {
			req := httptest.NewRequest("GET", p, nil)
			req.Header.Set("Accept", "application/json")
			resp, _ := serve(t, h, req)
			want := http.StatusUnauthorized
			if i == j {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Errorf("instance %d, path %s: status %d, want %d", i, p, resp.StatusCode, want)
			}
		}
		// Each clears an unreadable session cookie under its own name only.
		req := httptest.NewRequest("GET", "/protected", nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Cookie", "cookiea=garbage; cookieb=garbage; cookiec=garbage")
		resp, _ := serve(t, h, req)
		var cleared []string
		for _, c := range resp.Header.Values("Set-Cookie") {
			cleared = append(cleared, c[:strings.IndexByte(c, '=')])
		}
		if want := "cookie" + string(rune('a'+i)); strings.Join(cleared, ",") != want {
			t.Errorf("instance %d cleared %v, want only %s", i, cleared, want)
		}
	}
}

func TestPanicInTheChainAnswers500(t *testing.T) {
	cfg := baseConfig()
	cfg["excludedURLs"] = "/boom"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := captureStderr(t) // before Build: the logger keeps the stderr it finds
	h, err := host(t).Build(ctx, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), cfg, "panic@file")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	out := stop()
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	// Logged once, at error level, with the panic's value.
	if n := strings.Count(out, "event=internal.error"); n != 1 || !strings.Contains(out, "panic=boom") {
		t.Fatalf("%d log lines about the panic:\n%s", n, out)
	}
}

// typedConfig is the configuration as the file provider hands it over (YAML types);
// stringConfig is the same as Docker labels or Kubernetes annotations give it (every
// leaf a string, lists comma-separated).
func typedConfig() map[string]any {
	return map[string]any{
		"provider": map[string]any{
			"issuer": "https://idp.example.com", "clientID": "gatehouse", "clientSecret": "client-secret-value",
			"scopes": []any{"openid", "email", "groups"}, "pkce": true, "clockSkew": "45s",
		},
		"session": map[string]any{
			"keys": []any{"0123456789abcdef0123456789abcdef-key"}, "secure": false, "lifetime": "8h",
		},
		"bearer": map[string]any{
			"enabled": true, "audience": "https://api.example.com", "maxTokenLength": 4096,
		},
		"authorization": map[string]any{"allowedGroups": []any{"staff", "ops"}},
		"cache":         map[string]any{"l1MaxEntries": 5000, "l1MaxBytes": 1 << 20},
		"throttle":      map[string]any{"failures": 7},
		"excludedURLs":  []any{"/health", "/public/"},
		"logLevel":      "warn",
	}
}

func stringConfig() map[string]any {
	return map[string]any{
		"Provider": map[string]any{
			"ISSUER": "https://idp.example.com", "clientid": "gatehouse", "ClientSecret": "client-secret-value",
			"scopes": "openid,email,groups", "pkce": "true", "clockskew": "45s",
		},
		"session": map[string]any{
			"keys": "0123456789abcdef0123456789abcdef-key", "secure": "false", "lifetime": "8h",
		},
		"bearer": map[string]any{
			"enabled": "true", "audience": "https://api.example.com", "maxtokenlength": "4096",
		},
		"authorization": map[string]any{"allowedgroups": "staff,ops"},
		"cache":         map[string]any{"l1maxentries": "5000", "l1maxbytes": "1048576"},
		"throttle":      map[string]any{"failures": "7"},
		"excludedurls":  "/health,/public/",
		"loglevel":      "warn",
	}
}

// TestTypedAndStringConfigurationsDecodeIdentically decodes the same configuration
// in both forms the way Traefik does, compiled (then validates both and compares the
// compiled options) and under Yaegi (compares the decoded interpreted values and
// builds a middleware from each).
func TestTypedAndStringConfigurationsDecodeIdentically(t *testing.T) {
	decode := func(in map[string]any) *gatehouse.Config {
		cfg := gatehouse.CreateConfig()
		d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook: mapstructure.StringToSliceHookFunc(","), WeaklyTypedInput: true, Result: cfg,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(in); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	a, b := decode(typedConfig()), decode(stringConfig())
	oa, err := config.Compile(a, config.Environment{})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := config.Compile(b, config.Environment{})
	if err != nil {
		t.Fatal(err)
	}
	// The pages are compiled templates (funcs inside): compared by what they render.
	page := &pages.Page{Kind: pages.KindDenied, Status: 403, Heading: "Access denied", User: "u", Lines: []string{"rule 1"}}
	ra, erra := pages.Render(oa.Pages, page)
	rb, errb := pages.Render(ob.Pages, page)
	if erra != nil || errb != nil || string(ra) != string(rb) {
		t.Fatalf("compiled pages differ (%v, %v):\n%s\n%s", erra, errb, ra, rb)
	}
	oa.Pages, ob.Pages = nil, nil
	if !reflect.DeepEqual(oa, ob) {
		t.Fatalf("compiled options differ:\n%+v\n%+v", oa, ob)
	}
	if oa.Bearer.MaxTokenLength != 4096 || oa.Session.Secure || len(oa.Provider.Scopes) != 3 || oa.Throttle.Failures != 7 {
		t.Fatalf("options not applied: %+v", oa)
	}

	h := host(t)
	va, err := h.CreateConfig(typedConfig())
	if err != nil {
		t.Fatal(err)
	}
	vb, err := h.CreateConfig(stringConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(va.Interface(), vb.Interface()) {
		t.Fatalf("interpreted configs differ:\n%+v\n%+v", va.Elem().Interface(), vb.Elem().Interface())
	}
	for _, v := range []reflect.Value{va, vb} {
		if _, err := h.NewHandler(context.Background(), echoBackend(), v, "decode@file"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInvalidOptionsFailNewUnderYaegi runs a table of bad configurations through the
// interpreter: New must fail with an error naming the option.
func TestInvalidOptionsFailNewUnderYaegi(t *testing.T) {
	cases := []struct {
		option string
		group  string
		key    string
		value  any
	}{
		{"provider.issuer", "provider", "issuer", "http://idp.example.com"},
		{"provider.clientID", "provider", "clientID", ""},
		{"provider.clientSecret", "provider", "clientSecret", "env:GATEHOUSE_TEST_UNSET"},
		{"provider.clientAuthMethod", "provider", "clientAuthMethod", "magic"},
		{"provider.scopes", "provider", "scopes", "profile,email"},
		{"provider.callbackPath", "provider", "callbackPath", "callback"},
		{"provider.signingAlgorithms", "provider", "signingAlgorithms", "none"},
		{"provider.clockSkew", "provider", "clockSkew", "soon"},
		{"session.keys[0]", "session", "keys", "short"},
		{"session.sameSite", "session", "sameSite", "sometimes"},
		{"session.lifetime", "session", "lifetime", "forever"},
		{"session.store", "session", "store", "disk"},
		{"bearer.audience", "bearer", "enabled", "true"},
		{"bearer.identifierClaim", "bearer", "identifierClaim", "email"},
		{"bearer.maxTokenLength", "bearer", "maxTokenLength", "12"},
		{"headers.user", "headers", "user", "Bad Header"},
		{"logout.path", "logout", "path", "/oauth2/callback"},
		{"cache.mode", "cache", "mode", "disk"},
		{"cache.l1MaxEntries", "cache", "l1MaxEntries", "0"},
		{"throttle.window", "throttle", "window", "1 minute"},
		{"securityHeaders.profile", "securityHeaders", "profile", "paranoid"},
		{"excludedURLs", "", "excludedURLs", "relative"},
		{"trustedProxies", "", "trustedProxies", "300.1.1.1"},
		{"logLevel", "", "logLevel", "chatty"},
	}
	if len(cases) < 20 {
		t.Fatal("fewer than 20 bad configurations")
	}
	h := host(t)
	for _, tc := range cases {
		cfg := baseConfig()
		if tc.group == "" {
			cfg[tc.key] = tc.value
		} else {
			g, _ := cfg[tc.group].(map[string]any)
			if g == nil {
				g = map[string]any{}
				cfg[tc.group] = g
			}
			g[tc.key] = tc.value
		}
		_, err := h.Build(context.Background(), echoBackend(), cfg, "bad@file")
		if err == nil {
			t.Errorf("%s: accepted", tc.option)
			continue
		}
		if !strings.Contains(err.Error(), tc.option+": ") {
			t.Errorf("%s: error does not name the option: %v", tc.option, err)
		}
	}
}
