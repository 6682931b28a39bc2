package yaegihost

import (
	"fmt"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// The cache's hot path under Yaegi. Each benchmark makes one call into the
// interpreter, whose loop runs b.N times, so ns/op is the interpreted loop's
// iteration; BenchmarkYaegiEmptyLoop is that loop with an empty body (subtract it
// for the operation alone). Compiled counterparts: BenchmarkL1Get, BenchmarkL1Set,
// BenchmarkStoreGetL1Hit in internal/cache.

func BenchmarkYaegiEmptyLoop(b *testing.B) {
	f := yfunc(b, "EmptyLoop")
	b.ResetTimer()
	call(f, b.N)
}

func BenchmarkYaegiL1Get(b *testing.B) {
	keys := call(yfunc(b, "Keys"), 1024)[0]
	c := call(yfunc(b, "NewL1"), keys)[0]
	f := yfunc(b, "L1GetLoop")
	b.ReportAllocs()
	b.ResetTimer()
	if hits := call(f, c, keys, b.N)[0].Int(); hits != int64(b.N) {
		b.Fatalf("%d hits of %d", hits, b.N)
	}
}

func BenchmarkYaegiL1Set(b *testing.B) {
	keys := call(yfunc(b, "Keys"), 1024)[0]
	c := call(yfunc(b, "NewL1"), keys)[0]
	f := yfunc(b, "L1SetLoop")
	b.ReportAllocs()
	b.ResetTimer()
	call(f, c, keys, b.N)
}

// BenchmarkYaegiStoreGetL1Hit: Store.Get answered from L1 (SHA-256 of the id, L1
// lookup, coherence check): memory mode, and hybrid mode on a cached "not revoked"
// (tracking live).
func BenchmarkYaegiStoreGetL1Hit(b *testing.B) {
	ids := call(yfunc(b, "Keys"), 64)[0]
	revoked, _ := host(b).Eval("cachetest.Revoked")
	for _, loop := range []string{"StoreGetLoop", "StoreMethodGetLoop"} {
		loop := loop
		name := map[string]string{"StoreGetLoop": "memory-Lookup", "StoreMethodGetLoop": "memory-method"}[loop]
		b.Run(name, func(b *testing.B) {
			s := call(yfunc(b, "NewMemoryStore"))[0]
			defer call(yfunc(b, "CloseStore"), s)
			if e := call(yfunc(b, "StoreSetAll"), s, revoked, ids)[0].String(); e != "" {
				b.Fatal(e)
			}
			f := yfunc(b, loop)
			b.ReportAllocs()
			b.ResetTimer()
			if n := call(f, s, revoked, ids, b.N)[0].Int(); n != int64(b.N) {
				b.Fatalf("%d found of %d", n, b.N)
			}
		})
	}
	b.Run("hybrid-not-revoked-Lookup", func(b *testing.B) {
		srv := redistest.Start(b, redistest.Options{})
		out := call(yfunc(b, "OpenHybrid"), srv.URL(), "ybench:")
		if e := out[1].String(); e != "" {
			b.Fatal(e)
		}
		s := out[0]
		defer call(yfunc(b, "CloseStore"), s)
		f := yfunc(b, "StoreGetLoop")
		call(f, s, revoked, ids, 64) // cache the "not found" answers
		before := srv.CommandStats()["get"]
		b.ReportAllocs()
		b.ResetTimer()
		if n := call(f, s, revoked, ids, b.N)[0].Int(); n != 0 {
			b.Fatalf("%d found", n)
		}
		b.StopTimer()
		if after := srv.CommandStats()["get"]; after != before {
			b.Fatalf("%d GETs sent to Redis during L1 hits", after-before)
		}
	})
}

// BenchmarkYaegiGeneration: cache.GenerationOf, and the Store.Generation method.
func BenchmarkYaegiGeneration(b *testing.B) {
	for _, loop := range []string{"GenerationLoop", "MethodGenerationLoop"} {
		loop := loop
		b.Run(map[string]string{"GenerationLoop": "GenerationOf", "MethodGenerationLoop": "method"}[loop], func(b *testing.B) {
			s := call(yfunc(b, "NewMemoryStore"))[0]
			defer call(yfunc(b, "CloseStore"), s)
			f := yfunc(b, loop)
			b.ReportAllocs()
			b.ResetTimer()
			call(f, s, b.N)
		})
	}
}

// BenchmarkYaegiRESPThroughput is BenchmarkRESPThroughput (internal/cache/redis) with
// the client interpreted: GET and SET from 1, 16 and 64 goroutines on a pool of 4
// connections, one command per call or 16 per pipeline, next to redis-benchmark under
// the same load (redistest.SameLoad: as many connections, as many commands in flight
// on each; x-redis-benchmark) and with one connection per caller (x-conn-per-caller).
func BenchmarkYaegiRESPThroughput(b *testing.B) {
	const pool = 4
	srv := redistest.Start(b, redistest.Options{})
	f := yfunc(b, "Throughput")
	ref := map[string]float64{}
	reference := func(b *testing.B, op string, clients, pipeline int) float64 {
		key := fmt.Sprintf("%s/%d/%d", op, clients, pipeline)
		if _, ok := ref[key]; !ok {
			rps, err := srv.Benchmark(op, clients, pipeline, redistest.ReferenceRequests(clients, pipeline))
			if err != nil {
				b.Fatal(err)
			}
			ref[key] = rps
		}
		return ref[key]
	}
	for _, op := range []string{"get", "set"} {
		for _, callers := range []int{1, 16, 64} {
			for _, depth := range []int{1, 16} {
				op, callers, depth := op, callers, depth
				b.Run(fmt.Sprintf("%s/callers=%d/depth=%d", op, callers, depth), func(b *testing.B) {
					clients, pipeline := redistest.SameLoad(callers, depth, pool)
					same := reference(b, op, clients, pipeline)
					perCaller := reference(b, op, callers, depth)
					b.ResetTimer()
					out := call(f, srv.Addr(), pool, callers, depth, b.N, op)
					if e := out[1].String(); e != "" {
						b.Fatal(e)
					}
					ops := out[0].Float()
					b.ReportMetric(ops, "ops/s")
					b.ReportMetric(same, "redis-benchmark-ops/s")
					b.ReportMetric(ops/same, "x-redis-benchmark")
					b.ReportMetric(ops/perCaller, "x-conn-per-caller")
				})
			}
		}
	}
}
