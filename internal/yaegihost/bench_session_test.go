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
	h, req, reachedAll := signedInRequest(b, md, testop.Options{}, path, mutate...)
	ctx := req.Context()
	rw := &discardWriter{h: http.Header{}}
	serve := func() {
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
		reachedAll()
	}
	return serve, check
}

// signedInRequest signs in through a real server in front of an instance of the
// configuration (its provider started with opts) and returns that instance's
// handler, now in front of a no-op backend, a signed-in request to path to send it
// (a clone each time: the handler rewrites headers), and a function that fails the
// benchmark unless every request the handler served since reached the backend.
func signedInRequest(b *testing.B, md mode, opts testop.Options, path string, mutate ...func(map[string]any)) (http.Handler, *http.Request, func()) {
	op := newOP(b, opts)
	cfg := rpConfig(op)
	for _, f := range mutate {
		f(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	h, echo, reachedAll := countedHandler(b, md, ctx, cfg)
	echo.Store(true)
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	br := newBrowser()
	if p := br.get(b, srv.URL+"/"); p.status != 200 {
		b.Fatalf("login: %d", p.status)
	}
	var cookie []string
	for _, c := range sessionCookies(br, srv.URL) {
		cookie = append(cookie, c.Name+"="+c.Value)
	}
	echo.Store(false)
	req := httptest.NewRequest("GET", "/app", nil).WithContext(ctx)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Cookie", strings.Join(cookie, "; ")+"; theme=dark")
	// One request first: it opens the cookie and checks revocation once.
	h.ServeHTTP(&discardWriter{h: http.Header{}}, req.Clone(ctx))
	req.URL.Path = path
	return h, req, reachedAll
}

// countedHandler builds an instance of cfg and returns it, a switch that puts the
// echo backend behind it (for signing in) instead of a no-op one, and a function
// that fails the benchmark unless every request it served with the no-op backend
// reached it (none was refused or redirected).
func countedHandler(b *testing.B, md mode, ctx context.Context, cfg map[string]any) (http.Handler, *atomic.Bool, func()) {
	var reached, sent atomic.Int64
	echo := &atomic.Bool{}
	backend := echoBackend()
	h := md.build(b, ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if echo.Load() {
			backend.ServeHTTP(w, r)
			return
		}
		reached.Add(1)
	}), cfg, "bench@file")
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !echo.Load() {
			sent.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	return counted, echo, func() {
		if reached.Load() != sent.Load() {
			b.Fatalf("%d of %d benchmarked requests reached the backend", reached.Load(), sent.Load())
		}
	}
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
