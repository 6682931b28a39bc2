package cache

import (
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// BenchmarkStoreGetL1Hit: the request path's read answered from L1 (SHA-256 of the
// id, one L1 lookup under the lock, the coherence check), compiled.
// BenchmarkYaegiStoreGetL1Hit in internal/yaegihost is the same under Yaegi.
func BenchmarkStoreGetL1Hit(b *testing.B) {
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = "session-" + strconv.Itoa(i)
	}
	b.Run("memory", func(b *testing.B) {
		s, _ := newStore(b, memoryOptions())
		for _, id := range ids {
			_ = s.Set(bg, ksRevoked, id, []byte("1"), time.Hour)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, ok, _ := Lookup(s, bg, ksRevoked, ids[i&63]); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("hybrid-not-revoked", func(b *testing.B) {
		srv := redistest.Start(b, redistest.Options{})
		s := newReplica(b, srv, "hybrid", "bench:")
		for _, id := range ids {
			_, _, _ = s.Get(bg, ksRevoked, id)
		}
		reads := s.Stats().L2Reads
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, ok, err := Lookup(s, bg, ksRevoked, ids[i&63]); ok || err != nil {
				b.Fatal(ok, err)
			}
		}
		b.StopTimer()
		if n := s.Stats().L2Reads - reads; n != 0 {
			b.Fatalf("%d reads reached Redis", n)
		}
	})
}

func BenchmarkStoreGeneration(b *testing.B) {
	s, _ := newStore(b, memoryOptions())
	b.ReportAllocs()
	var g uint64
	for i := 0; i < b.N; i++ {
		g += GenerationOf(s)
	}
	_ = g
}

// BenchmarkStoreSetRevocation: a revocation write in hybrid mode (L1, then SET to
// Redis synchronously).
func BenchmarkStoreSetRevocation(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	s := newReplica(b, srv, "hybrid", "benchset:")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Set(bg, ksRevoked, "r"+strconv.Itoa(i&1023), []byte("1"), time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevocationPropagation reports, over b.N revocations written on one of three
// hybrid stores, the latency until the other two enforce them (p50, p99, max in
// microseconds).
func BenchmarkRevocationPropagation(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	rs := threeReplicas(b, srv, "benchprop:")
	b.ResetTimer()
	lat := propagation(b, rs, b.N, "b"+strconv.Itoa(b.N))
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}
