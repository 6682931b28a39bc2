package josetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// Attacks is the attack catalogue of docs/SECURITY.md ("Tokens"), one group per attack,
// each a list of token cases against the issuer key set of k.
type Attacks struct {
	k      *Keys
	issuer string
	claims string
}

// NewAttacks builds the catalogue over the fixed keys.
func NewAttacks(k *Keys) *Attacks {
	return &Attacks{k: k, issuer: k.IssuerJWKS(), claims: `{"iss":"https://idp.example.com","sub":"alice","aud":"api","exp":4102444800}`}
}

// Groups lists the attack groups by name, in catalogue order.
func (a *Attacks) Groups() []string {
	return []string{"AlgNone", "EmptySignature", "HMACWithPublicKey", "AlgKeyMismatch", "KidInjection",
		"EmbeddedKeys", "ECDSAZeroAndRange", "SignatureLength", "DuplicateHeaderNames",
		"MalformedBase64", "SegmentCount", "Oversize", "CriticalHeaders", "HMACSecret", "ValidControls"}
}

// Group returns the cases of one group.
func (a *Attacks) Group(name string) []TokenCase {
	switch name {
	case "AlgNone":
		return a.AlgNone()
	case "EmptySignature":
		return a.EmptySignature()
	case "HMACWithPublicKey":
		return a.HMACWithPublicKey()
	case "AlgKeyMismatch":
		return a.AlgKeyMismatch()
	case "KidInjection":
		return a.KidInjection()
	case "EmbeddedKeys":
		return a.EmbeddedKeys()
	case "ECDSAZeroAndRange":
		return a.ECDSAZeroAndRange()
	case "SignatureLength":
		return a.SignatureLength()
	case "DuplicateHeaderNames":
		return a.DuplicateHeaderNames()
	case "MalformedBase64":
		return a.MalformedBase64()
	case "SegmentCount":
		return a.SegmentCount()
	case "Oversize":
		return a.Oversize()
	case "CriticalHeaders":
		return a.CriticalHeaders()
	case "HMACSecret":
		return a.HMACSecret()
	case "ValidControls":
		return a.ValidControls()
	}
	return nil
}

func (a *Attacks) tc(name, token string, want error) TokenCase {
	return TokenCase{Name: name, Token: token, JWKS: a.issuer, Allowed: Asymmetric, Want: want}
}

// rs256 signs header with the issuer's RSA key over the standard claims.
func (a *Attacks) rs256(header string) string {
	return Sign("RS256", a.k.RSA, header, a.claims)
}

// ValidControls are correctly signed tokens of every algorithm: they must verify, so
// the rejections above are not an artefact of a broken key set.
func (a *Attacks) ValidControls() []TokenCase {
	k := a.k
	return []TokenCase{
		a.tc("RS256", Sign("RS256", k.RSA, `{"alg":"RS256","kid":"rsa-1"}`, a.claims), nil),
		a.tc("RS384", Sign("RS384", k.RSA, `{"alg":"RS384","kid":"rsa-1"}`, a.claims), nil),
		a.tc("RS512", Sign("RS512", k.RSA, `{"alg":"RS512","kid":"rsa-1"}`, a.claims), nil),
		a.tc("PS256", Sign("PS256", k.RSA, `{"alg":"PS256","kid":"rsa-1"}`, a.claims), nil),
		a.tc("PS384", Sign("PS384", k.RSA, `{"alg":"PS384","kid":"rsa-1"}`, a.claims), nil),
		a.tc("PS512", Sign("PS512", k.RSA, `{"alg":"PS512","kid":"rsa-1"}`, a.claims), nil),
		a.tc("ES256", Sign("ES256", k.P256, `{"alg":"ES256","kid":"ec-256"}`, a.claims), nil),
		a.tc("ES384", Sign("ES384", k.P384, `{"alg":"ES384","kid":"ec-384"}`, a.claims), nil),
		a.tc("ES512", Sign("ES512", k.P521, `{"alg":"ES512","kid":"ec-521"}`, a.claims), nil),
		a.tc("EdDSA", Sign("EdDSA", k.Ed25519, `{"alg":"EdDSA","kid":"ed-1"}`, a.claims), nil),
		a.tc("RS256-no-kid-tries-every-fitting-key", Sign("RS256", k.RSA, `{"alg":"RS256"}`, a.claims), nil),
		a.tc("kid-of-256-bytes", Sign("EdDSA", k.Ed25519, `{"alg":"EdDSA","kid":"`+strings.Repeat("k", 256)+`"}`, a.claims), jose.ErrNoKey),
		a.tc("escaped-kid-is-decoded", Sign("RS256", k.RSA, `{"alg":"RS256","kid":"rsa\u002d1"}`, a.claims), nil),
		a.tc("x5t-is-ignored", Sign("RS256", k.RSA, `{"alg":"RS256","kid":"rsa-1","x5t":"nOo3ZDrODXEK1jKWhXslHR_KXEg"}`, a.claims), nil),
	}
}

