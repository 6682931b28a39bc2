package yaegihost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// benchSession signs in through a real server, then benchmarks the handler directly
// with the session cookie: the per-request cost of an authenticated browser request.
func benchSession(b *testing.B, md mode, mutate ...func(map[string]any)) {
	benchSessionAt(b, md, "/app", mutate...)
}

// benchSessionAt is benchSession for requests to path (after a first request to /app
// with the same Cookie header).
func benchSessionAt(b *testing.B, md mode, path string, mutate ...func(map[string]any)) {
	serve, check := sessionRequester(b, md, path, mutate...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serve()
	}
	b.StopTimer()
	check()
}

// sessionRequester signs in through a real server and returns a function that sends
// one signed-in request to path straight to the handler, and one that fails the
// benchmark if the last request was redirected.
func sessionRequester(b *testing.B, md mode, path string, mutate ...func(map[string]any)) (func(), func()) {
	op := newOP(b, testop.Options{})
	cfg := rpConfig(op)
	for _, f := range mutate {
		f(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	var reached, sent atomic.Int64
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) })
	h := md.build(b, ctx, next, cfg, "bench@file")
	srv := httptest.NewServer(md.build(b, ctx, echoBackend(), cfg, "bench@file"))
	b.Cleanup(srv.Close)
	br := newBrowser()
	if p := br.get(b, srv.URL+"/"); p.status != 200 {
		b.Fatalf("login: %d", p.status)
	}
	var cookie []string
	for _, c := range sessionCookies(br, srv.URL) {
		cookie = append(cookie, c.Name+"="+c.Value)
	}
	req := httptest.NewRequest("GET", "/app", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Cookie", strings.Join(cookie, "; ")+"; theme=dark")
	rw := &discardWriter{h: http.Header{}}
	// One request first: it opens the cookie and checks revocation once.
	h.ServeHTTP(rw, req.Clone(ctx))
	req.URL.Path = path
	serve := func() {
		sent.Add(1)
		r := req.Clone(ctx)
		for k := range rw.h {
			delete(rw.h, k)
		}
		h.ServeHTTP(rw, r)
	}
	check := func() {
		if rw.h.Get("Location") != "" {
			b.Fatal("the benchmarked request was redirected: the session is not valid")
		}
		if reached.Load() != sent.Load()+1 {
			b.Fatalf("%d of %d benchmarked requests reached the backend", reached.Load()-1, sent.Load())
		}
	}
	return serve, check
}

func BenchmarkYaegiValidSession(b *testing.B)    { benchSession(b, modes[0]) }
func BenchmarkCompiledValidSession(b *testing.B) { benchSession(b, modes[1]) }

// BenchmarkRequestClone is what the session benchmarks spend outside the plugin.
func BenchmarkRequestClone(b *testing.B) {
	req := httptest.NewRequest("GET", "/app", nil)
	req.Header.Set("Cookie", "a=b")
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = req.Clone(ctx)
	}
}

func BenchmarkYaegiValidSessionNoCookieStrip(b *testing.B) {
	benchSession(b, modes[0], func(c map[string]any) { group(c, "headers")["stripCookies"] = false })
}
func BenchmarkYaegiValidSessionMinimal(b *testing.B) {
	benchSession(b, modes[0], func(c map[string]any) {
		group(c, "headers")["stripCookies"] = false
		group(c, "headers")["minimal"] = true
	})
}

// BenchmarkYaegiValidSessionBesideExclusions: a signed-in request on an instance whose
// three excludedURLs do not cover it: what the exclusion check adds to every request.
func BenchmarkYaegiValidSessionBesideExclusions(b *testing.B) {
	benchSession(b, modes[0], func(c map[string]any) { c["excludedURLs"] = "/health,/public/,/.well-known/" })
}

// BenchmarkYaegiExcludedURLSignedIn: a signed-in browser's request to an excluded URL
// (its Cookie header seen before): Gatehouse's cookies are removed before forwarding.
func BenchmarkYaegiExcludedURLSignedIn(b *testing.B) {
	benchSessionAt(b, modes[0], "/public/app.css", func(c map[string]any) { c["excludedURLs"] = "/health,/public/" })
}
