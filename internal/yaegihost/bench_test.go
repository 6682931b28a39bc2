package yaegihost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The floor: a plugin that only calls next, under the same host.
func BenchmarkYaegiPassthroughFloor(b *testing.B) {
	h, err := LoadPassthrough(".", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	mw, err := h.Build(context.Background(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), nil, "floor")
	if err != nil {
		b.Fatal(err)
	}
	benchServe(b, mw, "/app")
}

func BenchmarkYaegiUnauthenticated401(b *testing.B) {
	benchServe(b, build(b, baseConfig(), "bench401"), "/app")
}

func BenchmarkYaegiExcludedURL(b *testing.B) {
	cfg := baseConfig()
	cfg["excludedURLs"] = "/health"
	benchServe(b, build(b, cfg, "benchExcluded"), "/health")
}

func benchServe(b *testing.B, h http.Handler, path string) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept-Encoding", "gzip")
	rw := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range rw.h {
			delete(rw.h, k)
		}
		h.ServeHTTP(rw, req)
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkYaegiExcludedURLWithOtherCookies: an excluded request with cookies that
// are not Gatehouse's (a public page's analytics cookies): they pass untouched.
func BenchmarkYaegiExcludedURLWithOtherCookies(b *testing.B) {
	cfg := baseConfig()
	cfg["excludedURLs"] = "/health,/public/"
	h := build(b, cfg, "benchExcludedCookies")
	req := httptest.NewRequest("GET", "/public/app.css", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "bench")
	cookie := []string{"_ga=GA1.2.12345.67890; theme=dark"}
	rw := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.Header["Cookie"] = cookie
		h.ServeHTTP(rw, req)
	}
	b.StopTimer()
	if got := req.Header.Get("Cookie"); got != cookie[0] {
		b.Fatalf("the backend got Cookie %q", got)
	}
}
