package testop

import (
	"crypto/rsa"
	"math/big"
	"testing"
)

func TestPooledPrimesArePrimeAndMakeFullSizeModuli(t *testing.T) {
	e := big.NewInt(65537)
	seen := map[string]bool{}
	for i, s := range rsaPrimes {
		p, ok := new(big.Int).SetString(s, 62)
		if !ok || p.BitLen() != 1024 || p.Bit(1022) != 1 || !p.ProbablyPrime(0) {
			t.Fatalf("pooled prime %d is not a 1024-bit prime with its top two bits set", i)
		}
		if new(big.Int).Mod(new(big.Int).Sub(p, big.NewInt(1)), e).Sign() == 0 || seen[s] {
			t.Fatalf("pooled prime %d is unusable or repeated", i)
		}
		seen[s] = true
	}
}

func TestRSAPairsAreNeverHandedOutTwice(t *testing.T) {
	n := len(rsaPrimes)
	pairs := map[[2]int]bool{}
	for i := uint64(0); ; i++ {
		a, b, ok := pairAt(i, n)
		if !ok {
			if int(i) != n*(n-1)/2 {
				t.Fatalf("pairAt ran out after %d pairs, expected %d", i, n*(n-1)/2)
			}
			break
		}
		if a >= b || b >= n || pairs[[2]int{a, b}] {
			t.Fatalf("pair %d = (%d,%d) invalid or repeated", i, a, b)
		}
		pairs[[2]int{a, b}] = true
	}
	k1, k2 := pooledRSAKey(), pooledRSAKey()
	if k1 == nil || k2 == nil || k1.N.Cmp(k2.N) == 0 || k1.Validate() != nil {
		t.Fatal("two pooled keys are equal or invalid")
	}
	// Once the pool is used up, keys are generated.
	saved := nextRSAPair.Load()
	nextRSAPair.Store(uint64(n * (n - 1) / 2))
	defer nextRSAPair.Store(saved)
	if pooledRSAKey() != nil {
		t.Fatal("exhausted pool still handed out a key")
	}
	k, err := generateKey("RS256")
	if err != nil || k.priv.(*rsa.PrivateKey).N.BitLen() != 2048 {
		t.Fatalf("fallback generation: %v", err)
	}
}
