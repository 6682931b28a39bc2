package yaegihost

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Bearer benchmarks: the per-request cost of a machine request, next to the floor.
// Every iteration hands the handler a request with fresh headers (the plugin
// rewrites them); BenchmarkYaegiPassthroughFloorFreshHeaders is the floor with the
// same per-iteration reset, so the two are directly comparable.

// freshHeaders resets req's header map to what a machine client sends.
func freshHeaders(req *http.Request, auth []string) {
	req.Header = http.Header{
		"Accept":          {"application/json"},
		"User-Agent":      {"bench"},
		"Accept-Encoding": {"gzip"},
	}
	if auth != nil {
		req.Header["Authorization"] = auth
	}
}

func benchBearerHandler(b *testing.B, md mode, op *testop.Provider) http.Handler {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	return md.build(b, ctx, next, bearerConfig(op), "bench-bearer@file")
}

// benchBearerCached: the same valid token every time, verified once before the timer
// starts — the hot path.
func benchBearerCached(b *testing.B, md mode) {
	op := newOP(b, testop.Options{})
	h := benchBearerHandler(b, md, op)
	auth := []string{"Bearer " + ordersToken(b, op)}
	req, err := http.NewRequest("GET", "http://gatehouse.test/orders", nil)
	if err != nil {
		b.Fatal(err)
	}
	rw := &statusWriter{h: http.Header{}}
	freshHeaders(req, auth)
	h.ServeHTTP(rw, req)
	if rw.status != 0 || req.Header.Get("X-Forwarded-User") != "svc-orders" {
		b.Fatalf("the token was not accepted: %d", rw.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		freshHeaders(req, auth)
		h.ServeHTTP(rw, req)
	}
	b.StopTimer()
	if rw.status != 0 || req.Header.Get("X-Forwarded-User") != "svc-orders" {
		b.Fatalf("a benchmarked request was refused: %d", rw.status)
	}
}

// benchBearerFirstSight: every request brings a token never seen before, so it is
// parsed, its signature verified with the (already fetched) RS256 key, its claims
// checked, revocation consulted, its principal built and its verdict stored. Tokens
// are signed outside the timer.
func benchBearerFirstSight(b *testing.B, md mode) {
	op := newOP(b, testop.Options{})
	h := benchBearerHandler(b, md, op)
	req, err := http.NewRequest("GET", "http://gatehouse.test/orders", nil)
	if err != nil {
		b.Fatal(err)
	}
	rw := &statusWriter{h: http.Header{}}
	claims := validClaims(op)
	mint := func(i int) []string {
		claims["jti"] = "bench-" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		return []string{"Bearer " + op.Sign(nil, claims)}
	}
	freshHeaders(req, mint(-1)) // fetches the key set once
	h.ServeHTTP(rw, req)
	if rw.status != 0 {
		b.Fatalf("the token was not accepted: %d", rw.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		auth := mint(i)
		freshHeaders(req, auth)
		b.StartTimer()
		h.ServeHTTP(rw, req)
	}
	b.StopTimer()
	if rw.status != 0 || req.Header.Get("X-Forwarded-User") != "svc-orders" {
		b.Fatalf("a benchmarked request was refused: %d", rw.status)
	}
	if op.Count("jwks") != 1 {
		b.Fatalf("%d JWKS fetches", op.Count("jwks"))
	}
}

func BenchmarkYaegiBearerCached(b *testing.B)        { benchBearerCached(b, modes[0]) }
func BenchmarkCompiledBearerCached(b *testing.B)     { benchBearerCached(b, modes[1]) }
func BenchmarkYaegiBearerFirstSight(b *testing.B)    { benchBearerFirstSight(b, modes[0]) }
func BenchmarkCompiledBearerFirstSight(b *testing.B) { benchBearerFirstSight(b, modes[1]) }

// BenchmarkYaegiPassthroughFloorFreshHeaders is BenchmarkYaegiPassthroughFloor with
// the bearer benchmarks' per-iteration header reset (Authorization included).
func BenchmarkYaegiPassthroughFloorFreshHeaders(b *testing.B) {
	h, err := LoadPassthrough(".", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	mw, err := h.Build(context.Background(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), nil, "floor")
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://gatehouse.test/orders", nil)
	rw := &statusWriter{h: http.Header{}}
	auth := []string{"Bearer x"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		freshHeaders(req, auth)
		mw.ServeHTTP(rw, req)
	}
}

// statusWriter records the status a handler wrote (0: none, as the no-op backend).
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header         { return w.h }
func (w *statusWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *statusWriter) WriteHeader(s int)           { w.status = s }
