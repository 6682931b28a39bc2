package yaegihost

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe/reqsafetest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Paths and forwarding (docs/SECURITY.md): the backend-normalisation matrix against
// excludedURLs, Gatehouse's cookies on every forwarded request, requests with an
// empty path, and the identity headers of other authentication proxies — compiled
// and under Yaegi.

// TestAmbiguousPathsNeverMatchAnExclusionUnderYaegi plays every row of the matrix
// against an instance excluding reqsafetest.Exclusions: the canonical rows reach the
// backend without authentication; every other row is authenticated (401 for an API
// client) or refused by the HTTP server, and never reaches the backend.
func TestAmbiguousPathsNeverMatchAnExclusionUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		cfg := baseConfig()
		cfg["excludedURLs"] = strings.Join(reqsafetest.Exclusions, ",")
		srv := startGatehouse(t, md, cfg, "paths@file")
		playPathMatrix(t, srv.URL)
	})
}

// playPathMatrix sends every row of the path matrix to base as an API client: the
// rows marked Excluded must reach the backend without authentication, the Rejected
// ones be refused by the HTTP server, every other one be answered 401 and never reach
// the backend.
func playPathMatrix(t *testing.T, base string) {
	for _, c := range reqsafetest.PathCases {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			resp, body := rawExchange(t, base, c.Target, "Accept", "application/json")
			reached := strings.HasPrefix(body, "backend ")
			switch {
			case c.Excluded:
				if resp.StatusCode != http.StatusOK || !reached {
					t.Fatalf("%q: %d, want the backend without authentication:\n%s", c.Target, resp.StatusCode, body)
				}
			case c.Rejected:
				if resp.StatusCode != http.StatusBadRequest || reached {
					t.Fatalf("%q: %d, want 400 from the HTTP server:\n%s", c.Target, resp.StatusCode, body)
				}
			default:
				if resp.StatusCode != http.StatusUnauthorized || reached {
					t.Fatalf("%q: %d, want 401 (authentication required):\n%s", c.Target, resp.StatusCode, body)
				}
			}
		})
	}
}

// wantNoGatehouseCookie checks that the backend saw the other cookies of the request
// and none of Gatehouse's (session, chunks, login transactions).
func wantNoGatehouseCookie(t *testing.T, what string, status int, body string) {
	t.Helper()
	if status != http.StatusOK || !strings.HasPrefix(body, "backend ") {
		t.Fatalf("%s: %d %s", what, status, body)
	}
	if strings.Contains(body, "_gatehouse") {
		t.Fatalf("%s: a Gatehouse cookie reached the backend:\n%s", what, body)
	}
	if !strings.Contains(body, "theme=dark") {
		t.Fatalf("%s: the backend lost the application's own cookie:\n%s", what, body)
	}
}

// TestGatehouseCookiesNeverReachTheBackendOnAnyPath: a public page (or its access
// log) must not receive a replayable session. Gatehouse's cookies are removed on
// excluded URLs as on the session and bearer paths; the application's cookies stay.
func TestGatehouseCookiesNeverReachTheBackendOnAnyPath(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		cfg["excludedURLs"] = "/public/"
		group(cfg, "bearer")["preferOverCookie"] = true
		srv := startGatehouse(t, md, cfg, "cookies@file")
		u, _ := url.Parse(srv.URL)

		// A browser in the middle of signing in holds a login-transaction cookie.
		mid := newBrowser()
		mid.jar.SetCookies(u, []*http.Cookie{{Name: "theme", Value: "dark"}})
		if resp := mid.once(t, srv.URL+"/app"); resp.StatusCode != http.StatusFound {
			t.Fatalf("start of sign-in: %d", resp.StatusCode)
		}
		if len(sessionCookies(mid, srv.URL)) == 0 {
			t.Fatal("no login-transaction cookie")
		}
		p := mid.get(t, srv.URL+"/public/page")
		wantNoGatehouseCookie(t, "excluded URL, during sign-in", p.status, p.body)

		br := newBrowser()
		br.jar.SetCookies(u, []*http.Cookie{{Name: "theme", Value: "dark"}})
		mustContain(t, "sign-in", br.get(t, srv.URL+"/app"), "X-Forwarded-User: alice@example.com")
		session := cookieHeader(t, br, srv.URL)
		for i := 0; i < 2; i++ { // the first request and the remembered one
			p = br.get(t, srv.URL+"/public/page")
			wantNoGatehouseCookie(t, "excluded URL, signed in", p.status, p.body)
			p = br.get(t, srv.URL+"/app")
			wantNoGatehouseCookie(t, "session path", p.status, p.body)
			resp, body := getAPI(t, srv.URL+"/orders", append(bearer(ordersToken(t, op)), "Cookie", session+"; theme=dark")...)
			wantNoGatehouseCookie(t, "bearer path", resp.StatusCode, body)
		}
		// Only Gatehouse's cookies: the Cookie header goes altogether.
		resp, body := withCookie(t, srv.URL, "/public/page", session, true)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, "Cookie:") {
			t.Fatalf("excluded URL with only Gatehouse's cookies: %d\n%s", resp.StatusCode, body)
		}
	})
}

