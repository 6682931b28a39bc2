package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
)

// compiled is a middleware built from the test configuration changed by mutate,
// for building principals.
func compiled(t *testing.T, mutate func(c *config.Config)) *Middleware {
	t.Helper()
	c := testConfig()
	if mutate != nil {
		mutate(c)
	}
	return newTestMiddleware(t, c, http.NotFoundHandler())
}

func claimsJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const aliceClaims = `{"iss":"https://idp.example.com","sub":"u-1","email":"alice@example.com","email_verified":true,
 "groups":["staff","ops"],"realm_access":{"roles":["admin"]},"https://example.com/tenant":"acme","scope":"openid api"}`

func TestAuthorizationRules(t *testing.T) {
	claims := claimsJSON(t, aliceClaims)
	unverified := claimsJSON(t, `{"sub":"u-2","email":"mallory@example.com","email_verified":false}`)
	stringVerified := claimsJSON(t, `{"sub":"u-3","email":"carol@example.com","email_verified":"true"}`)
	cases := []struct {
		name   string
		mutate func(c *config.Config)
		claims map[string]any
		want   bool
	}{
		{"no rules", nil, claims, true},
		{"user allowed by email", func(c *config.Config) { c.Authorization.AllowedUsers = []string{"ALICE@example.com"} }, claims, true},
		{"user not listed", func(c *config.Config) { c.Authorization.AllowedUsers = []string{"bob@example.com"} }, claims, false},
		{"domain allowed", func(c *config.Config) { c.Authorization.AllowedDomains = []string{"example.com"} }, claims, true},
		{"domain suffix is not the domain", func(c *config.Config) { c.Authorization.AllowedDomains = []string{"ample.com"} }, claims, false},
		{"unverified email refused for domain", func(c *config.Config) { c.Authorization.AllowedDomains = []string{"example.com"} }, unverified, false},
		{"unverified email accepted when allowed", func(c *config.Config) {
			c.Authorization.AllowedDomains = []string{"example.com"}
			c.Authorization.RequireVerifiedEmail = false
		}, unverified, true},
		{"string email_verified", func(c *config.Config) { c.Authorization.AllowedDomains = []string{"example.com"} }, stringVerified, true},
		{"users or domains", func(c *config.Config) {
			c.Authorization.AllowedUsers = []string{"bob@example.com"}
			c.Authorization.AllowedDomains = []string{"example.com"}
		}, claims, true},
		{"nested roles", func(c *config.Config) {
			c.Authorization.RolesClaim = "realm_access.roles"
			c.Authorization.AllowedRoles = []string{"admin"}
		}, claims, true},
		{"role missing", func(c *config.Config) { c.Authorization.AllowedRoles = []string{"admin"} }, claims, false},
		{"group any-of", func(c *config.Config) { c.Authorization.AllowedGroups = []string{"nobody", "ops"} }, claims, true},
		{"all rules must pass", func(c *config.Config) {
			c.Authorization.AllowedGroups = []string{"ops"}
			c.Authorization.AllowedDomains = []string{"other.example"}
		}, claims, false},
		{"group names are case-sensitive", func(c *config.Config) { c.Authorization.AllowedGroups = []string{"Staff"} }, claims, false},
	}
	for _, tc := range cases {
		m := compiled(t, tc.mutate)
		p := newPrincipal(m, "session", tc.claims, claimString(tc.claims, "email"), "")
		if p.Allowed != tc.want {
			t.Errorf("%s: allowed = %v (%s), want %v", tc.name, p.Allowed, p.DenyReason, tc.want)
		}
	}
}

