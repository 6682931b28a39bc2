package jose_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// Callers may build a JWS or a Key by hand (or change one after parsing). Verify,
// VerifyHMAC and KeysFor keep their rules for such values too, not only for what
// ParseCompact and ParseJWK produce.

func handBuilt(t *testing.T) (*jose.JWS, []*jose.Key) {
	t.Helper()
	k := josetest.NewKeys()
	tok := josetest.Sign("RS256", k.RSA, `{"alg":"RS256","kid":"rsa-1"}`, `{"sub":"alice"}`)
	jws, err := jose.ParseCompact(tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	set, err := jose.ParseJWKS([]byte(josetest.JWKSOf(josetest.RSAJWK(&k.RSA.PublicKey, "rsa-1", ""))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jose.Verify(jws, set.Keys, josetest.Asymmetric); err != nil {
		t.Fatalf("control: %v", err)
	}
	return jws, set.Keys
}

func TestVerifyRefusesNoneInAHandBuiltJWS(t *testing.T) {
	jws, keys := handBuilt(t)
	for _, alg := range []string{"none", "NONE", "nOne"} {
		jws.Header.Alg = alg
		if _, err := jose.Verify(jws, keys, []string{alg, "RS256"}); jose.KindOf(err) != jose.ErrAlgNone {
			t.Errorf("Verify with alg %q: %v", alg, err)
		}
		if err := jose.VerifyHMAC(jws, []byte(strings.Repeat("k", 64)), []string{alg}); jose.KindOf(err) != jose.ErrAlgNone {
			t.Errorf("VerifyHMAC with alg %q: %v", alg, err)
		}
	}
}

func TestVerifyRefusesAnEmptySignatureInAHandBuiltJWS(t *testing.T) {
	jws, keys := handBuilt(t)
	jws.Signature = nil
	if _, err := jose.Verify(jws, keys, josetest.Asymmetric); jose.KindOf(err) != jose.ErrSignatureEmpty {
		t.Fatalf("got %v", err)
	}
	if _, err := jose.Verify(nil, keys, josetest.Asymmetric); jose.KindOf(err) != jose.ErrInvalidArgument {
		t.Fatalf("nil JWS: %v", err)
	}
}

func TestVerifyUsesTheChangedSigningInputOfAHandBuiltJWS(t *testing.T) {
	jws, keys := handBuilt(t)
	jws.SigningInput += "x"
	if _, err := jose.Verify(jws, keys, josetest.Asymmetric); jose.KindOf(err) != jose.ErrSignature {
		t.Fatalf("a changed signing input verified: %v", err)
	}
}

func TestVerifyHonoursUseKeyOpsAndSizeOfHandBuiltKeys(t *testing.T) {
	jws, keys := handBuilt(t)
	good := *keys[0]
	for name, mutate := range map[string]func(k *jose.Key){
		"use enc":          func(k *jose.Key) { k.Use = "enc" },
		"key_ops encrypt":  func(k *jose.Key) { k.KeyOps = []string{"encrypt"} },
		"alg PS256":        func(k *jose.Key) { k.Alg = "PS256" },
		"kty EC":           func(k *jose.Key) { k.Kty = "EC" },
		"public key nil":   func(k *jose.Key) { k.Public = nil },
		"public key other": func(k *jose.Key) { k.Public = "not a key" },
	} {
		k := good
		mutate(&k)
		_, err := jose.Verify(jws, []*jose.Key{&k}, josetest.Asymmetric)
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	k := good
	k.KeyOps = []string{"verify"}
	if _, err := jose.Verify(jws, []*jose.Key{&k}, josetest.Asymmetric); err != nil {
		t.Errorf("key_ops verify: %v", err)
	}
	if _, err := jose.Verify(jws, []*jose.Key{nil, &good}, josetest.Asymmetric); err != nil {
		t.Errorf("nil key in the list: %v", err)
	}
}

// TestVerifyRefusesAHandBuiltRSAKeyUnder2048Bits: a valid signature by a 1024-bit key
// does not verify, even when the key skipped ParseJWK.
func TestVerifyRefusesAHandBuiltRSAKeyUnder2048Bits(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatalf("generating a 1024-bit test key: %v", err)
	}
	tok := josetest.Sign("RS256", priv, `{"alg":"RS256"}`, `{"sub":"alice"}`)
	jws, err := jose.ParseCompact(tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	k := &jose.Key{Kty: "RSA", Bits: 1024, Public: &priv.PublicKey}
	if _, err := jose.Verify(jws, []*jose.Key{k}, josetest.Asymmetric); jose.KindOf(err) != jose.ErrSignature {
		t.Fatalf("1024-bit key: %v", err)
	}
}

func TestKeysForRefusesBadKidsWithoutFetching(t *testing.T) {
	srv := httptest.NewServer(josetest.NewJWKSServer(josetest.NewKeys()))
	defer srv.Close()
	ks := jose.NewRemoteKeySet(jose.RemoteKeySetOptions{URL: srv.URL + "/static/keysfor"})
	for _, kid := range []string{"a b", "a\r\nb", strings.Repeat("k", 257), "é"} {
		if _, err := ks.KeysFor(context.Background(), kid, "RS256"); jose.KindOf(err) != jose.ErrKid {
			t.Errorf("kid %q: %v", kid, err)
		}
	}
	if _, err := ks.KeysFor(context.Background(), "rsa-1", "none"); jose.KindOf(err) != jose.ErrAlgUnsupported {
		t.Errorf("alg none: %v", err)
	}
	if st := ks.Stats(); st.Fetches != 0 {
		t.Fatalf("%d fetches", st.Fetches)
	}
	if keys, err := ks.KeysFor(context.Background(), "rsa-1", "RS256"); err != nil || len(keys) != 1 {
		t.Fatalf("control: %v, %d keys", err, len(keys))
	}
}

// TestVerifyRefusesAllowedButUnknownAlgs: a misconfigured allow-list naming algs
// Verify does not implement gets ErrAlgUnsupported (HMAC: ErrHMACNotAllowed), never a
// verification attempt or a panic.
func TestVerifyRefusesAllowedButUnknownAlgs(t *testing.T) {
	jws, keys := handBuilt(t)
	for alg, want := range map[string]error{
		"EZ256": jose.ErrAlgUnsupported, "EX512": jose.ErrAlgUnsupported, "RX256": jose.ErrAlgUnsupported,
		"PZ384": jose.ErrAlgUnsupported, "ES255": jose.ErrAlgUnsupported, "ES256K": jose.ErrAlgUnsupported,
		"RS1": jose.ErrAlgUnsupported, "Ed25519": jose.ErrAlgUnsupported, "EDDSA": jose.ErrAlgUnsupported,
		"HS256": jose.ErrHMACNotAllowed, "HS512": jose.ErrHMACNotAllowed,
	} {
		jws.Header.Alg = alg
		if _, err := jose.Verify(jws, keys, []string{alg}); jose.KindOf(err) != want {
			t.Errorf("alg %s: %v, want %v", alg, err, want)
		}
	}
}
