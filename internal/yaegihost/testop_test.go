package yaegihost

import (
	"reflect"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// verifyUnderYaegi is interpreted code that fetches the test provider's JWKS and
// verifies a token with the standard library, the way plugin code will: it pins down
// that what internal/testop signs is verifiable from inside Traefik's interpreter
// (JWK encodings, r||s ECDSA, PSS salt length, Ed25519).
const verifyUnderYaegi = `func(jwksURL, token string) (string, error) {
	resp, err := http.Get(jwksURL)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	var set struct {
		Keys []map[string]string ` + "`json:\"keys\"`" + `
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return "", err
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("token: expected 3 segments")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", errors.New("token: bad base64url")
	}
	var hdr map[string]string
	var claims map[string]any
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(pb, &claims) != nil {
		return "", errors.New("token: bad JSON")
	}
	var jwk map[string]string
	for _, k := range set.Keys {
		if k["kid"] == hdr["kid"] {
			jwk = k
		}
	}
	if jwk == nil || jwk["alg"] != hdr["alg"] {
		return "", errors.New("no key for kid and alg")
	}
	b := func(s string) []byte { v, _ := base64.RawURLEncoding.DecodeString(s); return v }
	input := []byte(parts[0] + "." + parts[1])
	sum := sha256.Sum256(input)
	ok := false
	switch hdr["alg"] {
	case "RS256", "PS256":
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(b(jwk["n"])), E: int(new(big.Int).SetBytes(b(jwk["e"])).Int64())}
		if hdr["alg"] == "RS256" {
			ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
		} else {
			ok = rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
	case "ES256":
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(b(jwk["x"])), Y: new(big.Int).SetBytes(b(jwk["y"]))}
		ok = len(sig) == 64 && ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case "EdDSA":
		ok = ed25519.Verify(ed25519.PublicKey(b(jwk["x"])), input, sig)
	}
	if !ok {
		return "", errors.New("signature does not verify")
	}
	sub, _ := claims["sub"].(string)
	return sub, nil
}`

func TestTestProviderTokensVerifyUnderYaegi(t *testing.T) {
	p, err := testop.New(testop.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	h := host(t)
	if err := h.Import("crypto", "crypto/ecdsa", "crypto/ed25519", "crypto/elliptic", "crypto/rsa", "crypto/sha256",
		"encoding/base64", "encoding/json", "errors", "io", "math/big", "net/http", "strings"); err != nil {
		t.Fatal(err)
	}
	// A func literal evaluated alone comes back empty from Yaegi; bind it to a name
	// (unique in the shared interpreter) and evaluate the name.
	if _, err := h.Eval("var testopVerifyUnderYaegi = " + verifyUnderYaegi); err != nil {
		t.Fatal(err)
	}
	v, err := h.Eval("testopVerifyUnderYaegi")
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind() != reflect.Func {
		t.Fatalf("Eval gave a %v, expected a func", v.Kind())
	}
	verify := func(tok string) (string, error) {
		out := v.Call([]reflect.Value{reflect.ValueOf(p.Endpoints().JWKS), reflect.ValueOf(tok)})
		err, _ := out[1].Interface().(error)
		return out[0].String(), err
	}
	bob, _ := p.User("bob")
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		if err := p.SetSigningAlg(alg); err != nil {
			t.Fatal(err)
		}
		tok, err := p.IssueIDToken(testop.IDTokenOptions{User: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		// The compiled verification and the interpreted one agree.
		_, compiled, cerr := p.Verify(tok)
		sub, ierr := verify(tok)
		if cerr != nil || ierr != nil || sub != bob.Subject || compiled["sub"] != sub {
			t.Errorf("%s: compiled %v %v, interpreted %q %v", alg, compiled["sub"], cerr, sub, ierr)
		}
		p.SetMisbehaviour(testop.BadSignature)
		bad, _ := p.IssueIDToken(testop.IDTokenOptions{User: "bob"})
		p.SetMisbehaviour(0)
		if _, err := verify(bad); err == nil {
			t.Errorf("%s: a corrupted signature verified under Yaegi", alg)
		}
	}
}
