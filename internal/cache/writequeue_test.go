package cache

import (
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// sharedKey is the Redis key of id in ksTokver for a store with prefix.
func sharedKey(prefix, id string) string { return prefix + ksTokver.Name + ":" + hexID(id) }

func existsIn(t *testing.T, srv *redistest.Server, key string) bool {
	t.Helper()
	n, _ := srv.MustDo("EXISTS", key).(int64)
	return n == 1
}

// TestSharedWritesWhileDegradedAreDroppedAndCounted: while Redis is known to be down
// (the server is stopped with SIGSTOP, so it keeps its data, and the store has
// degraded), every Shared write is dropped at once and counted in QueueDrops, one per
// write; it stays in L1. When Redis comes back none of them reaches it, while a Shared
// write made after the recovery does.
func TestSharedWritesWhileDegradedAreDroppedAndCounted(t *testing.T) {
	const prefix = "qd:"
	srv := redistest.Start(t, redistest.Options{})
	s := newReplica(t, srv, "hybrid", prefix)
	if err := s.Set(bg, ksTokver, "before", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return existsIn(t, srv, sharedKey(prefix, "before")) })
	if st := s.Stats(); st.QueueDrops != 0 || st.QueueLength != 0 {
		t.Fatalf("before the outage: %+v", st)
	}

	srv.Pause()
	paused := true
	defer func() {
		if paused {
			srv.Resume()
		}
	}()
	// The next probe times out (ReadTimeout 1 s) and the store degrades.
	eventually(t, 30*time.Second, func() bool { return s.Health() == HealthDegraded })
	// Nothing was queued, but the write of "before" may have been in flight: Redis
	// executed it (it is in Redis), and the pause can still hold its reply back, so
	// the writer counts it failed. It fails before the probe that degrades the store
	// (its read began first, with the same timeout): it is counted here or not at all.
	dropsAtOutage := s.Stats().QueueDrops

	const n = 25
	for i := 0; i < n; i++ {
		id := "down-" + strconv.Itoa(i)
		if err := s.Set(bg, ksTokver, id, []byte("v"), time.Minute); err != nil {
			t.Fatalf("Shared Set while degraded: %v", err)
		}
		if v, found, err := s.Get(bg, ksTokver, id); err != nil || !found || string(v) != "v" {
			t.Fatalf("a dropped write is not kept in L1: %q %v %v", v, found, err)
		}
	}
	st := s.Stats()
	if dropsAtOutage > 1 || st.QueueDrops-dropsAtOutage != n {
		t.Fatalf("QueueDrops = %d (at the outage %d, at most 1 expected), want %d more: one per Shared write made while degraded (%+v)",
			st.QueueDrops, dropsAtOutage, n, st)
	}
	if st.QueueLength != 0 {
		t.Fatalf("writes made while degraded were queued: %+v", st)
	}

	srv.Resume()
	paused = false
	waitHealthy(t, s)
	// A write after the recovery goes through the same queue and writer: once it is
	// in Redis, anything queued before it has been sent too.
	if err := s.Set(bg, ksTokver, "after", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return existsIn(t, srv, sharedKey(prefix, "after")) })
	for i := 0; i < n; i++ {
		if k := sharedKey(prefix, "down-"+strconv.Itoa(i)); existsIn(t, srv, k) {
			t.Fatalf("down-%d was counted as dropped but reached Redis", i)
		}
	}
	if got := s.Stats().QueueDrops; got != n+dropsAtOutage {
		t.Fatalf("QueueDrops = %d after the recovery, want %d", got, n+dropsAtOutage)
	}
}

// TestWriteQueueBoundDropsAndCountsTheOverflow: the writer is stuck on a batch (the
// server holds every write command: CLIENT PAUSE WRITE; reads and the health probe
// still answer, so the store stays healthy), the queue (WriteQueue 4) fills, and every
// Shared write beyond the bound is dropped and counted, exactly. When the server lets
// writes through again, the stuck batch and the 4 queued writes reach Redis and none
// of the dropped ones does.
func TestWriteQueueBoundDropsAndCountsTheOverflow(t *testing.T) {
	const prefix = "qb:"
	const bound, overflow = 4, 6
	srv := redistest.Start(t, redistest.Options{})
	o := redisOptionsFor(srv, "hybrid", prefix)
	o.WriteQueue = bound
	// Longer than the pause below lasts, so that the stuck batch does not time out
	// (which would degrade the store and drop the queue).
	o.Redis.ReadTimeout = 20 * time.Second
	s, _ := newStore(t, o)
	waitHealthy(t, s)

	srv.MustDo("CLIENT", "PAUSE", "15000", "WRITE")
	paused := true
	defer func() {
		if paused {
			srv.MustDo("CLIENT", "UNPAUSE")
		}
	}()
	// The writer takes this one and waits for Redis, which holds it.
	if err := s.Set(bg, ksTokver, "stuck", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return s.Stats().QueueLength == 0 })
	for i := 0; i < bound; i++ {
		if err := s.Set(bg, ksTokver, "queued-"+strconv.Itoa(i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.QueueLength != bound || st.QueueMax != bound || st.QueueDrops != 0 {
		t.Fatalf("with the writer stuck, after %d writes: %+v", bound, st)
	}
	for i := 0; i < overflow; i++ {
		if err := s.Set(bg, ksTokver, "over-"+strconv.Itoa(i), []byte("v"), time.Minute); err != nil {
			t.Fatalf("a Shared write beyond the queue bound returned an error: %v", err)
		}
		if _, found, _ := s.Get(bg, ksTokver, "over-"+strconv.Itoa(i)); !found {
			t.Fatal("a dropped write is not kept in L1")
		}
	}
	st := s.Stats()
	if st.QueueDrops != overflow || st.QueueLength != bound {
		t.Fatalf("QueueDrops = %d, QueueLength = %d; want exactly %d drops (writes beyond the bound of %d) and a full queue (%+v)",
			st.QueueDrops, st.QueueLength, overflow, bound, st)
	}
	if st.Health != HealthHealthy {
		t.Fatalf("the store left healthy while Redis held writes (the drops above are not the queue bound's): %+v", st)
	}

	srv.MustDo("CLIENT", "UNPAUSE")
	paused = false
	want := []string{"stuck"}
	for i := 0; i < bound; i++ {
		want = append(want, "queued-"+strconv.Itoa(i))
	}
	eventually(t, 10*time.Second, func() bool {
		for _, id := range want {
			if !existsIn(t, srv, sharedKey(prefix, id)) {
				return false
			}
		}
		return true
	})
	// Anything still in flight would be sent before this later write.
	if err := s.Set(bg, ksTokver, "after", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return existsIn(t, srv, sharedKey(prefix, "after")) })
	for i := 0; i < overflow; i++ {
		if existsIn(t, srv, sharedKey(prefix, "over-"+strconv.Itoa(i))) {
			t.Fatalf("over-%d was counted as dropped but reached Redis", i)
		}
	}
	if st := s.Stats(); st.QueueDrops != overflow || st.QueueLength != 0 {
		t.Fatalf("after the writer caught up: %+v", st)
	}
}
