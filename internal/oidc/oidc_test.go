package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

func newOP(t *testing.T, o testop.Options) *testop.Provider {
	t.Helper()
	op, err := testop.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	return op
}

func httpClient(t *testing.T) *http.Client {
	t.Helper()
	c, err := NewHTTPClient(5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDiscoveryFetchesValidatesAndCaches(t *testing.T) {
	op := newOP(t, testop.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewDiscovery(ctx, DiscoveryOptions{URL: op.URL() + "/.well-known/openid-configuration", Issuer: op.URL(), Client: httpClient(t)})
	m, err := d.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Issuer != op.URL() || m.TokenEndpoint == "" || m.JWKSURI == "" || !m.AuthorizationResponseIssParameterSupported {
		t.Fatalf("metadata %+v", m)
	}
	for i := 0; i < 5; i++ {
		if _, err := d.Metadata(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := op.Count("discovery"); n > 2 {
		t.Fatalf("%d discovery fetches for 6 lookups", n)
	}
}

func TestDiscoveryRefusesAnotherIssuer(t *testing.T) {
	op := newOP(t, testop.Options{Misbehaviour: testop.DiscoveryIssuerMismatch})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewDiscovery(ctx, DiscoveryOptions{URL: op.URL() + "/.well-known/openid-configuration", Issuer: op.URL(), Client: httpClient(t)})
	if _, err := d.Metadata(ctx); err == nil || !strings.Contains(err.Error(), "expected issuer") {
		t.Fatalf("err = %v", err)
	}
}

func TestDiscoveryRetriesWithBackoffAndKeepsTheLastGoodDocument(t *testing.T) {
	op := newOP(t, testop.Options{Misbehaviour: testop.DiscoveryFailing})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewDiscovery(ctx, DiscoveryOptions{URL: op.URL() + "/.well-known/openid-configuration", Issuer: op.URL(),
		Client: httpClient(t), MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, RefreshEvery: 50 * time.Millisecond})
	time.Sleep(400 * time.Millisecond)
	failed := op.Count("discovery")
	if failed < 3 || failed > 20 {
		t.Fatalf("%d attempts in 400 ms with 20-100 ms backoff", failed)
	}
	if _, err := d.Metadata(ctx); err == nil {
		t.Fatal("metadata while the provider fails")
	}
	op.SetMisbehaviour(0)
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := d.Metadata(ctx); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("discovery never recovered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	op.SetMisbehaviour(testop.DiscoveryFailing)
	time.Sleep(200 * time.Millisecond) // refreshes fail from now on
	if m, err := d.Metadata(ctx); err != nil || m.Issuer != op.URL() {
		t.Fatalf("last good document lost: %v", err)
	}
	cancel()
	time.Sleep(150 * time.Millisecond)
	n := op.Count("discovery")
	time.Sleep(300 * time.Millisecond)
	if op.Count("discovery") != n {
		t.Fatal("the background loop kept running after its context was cancelled")
	}
}

func TestOversizeResponsesAreRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"` + strings.Repeat("a", MaxResponseBytes) + `"}`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewDiscovery(ctx, DiscoveryOptions{URL: srv.URL, Issuer: "x", Client: httpClient(t)})
	if _, err := d.Metadata(ctx); err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Fatalf("err = %v", err)
	}
}

func TestRefreshWithAnUnknownTokenIsInvalidGrant(t *testing.T) {
	op := newOP(t, testop.Options{})
	c := &Client{ClientID: "gatehouse", ClientSecret: "gatehouse-client-secret", AuthMethod: "client_secret_basic", HTTP: httpClient(t)}
	_, err := c.Refresh(context.Background(), Endpoint{URL: op.Endpoints().Token}, "not-a-refresh-token")
	if err == nil || !IsInvalidGrant(err) {
		t.Fatalf("err = %v", err)
	}
	c.ClientSecret = "wrong"
	_, err = c.Refresh(context.Background(), Endpoint{URL: op.Endpoints().Token}, "not-a-refresh-token")
	if oe, ok := err.(*OAuthError); !ok || oe.Code != "invalid_client" || IsInvalidGrant(err) {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestLifetimeAcceptsNumbersAndNumericStrings(t *testing.T) {
	for raw, want := range map[string]time.Duration{`3600`: time.Hour, `"3599"`: 3599 * time.Second, `null`: 0, `"x"`: 0, `-5`: 0, ``: 0} {
		tr := &TokenResponse{ExpiresIn: []byte(raw)}
		if got := tr.Lifetime(); got != want {
			t.Errorf("%s: %v, want %v", raw, got, want)
		}
	}
}

// idClaims verifies an ID token from the test provider and decodes its claims.
func idClaims(t *testing.T, op *testop.Provider, o testop.IDTokenOptions) (jose.Header, jose.Claims) {
	t.Helper()
	tok, err := op.IssueIDToken(o)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseCompact(tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := jose.DecodeClaims(jws.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return jws.Header, c
}

func TestIDTokenRules(t *testing.T) {
	op := newOP(t, testop.Options{})
	base := IDTokenCheck{Issuer: op.URL(), ClientID: "gatehouse", Nonce: "n-1", Now: time.Now(), Leeway: 30 * time.Second}
	cases := []struct {
		name string
		opts testop.IDTokenOptions
		mut  func(x *IDTokenCheck)
		want error
	}{
		{"valid", testop.IDTokenOptions{Nonce: "n-1", AccessToken: "at"}, func(x *IDTokenCheck) { x.AccessToken = "at" }, nil},
		{"wrong nonce", testop.IDTokenOptions{Nonce: "n-2"}, nil, ErrNonce},
		{"missing nonce", testop.IDTokenOptions{}, nil, ErrNonce},
		{"wrong issuer", testop.IDTokenOptions{Nonce: "n-1"}, func(x *IDTokenCheck) { x.Issuer = "https://other" }, ErrWrongIssuer},
		{"wrong audience", testop.IDTokenOptions{Nonce: "n-1"}, func(x *IDTokenCheck) { x.ClientID = "other" }, ErrWrongAudience},
		{"at_hash mismatch", testop.IDTokenOptions{Nonce: "n-1", AccessToken: "at"}, func(x *IDTokenCheck) { x.AccessToken = "other" }, ErrATHash},
		{"several audiences without azp", testop.IDTokenOptions{Nonce: "n-1", Claims: map[string]any{"aud": []string{"gatehouse", "x"}, "azp": nil}}, nil, ErrWrongAZP},
		{"azp of another client", testop.IDTokenOptions{Nonce: "n-1", Claims: map[string]any{"azp": "x"}}, nil, ErrWrongAZP},
		{"logout token as ID token", testop.IDTokenOptions{Nonce: "n-1", Claims: map[string]any{"events": map[string]any{BackchannelLogoutEvent: map[string]any{}}}}, nil, ErrTokenKind},
		{"auth_time too old for max_age", testop.IDTokenOptions{Nonce: "n-1", AuthTime: time.Now().Add(-time.Hour)}, func(x *IDTokenCheck) {
			x.MaxAge, x.MaxAgeSet = time.Minute, true
		}, ErrAuthTime},
		{"access token type", testop.IDTokenOptions{Nonce: "n-1", Header: map[string]any{"typ": "at+jwt"}}, nil, ErrTypeHeader},
		{"refresh changed subject", testop.IDTokenOptions{}, func(x *IDTokenCheck) {
			x.Nonce = ""
			x.Previous = &TokenClaims{Issuer: op.URL(), Subject: "usr_bob", Audience: []string{"gatehouse"}}
		}, ErrRefreshedID},
	}
	for _, tc := range cases {
		h, c := idClaims(t, op, tc.opts)
		x := base
		if tc.mut != nil {
			tc.mut(&x)
		}
		_, err := CheckIDToken(h, c, "RS256", x)
		if err != tc.want {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestDiscoveryAnnouncesEachNewDocumentOnce: OnChange runs after the first successful
// fetch, not again for refreshes that bring the same document, and once more when the
// document changes.
func TestDiscoveryAnnouncesEachNewDocumentOnce(t *testing.T) {
	op := newOP(t, testop.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var seen [][]string
	d := NewDiscovery(ctx, DiscoveryOptions{URL: op.URL() + "/.well-known/openid-configuration", Issuer: op.URL(), Client: httpClient(t),
		RefreshEvery: 20 * time.Millisecond, OnChange: func(m *Metadata) {
			mu.Lock()
			seen = append(seen, m.TokenEndpointAuthMethodsSupported)
			mu.Unlock()
		}})
	announced := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d fetches, %d announcements", what, d.Fetches(), announced())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("five fetches", func() bool { return d.Fetches() >= 5 })
	if announced() != 1 {
		t.Fatalf("%d announcements for one document", announced())
	}
	op.SetTokenEndpointAuthMethods([]string{"private_key_jwt"})
	waitFor("the changed document", func() bool { return announced() == 2 })
	n := d.Fetches()
	waitFor("more fetches", func() bool { return d.Fetches() >= n+3 })
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || len(seen[1]) != 1 || seen[1][0] != "private_key_jwt" {
		t.Fatalf("announcements %v", seen)
	}
}