// AlgNone: "none" in any casing, with or without a signature, even when the
// configuration (wrongly) allows it (RFC 8725 3.1).
func (a *Attacks) AlgNone() []TokenCase {
	var out []TokenCase
	sig := "." + b64.EncodeToString(SignBytes("RS256", a.k.RSA, "x"))
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		input := b64.EncodeToString([]byte(`{"alg":"`+alg+`","kid":"rsa-1"}`)) + "." + b64.EncodeToString([]byte(a.claims))
		c := a.tc(alg+"-empty-signature", input+".", jose.ErrSignatureEmpty)
		c.Allowed = append([]string{alg}, Asymmetric...)
		out = append(out, c)
		c = a.tc(alg+"-with-signature", input+sig, jose.ErrAlgNone)
		c.Allowed = append([]string{alg}, Asymmetric...)
		out = append(out, c)
	}
	// Verify itself refuses none too, for a caller that skipped PreCheck.
	return out
}

// EmptySignature: a signed algorithm with nothing in the signature segment.
func (a *Attacks) EmptySignature() []TokenCase {
	var out []TokenCase
	for _, alg := range []string{"RS256", "ES256", "EdDSA", "HS256"} {
		input := b64.EncodeToString([]byte(`{"alg":"`+alg+`"}`)) + "." + b64.EncodeToString([]byte(a.claims))
		out = append(out, a.tc(alg, input+".", jose.ErrSignatureEmpty))
	}
	return out
}

// HMACWithPublicKey: the RS256→HS256 confusion. The attacker MACs a token with the
// issuer's public key in every encoding a verifier might use as an HMAC secret. With
// the default allow-list HS256 is not allowed; with HS* allowed (the worst
// configuration) Verify still refuses HMAC: it only ever runs with a configured secret.
func (a *Attacks) HMACWithPublicKey() []TokenCase {
	pub := &a.k.RSA.PublicKey
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(pub)
	pemPKIX := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pemPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})
	jwk := RSAJWK(pub, "rsa-1", "")
	materials := []struct {
		name string
		key  []byte
	}{
		{"PEM-PKIX-trailing-newline", pemPKIX},
		{"PEM-PKIX-no-trailing-newline", []byte(strings.TrimRight(string(pemPKIX), "\n"))},
		{"PEM-PKCS1-trailing-newline", pemPKCS1},
		{"PEM-PKCS1-no-trailing-newline", []byte(strings.TrimRight(string(pemPKCS1), "\n"))},
		{"DER-PKIX", pkix},
		{"DER-PKCS1", pkcs1},
		{"JWK-JSON", []byte(jwk)},
		{"JWKS-JSON", []byte(a.issuer)},
		{"modulus-bytes", pub.N.Bytes()},
	}
	withHMAC := append([]string{"HS256", "HS384", "HS512"}, Asymmetric...)
	var out []TokenCase
	for _, m := range materials {
		for _, alg := range []string{"HS256", "HS512"} {
			tok := Sign(alg, m.key, `{"alg":"`+alg+`","kid":"rsa-1"}`, a.claims)
			out = append(out, a.tc(m.name+"/"+alg+"/default-allow-list", tok, jose.ErrAlgNotAllowed))
			c := a.tc(m.name+"/"+alg+"/HMAC-allowed", tok, jose.ErrHMACNotAllowed)
			c.Allowed = withHMAC
			out = append(out, c)
			// With HMAC configured, the MAC is checked against the configured secret
			// only: the public key is not it.
			c = a.tc(m.name+"/"+alg+"/configured-secret", tok, jose.ErrSignature)
			c.Allowed = withHMAC
			c.Secret = []byte(strings.Repeat("configured client secret ", 4))
			out = append(out, c)
		}
	}
	return out
}

