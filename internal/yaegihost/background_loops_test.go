package yaegihost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
	"github.com/gatehouse-oidc/gatehouse/internal/wakeup/wakeuptest"
)

// Background loops of middleware instances sharing one interpreter (cache
// maintenance, Redis connectors, provider discovery) wait without a select
// statement: under Yaegi a select statement's case list is shared by every goroutine
// executing it, so each loop would wait on some other instance's timer or context,
// stay degraded after a Redis outage and outlive its own instance (see
// internal/wakeup).

// TestEveryInterpretedStoreRecoversFromRepeatedOutages: five interpreted hybrid stores
// in one interpreter are each healthy again after every Redis restart. A store whose
// loop waits on another's timer stays degraded for good, so the deadlines only need
// to outlast a loaded machine.
func TestEveryInterpretedStoreRecoversFromRepeatedOutages(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	r := call(yfunc(t, "NewReplicas"))[0]
	open, state, closeAll := yfunc(t, "Open"), yfunc(t, "State"), yfunc(t, "CloseAll")
	defer func() {
		if e := call(closeAll, r)[0].String(); e != "" {
			t.Error(e)
		}
	}()
	names := []string{"a", "b", "c", "d", "e"}
	for _, n := range names {
		if e := call(open, r, n, "hybrid", srv.URL(), "recover:")[0].String(); e != "" {
			t.Fatal(e)
		}
	}
	waitAll := func(round int, prefix string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for _, n := range names {
			for {
				st := call(state, r, n)[0].String()
				if strings.HasPrefix(st, prefix) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("round %d: store %s is %q, want %q within %v", round, n, st, prefix, limit)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	waitAll(0, "healthy true", 30*time.Second)
	for round := 1; round <= 4; round++ {
		srv.Kill()
		waitAll(round, "degraded", 30*time.Second)
		time.Sleep(time.Duration(round*37) * time.Millisecond) // outages of different lengths
		srv.Restart()
		waitAll(round, "healthy true", 30*time.Second)
	}
}

// TestStoppedInstancesLeaveNoLoopsBehindUnderYaegi: four interpreted middleware
// instances keep running while four others, in the same interpreter, are stopped
// (their contexts cancelled, as at a Traefik reload): every goroutine the stopped
// ones started ends, whatever the running ones' loops are waiting for.
func TestStoppedInstancesLeaveNoLoopsBehindUnderYaegi(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	op := newOP(t, testop.Options{})
	h := host(t)
	// build starts n instances and waits until they are settled: discovery done (each
	// sends a browser to sign in instead of answering 503) and every loop and
	// connection started (the count of interpreted goroutines holds still). Counting
	// earlier — it used to sleep 500 ms — let a slow start on a loaded machine add the
	// kept instances' connections after their count was taken, and the stopped ones
	// then seemed to leave goroutines behind.
	// Each instance's connections (the pool and the invalidation connection) have
	// goroutines of their own: the count is taken once the server has them all, named
	// by their handshake (which starts those goroutines first).
	perInstance := config.Default().Cache.Redis.PoolSize + 1
	built := 0
	build := func(n int) []context.CancelFunc {
		var cancels []context.CancelFunc
		var handlers []http.Handler
		for i := 0; i < n; i++ {
			cfg := replicaConfig(op, srv.URL())
			ctx, cancel := context.WithCancel(context.Background())
			cancels = append(cancels, cancel)
			hd, err := h.Build(ctx, echoBackend(), cfg, "loops@file")
			if err != nil {
				t.Fatal(err)
			}
			handlers = append(handlers, hd)
		}
		deadline := time.Now().Add(60 * time.Second)
		for _, hd := range handlers {
			for {
				rec := httptest.NewRecorder()
				hd.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				if rec.Code == http.StatusFound {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("an instance still answers %d: discovery not done", rec.Code)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		built += n
		for namedClients(srv) < built*perInstance {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections named by their handshake, want %d", namedClients(srv), built*perInstance)
			}
			time.Sleep(20 * time.Millisecond)
		}
		last, still := -1, 0
		for still < 5 {
			if time.Now().After(deadline) {
				t.Fatalf("the interpreted goroutines never settled (last count %d)", last)
			}
			time.Sleep(100 * time.Millisecond)
			if n := interpretedGoroutines(); n == last {
				still++
			} else {
				last, still = n, 0
			}
		}
		return cancels
	}
	before := interpretedGoroutines()
	keep := build(4)
	defer func() {
		for _, c := range keep {
			c()
		}
	}()
	kept := interpretedGoroutines()
	stop := build(4)
	running := interpretedGoroutines()
	if kept < before+4*3 || running < kept+4*3 {
		t.Fatalf("interpreted goroutines: %d, %d with 4 instances, %d with 8: the loops are not running", before, kept, running)
	}
	for _, c := range stop {
		c()
	}
	deadline := time.Now().Add(60 * time.Second)
	for interpretedGoroutines() > kept {
		if time.Now().After(deadline) {
			t.Fatalf("interpreted goroutines: %d with 4 instances, %d with 8, %d a minute after stopping 4", kept, running, interpretedGoroutines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("interpreted goroutines: %d with 4 instances, %d with 8, %d after stopping 4", kept, running, interpretedGoroutines())
}

// namedClients counts the server's client connections that have a name (every
// connection the plugin opens sets one in its handshake).
func namedClients(srv *redistest.Server) int {
	n := 0
	for _, c := range srv.Clients() {
		if c["name"] != "" {
			n++
		}
	}
	return n
}

// interpretedGoroutines counts the goroutines running interpreted code (started by
// the plugin), leaving out the HTTP servers, clients and idle connections of the
// test itself.
func interpretedGoroutines() int {
	buf := make([]byte, 8<<20)
	n := runtime.Stack(buf, true)
	count := 0
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, "created by github.com/traefik/yaegi/interp") {
			count++
		}
	}
	return count
}

// TestWakeupLoopsStayApartUnderYaegi runs internal/wakeup in the plugin's
// interpreter and compiled (internal/wakeup/wakeuptest): sixteen loops sleeping at the
// same call are woken together 300 times, then woken and stopped one by one, each by
// its own Waker and context only.
func TestWakeupLoopsStayApartUnderYaegi(t *testing.T) {
	h := host(t)
	if err := h.Import("github.com/gatehouse-oidc/gatehouse/internal/wakeup/wakeuptest"); err != nil {
		t.Fatal(err)
	}
	f, err := h.Eval("wakeuptest.Scenario")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Interface().(func(int) string)(16); got != "ok" {
		t.Fatalf("under Yaegi: %s", got)
	}
	if got := wakeuptest.Scenario(16); got != "ok" {
		t.Fatalf("compiled: %s", got)
	}
}
