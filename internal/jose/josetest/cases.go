package josetest

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// ErrAny as a Want means: must fail, whatever the reason.
var ErrAny = errors.New("josetest: any error")

// Asymmetric is the default configured allow-list.
var Asymmetric = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// TokenCase is one token checked the way callers check tokens: PreCheck with the
// allow-list, then the key set's Candidates for the token's kid and alg, then Verify
// — or VerifyHMAC when Secret is set.
type TokenCase struct {
	Name    string
	Token   string
	JWKS    string // the key set (ignored when Secret is set)
	Secret  []byte
	Allowed []string
	MaxLen  int   // 0: jose.DefaultMaxTokenLength
	Want    error // nil: verifies; ErrAny: fails somehow; else the error kind
}

// CheckToken runs c and returns the outcome: "ok kid=<kid>" or the error text.
func CheckToken(c TokenCase) (string, error) {
	jws, err := jose.PreCheck(c.Token, c.MaxLen, c.Allowed)
	if err != nil {
		return err.Error(), err
	}
	if c.Secret != nil {
		if err := jose.VerifyHMAC(jws, c.Secret, c.Allowed); err != nil {
			return err.Error(), err
		}
		return "ok", nil
	}
	set, err := jose.ParseJWKS([]byte(c.JWKS))
	if err != nil {
		return "key set: " + err.Error(), err
	}
	k, err := jose.Verify(jws, set.Candidates(jws.Header.Kid, jws.Header.Alg), c.Allowed)
	if err != nil {
		return err.Error(), err
	}
	return "ok kid=" + k.Kid, nil
}

// Judge compares an outcome with want and returns "" when it matches, else why not.
func Judge(err, want error) string {
	switch {
	case want == nil && err != nil:
		return "want success"
	case want == nil:
		return ""
	case err == nil:
		return "want an error"
	case want == ErrAny:
		return ""
	case jose.KindOf(err) != want:
		return "want " + want.Error()
	}
	return ""
}

// The RFC 7520 section 4 payload and the RFC 7515 appendix A payload, encoded.
const (
	rfc7520Payload = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
	rfc7515Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
)

// RFCVectors are the worked examples: RFC 7515 A.1-A.4, RFC 7520 4.1-4.4 and RFC 8037
// A.4, each with the key the RFC gives, typed in from the RFCs. Each must verify.
func RFCVectors() []TokenCase {
	pub := func(jwk string) string { return publicOnly(jwk) }
	return []TokenCase{
		{Name: "RFC7515-A.1-HS256", Allowed: []string{"HS256"}, Secret: mustB64(rfc7515HMAC),
			Token: "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + rfc7515Payload + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"},
		{Name: "RFC7515-A.2-RS256", Allowed: Asymmetric, JWKS: oneKeySet(pub(rfc7515RSA)),
			Token: "eyJhbGciOiJSUzI1NiJ9." + rfc7515Payload + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"},
		{Name: "RFC7515-A.3-ES256", Allowed: Asymmetric, JWKS: oneKeySet(pub(rfc7515P256)),
			Token: "eyJhbGciOiJFUzI1NiJ9." + rfc7515Payload + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"},
		{Name: "RFC7515-A.4-ES512", Allowed: Asymmetric, JWKS: oneKeySet(pub(rfc7515P521)),
			Token: "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"},
		{Name: "RFC7520-4.1-RS256", Allowed: Asymmetric, JWKS: oneKeySet(pub(rfc7520RSA)),
			Token: "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg"},
		{Name: "RFC7520-4.2-PS384", Allowed: Asymmetric, JWKS: oneKeySet(pub(rfc7520RSA)),
			Token: "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw"},
		{Name: "RFC7520-4.3-ES512", Allowed: Asymmetric, JWKS: oneKeySet(pub(rfc7520P521)),
			Token: "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2"},
		{Name: "RFC7520-4.4-HS256", Allowed: []string{"HS256"}, Secret: mustB64(rfc7520HMAC),
			Token: "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9." + rfc7520Payload + ".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"},
		{Name: "RFC8037-A.4-EdDSA", Allowed: Asymmetric, JWKS: oneKeySet(pub(rfc8037Ed25519)),
			Token: "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"},
	}
}

// oneKeySet wraps one JWK in a key set.
func oneKeySet(jwk string) string { return JWKSOf(jwk) }

// publicOnly drops the private members of an example JWK.
func publicOnly(jwk string) string {
	var m map[string]string
	if err := json.Unmarshal([]byte(jwk), &m); err != nil {
		panic(err)
	}
	for _, name := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		delete(m, name)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Tampered returns, for every RFC vector, the vector with one bit flipped in the
// decoded header, payload or signature (first, middle and last byte, lowest bit) and
// re-encoded. Each must fail: a flip in the payload or the signature with
// ErrSignature (the flips never push an ECDSA r or s out of range for these vectors).
func Tampered() []TokenCase {
	var out []TokenCase
	for _, v := range RFCVectors() {
		parts := strings.Split(v.Token, ".")
		for seg, segName := range []string{"header", "payload", "signature"} {
			raw := mustB64(parts[seg])
			for _, pos := range []int{0, len(raw) / 2, len(raw) - 1} {
				flipped := append([]byte(nil), raw...)
				flipped[pos] ^= 1
				p := []string{parts[0], parts[1], parts[2]}
				p[seg] = b64.EncodeToString(flipped)
				c := v
				c.Name = v.Name + "/" + segName + "-byte" + strconv.Itoa(pos)
				c.Token = strings.Join(p, ".")
				c.Want = jose.ErrSignature
				if seg == 0 {
					c.Want = ErrAny
				}
				out = append(out, c)
			}
		}
	}
	return out
}
