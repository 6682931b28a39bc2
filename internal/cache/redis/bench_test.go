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

// benchPool is the client's pool size in the throughput benchmarks (Options'
// default).
const benchPool = 4

// BenchmarkRESPThroughput: GET and SET through the client from 1, 16 and 64
// goroutines, one command per call (depth=1: concurrent callers share the pool's
// writes and round trips, implicit pipelining) or 16 per Pipeline call, next to
// redis-benchmark on the same server in the same run. Metrics:
//
//   - ops/s: the client's commands per second;
//   - redis-benchmark-ops/s and x-redis-benchmark: redis-benchmark under the same load
//     (redistest.SameLoad: -c min(callers, pool) -P callers*depth/that, -3, -d 3, one
//     key), and the client's ratio to it — the fair comparison: same connections, same
//     commands in flight on each;
//   - x-conn-per-caller: the ratio to redis-benchmark with one connection per caller
//     (-c callers -P depth), what a client without multiplexing would get.
//
// BenchmarkYaegiRESPThroughput in internal/yaegihost runs the same code under the
// interpreter.
func BenchmarkRESPThroughput(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	for _, op := range []string{"get", "set"} {
		for _, callers := range []int{1, 16, 64} {
			for _, depth := range []int{1, 16} {
				op, callers, depth := op, callers, depth
				b.Run(fmt.Sprintf("%s/callers=%d/depth=%d", op, callers, depth), func(b *testing.B) {
					clients, pipeline := redistest.SameLoad(callers, depth, benchPool)
					ref := referenceRPS(b, srv, op, clients, pipeline)
					perCaller := referenceRPS(b, srv, op, callers, depth)
					b.ResetTimer()
					ops, e := cachetest.Throughput(srv.Addr(), benchPool, callers, depth, b.N, op)
					if e != "" {
						b.Fatal(e)
					}
					b.ReportMetric(ops, "ops/s")
					b.ReportMetric(ref, "redis-benchmark-ops/s")
					b.ReportMetric(ops/ref, "x-redis-benchmark")
					b.ReportMetric(ops/perCaller, "x-conn-per-caller")
				})
			}
		}
	}
}
