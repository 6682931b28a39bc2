package yaegihost

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Throttling (docs/SECURITY.md): the failure throttle cannot be turned against the
// users it protects — compiled and under Yaegi. Each test trips the throttle with
// throttle.failures 3 and a penalty long enough to outlast the test.

func throttleConfig(cfg map[string]any) map[string]any {
	cfg["throttle"] = map[string]any{"failures": 3, "window": "1m", "penalty": "5m"}
	return cfg
}

// randomState is a state parameter of the right form that names no login
// transaction anybody holds.
func randomState(t testing.TB) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestCrossSiteCallbacksAndJunkTokensDoNotLockTheVictimOutOfSigningIn: another site
// makes the victim's browser request the callback twenty times (<img
// src=/oauth2/callback?...>: no login transaction of this browser), and junk bearer
// tokens come from the victim's address (a shared NAT). The bearer throttle trips
// (its own purpose); sign-in is never throttled, and the victim signs in.
func TestCrossSiteCallbacksAndJunkTokensDoNotLockTheVictimOutOfSigningIn(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, throttleConfig(bearerConfig(op)), "victim@file")
		for i := 0; i < 4; i++ {
			resp, _ := getAPI(t, srv.URL+"/orders", bearer("junk-"+strconv.Itoa(i))...)
			if want := http.StatusUnauthorized; i == 3 {
				if resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("junk bearer token %d: %d, want 429", i, resp.StatusCode)
				}
			} else if resp.StatusCode != want {
				t.Fatalf("junk bearer token %d: %d", i, resp.StatusCode)
			}
		}
		victim := newBrowser()
		for i := 0; i < 20; i++ {
			for _, q := range []string{"state=" + randomState(t) + "&code=x", "error=access_denied", ""} {
				resp := victim.once(t, srv.URL+"/oauth2/callback?"+q)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("cross-site callback %d (%q): %d, want 401", i, q, resp.StatusCode)
				}
			}
		}
		mustContain(t, "the victim signs in", victim.get(t, srv.URL+"/app"), "backend /app", "X-Forwarded-User: alice@example.com")
	})
}

// startLoginAt starts a sign-in in a fresh browser and returns it with the state the
// provider would send back.
func startLoginAt(t testing.TB, base string) (*browser, string) {
	t.Helper()
	br := newBrowser()
	resp := br.once(t, base+"/app")
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("state") == "" {
		t.Fatalf("start of sign-in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return br, loc.Query().Get("state")
}

// TestFailedCallbacksWithALoginTransactionAreThrottled: a callback that names this
// browser's login transaction and still fails (a guessed code) counts; three trip
// the sign-in throttle for the address, and only that: its bearer tokens still work.
func TestFailedCallbacksWithALoginTransactionAreThrottled(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, throttleConfig(bearerConfig(op)), "guess@file")
		for i := 0; i < 4; i++ {
			br, state := startLoginAt(t, srv.URL)
			resp := br.once(t, srv.URL+"/oauth2/callback?state="+state+"&code=guess-"+strconv.Itoa(i)+"&iss="+url.QueryEscape(op.URL()))
			want := http.StatusUnauthorized
			if i == 3 {
				want = http.StatusTooManyRequests
			}
			if resp.StatusCode != want || (want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "") {
				t.Fatalf("guessed code %d: %d Retry-After %q, want %d", i, resp.StatusCode, resp.Header.Get("Retry-After"), want)
			}
		}
		if n := op.Count("token"); n != 3 {
			t.Fatalf("%d code exchanges, want 3 (none once throttled)", n)
		}
		resp, body := getAPI(t, srv.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "a bearer token from the throttled address", resp, body, "X-Forwarded-User: svc-orders")
	})
}

