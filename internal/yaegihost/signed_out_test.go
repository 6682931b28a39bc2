package yaegihost

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// TestSignOutWithTheDefaultsLandsOnTheSignedOutPage: with no logout option set, a
// signed-out browser goes through the provider's end-session endpoint and lands on
// Gatehouse's own signed-out page (logout.signedOutPath), served without
// authentication: not on the provider's sign-in page, which a protected landing page
// would send it to (and, with the provider's session alive, sign it straight back
// in). The page links to the site's root to sign in again; a configured
// postLogoutRedirectURL still wins.
func TestSignOutWithTheDefaultsLandsOnTheSignedOutPage(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, rpConfig(op), "signed-out@file")
		br := newBrowser()
		mustContain(t, "login", br.get(t, srv.URL+"/app"), "X-Forwarded-User: alice@example.com")
		resp, _ := br.post(t, srv.URL+logoutPath, url.Values{})
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || loc.Scheme+"://"+loc.Host+loc.Path != op.Endpoints().EndSession {
			t.Fatalf("logout: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if got := loc.Query().Get("post_logout_redirect_uri"); got != srv.URL+"/oauth2/signed-out" {
			t.Fatalf("post_logout_redirect_uri %q, want %s/oauth2/signed-out", got, srv.URL)
		}
		p := br.get(t, loc.String())
		landed, _ := url.Parse(p.url)
		if p.status != http.StatusOK || landed.Host != mustURL(t, srv.URL).Host || landed.Path != "/oauth2/signed-out" {
			t.Fatalf("landed on %s (%d) after %v:\n%s", p.url, p.status, br.hops, p.body)
		}
		mustContain(t, "signed-out page", p, `<h1 id="heading">Signed out</h1>`, `<main class="card"`, `href="/"`)
		if strings.Contains(p.body, "backend ") {
			t.Fatalf("the signed-out page came from the backend:\n%s", p.body)
		}
		// Served to anyone, without a session and without starting a sign-in.
		fresh := newBrowser().once(t, srv.URL+"/oauth2/signed-out")
		if fresh.StatusCode != http.StatusOK {
			t.Fatalf("signed-out page without a session: %d (Location %q)", fresh.StatusCode, fresh.Header.Get("Location"))
		}

		// A configured landing page is still where the browser goes.
		cfg := rpConfig(op)
		cfg["excludedURLs"] = "/bye"
		group(cfg, "logout")["postLogoutRedirectURL"] = "/bye"
		other := startGatehouse(t, md, cfg, "signed-out-custom@file")
		br = newBrowser()
		mustContain(t, "login", br.get(t, other.URL+"/app"), "X-Forwarded-User: alice@example.com")
		resp, _ = br.post(t, other.URL+logoutPath, url.Values{})
		loc, _ = url.Parse(resp.Header.Get("Location"))
		if got := loc.Query().Get("post_logout_redirect_uri"); got != other.URL+"/bye" {
			t.Fatalf("post_logout_redirect_uri %q with the option set, want %s/bye", got, other.URL)
		}
	})
}
