package auth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestIdentityHeadersOfOtherAuthProxiesAreStripped: every built-in name and family,
// spelt as backends may fold it, and headers.stripHeaders' additions are removed;
// look-alikes are kept.
func TestIdentityHeadersOfOtherAuthProxiesAreStripped(t *testing.T) {
	c := testConfig()
	c.Headers.StripHeaders = []string{"X-Legacy-User", "X-Team-*"}
	var got http.Header
	m := newTestMiddleware(t, c, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	stripped := []string{"X-Legacy-User", "x_legacy_user", "X-Team-A", "x.team.b", "X-Gatehouse-Session"}
	for _, n := range strippedNames {
		stripped = append(stripped, n, strings.ReplaceAll(n, "-", "_"), strings.ToLower(strings.ReplaceAll(n, "-", ".")))
	}
	for _, f := range strippedFamilies {
		base := strings.TrimSuffix(f, "*")
		stripped = append(stripped, base+"Anything", strings.ReplaceAll(base, "-", "_")+"x_y", base+"A-B-C")
	}
	kept := []string{"Accept", "X-Legacy-Username", "X-Team", "Remote-Addr", "X-Auth-Token", "X-Forwarded-Userish",
		"X-Amzn-Trace-Id", "X-Ms-Request-Id", "Cf-Ray", "Cf-Connecting-Ip", "X-Goog-Api-Key", "X-Pomerium", "Tailscale-Funnel-Request"}
	req := httptest.NewRequest("GET", "/health", nil)
	for _, n := range stripped {
		req.Header[n] = []string{"spoofed"}
	}
	for _, n := range kept {
		req.Header[n] = []string{"kept"}
	}
	for round := 0; round < 2; round++ { // learnt, then from the verdict cache
		r := req.Clone(req.Context())
		m.ServeHTTP(httptest.NewRecorder(), r)
		for n, v := range got {
			if v[0] == "spoofed" {
				t.Errorf("round %d: %s reached the backend", round, n)
			}
		}
		for _, n := range kept {
			if got[n] == nil {
				t.Errorf("round %d: %s was removed", round, n)
			}
		}
	}
}

// TestSecurityDocListsEveryStrippedHeader keeps the documented list in step.
func TestSecurityDocListsEveryStrippedHeader(t *testing.T) {
	b, err := os.ReadFile("../../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(append([]string(nil), strippedNames...), strippedFamilies...) {
		if !strings.Contains(string(b), "`"+n+"`") {
			t.Errorf("docs/SECURITY.md does not list the stripped header %s", n)
		}
	}
}
