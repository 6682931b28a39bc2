package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

func TestAutoAuthMethodTakesTheFirstAdvertisedOneTheCredentialsAllow(t *testing.T) {
	key := &AssertionKey{}
	long := strings.Repeat("s", 32)
	for _, c := range []struct {
		name       string
		secret     string
		key        *AssertionKey
		advertised []string
		want       string
	}{
		{"secret, nothing advertised (RFC 8414 default)", "s", nil, nil, AuthBasic},
		{"secret, basic and post", "s", nil, []string{AuthPost, AuthBasic}, AuthBasic},
		{"secret, only post", "s", nil, []string{AuthPost}, AuthPost},
		{"short secret, only client_secret_jwt", "s", nil, []string{AuthSecretJWT}, AuthBasic},
		{"long secret, only client_secret_jwt", long, nil, []string{AuthSecretJWT}, AuthSecretJWT},
		{"key, nothing advertised", "", key, nil, AuthPrivateKeyJWT},
		{"key and secret, private_key_jwt advertised", "s", key, []string{AuthBasic, AuthPrivateKeyJWT}, AuthPrivateKeyJWT},
		{"key and secret, private_key_jwt not advertised", "s", key, []string{AuthPost}, AuthPost},
		{"key, nothing it allows advertised", "", key, []string{AuthBasic}, AuthPrivateKeyJWT},
		{"no credentials", "", nil, []string{AuthBasic}, AuthNone},
	} {
		got := AuthMethodFor(&Client{AuthMethod: AuthAuto, ClientSecret: c.secret, Key: c.key}, Endpoint{AuthMethods: c.advertised})
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if got := AuthMethodFor(&Client{AuthMethod: AuthPost, ClientSecret: "s"}, Endpoint{AuthMethods: []string{AuthBasic}}); got != AuthPost {
		t.Errorf("a configured method is kept: %s", got)
	}
}

// assertionClient registers a private_key_jwt client at op with key's public part.
func assertionClient(t *testing.T, op *testop.Provider, id, kind, audience string) (*testop.ClientKey, *Client) {
	t.Helper()
	ck, err := testop.NewClientKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	if err := op.AddClient(testop.Client{ID: id, AuthMethod: "private_key_jwt", AssertionKeys: []crypto.PublicKey{ck.Public}, AssertionAudience: audience}); err != nil {
		t.Fatal(err)
	}
	ak, err := NewAssertionKey(ck.Private, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return ck, &Client{ClientID: id, AuthMethod: AuthPrivateKeyJWT, Key: ak, Issuer: op.URL(), HTTP: httpClient(t)}
}

// clientAuthenticated reports whether the provider took the client's credentials: a
// refresh with an unknown token then fails with invalid_grant, not invalid_client.
func clientAuthenticated(t *testing.T, c *Client, token Endpoint) bool {
	t.Helper()
	_, err := c.Refresh(context.Background(), token, "no-such-refresh-token")
	if IsInvalidGrant(err) {
		return true
	}
	if oe, ok := err.(*OAuthError); ok && oe.Code == "invalid_client" {
		return false
	}
	t.Fatalf("unexpected answer: %v", err)
	return false
}

// TestPrivateKeyJWTAssertionsAreAcceptedByTheProvider: RS256, PS256 and ES256
// assertions from PKCS#8, PKCS#1 and SEC 1 keys are verified by the provider; each
// carries iss = sub = the client id, aud the token endpoint, a jti of its own, a 60 s
// lifetime and the key's RFC 7638 thumbprint as kid.
func TestPrivateKeyJWTAssertionsAreAcceptedByTheProvider(t *testing.T) {
	op := newOP(t, testop.Options{})
	token := Endpoint{URL: op.Endpoints().Token}
	for _, c := range []struct{ kind, alg string }{{"RSA", ""}, {"RSA", "PS256"}, {"EC", ""}} {
		ck, client := assertionClient(t, op, "pkj-"+c.kind+c.alg, c.kind, "endpoint")
		client.Key.Alg = c.alg
		op.ResetCounts()
		for i := 0; i < 2; i++ {
			if !clientAuthenticated(t, client, token) {
				t.Fatalf("%s %s: the provider refused the assertion", c.kind, c.alg)
			}
		}
		reqs := op.Requests(testop.EPToken)
		h0, c0, err := testop.ParseUnverified(reqs[0].Form.Get("client_assertion"))
		if err != nil {
			t.Fatal(err)
		}
		_, c1, _ := testop.ParseUnverified(reqs[1].Form.Get("client_assertion"))
		wantAlg := map[string]string{"RSA": "RS256", "RSAPS256": "PS256", "EC": "ES256"}[c.kind+c.alg]
		tp, _ := jose.Thumbprint(ck.Public)
		if h0["alg"] != wantAlg || h0["kid"] != tp || h0["typ"] != "JWT" {
			t.Errorf("%s %s: header %v", c.kind, c.alg, h0)
		}
		if c0["iss"] != client.ClientID || c0["sub"] != client.ClientID || c0["aud"] != token.URL ||
			c0["exp"].(float64)-c0["iat"].(float64) != 60 || c0["jti"] == "" || c0["jti"] == c1["jti"] {
			t.Errorf("%s %s: claims %v then %v", c.kind, c.alg, c0, c1)
		}
		if f := reqs[0].Form; f.Get("client_assertion_type") != AssertionType || f.Get("client_id") != client.ClientID ||
			f.Get("client_secret") != "" || reqs[0].Header.Get("Authorization") != "" {
			t.Errorf("%s %s: form %v, Authorization %q", c.kind, c.alg, f, reqs[0].Header.Get("Authorization"))
		}
	}
}

// TestAssertionOfAnUnregisteredKeyIsRefused: an assertion signed by a key the
// provider does not have for the client fails client authentication.
func TestAssertionOfAnUnregisteredKeyIsRefused(t *testing.T) {
	op := newOP(t, testop.Options{})
	_, client := assertionClient(t, op, "pkj-a", "RSA", "")
	other, err := testop.NewClientKey("RSA")
	if err != nil {
		t.Fatal(err)
	}
	if client.Key, err = NewAssertionKey(other.Private, "", "", nil); err != nil {
		t.Fatal(err)
	}
	if clientAuthenticated(t, client, Endpoint{URL: op.Endpoints().Token}) {
		t.Fatal("an assertion of an unregistered key was accepted")
	}
}

// TestAssertionAudienceFollowsTheOption: with AssertionAudienceIssuer the aud is the
// issuer, which a provider taking only the issuer accepts and one taking only the
// endpoint refuses; the default (the endpoint's URL) the other way round.
func TestAssertionAudienceFollowsTheOption(t *testing.T) {
	op := newOP(t, testop.Options{})
	token := Endpoint{URL: op.Endpoints().Token}
	_, issuerOnly := assertionClient(t, op, "aud-issuer", "EC", "issuer")
	_, endpointOnly := assertionClient(t, op, "aud-endpoint", "EC", "endpoint")
	if clientAuthenticated(t, issuerOnly, token) || !clientAuthenticated(t, endpointOnly, token) {
		t.Fatal("default aud: expected the token endpoint's URL")
	}
	issuerOnly.AssertionAudience = AssertionAudienceIssuer
	endpointOnly.AssertionAudience = AssertionAudienceIssuer
	if !clientAuthenticated(t, issuerOnly, token) || clientAuthenticated(t, endpointOnly, token) {
		t.Fatal("aud issuer: expected the issuer")
	}
}

// TestClientSecretJWTIsKeyedWithTheSecret: an HS256 assertion keyed with the right
// secret authenticates; with another secret it does not, and the secret itself is
// never sent.
func TestClientSecretJWTIsKeyedWithTheSecret(t *testing.T) {
	op := newOP(t, testop.Options{})
	secret := "a-client-secret-of-more-than-32-bytes"
	if err := op.AddClient(testop.Client{ID: "csj", Secret: secret, AuthMethod: "client_secret_jwt"}); err != nil {
		t.Fatal(err)
	}
	c := &Client{ClientID: "csj", ClientSecret: secret, AuthMethod: AuthSecretJWT, HTTP: httpClient(t)}
	token := Endpoint{URL: op.Endpoints().Token}
	if !clientAuthenticated(t, c, token) {
		t.Fatal("client_secret_jwt refused")
	}
	req := op.Requests(testop.EPToken)[0]
	h, _, _ := testop.ParseUnverified(req.Form.Get("client_assertion"))
	if h["alg"] != "HS256" || h["kid"] != nil || strings.Contains(req.Form.Encode(), "more-than-32") || req.Header.Get("Authorization") != "" {
		t.Fatalf("header %v, form %v", h, req.Form)
	}
	c.ClientSecret = "another-client-secret-of-32-bytes-or-more"
	if clientAuthenticated(t, c, token) {
		t.Fatal("an assertion keyed with another secret was accepted")
	}
	c.AuthMethod = AuthBasic
	c.ClientSecret = secret
	if clientAuthenticated(t, c, token) {
		t.Fatal("a client registered for client_secret_jwt was accepted with client_secret_basic")
	}
}

// TestAssertionKeyRefusesWhatCannotSign: small RSA keys, keys of other curves, an alg
// that does not fit the key, and a certificate of another key are refused; a
// certificate of the key gives x5t and x5t#S256.
func TestAssertionKeyRefusesWhatCannotSign(t *testing.T) {
	rsaKey, err := testop.NewClientKey("RSA")
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := testop.NewClientKey("EC")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAssertionKey(rsaKey.Private, "ES256", "", nil); err == nil {
		t.Error("an RSA key took ES256")
	}
	if _, err := NewAssertionKey(ecKey.Private, "RS256", "", nil); err == nil {
		t.Error("an EC key took RS256")
	}
	cert := parseCert(t, ecKey.CertificateDER)
	if _, err := NewAssertionKey(rsaKey.Private, "", "", cert); err == nil {
		t.Error("a certificate of another key was taken")
	}
	k, err := NewAssertionKey(ecKey.Private, "", "my-kid", cert)
	if err != nil {
		t.Fatal(err)
	}
	s1 := certSHA1(ecKey.CertificateDER)
	s256 := sha256.Sum256(ecKey.CertificateDER)
	if k.KeyID != "my-kid" || k.X5T != s1 || k.X5TS256 != base64.RawURLEncoding.EncodeToString(s256[:]) || len(k.X5T) != 27 {
		t.Fatalf("key %+v", k)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAssertionKey(small, "", "", nil); err == nil {
		t.Error("a 1024-bit RSA key was taken")
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAssertionKey(p384, "", "", nil); err == nil {
		t.Error("a P-384 key was taken")
	}
}

func parseCert(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
