package testop

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testRP is a small relying party written against the specifications, independent of
// the provider's own signing code: it parses the JWKS itself and verifies with the
// standard library, so a provider bug cannot cancel itself out.
type testRP struct {
	t           *testing.T
	p           *Provider
	http        *http.Client
	clientID    string
	secret      string
	redirectURI string
	meta        map[string]any
}

const testRedirectURI = "http://127.0.0.1:5555/callback"

func newProvider(t *testing.T, o Options) *Provider {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func newRP(t *testing.T, p *Provider) *testRP {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{
		Jar:       jar,
		Timeout:   5 * time.Second,
		Transport: p.HTTPClient().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &testRP{t: t, p: p, http: hc, clientID: DefaultClientID, secret: DefaultClientSecret, redirectURI: testRedirectURI}
}

// getJSON fetches u and decodes a JSON object, returning the response too.
func (rp *testRP) getJSON(u string) (map[string]any, *http.Response) {
	rp.t.Helper()
	resp, err := rp.http.Get(u)
	if err != nil {
		rp.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return m, resp
}

func (rp *testRP) discover() map[string]any {
	rp.t.Helper()
	m, resp := rp.getJSON(rp.p.URL() + "/.well-known/openid-configuration")
	if resp.StatusCode != 200 {
		rp.t.Fatalf("discovery: status %d", resp.StatusCode)
	}
	rp.meta = m
	return m
}

type testKey struct {
	alg string
	pub crypto.PublicKey
}

// jwks fetches and parses the key set from the discovered jwks_uri.
func (rp *testRP) jwks() map[string]testKey {
	rp.t.Helper()
	if rp.meta == nil {
		rp.discover()
	}
	m, resp := rp.getJSON(rp.meta["jwks_uri"].(string))
	if resp.StatusCode != 200 {
		rp.t.Fatalf("jwks: status %d", resp.StatusCode)
	}
	out := map[string]testKey{}
	list, _ := m["keys"].([]any)
	for i, k := range list {
		jwk := k.(map[string]any)
		pub, err := parseTestJWK(jwk)
		if err != nil {
			rp.t.Fatalf("jwks key %d: %v", i, err)
		}
		kid, _ := jwk["kid"].(string)
		alg, _ := jwk["alg"].(string)
		out[kid] = testKey{alg: alg, pub: pub}
	}
	return out
}

func b64d(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

func parseTestJWK(m map[string]any) (crypto.PublicKey, error) {
	str := func(k string) string { s, _ := m[k].(string); return s }
	switch str("kty") {
	case "RSA":
		n, e := new(big.Int).SetBytes(b64d(str("n"))), new(big.Int).SetBytes(b64d(str("e")))
		if n.BitLen() < 2048 || !e.IsInt64() {
			return nil, fmt.Errorf("RSA key too small or bad exponent")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		x, y := b64d(str("x")), b64d(str("y"))
		if str("crv") != "P-256" || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("EC key: crv %q, x %d bytes, y %d bytes", str("crv"), len(x), len(y))
		}
		// crypto/ecdh checks the point is on the curve.
		if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err != nil {
			return nil, fmt.Errorf("EC key: %v", err)
		}
		return &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}, nil
	case "OKP":
		x := b64d(str("x"))
		if str("crv") != "Ed25519" || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("OKP key: crv %q, %d bytes", str("crv"), len(x))
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unknown kty %q", str("kty"))
}

// Errors naming which check failed, so tests assert the reason.
var (
	errAlg       = errors.New("alg")
	errKid       = errors.New("kid")
	errSignature = errors.New("signature")
	errIss       = errors.New("iss")
	errAud       = errors.New("aud")
	errAzp       = errors.New("azp")
	errExp       = errors.New("exp")
	errIat       = errors.New("iat")
	errSub       = errors.New("sub")
	errNonce     = errors.New("nonce")
	errAtHash    = errors.New("at_hash")
)

// verify checks a JWS with keys: the alg must be one of the four asymmetric algs
// the provider advertises; without kid, only a key set with exactly one key of the
// alg is acceptable.
func verifyWith(token string, keys map[string]testKey) (map[string]any, map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("%d segments", len(parts))
	}
	var header, claims map[string]any
	if json.Unmarshal(b64d(parts[0]), &header) != nil || json.Unmarshal(b64d(parts[1]), &claims) != nil {
		return nil, nil, fmt.Errorf("undecodable")
	}
	alg, _ := header["alg"].(string)
	switch alg {
	case "RS256", "PS256", "ES256", "EdDSA":
	default:
		return header, claims, errAlg
	}
	var key *testKey
	if kid, ok := header["kid"].(string); ok {
		if k, ok := keys[kid]; ok {
			key = &k
		}
	} else {
		var same []testKey
		for _, k := range keys {
			if k.alg == alg {
				same = append(same, k)
			}
		}
		if len(keys) == 1 && len(same) == 1 {
			key = &same[0]
		}
	}
	if key == nil || key.alg != alg {
		return header, claims, errKid
	}
	input := []byte(parts[0] + "." + parts[1])
	sig := b64d(parts[2])
	sum := sha256.Sum256(input)
	ok := false
	switch pub := key.pub.(type) {
	case *rsa.PublicKey:
		if alg == "RS256" {
			ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
		} else {
			ok = rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: 32}) == nil
		}
	case *ecdsa.PublicKey:
		ok = len(sig) == 64 && ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case ed25519.PublicKey:
		ok = ed25519.Verify(pub, input, sig)
	}
	if !ok {
		return header, claims, errSignature
	}
	return header, claims, nil
}

// validateIDToken walks OIDC Core 3.1.3.7 (and 3.1.3.6 for at_hash).
func (rp *testRP) validateIDToken(tok, nonce, accessToken string) (map[string]any, error) {
	_, claims, err := verifyWith(tok, rp.jwks())
	if err != nil {
		return claims, err
	}
	now := float64(time.Now().Unix())
	if claims["iss"] != rp.p.URL() {
		return claims, errIss
	}
	aud := audList(claims["aud"])
	if !hasString(aud, rp.clientID) {
		return claims, errAud
	}
	if len(aud) > 1 && claims["azp"] != rp.clientID {
		return claims, errAzp
	}
	if exp, ok := claims["exp"].(float64); !ok || now >= exp+5 {
		return claims, errExp
	}
	if iat, ok := claims["iat"].(float64); !ok || iat > now+5 {
		return claims, errIat
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return claims, errSub
	}
	if nonce != "" && claims["nonce"] != nonce {
		return claims, errNonce
	}
	if h, ok := claims["at_hash"].(string); ok && accessToken != "" {
		alg := "RS256"
		if hdr, _, _ := ParseUnverified(tok); hdr != nil {
			alg, _ = hdr["alg"].(string)
		}
		var sum []byte
		if alg == "EdDSA" {
			s := sha512.Sum512([]byte(accessToken))
			sum = s[:32]
		} else {
			s := sha256.Sum256([]byte(accessToken))
			sum = s[:16]
		}
		if h != base64.RawURLEncoding.EncodeToString(sum) {
			return claims, errAtHash
		}
	}
	return claims, nil
}

func pkcePair() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams are a well-formed authorization request with PKCE S256.
type authReq struct {
	params   url.Values
	state    string
	nonce    string
	verifier string
}

func (rp *testRP) newAuthReq() *authReq {
	v, c := pkcePair()
	st, nonce := randomToken(12), randomToken(12)
	return &authReq{
		params: url.Values{
			"client_id": {rp.clientID}, "redirect_uri": {rp.redirectURI}, "response_type": {"code"},
			"scope": {"openid profile email"}, "state": {st}, "nonce": {nonce},
			"code_challenge": {c}, "code_challenge_method": {"S256"},
		},
		state: st, nonce: nonce, verifier: v,
	}
}

// authorize sends the browser to the authorization endpoint and returns the
// response (redirects are not followed).
func (rp *testRP) authorize(params url.Values) *http.Response {
	rp.t.Helper()
	resp, err := rp.http.Get(rp.p.Endpoints().Authorization + "?" + params.Encode())
	if err != nil {
		rp.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// callback returns the query of a 302 to the redirect URI.
func (rp *testRP) callback(resp *http.Response) url.Values {
	rp.t.Helper()
	if resp.StatusCode != http.StatusFound {
		rp.t.Fatalf("authorization answered %d, expected 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		rp.t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != rp.redirectURI {
		rp.t.Fatalf("redirected to %q, expected %q", got, rp.redirectURI)
	}
	return loc.Query()
}

// tokenRequest posts form to the token endpoint with client_secret_basic (or the
// client id alone for a public client) and decodes the answer.
func (rp *testRP) tokenRequest(form url.Values) (int, map[string]any) {
	rp.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, rp.p.Endpoints().Token, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rp.secret != "" {
		req.SetBasicAuth(url.QueryEscape(rp.clientID), url.QueryEscape(rp.secret))
	} else if form.Get("client_id") == "" {
		form.Set("client_id", rp.clientID)
		req, _ = http.NewRequest(http.MethodPost, rp.p.Endpoints().Token, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return rp.do(req)
}

func (rp *testRP) do(req *http.Request) (int, map[string]any) {
	rp.t.Helper()
	resp, err := rp.http.Do(req)
	if err != nil {
		rp.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func (rp *testRP) exchange(code, verifier string) (int, map[string]any) {
	rp.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rp.redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return rp.tokenRequest(form)
}

// flow is one complete code flow's artefacts.
type flow struct {
	req      *authReq
	callback url.Values
	status   int
	tokens   map[string]any
}

// login runs the code flow up to the token response (auto-login must be on).
func (rp *testRP) login() *flow {
	rp.t.Helper()
	ar := rp.newAuthReq()
	cb := rp.callback(rp.authorize(ar.params))
	f := &flow{req: ar, callback: cb}
	if cb.Get("code") == "" {
		rp.t.Fatalf("no code in callback: %v", cb)
	}
	f.status, f.tokens = rp.exchange(cb.Get("code"), ar.verifier)
	return f
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// postForm posts form to u with optional basic credentials and decodes JSON.
func (rp *testRP) postForm(u string, form url.Values, id, secret string) (int, map[string]any) {
	rp.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return rp.do(req)
}
