package testop

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCountsAndRecordedRequests(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, RecordLimit: 2})
	rp := newRP(t, p)
	f := rp.login()
	if _, err := rp.validateIDToken(str(f.tokens, "id_token"), f.req.nonce, ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{EPDiscovery, EPJWKS, EPAuthorize, EPToken, "token:authorization_code"} {
		if p.Count(name) != 1 {
			t.Errorf("count %s = %d, expected 1 (%v)", name, p.Count(name), p.Counts())
		}
	}
	tok := p.Requests(EPToken)
	if len(tok) != 1 || tok[0].Form.Get("grant_type") != "authorization_code" || tok[0].Header.Get("Authorization") == "" || tok[0].Method != "POST" {
		t.Errorf("recorded token request %+v", tok)
	}
	for i := 0; i < 3; i++ {
		rp.discover()
	}
	if got := p.Requests(EPDiscovery); len(got) != 2 {
		t.Errorf("RecordLimit 2 kept %d requests", len(got))
	}
	// Requests returns copies.
	tok[0].Form.Set("grant_type", "changed")
	if p.Requests(EPToken)[0].Form.Get("grant_type") != "authorization_code" {
		t.Error("Requests shares its maps with the provider")
	}
	p.ResetCounts()
	if p.Count(EPDiscovery) != 0 || len(p.Requests(EPToken)) != 0 || len(p.Counts()) != 0 {
		t.Error("ResetCounts left something")
	}
}

func TestSetFailureAndSetDelayApplyToAnyEndpoint(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	p.SetFailure(EPJWKS, http.StatusServiceUnavailable)
	m, resp := rp.getJSON(p.Endpoints().JWKS)
	if resp.StatusCode != 503 || m["error"] != "temporarily_unavailable" {
		t.Errorf("SetFailure: %d %v", resp.StatusCode, m)
	}
	p.SetFailure(EPJWKS, 0)
	if _, resp := rp.getJSON(p.Endpoints().JWKS); resp.StatusCode != 200 {
		t.Errorf("after clearing: %d", resp.StatusCode)
	}
	p.SetDelay(EPDiscovery, 200*time.Millisecond)
	start := time.Now()
	rp.discover()
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("discovery answered after %v, expected at least 200ms", d)
	}
	p.SetDelay(EPDiscovery, 0)
}

func TestCloseReleasesHangingRequestsPromptly(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.SetDelay(EPJWKS, Hang)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(p.Endpoints().JWKS)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Wait until the request is held.
	for i := 0; i < 200 && p.Count(EPJWKS) == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("held request never finished")
	}
	p.Close() // idempotent
	if _, err := http.Get(p.URL() + "/.well-known/openid-configuration"); err == nil {
		t.Error("provider still answers after Close")
	}
}

