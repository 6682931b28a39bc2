package testop

import (
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// assertion signs claims (with defaults for a valid private_key_jwt assertion of
// client id at the token endpoint, changed by edit) with key under alg.
func assertion(t *testing.T, p *Provider, id, alg string, key any, edit map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": id, "sub": id, "aud": p.Endpoints().Token, "jti": randomToken(12),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	mergeClaims(claims, edit)
	payload, _ := json.Marshal(claims)
	tok, err := signCompact(map[string]any{"alg": alg, "typ": "JWT"}, payload, key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tokenWithAssertion sends a refresh with an unknown token, authenticated by the
// assertion, and returns the status and error code: 400 invalid_grant means the
// client authenticated.
func tokenWithAssertion(t *testing.T, p *Provider, endpoint, id, assertion string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}, "token": {"unknown"},
		"client_id": {id}, "client_assertion_type": {AssertionType}, "client_assertion": {assertion}}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rp := newRP(t, p)
	status, body := rp.do(req)
	return status, str(body, "error")
}

// TestClientAssertionsAreVerifiedForReal: the provider accepts a correct
// private_key_jwt or client_secret_jwt assertion and refuses every broken one: another
// key, another secret, iss or sub not the client, an aud of something else, expired,
// too long-lived, issued in the future, no jti, a replayed jti, alg none, and the
// methods the client is not registered for.
func TestClientAssertionsAreVerifiedForReal(t *testing.T) {
	p := newProvider(t, Options{})
	ck, err := NewClientKey("EC")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewClientKey("EC")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("k", 40)
	if err := p.AddClient(Client{ID: "pk", AuthMethod: "private_key_jwt", AssertionKeys: []crypto.PublicKey{ck.Public}}); err != nil {
		t.Fatal(err)
	}
	if err := p.AddClient(Client{ID: "cs", Secret: secret, AuthMethod: "client_secret_jwt"}); err != nil {
		t.Fatal(err)
	}
	token := p.Endpoints().Token
	now := time.Now()
	good := assertion(t, p, "pk", "ES256", ck.Private, nil)
	for _, c := range []struct {
		name, id, assertion, endpoint string
		ok                            bool
	}{
		{"private_key_jwt", "pk", good, token, true},
		{"the same assertion again", "pk", good, token, false},
		{"client_secret_jwt", "cs", assertion(t, p, "cs", "HS256", []byte(secret), nil), token, true},
		{"aud the issuer", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"aud": p.URL()}), token, true},
		{"aud the revocation endpoint, sent there", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"aud": p.Endpoints().Revocation}), p.Endpoints().Revocation, true},
		{"aud the revocation endpoint, sent to the token endpoint", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"aud": p.Endpoints().Revocation}), token, false},
		{"another key", "pk", assertion(t, p, "pk", "ES256", other.Private, nil), token, false},
		{"another secret", "cs", assertion(t, p, "cs", "HS256", []byte(strings.Repeat("x", 40)), nil), token, false},
		{"HS256 for a key client", "pk", assertion(t, p, "pk", "HS256", []byte(secret), nil), token, false},
		{"a key for a secret client", "cs", assertion(t, p, "cs", "ES256", ck.Private, nil), token, false},
		{"iss another client", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"iss": "cs"}), token, false},
		{"sub another client", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"sub": "cs"}), token, false},
		{"aud elsewhere", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"aud": "https://elsewhere.example/token"}), token, false},
		{"expired", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"exp": now.Add(-time.Second).Unix()}), token, false},
		{"a day long", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"exp": now.Add(24 * time.Hour).Unix()}), token, false},
		{"issued in the future", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"iat": now.Add(time.Hour).Unix()}), token, false},
		{"no jti", "pk", assertion(t, p, "pk", "ES256", ck.Private, map[string]any{"jti": nil}), token, false},
		{"alg none", "pk", assertion(t, p, "pk", "none", nil, nil), token, false},
	} {
		status, code := tokenWithAssertion(t, p, c.endpoint, c.id, c.assertion)
		accepted := code != "invalid_client"
		if accepted != c.ok || (accepted && status != http.StatusBadRequest && status != http.StatusOK) {
			t.Errorf("%s: status %d %s, expected accepted=%v", c.name, status, code, c.ok)
		}
	}
}

// TestUserinfoOnlyClaimsAndSignedUserinfo: claims named UserinfoOnlyClaims are in
// userinfo and in no token; a signed answer is a JWT of the provider's key with iss
// and aud.
func TestUserinfoOnlyClaimsAndSignedUserinfo(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, UserinfoOnlyClaims: []string{"groups", "roles"}})
	rp := newRP(t, p)
	f := rp.login()
	_, id, _ := ParseUnverified(str(f.tokens, "id_token"))
	_, at, _ := ParseUnverified(str(f.tokens, "access_token"))
	if id["groups"] != nil || id["roles"] != nil || at["groups"] != nil || id["email"] != "alice@example.com" {
		t.Fatalf("ID token %v, access token %v", id, at)
	}
	userinfo := func() *http.Response {
		req, _ := http.NewRequest(http.MethodGet, p.Endpoints().Userinfo, nil)
		req.Header.Set("Authorization", "Bearer "+str(f.tokens, "access_token"))
		resp, err := p.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := userinfo()
	var ui map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ui)
	resp.Body.Close()
	if g, _ := ui["groups"].([]any); len(g) != 2 || ui["sub"] != id["sub"] {
		t.Fatalf("userinfo %v", ui)
	}
	p.SetSignedUserinfo(true)
	resp = userinfo()
	jwt, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/jwt" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	_, claims, err := p.Verify(string(jwt))
	if err != nil || claims["iss"] != p.URL() || claims["aud"] != DefaultClientID || claims["groups"] == nil {
		t.Fatalf("signed userinfo %v: %v", claims, err)
	}
}

// TestMultiTenantProviderIssuesPerTenant: discovery's issuer is the template; each
// user's tokens carry the user's tid and the template filled with it; the iss
// parameter and front-channel logout name the same issuer.
func TestMultiTenantProviderIssuesPerTenant(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, MultiTenant: true})
	if err := p.AddUser(User{Username: "tess", Password: "x", Tenant: SecondTenantID}); err != nil {
		t.Fatal(err)
	}
	rp := newRP(t, p)
	if iss := rp.discover()["issuer"]; iss != p.URL()+"/{tenantid}/v2.0" || iss != p.IssuerTemplate() {
		t.Fatalf("discovery issuer %v", iss)
	}
	for user, tid := range map[string]string{"alice": DefaultTenantID, "tess": SecondTenantID} {
		p.SetAutoLogin(user)
		rp := newRP(t, p)
		f := rp.login()
		_, id, _ := ParseUnverified(str(f.tokens, "id_token"))
		_, at, _ := ParseUnverified(str(f.tokens, "access_token"))
		want := p.TenantIssuer(tid)
		if id["tid"] != tid || id["iss"] != want || at["iss"] != want || f.callback.Get("iss") != want {
			t.Errorf("%s: ID token tid %v iss %v, access token iss %v, iss parameter %q", user, id["tid"], id["iss"], at["iss"], f.callback.Get("iss"))
		}
	}
}
