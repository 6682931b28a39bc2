package yaegihost

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

func TestBrowserSignInEndToEnd(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		group(cfg, "headers")["templates"] = map[string]any{"X-Sub": "{{ .claims.sub }}"}
		srv := startGatehouse(t, md, cfg, "signin@file")
		b := newBrowser()
		p := b.get(t, srv.URL+"/app/page?x=1")
		if p.status != 200 || !strings.HasPrefix(p.url, srv.URL+"/app/page?x=1") {
			t.Fatalf("landed on %s with %d:\n%s", p.url, p.status, p.body)
		}
		mustContain(t, "after login", p, "backend /app/page", "X-Forwarded-User: alice@example.com",
			"X-Forwarded-Email: alice@example.com", "X-Forwarded-Groups: engineering,admins", "X-Sub: usr_alice")
		if strings.Contains(p.body, "_gatehouse") {
			t.Fatalf("Gatehouse cookies reached the backend:\n%s", p.body)
		}
		tokens := op.Count("token")
		p = b.get(t, srv.URL+"/second")
		mustContain(t, "second request", p, "backend /second", "X-Forwarded-User: alice@example.com")
		if op.Count("token") != tokens || op.Count("authorize") != 1 {
			t.Fatalf("a signed-in request went back to the provider: token %d→%d, authorize %d", tokens, op.Count("token"), op.Count("authorize"))
		}
	})
}

func TestRefreshAfterExpiryWithRotation(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{Lifetimes: testop.Lifetimes{AccessToken: 2 * time.Second, IDToken: 2 * time.Second}})
		cfg := rpConfig(op)
		group(cfg, "session")["refreshGrace"] = "0s"
		srv := startGatehouse(t, md, cfg, "refresh@file")
		b := newBrowser()
		mustContain(t, "login", b.get(t, srv.URL+"/a"), "X-Forwarded-User: alice@example.com")
		// Counted from here: on a loaded machine the sign-in itself can outlast the
		// token and refresh it once already.
		base := op.Count("token:refresh_token")
		for round := 1; round <= 2; round++ {
			time.Sleep(2100 * time.Millisecond)
			p := b.get(t, srv.URL+"/after-expiry")
			mustContain(t, "after expiry", p, "backend /after-expiry", "X-Forwarded-User: alice@example.com")
			if got := op.Count("token:refresh_token") - base; got != round {
				t.Fatalf("round %d: %d refresh requests", round, got)
			}
		}
		// Rotation: the provider keeps exactly one live refresh token for the session.
		if n := op.ActiveRefreshTokens("alice"); n != 1 {
			t.Fatalf("%d active refresh tokens after two rotations", n)
		}
		if op.Count("authorize") != 1 {
			t.Fatalf("refresh sent the browser back to the provider (%d authorizations)", op.Count("authorize"))
		}
	})
}

func TestFailedRefreshEndsTheSessionCleanly(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{Lifetimes: testop.Lifetimes{AccessToken: time.Second}})
		cfg := rpConfig(op)
		group(cfg, "session")["refreshGrace"] = "0s"
		srv := startGatehouse(t, md, cfg, "refreshfail@file")
		b := newBrowser()
		mustContain(t, "login", b.get(t, srv.URL+"/a"), "backend /a")
		op.RevokeUserTokens("alice")
		time.Sleep(1100 * time.Millisecond)
		resp := b.once(t, srv.URL+"/b")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), op.URL()) {
			t.Fatalf("after a refused refresh: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		cleared := false
		for _, c := range resp.Cookies() {
			if c.Name == "_gatehouse" && c.MaxAge < 0 {
				cleared = true
			}
		}
		if !cleared {
			t.Fatalf("session cookie not cleared: %v", resp.Header.Values("Set-Cookie"))
		}
	})
}

