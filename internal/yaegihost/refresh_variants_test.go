package yaegihost

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// TestRefreshAcceptsEveryValidProviderVariant: the shapes of refresh response OIDC
// Core 12.2 allows keep the session going through two rotations of the refresh
// token — ID tokens with several audiences and azp (accepted at login, so at refresh
// too), ID tokens that repeat the original nonce (Keycloak), and no ID token at all.
// A refreshed ID token that were wrongly rejected would also lose the rotated refresh
// token, so the second refresh is the one that shows it. A refresh grace longer than
// the access token's lifetime makes every request's refresh due at once: no waiting
// for an expiry.
func TestRefreshAcceptsEveryValidProviderVariant(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{Lifetimes: testop.Lifetimes{AccessToken: 30 * time.Minute}})
		cfg := rpConfig(op)
		group(cfg, "session")["refreshGrace"] = "1h"
		srv := startGatehouse(t, md, cfg, "refresh-variants@file")
		for _, v := range []struct {
			name string
			mb   testop.Misbehaviour
		}{
			{"several audiences and azp", testop.MultipleAudiences},
			{"the original nonce repeated", testop.RefreshRepeatsNonce},
			{"no ID token", testop.NoIDTokenOnRefresh},
			{"several audiences, nonce repeated", testop.MultipleAudiences | testop.RefreshRepeatsNonce},
		} {
			op.SetMisbehaviour(v.mb)
			b := newBrowser()
			mustContain(t, v.name+": login", b.get(t, srv.URL+"/"), "X-Forwarded-User: alice@example.com")
			before := op.Count("token:refresh_token")
			for round := 1; round <= 2; round++ {
				// As an API client: an ended session answers 401 instead of signing in again.
				p := b.get(t, srv.URL+"/x", "Accept", "application/json")
				if p.status != http.StatusOK || !strings.Contains(p.body, "X-Forwarded-User: alice@example.com") {
					t.Fatalf("%s: refresh %d: %d %s", v.name, round, p.status, p.body)
				}
				if got := op.Count("token:refresh_token") - before; got != round {
					t.Fatalf("%s: refresh %d: %d refresh requests", v.name, round, got)
				}
			}
		}
	})
}

// TestRefreshWithAnotherSubjectEndsTheSession: a refreshed ID token for another
// subject is refused (OIDC Core 12.2) and, the refresh token being spent, the session
// ends at once — the next request goes to sign in, and nobody's identity is
// forwarded meanwhile.
func TestRefreshWithAnotherSubjectEndsTheSession(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{Lifetimes: testop.Lifetimes{AccessToken: time.Second}})
		cfg := rpConfig(op)
		group(cfg, "session")["refreshGrace"] = "0s"
		srv := startGatehouse(t, md, cfg, "refresh-subject@file")
		b := newBrowser()
		mustContain(t, "login", b.get(t, srv.URL+"/"), "X-Forwarded-User: alice@example.com")
		// Counted from here: on a loaded machine the sign-in itself can outlast the
		// one-second token and refresh it once already.
		base := op.Count("token:refresh_token")
		op.SetMisbehaviour(testop.RefreshChangesSubject)
		time.Sleep(1200 * time.Millisecond)
		resp := b.once(t, srv.URL+"/x")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), op.URL()) {
			t.Fatalf("after a refresh with another subject: %d (Location %q)", resp.StatusCode, resp.Header.Get("Location"))
		}
		if n := op.Count("token:refresh_token") - base; n != 1 {
			t.Fatalf("%d refresh requests", n)
		}
		cleared := false
		for _, c := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "_gatehouse=") && strings.Contains(c, "Max-Age=0") {
				cleared = true
			}
		}
		if !cleared {
			t.Fatalf("the session cookie was not cleared: %v", resp.Header.Values("Set-Cookie"))
		}
	})
}