// AlgKeyMismatch: the alg must fit the key type, the curve and the key's own alg; alg
// values are case-sensitive; the allow-list wins over the header.
func (a *Attacks) AlgKeyMismatch() []TokenCase {
	k := a.k
	rsaOnly := JWKSOf(RSAJWK(&k.RSA.PublicKey, "rsa-1", ""))
	ecOnly := JWKSOf(ECJWK(&k.P256.PublicKey, "ec-256", ""))
	p384Only := JWKSOf(ECJWK(&k.P384.PublicKey, "ec", ""))
	p256AsEC := JWKSOf(ECJWK(&k.P256.PublicKey, "ec", ""))
	rsaPinnedRS := JWKSOf(RSAJWK(&k.RSA.PublicKey, "rsa-1", "RS256"))
	rsaPinnedPS := JWKSOf(RSAJWK(&k.RSA.PublicKey, "rsa-1", "PS256"))
	with := func(c TokenCase, jwks string) TokenCase { c.JWKS = jwks; return c }
	onlyRS := a.tc("ES256-not-in-allow-list", Sign("ES256", k.P256, `{"alg":"ES256","kid":"ec-256"}`, a.claims), jose.ErrAlgNotAllowed)
	onlyRS.Allowed = []string{"RS256"}
	return []TokenCase{
		with(a.tc("RS256-against-EC-key", Sign("RS256", k.RSA, `{"alg":"RS256"}`, a.claims), jose.ErrNoKey), ecOnly),
		with(a.tc("ES256-against-RSA-key", Sign("ES256", k.P256, `{"alg":"ES256"}`, a.claims), jose.ErrNoKey), rsaOnly),
		with(a.tc("ES256-against-P384-key", Sign("ES256", k.P256, `{"alg":"ES256","kid":"ec"}`, a.claims), jose.ErrNoKey), p384Only),
		with(a.tc("ES384-header-P256-signature", Sign("ES256", k.P256, `{"alg":"ES384","kid":"ec"}`, a.claims), jose.ErrSignatureLength), p256AsEC),
		with(a.tc("EdDSA-against-RSA-key", Sign("EdDSA", k.Ed25519, `{"alg":"EdDSA"}`, a.claims), jose.ErrNoKey), rsaOnly),
		with(a.tc("PS256-against-key-pinned-to-RS256", Sign("PS256", k.RSA, `{"alg":"PS256","kid":"rsa-1"}`, a.claims), jose.ErrNoKey), rsaPinnedRS),
		with(a.tc("RS256-against-key-pinned-to-PS256", Sign("RS256", k.RSA, `{"alg":"RS256","kid":"rsa-1"}`, a.claims), jose.ErrNoKey), rsaPinnedPS),
		a.tc("lower-case-rs256", Sign("RS256", k.RSA, `{"alg":"rs256","kid":"rsa-1"}`, a.claims), jose.ErrAlgNotAllowed),
		a.tc("RS256-with-trailing-space", Sign("RS256", k.RSA, `{"alg":"RS256 ","kid":"rsa-1"}`, a.claims), jose.ErrAlgNotAllowed),
		a.tc("ES256K-not-supported", Sign("ES256", k.P256, `{"alg":"ES256K","kid":"ec-256"}`, a.claims), jose.ErrAlgNotAllowed),
		onlyRS,
		a.tc("PS256-signature-under-RS256-header", strings.Replace(Sign("PS256", k.RSA, `{"alg":"PS256","kid":"rsa-1"}`, a.claims), b64.EncodeToString([]byte(`{"alg":"PS256","kid":"rsa-1"}`)), b64.EncodeToString([]byte(`{"alg":"RS256","kid":"rsa-1"}`)), 1), jose.ErrSignature),
		a.tc("PS256-with-a-20-byte-salt", pssWithSalt(k, 20), jose.ErrSignature),
		a.tc("PS256-with-no-salt", pssWithSalt(k, 0), jose.ErrSignature),
		a.tc("alg-is-a-number", Sign("RS256", k.RSA, `{"alg":256,"kid":"rsa-1"}`, a.claims), jose.ErrHeader),
		a.tc("alg-is-empty", Sign("RS256", k.RSA, `{"alg":"","kid":"rsa-1"}`, a.claims), jose.ErrHeader),
		a.tc("alg-missing", Sign("RS256", k.RSA, `{"kid":"rsa-1"}`, a.claims), jose.ErrHeader),
		a.tc("only-ALG-upper-case", Sign("RS256", k.RSA, `{"ALG":"RS256","kid":"rsa-1"}`, a.claims), jose.ErrHeader),
	}
}

// KidInjection: kid is only a map key. Injection strings and oversize kids are refused
// by PreCheck before any lookup; a path-traversal kid made of allowed characters
// selects no key.
func (a *Attacks) KidInjection() []TokenCase {
	sign := func(kidJSON string) string {
		return Sign("RS256", a.k.AttackerRSA, `{"alg":"RS256","kid":`+kidJSON+`}`, a.claims)
	}
	var out []TokenCase
	for name, kid := range map[string]string{
		"sql":            `"' OR '1'='1"`,
		"sql-comment":    `"x';--"`,
		"nul":            `"rsa-1\u0000"`,
		"crlf":           `"rsa-1\r\nX-Injected: 1"`,
		"shell":          `"$(curl attacker.invalid)"`,
		"pipe":           `"|id"`,
		"html":           `"<script>alert(1)</script>"`,
		"space":          `"rsa 1"`,
		"percent":        `"%2e%2e%2f"`,
		"non-ascii":      `"rsa-1\u00e9"`,
		"backslash":      `"..\\..\\key"`,
		"quote":          `"a\"b"`,
		"empty":          `""`,
		"257-bytes":      `"` + strings.Repeat("k", 257) + `"`,
		"4096-bytes":     `"` + strings.Repeat("k", 4096) + `"`,
		"number":         `1`,
		"null":           `null`,
		"object":         `{"kid":"rsa-1"}`,
		"array":          `["rsa-1"]`,
		"json-in-string": `"{\"kid\":\"rsa-1\"}"`,
	} {
		out = append(out, a.tc(name, sign(kid), jose.ErrKid))
	}
	out = append(out,
		a.tc("path-traversal-selects-no-key", sign(`"../../../../../../dev/null"`), jose.ErrNoKey),
		a.tc("issuer-kid-attacker-key", sign(`"rsa-1"`), jose.ErrSignature),
	)
	sortCases(out)
	return out
}

