package redis

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// otherPrimary returns a running primary of c other than not.
func otherPrimary(t *testing.T, c *redistest.Cluster, not *redistest.Server) *redistest.Server {
	t.Helper()
	for _, n := range c.Nodes {
		if n != not && n.Pid() != 0 && n.Role() == "master" {
			return n
		}
	}
	t.Fatal("no other primary")
	return nil
}

// serverErrorCode is the first word of an error reply the admin client got ("" for
// none).
func serverErrorCode(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	return s
}

// backedOff fails the test when retries were not spaced out: with waits doubling
// from 5 ms to 100 ms, a condition lasting 300 ms takes about 6; without backoff it
// would take dozens.
func backedOff(t *testing.T, retries uint64, took time.Duration) {
	t.Helper()
	if max := uint64(took/(50*time.Millisecond)) + 6; retries > max {
		t.Fatalf("%d retries in %v: more than %d, the retries do not back off", retries, took, max)
	}
}

// TestClusterRetriesTryAgainAndClusterDownUntilTheyClear: real servers answer
// CLUSTERDOWN (a slot its owner stopped serving, cluster-require-full-coverage yes)
// and TRYAGAIN (a multi-key command on a slot being migrated, one key moved and the
// other not); the client retries with backoff within RetryWindow (by default ReadTimeout,
// 1 s), so that a condition clearing after a few hundred milliseconds is never seen by
// the caller: the call returns the right reply, and ClusterStats().Retries grows.
func TestClusterRetriesTryAgainAndClusterDownUntilTheyClear(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOptions{})
	if def := clusterClient(t, c, Options{}, ClusterOptions{}); def.co.RetryWindow != time.Second {
		t.Fatalf("RetryWindow %v: expected the default, ReadTimeout (1 s)", def.co.RetryWindow)
	}
	// The scenarios retry within a long window: the condition clears after hold
	// plus however long a loaded machine takes to run the command that clears it,
	// and a deadline that only a failing test reaches costs nothing.
	cc := clusterClient(t, c, Options{}, ClusterOptions{RetryWindow: 30 * time.Second})
	ctx := context.Background()
	// How long each condition lasts: well inside RetryWindow, well above the first
	// backoff steps (5, 10, 20 ms, ...), so several retries are needed.
	const hold = 300 * time.Millisecond

	t.Run("ClusterDown", func(t *testing.T) {
		key := "clusterdown-key"
		slot := Slot(key)
		if _, err := cc.Do(ctx, "SET", key, "v1"); err != nil {
			t.Fatal(err)
		}
		owner := c.PrimaryOf(slot)
		resetStats(c)
		before := cc.ClusterStats()
		owner.MustDo("CLUSTER", "DELSLOTS", strconv.Itoa(slot))
		if _, err := owner.Do("GET", key); serverErrorCode(err) != "CLUSTERDOWN" {
			t.Fatalf("the owner, after CLUSTER DELSLOTS %d, answered GET with %v; want CLUSTERDOWN", slot, err)
		}
		readded := make(chan time.Time, 1)
		go func() {
			time.Sleep(hold)
			owner.MustDo("CLUSTER", "ADDSLOTS", strconv.Itoa(slot))
			readded <- time.Now()
		}()
		start := time.Now()
		v, err := cc.Do(ctx, "GET", key)
		took := time.Since(start)
		at := <-readded
		st := cc.ClusterStats()
		t.Logf("GET during CLUSTERDOWN: %v after the call, %v after the slot was served again; %d retries, %d CLUSTERDOWN replies",
			took.Round(time.Millisecond), time.Since(at).Round(time.Millisecond), st.Retries-before.Retries, owner.ErrorStat("CLUSTERDOWN"))
		if err != nil || v.String() != "v1" {
			t.Fatalf("GET while the slot was unserved for %v: %q, %v; want v1 and no error", hold, v.String(), err)
		}
		if st.Retries <= before.Retries {
			t.Fatalf("Retries %d -> %d: the CLUSTERDOWN replies were not retried", before.Retries, st.Retries)
		}
		backedOff(t, st.Retries-before.Retries, took)
		if n := owner.ErrorStat("CLUSTERDOWN"); n < 2 {
			t.Fatalf("the owner sent %d CLUSTERDOWN replies; expected the client to have met several", n)
		}
		if took < hold/2 {
			t.Fatalf("the GET returned after %v, before the slot was served again", took)
		}
		// A write through the same condition.
		owner.MustDo("CLUSTER", "DELSLOTS", strconv.Itoa(slot))
		go func() {
			time.Sleep(hold)
			owner.MustDo("CLUSTER", "ADDSLOTS", strconv.Itoa(slot))
		}()
		if _, err := cc.Do(ctx, "SET", key, "v2"); err != nil {
			t.Fatalf("SET while the slot was unserved: %v", err)
		}
		if got := owner.MustDo("GET", key); got != "v2" {
			t.Fatalf("after the SET: %v", got)
		}
		c.WaitHealthy(10 * time.Second)
	})

	t.Run("TryAgain", func(t *testing.T) {
		a, b := "{tryagain}:a", "{tryagain}:b"
		slot := Slot(a)
		for _, k := range []string{a, b} {
			if _, err := cc.Do(ctx, "SET", k, k); err != nil {
				t.Fatal(err)
			}
		}
		from := c.PrimaryOf(slot)
		to := otherPrimary(t, c, from)
		c.BeginMigration(slot, from, to)
		from.MustDo("MIGRATE", to.Host, strconv.Itoa(to.Port), a, "0", "5000")
		// The importing node, asked (ASKING) for both keys, has only one.
		res, err := to.Pipeline([]string{"ASKING"}, []string{"MGET", a, b})
		if err != nil || len(res) != 2 {
			t.Fatal(res, err)
		}
		if e, ok := res[1].(error); !ok || serverErrorCode(e) != "TRYAGAIN" {
			t.Fatalf("MGET after ASKING on the importing node: %v; want TRYAGAIN", res[1])
		}
		resetStats(c)
		before := cc.ClusterStats()
		done := make(chan time.Time, 1)
		go func() {
			time.Sleep(hold)
			from.MustDo("MIGRATE", to.Host, strconv.Itoa(to.Port), b, "0", "5000")
			done <- time.Now()
		}()
		start := time.Now()
		v, err := cc.Do(ctx, "MGET", a, b)
		took := time.Since(start)
		at := <-done
		st := cc.ClusterStats()
		tryagain := errorStats(c, "TRYAGAIN")
		t.Logf("MGET during the migration: %v after the call, %v after the second key moved; %d retries, %d ASK followed, %d TRYAGAIN replies",
			took.Round(time.Millisecond), time.Since(at).Round(time.Millisecond), st.Retries-before.Retries, st.Asked-before.Asked, tryagain)
		if err != nil || len(v.Elems) != 2 || v.Elems[0].String() != a || v.Elems[1].String() != b {
			t.Fatalf("MGET while the slot's keys were split for %v: %+v, %v; want [%s %s] and no error", hold, v, err, a, b)
		}
		if st.Retries <= before.Retries {
			t.Fatalf("Retries %d -> %d: the TRYAGAIN replies were not retried", before.Retries, st.Retries)
		}
		backedOff(t, st.Retries-before.Retries, took)
		if tryagain < 2 {
			t.Fatalf("the servers sent %d TRYAGAIN replies; expected the client to have met several", tryagain)
		}
		c.FinishMigration(slot, from, to)
		c.WaitHealthy(10 * time.Second)
	})
}

