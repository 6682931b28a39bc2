package testop

import (
	"net/url"
	"testing"
	"time"
)

// TestIntrospectionClaimsOverrideTheAnswerOnly: AccessTokenOptions.IntrospectionClaims
// replace (or, with nil, remove) members of the active introspection answer, after
// active and token_type, without changing the token, its expiry or other tokens.
func TestIntrospectionClaimsOverrideTheAnswerOnly(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	introspect := func(tok string) map[string]any {
		t.Helper()
		st, body := rp.postForm(p.Endpoints().Introspection, url.Values{"token": {tok}}, IntrospectionClientID, IntrospectionClientSecret)
		if st != 200 {
			t.Fatalf("introspection: %d %v", st, body)
		}
		return body
	}
	past := time.Now().Add(-time.Hour).Unix()
	tok, err := p.IssueAccessToken(AccessTokenOptions{Opaque: true, IntrospectionClaims: map[string]any{
		"iss": "https://elsewhere.example", "token_type": "refresh_token", "exp": past, "scope": nil,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !p.TokenActive(tok) {
		t.Fatal("a past exp in IntrospectionClaims ended the token at the provider")
	}
	body := introspect(tok)
	if body["active"] != true || body["iss"] != "https://elsewhere.example" || body["token_type"] != "refresh_token" ||
		body["exp"] != float64(past) || body["sub"] != MachineClientID {
		t.Errorf("overridden answer: %v", body)
	}
	if _, has := body["scope"]; has {
		t.Errorf("scope not removed: %v", body)
	}
	// The override is the token's own: another token answers as before, and a
	// revoked or unknown token stays inactive with nothing else.
	plain := introspect(mustIssue(t, p, AccessTokenOptions{Opaque: true}))
	if plain["iss"] != p.URL() || plain["token_type"] != "Bearer" || plain["scope"] == nil {
		t.Errorf("plain answer: %v", plain)
	}
	p.mu.Lock()
	p.access[tokenKey(tok)].revoked = true
	p.mu.Unlock()
	if body := introspect(tok); len(body) != 1 || body["active"] != false {
		t.Errorf("revoked token with IntrospectionClaims: %v", body)
	}
}

func mustIssue(t *testing.T, p *Provider, o AccessTokenOptions) string {
	t.Helper()
	tok, err := p.IssueAccessToken(o)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