// EmbeddedKeys: jwk, jku, x5u and x5c in the header are never used. The attacker
// signs with its own key and embeds it (or points at it); verification uses only the
// issuer's keys and fails. (RemoteScenarios checks that jku/x5u are never fetched.)
func (a *Attacks) EmbeddedKeys() []TokenCase {
	att := a.k.AttackerRSA
	jwk := RSAJWK(&att.PublicKey, "rsa-1", "")
	cert := selfSignedCert(att)
	x5c := `["` + base64.StdEncoding.EncodeToString(cert) + `"]`
	sign := func(extra string) string {
		return Sign("RS256", att, `{"alg":"RS256","kid":"rsa-1",`+extra+`}`, a.claims)
	}
	signNoKid := func(extra string) string {
		return Sign("RS256", att, `{"alg":"RS256",`+extra+`}`, a.claims)
	}
	return []TokenCase{
		a.tc("jwk", sign(`"jwk":`+jwk), jose.ErrSignature),
		a.tc("jwk-without-kid", signNoKid(`"jwk":`+jwk), jose.ErrSignature),
		a.tc("jku", sign(`"jku":"https://attacker.invalid/jwks.json"`), jose.ErrSignature),
		a.tc("x5u", sign(`"x5u":"https://attacker.invalid/cert.pem"`), jose.ErrSignature),
		a.tc("x5c", sign(`"x5c":`+x5c), jose.ErrSignature),
		a.tc("x5c-without-kid", signNoKid(`"x5c":`+x5c), jose.ErrSignature),
		a.tc("all-of-them", sign(`"jwk":`+jwk+`,"jku":"https://attacker.invalid/j","x5u":"https://attacker.invalid/c","x5c":`+x5c), jose.ErrSignature),
	}
}

// ECDSAZeroAndRange: r‖s with r or s zero (CVE-2022-21449, "psychic signatures") or
// ≥ n is refused before verification, for each curve.
func (a *Attacks) ECDSAZeroAndRange() []TokenCase {
	var out []TokenCase
	for _, c := range []struct {
		alg, kid string
		key      *ecdsa.PrivateKey
	}{{"ES256", "ec-256", a.k.P256}, {"ES384", "ec-384", a.k.P384}, {"ES512", "ec-521", a.k.P521}} {
		size := (c.key.Curve.Params().BitSize + 7) / 8
		n := c.key.Curve.Params().N
		input := b64.EncodeToString([]byte(`{"alg":"`+c.alg+`","kid":"`+c.kid+`"}`)) + "." + b64.EncodeToString([]byte(a.claims))
		good := SignBytes(c.alg, c.key, input)
		rs := func(r, s *big.Int) string {
			sig := make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
			return input + "." + b64.EncodeToString(sig)
		}
		r := new(big.Int).SetBytes(good[:size])
		s := new(big.Int).SetBytes(good[size:])
		zero := big.NewInt(0)
		nPlus1 := new(big.Int).Add(n, big.NewInt(1))
		max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(8*size)), big.NewInt(1))
		out = append(out,
			a.tc(c.alg+"/all-zero", input+"."+b64.EncodeToString(make([]byte, 2*size)), jose.ErrSignatureRange),
			a.tc(c.alg+"/r-zero", rs(zero, s), jose.ErrSignatureRange),
			a.tc(c.alg+"/s-zero", rs(r, zero), jose.ErrSignatureRange),
			a.tc(c.alg+"/r-equals-n", rs(n, s), jose.ErrSignatureRange),
			a.tc(c.alg+"/s-equals-n", rs(r, n), jose.ErrSignatureRange),
			a.tc(c.alg+"/r-n-plus-1", rs(nPlus1, s), jose.ErrSignatureRange),
			a.tc(c.alg+"/all-ones", rs(max, max), jose.ErrSignatureRange),
			a.tc(c.alg+"/control", input+"."+b64.EncodeToString(good), nil),
		)
	}
	return out
}

