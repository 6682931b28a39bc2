package redis_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/cachetest"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// benchRef holds redis-benchmark's figure for each configuration, measured once.
var (
	benchRef = map[string]float64{}
	benchMu  sync.Mutex
)

// referenceRPS runs redis-benchmark once per (test, clients, pipeline) on srv.
func referenceRPS(b *testing.B, srv *redistest.Server, op string, clients, depth int) float64 {
	key := fmt.Sprintf("%s/%d/%d", op, clients, depth)
	benchMu.Lock()
	defer benchMu.Unlock()
	if v, ok := benchRef[key]; ok {
		return v
	}
	rps, err := srv.Benchmark(op, clients, depth, redistest.ReferenceRequests(clients, depth))
	if err != nil {
		b.Fatal(err)
	}
	benchRef[key] = rps
	return rps
}

// BenchmarkRESPThroughput: GET and SET through the client from 1 and 64 goroutines,
// one command per call (plain) or 16 per pipeline, next to redis-benchmark with the
// same concurrency and pipeline depth on the same server. Metrics: ops/s, and
// x-redis-benchmark, the ratio of the two. BenchmarkYaegiRESPThroughput in
// internal/yaegihost runs the same code under the interpreter.
func BenchmarkRESPThroughput(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	for _, op := range []string{"get", "set"} {
		for _, callers := range []int{1, 64} {
			for _, depth := range []int{1, 16} {
				op, callers, depth := op, callers, depth
				b.Run(fmt.Sprintf("%s/callers=%d/depth=%d", op, callers, depth), func(b *testing.B) {
					ref := referenceRPS(b, srv, op, callers, depth)
					b.ResetTimer()
					ops, e := cachetest.Throughput(srv.Addr(), 10, callers, depth, b.N, op)
					if e != "" {
						b.Fatal(e)
					}
					b.ReportMetric(ops, "ops/s")
					b.ReportMetric(ref, "redis-benchmark-ops/s")
					b.ReportMetric(ops/ref, "x-redis-benchmark")
				})
			}
		}
	}
}
