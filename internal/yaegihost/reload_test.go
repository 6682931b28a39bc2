package yaegihost

import (
	"net/http"
	"net/url"
	"testing"

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