// SignatureLength: ECDSA signatures must be r‖s of exactly 64/96/132 bytes (DER is
// refused, as are dropped leading zeros); Ed25519 exactly 64.
func (a *Attacks) SignatureLength() []TokenCase {
	k := a.k
	var out []TokenCase
	for _, c := range []struct {
		alg, kid string
		key      *ecdsa.PrivateKey
	}{{"ES256", "ec-256", k.P256}, {"ES384", "ec-384", k.P384}, {"ES512", "ec-521", k.P521}} {
		input := b64.EncodeToString([]byte(`{"alg":"`+c.alg+`","kid":"`+c.kid+`"}`)) + "." + b64.EncodeToString([]byte(a.claims))
		good := SignBytes(c.alg, c.key, input)
		// A DER signature of fixed values, so the refused length is the same every run.
		nMinus1 := new(big.Int).Sub(c.key.Curve.Params().N, big.NewInt(1))
		der := derSignature(nMinus1, nMinus1)
		out = append(out,
			a.tc(c.alg+"/DER", input+"."+b64.EncodeToString(der), jose.ErrSignatureLength),
			a.tc(c.alg+"/one-byte-short", input+"."+b64.EncodeToString(good[1:]), jose.ErrSignatureLength),
			a.tc(c.alg+"/one-byte-long", input+"."+b64.EncodeToString(append([]byte{0}, good...)), jose.ErrSignatureLength),
			a.tc(c.alg+"/doubled", input+"."+b64.EncodeToString(append(append([]byte(nil), good...), good...)), jose.ErrSignatureLength),
			// r ‖ 0x00 ‖ s: the same values, one byte too long. Splitting by the wrong
			// length would still find r and s in range.
			a.tc(c.alg+"/zero-byte-before-s", input+"."+b64.EncodeToString(withByte(good, len(good)/2, 0)), jose.ErrSignatureLength),
		)
	}
	input := b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"ed-1"}`)) + "." + b64.EncodeToString([]byte(a.claims))
	good := SignBytes("EdDSA", k.Ed25519, input)
	out = append(out,
		a.tc("EdDSA/63-bytes", input+"."+b64.EncodeToString(good[:63]), jose.ErrSignatureLength),
		a.tc("EdDSA/65-bytes", input+"."+b64.EncodeToString(append(append([]byte(nil), good...), 0)), jose.ErrSignatureLength),
		a.tc("EdDSA/all-zero", input+"."+b64.EncodeToString(make([]byte, 64)), jose.ErrSignature),
	)
	rin := b64.EncodeToString([]byte(`{"alg":"RS256","kid":"rsa-1"}`)) + "." + b64.EncodeToString([]byte(a.claims))
	rgood := SignBytes("RS256", k.RSA, rin)
	out = append(out,
		a.tc("RS256/one-byte-short", rin+"."+b64.EncodeToString(rgood[1:]), jose.ErrSignature),
		a.tc("RS256/leading-zero-added", rin+"."+b64.EncodeToString(append([]byte{0}, rgood...)), jose.ErrSignature),
	)
	return out
}

// DuplicateHeaderNames: a header with a name twice, also in another case or spelt with
// escapes, is refused whatever the values (RFC 7515 4, RFC 8725 3.2).
func (a *Attacks) DuplicateHeaderNames() []TokenCase {
	var out []TokenCase
	for _, c := range []struct{ name, header string }{
		{"alg-twice-same-value", `{"alg":"RS256","alg":"RS256","kid":"rsa-1"}`},
		{"alg-none-then-RS256", `{"alg":"none","alg":"RS256","kid":"rsa-1"}`},
		{"alg-RS256-then-HS256", `{"alg":"RS256","kid":"rsa-1","alg":"HS256"}`},
		{"alg-and-ALG", `{"alg":"RS256","ALG":"none","kid":"rsa-1"}`},
		{"alg-and-Alg", `{"Alg":"HS256","alg":"RS256","kid":"rsa-1"}`},
		{"alg-and-escaped-alg", `{"alg":"RS256","\u0061lg":"HS256","kid":"rsa-1"}`},
		{"kid-and-KID", `{"alg":"RS256","kid":"rsa-1","KID":"ec-256"}`},
		{"kid-and-kelvin-sign-kid", `{"alg":"RS256","kid":"rsa-1","\u212aid":"ec-256"}`},
		{"typ-and-TYP", `{"alg":"RS256","kid":"rsa-1","typ":"JWT","TYP":"at+jwt"}`},
		{"crit-and-Crit", `{"alg":"RS256","kid":"rsa-1","Crit":["x"],"crit":["x"],"x":1}`},
		{"unknown-name-twice", `{"alg":"RS256","kid":"rsa-1","foo":1,"foo":2}`},
		{"unknown-name-case-variant", `{"alg":"RS256","kid":"rsa-1","foo":1,"FOO":2}`},
	} {
		out = append(out, a.tc(c.name, a.rs256(c.header), jose.ErrDuplicateName))
	}
	out = append(out,
		a.tc("header-is-an-array", a.rs256(`["alg","RS256"]`), jose.ErrJSON),
		a.tc("header-is-a-string", a.rs256(`"RS256"`), jose.ErrJSON),
		a.tc("header-has-trailing-data", a.rs256(`{"alg":"RS256","kid":"rsa-1"}{}`), jose.ErrJSON),
		a.tc("header-invalid-utf8", a.rs256("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"x\":\"\xff\"}"), jose.ErrJSON),
		a.tc("header-is-not-json", a.rs256(`alg=RS256`), jose.ErrJSON),
	)
	return out
}

// MalformedBase64: padding, the standard alphabet, whitespace, CR and LF (which Go's
// decoder would skip), non-zero trailing bits and impossible lengths are refused.
func (a *Attacks) MalformedBase64() []TokenCase {
	good := a.rs256(`{"alg":"RS256","kid":"rsa-1"}`)
	p := strings.Split(good, ".")
	join := func(h, pl, s string) string { return h + "." + pl + "." + s }
	// RS256 signatures are 256 bytes: 342 characters, the last carrying 4 unused bits.
	sigBits := p[2][:len(p[2])-1] + string(setLowBit(p[2][len(p[2])-1]))
	return []TokenCase{
		a.tc("control", good, nil),
		a.tc("padding-on-signature", join(p[0], p[1], p[2]+"=="), jose.ErrBase64),
		a.tc("padding-on-header", join(p[0]+"=", p[1], p[2]), jose.ErrBase64),
		a.tc("percent-encoded-padding", join(p[0], p[1], p[2]+"%3D%3D"), jose.ErrBase64),
		a.tc("plus-instead-of-minus", join(p[0], p[1], strings.Replace(p[2], "-", "+", -1)), wantIfChanged(p[2], "-", jose.ErrBase64)),
		a.tc("slash-instead-of-underscore", join(p[0], p[1], strings.Replace(p[2], "_", "/", -1)), wantIfChanged(p[2], "_", jose.ErrBase64)),
		a.tc("standard-base64-header", join(base64.StdEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"rsa-1"}`)), p[1], p[2]), jose.ErrBase64),
		a.tc("space-in-payload", join(p[0], p[1][:10]+" "+p[1][10:], p[2]), jose.ErrBase64),
		a.tc("tab-in-signature", join(p[0], p[1], p[2][:10]+"\t"+p[2][10:]), jose.ErrBase64),
		a.tc("CR-in-signature", join(p[0], p[1], p[2][:10]+"\r"+p[2][10:]), jose.ErrBase64),
		a.tc("LF-in-signature", join(p[0], p[1], p[2][:10]+"\n"+p[2][10:]), jose.ErrBase64),
		a.tc("CRLF-in-header", join(p[0][:4]+"\r\n"+p[0][4:], p[1], p[2]), jose.ErrBase64),
		a.tc("trailing-LF", good+"\n", jose.ErrBase64),
		a.tc("leading-space", " "+good, jose.ErrBase64),
		a.tc("non-zero-trailing-bits", join(p[0], p[1], sigBits), jose.ErrBase64),
		a.tc("length-mod-4-is-1", join(p[0], mod4is1(p[1]), p[2]), jose.ErrBase64),
		a.tc("non-ascii", join(p[0], p[1]+"é", p[2]), jose.ErrBase64),
		a.tc("NUL", join(p[0], p[1], p[2]+"\x00"), jose.ErrBase64),
	}
}

