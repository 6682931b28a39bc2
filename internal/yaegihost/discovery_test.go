package yaegihost

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// TestDiscoveryIsLazyAndRetriedUntilTheProviderComesUp starts Gatehouse before its
// provider exists: New returns at once, browsers get 503 (not a hang, not a pass), and
// once the provider is up sign-in works without restarting anything.
func TestDiscoveryIsLazyAndRetriedUntilTheProviderComesUp(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		cfg := map[string]any{
			"provider": map[string]any{"issuer": "http://" + addr, "clientID": "gatehouse", "clientSecret": "gatehouse-client-secret"},
			"session":  map[string]any{"keys": "0123456789abcdef0123456789abcdef-session-key", "secure": "false"},
			"logLevel": "error",
		}
		start := time.Now()
		srv := startGatehouse(t, md, cfg, "lazy@file")
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("New took %v with the provider down", d)
		}
		if p := newBrowser().get(t, srv.URL+"/"); p.status != http.StatusServiceUnavailable {
			t.Fatalf("provider down: %d", p.status)
		}
		op, err := testop.New(testop.Options{Addr: addr, AutoLogin: true, AutoLoginUser: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		defer op.Close()
		deadline := time.Now().Add(15 * time.Second)
		for {
			p := newBrowser().get(t, srv.URL+"/")
			if p.status == 200 {
				mustContain(t, "after the provider came up", p, "X-Forwarded-User: alice@example.com")
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sign-in still failing 15 s after the provider came up: %d %s", p.status, p.body)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The document is cached: more sign-ins do not fetch it again.
		n := op.Count("discovery")
		newBrowser().get(t, srv.URL+"/again")
		if op.Count("discovery") != n {
			t.Fatal("discovery fetched again for a second sign-in")
		}
	})
}

// TestDiscoveryIssuerMismatchIsRefused: a discovery document whose issuer is not the
// configured one is never used (OpenID Connect Discovery 1.0 section 4.3).
func TestDiscoveryIssuerMismatchIsRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{Misbehaviour: testop.DiscoveryIssuerMismatch})
		srv := startGatehouse(t, md, rpConfig(op), "mismatch@file")
		p := newBrowser().get(t, srv.URL+"/")
		if p.status != http.StatusServiceUnavailable || op.Count("authorize") != 0 {
			t.Fatalf("status %d, %d authorizations", p.status, op.Count("authorize"))
		}
	})
}
