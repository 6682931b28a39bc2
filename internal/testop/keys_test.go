package testop

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestRotateKeysPublishesNewKeysAndKeepsOldOnesUntilDropped(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	before := rp.login()
	oldKid := p.SigningKeyID()
	if n := len(p.KeyIDs()); n != 4 {
		t.Fatalf("%d keys published, expected 4", n)
	}
	if err := p.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	if p.SigningKeyID() == oldKid {
		t.Fatal("signing key unchanged after RotateKeys")
	}
	keys := rp.jwks()
	if len(keys) != 8 {
		t.Errorf("JWKS has %d keys after rotation, expected 8 (4 current, 4 retired)", len(keys))
	}
	if p.KeyIDs()[0] != p.SigningKeyID() {
		t.Errorf("current signing key is not listed first: %v", p.KeyIDs())
	}
	if _, err := rp.validateIDToken(str(before.tokens, "id_token"), before.req.nonce, ""); err != nil {
		t.Errorf("token signed before rotation: %v", err)
	}
	after := rp.login()
	if h, _, _ := ParseUnverified(str(after.tokens, "id_token")); h["kid"] != p.SigningKeyID() {
		t.Errorf("new token kid %v", h["kid"])
	}
	p.DropRetiredKeys()
	if len(rp.jwks()) != 4 {
		t.Errorf("JWKS has %d keys after DropRetiredKeys", len(rp.jwks()))
	}
	if _, err := rp.validateIDToken(str(before.tokens, "id_token"), before.req.nonce, ""); err != errKid {
		t.Errorf("token of a dropped key: %v, expected a kid failure", err)
	}
	if _, err := rp.validateIDToken(str(after.tokens, "id_token"), after.req.nonce, ""); err != nil {
		t.Errorf("token of the current key: %v", err)
	}
}

func TestRetiredKeysLeaveTheJWKSAfterRetiredKeyTTL(t *testing.T) {
	now := time.Now()
	p := newProvider(t, Options{Now: func() time.Time { return now }, RetiredKeyTTL: time.Minute})
	if err := p.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	if n := len(p.KeyIDs()); n != 8 {
		t.Errorf("%d keys right after rotation", n)
	}
	now = now.Add(61 * time.Second)
	if n := len(newRP(t, p).jwks()); n != 4 {
		t.Errorf("%d keys published after RetiredKeyTTL, expected 4", n)
	}
}

