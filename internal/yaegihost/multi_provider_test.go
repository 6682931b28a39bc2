package yaegihost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Several providers in one middleware (providers:), compiled and under Yaegi, with two
// real test providers over HTTP: the choice by host, by path, by the sign-in chooser
// and by a bearer token's issuer; and that nothing one provider issued — a session, a
// token, a logout — is ever accepted as another's.

// providerEntry is a providers entry for op's default confidential client.
func providerEntry(op *testop.Provider, id string, extra map[string]any) map[string]any {
	e := map[string]any{"id": id, "issuer": op.URL(), "clientID": "gatehouse", "clientSecret": "gatehouse-client-secret",
		"scopes": "openid,profile,email,groups"}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

// multiConfig is rpConfig with providers: instead of provider:.
func multiConfig(op *testop.Provider, entries ...map[string]any) map[string]any {
	cfg := rpConfig(op)
	delete(cfg, "provider")
	list := make([]any, len(entries))
	for i, e := range entries {
		list[i] = e
	}
	cfg["providers"] = list
	return cfg
}

// twoProviders starts providers A (Corp SSO) and B (Partners).
func twoProviders(t *testing.T) (*testop.Provider, *testop.Provider) {
	return newOP(t, testop.Options{}), newOP(t, testop.Options{})
}

// navigate sends a browser navigation to h for host and path, without following
// redirects.
func navigate(h http.Handler, host, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "http://"+host+path, nil)
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// wantSignInAt checks that rec sends the browser to op's authorization endpoint with
// the redirect URI of callback.
func wantSignInAt(t *testing.T, what string, rec *httptest.ResponseRecorder, op *testop.Provider, callback string) {
	t.Helper()
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), op.URL()) {
		t.Fatalf("%s: %d Location %q, want a sign-in at %s", what, rec.Code, rec.Header().Get("Location"), op.URL())
	}
	if ru := loc.Query().Get("redirect_uri"); !strings.HasSuffix(ru, callback) {
		t.Fatalf("%s: redirect_uri %q, want one ending in %s", what, ru, callback)
	}
}

// cleared reports whether resp expires the cookie name.
func cleared(resp *http.Response, name string) bool {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestSeveralProvidersAreChosenByHostAndPath: an entry with hosts serves its hosts;
// among the others the longest pathPrefix covering the path wins, else the entry
// without one; a path that is not canonical is refused rather than guessed.
func TestSeveralProvidersAreChosenByHostAndPath(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		a, b := twoProviders(t)
		cfg := multiConfig(a,
			providerEntry(a, "corp", map[string]any{"hosts": "corp.example.com"}),
			providerEntry(b, "partners", map[string]any{"pathPrefix": "/partners/"}),
			providerEntry(b, "social", nil))
		_, h := startInstance(t, md, cfg, "multi-choice@file")
		wantSignInAt(t, "corp host", navigate(h, "corp.example.com", "/partners/x"), a, "/oauth2/callback/corp")
		wantSignInAt(t, "partners path", navigate(h, "app.example.com", "/partners/x"), b, "/oauth2/callback/partners")
		wantSignInAt(t, "elsewhere", navigate(h, "app.example.com", "/x"), b, "/oauth2/callback/social")
		if rec := navigate(h, "app.example.com", "/partners/..;/x"); rec.Code != http.StatusBadRequest {
			t.Fatalf("a path that is not canonical: %d %q", rec.Code, rec.Header().Get("Location"))
		}

		// Every entry names its hosts: another host has no sign-in, and gets 404,
		// never a sign-in that cannot pick a provider, nor the backend.
		cfg = multiConfig(a,
			providerEntry(a, "corp", map[string]any{"hosts": "corp.example.com"}),
			providerEntry(b, "partners", map[string]any{"hosts": "*.partners.example"}))
		_, h = startInstance(t, md, cfg, "multi-hosts@file")
		wantSignInAt(t, "a partners host", navigate(h, "shop.partners.example", "/x"), b, "/oauth2/callback/partners")
		if rec := navigate(h, "other.example.com", "/x"); rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" {
			t.Fatalf("a host no entry lists: %d %q", rec.Code, rec.Header().Get("Location"))
		}
	})
}

