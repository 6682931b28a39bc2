package yaegihost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// TestAnInstanceBuiltAfterALogoutRefusesTheSessionFromItsFirstRequest is a Traefik
// configuration reload: new middleware instances, empty L1s, stores that have not
// reached Redis yet, serving at once. A session signed out before the reload is
// refused by each new instance's very first request (the revocation question waits
// for the first Redis connection instead of being answered "unknown").
func TestAnInstanceBuiltAfterALogoutRefusesTheSessionFromItsFirstRequest(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := logoutConfig(op, rs.URL(), "reload-"+md.name+":")
		a := startGatehouse(t, md, cfg, "reload@file")
		br := newBrowser()
		mustContain(t, "login on A", br.get(t, a.URL+"/app"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, a.URL)
		// A second session of alice's, still valid after the first is signed out.
		other := newBrowser()
		mustContain(t, "second login", other.get(t, a.URL+"/app"), "X-Forwarded-User: alice@example.com")
		otherCookie := cookieHeader(t, other, a.URL)
		resp, _ := br.post(t, a.URL+logoutPath, url.Values{})
		if resp.StatusCode != http.StatusFound || !sessionCleared(resp) {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		for i := 0; i < 5; i++ {
			fresh := startGatehouse(t, md, cfg, "reload@file")
			if resp, body := withCookie(t, fresh.URL, "/api/items", cookie, true); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("new instance %d, first request with the signed-out session: %d %s", i, resp.StatusCode, body)
			}
			fresh2 := startGatehouse(t, md, cfg, "reload@file")
			if resp, body := withCookie(t, fresh2.URL, "/api/items", otherCookie, true); resp.StatusCode != http.StatusOK {
				t.Fatalf("new instance %d, first request with a valid session: %d %s", i, resp.StatusCode, body)
			}
		}
	})
}

// signInOut signs a new browser in at base and out again, and returns its cookie from
// before the sign-out (what an attacker or a shared computer keeps).
func signInOut(t testing.TB, base string) string {
	t.Helper()
	br := newBrowser()
	mustContain(t, "login", br.get(t, base+"/app"), "X-Forwarded-User: alice@example.com")
	cookie := cookieHeader(t, br, base)
	resp, _ := br.post(t, base+logoutPath, url.Values{})
	if resp.StatusCode != http.StatusFound || !sessionCleared(resp) {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	return cookie
}

// withoutRedis serves a memory-mode Gatehouse named name in front of the echo
// backend, for a new test provider, with these cache and provider options.
func withoutRedis(t testing.TB, md mode, name string, cacheOpts, providerOpts map[string]any) *httptest.Server {
	t.Helper()
	cfg := logoutConfig(newOP(t, testop.Options{}), "", "")
	for k, v := range cacheOpts {
		group(cfg, "cache")[k] = v
	}
	for k, v := range providerOpts {
		group(cfg, "provider")[k] = v
	}
	return startGatehouse(t, md, cfg, name)
}

// signedIn signs a new browser in at base and returns its cookie.
func signedIn(t testing.TB, base string) string {
	t.Helper()
	br := newBrowser()
	mustContain(t, "login", br.get(t, base+"/app"), "X-Forwarded-User: alice@example.com")
	return cookieHeader(t, br, base)
}

func mustRefuse(t testing.TB, what, base, cookie string) {
	t.Helper()
	if resp, body := withCookie(t, base, "/api/items", cookie, true); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%s: %d %.300s", what, resp.StatusCode, body)
	}
}

func mustServe(t testing.TB, what, base, cookie string) {
	t.Helper()
	if resp, body := withCookie(t, base, "/api/items", cookie, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %.300s", what, resp.StatusCode, body)
	}
}

