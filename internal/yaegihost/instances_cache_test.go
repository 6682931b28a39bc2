package yaegihost

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

var instanceProbeOnce sync.Once

// instanceProbe returns an interpreted function that asks a middleware instance (built
// by the host, as Traefik builds it) for its cache and runs op on it: "revoke <id>",
// "check <id>", "mode", "set-after-close".
func instanceProbe(t *testing.T) reflect.Value {
	t.Helper()
	h := host(t)
	var err error
	instanceProbeOnce.Do(func() {
		// h.Import, not an import block: other tests import the same packages into the
		// shared interpreter's main scope, and a second import block fails.
		if err = h.Import("context", "net/http", "strings", "time",
			"github.com/gatehouse-oidc/gatehouse/internal/auth", "github.com/gatehouse-oidc/gatehouse/internal/cache"); err != nil {
			return
		}
		_, err = h.Eval(`
var yaegiInstanceRevoked = &cache.Keyspace{Name: "revoked", Class: cache.Revocation, MaxTTL: time.Hour}

func yaegiInstanceCache(h http.Handler, op string) string {
	m, ok := h.(*auth.Middleware)
	if !ok {
		return "not a middleware"
	}
	s := m.Cache()
	ctx := context.Background()
	word := strings.Fields(op)
	switch word[0] {
	case "mode":
		st := s.Stats()
		return st.Mode + " " + st.Health + " " + st.Tracking
	case "revoke":
		if err := s.Set(ctx, yaegiInstanceRevoked, word[1], []byte("1"), time.Minute); err != nil {
			return err.Error()
		}
		return "ok"
	case "check":
		_, found, err := cache.Lookup(s, ctx, yaegiInstanceRevoked, word[1])
		if err != nil {
			return err.Error()
		}
		if found {
			return "revoked"
		}
		return "not-revoked"
	}
	return "unknown op"
}`)
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := h.Eval("yaegiInstanceCache")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestInstancesWithDifferentRedisOrPrefixStayApartUnderYaegi builds middleware
// instances in one interpreter, as Traefik does, each with its own cache settings:
// the first instance's Redis settings do not win for the others, instances sharing
// settings share state, and cancelling an instance's ctx closes its cache.
func TestInstancesWithDifferentRedisOrPrefixStayApartUnderYaegi(t *testing.T) {
	one := redistest.Start(t, redistest.Options{})
	two := redistest.Start(t, redistest.Options{})
	probe := instanceProbe(t)
	op := func(hd any, o string) string {
		return probe.Call([]reflect.Value{reflect.ValueOf(hd), reflect.ValueOf(o)})[0].String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	build := func(ctx context.Context, url, prefix string) any {
		cfg := baseConfig()
		cfg["cache"] = map[string]any{"keyPrefix": prefix, "probeInterval": "50ms", "redis": map[string]any{
			"url": url, "clientName": "gh-" + strings.TrimSuffix(prefix, ":")}}
		h, err := host(t).Build(ctx, echoBackend(), cfg, "inst-"+prefix)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for op(h, "mode") != "hybrid healthy live" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", prefix, op(h, "mode"))
			}
			time.Sleep(5 * time.Millisecond)
		}
		return h
	}
	a := build(ctx, one.URL(), "ya:")
	aTwin := build(ctx, one.URL(), "ya:")
	b := build(ctx, one.URL(), "yb:")
	c := build(ctx, two.URL(), "ya:")
	if got := op(a, "revoke sid"); got != "ok" {
		t.Fatal(got)
	}
	if got := op(aTwin, "check sid"); got != "revoked" {
		t.Fatalf("same settings: %s", got)
	}
	for name, h := range map[string]any{"other prefix": b, "other server": c} {
		if got := op(h, "check sid"); got != "not-revoked" {
			t.Fatalf("%s: %s", name, got)
		}
	}
	if keys, _ := two.MustDo("KEYS", "*").([]any); len(keys) != 0 {
		t.Fatalf("the other server got keys: %v", keys)
	}
	named := func(name string) int {
		n := 0
		for _, cl := range two.Clients() {
			if cl["name"] == name {
				n++
			}
		}
		return n
	}
	ctxD, cancelD := context.WithCancel(context.Background())
	d := build(ctxD, two.URL(), "yd:")
	if named("gh-yd") == 0 {
		t.Fatal("d has no connections")
	}
	start := time.Now()
	cancelD()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(op(d, "revoke x"), "closed") || named("gh-yd") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the instance's ctx was cancelled: %s, %d connections left", op(d, "revoke x"), named("gh-yd"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("closed %v after cancel; c still has %d connections", time.Since(start), named("gh-ya"))
	if got := op(c, "revoke y"); got != "ok" || named("gh-ya") == 0 {
		t.Fatalf("c after d closed: %s", got)
	}
}