// mod4is1 appends 'A's to s until its length is 1 mod 4, a length no base64 has.
func mod4is1(s string) string {
	for len(s)%4 != 1 {
		s += "A"
	}
	return s
}

// withByte returns b with one byte v inserted at index i.
func withByte(b []byte, i int, v byte) []byte {
	out := make([]byte, 0, len(b)+1)
	out = append(out, b[:i]...)
	out = append(out, v)
	return append(out, b[i:]...)
}

// wantIfChanged returns want when s contains old (the substitution changed the
// token), else nil (the token is unchanged and valid).
func wantIfChanged(s, old string, want error) error {
	if strings.Contains(s, old) {
		return want
	}
	return nil
}

// setLowBit sets the lowest bit of a base64url character's 6-bit value.
func setLowBit(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i|1]
}

// SegmentCount: exactly three non-empty segments; five is a JWE; a JWE header in three
// segments is a JWE too.
func (a *Attacks) SegmentCount() []TokenCase {
	good := a.rs256(`{"alg":"RS256","kid":"rsa-1"}`)
	p := strings.Split(good, ".")
	jwe := "eyJhbGciOiJSU0ExXzUiLCJraWQiOiJmcm9kby5iYWdnaW5zQGhvYmJpdG9uLmV4YW1wbGUiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0.laLxI0j-nLH-_BgLOXMozKxmy9gffy2gTdvqzfTihJBuuzxg0V7yk1WClnQePFvG2K-pvSlWc9BRIazDrn50RcRai__3TDON395H3c62tIouJJ4XaRvYHFjZTZ2GXfz8YAImcc91Tfk0WXC2F5Xbb71ClQ1DDH151tlpH77f2ff7xiSxh9oSewYrcGTSLUeeCt36r1Kt3OSj7EyBQXoZlN7IxbyhMAfgIe7Mv1rOTOI5I8NQqeXXW8VlzNmoxaGMny3YnGir5Wf6Qt2nBq4qDaPdnaAuuGUGEecelIO1wx1BpyIfgvfjOhMBs9M8XL223Fg47xlGsMXdfuY-4jaqVw.bbd5sTkYwhAIqfHsx8DayA.0fys_TY_na7f8dwSfXLiYdHaA2DxUjD67ieF7fcVbIR62JhJvGZ4_FNVSiGc_raa0HnLQ6s1P2sv3Xzl1p1l_o5wR_RsSzrS8Z-wnI3Jvo0mkpEEnlDmZvDu_k8OWzJv7eZVEqiWKdyVzFhPpiyQU28GLOpRc2VbVbK4dQKPdNTjPPEmRqcaGeTWZVyeSUvf5k59yJZxRuSvWFf6KrNtmRdZ8R4mDOjHSrM_s8uwIFcqt4r5GX8TKaI0zT5CbL5Qlw3sRc7u_hg0yKVOiRytEAEs3vZkcfLkP6nbXdC_PkMdNS-ohP78T2O6_7uInMGhFeX4ctHG7VelHGiT93JfWDEQi5_V9UN1rhXNrYu-0fVMkZAKX3VWi7lzA6BP430m.kvKuFBXHe5mQr4lqgobAUg"
	return []TokenCase{
		a.tc("empty", "", jose.ErrMalformed),
		a.tc("one", p[0], jose.ErrSegments),
		a.tc("two", p[0]+"."+p[1], jose.ErrSegments),
		a.tc("four", good+"."+p[2], jose.ErrSegments),
		a.tc("trailing-dot", good+".", jose.ErrSegments),
		a.tc("six", good+"."+p[0]+"."+p[1]+"."+p[2], jose.ErrSegments),
		a.tc("five-is-JWE", good+"."+p[1]+"."+p[2], jose.ErrJWE),
		a.tc("RFC7520-5.1-JWE", jwe, jose.ErrJWE),
		a.tc("enc-header-in-three-segments", a.rs256(`{"alg":"RS256","kid":"rsa-1","enc":"A256GCM"}`), jose.ErrJWE),
		a.tc("dots-only", "..", jose.ErrMalformed),
		a.tc("empty-header", "."+p[1]+"."+p[2], jose.ErrMalformed),
		a.tc("empty-payload-detached", p[0]+".."+p[2], jose.ErrMalformed),
		a.tc("empty-signature", p[0]+"."+p[1]+".", jose.ErrSignatureEmpty),
	}
}

