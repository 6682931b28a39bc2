package jose_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// Fuzz targets for the three parsers that read attacker input. Seeds: every token,
// key and claims set of the vectors and the attack catalogue, plus the committed
// corpus in testdata/fuzz. They must never panic, and what they accept must keep the
// invariants the rest of Gatehouse relies on.

var fuzzKeys = josetest.NewKeys()

func FuzzParseCompact(f *testing.F) {
	for _, c := range josetest.RFCVectors() {
		f.Add(c.Token)
	}
	a := josetest.NewAttacks(fuzzKeys)
	for _, g := range a.Groups() {
		for _, c := range a.Group(g) {
			if len(c.Token) <= 4096 {
				f.Add(c.Token)
			}
		}
	}
	set, err := jose.ParseJWKS([]byte(fuzzKeys.IssuerJWKS()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		jws, err := jose.ParseCompact(token, 8192)
		if err != nil {
			if jws != nil {
				t.Fatal("a JWS and an error")
			}
			return
		}
		if len(token) > 8192 || strings.Count(token, ".") != 2 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
			t.Fatalf("accepted a token that breaks the compact rules: %q", token)
		}
		parts := strings.Split(token, ".")
		// Strict base64url is canonical: re-encoding gives back the token.
		enc := base64.RawURLEncoding
		if enc.EncodeToString(jws.RawHeader) != parts[0] || enc.EncodeToString(jws.Payload) != parts[1] || enc.EncodeToString(jws.Signature) != parts[2] {
			t.Fatalf("non-canonical segments accepted: %q", token)
		}
		if jws.SigningInput != parts[0]+"."+parts[1] || len(jws.Signature) == 0 {
			t.Fatalf("signing input or signature wrong for %q", token)
		}
		h := jws.Header
		if h.Alg == "" || strings.EqualFold(h.Alg, "none") || len(h.Crit) != 0 {
			t.Fatalf("header accepted: %+v", h)
		}
		if h.Kid != "" && (len(h.Kid) > jose.MaxKidLength || strings.Trim(h.Kid, jose.KidCharset) != "") {
			t.Fatalf("kid accepted: %q", h.Kid)
		}
		// Verification never panics, and names the key when it succeeds.
		k, err := jose.Verify(jws, set.Candidates(h.Kid, h.Alg), josetest.Asymmetric)
		if err == nil && k == nil {
			t.Fatal("verified without a key")
		}
		_ = jose.VerifyHMAC(jws, []byte(strings.Repeat("k", 64)), []string{"HS256", "HS384", "HS512"})
	})
}

func FuzzParseJWK(f *testing.F) {
	for _, c := range josetest.JWKCases(fuzzKeys) {
		f.Add([]byte(c.JWK))
	}
	for _, c := range josetest.JWKSCases(fuzzKeys) {
		if len(c.JWKS) < 8192 {
			f.Add([]byte(c.JWKS))
		}
	}
	tokens := map[string]*jose.JWS{}
	a := josetest.NewAttacks(fuzzKeys)
	for _, c := range a.ValidControls() {
		jws, err := jose.ParseCompact(c.Token, 0)
		if err == nil {
			tokens[jws.Header.Alg] = jws
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var keys []*jose.Key
		if k, err := jose.ParseJWK(b); err == nil {
			keys = append(keys, k)
		}
		if set, err := jose.ParseJWKS(b); err == nil {
			if len(set.Keys) == 0 || len(set.Keys) > jose.MaxKeys {
				t.Fatalf("key set with %d keys accepted", len(set.Keys))
			}
			keys = append(keys, set.Keys...)
		}
		for _, k := range keys {
			switch k.Kty {
			case "RSA":
				if k.Bits < 2048 || k.Bits > 8192 {
					t.Fatalf("RSA key of %d bits accepted", k.Bits)
				}
			case "EC":
				if k.Crv != "P-256" && k.Crv != "P-384" && k.Crv != "P-521" {
					t.Fatalf("curve %q accepted", k.Crv)
				}
			case "OKP":
				if k.Crv != "Ed25519" {
					t.Fatalf("OKP curve %q accepted", k.Crv)
				}
			default:
				t.Fatalf("kty %q accepted", k.Kty)
			}
			if k.Use != "" && k.Use != "sig" {
				t.Fatalf("use %q accepted", k.Use)
			}
			for _, jws := range tokens {
				_, _ = jose.Verify(jws, []*jose.Key{k}, josetest.Asymmetric)
			}
		}
	})
}

func FuzzDecodeClaims(f *testing.F) {
	for _, c := range josetest.ClaimsCases() {
		if len(c.Payload) < 8192 {
			f.Add([]byte(c.Payload))
		}
	}
	now := time.Unix(josetest.ClaimsNow, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := jose.DecodeClaims(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("invalid JSON accepted: %q", b)
		}
		seen := map[string]string{}
		for name, raw := range c {
			folded := strings.ToLower(strings.ToUpper(name))
			if prev, dup := seen[folded]; dup {
				t.Fatalf("duplicate names %q and %q accepted", prev, name)
			}
			seen[folded] = name
			if !json.Valid(raw) {
				t.Fatalf("member %q has invalid JSON %q", name, raw)
			}
			_, _, _ = jose.StringClaim(c, name)
			_, _, _ = jose.StringListClaim(c, name)
			_, _, _ = jose.BoolClaim(c, name)
			_, _, _ = jose.ObjectClaim(c, name)
			if d, ok, err := jose.NumericDateClaim(c, name); ok && err == nil && (d.Unix() < 0 || d.Unix() > 253402300799) {
				t.Fatalf("date %v accepted", d)
			}
		}
		if aud, err := jose.AudienceClaim(c); err == nil {
			if len(aud) == 0 {
				t.Fatal("empty audience accepted")
			}
			for _, a := range aud {
				if a == "" {
					t.Fatal("empty audience string accepted")
				}
			}
		}
		if err := jose.CheckTimes(c, now, time.Minute, false); err == nil {
			exp, ok, _ := jose.NumericDateClaim(c, "exp")
			if !ok || !now.Before(exp.Add(time.Minute)) {
				t.Fatalf("expired or exp-less claims accepted: %q", b)
			}
		}
	})
}
