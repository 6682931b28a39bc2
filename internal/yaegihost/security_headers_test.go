package yaegihost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// securityHeaders.profile and securityHeaders.applyToUpstream (docs/CONFIGURATION.md):
// the exact headers each profile puts on responses Gatehouse writes itself, that off
// puts none, and that applyToUpstream puts the same set on the backend's responses
// (session and bearer paths) without overriding a header the backend sets.

// profileHeaderNames are every header a profile may set.
var profileHeaderNames = []string{
	"X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
	"Content-Security-Policy", "Cross-Origin-Opener-Policy",
}

// profileHeaders is what each profile sets, exactly.
var profileHeaders = map[string]map[string]string{
	"basic": {
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	},
	"strict": {
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"X-Frame-Options":            "DENY",
		"Content-Security-Policy":    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
		"Cross-Origin-Opener-Policy": "same-origin",
	},
	"off": {},
}

// wantProfileHeaders checks that h carries exactly the profile's headers, each once,
// and none of the other profiles' headers.
func wantProfileHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	for _, name := range profileHeaderNames {
		got := h.Values(name)
		if v, ok := want[name]; ok {
			if len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %q, want exactly %q", what, name, got, v)
			}
		} else if len(got) != 0 {
			t.Errorf("%s: %s = %q, want none", what, name, got)
		}
	}
}

// headerNames lists h's names but Date and Content-Length, sorted.
func headerNames(h http.Header) []string {
	var out []string
	for k := range h {
		if k != "Date" && k != "Content-Length" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// headersBackend is the echo backend, except that /own-frame-options answers with
// its own X-Frame-Options.
func headersBackend() http.Handler {
	echo := echoBackend()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/own-frame-options" {
			w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		}
		echo.ServeHTTP(w, r)
	})
}

func startHeadersInstance(t *testing.T, md mode, cfg map[string]any, name string) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := httptest.NewServer(md.build(t, ctx, headersBackend(), cfg, name))
	t.Cleanup(srv.Close)
	return srv
}

// TestSecurityHeaderProfilesSetExactlyTheirHeaders: for profile unset (basic),
// basic, strict, STRICT (the value is case-insensitive) and off, with and without
// applyToUpstream: Gatehouse's own answers (an API client's 401, the redirect to the
// provider, a callback error page) carry Cache-Control: no-store and exactly the
// profile's headers, whatever applyToUpstream says, and no other header; the
// backend's answers (the session's slow path on the first request, its remembered
// verdict on the next, a bearer token's first and remembered verdicts) carry none of them unless applyToUpstream is
// on, and then exactly the profile's, except that a header the backend sets itself
// keeps the backend's value alone.
func TestSecurityHeaderProfilesSetExactlyTheirHeaders(t *testing.T) {
	cases := []struct {
		profile, want string
	}{{"", "basic"}, {"basic", "basic"}, {"strict", "strict"}, {" STRICT ", "strict"}, {"off", "off"}}
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		tok := ordersToken(t, op)
		for _, c := range cases {
			for _, upstream := range []bool{false, true} {
				want := profileHeaders[c.want]
				what := "profile " + c.want
				if c.profile == "" {
					what = "profile unset (" + c.want + ")"
				} else if c.profile != c.want {
					what = "profile " + strings.TrimSpace(c.profile) + " (" + c.want + ")"
				}
				if upstream {
					what += ", applyToUpstream"
				}
				cfg := bearerConfig(op)
				if c.profile != "" {
					group(cfg, "securityHeaders")["profile"] = c.profile
				}
				if upstream {
					group(cfg, "securityHeaders")["applyToUpstream"] = true
				}
				srv := startHeadersInstance(t, md, cfg, "headers@file")

				// Gatehouse's own answers.
				resp, _ := getAPI(t, srv.URL+"/api", "Accept", "application/json")
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("%s: API client: %d Cache-Control %q", what, resp.StatusCode, resp.Header.Get("Cache-Control"))
				}
				wantProfileHeaders(t, what+": API client's 401", resp.Header, want)
				// WWW-Authenticate: bearer auth is on (bearer.wwwAuthenticate).
				names := []string{"Cache-Control", "Content-Type", "Www-Authenticate"}
				for n := range want {
					names = append(names, n)
				}
				sort.Strings(names)
				if got := headerNames(resp.Header); strings.Join(got, ",") != strings.Join(names, ",") {
					t.Errorf("%s: API client's 401 has headers %v, want %v", what, got, names)
				}
				br := newBrowser()
				resp = br.once(t, srv.URL+"/app")
				if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), op.URL()) ||
					resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("%s: sign-in redirect: %d %q", what, resp.StatusCode, resp.Header.Get("Location"))
				}
				wantProfileHeaders(t, what+": sign-in redirect", resp.Header, want)
				resp = newBrowser().once(t, srv.URL+"/oauth2/callback?state=unknown&code=x")
				if resp.StatusCode < 400 || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("%s: callback without a login: %d", what, resp.StatusCode)
				}
				wantProfileHeaders(t, what+": callback error page", resp.Header, want)

				// The backend's answers.
				upstreamWant := map[string]string{}
				if upstream {
					upstreamWant = want
				}
				p := br.get(t, srv.URL+"/app")
				mustContain(t, what+": login", p, "backend /app", "X-Forwarded-User: alice@example.com")
				wantProfileHeaders(t, what+": backend, first request", p.header, upstreamWant)
				p = br.get(t, srv.URL+"/again")
				mustContain(t, what+": second request", p, "backend /again", "X-Forwarded-User: alice@example.com")
				wantProfileHeaders(t, what+": backend, remembered session", p.header, upstreamWant)
				p = br.get(t, srv.URL+"/own-frame-options")
				mustContain(t, what+": backend's own header", p, "backend /own-frame-options")
				if got := p.header.Values("X-Frame-Options"); len(got) != 1 || got[0] != "SAMEORIGIN" {
					t.Errorf("%s: the backend's X-Frame-Options became %q", what, got)
				}
				for _, round := range []string{"bearer", "bearer, remembered verdict"} {
					resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
					wantForwarded(t, what+": "+round, resp, body, "X-Forwarded-User: svc-orders")
					wantProfileHeaders(t, what+": backend, "+round, resp.Header, upstreamWant)
				}
			}
		}
	})
}