// TestEmptyPathIsAuthenticatedNotRoutedToADisabledEndpoint: with the back-channel
// and front-channel endpoints disabled (their paths empty), an absolute-form request
// line without a path ("GET http://host HTTP/1.1") used to reach the back-channel
// handler (405). It is authenticated like any other request: 401 for an API client,
// sign-in for a browser, the backend for a signed-in browser.
func TestEmptyPathIsAuthenticatedNotRoutedToADisabledEndpoint(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		for _, disabled := range []bool{true, false} {
			cfg := rpConfig(op)
			if disabled {
				group(cfg, "logout")["backchannelPath"] = ""
				group(cfg, "logout")["frontchannelPath"] = ""
			}
			srv := startGatehouse(t, md, cfg, "empty-path@file")
			u, _ := url.Parse(srv.URL)
			target := "http://" + u.Host
			resp, body := rawExchange(t, srv.URL, target, "Accept", "application/json")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"error":"unauthorized"`) {
				t.Fatalf("disabled=%v: API client: %d %s", disabled, resp.StatusCode, body)
			}
			resp, _ = rawExchange(t, srv.URL, target)
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), op.URL()) {
				t.Fatalf("disabled=%v: browser: %d %q", disabled, resp.StatusCode, resp.Header.Get("Location"))
			}
			br := newBrowser()
			mustContain(t, "sign-in", br.get(t, srv.URL+"/app"), "X-Forwarded-User: alice@example.com")
			resp, body = rawExchange(t, srv.URL, target, "Cookie", cookieHeader(t, br, srv.URL))
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "X-Forwarded-User: alice@example.com") {
				t.Fatalf("disabled=%v: signed-in browser: %d %s", disabled, resp.StatusCode, body)
			}
		}
	})
}

// TestIdentityHeadersOfOtherAuthProxiesNeverReachTheBackend: a backend moved behind
// Gatehouse from oauth2-proxy, Authelia, Pomerium, Cloudflare Access, Google IAP, an
// AWS ALB or Azure App Service may still trust their identity headers. A client
// sends them (also spelt with '_', '.' or other punctuation): none reaches the
// backend, nor do headers.stripHeaders' names and families; look-alikes stay.
func TestIdentityHeadersOfOtherAuthProxiesNeverReachTheBackend(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		cfg := baseConfig()
		cfg["excludedURLs"] = "/public/"
		group(cfg, "headers")["stripHeaders"] = "X-Legacy-User,X-Team-*"
		srv := startGatehouse(t, md, cfg, "strip@file")
		spoofed := []string{
			"Remote-User", "remote_user", "X-Remote-User", "Remote-Groups", "Remote-Name", "Remote-Email",
			"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups", "X-Auth-Request-Preferred-Username",
			"X-Auth-Request-Access-Token", "x_auth_request_user", "X.Auth.Request.Email", "X-Forwarded-Preferred-Username",
			"X-Forwarded-Access-Token", "X-Pomerium-Claim-Email", "X-Pomerium-Jwt-Assertion", "Cf-Access-Authenticated-User-Email",
			"Cf-Access-Jwt-Assertion", "X-Goog-Authenticated-User-Email", "X-Goog-Authenticated-User-Id", "X-Goog-Iap-Jwt-Assertion",
			"X-Amzn-Oidc-Identity", "X-Amzn-Oidc-Data", "X-Amzn-Oidc-Accesstoken", "X-Ms-Client-Principal", "X-Ms-Client-Principal-Name",
			"X-Ms-Token-Aad-Access-Token", "X-Authentik-Username", "X-Webauth-User", "Gap-Auth", "Tailscale-User-Login",
			"X~Forwarded~User", "X-Legacy-User", "x_legacy_user", "X-Team-Role", "X_Team_Name",
		}
		hdr := []string{"Accept", "application/json", "X-Forwarded-Userish", "kept-1", "X-Auth-Token", "kept-2", "X-Team", "kept-3", "Remote-Addr", "kept-4"}
		for _, n := range spoofed {
			hdr = append(hdr, n, "attacker")
		}
		resp, body := rawExchange(t, srv.URL, "/public/page", hdr...)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, "attacker") {
			t.Fatalf("a spoofed identity header reached the backend (%d):\n%s", resp.StatusCode, body)
		}
		for _, k := range []string{"kept-1", "kept-2", "kept-3", "kept-4"} {
			if !strings.Contains(body, k) {
				t.Errorf("an unrelated header (%s) was removed:\n%s", k, body)
			}
		}
	})
}
