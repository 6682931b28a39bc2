package auth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

var revokedSessions = &cache.Keyspace{Name: "revoked", Class: cache.Revocation, MaxTTL: time.Hour}

func redisMiddleware(t *testing.T, ctx context.Context, url, prefix string) *Middleware {
	t.Helper()
	c := testConfig()
	c.Cache.Redis.URL = url
	c.Cache.KeyPrefix = prefix
	c.Cache.ProbeInterval = "50ms"
	h, err := New(ctx, http.NotFoundHandler(), c, "cache-"+prefix)
	if err != nil {
		t.Fatal(err)
	}
	m := h.(*Middleware)
	deadline := time.Now().Add(10 * time.Second)
	for !m.Cache().Coherent() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: cache not coherent: %+v", prefix, m.Cache().Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return m
}

// TestEachInstanceHasItsOwnCacheClosedWithItsContext: instances with different Redis
// servers or key prefixes never see each other's state; instances with the same
// settings share it; cancelling an instance's ctx closes its cache and connections.
func TestEachInstanceHasItsOwnCacheClosedWithItsContext(t *testing.T) {
	one := redistest.Start(t, redistest.Options{})
	two := redistest.Start(t, redistest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := redisMiddleware(t, ctx, one.URL(), "app-a:")
	aTwin := redisMiddleware(t, ctx, one.URL(), "app-a:")
	b := redisMiddleware(t, ctx, one.URL(), "app-b:")
	c := redisMiddleware(t, ctx, two.URL(), "app-a:")
	if s := a.Cache().Stats(); s.Mode != "hybrid" {
		t.Fatalf("a Redis URL should select hybrid mode: %+v", s)
	}
	if err := a.Cache().Set(ctx, revokedSessions, "sid-1", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, found, err := aTwin.Cache().Get(ctx, revokedSessions, "sid-1"); !found || err != nil {
		t.Fatalf("same URL and prefix: found=%v err=%v", found, err)
	}
	for name, m := range map[string]*Middleware{"other prefix": b, "other server": c} {
		if _, found, err := m.Cache().Get(ctx, revokedSessions, "sid-1"); found || err != nil {
			t.Fatalf("%s: found=%v err=%v", name, found, err)
		}
	}

	ctxD, cancelD := context.WithCancel(context.Background())
	d := redisMiddleware(t, ctxD, two.URL(), "app-d:")
	cancelD()
	deadline := time.Now().Add(5 * time.Second)
	for d.Cache().Set(context.Background(), revokedSessions, "x", []byte("1"), time.Minute) != cache.ErrClosed {
		if time.Now().After(deadline) {
			t.Fatal("cache not closed after its middleware's ctx was cancelled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// c (same server, ctx still live) keeps working.
	if err := c.Cache().Set(ctx, revokedSessions, "y", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryCacheWithoutRedis(t *testing.T) {
	m := newTestMiddleware(t, testConfig(), http.NotFoundHandler())
	if s := m.Cache().Stats(); s.Mode != "memory" || s.Health != cache.HealthHealthy {
		t.Fatalf("%+v", s)
	}
}
