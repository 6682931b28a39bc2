package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	testKeyA = "0123456789abcdef0123456789abcdef-key-A"
	testKeyB = "fedcba9876543210fedcba9876543210-key-B"
)

var testNow = time.Unix(1_700_000_000, 0)

// testOptions returns the session options the middleware gets from the default
// configuration (config.Default, compiled: session is below config, which cannot be
// imported here) with the given session keys.
func testOptions(t testing.TB, keys ...string) *Options {
	t.Helper()
	o := &Options{CookieName: "_gatehouse", CookiePath: "/", Secure: true, HTTPOnly: true, SameSite: http.SameSiteLaxMode,
		Lifetime: 24 * time.Hour, IdleTimeout: time.Hour, RefreshGrace: 60 * time.Second, LoginTimeout: 10 * time.Minute, Store: "cookie"}
	for _, k := range keys {
		if len(k) < 32 {
			t.Fatalf("test key %q is shorter than 32 bytes", k)
		}
		o.Keys = append(o.Keys, []byte(k))
	}
	return o
}

func testBinding(name string) string {
	return InstanceBinding(name, "https://idp.example.com", "gatehouse", "_gatehouse")
}

func newTestManager(t testing.TB, opts *Options, name string) *Manager {
	t.Helper()
	m, err := NewManager(opts, testBinding(name), "/oauth2/callback")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeJWT returns a token shaped like a real one: base64url header, claims and a
// signature of sigLen random bytes.
func fakeJWT(t testing.TB, claims map[string]any, sigLen int) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": "k-2024-01-rotating", "typ": "JWT"})
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, sigLen)
	_, _ = rand.Read(sig)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString(sig)
}

func groupNames(n int) []string {
	g := make([]string, n)
	for i := range g {
		g[i] = "grp-engineering-" + strconv.Itoa(1000+i)
	}
	return g
}

// typicalRecord is a session of a user with a handful of groups and the tokens a
// Keycloak-like provider issues (RS256 ID and access tokens, a signed refresh token).
func typicalRecord(t testing.TB) *Record {
	return recordWithGroups(t, 5)
}

// recordWithGroups is a session whose groups also appear in the ID and access
// tokens, as providers put them there.
func recordWithGroups(t testing.TB, groups int) *Record {
	t.Helper()
	rec, err := NewRecord(testNow)
	if err != nil {
		t.Fatal(err)
	}
	gs := groupNames(groups)
	roles := []string{"offline_access", "uma_authorization", "app-user", "app-admin"}
	claims := map[string]any{
		"iss": "https://idp.example.com/realms/corp", "sub": "f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
		"aud": "gatehouse", "exp": testNow.Unix() + 300, "iat": testNow.Unix(), "auth_time": testNow.Unix(),
		"sid": "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5", "email": "alice.example@example.com",
		"email_verified": true, "name": "Alice Example", "preferred_username": "alice",
		"given_name": "Alice", "family_name": "Example", "groups": gs,
		"realm_access": map[string]any{"roles": roles},
	}
	idClaims := map[string]any{"nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "azp": "gatehouse", "typ": "ID"}
	atClaims := map[string]any{"scope": "openid email profile groups", "typ": "Bearer", "azp": "gatehouse",
		"allowed-origins": []string{"https://app.example.com"}, "jti": "2f0d7c1e-8a9b-4c3d-9e8f-7a6b5c4d3e2f",
		"resource_access": map[string]any{"account": map[string]any{"roles": []string{"manage-account", "view-profile"}}}}
	for k, v := range claims {
		idClaims[k] = v
		atClaims[k] = v
	}
	rec.Subject = claims["sub"].(string)
	rec.Issuer = claims["iss"].(string)
	rec.SID = claims["sid"].(string)
	rec.User = "alice"
	rec.Email = "alice.example@example.com"
	rec.EmailVerified = true
	rec.Roles = roles
	rec.Groups = gs
	rec.Claims = map[string]any{"name": "Alice Example", "tenant": "corp", "auth_time": testNow.Unix()}
	rec.IDToken = fakeJWT(t, idClaims, 256)
	rec.AccessToken = fakeJWT(t, atClaims, 256)
	rec.RefreshToken = fakeJWT(t, map[string]any{"typ": "Refresh", "sid": rec.SID, "sub": rec.Subject, "exp": testNow.Unix() + 1800, "jti": "8e7d6c5b"}, 64)
	rec.TokenExpiry = testNow.Unix() + 300
	return rec
}

// cookieHeaderFrom turns Set-Cookie lines into the Cookie header a browser would
// send back, dropping expired cookies.
func cookieHeaderFrom(t testing.TB, h http.Header) string {
	t.Helper()
	var parts []string
	for _, c := range parseSetCookies(t, h) {
		if c.MaxAge < 0 {
			continue
		}
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// parseSetCookies parses every Set-Cookie line with net/http's own parser and fails
// the test on a line it drops.
func parseSetCookies(t testing.TB, h http.Header) []*http.Cookie {
	t.Helper()
	cs := (&http.Response{Header: h}).Cookies()
	if len(cs) != len(h["Set-Cookie"]) {
		t.Fatalf("net/http parsed %d of %d Set-Cookie lines: %q", len(cs), len(h["Set-Cookie"]), h["Set-Cookie"])
	}
	return cs
}

func requestWithCookies(header string) *http.Request {
	req, _ := http.NewRequest("GET", "https://app.example.com/", nil)
	if header != "" {
		req.Header.Set("Cookie", header)
	}
	return req
}
