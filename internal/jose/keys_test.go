package jose_test

import (
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

func runJWKCases(t *testing.T, cases []josetest.JWKCase, filter func(string) bool) {
	t.Helper()
	n := 0
	for _, c := range cases {
		if !filter(c.Name) {
			continue
		}
		n++
		out, err := josetest.CheckJWK(c)
		if why := josetest.Judge(err, c.Want); why != "" {
			t.Errorf("%s: %s, got %s", c.Name, why, out)
		}
	}
	if n == 0 {
		t.Fatal("no cases selected")
	}
}

func prefix(p string) func(string) bool {
	return func(name string) bool { return len(name) >= len(p) && name[:len(p)] == p }
}

func TestAttackShortAndMalformedRSAKeysAreRejected(t *testing.T) {
	runJWKCases(t, josetest.JWKCases(josetest.NewKeys()), prefix("RSA-"))
}

func TestAttackInvalidCurveAndShortCoordinateECKeysAreRejected(t *testing.T) {
	runJWKCases(t, josetest.JWKCases(josetest.NewKeys()), prefix("EC-"))
}

func TestEd25519KeysAreCheckedAndOtherOKPCurvesRefused(t *testing.T) {
	runJWKCases(t, josetest.JWKCases(josetest.NewKeys()), prefix("OKP-"))
}

func TestSymmetricKeysNeverComeFromAKeySet(t *testing.T) {
	runJWKCases(t, josetest.JWKCases(josetest.NewKeys()), prefix("oct-"))
}

func TestKeyUseKeyOpsAndAlgAreHonoured(t *testing.T) {
	cases := josetest.JWKCases(josetest.NewKeys())
	runJWKCases(t, cases, func(n string) bool { return prefix("use-")(n) || prefix("key_ops-")(n) || prefix("alg-")(n) })
}

func TestJWKMembersAreReadStrictly(t *testing.T) {
	cases := josetest.JWKCases(josetest.NewKeys())
	runJWKCases(t, cases, func(n string) bool {
		return prefix("kty-")(n) || prefix("n-twice")(n) || prefix("x5c-")(n) || prefix("not-")(n) || prefix("kid-")(n)
	})
}

func TestKeySetSkipsUnusableEntriesDeterministically(t *testing.T) {
	for _, c := range josetest.JWKSCases(josetest.NewKeys()) {
		out, err := josetest.CheckJWKS(c)
		if why := josetest.Judge(err, c.Want); why != "" {
			t.Errorf("%s: %s, got %s", c.Name, why, out)
		}
		// Parsing the same document twice gives the same answer, byte for byte.
		again, _ := josetest.CheckJWKS(c)
		if again != out {
			t.Errorf("%s: not deterministic:\n%s\n%s", c.Name, out, again)
		}
		switch c.Name {
		case "unusable-entries-skipped-in-order":
			want := "ok keys=[rsa-1/RSA] skipped#0(enc-1): jose: JWK not usable for signature verification: expected use \"sig\", got \"enc\"" +
				" skipped#2(weak): jose: RSA key too small: expected at least 2048 bits (RFC 7518 3.3), got 1024" +
				" skipped#3(): jose: JWK carries private key material: expected a public key, got member \"k\"" +
				" skipped#4(): jose: malformed JSON: expected a JSON object, got a string" +
				" skipped#5(): jose: invalid JWK: expected x to be a base64url string, got none"
			if out != want {
				t.Errorf("skipped entries:\n got %s\nwant %s", out, want)
			}
		case "duplicate-kids-kept-in-order":
			if want := "ok keys=[rsa-1/RSA rsa-1/EC rsa-1/RSA]"; out != want {
				t.Errorf("duplicate kids: got %s, want %s", out, want)
			}
		case "more-than-MaxKeys":
			if want := "skipped#100(k100): jose: unsupported JWK: expected at most 100 usable keys, got more"; len(out) < len(want) || out[len(out)-len(want):] != want {
				t.Errorf("MaxKeys: got ...%s", out[len(out)-120:])
			}
		}
	}
}

// TestCandidatesSelectByKidAndFitAlg: kid selects exactly; alg filters by key type,
// curve and the key's own alg; duplicate kids come back in document order.
func TestCandidatesSelectByKidAndFitAlg(t *testing.T) {
	k := josetest.NewKeys()
	set, err := parseSet(josetest.JWKSOf(
		josetest.RSAJWK(&k.RSA.PublicKey, "a", "PS256"),
		josetest.ECJWK(&k.P256.PublicKey, "a", ""),
		josetest.RSAJWK(&k.AttackerRSA.PublicKey, "a", ""),
		josetest.ECJWK(&k.P384.PublicKey, "b", ""),
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kid, alg string
		want     []int
	}{
		{"a", "PS256", []int{0, 2}},
		{"a", "RS256", []int{2}},
		{"a", "ES256", []int{1}},
		{"a", "ES384", nil},
		{"b", "ES384", []int{3}},
		{"", "ES384", []int{3}},
		{"", "PS256", []int{0, 2}},
		{"A", "PS256", nil},
		{"c", "RS256", nil},
		{"a", "HS256", nil},
		{"a", "none", nil},
	} {
		got := set.Candidates(c.kid, c.alg)
		if len(got) != len(c.want) {
			t.Errorf("kid %q alg %s: %d candidates, want %d", c.kid, c.alg, len(got), len(c.want))
			continue
		}
		for i, idx := range c.want {
			if got[i] != set.Keys[idx] {
				t.Errorf("kid %q alg %s: candidate %d is not key %d", c.kid, c.alg, i, idx)
			}
		}
	}
}
