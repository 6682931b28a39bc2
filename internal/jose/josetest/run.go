package josetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// Run checks every token, key, key-set, claims and typ case and returns one line per
// case: its name, its outcome, and whether that outcome is the expected one. Lines
// depend only on the cases, so a compiled run and a Yaegi run must be identical.
func Run() []string {
	k := NewKeys()
	a := NewAttacks(k)
	var out []string
	tokens := func(group string, cases []TokenCase) {
		for _, c := range cases {
			o, err := CheckToken(c)
			out = append(out, line("token/"+group+"/"+c.Name, o, Judge(err, c.Want)))
		}
	}
	tokens("rfc", RFCVectors())
	tokens("tampered", Tampered())
	for _, g := range a.Groups() {
		tokens(g, a.Group(g))
	}
	for _, c := range JWKCases(k) {
		o, err := CheckJWK(c)
		out = append(out, line("jwk/"+c.Name, o, Judge(err, c.Want)))
	}
	for _, c := range JWKSCases(k) {
		o, err := CheckJWKS(c)
		out = append(out, line("jwks/"+c.Name, o, Judge(err, c.Want)))
	}
	for _, c := range ClaimsCases() {
		o, err := CheckClaims(c)
		out = append(out, line("claims/"+c.Name, o, Judge(err, c.Want)))
	}
	for _, c := range TypCases() {
		judge := ""
		if jose.TypMatches(c.Typ, c.Want) != c.Match {
			judge = "want the other answer"
		}
		out = append(out, line("typ/"+c.Typ+"~"+c.Want, boolText(jose.TypMatches(c.Typ, c.Want)), judge))
	}
	return out
}

func line(name, outcome, judge string) string {
	if judge == "" {
		return name + ": " + outcome + " [as expected]"
	}
	return name + ": " + outcome + " [UNEXPECTED: " + judge + "]"
}

func boolText(b bool) string {
	if b {
		return "match"
	}
	return "no match"
}

// Bench is one benchmark input: a realistic access token for Alg, signed with the
// fixed keys, and what the bare crypto call needs, decoded in advance.
type Bench struct {
	Alg     string
	Token   string
	Keys    []*jose.Key
	Allowed []string
	input   []byte
	sig     []byte
	r, s    *big.Int
	pub     crypto.PublicKey
}

// BenchClaims is a typical access token's claims (about 600 bytes).
const BenchClaims = `{"exp":4102444800,"iat":1700000000,"nbf":1700000000,"jti":"8f1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d","iss":"https://idp.example.com/realms/gatehouse","aud":["api","account"],"sub":"248289761001","typ":"Bearer","azp":"gatehouse","scope":"openid email profile","sid":"2c1f8e9a-7b6d-4c5e-9f0a-1b2c3d4e5f60","email_verified":true,"name":"Jane Doe","preferred_username":"j.doe","given_name":"Jane","family_name":"Doe","email":"janedoe@example.com","groups":["staff","ops","on-call"],"realm_access":{"roles":["offline_access","uma_authorization","admin"]}}`

// NewBench builds the input for alg: RS256, PS256, ES256 or EdDSA.
func NewBench(alg string) *Bench {
	k := NewKeys()
	var key interface{}
	var kid string
	switch alg {
	case "RS256", "PS256":
		key, kid = k.RSA, "rsa-1"
	case "ES256":
		key, kid = k.P256, "ec-256"
	case "EdDSA":
		key, kid = k.Ed25519, "ed-1"
	default:
		panic("josetest: no benchmark for " + alg)
	}
	tok := Sign(alg, key, `{"alg":"`+alg+`","typ":"at+jwt","kid":"`+kid+`"}`, BenchClaims)
	set, err := jose.ParseJWKS([]byte(k.IssuerJWKS()))
	if err != nil {
		panic(err)
	}
	jws, err := jose.ParseCompact(tok, 0)
	if err != nil {
		panic(err)
	}
	b := &Bench{Alg: alg, Token: tok, Keys: set.Candidates(kid, alg), Allowed: Asymmetric,
		input: []byte(jws.SigningInput), sig: jws.Signature}
	switch alg {
	case "RS256", "PS256":
		b.pub = &k.RSA.PublicKey
	case "ES256":
		b.pub = &k.P256.PublicKey
		b.r = new(big.Int).SetBytes(b.sig[:32])
		b.s = new(big.Int).SetBytes(b.sig[32:])
	case "EdDSA":
		b.pub = k.Ed25519.Public()
	}
	if err := BareLoop(b, 1); err != nil {
		panic(err)
	}
	if err := VerifyLoop(b, 1); err != nil {
		panic(err)
	}
	return b
}

var errBare = errors.New("josetest: bare verification failed")

// VerifyLoop runs what Gatehouse does per uncached token n times: PreCheck (parse,
// header, kid, allow-list) and Verify against the kid's candidate keys.
func VerifyLoop(b *Bench, n int) error {
	for i := 0; i < n; i++ {
		jws, err := jose.PreCheck(b.Token, 0, b.Allowed)
		if err != nil {
			return err
		}
		if _, err := jose.Verify(jws, b.Keys, b.Allowed); err != nil {
			return err
		}
	}
	return nil
}

// ClaimsLoop runs DecodeClaims, CheckTimes and the audience and subject reads n times
// on the benchmark token's payload.
func ClaimsLoop(b *Bench, n int) error {
	now := time.Unix(ClaimsNow, 0)
	payload := []byte(BenchClaims)
	for i := 0; i < n; i++ {
		c, err := jose.DecodeClaims(payload)
		if err != nil {
			return err
		}
		if err := jose.CheckTimes(c, now, time.Minute, true); err != nil {
			return err
		}
		if _, err := jose.AudienceClaim(c); err != nil {
			return err
		}
		if _, _, err := jose.StringClaim(c, "sub"); err != nil {
			return err
		}
	}
	return nil
}

// BareLoop runs the bare crypto verification n times on the same input: the hash of
// the signing input and the crypto package's verify call, with the key and the
// signature (and ECDSA r, s) decoded in advance.
func BareLoop(b *Bench, n int) error {
	for i := 0; i < n; i++ {
		switch b.Alg {
		case "RS256":
			d := sha256.Sum256(b.input)
			if rsa.VerifyPKCS1v15(b.pub.(*rsa.PublicKey), crypto.SHA256, d[:], b.sig) != nil {
				return errBare
			}
		case "PS256":
			d := sha256.Sum256(b.input)
			if rsa.VerifyPSS(b.pub.(*rsa.PublicKey), crypto.SHA256, d[:], b.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) != nil {
				return errBare
			}
		case "ES256":
			d := sha256.Sum256(b.input)
			if !ecdsa.Verify(b.pub.(*ecdsa.PublicKey), d[:], b.r, b.s) {
				return errBare
			}
		case "EdDSA":
			if !ed25519.Verify(b.pub.(ed25519.PublicKey), b.input, b.sig) {
				return errBare
			}
		}
	}
	return nil
}

// BenchAlgs are the algorithms the figures are reported for.
func BenchAlgs() []string { return strings.Fields("RS256 PS256 ES256 EdDSA") }
