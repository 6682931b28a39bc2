package auth

import (
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe/reqsafetest"
)

// ruleSet is a policy with every kind of condition: prefixes with and without a
// final "/", an exact path, regular expressions (anchored inside, with a class that
// would match a line feed), methods, hosts, header presence, a rule for every path.
func ruleSet() []config.RuleConfig {
	return []config.RuleConfig{
		{Path: "/health", Action: "allow"},
		{Path: "/public/", Methods: []string{"GET", "HEAD"}, Action: "allow"},
		{PathExact: "/login", Action: "allow"},
		{PathRegexp: `^/api/v[0-9]+/[^/]+$`, Hosts: []string{"api.example.com", "*.svc.example"}},
		{PathRegexp: `/files/.*\.pdf`, Headers: []string{"X-Client"}, Action: "deny"},
		{Path: "/admin", Methods: []string{"DELETE"}, Action: "deny"},
		{Path: "/admin", Require: config.RequireConfig{Groups: []string{"admins"}}, Preflight: "allow"},
		{Methods: []string{"PATCH"}, Action: "deny"},
		{Path: "/.well-known/", Action: "allow"},
	}
}

func ruleMiddleware(t *testing.T, rules []config.RuleConfig) *Middleware {
	t.Helper()
	return compiled(t, func(c *config.Config) { c.Rules = rules })
}

// TestMatcherAgreesWithTheRuleLoop: the one-regexp matcher (config.Matcher) and the
// plain loop over the rules pick the same rule for every request of a large random
// set — paths from the attack matrix and from pieces of the rules' paths, every
// method, hosts, the header — and both call the path ambiguous exactly when
// reqsafe.CanonicalPath refuses it.
func TestMatcherAgreesWithTheRuleLoop(t *testing.T) {
	m := ruleMiddleware(t, ruleSet())
	var pathRules []config.RuleConfig
	for _, r := range ruleSet() {
		if r.Methods == nil && r.Hosts == nil && r.Headers == nil {
			pathRules = append(pathRules, r)
		}
	}
	paths := ruleMiddleware(t, pathRules)
	var list []string
	for _, c := range reqsafetest.PathCases {
		if u, err := url.ParseRequestURI(c.Target); err == nil {
			list = append(list, u.Path)
		}
	}
	pieces := []string{"/health", "/healthz", "/public", "/public/", "/login", "/api/v2/", "/api/vx/", "/files/", "/admin",
		"/admin/", "/.well-known/", "a", "b.pdf", "..", ".", "/", " ", ";", "x/", "\n", "%"}
	rng := rand.New(rand.NewSource(7))
	count := 20000 // make test-all; make test (-short) plays the first 4,000
	if testing.Short() {
		count = 4000
	}
	for i := 0; i < count; i++ {
		p := ""
		for n := rng.Intn(4) + 1; n > 0; n-- {
			p += pieces[rng.Intn(len(pieces))]
		}
		list = append(list, p)
	}
	methods := []string{"GET", "HEAD", "POST", "DELETE", "PATCH", "OPTIONS"}
	hosts := []string{"api.example.com", "API.example.com:443", "a.svc.example", "svc.example", "example.com", "api.example.com."}
	for i, p := range list {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL = &url.URL{Path: p}
		req.Method = methods[i%len(methods)]
		req.Host = hosts[(i/7)%len(hosts)]
		if i%3 == 0 {
			req.Header.Set("X-Client", "1")
		}
		want := 0
		if _, ok := reqsafe.CanonicalPath(req.URL); ok {
			want = matchRule(m.rules, req, 1)
		} else {
			want = matchAmbiguous(m, req)
		}
		if got := matchRequest(m, req); got != want {
			t.Fatalf("%s %s %q (X-Client %q): matcher %d, loop %d", req.Method, req.Host, p, req.Header.Get("X-Client"), got, want)
		}
		// routeByRules' common case (rules on paths only) agrees too: the rule, or
		// handled for the allow and deny rules it carries out.
		if got, want := routeByRules(paths, httptest.NewRecorder(), req), loopRoute(paths, req); got != want {
			t.Fatalf("%s %q: routeByRules %d, loop %d", req.Method, p, got, want)
		}
	}
	// The same paths again, now that routeByRules has remembered those its common case
	// decided: asked with every method (a preflight of a remembered path must not be
	// answered from the memo) and with a RawPath (an encoded form of a remembered path
	// is not the path the memo knows).
	if n := paths.ruleMemoLen.Load(); n == 0 {
		t.Fatal("routeByRules remembered no path")
	}
	for i, p := range list {
		for _, method := range methods {
			req := httptest.NewRequest("GET", "/", nil)
			req.URL = &url.URL{Path: p}
			req.Method = method
			if method == http.MethodOptions {
				// A CORS preflight, which /admin's rule lets through.
				req.Header.Set("Origin", "https://app.example.com")
				req.Header.Set("Access-Control-Request-Method", "GET")
			}
			if i%5 == 0 && strings.Count(p, "/") > 1 {
				k := strings.LastIndexByte(p, '/')
				req.URL.RawPath = p[:k] + "%2F" + p[k+1:]
			}
			if got, want := routeByRules(paths, httptest.NewRecorder(), req), loopRoute(paths, req); got != want {
				t.Fatalf("again, %s %q (RawPath %q): routeByRules %d, loop %d", req.Method, p, req.URL.RawPath, got, want)
			}
		}
	}
}