// Oversize: the length cap is checked before splitting or decoding, so a huge token
// costs nothing whatever it contains.
func (a *Attacks) Oversize() []TokenCase {
	good := a.rs256(`{"alg":"RS256","kid":"rsa-1"}`)
	big := Sign("RS256", a.k.RSA, `{"alg":"RS256","kid":"rsa-1"}`, `{"sub":"alice","exp":4102444800,"pad":"`+strings.Repeat("x", 20000)+`"}`)
	limit := func(c TokenCase, n int) TokenCase { c.MaxLen = n; return c }
	return []TokenCase{
		limit(a.tc("one-byte-over-the-cap", good, jose.ErrTokenTooLarge), len(good)-1),
		limit(a.tc("exactly-the-cap", good, nil), len(good)),
		a.tc("over-the-default-cap", big, jose.ErrTokenTooLarge),
		a.tc("megabyte-of-dots-is-a-size-error", strings.Repeat(".", 1<<20), jose.ErrTokenTooLarge),
		a.tc("megabyte-of-newlines-is-a-size-error", strings.Repeat("\n", 1<<20), jose.ErrTokenTooLarge),
		limit(a.tc("four-segments-over-the-cap-is-a-size-error", good+"."+good, jose.ErrTokenTooLarge), len(good)),
	}
}

