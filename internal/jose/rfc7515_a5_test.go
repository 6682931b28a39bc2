package jose_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// RFC 7515 appendix A.5 and the RFC 7520 section 4 examples a compact-only parser
// cannot verify.
//
// The worked examples that must verify (RFC 7515 A.1-A.4, RFC 7520 4.1-4.4) are in
// josetest.RFCVectors. The others:
//
//   - RFC 7515 A.5 is an unsecured JWS (alg "none", empty signature): it must be
//     refused, below.
//   - RFC 7520 4.5 signs with detached content: its compact form has an empty
//     payload segment. A JWT always carries its payload, so the parser refuses the
//     form (below) rather than verify a signature over a payload it does not have.
//   - RFC 7520 4.6 (protecting specific header fields: part of the header is
//     unprotected), 4.7 (protecting content only: no protected header) and 4.8
//     (multiple signatures) exist only in the JWS JSON serialization (RFC 7515 7.2),
//     which Gatehouse never parses: tokens are compact (RFC 7519 7.1, OIDC Core 2).
//     They are not applicable and have no test.

// rfc7515A5 is RFC 7515 A.5's unsecured JWS, typed in from the RFC: the header
// {"alg":"none"}, A.1's payload, an empty signature.
const rfc7515A5 = "eyJhbGciOiJub25lIn0" +
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
	"."

// rfc7520s45 is RFC 7520 4.5.3's compact JWS with detached content (HS256, the key
// of 4.4): 4.4's token without its payload.
const rfc7520s45 = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9" +
	"." +
	".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"

// TestRFC7515A5UnsecuredJWSIsRefused: the unsecured example is refused before any key
// is looked up, with ErrSignatureEmpty (its signature segment is empty), even by a
// configuration that wrongly allows "none". Its header alone is refused too: with a
// signature appended it is ErrAlgNone, and Verify and VerifyHMAC, handed the parsed
// example by a caller that skipped ParseCompact, answer ErrAlgNone.
func TestRFC7515A5UnsecuredJWSIsRefused(t *testing.T) {
	parts := strings.Split(rfc7515A5, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("A.5 is not header.payload. : %q", rfc7515A5)
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || string(header) != `{"alg":"none"}` {
		t.Fatalf("A.5 header %q %v", header, err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || string(payload) != "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}" {
		t.Fatalf("A.5 payload %q %v", payload, err)
	}

	withNone := append([]string{"none"}, josetest.Asymmetric...)
	for name, allowed := range map[string][]string{"default": josetest.Asymmetric, "none allowed": withNone, "HS256": {"HS256"}} {
		_, err := jose.PreCheck(rfc7515A5, 0, allowed)
		if jose.KindOf(err) != jose.ErrSignatureEmpty || !strings.Contains(err.Error(), "unsecured JWS") {
			t.Errorf("%s: PreCheck answered %v, want %v (unsecured JWS)", name, err, jose.ErrSignatureEmpty)
		}
	}
	if _, err := jose.ParseCompact(rfc7515A5, 0); jose.KindOf(err) != jose.ErrSignatureEmpty {
		t.Errorf("ParseCompact answered %v, want %v", err, jose.ErrSignatureEmpty)
	}
	// The way callers check tokens, with a key set and with an HMAC secret.
	runTokenCases(t, []josetest.TokenCase{
		{Name: "RFC7515-A.5-none", Token: rfc7515A5, JWKS: `{"keys":[]}`, Allowed: withNone, Want: jose.ErrSignatureEmpty},
		{Name: "RFC7515-A.5-none-HMAC", Token: rfc7515A5, Secret: []byte(strings.Repeat("s", 64)), Allowed: []string{"HS256", "none"},
			Want: jose.ErrSignatureEmpty},
	})

	// The header alone decides too: A.5 with a signature is refused for its alg.
	for _, sig := range []string{"AAAA", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"} {
		if _, err := jose.PreCheck(rfc7515A5+sig, 0, withNone); jose.KindOf(err) != jose.ErrAlgNone {
			t.Errorf("A.5 with signature %q: PreCheck answered %v, want %v", sig, err, jose.ErrAlgNone)
		}
	}
	// Verify and VerifyHMAC refuse "none" themselves, signature or not.
	for _, sig := range [][]byte{nil, []byte("x")} {
		jws := &jose.JWS{RawHeader: header, Payload: payload, Signature: sig, SigningInput: parts[0] + "." + parts[1],
			Header: jose.Header{Alg: "none"}}
		if _, err := jose.Verify(jws, nil, withNone); jose.KindOf(err) != jose.ErrAlgNone {
			t.Errorf("Verify (signature %q) answered %v, want %v", sig, err, jose.ErrAlgNone)
		}
		if err := jose.VerifyHMAC(jws, []byte(strings.Repeat("s", 64)), []string{"HS256", "none"}); jose.KindOf(err) != jose.ErrAlgNone {
			t.Errorf("VerifyHMAC (signature %q) answered %v, want %v", sig, err, jose.ErrAlgNone)
		}
	}
}

// TestRFC7520Section45DetachedContentIsRefused: the compact form of RFC 7520 4.5
// (detached content) is refused for its empty payload segment. With the payload put
// back it is 4.4's example, which verifies (josetest.RFCVectors).
func TestRFC7520Section45DetachedContentIsRefused(t *testing.T) {
	_, err := jose.PreCheck(rfc7520s45, 0, []string{"HS256"})
	if jose.KindOf(err) != jose.ErrMalformed || !strings.Contains(err.Error(), "payload") {
		t.Fatalf("PreCheck answered %v, want %v (empty payload segment)", err, jose.ErrMalformed)
	}
	var s44 *josetest.TokenCase
	for _, c := range josetest.RFCVectors() {
		if c.Name == "RFC7520-4.4-HS256" {
			c := c
			s44 = &c
		}
	}
	if s44 == nil {
		t.Fatal("RFC7520-4.4-HS256 is not among the vectors")
	}
	parts := strings.Split(s44.Token, ".")
	if parts[0]+".."+parts[2] != rfc7520s45 {
		t.Fatalf("4.5 is not 4.4 without its payload:\n%s\n%s", rfc7520s45, s44.Token)
	}
	if out, err := josetest.CheckToken(*s44); err != nil {
		t.Fatalf("4.4 with the payload: %s", out)
	}
}
