package jose_test

import (
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// BenchmarkVerify reports, per algorithm, what Gatehouse pays for one uncached token
// (jose: PreCheck + Verify) next to the bare crypto call on the same input (bare: the
// hash and the crypto package's verify, key and signature decoded in advance). The
// difference is the cost of our parsing and checks. The same loops run under Yaegi in
// internal/yaegihost (BenchmarkYaegiVerify).
func BenchmarkVerify(b *testing.B) {
	for _, alg := range josetest.BenchAlgs() {
		in := josetest.NewBench(alg)
		b.Run(alg+"/jose", func(b *testing.B) {
			b.ReportAllocs()
			if err := josetest.VerifyLoop(in, b.N); err != nil {
				b.Fatal(err)
			}
		})
		b.Run(alg+"/bare", func(b *testing.B) {
			b.ReportAllocs()
			if err := josetest.BareLoop(in, b.N); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkClaims: DecodeClaims (strict), CheckTimes, aud and sub on a ~600-byte
// access-token payload.
func BenchmarkClaims(b *testing.B) {
	in := josetest.NewBench("RS256")
	b.ReportAllocs()
	if err := josetest.ClaimsLoop(in, b.N); err != nil {
		b.Fatal(err)
	}
}