// CriticalHeaders: crit as RFC 7515 4.1.11 requires (no extension is understood here),
// and b64:false (RFC 7797).
func (a *Attacks) CriticalHeaders() []TokenCase {
	var out []TokenCase
	for _, c := range []struct {
		name, header string
		want         error
	}{
		{"RFC7515-appendix-E-exp", `{"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1363284000}`, jose.ErrCrit},
		{"unknown-extension", `{"alg":"RS256","kid":"rsa-1","crit":["http://example.invalid/x"],"http://example.invalid/x":true}`, jose.ErrCrit},
		{"JWS-defined-alg", `{"alg":"RS256","kid":"rsa-1","crit":["alg"]}`, jose.ErrCrit},
		{"JWS-defined-kid", `{"alg":"RS256","kid":"rsa-1","crit":["kid"]}`, jose.ErrCrit},
		{"empty-list", `{"alg":"RS256","kid":"rsa-1","crit":[]}`, jose.ErrCrit},
		{"listed-but-absent", `{"alg":"RS256","kid":"rsa-1","crit":["x"]}`, jose.ErrCrit},
		{"not-an-array", `{"alg":"RS256","kid":"rsa-1","crit":"exp","exp":1}`, jose.ErrCrit},
		{"null", `{"alg":"RS256","kid":"rsa-1","crit":null}`, jose.ErrCrit},
		{"number-element", `{"alg":"RS256","kid":"rsa-1","crit":[1]}`, jose.ErrCrit},
		{"null-element", `{"alg":"RS256","kid":"rsa-1","crit":[null]}`, jose.ErrCrit},
		{"duplicate-element", `{"alg":"RS256","kid":"rsa-1","crit":["x","x"],"x":1}`, jose.ErrCrit},
		{"b64-true-listed", `{"alg":"RS256","kid":"rsa-1","b64":true,"crit":["b64"]}`, jose.ErrCrit},
		{"b64-false-listed", `{"alg":"RS256","kid":"rsa-1","b64":false,"crit":["b64"]}`, jose.ErrB64},
		{"b64-false-unlisted", `{"alg":"RS256","kid":"rsa-1","b64":false}`, jose.ErrB64},
		{"b64-string", `{"alg":"RS256","kid":"rsa-1","b64":"false"}`, jose.ErrHeader},
		{"b64-true-alone-is-the-default", `{"alg":"RS256","kid":"rsa-1","b64":true}`, nil},
	} {
		out = append(out, a.tc(c.name, a.rs256(c.header), c.want))
	}
	return out
}

// HMACSecret: VerifyHMAC needs a configured secret of at least the hash size (RFC 7518
// 3.2), an allowed HS alg, and the right MAC.
func (a *Attacks) HMACSecret() []TokenCase {
	secret := []byte(strings.Repeat("s", 64))
	hs := func(alg string, key []byte) string {
		return Sign(alg, key, `{"alg":"`+alg+`"}`, a.claims)
	}
	c := func(name, token string, sec []byte, allowed []string, want error) TokenCase {
		return TokenCase{Name: name, Token: token, Secret: sec, Allowed: allowed, Want: want}
	}
	all := []string{"HS256", "HS384", "HS512", "RS256"}
	input := b64.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + b64.EncodeToString([]byte(a.claims))
	truncatedMAC := input + "." + b64.EncodeToString(SignBytes("HS256", secret, input)[:16])
	return []TokenCase{
		c("HS256-ok", hs("HS256", secret), secret, all, nil),
		c("HS384-ok", hs("HS384", secret), secret, all, nil),
		c("HS512-ok", hs("HS512", secret), secret, all, nil),
		c("no-secret", hs("HS256", secret), []byte{}, all, jose.ErrHMACSecret),
		c("HS256-secret-31-bytes", hs("HS256", secret[:31]), secret[:31], all, jose.ErrHMACSecret),
		c("HS512-secret-63-bytes", hs("HS512", secret[:63]), secret[:63], all, jose.ErrHMACSecret),
		c("wrong-secret", hs("HS256", []byte(strings.Repeat("t", 64))), secret, all, jose.ErrSignature),
		c("HS256-not-allowed", hs("HS256", secret), secret, []string{"HS512"}, jose.ErrAlgNotAllowed),
		c("RS256-through-VerifyHMAC", a.rs256(`{"alg":"RS256"}`), secret, all, jose.ErrAlgUnsupported),
		c("truncated-MAC", truncatedMAC, secret, all, jose.ErrSignatureLength),
	}
}

// pssWithSalt is a PS256 token whose PSS salt is not the hash length that RFC 7518
// 3.5 requires.
func pssWithSalt(k *Keys, salt int) string {
	input := b64.EncodeToString([]byte(`{"alg":"PS256","kid":"rsa-1"}`)) + "." + b64.EncodeToString([]byte(`{"sub":"alice"}`))
	sig, err := rsa.SignPSS(rand.Reader, k.RSA, crypto.SHA256, SignDigest("PS256", input), &rsa.PSSOptions{SaltLength: salt})
	if err != nil {
		panic(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// selfSignedCert is a certificate for the attacker's key (for x5c).
func selfSignedCert(key *rsa.PrivateKey) []byte {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "idp.example.com"},
		NotBefore:    time.Unix(1700000000, 0),
		NotAfter:     time.Unix(4102444800, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return der
}

// sortCases orders cases by name (they were built from a map).
func sortCases(cases []TokenCase) {
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
}

// derSignature is the ASN.1 DER ECDSA-Sig-Value of r and s (what ecdsa.SignASN1
// produces and JWS forbids).
func derSignature(r, s *big.Int) []byte {
	body := append(derInt(r), derInt(s)...)
	return append(derHeader(0x30, len(body)), body...)
}

func derInt(v *big.Int) []byte {
	b := v.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return append(derHeader(0x02, len(b)), b...)
}

func derHeader(tag byte, n int) []byte {
	if n < 128 {
		return []byte{tag, byte(n)}
	}
	return []byte{tag, 0x81, byte(n)}
}