func TestTwoTabsLoggingInAtOnce(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, rpConfig(op), "tabs@file")
		b := newBrowser()
		// Both tabs are sent to the provider before either comes back.
		r1 := b.once(t, srv.URL+"/tab1")
		r2 := b.once(t, srv.URL+"/tab2")
		if r1.StatusCode != http.StatusFound || r2.StatusCode != http.StatusFound {
			t.Fatalf("statuses %d %d", r1.StatusCode, r2.StatusCode)
		}
		var wg sync.WaitGroup
		results := make([]page, 2)
		for i, loc := range []string{r1.Header.Get("Location"), r2.Header.Get("Location")} {
			i, loc := i, loc
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = b.get(t, loc)
			}()
		}
		wg.Wait()
		mustContain(t, "tab 1", results[0], "backend /tab1", "X-Forwarded-User: alice@example.com")
		mustContain(t, "tab 2", results[1], "backend /tab2", "X-Forwarded-User: alice@example.com")
	})
}

func TestDeniedUserGets403AndAllowedGroupPasses(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "bob"})
		cfg := rpConfig(op)
		group(cfg, "authorization")["allowedGroups"] = "admins"
		srv := startGatehouse(t, md, cfg, "authz@file")
		p := newBrowser().get(t, srv.URL+"/admin")
		if p.status != http.StatusForbidden || strings.Contains(p.body, "backend") || !strings.Contains(p.body, "bob@example.com") {
			t.Fatalf("bob: %d %s", p.status, p.body)
		}
		op.SetAutoLogin("alice")
		mustContain(t, "alice", newBrowser().get(t, srv.URL+"/admin"), "backend /admin")
	})
}

func TestNestedRolesClaimAndDomainRule(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "carol"}) // carol's email is unverified
		cfg := rpConfig(op)
		a := group(cfg, "authorization")
		a["rolesClaim"] = "realm_access.roles"
		a["allowedRoles"] = "user"
		a["allowedDomains"] = "example.net"
		srv := startGatehouse(t, md, cfg, "roles@file")
		if p := newBrowser().get(t, srv.URL+"/"); p.status != http.StatusForbidden {
			t.Fatalf("unverified email passed a domain rule: %d %s", p.status, p.body)
		}
		a["requireVerifiedEmail"] = "false"
		srv2 := startGatehouse(t, md, cfg, "roles2@file")
		mustContain(t, "carol", newBrowser().get(t, srv2.URL+"/"), "backend /", "X-Forwarded-Roles: user")
	})
}

func TestExcludedURLAndAPIClient(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		cfg["excludedURLs"] = "/health"
		srv := startGatehouse(t, md, cfg, "api@file")
		b := newBrowser()
		mustContain(t, "excluded", b.get(t, srv.URL+"/health"), "backend /health")
		if op.Count("authorize") != 0 {
			t.Fatal("an excluded URL started a login")
		}
		for _, hdr := range [][]string{{"Accept", "application/json"}, {"X-Requested-With", "XMLHttpRequest"}} {
			resp := b.once(t, srv.URL+"/api/items", hdr...)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
				t.Fatalf("API client (%s): %d Location %q", hdr[0], resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
}

func TestTamperedAndForeignCookiesAreRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		a := startGatehouse(t, md, cfg, "instance-a@file")
		other := startGatehouse(t, md, cfg, "instance-b@file") // same keys, another instance
		b := newBrowser()
		mustContain(t, "login", b.get(t, a.URL+"/"), "backend /")
		var cookieHeader []string
		for _, c := range sessionCookies(b, a.URL) {
			cookieHeader = append(cookieHeader, c.Name+"="+c.Value)
		}
		if len(cookieHeader) == 0 {
			t.Fatal("no session cookie")
		}
		// The same cookie at another middleware instance is worthless.
		resp := b.once(t, other.URL+"/", "Cookie", strings.Join(cookieHeader, "; "))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("foreign cookie accepted: %d", resp.StatusCode)
		}
		// A tampered cookie is refused (and cleared).
		tampered := strings.Join(cookieHeader, "; ")
		i := strings.Index(tampered, "=") + 20
		flip := "A"
		if tampered[i] == 'A' {
			flip = "B"
		}
		tampered = tampered[:i] + flip + tampered[i+1:]
		resp = b.once(t, a.URL+"/", "Cookie", tampered)
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), op.URL()) {
			t.Fatalf("tampered cookie: %d", resp.StatusCode)
		}
	})
}