func TestSignBuildsRawTokensFromHeaderAndClaims(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	keys := rp.jwks()
	claims := map[string]any{"iss": p.URL(), "sub": "x"}

	tok := p.Sign(nil, claims)
	h, c, err := verifyWith(tok, keys)
	if err != nil || h["alg"] != "RS256" || h["kid"] != p.SigningKeyID() || h["typ"] != nil || c["sub"] != "x" {
		t.Errorf("default Sign: %v %v %v", err, h, c)
	}
	for _, alg := range []string{"PS256", "ES256", "EdDSA"} {
		if _, _, err := verifyWith(p.Sign(map[string]any{"alg": alg}, claims), keys); err != nil {
			t.Errorf("Sign %s: %v", alg, err)
		}
	}
	// kid: nil removes it; an unknown kid stays, signed with the current key.
	if h, _, _ := ParseUnverified(p.Sign(map[string]any{"kid": nil}, claims)); h["kid"] != nil {
		t.Errorf("kid nil: %v", h)
	}
	unknown := p.Sign(map[string]any{"kid": "no-such-key"}, claims)
	if _, _, err := verifyWith(unknown, keys); err != errKid {
		t.Errorf("unknown kid: %v", err)
	}
	if _, _, err := p.Verify(unknown); err == nil {
		t.Error("Verify accepted an unknown kid")
	}
	// alg none in any casing: empty signature.
	for _, a := range []string{"none", "None", "NONE"} {
		tok := p.Sign(map[string]any{"alg": a}, claims)
		if !strings.HasSuffix(tok, ".") || strings.Count(tok, ".") != 2 {
			t.Errorf("alg %s: %s", a, tok)
		}
		if h, _, _ := ParseUnverified(tok); h["alg"] != a || h["kid"] != nil {
			t.Errorf("alg %s header %v", a, h)
		}
	}
	// HS256 keyed with the default client's secret.
	hs := p.Sign(map[string]any{"alg": "HS256"}, claims)
	parts := strings.Split(hs, ".")
	mac := hmac.New(sha256.New, []byte(DefaultClientSecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if b64(mac.Sum(nil)) != parts[2] {
		t.Error("HS256 not keyed with the default client secret")
	}
	// SignHMAC with the public key PEM: the key-confusion attack token.
	pemKey := p.PublicKeyPEM("")
	hs384 := p.SignHMAC(map[string]any{"alg": "HS384", "kid": p.SigningKeyID()}, claims, pemKey)
	parts = strings.Split(hs384, ".")
	mac = hmac.New(sha512.New384, pemKey)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if b64(mac.Sum(nil)) != parts[2] {
		t.Error("SignHMAC HS384 signature wrong")
	}
	// RS384 with the RS256 key: right key, wrong alg for its JWK.
	rs384 := p.Sign(map[string]any{"alg": "RS384"}, claims)
	block, _ := pem.Decode(pemKey)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	parts = strings.Split(rs384, ".")
	sum := sha512.Sum384([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA384, sum[:], b64d(parts[2])); err != nil {
		t.Errorf("RS384: %v", err)
	}
	if _, _, err := verifyWith(rs384, keys); err != errAlg {
		t.Errorf("RS384 accepted by an RS256-only relying party: %v", err)
	}
	// A retired key named by kid still signs.
	oldKid := p.SigningKeyID()
	if err := p.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	old := p.Sign(map[string]any{"kid": oldKid}, claims)
	if _, _, err := verifyWith(old, newRP(t, p).jwks()); err != nil {
		t.Errorf("signed with the retired key: %v", err)
	}
	// SignPayload keeps bytes verbatim (duplicate names for strict-JSON tests).
	dup := p.SignPayload(nil, []byte(`{"sub":"a","sub":"b"}`))
	if string(b64d(strings.Split(dup, ".")[1])) != `{"sub":"a","sub":"b"}` {
		t.Error("SignPayload changed the payload")
	}
	if _, _, err := p.Verify(dup); err != nil {
		t.Errorf("Verify SignPayload token: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Sign with an unsupported alg did not panic")
		}
	}()
	p.Sign(map[string]any{"alg": "ES512"}, claims)
}

func TestVerifyAcceptsOnlyTheProvidersOwnSignatures(t *testing.T) {
	p := newProvider(t, Options{})
	other := newProvider(t, Options{})
	claims := map[string]any{"sub": "x"}
	if _, c, err := p.Verify(p.Sign(nil, claims)); err != nil || c["sub"] != "x" {
		t.Errorf("own token: %v", err)
	}
	if _, _, err := p.Verify(p.Sign(map[string]any{"kid": nil, "alg": "ES256"}, claims)); err != nil {
		t.Errorf("own token without kid: %v", err)
	}
	for name, tok := range map[string]string{
		"other provider": other.Sign(nil, claims),
		"other, no kid":  other.Sign(map[string]any{"kid": nil}, claims),
		"alg none":       p.Sign(map[string]any{"alg": "none"}, claims),
		"HS256":          p.Sign(map[string]any{"alg": "HS256"}, claims),
		"garbage":        "a.b.c",
		"two segments":   "a.b",
		"corrupted":      corruptSignature(p.Sign(nil, claims)),
	} {
		if _, _, err := p.Verify(tok); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestIssueHelpersMintRegisteredTokens(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	at, err := p.IssueAccessToken(AccessTokenOptions{User: "bob", Scope: "openid", Claims: map[string]any{"extra": "x", "email": nil}})
	if err != nil {
		t.Fatal(err)
	}
	h, c, err := verifyWith(at, rp.jwks())
	bob, _ := p.User("bob")
	if err != nil || h["typ"] != "at+jwt" || c["sub"] != bob.Subject || c["aud"] != DefaultClientID || c["extra"] != "x" || c["email"] != nil {
		t.Errorf("user access token %v %v %v", err, h, c)
	}
	if !p.TokenActive(at) {
		t.Error("issued access token not registered")
	}
	idt, err := p.IssueIDToken(IDTokenOptions{User: "grace", Nonce: "n1", SessionID: "sid-g", AccessToken: at,
		Header: map[string]any{"typ": nil}})
	if err != nil {
		t.Fatal(err)
	}
	rp.clientID = DefaultClientID
	claims, err := rp.validateIDToken(idt, "n1", at)
	if err != nil {
		t.Fatal(err)
	}
	if claims["sid"] != "sid-g" || len(audList(claims["groups"])) != 200 || claims["at_hash"] == nil {
		t.Errorf("grace's ID token: sid %v, %d groups", claims["sid"], len(audList(claims["groups"])))
	}
	if h, _, _ := ParseUnverified(idt); h["typ"] != nil {
		t.Errorf("header typ %v", h["typ"])
	}
	if _, err := p.IssueIDToken(IDTokenOptions{User: "nobody"}); err == nil {
		t.Error("unknown user accepted")
	}
	if _, err := p.IssueAccessToken(AccessTokenOptions{ClientID: "nobody"}); err == nil {
		t.Error("unknown client accepted")
	}
	// A caller-set exp (any number type) decides what introspection reports.
	expired, _ := p.IssueAccessToken(AccessTokenOptions{Claims: map[string]any{"exp": int(time.Now().Add(-time.Minute).Unix())}})
	if p.TokenActive(expired) {
		t.Error("token with a past exp is active")
	}
	// Switches apply to the Issue helpers.
	p.SetMisbehaviour(WrongIssuer | WrongNonce)
	idt, _ = p.IssueIDToken(IDTokenOptions{Nonce: "n"})
	at, _ = p.IssueAccessToken(AccessTokenOptions{})
	p.SetMisbehaviour(0)
	_, c1, _ := ParseUnverified(idt)
	_, c2, _ := ParseUnverified(at)
	if c1["iss"] == p.URL() || c1["nonce"] == "n" || c2["iss"] == p.URL() {
		t.Errorf("switches ignored: %v %v", c1, c2)
	}
}

func TestPublicKeyPEMParses(t *testing.T) {
	p := newProvider(t, Options{})
	for _, kid := range p.KeyIDs() {
		block, _ := pem.Decode(p.PublicKeyPEM(kid))
		if block == nil {
			t.Fatalf("no PEM for %s", kid)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil || thumbprint(pub) != kid {
			t.Errorf("PEM of %s: %v", kid, err)
		}
	}
	if p.PublicKeyPEM("unknown") != nil {
		t.Error("PEM for an unknown kid")
	}
}