// TestASignedOutCookieCopiedBeforeAReloadIsRefusedAfterItWithoutRedis: memory mode, a
// Traefik configuration reload (new instances of the same middleware, built while the
// old ones still serve, then the old ones closed). The new instances used to start
// with an empty cache, and a cookie copied before the sign-out worked again.
func TestASignedOutCookieCopiedBeforeAReloadIsRefusedAfterItWithoutRedis(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := logoutConfig(op, "", "")
		ctx, cancel := context.WithCancel(context.Background())
		old := httptest.NewServer(md.build(t, ctx, echoBackend(), cfg, "memreload@file"))
		t.Cleanup(old.Close)
		t.Cleanup(cancel)
		cookie := signInOut(t, old.URL)
		mustRefuse(t, "the old instance, after the sign-out", old.URL, cookie)
		valid := signedIn(t, old.URL)

		fresh := startGatehouse(t, md, cfg, "memreload@file")
		mustRefuse(t, "a new instance, first request with the signed-out cookie", fresh.URL, cookie)
		mustServe(t, "a new instance, a session nobody signed out", fresh.URL, valid)
		// A sign-out on the old instance while both serve reaches the new one at once
		// (and Traefik's one instance per router: the same middleware twice).
		mustServe(t, "before its sign-out", fresh.URL, valid)
		late := signInOut(t, old.URL)
		mustRefuse(t, "a new instance, signed out on the old one meanwhile", fresh.URL, late)
		cancel() // the reload completes: the old instance is closed
		later := startGatehouse(t, md, cfg, "memreload@file")
		for _, c := range []string{cookie, late} {
			mustRefuse(t, "an instance built after the old one closed", later.URL, c)
		}
		mustServe(t, "an instance built after the old one closed, a valid session", later.URL, valid)
		// Another middleware (another name) has revocations of its own.
		other := startGatehouse(t, md, cfg, "other-memreload@file")
		mustRefuse(t, "another middleware cannot open the cookie at all", other.URL, valid)
	})
}

// TestAttackersOwnSignOutsDoNotReopenTheVictimsSignedOutSession: memory mode with a
// small cache (cache.l1MaxEntries 16). The attacker signs in and out twenty times;
// the revocations were LRU entries like any other, the victim's went first, and the
// victim's signed-out cookie worked again.
func TestAttackersOwnSignOutsDoNotReopenTheVictimsSignedOutSession(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		gh := withoutRedis(t, md, "churn@file", map[string]any{"l1MaxEntries": 16}, nil)
		victim := signInOut(t, gh.URL)
		mustRefuse(t, "right after the sign-out", gh.URL, victim)
		for i := 0; i < 20; i++ {
			signInOut(t, gh.URL)
		}
		mustRefuse(t, "after twenty sign-outs of the attacker's own sessions", gh.URL, victim)
	})
}

// TestAFullRevocationSetSignsOlderSessionsOutInsteadOfForgettingASignOut: with
// cache.maxRevocations 16, twenty later sign-outs push the victim's revocation out of
// the set. Instead of forgetting it, Gatehouse refuses every session that existed
// when it was learnt (the documented fail-closed rule): the victim's signed-out
// cookie and a bystander's older session are refused; signing in again works at
// once (no sign-in loop).
func TestAFullRevocationSetSignsOlderSessionsOutInsteadOfForgettingASignOut(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		gh := withoutRedis(t, md, "bound@file", map[string]any{"l1MaxEntries": 16, "maxRevocations": 16},
			map[string]any{"clockSkew": "0s"})
		bystander := signedIn(t, gh.URL)
		victim := signInOut(t, gh.URL)
		for i := 0; i < 20; i++ {
			signInOut(t, gh.URL)
		}
		mustRefuse(t, "the victim's signed-out cookie after its revocation was dropped", gh.URL, victim)
		mustRefuse(t, "a session older than the dropped revocation", gh.URL, bystander)
		// Signing in again works at once: a new session starts after the floor.
		mustServe(t, "a session started after the floor", gh.URL, signedIn(t, gh.URL))
	})
}

// TestAFullRevocationSetRefusesBearerTokensIssuedBeforeADroppedRevocation: the
// floor covers bearer tokens too. When the set (cache.maxRevocations 16) has to drop
// a token revocation, every token issued by the time it was learnt is refused, so the
// dropped one stays refused; a token issued afterwards is served.
func TestAFullRevocationSetRefusesBearerTokensIssuedBeforeADroppedRevocation(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		group(cfg, "cache")["maxRevocations"] = 16
		group(cfg, "provider")["clockSkew"] = "0s"
		srv, h := startInstance(t, md, cfg, "bearer-bound@file")
		tok := ordersToken(t, op)
		resp, body := getAPI(t, srv.URL+"/api", bearer(tok)...)
		wantForwarded(t, "before", resp, body)
		for i := 0; i < 17; i++ {
			if got := bearerOp(t, md, h, "revoke-jti", op.URL(), "dropped-"+strconv.Itoa(i)); got != "ok" {
				t.Fatal(got)
			}
		}
		last := time.Now().Unix()
		resp, body = getAPI(t, srv.URL+"/api", bearer(tok)...)
		wantRefused(t, "a token issued before the dropped revocation", resp, body, http.StatusUnauthorized, "invalid_token")
		// Tokens carry whole seconds: wait for one issued in a later second.
		for time.Now().Unix() <= last {
			time.Sleep(10 * time.Millisecond)
		}
		resp, body = getAPI(t, srv.URL+"/api", bearer(ordersToken(t, op))...)
		wantForwarded(t, "a token issued after the floor", resp, body)
	})
}
