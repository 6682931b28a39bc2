package cache

import (
	"context"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// TestCloseWithAnUnresponsiveRedisReturnsInBoundedTimeAndStopsEverything: the server
// is stopped (SIGSTOP: connections stay open, nothing answers) while the writer is
// sending a batch of Shared writes, more wait in the queue and revocations wait in the
// outbox. Close, given a 300 ms deadline, must still return in bounded time and stop
// every goroutine and connection of the store.
//
// The bound is what the code documents (Close in maintain.go): the writer finishes
// the batch it is sending, bounded by ReadTimeout (it sends with the store's
// background context, not with Close's), then the rest is drained within ctx's
// deadline. So Close may take about ReadTimeout, not only the 300 ms deadline. It may
// also wait one DialTimeout more: when the stalled connection fails, the client's
// connector starts a dial (bounded by DialTimeout; its context is cancelled only by
// the client's Close, which comes last), and the maintenance goroutine, which Close
// waits for before that, may be waiting for the same dial in Connect. The test allows
// deadline + ReadTimeout + DialTimeout + 2 s of slack for a loaded machine.
// ReadTimeout is 3 s, ten times the deadline, so that the logged duration shows
// what Close actually waits for.
func TestCloseWithAnUnresponsiveRedisReturnsInBoundedTimeAndStopsEverything(t *testing.T) {
	const prefix = "cp:"
	const readTimeout = 3 * time.Second
	const deadline = 300 * time.Millisecond
	srv := redistest.Start(t, redistest.Options{})
	paused := false
	defer func() {
		if paused {
			srv.Resume()
		}
	}()
	before := runtime.NumGoroutine()
	o := redisOptionsFor(srv, "hybrid", prefix)
	o.Redis.ReadTimeout = readTimeout
	// One pooled connection: the writer's batch, the probe and the revocation share
	// it, all sent within a quarter of ReadTimeout, so that it fails ReadTimeout after
	// the batch was sent. (With two, the probe may fail on the other connection, probe
	// again on the writer's and so move its read deadline on by another ReadTimeout:
	// the client re-arms a stalled connection's read deadline on every new send made
	// more than ReadTimeout/4 after the last arming, not only on replies.)
	o.Redis.PoolSize = 1
	lb := &logBuffer{}
	st, err := New(context.Background(), o, logging.New("test", "debug", lb))
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*store)
	closed := false
	defer func() {
		if !closed { // a failed assertion before Close: do not leak the store
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_ = s.Close(ctx)
			cancel()
		}
	}()
	waitHealthy(t, s)
	if err := s.Set(bg, ksTokver, "warm", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return existsIn(t, srv, sharedKey(prefix, "warm")) })

	srv.Pause()
	paused = true
	// The writer takes this batch and waits for a reply that will not come.
	if err := s.Set(bg, ksTokver, "inflight", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return s.Stats().QueueLength == 0 })
	// These wait in the queue behind it.
	for i := 0; i < 20; i++ {
		if err := s.Set(bg, ksTokver, "queued-"+strconv.Itoa(i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// A revocation whose caller gives up before Redis answers is kept in the outbox
	// (with the store still healthy); the later ones join it without asking Redis.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err = s.Set(ctx, ksRevoked, "rev-0", []byte("1"), time.Hour)
	cancel()
	if err != nil {
		t.Fatalf("revocation while Redis is stopped: %v", err)
	}
	for i := 1; i < 10; i++ {
		if err := s.Set(bg, ksRevoked, "rev-"+strconv.Itoa(i), []byte("1"), time.Hour); err != nil {
			t.Fatalf("revocation while Redis is stopped: %v", err)
		}
	}
	pre := s.Stats()
	if pre.OutboxLength < 10 {
		t.Fatalf("revocations not in the outbox before Close: %+v", pre)
	}
	t.Logf("before Close: health %s, queue %d, outbox %d, drops %d", pre.Health, pre.QueueLength, pre.OutboxLength, pre.QueueDrops)

	cctx, ccancel := context.WithTimeout(context.Background(), deadline)
	defer ccancel()
	dialTimeout := o.Redis.DialTimeout
	bound := deadline + readTimeout + dialTimeout + 2*time.Second
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Close(cctx) }()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case err := <-done:
		closed = true
		elapsed := time.Since(start)
		t.Logf("Close with a stopped Redis returned after %v (deadline %v, ReadTimeout %v): %v", elapsed.Round(time.Millisecond), deadline, readTimeout, err)
	case <-timer.C:
		closed = true // do not Close again: it would wait for this one
		srv.Resume()
		paused = false
		t.Fatalf("Close with a stopped Redis did not return within %v (deadline %v + ReadTimeout %v + DialTimeout %v + 2 s)", bound, deadline, readTimeout, dialTimeout)
	}

	// Everything after Close is refused, nothing is left queued, and the revocations
	// Redis never confirmed are reported.
	if err := s.Set(bg, ksTokver, "late", []byte("v"), time.Minute); err != ErrClosed {
		t.Fatalf("Set after Close: %v", err)
	}
	post := s.Stats()
	if post.QueueLength != 0 {
		t.Fatalf("queue not emptied by Close: %+v", post)
	}
	// Every Shared write Close did not send is counted: the 20 queued (and the one in
	// flight, whose batch failed) are all drops, since Redis never answered.
	if post.QueueDrops < 20 {
		t.Fatalf("QueueDrops = %d after Close, want at least the 20 queued writes Redis never took", post.QueueDrops)
	}
	if !strings.Contains(lb.String(), "closing with 10 revocation writes Redis never confirmed") {
		t.Fatalf("Close did not report the unconfirmed revocations; log:\n%s", lb.String())
	}

	// Every goroutine of the store and its client ends: the writer, the maintenance
	// loop, the connector, the readers of the pooled and tracking connections, and
	// the context watchers of the calls that were waiting.
	for wait := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(wait) {
			var dump strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
			t.Fatalf("%d goroutines 5 s after Close, %d before the store was made:\n%s", runtime.NumGoroutine(), before, dump.String())
		}
	}
	// And every connection is closed: once the server runs again it sees none of ours.
	srv.Resume()
	paused = false
	var last []map[string]string
	eventually(t, 10*time.Second, func() bool {
		last = srv.Clients()
		for _, c := range last {
			if c["name"] == "gatehouse-test" {
				return false
			}
		}
		return true
	})
}