func TestReturnURLNeverLeavesTheSite(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, rpConfig(op), "redirect@file")
		for _, attempt := range []string{"//evil.example", "//evil.example/path", "/\\evil.example", "/%2F%2Fevil.example", "/%5Cevil.example", "/%09/evil.example", "https:evil.example"} {
			b := newBrowser()
			resp := b.rawOnce(t, srv.URL, attempt)
			if resp.StatusCode == http.StatusBadRequest {
				continue // the HTTP server refused the request line itself
			}
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, op.URL()) {
				t.Fatalf("%s: %d %q", attempt, resp.StatusCode, loc)
			}
			// Follow the provider back to the callback, but not beyond it.
			c := *b.c
			c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), srv.URL+"/oauth2/callback") {
					return http.ErrUseLastResponse
				}
				return nil
			}
			r, err := c.Get(loc)
			if err != nil {
				t.Fatal(err)
			}
			_ = r.Body.Close()
			// The callback's answer names the return target; read it rather than
			// follow it (an HTTP client resolves "https:evil.example" or an encoded
			// path against the current host, which would hide a leak).
			cb := r.Header.Get("Location")
			r2 := b.once(t, cb)
			target := r2.Header.Get("Location")
			if r2.StatusCode != http.StatusFound || target == "" {
				t.Fatalf("%s: callback answered %d, Location %q", attempt, r2.StatusCode, target)
			}
			tu, err := url.Parse(target)
			if err != nil || tu.Scheme != "" || tu.Host != "" || tu.Opaque != "" || !strings.HasPrefix(target, "/") ||
				strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") || strings.Contains(strings.ToLower(target), "evil") {
				t.Fatalf("%s: the callback returns the browser to %q", attempt, target)
			}
		}
	})
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestCertificationMisbehavioursAreRejected plays the OpenID RP certification cases
// that concern the code flow: each misbehaviour must make the login fail cleanly
// (an error page at the callback), with nothing forwarded to the backend.
func TestCertificationMisbehavioursAreRejected(t *testing.T) {
	cases := map[string]testop.Misbehaviour{
		"bad signature": testop.BadSignature, "wrong iss": testop.WrongIssuer, "wrong aud": testop.WrongAudience,
		"missing aud": testop.MissingAudience, "missing iat": testop.MissingIssuedAt, "missing sub": testop.MissingSubject,
		"wrong nonce": testop.WrongNonce, "missing nonce": testop.MissingNonce, "bad at_hash": testop.BadAtHash,
		"alg none":                   testop.AlgNone,
		"key rotated before signing": testop.UnpublishedKey, "expired": testop.ExpiredToken,
		"issued in the future": testop.IssuedInFuture, "several audiences without azp": testop.MultipleAudiencesNoAzp,
		"no iss parameter": testop.NoIssParameter, "wrong iss parameter": testop.WrongIssParameter,
	}
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		// One key published besides the signing key, so "kid absent, several keys" is
		// ambiguous.
		if err := op.RotateKeys(); err != nil {
			t.Fatal(err)
		}
		srv := startGatehouse(t, md, rpConfig(op), "cert@file")
		for name, mb := range cases {
			op.SetMisbehaviour(mb)
			p := newBrowser().get(t, srv.URL+"/protected")
			if p.status == 200 || strings.Contains(p.body, "backend") {
				t.Errorf("%s: login succeeded (%d at %s)", name, p.status, p.url)
			} else if !strings.Contains(p.url, "/oauth2/callback") {
				t.Errorf("%s: failed somewhere else than the callback: %d at %s", name, p.status, p.url)
			}
		}
		// Accepted variants. With several keys published and no kid, the certification
		// suite allows an RP to reject or to try every key that fits the algorithm;
		// Gatehouse tries them (at most jose.MaxKeys), all being the provider's own.
		op.SetMisbehaviour(testop.KidAbsentMultipleKeys)
		mustContain(t, "kid absent, several keys", newBrowser().get(t, srv.URL+"/ok"), "backend /ok")
		// A single published key and no kid is unambiguous (a fresh instance, whose key
		// set is fetched after the rotation).
		op.SetMisbehaviour(0)
		op.DropRetiredKeys()
		op.SetMisbehaviour(testop.KidAbsentSingleKey)
		fresh := startGatehouse(t, md, rpConfig(op), "cert-fresh@file")
		mustContain(t, "kid absent, one key", newBrowser().get(t, fresh.URL+"/ok"), "backend /ok")
	})
}