// TestSignInChooserOffersEveryProviderWithoutScript: with no host or path choice, a
// browser gets an accessible page of links (no JavaScript) where it needs to sign in
// (not on excluded URLs or Gatehouse's signed-out page); a link records the choice
// and the browser signs in with that provider and comes back. The chooser endpoint
// refuses unknown providers and return targets off the site; an API client gets 401.
func TestSignInChooserOffersEveryProviderWithoutScript(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		a, b := twoProviders(t)
		cfg := multiConfig(a, providerEntry(a, "corp", map[string]any{"title": "Corp SSO"}), providerEntry(b, "partners", map[string]any{"title": "Partners"}))
		group(cfg, "pages")["title"] = "Example Inc."
		cfg["excludedURLs"] = "/public/"
		srv, _ := startInstance(t, md, cfg, "multi-chooser@file")
		br := newBrowser()
		// What needs no sign-in needs no choice either.
		mustContain(t, "an excluded URL", br.get(t, srv.URL+"/public/x"), "backend /public/x")
		mustContain(t, "the signed-out page", br.get(t, srv.URL+"/oauth2/signed-out"), "Signed out")
		mustContain(t, "the sign-in address", br.get(t, srv.URL+"/oauth2/start?rd=%2Fapp"), "Sign in with Corp SSO", "rd=%2Foauth2%2Fstart%3Frd%3D%252Fapp")
		p := br.get(t, srv.URL+"/app?x=1")
		mustContain(t, "chooser", p, `<html lang="en">`, "Example Inc.", `aria-label="Sign-in options"`,
			`href="/oauth2/choose?provider=corp&amp;rd=%2Fapp%3Fx%3D1"`, "Sign in with Corp SSO",
			`href="/oauth2/choose?provider=partners&amp;rd=%2Fapp%3Fx%3D1"`, "Sign in with Partners")
		if p.status != http.StatusOK || strings.Contains(strings.ToLower(p.body), "<script") || p.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("chooser: %d %s, script or not HTML:\n%s", p.status, p.header.Get("Content-Type"), p.body)
		}
		if resp, body := getAPI(t, srv.URL+"/api", "Accept", "application/json"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"error":"unauthorized"`) {
			t.Fatalf("API client without a choice: %d %s", resp.StatusCode, body)
		}

		signedIn := br.get(t, srv.URL+"/oauth2/choose?provider=partners&rd=%2Fapp%3Fx%3D1")
		mustContain(t, "signed in with Partners", signedIn, "backend /app", "X-Forwarded-User: alice@example.com")
		if a.Count("authorize") != 0 || b.Count("authorize") != 1 {
			t.Fatalf("authorize calls: corp %d, partners %d", a.Count("authorize"), b.Count("authorize"))
		}
		if strings.Contains(signedIn.body, "_gatehouse") {
			t.Fatalf("Gatehouse's cookies reached the backend:\n%s", signedIn.body)
		}
		for _, bad := range []string{"?provider=partners&rd=%2F%2Fevil.example", "?provider=partners&rd=https%3A%2F%2Fevil.example%2F",
			"?provider=partners&rd=%2F%5Cevil.example", "?provider=nobody&rd=%2F"} {
			resp := newBrowser().once(t, srv.URL+"/oauth2/choose"+bad)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || len(resp.Header.Values("Set-Cookie")) != 0 {
				t.Fatalf("choose%s: %d Location %q Set-Cookie %v", bad, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Values("Set-Cookie"))
			}
		}
		resp := newBrowser().once(t, srv.URL+"/oauth2/choose?provider=corp&rd=%2Fapp")
		sc := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/app" ||
			!strings.Contains(sc, "_gatehouse-provider=corp") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
			t.Fatalf("choose: %d Location %q Set-Cookie %s", resp.StatusCode, resp.Header.Get("Location"), sc)
		}
	})
}

// TestSessionOfOneProviderIsNotValidForAnother: a session signed in with Partners
// does not pass where Corp is chosen, and its cookie renamed as Corp's is refused:
// each entry seals with its own binding.
func TestSessionOfOneProviderIsNotValidForAnother(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		a, b := twoProviders(t)
		cfg := multiConfig(a, providerEntry(a, "corp", map[string]any{"pathPrefix": "/corp/"}), providerEntry(b, "partners", nil))
		srv, h := startInstance(t, md, cfg, "multi-sessions@file")
		br := newBrowser()
		mustContain(t, "partners sign-in", br.get(t, srv.URL+"/x"), "backend /x", "X-Forwarded-User: alice@example.com")
		value := ""
		for _, c := range sessionCookies(br, srv.URL) {
			if c.Name == "_gatehouse_partners" {
				value = c.Value
			}
		}
		if value == "" {
			t.Fatal("no _gatehouse_partners cookie after signing in with Partners")
		}
		mustBeServed(t, "partners session on partners' routes", srv.URL, "_gatehouse_partners="+value, "alice@example.com")
		for _, cookie := range []string{"_gatehouse_partners=" + value, "_gatehouse_corp=" + value} {
			resp, body := withCookie(t, srv.URL, "/corp/x", cookie, true)
			if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "backend ") {
				t.Fatalf("%s on corp's route: %d %s", cookie[:16], resp.StatusCode, body)
			}
		}
		rec := navigate(h, mustURL(t, srv.URL).Host, "/corp/x", "Cookie", "_gatehouse_corp="+value)
		wantSignInAt(t, "partners' session renamed as corp's", rec, a, "/oauth2/callback/corp")
	})
}

// TestBearerTokenOfOneProviderIsNeverAcceptedByAnother: where a path chooses the
// provider, its tokens pass and the other's are refused; without a choice, a token
// goes to the provider its iss names, which alone verifies it: a token signed by A
// claiming B's issuer, and one of an unknown issuer, are refused.
func TestBearerTokenOfOneProviderIsNeverAcceptedByAnother(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		a, b := twoProviders(t)
		withBearer := func(cfg map[string]any) map[string]any {
			g := group(cfg, "bearer")
			g["enabled"] = true
			g["audience"] = testop.DefaultAudience
			return cfg
		}
		byPath, _ := startInstance(t, md, withBearer(multiConfig(a, providerEntry(a, "corp", map[string]any{"pathPrefix": "/corp/"}),
			providerEntry(b, "partners", nil))), "multi-bearer-path@file")
		tokA, tokB := ordersToken(t, a), ordersToken(t, b)
		resp, body := getAPI(t, byPath.URL+"/corp/orders", bearer(tokA)...)
		wantForwarded(t, "A's token where A is chosen", resp, body, "X-Forwarded-User: svc-orders")
		resp, body = getAPI(t, byPath.URL+"/orders", bearer(tokA)...)
		wantRefused(t, "A's token where B is chosen", resp, body, http.StatusUnauthorized, "invalid_token")
		resp, body = getAPI(t, byPath.URL+"/corp/orders", bearer(tokB)...)
		wantRefused(t, "B's token where A is chosen", resp, body, http.StatusUnauthorized, "invalid_token")

		byIssuer, _ := startInstance(t, md, withBearer(multiConfig(a, providerEntry(a, "corp", nil), providerEntry(b, "partners", nil))), "multi-bearer-iss@file")
		for what, tok := range map[string]string{"A's token": tokA, "B's token": tokB} {
			resp, body := getAPI(t, byIssuer.URL+"/orders", bearer(tok)...)
			wantForwarded(t, what+" routed by its issuer", resp, body, "X-Forwarded-User: svc-orders")
		}
		forged := validClaims(a)
		forged["iss"] = b.URL()
		unknown := validClaims(a)
		unknown["iss"] = "https://idp.unknown.example"
		for what, tok := range map[string]string{"signed by A with B's issuer": mintAccess(t, a, forged), "of an unknown issuer": mintAccess(t, a, unknown)} {
			resp, body := getAPI(t, byIssuer.URL+"/orders", bearer(tok)...)
			wantRefused(t, "a token "+what, resp, body, http.StatusUnauthorized, "invalid_token")
		}
	})
}

// TestLogoutGoesToTheProviderOfTheSession: RP-initiated logout sends the browser to
// the end-session endpoint of the provider it signed in with; a back-channel logout
// from A, at A's endpoint, ends A's sessions only, and A's logout token is refused
// at B's endpoint; B's front-channel endpoint refuses A's iss and accepts B's.
func TestLogoutGoesToTheProviderOfTheSession(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		a, b := twoProviders(t)
		cfg := multiConfig(a, providerEntry(a, "corp", nil), providerEntry(b, "partners", nil))
		srv, _ := startInstance(t, md, cfg, "multi-logout@file")

		leaving := newBrowser()
		mustContain(t, "partners sign-in", leaving.get(t, srv.URL+"/oauth2/choose?provider=partners&rd=%2Fapp"), "X-Forwarded-User: alice@example.com")
		resp, _ := leaving.post(t, srv.URL+logoutPath, url.Values{})
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || loc.Scheme+"://"+loc.Host+loc.Path != b.Endpoints().EndSession || !cleared(resp, "_gatehouse_partners") {
			t.Fatalf("logout of a partners session: %d Location %q, want %s", resp.StatusCode, resp.Header.Get("Location"), b.Endpoints().EndSession)
		}

		corp, partners := newBrowser(), newBrowser()
		mustContain(t, "corp sign-in", corp.get(t, srv.URL+"/oauth2/choose?provider=corp&rd=%2Fapp"), "X-Forwarded-User: alice@example.com")
		before := b.SessionIDs("alice")
		mustContain(t, "partners sign-in", partners.get(t, srv.URL+"/oauth2/choose?provider=partners&rd=%2Fapp"), "X-Forwarded-User: alice@example.com")
		partnersSID := ""
		for _, sid := range b.SessionIDs("alice") {
			if !slices.Contains(before, sid) {
				partnersSID = sid
			}
		}
		corpCookie, partnersCookie := cookieHeader(t, corp, srv.URL), cookieHeader(t, partners, srv.URL)
		ctx := context.Background()
		if status, err := a.BackchannelLogout(ctx, srv.URL+backchannelPath+"/partners", "alice", ""); err != nil || status != http.StatusBadRequest {
			t.Fatalf("A's logout token at B's endpoint: %d %v", status, err)
		}
		mustBeServed(t, "corp session after A's token was refused at B", srv.URL, corpCookie, "alice@example.com")
		if status, err := a.BackchannelLogout(ctx, srv.URL+backchannelPath+"/corp", "alice", ""); err != nil || status != http.StatusOK {
			t.Fatalf("A's logout token at A's endpoint: %d %v", status, err)
		}
		if resp, body := withCookie(t, srv.URL, "/api", corpCookie, true); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("corp session after A's back-channel logout: %d %s", resp.StatusCode, body)
		}
		mustBeServed(t, "partners session after A's back-channel logout", srv.URL, partnersCookie, "alice@example.com")

		// Front-channel: at B's endpoint, only B's iss is accepted.
		if resp := partners.once(t, a.FrontchannelLogoutURL(srv.URL+frontchannelPath+"/partners", partnersSID)); resp.StatusCode != http.StatusBadRequest || cleared(resp, "_gatehouse_partners") {
			t.Fatalf("A's iss at B's front-channel endpoint: %d", resp.StatusCode)
		}
		mustBeServed(t, "partners session after A's front-channel request", srv.URL, partnersCookie, "alice@example.com")
		if resp := partners.once(t, b.FrontchannelLogoutURL(srv.URL+frontchannelPath+"/partners", partnersSID)); resp.StatusCode != http.StatusOK || !cleared(resp, "_gatehouse_partners") {
			t.Fatalf("B's front-channel logout: %d %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	})
}

// TestSeveralProvidersConfigurationErrorsNameTheEntry: provider and providers
// together, repeated or malformed ids, bad hosts and prefixes, and an entry's own
// provider errors are refused at start, naming providers[i].option.
func TestSeveralProvidersConfigurationErrorsNameTheEntry(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, md string) {
		a := newOP(t, testop.Options{})
		both := multiConfig(a, providerEntry(a, "corp", nil))
		both["provider"] = map[string]any{"issuer": a.URL(), "clientID": "gatehouse"}
		for what, c := range map[string]struct {
			cfg  map[string]any
			want string
		}{
			"both":          {both, "providers: provider and providers are mutually exclusive"},
			"duplicate ids": {multiConfig(a, providerEntry(a, "corp", nil), providerEntry(a, "corp", nil)), "providers[1].id: repeats the id of providers[0]"},
			"bad id":        {multiConfig(a, providerEntry(a, "Corp_1", nil)), "providers[0].id: is required: a short name"},
			"bad host":      {multiConfig(a, providerEntry(a, "corp", map[string]any{"hosts": "*.com"})), "providers[0].hosts: a wildcard must cover"},
			"bad prefix":    {multiConfig(a, providerEntry(a, "corp", map[string]any{"pathPrefix": "/a/../b"})), "providers[0].pathPrefix: must be a canonical path prefix"},
			"entry error":   {multiConfig(a, providerEntry(a, "corp", nil), providerEntry(a, "b", map[string]any{"clientID": ""})), "providers[1].clientID: is required"},
			"entry only":    {func() map[string]any { c := rpConfig(a); group(c, "provider")["id"] = "corp"; return c }(), "provider.id: is only used in an entry of providers"},
			"unknown":       {multiConfig(a, providerEntry(a, "corp", map[string]any{"clientSecert": "x"})), "providers[0].clientSecert: unknown option"},
		} {
			if got := buildError(t, md, c.cfg); !strings.Contains(got, c.want) {
				t.Errorf("%s: got %q, want %q", what, got, c.want)
			}
		}
	})
}
