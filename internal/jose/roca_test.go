package jose_test

import (
	"math/big"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// TestROCASubgroupsAreThePublishedFingerprint: the powers of 65537 modulo each small
// prime, computed here, are the residue masks the paper's authors publish in their
// detector (roca/detect.py, "prints"), for the primes whose mask fits 64 bits.
func TestROCASubgroupsAreThePublishedFingerprint(t *testing.T) {
	published := []uint64{6, 30, 126, 1026, 5658, 107286, 199410, 8388606, 536870910, 2147483646, 67109890,
		2199023255550, 8796093022206, 140737488355326, 5310023542746834, 576460752303423486, 1455791217086302986}
	for i, want := range published {
		p := jose.ROCAPrimes[i]
		var mask uint64
		for r := int64(0); r < p; r++ {
			if jose.OrderOf65537(p, r) != 0 {
				mask |= 1 << uint(r)
			}
		}
		if mask != want {
			t.Errorf("p = %d: powers of 65537 %b, published %b", p, mask, want)
		}
	}
}

// TestModulusPassingEachPrimeButNoPowerOf65537IsNotROCA: the detector's "fake"
// moduli pass the per-prime test but are no single power of 65537 modulo the
// primorial; the subgroup test lets them through, as the authors' dlog detector does.
func TestModulusPassingEachPrimeButNoPowerOf65537IsNotROCA(t *testing.T) {
	fake, _ := new(big.Int).SetString(josetest.RocaFakeMod0, 10)
	for _, n := range []*big.Int{fake, josetest.RocaFakeModulus2048()} {
		r := new(big.Int)
		for _, p := range jose.ROCAPrimes {
			if jose.OrderOf65537(p, r.Mod(n, big.NewInt(p)).Int64()) == 0 {
				t.Fatalf("the fake modulus fails the per-prime test at %d: it tests nothing", p)
			}
		}
		if jose.HasROCAFingerprint(n) {
			t.Fatalf("a %d-bit modulus that is no power of 65537 was taken for a ROCA key", n.BitLen())
		}
	}
}

// BenchmarkROCAFingerprint is the cost the test adds to parsing one RSA key: an
// ordinary modulus (fails within a few primes) and one with the fingerprint (every
// prime, then the subgroup test).
func BenchmarkROCAFingerprint(b *testing.B) {
	ordinary := josetest.NewKeys().RSA.N
	fake := josetest.RocaFakeModulus2048()
	for _, c := range []struct {
		name string
		n    *big.Int
	}{{"ordinary", ordinary}, {"each-prime-but-no-power", fake}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				jose.HasROCAFingerprint(c.n)
			}
		})
	}
}