// loopRoute is routeByRules written with the rule loop.
func loopRoute(m *Middleware, req *http.Request) int {
	i := m.setRule
	if _, ok := reqsafe.CanonicalPath(req.URL); ok {
		i = matchRule(m.rules, req, 1)
	} else if deny, _ := ambiguousRules(m.rules, req); deny > 0 {
		i = deny
	}
	if a := m.rules[i].Action; a == config.ActionAllow || a == config.ActionDeny && !m.rules[i].Report {
		return handled
	}
	if m.rules[i].Preflight && isPreflight(req) {
		return handled
	}
	return i
}

// TestBrowserNavigationsAreTellFromAPIRequests: only a GET or HEAD that a browser
// makes to show a page may be redirected to the provider.
func TestBrowserNavigationsAreToldFromAPIRequests(t *testing.T) {
	cases := []struct {
		method string
		hdr    []string
		want   bool
	}{
		{"GET", nil, true},
		{"HEAD", []string{"Accept", "*/*"}, true},
		{"GET", []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", "text/html"}, true},
		{"GET", []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"}, true},
		{"GET", []string{"Accept", "application/json, text/html"}, true},
		{"POST", []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}, false},
		{"GET", []string{"Sec-Fetch-Mode", "cors", "Accept", "*/*"}, false},
		{"GET", []string{"Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}, false},
		{"GET", []string{"Sec-Fetch-Dest", "script"}, false},
		{"GET", []string{"Sec-Fetch-Mode", "websocket"}, false},
		{"GET", []string{"Upgrade", "websocket", "Connection", "Upgrade"}, false},
		{"GET", []string{"Accept", "text/event-stream"}, false},
		{"GET", []string{"Accept", "application/json"}, false},
		{"GET", []string{"X-Requested-With", "XMLHttpRequest"}, false},
		{"OPTIONS", []string{"Access-Control-Request-Method", "GET", "Origin", "https://a.example"}, false},
		{"DELETE", nil, false},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, "/app", nil)
		for i := 0; i+1 < len(c.hdr); i += 2 {
			req.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		if got := isNavigation(req); got != c.want {
			t.Errorf("%s %v: navigation %v, want %v", c.method, c.hdr, got, c.want)
		}
	}
}

// TestSignInEndpointNeverRedirectsOffSite: rd values that browsers would read as
// another site, or that are not local paths, come back to "/"; a local path is kept.
func TestSignInEndpointNeverRedirectsOffSite(t *testing.T) {
	for _, rd := range []string{"//evil.example/x", `/\evil.example`, "https://evil.example/", "https:evil.example", "/%2F%2Fevil.example",
		"/%5Cevil.example", "/\t/evil.example", "javascript:alert(1)", "evil.example", "/%09/evil.example", "", "/\r\nSet-Cookie:x=1"} {
		if got := startReturnPath(rd); got != "/" {
			t.Errorf("rd %q: comes back to %q", rd, got)
		}
	}
	if got := startReturnPath("/app/page?x=1"); got != "/app/page?x=1" {
		t.Errorf("a local rd: comes back to %q", got)
	}
}

// TestRuleValidationNamesTheFieldAndTheForm: every malformed rule field stops the
// middleware with its index and what is expected.
func TestRuleValidationNamesTheFieldAndTheForm(t *testing.T) {
	cases := []struct {
		rule config.RuleConfig
		want string
	}{
		{config.RuleConfig{Path: "/a/../b"}, "rules[0].path: must be a canonical path prefix"},
		{config.RuleConfig{Path: "/a", PathExact: "/b"}, "rules[0].path: give at most one of path, pathExact and pathRegexp"},
		{config.RuleConfig{PathRegexp: "/a("}, "rules[0].pathRegexp: must be an RE2 regular expression"},
		{config.RuleConfig{PathRegexp: "a.*"}, "rules[0].pathRegexp: must start with /"},
		{config.RuleConfig{Methods: []string{"GE T"}}, "rules[0].methods: entries must be HTTP methods"},
		{config.RuleConfig{Hosts: []string{"a.example.com:443"}}, "rules[0].hosts: entries must be host names"},
		{config.RuleConfig{Action: "permit"}, "rules[0].action: must be authenticate, allow or deny"},
		{config.RuleConfig{Mode: "dry-run"}, "rules[0].mode: must be one of enforce, report"},
		{config.RuleConfig{Preflight: "yes"}, "rules[0].preflight: must be one of off, allow"},
		{config.RuleConfig{Path: "/", Action: "allow"}, "rules[0].path: an allow rule for every path"},
		{config.RuleConfig{Action: "deny", Require: config.RequireConfig{Groups: []string{"a"}}}, "rules[0].require: applies to authenticate rules only"},
		{config.RuleConfig{Require: config.RequireConfig{MaxAuthAge: "5s"}}, "rules[0].require.maxAuthAge: must be between 1m0s"},
		{config.RuleConfig{Require: config.RequireConfig{ACR: []string{"a b"}}}, "rules[0].require.acr: entries must be acr values"},
		{config.RuleConfig{Require: config.RequireConfig{Groups: []string{"a,b"}}}, "rules[0].require.groups: a group name cannot contain a comma"},
		{config.RuleConfig{Require: config.RequireConfig{Users: []string{"\u212Aate"}}}, "rules[0].require.users: entries must be user identifiers"},
		{config.RuleConfig{Require: config.RequireConfig{AllOf: []config.ClaimConfig{{Claim: "a", Equals: "x", Exists: "true"}}}}, "rules[0].require.allOf[0]: give exactly one of"},
		{config.RuleConfig{Require: config.RequireConfig{AnyOf: []config.ClaimConfig{{Claim: "a", Matches: "("}}}}, "rules[0].require.anyOf[0].matches: must be an RE2 regular expression"},
		{config.RuleConfig{Require: config.RequireConfig{AllOf: []config.ClaimConfig{{Claim: "", Equals: "x"}}}}, "rules[0].require.allOf[0].claim: must name a claim"},
	}
	for _, c := range cases {
		cfg := testConfig()
		cfg.Rules = []config.RuleConfig{c.rule}
		_, err := config.Compile(cfg, config.Environment{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.rule, err, c.want)
		}
	}
	cfg := testConfig()
	cfg.Rules = make([]config.RuleConfig, config.MaxRules+1)
	if _, err := config.Compile(cfg, config.Environment{}); err == nil || !strings.Contains(err.Error(), "rules: at most 62 rules") {
		t.Errorf("too many rules: %v", err)
	}
}

// TestClaimConditionsOnEveryShapeOfClaim: conditions over strings, numbers,
// booleans, lists, nested objects, names with dots, null and absent claims.
func TestClaimConditionsOnEveryShapeOfClaim(t *testing.T) {
	claims := claimsJSON(t, `{"tid":"t-1","lvl":2,"ok":true,"groups":["a","b"],"realm_access":{"roles":["admin"]},
		"https://example.com/roles":["editor"],"https://example.com":{"roles":["nested"]},"gone":null,"obj":{"k":"v"}}`)
	cases := []struct {
		cond config.ClaimConfig
		want bool
	}{
		{config.ClaimConfig{Claim: "tid", Equals: "t-1"}, true},
		{config.ClaimConfig{Claim: "tid", Equals: "T-1"}, false},
		{config.ClaimConfig{Claim: "lvl", Equals: "2"}, true},
		{config.ClaimConfig{Claim: "ok", Equals: "true"}, true},
		{config.ClaimConfig{Claim: "groups", Equals: "a"}, false},
		{config.ClaimConfig{Claim: "groups", Contains: "b"}, true},
		{config.ClaimConfig{Claim: "groups", Contains: "c"}, false},
		{config.ClaimConfig{Claim: "tid", Contains: "t-1"}, true},
		{config.ClaimConfig{Claim: "groups", In: []string{"x", "b"}}, true},
		{config.ClaimConfig{Claim: "tid", In: []string{"t-2", "t-1"}}, true},
		{config.ClaimConfig{Claim: "groups", Matches: "[ab]"}, true},
		{config.ClaimConfig{Claim: "tid", Matches: "t"}, false},
		{config.ClaimConfig{Claim: "realm_access.roles", Contains: "admin"}, true},
		{config.ClaimConfig{Claim: "https://example.com/roles", Contains: "editor"}, true},
		{config.ClaimConfig{Claim: "https://example.com/roles", Contains: "nested"}, false},
		{config.ClaimConfig{Claim: "gone", Exists: "true"}, false},
		{config.ClaimConfig{Claim: "gone", Exists: "false"}, true},
		{config.ClaimConfig{Claim: "missing", Exists: "false"}, true},
		{config.ClaimConfig{Claim: "obj", Exists: "1"}, true},
		{config.ClaimConfig{Claim: "obj", Equals: "v"}, false},
		{config.ClaimConfig{Claim: "missing", Equals: ""}, false},
	}
	for _, c := range cases {
		cfg := testConfig()
		cfg.Rules = []config.RuleConfig{{Require: config.RequireConfig{AllOf: []config.ClaimConfig{c.cond}}}}
		if c.cond.Equals == "" && c.cond.In == nil && c.cond.Contains == "" && c.cond.Matches == "" && c.cond.Exists == "" {
			continue // not a valid condition (exactly one operator)
		}
		o, err := config.Compile(cfg, config.Environment{})
		if err != nil {
			t.Fatal(err)
		}
		if got := conditionHolds(o.Policy.Rules[1].Require.AllOf[0], claims); got != c.want {
			t.Errorf("%+v: %v, want %v", c.cond, got, c.want)
		}
	}
}