// TestClusterAsksAFailedNodeForTheMapLastForASecond: a primary that stops answering
// (SIGSTOP: connections are accepted by the kernel, nothing replies) fails a command,
// which marks it failed; for a second the map is then read from the other nodes
// first, so readings do not each wait for it (DialTimeout), and after that second it
// is asked in turn again. One primary with one replica, the replica the only seed:
// the stopped primary is the only known primary, so a reading that asked it first
// would always wait for it.
func TestClusterAsksAFailedNodeForTheMapLastForASecond(t *testing.T) {
	redistest.Slow(t, "compares how long map readings take while a node is stopped (timing-sensitive under load)")
	c := redistest.StartCluster(t, redistest.ClusterOptions{Primaries: 1, ReplicasEach: 1, NodeTimeout: 15 * time.Second})
	primary, replica := c.Nodes[0], c.Nodes[1]
	const dialTO = time.Second
	cc := clusterClient(t, c, Options{DialTimeout: dialTO, ReadTimeout: 400 * time.Millisecond},
		ClusterOptions{Seeds: []string{replica.Addr()}, RefreshInterval: time.Hour})
	ctx := context.Background()
	if _, err := cc.Do(ctx, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if p := cc.ClusterStats().Primaries; len(p) != 1 || p[0] != primary.Addr() {
		t.Fatalf("primaries %v, want [%s]", p, primary.Addr())
	}
	node := topology(cc).nodes[0]
	timedRefresh := func() (time.Duration, error) {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		start := time.Now()
		err := refresh(cc, rctx)
		return time.Since(start), err
	}
	// While the primary answers, it is asked first (it is the only known primary):
	// a reading takes milliseconds either way.
	if d, err := timedRefresh(); err != nil || d > dialTO/4 {
		t.Fatalf("reading the map with every node up: %v, %v", d, err)
	}

	primary.Pause()
	t.Cleanup(primary.Resume)
	before := cc.ClusterStats()
	start := time.Now()
	if _, err := cc.Do(ctx, "GET", "k"); err == nil {
		t.Fatal("GET answered by a stopped primary")
	}
	until := time.Unix(0, node.downUntil.Load())
	t.Logf("GET to the stopped primary failed after %v; marked failed for %v more", time.Since(start).Round(time.Millisecond), time.Until(until).Round(time.Millisecond))
	if !until.After(time.Now()) {
		t.Fatalf("the stopped primary is not marked failed (downUntil %v)", until)
	}
	// The failure asked for a reading: it is made from the replica at once.
	waitUntil(t, 2*time.Second, "a reading of the map after the failure", func() bool {
		return cc.ClusterStats().Refreshes > before.Refreshes
	})
	// Asking the stopped primary costs ReadTimeout (a pooled connection) or
	// DialTimeout (a new one); the replica answers in milliseconds.
	const slow = 300 * time.Millisecond
	readings := 0
	for time.Until(until) > 2*slow {
		d, err := timedRefresh()
		readings++
		if err != nil || d >= slow/3 {
			t.Fatalf("a reading of the map %v before the mark expires took %v (%v): the failed node was asked before the seed",
				time.Until(until).Round(time.Millisecond), d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if readings == 0 {
		t.Fatal("no reading made while the node was marked failed")
	}
	if st := cc.ClusterStats(); st.RefreshErrors != before.RefreshErrors || st.Refreshes < before.Refreshes+uint64(readings)+1 {
		t.Fatalf("readings failed or were not made: %+v", st)
	}
	// After a second the mark has expired: the primary is asked first again, and a
	// reading waits for it (then falls back to the replica).
	time.Sleep(time.Until(time.Unix(0, node.downUntil.Load())) + 50*time.Millisecond)
	d, err := timedRefresh()
	t.Logf("%d readings in %v while marked, each in milliseconds; after the mark expired: %v (%v)", readings, time.Since(start).Round(time.Millisecond), d.Round(time.Millisecond), err)
	if err != nil || d < slow {
		t.Fatalf("a reading after the mark expired took %v (%v): expected it to wait for the stopped primary, then ask the replica", d, err)
	}
}
