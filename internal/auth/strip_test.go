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

// TestIdentityHeaderSpellingsAreStrippedWhateverTheVerdictCaches: the verdict caches
// never let a spelling of a stripped name through — HTTP/2's lowercase keys, dots,
// underscores, mixed case — whether the name was learnt before, is seen first beside
// look-alikes that are kept, or arrives after the caches are full.
func TestIdentityHeaderSpellingsAreStrippedWhateverTheVerdictCaches(t *testing.T) {
	var got http.Header
	m := newTestMiddleware(t, testConfig(), http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	spoofs := []string{"x-forwarded-user", "x_forwarded_user", "X.Forwarded.User", "X-FORWARDED-USER", "x-Forwarded_user",
		"remote-user", "x-gatehouse-anything", "x_auth_request_email", "X.Ms.Token.Aad.Access.Token", "cf-access-jwt-assertion"}
	kept := []string{"x-forwarded-for", "X_Forwarded_Host", "accept", "x-request-id"}
	send := func(round string, extra int) {
		t.Helper()
		req := httptest.NewRequest("GET", "/health", nil)
		for _, n := range spoofs {
			req.Header[n] = []string{"spoofed"}
		}
		for _, n := range kept {
			req.Header[n] = []string{"kept"}
		}
		for i := 0; i < extra; i++ {
			req.Header["X-Filler-"+strings.Repeat("a", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26%26))] = []string{"kept"}
		}
		m.ServeHTTP(httptest.NewRecorder(), req)
		for _, n := range spoofs {
			if got[n] != nil {
				t.Errorf("%s: %s reached the backend", round, n)
			}
		}
		for _, n := range kept {
			if got[n] == nil {
				t.Errorf("%s: %s was removed", round, n)
			}
		}
	}
	send("first sight", 0)
	send("learnt", 0)
	send("caches filling", 2*maxVerdicts)
	send("caches full", 2*maxVerdicts)
	if n := len(m.identity.kept.Load().(map[string]bool)); n != maxVerdicts {
		t.Fatalf("the kept-names cache holds %d names, not its bound %d", n, maxVerdicts)
	}
	// Spellings never seen, past the bound: normalised on every request.
	spoofs = []string{"x.forwarded.user", "X_Forwarded_User", "REMOTE_USER", "x-gatehouse-new", "Cf_Access_New"}
	send("new spellings after the caches are full", 0)
}

// TestStripHeadersNamingACommonHeaderStripIt: the common headers that skip the
// verdict caches (commonHeaders) are still stripped when headers.stripHeaders names
// them, by name or by family, and the other common headers are kept.
func TestStripHeadersNamingACommonHeaderStripIt(t *testing.T) {
	c := testConfig()
	c.Headers.StripHeaders = []string{"Dnt", "Sec-Fetch-*", "Traceparent"}
	var got http.Header
	m := newTestMiddleware(t, c, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	for round := 0; round < 2; round++ {
		req := httptest.NewRequest("GET", "/health", nil)
		for _, n := range commonHeaders {
			req.Header[n] = []string{"v"}
		}
		m.ServeHTTP(httptest.NewRecorder(), req)
		for _, n := range commonHeaders {
			stripped := n == "Dnt" || n == "Traceparent" || strings.HasPrefix(n, "Sec-Fetch-")
			if n == "Cookie" || n == "Authorization" {
				continue // Gatehouse's own handling, not identity stripping
			}
			if (got[n] == nil) != stripped {
				t.Errorf("round %d: %s stripped %v, want %v", round, n, got[n] == nil, stripped)
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
