package testop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"time"
)

// JWT client authentication (RFC 7523 section 3, OIDC Core 9): client_secret_jwt
// (HS256 keyed with the client secret) and private_key_jwt (signed by one of the
// client's AssertionKeys). Everything a real provider checks is checked, so a relying
// party's assertions are tested for real: the signature, iss and sub (the client id),
// aud (Client.AssertionAudience), exp in the future and at most maxAssertionLife
// ahead, iat not in the future, and a jti never used before.

// AssertionType is the client_assertion_type of JWT client authentication.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLife bounds how far ahead an assertion's exp may be: the provider
// remembers its jti that long.
const maxAssertionLife = 10 * time.Minute

// assertionLeeway is the clock skew allowed on iat.
const assertionLeeway = 5 * time.Second

// assertionClient authenticates a request by its client assertion; on failure it
// answers invalid_client (401) and returns nil.
func (p *Provider) assertionClient(w http.ResponseWriter, r *http.Request, endpoint string) *Client {
	form := r.PostForm
	if form.Get("client_assertion_type") != AssertionType {
		p.clientAuthFailed(w, false, "client_assertion_type must be "+AssertionType)
		return nil
	}
	hb, pb, sig, input, err := splitCompact(form.Get("client_assertion"))
	if err != nil {
		p.clientAuthFailed(w, false, "client_assertion: "+err.Error())
		return nil
	}
	var header map[string]any
	var claims map[string]any
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(pb, &claims) != nil || header == nil || claims == nil {
		p.clientAuthFailed(w, false, "client_assertion is not a JWT of JSON objects")
		return nil
	}
	alg, _ := header["alg"].(string)
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	if iss == "" || iss != sub {
		p.clientAuthFailed(w, false, "client_assertion: iss and sub must both be the client id")
		return nil
	}
	if id := form.Get("client_id"); id != "" && id != iss {
		p.clientAuthFailed(w, false, "client_id differs from the client_assertion's iss")
		return nil
	}
	p.mu.Lock()
	c := p.clients[iss]
	p.mu.Unlock()
	if c == nil {
		p.clientAuthFailed(w, false, "unknown client "+strconv.Quote(iss))
		return nil
	}
	if problem := p.checkAssertionSignature(c, alg, []byte(input), sig); problem != "" {
		p.clientAuthFailed(w, false, "client_assertion: "+problem)
		return nil
	}
	if problem := p.checkAssertionClaims(c, claims, endpoint); problem != "" {
		p.clientAuthFailed(w, false, "client_assertion: "+problem)
		return nil
	}
	return c
}

// checkAssertionSignature verifies the assertion with the client's secret (HS256,
// client_secret_jwt) or its keys (private_key_jwt), when its AuthMethod allows that
// method.
func (p *Provider) checkAssertionSignature(c *Client, alg string, input, sig []byte) string {
	if alg == "HS256" {
		if c.Secret == "" || (c.AuthMethod != "" && c.AuthMethod != "client_secret_jwt") {
			return "client " + strconv.Quote(c.ID) + " may not use client_secret_jwt"
		}
		m := hmac.New(sha256.New, []byte(c.Secret))
		m.Write(input)
		if !hmac.Equal(m.Sum(nil), sig) {
			return "HS256 signature does not verify with the client secret"
		}
		return ""
	}
	if alg != "RS256" && alg != "PS256" && alg != "ES256" {
		return "alg " + strconv.Quote(alg) + " is not RS256, PS256, ES256 or HS256"
	}
	if len(c.AssertionKeys) == 0 || (c.AuthMethod != "" && c.AuthMethod != "private_key_jwt") {
		return "client " + strconv.Quote(c.ID) + " may not use private_key_jwt"
	}
	for _, k := range c.AssertionKeys {
		if verifySignature(alg, input, sig, k) == nil {
			return ""
		}
	}
	return alg + " signature does not verify with any of the client's keys"
}

// checkAssertionClaims checks aud, the times and the jti (used once).
func (p *Provider) checkAssertionClaims(c *Client, claims map[string]any, endpoint string) string {
	auds := audList(claims["aud"])
	ep := p.issuer + endpointPaths[endpoint]
	var allowed []string
	switch c.AssertionAudience {
	case "issuer":
		allowed = []string{p.issuer}
	case "endpoint":
		allowed = []string{ep}
	default:
		allowed = []string{p.issuer, p.Endpoints().Token, ep}
	}
	ok := false
	for _, a := range auds {
		if hasString(allowed, a) {
			ok = true
		}
	}
	if !ok {
		return "aud " + strconv.Quote(stringOf(claims["aud"])) + " is none of " + strconv.Quote(stringOf(allowed))
	}
	now := p.now()
	exp, hasExp := claims["exp"].(float64)
	iat, hasIat := claims["iat"].(float64)
	switch {
	case !hasExp || !now.Before(time.Unix(int64(exp), 0)):
		return "exp missing or passed"
	case time.Unix(int64(exp), 0).After(now.Add(maxAssertionLife)):
		return "exp more than " + maxAssertionLife.String() + " ahead"
	case !hasIat || time.Unix(int64(iat), 0).After(now.Add(assertionLeeway)):
		return "iat missing or in the future"
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		return "jti missing"
	}
	key := c.ID + "\x00" + jti
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, until := range p.assertionJTIs {
		if now.After(until) {
			delete(p.assertionJTIs, k)
		}
	}
	if _, used := p.assertionJTIs[key]; used {
		return "jti " + strconv.Quote(jti) + " was used before (replay)"
	}
	p.assertionJTIs[key] = time.Unix(int64(exp), 0)
	return ""
}

func stringOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ClientKey is a key pair for a client's private_key_jwt: Public goes into
// Client.AssertionKeys, one of the PEM forms into the relying party's configuration.
type ClientKey struct {
	Private crypto.Signer
	Public  crypto.PublicKey
	// PKCS8PEM is the private key as PKCS#8 ("PRIVATE KEY"); LegacyPEM as PKCS#1
	// ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY").
	PKCS8PEM  []byte
	LegacyPEM []byte
	// CertificatePEM is a self-signed certificate of the key ("CERTIFICATE"), and
	// CertificateDER its DER, whose SHA-1 and SHA-256 are x5t and x5t#S256.
	CertificatePEM []byte
	CertificateDER []byte
}

// NewClientKey makes a client key: kind "RSA" (2048 bits, from the provider's pool
// of primes, so it is quick) or "EC" (P-256).
func NewClientKey(kind string) (*ClientKey, error) {
	var priv crypto.Signer
	var legacy []byte
	switch kind {
	case "RSA":
		k := pooledRSAKey()
		if k == nil {
			var err error
			if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				return nil, err
			}
		}
		priv = k
		legacy = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	case "EC":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		priv = k
		legacy = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	default:
		return nil, fmt.Errorf("testop: client key kind must be RSA or EC, got %q", kind)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "gatehouse client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, err
	}
	return &ClientKey{
		Private: priv, Public: priv.Public(),
		PKCS8PEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), LegacyPEM: legacy,
		CertificatePEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), CertificateDER: der,
	}, nil
}