func TestHeadersAreComputedFromClaims(t *testing.T) {
	m := compiled(t, func(c *config.Config) {
		c.Headers.Templates = map[string]string{"X-Tenant": `{{ index .claims "https://example.com/tenant" }}`, "X-Evil": "a{{\"\\r\\n\"}}Injected: 1"}
		c.Headers.AccessToken = "X-Access-Token"
	})
	p := newPrincipal(m, "session", claimsJSON(t, aliceClaims), "alice@example.com", "at-value")
	got := map[string]string{}
	for i, n := range p.headerNames {
		got[n] = strings.Join(p.headerValues[i], "|")
	}
	want := map[string]string{
		"X-Forwarded-User": "alice@example.com", "X-Forwarded-Email": "alice@example.com",
		"X-Forwarded-Groups": "staff,ops", "X-Tenant": "acme", "X-Access-Token": "at-value",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["X-Evil"]; ok {
		t.Error("a header value with CR/LF was forwarded")
	}
	if _, ok := got["X-Forwarded-Roles"]; ok {
		t.Error("empty roles header forwarded")
	}
	if strings.Join(p.Scopes, " ") != "openid api" {
		t.Errorf("scopes %v", p.Scopes)
	}
}

func TestMinimalHeadersSendOnlyTheUser(t *testing.T) {
	m := compiled(t, func(c *config.Config) { c.Headers.Minimal = true })
	p := newPrincipal(m, "session", claimsJSON(t, aliceClaims), "alice@example.com", "")
	if len(p.headerNames) != 1 || p.headerNames[0] != "X-Forwarded-User" {
		t.Fatalf("headers %v", p.headerNames)
	}
}

func TestForwardAuthorizedSetsIdentityAndStripsAuthorization(t *testing.T) {
	var seen http.Header
	c := testConfig()
	c.Bearer.Enabled, c.Bearer.Audience = true, "https://api.example.com"
	m := newTestMiddleware(t, c, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	p := newPrincipal(m, "session", claimsJSON(t, aliceClaims), "alice@example.com", "")
	req := httptest.NewRequest("GET", "/app", nil)
	req.Header.Set("Authorization", "Bearer abc")
	forwardAuthorized(m, httptest.NewRecorder(), req, p, 0)
	if seen.Get("Authorization") != "" || seen.Get("X-Forwarded-User") != "alice@example.com" {
		t.Fatalf("upstream headers %v", seen)
	}
}

func TestDeniedPrincipalGets403WithEscapedName(t *testing.T) {
	called := false
	c := testConfig()
	c.Authorization.AllowedGroups = []string{"admins"}
	m := newTestMiddleware(t, c, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	p := newPrincipal(m, "session", claimsJSON(t, `{"sub":"x","email":"<script>@example.com","email_verified":true}`), "<script>@example.com", "")
	rec := httptest.NewRecorder()
	forwardAuthorized(m, rec, httptest.NewRequest("GET", "/", nil), p, 0)
	if called || rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "<script>") {
		t.Fatalf("called=%v code=%d body=%s", called, rec.Code, rec.Body)
	}
}

func TestClaimPaths(t *testing.T) {
	c := claimsJSON(t, `{"a.b":"whole","a":{"b":"nested","c":{"d":["x","y"]}},"s":"one"}`)
	if claimString(c, "a.b") != "whole" {
		t.Error("whole dotted name must win")
	}
	if got := claimStrings(c, "a.c.d"); strings.Join(got, ",") != "x,y" {
		t.Errorf("nested list %v", got)
	}
	if got := claimStrings(c, "s"); len(got) != 1 || got[0] != "one" {
		t.Errorf("single string %v", got)
	}
	if claimStrings(c, "a.missing.x") != nil {
		t.Error("missing path")
	}
}

func TestAuthorizationIsLeftAloneWhenBearerIsOff(t *testing.T) {
	var seen http.Header
	m := newTestMiddleware(t, testConfig(), http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	p := newPrincipal(m, "session", claimsJSON(t, aliceClaims), "alice@example.com", "")
	req := httptest.NewRequest("GET", "/app", nil)
	req.Header.Set("Authorization", "Basic YXBwOmFwcA==")
	forwardAuthorized(m, httptest.NewRecorder(), req, p, 0)
	if seen.Get("Authorization") != "Basic YXBwOmFwcA==" {
		t.Fatalf("Authorization changed with bearer auth off: %v", seen)
	}
}
