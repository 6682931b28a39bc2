package yaegihost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// BenchmarkYaegiCachedPathsAgainstFloor: every path a user hits whose answer is
// cached, under Yaegi, each sent in turn with the same request to the pass-through
// floor (testdata/passthrough: a plugin whose ServeHTTP calls next, loaded through
// the same host), so that both see the same load on a shared machine. Per path it
// reports ns/op and allocs/op of Gatehouse (ns/op, path-allocs/op) and of the floor
// (floor-ns/op, floor-allocs/op), and x-floor, the ratio
// of their times. `make bench` prints them as a table. Only ServeHTTP is timed and
// counted: the per-request clone of the request (the handler rewrites its headers)
// is not.
func BenchmarkYaegiCachedPathsAgainstFloor(b *testing.B) {
	md := modes[0]
	h, err := LoadPassthrough(".", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	floor, err := h.Build(context.Background(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), nil, "floor")
	if err != nil {
		b.Fatal(err)
	}
	session := func(opts testop.Options, chunks int, mutate ...func(map[string]any)) func(*testing.B) (http.Handler, *http.Request, func()) {
		return func(b *testing.B) (http.Handler, *http.Request, func()) {
			h, req, check := signedInRequest(b, md, opts, "/app", mutate...)
			if n := strings.Count(req.Header.Get("Cookie"), "_gatehouse"); n != chunks {
				b.Fatalf("the session cookie has %d chunks, not %d", n, chunks)
			}
			return h, req, check
		}
	}
	bearerReq := func(cookie string) func(*testing.B) (http.Handler, *http.Request, func()) {
		return func(b *testing.B) (http.Handler, *http.Request, func()) {
			op := newOP(b, testop.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			b.Cleanup(cancel)
			h, _, check := countedHandler(b, md, ctx, bearerConfig(op))
			req, err := http.NewRequestWithContext(ctx, "GET", "http://gatehouse.test/orders", nil)
			if err != nil {
				b.Fatal(err)
			}
			freshHeaders(req, []string{"Bearer " + ordersToken(b, op)})
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			h.ServeHTTP(&discardWriter{h: http.Header{}}, req.Clone(ctx)) // verified once
			return h, req, check
		}
	}
	paths := []struct {
		name  string
		setup func(*testing.B) (http.Handler, *http.Request, func())
	}{
		{"session-cookie-1-chunk", session(testop.Options{}, 1)},
		{"session-cookie-4-chunks", session(testop.Options{AutoLoginUser: "grace"}, 4)},
		{"session-server-side", session(testop.Options{}, 1, func(c map[string]any) { group(c, "session")["store"] = "cache" })},
		{"bearer", bearerReq("")},
		{"bearer-with-other-cookies", bearerReq("theme=dark; _ga=GA1.2.1234567890.1700000000; csrftoken=Zm9vYmFyYmF6")},
		{"excluded-url", func(b *testing.B) (http.Handler, *http.Request, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			b.Cleanup(cancel)
			cfg := baseConfig()
			cfg["excludedURLs"] = "/health"
			h, _, check := countedHandler(b, md, ctx, cfg)
			req := httptest.NewRequest("GET", "/health", nil).WithContext(ctx)
			req.Header.Set("Accept", "text/html")
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("Accept-Encoding", "gzip")
			return h, req, check
		}},
		{"session-rule-10-of-10", session(testop.Options{}, 1, tenRules)},
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			h, req, check := p.setup(b)
			benchAgainstFloor(b, h, floor, req)
			check()
		})
	}
}

// benchAgainstFloor sends clones of req to h and to floor in turn, in alternating
// order, timing only ServeHTTP; then counts each side's allocations per request
// (less the clone's).
func benchAgainstFloor(b *testing.B, h, floor http.Handler, req *http.Request) {
	ctx := req.Context()
	rw, rwFloor := &discardWriter{h: http.Header{}}, &discardWriter{h: http.Header{}}
	var tPath, tFloor time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, rf := req.Clone(ctx), req.Clone(ctx)
		for k := range rw.h {
			delete(rw.h, k)
		}
		if i%2 == 0 {
			t0 := time.Now()
			h.ServeHTTP(rw, r)
			t1 := time.Now()
			floor.ServeHTTP(rwFloor, rf)
			tFloor += time.Since(t1)
			tPath += t1.Sub(t0)
		} else {
			t0 := time.Now()
			floor.ServeHTTP(rwFloor, rf)
			t1 := time.Now()
			h.ServeHTTP(rw, r)
			tPath += time.Since(t1)
			tFloor += t1.Sub(t0)
		}
	}
	b.StopTimer()
	if rw.h.Get("Location") != "" || rw.h.Get("WWW-Authenticate") != "" {
		b.Fatalf("the benchmarked request was refused: %v", rw.h)
	}
	clone := testing.AllocsPerRun(50, func() { _ = req.Clone(ctx) })
	allocs := testing.AllocsPerRun(50, func() { h.ServeHTTP(rw, req.Clone(ctx)) }) - clone
	floorAllocs := testing.AllocsPerRun(50, func() { floor.ServeHTTP(rwFloor, req.Clone(ctx)) }) - clone
	b.ReportMetric(float64(tPath.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(allocs, "path-allocs/op")
	b.ReportMetric(float64(tFloor.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(floorAllocs, "floor-allocs/op")
	b.ReportMetric(float64(tPath)/float64(tFloor), "x-floor")
}

// BenchmarkYaegiConstructsAgainstFloor measures, against the same floor, what single
// Go constructs cost per request under Yaegi (testdata/constructs): a call of an
// interpreted function, of a compiled method, an atomic load, a clock read, a map
// lookup, a walk over the request's headers, a deferred recover, statements that
// never run, and "minimal-session", the least a cached session request must run
// built from them. It is the lower bound the cached paths above are judged against.
func BenchmarkYaegiConstructsAgainstFloor(b *testing.B) {
	tmp := b.TempDir()
	h, err := LoadPassthrough(".", tmp)
	if err != nil {
		b.Fatal(err)
	}
	floor, err := h.Build(context.Background(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), nil, "floor")
	if err != nil {
		b.Fatal(err)
	}
	ch, err := LoadConstructs(".", tmp)
	if err != nil {
		b.Fatal(err)
	}
	const cookie = "_gatehouse=Zm9vYmFyYmF6; theme=dark"
	for _, name := range []string{"floor", "call", "compiled-call", "atomic-load", "clock", "map-lookup",
		"header-range", "defer-recover", "dead-branch", "minimal-session"} {
		b.Run(name, func(b *testing.B) {
			var reached atomic.Int64
			next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) })
			hd, err := ch.Build(context.Background(), next, map[string]any{"construct": name, "cookie": cookie}, name)
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/app", nil)
			req.Header.Set("Accept", "text/html")
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("Accept-Encoding", "gzip")
			req.Header.Set("Cookie", cookie)
			benchAgainstFloor(b, hd, floor, req)
			if reached.Load() < int64(b.N) {
				b.Fatalf("%s reached next %d times in %d requests", name, reached.Load(), b.N)
			}
		})
	}
}
