package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
)

func testConfig() *config.Config {
	c := config.Default()
	c.Provider.Issuer = "https://idp.example.com"
	c.Provider.ClientID = "gatehouse"
	c.Provider.ClientSecret = "secret"
	c.Session.Keys = []string{"0123456789abcdef0123456789abcdef-key"}
	c.ExcludedURLs = []string{"/health", "/public/"}
	c.LogLevel = "error"
	return c
}

func newTestMiddleware(t testing.TB, c *config.Config, next http.Handler) *Middleware {
	t.Helper()
	h, err := New(context.Background(), next, c, "test")
	if err != nil {
		t.Fatal(err)
	}
	return h.(*Middleware)
}

func TestIdentityHeaderVariantsAreStripped(t *testing.T) {
	c := testConfig()
	c.Headers.User = "Remote-User"
	var got http.Header
	m := newTestMiddleware(t, c, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	req := httptest.NewRequest("GET", "/health", nil)
	for _, n := range []string{"Remote-User", "Remote_User", "X-Forwarded-User", "X_Forwarded_User", "X.Forwarded.Email", "X-Gatehouse-Session"} {
		req.Header[n] = []string{"spoofed"}
	}
	req.Header.Set("Accept", "text/html")
	m.ServeHTTP(httptest.NewRecorder(), req)
	// Raw map access: the spoofed names are not canonical (X_Forwarded_User), so
	// Header.Get would never find them.
	for n, v := range got {
		for _, x := range v {
			if x == "spoofed" {
				t.Errorf("%s reached the backend", n)
			}
		}
	}
	if got.Get("Accept") != "text/html" {
		t.Error("an unrelated header was removed")
	}
}

func TestUnauthenticatedRequestIsRefusedNotPassedThrough(t *testing.T) {
	called := false
	m := newTestMiddleware(t, testConfig(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/app", nil)
	req.Header.Set("Accept", "application/json")
	m.ServeHTTP(rec, req)
	if called || rec.Code != http.StatusUnauthorized {
		t.Fatalf("API client: called=%v status=%d", called, rec.Code)
	}
	// A browser is sent to sign in; with this test's unreachable provider that is a
	// 503, and never the backend.
	rec = httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/app", nil))
	if called || rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("browser: called=%v status=%d", called, rec.Code)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: %v", rec.Header())
	}
}

func TestAbortHandlerPanicIsNotSwallowed(t *testing.T) {
	m := newTestMiddleware(t, testConfig(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler re-raised", r)
		}
	}()
	m.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/health", nil))
}

func BenchmarkUnauthenticated(b *testing.B) {
	m := newTestMiddleware(b, testConfig(), http.NotFoundHandler())
	req := httptest.NewRequest("GET", "/app", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "bench")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.ServeHTTP(httptest.NewRecorder(), req)
	}
}
