package yaegihost

import (
	"reflect"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// BenchmarkYaegiVerify is BenchmarkVerify of internal/jose run by the interpreter:
// the loops are interpreted code (entered once per benchmark run), so ns/op is the
// interpreted cost of one token check (jose) and of the bare crypto call (bare).
func BenchmarkYaegiVerify(b *testing.B) {
	newBench := joseFunc(b, "NewBench")
	verify := joseFunc(b, "VerifyLoop")
	bare := joseFunc(b, "BareLoop")
	for _, alg := range josetest.BenchAlgs() {
		in := newBench.Call([]reflect.Value{reflect.ValueOf(alg)})[0]
		for _, c := range []struct {
			name string
			loop reflect.Value
		}{{"jose", verify}, {"bare", bare}} {
			c := c
			b.Run(alg+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				out := c.loop.Call([]reflect.Value{in, reflect.ValueOf(b.N)})
				if err := out[0].Interface(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkYaegiClaims is BenchmarkClaims of internal/jose under the interpreter.
func BenchmarkYaegiClaims(b *testing.B) {
	in := joseFunc(b, "NewBench").Call([]reflect.Value{reflect.ValueOf("RS256")})[0]
	loop := joseFunc(b, "ClaimsLoop")
	b.ReportAllocs()
	b.ResetTimer()
	out := loop.Call([]reflect.Value{in, reflect.ValueOf(b.N)})
	if err := out[0].Interface(); err != nil {
		b.Fatal(err)
	}
}
