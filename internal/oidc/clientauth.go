package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// Client authentication (RFC 6749 2.3, OIDC Core 9, RFC 7523): how Gatehouse proves
// it is the registered client at the token, introspection and revocation endpoints.
//
//	client_secret_basic  HTTP Basic with the form-encoded id and secret (RFC 6749 2.3.1)
//	client_secret_post   client_id and client_secret in the form body
//	client_secret_jwt    a JWT assertion MACed (HS256) with the client secret
//	private_key_jwt      a JWT assertion signed (RS256, PS256, ES256) with the client's key
//	none                 client_id alone (a public client, with PKCE)
//	auto                 chosen per endpoint from what the provider advertises (AuthMethodFor)

// Client authentication methods.
const (
	AuthBasic         = "client_secret_basic"
	AuthPost          = "client_secret_post"
	AuthSecretJWT     = "client_secret_jwt"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none"
	AuthAuto          = "auto"
)

// AssertionType is the client_assertion_type of RFC 7523 section 2.2.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a client assertion is valid: long enough for a slow
// network, short enough that a captured one is worth little (and its jti is
// remembered by the provider for that long).
const AssertionLifetime = 60 * time.Second

// Endpoint is one provider endpoint the client authenticates at: its URL and what the
// provider advertises for it (RFC 8414 section 2: *_endpoint_auth_methods_supported
// and *_endpoint_auth_signing_alg_values_supported; nil when not advertised).
type Endpoint struct {
	URL         string
	AuthMethods []string
	SigningAlgs []string
}

// TokenEndpoint returns m's token endpoint.
func TokenEndpoint(m *Metadata) Endpoint {
	return Endpoint{URL: m.TokenEndpoint, AuthMethods: m.TokenEndpointAuthMethodsSupported, SigningAlgs: m.TokenEndpointAuthSigningAlgValuesSupported}
}

// RevocationEndpoint returns m's revocation endpoint (RFC 7009; RFC 8414 section 2
// says the token endpoint's methods apply when none are advertised for it).
func RevocationEndpoint(m *Metadata) Endpoint {
	e := Endpoint{URL: m.RevocationEndpoint, AuthMethods: m.RevocationEndpointAuthMethodsSupported, SigningAlgs: m.RevocationEndpointAuthSigningAlgValuesSupported}
	inheritTokenEndpoint(&e, m)
	return e
}

// IntrospectionEndpoint returns the introspection endpoint at url (configured, or
// m's) with m's advertised methods for it.
func IntrospectionEndpoint(m *Metadata, url string) Endpoint {
	e := Endpoint{URL: url, AuthMethods: m.IntrospectionEndpointAuthMethodsSupported, SigningAlgs: m.IntrospectionEndpointAuthSigningAlgValuesSupported}
	inheritTokenEndpoint(&e, m)
	return e
}

func inheritTokenEndpoint(e *Endpoint, m *Metadata) {
	if e.AuthMethods == nil {
		e.AuthMethods = m.TokenEndpointAuthMethodsSupported
	}
	if e.SigningAlgs == nil {
		e.SigningAlgs = m.TokenEndpointAuthSigningAlgValuesSupported
	}
}

// AssertionKey is the private key of private_key_jwt: the signer, the JWS algorithm,
// and what identifies the key to the provider in the assertion's header.
type AssertionKey struct {
	// Signer is an *rsa.PrivateKey (RSA of at least 2048 bits) or an
	// *ecdsa.PrivateKey on P-256.
	Signer crypto.Signer
	// Alg is RS256, PS256 or ES256; "" chooses per endpoint (AssertionAlg).
	Alg string
	// KeyID is the kid header: the configured one, else the key's RFC 7638
	// thumbprint.
	KeyID string
	// X5T and X5TS256 are the x5t and x5t#S256 headers (base64url SHA-1 and SHA-256
	// of the certificate's DER) when a certificate for the key was given: Microsoft
	// Entra ID identifies a client's key by them.
	X5T, X5TS256 string
}

// NewAssertionKey checks signer and returns its AssertionKey. alg is RS256, PS256,
// ES256 or "" (chosen per endpoint); kid "" takes the RFC 7638 thumbprint; cert, when
// not nil, must hold signer's public key.
func NewAssertionKey(signer crypto.Signer, alg, kid string, cert *x509.Certificate) (*AssertionKey, error) {
	k := &AssertionKey{Signer: signer, Alg: alg, KeyID: kid}
	switch pub := signer.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, errors.New("an RSA key needs at least 2048 bits")
		}
		if alg != "" && alg != "RS256" && alg != "PS256" {
			return nil, errors.New("an RSA key signs RS256 or PS256, not " + alg)
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, errors.New("an EC key must be on P-256 (ES256)")
		}
		if alg != "" && alg != "ES256" {
			return nil, errors.New("a P-256 key signs ES256, not " + alg)
		}
	default:
		return nil, errors.New("the key must be RSA or EC P-256")
	}
	if kid == "" {
		tp, err := jose.Thumbprint(signer.Public())
		if err != nil {
			return nil, err
		}
		k.KeyID = tp
	}
	if cert != nil {
		if !samePublicKey(cert.PublicKey, signer.Public()) {
			return nil, errors.New("the certificate is not for this key")
		}
		k.X5T = certSHA1(cert.Raw)
		k.X5TS256 = certSHA256(cert.Raw)
	}
	return k, nil
}