func TestTLSProviderIsTrustedThroughCACertPEM(t *testing.T) {
	p := newProvider(t, Options{TLS: true, AutoLogin: true})
	if !strings.HasPrefix(p.URL(), "https://127.0.0.1:") {
		t.Fatalf("issuer %s", p.URL())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.CACertPEM()) {
		t.Fatal("CACertPEM does not parse")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(p.Endpoints().Discovery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := http.Get(p.Endpoints().Discovery); err == nil {
		t.Error("an untrusting client connected")
	}
	rp := newRP(t, p)
	f := rp.login()
	if _, err := rp.validateIDToken(str(f.tokens, "id_token"), f.req.nonce, ""); err != nil {
		t.Error(err)
	}
	if newProvider(t, Options{}).CACertPEM() != nil {
		t.Error("CACertPEM without TLS")
	}
}

func TestFixedAddressIsHonoured(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newProvider(t, Options{Addr: addr})
	if p.URL() != "http://"+addr {
		t.Errorf("URL %s, expected http://%s", p.URL(), addr)
	}
	if _, err := New(Options{Addr: addr}); err == nil {
		t.Error("second provider on the same address started")
	}
}

func TestOptionsAreValidated(t *testing.T) {
	for name, o := range map[string]Options{
		"signing alg":           {SigningAlg: "HS256"},
		"user without name":     {Users: []User{{Password: "x"}}},
		"client without id":     {Clients: []Client{{Secret: "x"}}},
		"public machine client": {Clients: []Client{{ID: "m", GrantTypes: []string{"client_credentials"}}}},
		"unknown grant":         {Clients: []Client{{ID: "m", Secret: "s", GrantTypes: []string{"password"}}}},
		"none with secret":      {Clients: []Client{{ID: "m", Secret: "s", AuthMethod: "none"}}},
	} {
		if p, err := New(o); err == nil {
			p.Close()
			t.Errorf("%s: accepted", name)
		}
	}
	p := newProvider(t, Options{})
	if err := p.SetSigningAlg("none"); err == nil {
		t.Error("SetSigningAlg none accepted")
	}
	if err := p.AddRedirectURI("nobody", "x"); err == nil {
		t.Error("AddRedirectURI for an unknown client")
	}
	users := p.Users()
	if len(users) != 10 || users[0].Username != "alice" || users[4].Username != "grace" || len(users[4].Groups) != 200 {
		t.Errorf("default users %d", len(users))
	}
	if u, _ := p.User("carol"); u.EmailVerified {
		t.Error("carol's email is verified")
	}
	// Copies: changing one does not change the provider.
	u, _ := p.User("alice")
	u.Groups[0] = "changed"
	if again, _ := p.User("alice"); again.Groups[0] != "engineering" {
		t.Error("User returned shared slices")
	}
}

// TestUntrustedInputGetsAnAnswerNotAPanic sends malformed requests to every endpoint:
// a handler panic would close the connection instead of answering.
func TestUntrustedInputGetsAnAnswerNotAPanic(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	ep := p.Endpoints()
	big := strings.Repeat("a", 200<<10)
	badBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:%zz"))
	type probe struct {
		method, url, body, auth string
	}
	probes := []probe{
		{"POST", ep.Token, "grant_type=authorization_code&code=" + big, ""},
		{"POST", ep.Token, "grant_type=refresh_token&refresh_token=x", badBasic},
		{"POST", ep.Token, "%zz=%zz", ""},
		{"POST", ep.Token, "grant_type=client_credentials", "Basic !!!"},
		{"GET", ep.Token, "", ""},
		{"GET", ep.Authorization + "?client_id=%zz", "", ""},
		{"GET", ep.Authorization + "?client_id=gatehouse&redirect_uri=http://127.0.0.1:1/&max_age=99999999999999999999&response_type=code&scope=openid", "", ""},
		{"GET", ep.Authorization + "?client_id=gatehouse&redirect_uri=" + url.QueryEscape("http://127.0.0.1:1/%zz") + "&response_type=code&scope=openid", "", ""},
		{"POST", ep.Login, "request=" + big, ""},
		{"POST", ep.Login, "", ""},
		{"GET", ep.EndSession + "?id_token_hint=" + big, "", ""},
		{"GET", ep.EndSession + "?id_token_hint=a.b.c", "", ""},
		{"GET", ep.EndSession + "?id_token_hint=" + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":7}`)) + ".e30.AA", "", ""},
		{"GET", ep.EndSession + "?id_token_hint=" + base64.RawURLEncoding.EncodeToString([]byte(`[]`)) + ".bnVsbA.", "", ""},
		{"GET", ep.Userinfo, "", "Bearer"},
		{"POST", ep.Userinfo, "access_token=" + big, ""},
		{"POST", ep.Introspection, "token=x", badBasic},
		{"POST", ep.Introspection, "", "Basic " + base64.StdEncoding.EncodeToString([]byte(IntrospectionClientID+":"+IntrospectionClientSecret))},
		{"POST", ep.Revocation, "token=", ""},
		{"POST", ep.Revocation, strings.Repeat("token=x&", 20000), ""},
		{"DELETE", ep.JWKS, "", ""},
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var wg sync.WaitGroup
	for _, pr := range probes {
		pr := pr
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(context.Background(), pr.method, pr.url, bytes.NewBufferString(pr.body))
			if pr.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if pr.auth != "" {
				req.Header.Set("Authorization", pr.auth)
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Errorf("%s %.80s: no answer: %v", pr.method, pr.url, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusFound && strings.Contains(resp.Header.Get("Location"), "error=") {
				return
			}
			if resp.StatusCode < 400 {
				t.Errorf("%s %.80s: status %d, expected a refusal", pr.method, pr.url, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
}

// FuzzVerify feeds arbitrary strings to the parsing the provider applies to
// untrusted tokens (id_token_hint).
func FuzzVerify(f *testing.F) {
	p, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	f.Add(p.Sign(nil, map[string]any{"sub": "x"}))
	f.Add(p.Sign(map[string]any{"alg": "ES256", "kid": nil}, map[string]any{"sub": "x"}))
	f.Add(p.Sign(map[string]any{"alg": "none"}, nil))
	f.Add("a.b.c")
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		h, c, err := p.Verify(tok)
		if err == nil && (h == nil || c == nil) {
			t.Fatal("verified without header or claims")
		}
		_, _, _ = ParseUnverified(tok)
	})
}