// TestKidlessIDTokenFromARotatedKeySignsIn: the provider rotates its signing key
// after Gatehouse fetched the key set and then omits kid; the first failed signature
// check refreshes the set (once provider.jwksMinRefresh has passed) and the login
// succeeds instead of failing until the set expires.
func TestKidlessIDTokenFromARotatedKeySignsIn(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		group(cfg, "provider")["jwksMinRefresh"] = "1s"
		srv := startGatehouse(t, md, cfg, "kidless@file")
		mustContain(t, "before the rotation", newBrowser().get(t, srv.URL+"/ok"), "backend /ok")
		jwks := op.Count("jwks")
		if err := op.RotateKeys(); err != nil {
			t.Fatal(err)
		}
		op.DropRetiredKeys()
		op.SetMisbehaviour(testop.KidAbsentSingleKey)
		time.Sleep(1100 * time.Millisecond)
		mustContain(t, "kid absent, rotated key", newBrowser().get(t, srv.URL+"/ok"), "backend /ok")
		if n := op.Count("jwks") - jwks; n != 1 {
			t.Fatalf("%d key-set fetches for the rotation", n)
		}
	})
}

// TestStrictSameSiteCallbackNavigatesFromTheSite: with SameSite=Strict the callback
// answers a page that navigates itself to the return path, so the browser's next
// request is same-site and carries the Strict cookie (a redirect chain that began at
// the provider would not, and would loop back to sign-in).
func TestStrictSameSiteCallbackNavigatesFromTheSite(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		group(cfg, "session")["sameSite"] = "strict"
		srv := startGatehouse(t, md, cfg, "strict@file")
		p := newBrowser().get(t, srv.URL+"/deep/link?q=1")
		if p.status != 200 || !strings.Contains(p.url, "/oauth2/callback") ||
			!strings.Contains(p.body, `http-equiv="refresh" content="0;url=/deep/link?q=1"`) {
			t.Fatalf("%d at %s:\n%s", p.status, p.url, p.body)
		}
		for _, c := range p.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "_gatehouse=") && !strings.Contains(c, "SameSite=Strict") {
				t.Fatalf("session cookie without SameSite=Strict: %s", c)
			}
		}
	})
}

// TestRefreshWithoutRotationKeepsRefreshing: a provider that does not rotate refresh
// tokens gets the same one back each time; every due refresh must still reach it.
func TestRefreshWithoutRotationKeepsRefreshing(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{DisableRefreshRotation: true, Lifetimes: testop.Lifetimes{AccessToken: 2 * time.Second}})
		cfg := rpConfig(op)
		group(cfg, "session")["refreshGrace"] = "0s"
		srv := startGatehouse(t, md, cfg, "norotate@file")
		b := newBrowser()
		mustContain(t, "login", b.get(t, srv.URL+"/"), "backend /")
		base := op.Count("token:refresh_token") // the sign-in may have refreshed once already
		for round := 1; round <= 2; round++ {
			time.Sleep(2100 * time.Millisecond)
			mustContain(t, "after expiry", b.get(t, srv.URL+"/x"), "backend /x")
			if got := op.Count("token:refresh_token") - base; got != round {
				t.Fatalf("round %d: %d refreshes", round, got)
			}
		}
	})
}