// samePublicKey compares two public keys (by concrete type: Yaegi cannot assert a
// compiled value to an interface declared in interpreted code).
func samePublicKey(a, b crypto.PublicKey) bool {
	switch k := a.(type) {
	case *rsa.PublicKey:
		return k.Equal(b)
	case *ecdsa.PublicKey:
		return k.Equal(b)
	}
	return false
}

// AssertionAlg is the algorithm of k's assertions at e: the configured one, else, for
// an RSA key, RS256 unless the endpoint advertises PS256 and not RS256; ES256 for an
// EC key.
func AssertionAlg(k *AssertionKey, e Endpoint) string {
	if k.Alg != "" {
		return k.Alg
	}
	if _, isEC := k.Signer.Public().(*ecdsa.PublicKey); isEC {
		return "ES256"
	}
	if !contains(e.SigningAlgs, "RS256") && contains(e.SigningAlgs, "PS256") {
		return "PS256"
	}
	return "RS256"
}

// AuthMethodFor returns the method the client uses at e: its configured AuthMethod,
// or, when that is auto, the first of these the provider advertises for e (all of
// them when it advertises nothing: RFC 8414's default is client_secret_basic, and the
// first fitting one is taken): private_key_jwt when the client has a key;
// client_secret_basic, client_secret_post, then client_secret_jwt (a secret of at
// least 32 bytes) when it has a secret. A client with neither uses none.
func AuthMethodFor(c *Client, e Endpoint) string {
	if c.AuthMethod != AuthAuto && c.AuthMethod != "" {
		return c.AuthMethod
	}
	var usable []string
	if c.Key != nil {
		usable = append(usable, AuthPrivateKeyJWT)
	}
	if c.ClientSecret != "" {
		usable = append(usable, AuthBasic, AuthPost)
		if len(c.ClientSecret) >= 32 {
			usable = append(usable, AuthSecretJWT)
		}
	}
	if len(usable) == 0 {
		return AuthNone
	}
	for _, u := range usable {
		if e.AuthMethods == nil || contains(e.AuthMethods, u) {
			return u
		}
	}
	return usable[0]
}

// authenticate adds the client's authentication for e to form, or returns the
// Authorization header value that carries it (client_secret_basic).
func (c *Client) authenticate(form url.Values, e Endpoint) (string, error) {
	switch AuthMethodFor(c, e) {
	case AuthBasic:
		// RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
		cred := url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.ClientSecret)
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(cred)), nil
	case AuthPost:
		form.Set("client_id", c.ClientID)
		form.Set("client_secret", c.ClientSecret)
	case AuthNone:
		form.Set("client_id", c.ClientID)
	case AuthSecretJWT:
		a, err := c.assertion(e, "HS256", []byte(c.ClientSecret), nil)
		if err != nil {
			return "", err
		}
		setAssertion(form, c.ClientID, a)
	case AuthPrivateKeyJWT:
		if c.Key == nil {
			return "", errors.New("oidc: private_key_jwt needs provider.clientPrivateKey")
		}
		a, err := c.assertion(e, AssertionAlg(c.Key, e), assertionSigner(c.Key), c.Key)
		if err != nil {
			return "", err
		}
		setAssertion(form, c.ClientID, a)
	default:
		return "", errors.New("oidc: unknown client authentication method " + c.AuthMethod)
	}
	return "", nil
}

func setAssertion(form url.Values, clientID, assertion string) {
	form.Set("client_id", clientID)
	form.Set("client_assertion_type", AssertionType)
	form.Set("client_assertion", assertion)
}

// assertionSigner is the key jose.SignCompact takes for k.
func assertionSigner(k *AssertionKey) any {
	return k.Signer
}

// assertion builds a client assertion (RFC 7523 section 3, OIDC Core 9): iss and sub
// the client id, aud the endpoint's URL (or the issuer, with
// AssertionAudienceIssuer), a fresh jti, iat now and exp AssertionLifetime later.
func (c *Client) assertion(e Endpoint, alg string, key any, k *AssertionKey) (string, error) {
	jti, err := randomID()
	if err != nil {
		return "", err
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	aud := e.URL
	if c.AssertionAudience == AssertionAudienceIssuer {
		aud = c.Issuer
	}
	claims := map[string]any{
		"iss": c.ClientID, "sub": c.ClientID, "aud": aud, "jti": jti,
		"iat": now.Unix(), "exp": now.Add(AssertionLifetime).Unix(),
	}
	header := map[string]string{"alg": alg, "typ": "JWT"}
	if k != nil {
		header["kid"] = k.KeyID
		if k.X5T != "" {
			header["x5t"] = k.X5T
			header["x5t#S256"] = k.X5TS256
		}
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return jose.SignCompact(hb, cb, alg, key)
}

// certSHA1 is the x5t of a certificate (RFC 7515 4.1.7: SHA-1 by definition).
func certSHA1(der []byte) string {
	s := sha1.Sum(der)
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// certSHA256 is the x5t#S256 of a certificate (RFC 7515 4.1.8).
func certSHA256(der []byte) string {
	s := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// randomID returns 128 random bits, base64url encoded.
func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Audiences of client assertions (Client.AssertionAudience).
const (
	// AssertionAudienceEndpoint: the URL of the endpoint the assertion is sent to
	// (the token endpoint for token requests, as OIDC Core 9 asks; Okta and
	// Microsoft Entra ID require it). An assertion is then only ever good where it
	// was sent, whatever another provider's metadata claims.
	AssertionAudienceEndpoint = "endpoint"
	// AssertionAudienceIssuer: the provider's issuer identifier (Auth0; the value
	// the 2025 errata of OIDC Core and RFC 7523bis recommend).
	AssertionAudienceIssuer = "issuer"
)