// TestJunkBackchannelRequestsNeverBlockASignedLogoutToken: junk sent to the
// back-channel endpoint from the provider's address trips its throttle (429), but
// the provider's signed logout token is still accepted and revokes the session; a
// replay of it is refused 400 (not 429: its signature verifies).
func TestJunkBackchannelRequestsNeverBlockASignedLogoutToken(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, throttleConfig(logoutConfig(op, "", "")), "backchannel@file")
		br := newBrowser()
		mustContain(t, "sign-in", br.get(t, srv.URL+"/app"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, srv.URL)
		sid := op.SessionIDs("alice")[0]
		valid, err := op.LogoutToken(testop.LogoutTokenOptions{SessionID: sid})
		if err != nil {
			t.Fatal(err)
		}
		endpoint := srv.URL + backchannelPath
		junk := []string{
			"logout_token=junk",
			url.Values{"logout_token": {valid[:len(valid)-4] + "AAAA"}}.Encode(),
			"nothing=here",
			url.Values{"logout_token": {valid[:len(valid)-8] + "AAAAAAAA"}}.Encode(),
			"logout_token=a.b.c",
		}
		for i, body := range junk {
			resp := sendLogoutToken(t, endpoint, body, "application/x-www-form-urlencoded")
			want := http.StatusBadRequest
			if i >= 3 {
				want = http.StatusTooManyRequests
			}
			if resp.StatusCode != want || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("junk %d: %d Cache-Control %q, want %d", i, resp.StatusCode, resp.Header.Get("Cache-Control"), want)
			}
		}
		mustBeServed(t, "after junk", srv.URL, cookie, "alice@example.com")
		start := time.Now()
		if resp := sendLogoutToken(t, endpoint, url.Values{"logout_token": {valid}}.Encode(), "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusOK {
			t.Fatalf("the provider's signed logout token while throttled: %d", resp.StatusCode)
		}
		refusedWithin(t, op, srv.URL, cookie, start, 5*time.Second)
		if resp := sendLogoutToken(t, endpoint, url.Values{"logout_token": {valid}}.Encode(), "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a replayed signed logout token while throttled: %d, want 400", resp.StatusCode)
		}
	})
}

// TestForwardedForWithPortAndIPv6NetworksCountTheClient: behind a trusted proxy that
// writes the client with its port (Azure Application Gateway: "203.0.113.7:4711"),
// the client is that address, not the proxy — failures of one client do not throttle
// the others behind the same proxy; IPv6 clients are counted per /64, so a client
// cannot escape the throttle by changing the low bits of its address.
func TestForwardedForWithPortAndIPv6NetworksCountTheClient(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := throttleConfig(bearerConfig(op))
		cfg["trustedProxies"] = "127.0.0.1/32,::1/128"
		srv := startGatehouse(t, md, cfg, "proxied@file")
		good := ordersToken(t, op)
		for _, c := range []struct {
			name             string
			failing, blocked []string
			others           []string
		}{
			{"IPv4 with a port",
				[]string{"203.0.113.7:4711", "203.0.113.7:4712", "10.9.9.9, 203.0.113.7:1"},
				[]string{"203.0.113.7:5000", "203.0.113.7"},
				[]string{"198.51.100.1:4711", "198.51.100.1", "203.0.113.8:4711"}},
			{"IPv6 /64",
				[]string{"[2001:db8:1:2::1]:443", "2001:db8:1:2::2", "[2001:db8:1:2:ffff:ffff:ffff:fffe]"},
				[]string{"[2001:db8:1:2::99]:1", "2001:db8:1:2:aaaa::1"},
				[]string{"[2001:db8:1:3::1]:443", "2001:db8:1:3::2"}},
		} {
			for _, xff := range c.failing {
				resp, body := getAPI(t, srv.URL+"/orders", append(bearer("junk"), "X-Forwarded-For", xff)...)
				wantRefused(t, c.name+": junk from "+xff, resp, body, http.StatusUnauthorized, "invalid_token")
			}
			for _, xff := range c.blocked {
				// A token never seen: one verified before keeps working for a
				// throttled client (docs/BEARER.md).
				if resp, _ := getAPI(t, srv.URL+"/orders", append(bearer(ordersToken(t, op)), "X-Forwarded-For", xff)...); resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("%s: the throttled client as %s: %d, want 429", c.name, xff, resp.StatusCode)
				}
			}
			for _, xff := range c.others {
				resp, body := getAPI(t, srv.URL+"/orders", append(bearer(good), "X-Forwarded-For", xff)...)
				wantForwarded(t, c.name+": another client "+xff, resp, body, "X-Forwarded-User: svc-orders")
			}
		}
		// The proxy's own address is not the one throttled.
		resp, body := getAPI(t, srv.URL+"/orders", bearer(good)...)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "svc-orders") {
			t.Fatalf("a request from the proxy itself: %d", resp.StatusCode)
		}
	})
}
