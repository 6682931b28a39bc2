package testop

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// rsaJWK is n and e of a public key as a JWK.
func rsaJWK(pub *rsa.PublicKey) []byte {
	b, _ := json.Marshal(map[string]string{"kty": "RSA", "kid": "k",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
	return b
}

// TestROCAKeyHasTheFingerprintAndSigns: the generated key is a working RSA key that
// the relying party's key parser refuses as ErrWeakKey.
func TestROCAKeyHasTheFingerprintAndSigns(t *testing.T) {
	k, err := ROCAKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jose.ParseJWK(rsaJWK(&k.PublicKey)); jose.KindOf(err) != jose.ErrWeakKey {
		t.Fatalf("ParseJWK of the ROCA key: %v", err)
	}
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	kid, err := p.UseROCAKey()
	if err != nil {
		t.Fatal(err)
	}
	tok := p.Sign(map[string]any{"alg": "RS256"}, map[string]any{"sub": "x"})
	if _, _, err := p.Verify(tok); err != nil || p.SigningKeyID() != kid {
		t.Fatalf("the provider does not sign with the ROCA key: %v (kid %s, want %s)", err, p.SigningKeyID(), kid)
	}
}

// TestOrdinaryRSAKeysHaveNoROCAFingerprint: no false positive on the 2016 keys the
// pool's 64 random primes make, nor on freshly generated keys.
func TestOrdinaryRSAKeysHaveNoROCAFingerprint(t *testing.T) {
	var pool []*big.Int
	for _, s := range rsaPrimes {
		p, _ := new(big.Int).SetString(s, 62)
		pool = append(pool, p)
	}
	n := 0
	for i := range pool {
		for j := i + 1; j < len(pool); j++ {
			pub := &rsa.PublicKey{N: new(big.Int).Mul(pool[i], pool[j]), E: 65537}
			if _, err := jose.ParseJWK(rsaJWK(pub)); err != nil {
				t.Fatalf("pooled key %d×%d refused: %v", i, j, err)
			}
			n++
		}
	}
	// Fresh keys, generated in parallel (prime generation dominates).
	const fresh = 8
	errs := make([]error, fresh)
	var wg sync.WaitGroup
	for i := 0; i < fresh; i++ {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err == nil {
				_, err = jose.ParseJWK(rsaJWK(&k.PublicKey))
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("fresh key %d: %v", i, err)
		}
	}
	t.Logf("%d pooled and %d fresh RSA-2048 keys accepted", n, fresh)
}
