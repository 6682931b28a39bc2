package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestMetricsOfARemovedMiddlewareAreForgotten: the process-wide registry keeps a
// middleware's counters while an instance lives and for metricsSetGrace after the
// last one ended (a reload builds the next one well within it); after that, building
// another middleware forgets them, so a middleware removed from the configuration
// does not stay in memory for the life of Traefik. Its name, built again later,
// starts from zero.
func TestMetricsOfARemovedMiddlewareAreForgotten(t *testing.T) {
	build := func(ctx context.Context, name string) *Middleware {
		t.Helper()
		h, err := New(ctx, http.NotFoundHandler(), testConfig(), name)
		if err != nil {
			t.Fatal(err)
		}
		return h.(*Middleware)
	}
	ctx, cancel := context.WithCancel(context.Background())
	removed := build(ctx, "removed-middleware")
	removed.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/app", nil))
	if n := removed.met.c.requests[outcomeRedirected].Load() + removed.met.c.requests[outcome503].Load(); n != 1 {
		t.Fatalf("%d requests counted", n)
	}
	set := removed.met
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		set.mu.Lock()
		live, since := len(set.live), set.emptySince
		set.mu.Unlock()
		if live == 0 && !since.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ended instance is still registered")
		}
		time.Sleep(5 * time.Millisecond)
	}

	other, endOther := context.WithCancel(context.Background())
	defer endOther()
	build(other, "another-middleware")
	if again := build(other, "removed-middleware"); again.met != set {
		t.Fatal("counters forgotten within the grace period (a reload would reset them)")
	}
	set.mu.Lock()
	set.live = nil
	set.emptySince = time.Now().Add(-metricsSetGrace - time.Second)
	set.mu.Unlock()
	build(other, "yet-another-middleware")
	if again := build(other, "removed-middleware"); again.met == set || again.met.c.requests[outcomeRedirected].Load() != 0 {
		t.Fatal("the counters of a middleware gone for longer than the grace period were kept")
	}
}
