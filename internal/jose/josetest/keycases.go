package josetest

import (
	"crypto/ed25519"
	"crypto/elliptic"
	"math/big"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// JWKCase is one JWK given to jose.ParseJWK.
type JWKCase struct {
	Name string
	JWK  string
	Want error
}

// CheckJWK runs c: "ok <kty> <crv> <bits> kid=<kid>" or the error text.
func CheckJWK(c JWKCase) (string, error) {
	k, err := jose.ParseJWK([]byte(c.JWK))
	if err != nil {
		return err.Error(), err
	}
	return "ok " + k.Kty + " " + k.Crv + " " + strconv.Itoa(k.Bits) + " kid=" + k.Kid, nil
}

// JWKCases are the key checks: weak RSA keys, invalid-curve and short-coordinate EC
// keys, curve and alg mismatches, private material, encryption keys, strict JSON.
func JWKCases(k *Keys) []JWKCase {
	rsaN := b64.EncodeToString(k.RSA.N.Bytes())
	// Moduli that need no factoring to be refused: odd numbers of the given size.
	oddOf := func(bits int) string {
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		n.Or(n, big.NewInt(1))
		n.Or(n, new(big.Int).Lsh(big.NewInt(0xabcdef), uint(bits/2)))
		return b64.EncodeToString(n.Bytes())
	}
	rsa := func(n, e string) string { return `{"kty":"RSA","kid":"r","n":"` + n + `","e":"` + e + `"}` }
	p256 := k.P256.PublicKey
	x := b64.EncodeToString(p256.X.FillBytes(make([]byte, 32)))
	y := b64.EncodeToString(p256.Y.FillBytes(make([]byte, 32)))
	yPlus1 := b64.EncodeToString(new(big.Int).Add(p256.Y, big.NewInt(1)).FillBytes(make([]byte, 32)))
	p := elliptic.P256().Params().P
	pBytes := b64.EncodeToString(p.FillBytes(make([]byte, 32)))
	xShort := b64.EncodeToString(p256.X.FillBytes(make([]byte, 32))[1:])
	xLong := b64.EncodeToString(p256.X.FillBytes(make([]byte, 33)))
	yLong := b64.EncodeToString(p256.Y.FillBytes(make([]byte, 33)))
	ec := func(crv, x, y string) string {
		return `{"kty":"EC","kid":"e","crv":"` + crv + `","x":"` + x + `","y":"` + y + `"}`
	}
	p384 := k.P384.PublicKey
	x384 := b64.EncodeToString(p384.X.FillBytes(make([]byte, 48)))
	y384 := b64.EncodeToString(p384.Y.FillBytes(make([]byte, 48)))
	// RFC 7520 3.1's P-521 x starts with a zero byte: the 65-byte form is a real bug.
	x521 := "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt"
	y521 := "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"
	x521Short := b64.EncodeToString(mustB64(x521)[1:])
	ed := b64.EncodeToString(k.Ed25519.Public().(ed25519.PublicKey))
	cases := []JWKCase{
		{"RSA-2048-RFC7515", RSAJWK(&k.RSA.PublicKey, "rsa-1", "RS256"), nil},
		{"RSA-leading-zero-octet-is-read-by-value", rsa(b64.EncodeToString(append([]byte{0}, k.RSA.N.Bytes()...)), "AQAB"), nil},
		{"RSA-1024-bits", rsa(oddOf(1024), "AQAB"), jose.ErrKeyTooSmall},
		{"RSA-2047-bits", rsa(oddOf(2047), "AQAB"), jose.ErrKeyTooSmall},
		{"RSA-512-bits-padded-to-256-bytes", rsa(b64.EncodeToString(append(make([]byte, 192), mustB64(oddOf(512))...)), "AQAB"), jose.ErrKeyTooSmall},
		{"RSA-16384-bits", rsa(oddOf(16384), "AQAB"), jose.ErrJWKUnsupported},
		{"RSA-even-modulus", rsa(b64.EncodeToString(new(big.Int).Lsh(big.NewInt(1), 2047).Bytes()), "AQAB"), jose.ErrJWKInvalid},
		{"RSA-e-1", rsa(rsaN, "AQ"), jose.ErrJWKInvalid},
		{"RSA-e-2", rsa(rsaN, "Ag"), jose.ErrJWKInvalid},
		{"RSA-e-65536", rsa(rsaN, "AQAA"), jose.ErrJWKInvalid},
		{"RSA-e-3", rsa(rsaN, "Aw"), nil},
		{"RSA-e-2^32+1", rsa(rsaN, "AQAAAAE"), jose.ErrJWKInvalid},
		{"RSA-e-missing", `{"kty":"RSA","n":"` + rsaN + `"}`, jose.ErrJWKInvalid},
		{"RSA-n-padded", rsa(rsaN+"==", "AQAB"), jose.ErrJWKInvalid},
		{"RSA-n-with-CRLF", rsa(rsaN[:20]+`\r\n`+rsaN[20:], "AQAB"), jose.ErrJWKInvalid},
		{"RSA-n-standard-base64", rsa(strings.Replace(strings.Replace(rsaN, "-", "+", -1), "_", "/", -1), "AQAB"), wantIfChanged(rsaN, "-", jose.ErrJWKInvalid)},
		{"RSA-n-is-a-number", `{"kty":"RSA","n":12345,"e":"AQAB"}`, jose.ErrJWKInvalid},
		{"RSA-private-d", `{"kty":"RSA","n":"` + rsaN + `","e":"AQAB","d":"AQAB"}`, jose.ErrJWKPrivate},
		{"EC-P256-RFC7515", ec("P-256", x, y), nil},
		{"EC-P256-point-not-on-curve", ec("P-256", x, yPlus1), jose.ErrPointNotOnCurve},
		{"EC-P256-zero-point", ec("P-256", b64.EncodeToString(make([]byte, 32)), b64.EncodeToString(make([]byte, 32))), jose.ErrPointNotOnCurve},
		{"EC-P256-x-equals-p", ec("P-256", pBytes, y), jose.ErrPointNotOnCurve},
		{"EC-P256-x-31-bytes", ec("P-256", xShort, y), jose.ErrJWKInvalid},
		{"EC-P256-33-byte-coordinates", ec("P-256", xLong, yLong), jose.ErrJWKInvalid},
		{"EC-P256-named-with-P384-coordinates", ec("P-256", x384, y384), jose.ErrJWKInvalid},
		{"EC-P384-named-with-P256-coordinates", ec("P-384", x, y), jose.ErrJWKInvalid},
		{"EC-P521-RFC7520", ec("P-521", x521, y521), nil},
		{"EC-P521-65-byte-x", ec("P-521", x521Short, y521), jose.ErrJWKInvalid},
		{"EC-secp256k1", ec("secp256k1", x, y), jose.ErrJWKUnsupported},
		{"EC-crv-missing", `{"kty":"EC","x":"` + x + `","y":"` + y + `"}`, jose.ErrJWKInvalid},
		{"EC-y-missing", `{"kty":"EC","crv":"P-256","x":"` + x + `"}`, jose.ErrJWKInvalid},
		{"EC-alg-ES384-on-P256", `{"kty":"EC","crv":"P-256","alg":"ES384","x":"` + x + `","y":"` + y + `"}`, jose.ErrJWKInvalid},
		{"EC-alg-RS256-on-EC", `{"kty":"EC","crv":"P-256","alg":"RS256","x":"` + x + `","y":"` + y + `"}`, jose.ErrJWKInvalid},
		{"EC-private-d", `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `","d":"AQ"}`, jose.ErrJWKPrivate},
		{"OKP-Ed25519", `{"kty":"OKP","crv":"Ed25519","x":"` + ed + `"}`, nil},
		{"OKP-Ed25519-31-bytes", `{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(mustB64(ed)[1:]) + `"}`, jose.ErrJWKInvalid},
		{"OKP-Ed448", `{"kty":"OKP","crv":"Ed448","x":"` + ed + `"}`, jose.ErrJWKUnsupported},
		{"OKP-X25519", `{"kty":"OKP","crv":"X25519","x":"` + ed + `"}`, jose.ErrJWKUnsupported},
		{"OKP-alg-ES256", `{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"` + ed + `"}`, jose.ErrJWKInvalid},
		{"oct-never-from-a-key-set", `{"kty":"oct","k":"` + rfc7520HMAC + `"}`, jose.ErrJWKPrivate},
		{"oct-without-k", `{"kty":"oct","alg":"HS256"}`, jose.ErrJWKUnsupported},
		{"use-enc", `{"kty":"RSA","use":"enc","n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKNotForVerify},
		{"use-sig", `{"kty":"RSA","use":"sig","n":"` + rsaN + `","e":"AQAB"}`, nil},
		{"key_ops-encrypt", `{"kty":"RSA","key_ops":["encrypt","wrapKey"],"n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKNotForVerify},
		{"key_ops-verify", `{"kty":"RSA","key_ops":["verify"],"n":"` + rsaN + `","e":"AQAB"}`, nil},
		{"key_ops-duplicate", `{"kty":"RSA","key_ops":["verify","verify"],"n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKInvalid},
		{"key_ops-not-an-array", `{"kty":"RSA","key_ops":"verify","n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKInvalid},
		{"alg-RSA-OAEP", `{"kty":"RSA","alg":"RSA-OAEP","n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKNotForVerify},
		{"alg-HS256-on-RSA", `{"kty":"RSA","alg":"HS256","n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKNotForVerify},
		{"alg-none", `{"kty":"RSA","alg":"none","n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKNotForVerify},
		{"kty-unknown", `{"kty":"DSA","n":"` + rsaN + `"}`, jose.ErrJWKUnsupported},
		{"kty-missing", `{"n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKInvalid},
		{"kty-lower-case", `{"kty":"rsa","n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKUnsupported},
		{"n-twice", `{"kty":"RSA","n":"` + rsaN + `","n":"` + oddOf(1024) + `","e":"AQAB"}`, jose.ErrDuplicateName},
		{"kty-and-KTY", `{"kty":"RSA","KTY":"EC","n":"` + rsaN + `","e":"AQAB"}`, jose.ErrDuplicateName},
		{"x5c-and-x5u-ignored", `{"kty":"RSA","n":"` + rsaN + `","e":"AQAB","x5u":"https://attacker.invalid/c","x5c":["MIIB"]}`, nil},
		{"not-an-object", `["kty","RSA"]`, jose.ErrJSON},
		{"kid-is-a-number", `{"kty":"RSA","kid":7,"n":"` + rsaN + `","e":"AQAB"}`, jose.ErrJWKInvalid},
	}
	return append(cases, rocaJWKCases()...)
}

// JWKSCase is one key-set document given to jose.ParseJWKS.
type JWKSCase struct {
	Name string
	JWKS string
	Want error
}

// CheckJWKS runs c: the usable kids and the skipped entries, or the error text.
func CheckJWKS(c JWKSCase) (string, error) {
	set, err := jose.ParseJWKS([]byte(c.JWKS))
	if err != nil {
		return err.Error(), err
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid+"/"+k.Kty)
	}
	out := "ok keys=[" + strings.Join(kids, " ") + "]"
	for _, s := range set.Skipped {
		out += " skipped#" + strconv.Itoa(s.Index) + "(" + s.Kid + "): " + s.Reason
	}
	return out, nil
}

// JWKSCases: unusable entries are skipped in order and reported; duplicate kids are
// kept in document order; no usable key is an error.
func JWKSCases(k *Keys) []JWKSCase {
	rsa1 := RSAJWK(&k.RSA.PublicKey, "rsa-1", "")
	rsa1PS := RSAJWK(&k.RSA.PublicKey, "rsa-1", "PS256")
	ec1 := ECJWK(&k.P256.PublicKey, "rsa-1", "")
	enc := `{"kty":"RSA","kid":"enc-1","use":"enc","n":"` + b64.EncodeToString(k.RSA.N.Bytes()) + `","e":"AQAB"}`
	weak := `{"kty":"RSA","kid":"weak","n":"` + b64.EncodeToString(new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 1023), big.NewInt(1)).Bytes()) + `","e":"AQAB"}`
	many := make([]string, 0, jose.MaxKeys+1)
	for i := 0; i <= jose.MaxKeys; i++ {
		many = append(many, RSAJWK(&k.RSA.PublicKey, "k"+strconv.Itoa(i), ""))
	}
	return []JWKSCase{
		{"issuer-set", k.IssuerJWKS(), nil},
		{"unusable-entries-skipped-in-order", JWKSOf(enc, rsa1, weak, `{"kty":"oct","k":"AAAA"}`, `"not an object"`, `{"kty":"EC","crv":"P-256"}`), nil},
		{"duplicate-kids-kept-in-order", JWKSOf(rsa1PS, ec1, rsa1), nil},
		{"no-usable-key", JWKSOf(enc, weak), jose.ErrNoUsableKeys},
		{"empty-keys", `{"keys":[]}`, jose.ErrNoUsableKeys},
		{"keys-missing", `{"jwks":[]}`, jose.ErrJSON},
		{"keys-not-an-array", `{"keys":{"kty":"RSA"}}`, jose.ErrJSON},
		{"keys-twice", `{"keys":[` + rsa1 + `],"keys":[` + ec1 + `]}`, jose.ErrDuplicateName},
		{"keys-and-KEYS", `{"keys":[` + rsa1 + `],"KEYS":[` + ec1 + `]}`, jose.ErrDuplicateName},
		{"more-than-MaxKeys", JWKSOf(many...), nil},
		{"roca-key-skipped-with-its-kid", JWKSOf(rocaJWKCases()[0].JWK, rsa1), nil},
		{"not-json", `<html>`, jose.ErrJSON},
	}
}

// TypCase is one TypMatches question.
type TypCase struct {
	Typ, Want string
	Match     bool
}

// TypCases: media types compared ignoring case, "application/" implied.
func TypCases() []TypCase {
	return []TypCase{
		{"at+jwt", "at+jwt", true},
		{"AT+JWT", "at+jwt", true},
		{"application/at+jwt", "at+jwt", true},
		{"Application/AT+JWT", "at+jwt", true},
		{"at+jwt", "application/at+jwt", true},
		{"logout+jwt", "logout+jwt", true},
		{"application/logout+jwt", "logout+jwt", true},
		{"JWT", "JWT", true},
		{"jwt", "JWT", true},
		{"application/jwt", "JWT", true},
		{"JWT", "at+jwt", false},
		{"at+jwt", "logout+jwt", false},
		{"text/at+jwt", "at+jwt", false},
		{"at+jwt ", "at+jwt", false},
		{"application/at+jwt; charset=utf-8", "at+jwt", false},
		{"", "at+jwt", false},
		{"application/", "", false},
	}
}
