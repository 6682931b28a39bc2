package yaegihost

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/cachetest"
	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// haScenario drives interpreted stores (internal/cache and its Sentinel and Cluster
// clients run by Yaegi) from the test.
type haScenario struct {
	t *testing.T
	r reflect.Value
}

func newHAScenario(t *testing.T) *haScenario {
	h := &haScenario{t: t, r: call(yfunc(t, "NewReplicas"))[0]}
	t.Cleanup(func() {
		if e := call(yfunc(t, "CloseAll"), h.r)[0].String(); e != "" {
			t.Error(e)
		}
	})
	return h
}

// waitHealthy waits for the named stores to be healthy and coherent, each within
// deadline (a failover's, when one is under way).
func (h *haScenario) waitHealthy(deadline time.Duration, names ...string) {
	h.t.Helper()
	for _, n := range names {
		if e := call(yfunc(h.t, "WaitHealthy"), h.r, n, int(deadline/time.Second))[0].String(); e != "" {
			h.t.Fatalf("%s not healthy under Yaegi after %v: %s", n, deadline, e)
		}
	}
}

func (h *haScenario) revoke(name, id string) {
	h.t.Helper()
	if e := call(yfunc(h.t, "Revoke"), h.r, name, id)[0].String(); e != "" {
		h.t.Fatalf("revoke %s on %s: %s", id, name, e)
	}
}

func (h *haScenario) check(name, id string) string {
	h.t.Helper()
	got := call(yfunc(h.t, "Check"), h.r, name, id)[0].String()
	if strings.HasPrefix(got, "error") {
		h.t.Fatalf("%s %s: %s", name, id, got)
	}
	return got
}

// revokeUntil writes revocations on name every 100 ms until done (inside the
// interpreter) and returns their ids.
func (h *haScenario) revokeUntil(name, tag string, done func() bool) []string {
	h.t.Helper()
	got := call(yfunc(h.t, "RevokeUntil"), h.r, name, tag, done)[0].String()
	if strings.HasPrefix(got, "error") || got == "" {
		h.t.Fatalf("revocations during the failover on %s: %q", name, got)
	}
	return strings.Fields(got)
}

func (h *haScenario) everyoneEnforces(names, ids []string) {
	h.t.Helper()
	for _, n := range names {
		for _, id := range ids {
			if got := h.check(n, id); got != "revoked" {
				h.t.Fatalf("%s: %s is %s after the failover", n, id, got)
			}
		}
	}
}

// TestSentinelUnderYaegiFollowsAFailoverAndKeepsRevocations: two interpreted hybrid
// stores on a Sentinel deployment (one primary, one replica, three sentinels): a
// revocation reaches the other store, a SENTINEL FAILOVER happens while revocations
// are written, and afterwards both enforce every one of them.
func TestSentinelUnderYaegiFollowsAFailoverAndKeepsRevocations(t *testing.T) {
	set := redistest.StartSentinel(t, redistest.SentinelOptions{Password: "data-secret", SentinelPassword: "sentinel-secret"})
	h := newHAScenario(t)
	names := []string{"a", "b"}
	for _, n := range names {
		if e := call(yfunc(t, "OpenSentinel"), h.r, n, set.MasterName, set.SentinelAddrs(), "data-secret", "sentinel-secret", "ysen:")[0].String(); e != "" {
			t.Fatal(e)
		}
	}
	h.waitHealthy(30*time.Second, names...)
	if got := h.check("b", "before"); got != "not-revoked" {
		t.Fatal(got)
	}
	h.revoke("a", "before")
	deadline := time.Now().Add(30 * time.Second)
	for h.check("b", "before") != "revoked" {
		if time.Now().After(deadline) {
			t.Fatal("the revocation did not reach the other interpreted store")
		}
		time.Sleep(2 * time.Millisecond)
	}
	old := set.Primary()
	start := time.Now()
	set.Failover()
	during := h.revokeUntil("b", "ysen", func() bool {
		addr, err := set.MasterAddr()
		return err == nil && addr != old.Addr()
	})
	set.WaitNewPrimary(old, set.FailoverDeadline())
	h.waitHealthy(set.FailoverDeadline(), names...)
	t.Logf("under Yaegi: SENTINEL FAILOVER, both stores healthy again after %v; %d revocations written during it", time.Since(start).Round(time.Millisecond), len(during))
	h.everyoneEnforces(names, append(during, "before"))
}

// TestClusterUnderYaegiRoutesEverySlotAndSurvivesAFailover: the interpreted cluster
// client computes the same slots as the compiled one and as the servers (no
// redirection over 16384 keys); then two interpreted stores go through the loss of
// the primary holding the revocations, and enforce every revocation afterwards.
func TestClusterUnderYaegiRoutesEverySlotAndSurvivesAFailover(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterOptions{ReplicasEach: 1, Password: "cluster-secret"})
	keys := make([]string, redis.SlotCount)
	left := redis.SlotCount
	for i := 0; left > 0; i++ {
		k := "ykey:" + strconv.Itoa(i)
		if s := redis.Slot(k); keys[s] == "" {
			keys[s] = k
			left--
		}
	}
	want := cachetest.ClusterTranscript(cl.Seeds()[:1], "cluster-secret", keys)
	for _, n := range cl.Nodes {
		n.ResetStats()
	}
	start := time.Now()
	got := call(yfunc(t, "ClusterTranscript"), cl.Seeds()[:1], "cluster-secret", keys)[0].String()
	t.Logf("under Yaegi: 16384 keys routed, written and sampled in %v", time.Since(start).Round(time.Millisecond))
	if got != want {
		t.Fatalf("under Yaegi:\n%s\ncompiled:\n%s", got, want)
	}
	if !strings.Contains(want, "set 16384 of 16384\nbad reads 0 primaries 3 moved 0 asked 0") {
		t.Fatalf("transcript:\n%s", want)
	}
	for _, n := range cl.Nodes {
		if m := n.ErrorStat("MOVED"); m != 0 {
			t.Fatalf("node %s answered MOVED %d times to the interpreted client", n.Addr(), m)
		}
	}

	h := newHAScenario(t)
	names := []string{"a", "b"}
	for _, n := range names {
		if e := call(yfunc(t, "OpenCluster"), h.r, n, cl.Seeds()[:2], "cluster-secret", "ycl:")[0].String(); e != "" {
			t.Fatal(e)
		}
	}
	h.waitHealthy(30*time.Second, names...)
	h.revoke("a", "before")
	deadline := time.Now().Add(30 * time.Second)
	for h.check("b", "before") != "revoked" {
		if time.Now().After(deadline) {
			t.Fatal("the revocation did not reach the other interpreted store")
		}
		time.Sleep(2 * time.Millisecond)
	}
	slot := redis.Slot("ycl:{gh}")
	home := cl.PrimaryOf(slot)
	start = time.Now()
	home.Kill()
	during := h.revokeUntil("b", "ycl", func() bool { return cl.PrimaryOf(slot) != home })
	cl.WaitSlotMoves(slot, home, cl.FailoverDeadline())
	h.waitHealthy(cl.FailoverDeadline(), names...)
	t.Logf("under Yaegi: revocation primary killed, both stores healthy again after %v; %d revocations written during it", time.Since(start).Round(time.Millisecond), len(during))
	h.everyoneEnforces(names, append(during, "before"))
}

// TestStoresUnderYaegiAllRecoverAfterEveryRedisRestart: twelve interpreted hybrid
// stores go through five outages of their Redis (killed, restarted empty a second
// later). While it is down every store probes it every 50 ms and its client re-dials,
// all in step, so the twelve maintenance goroutines (and connectors) keep entering
// their waits at the same moments. After each restart every store must be healthy
// and coherent again, and all must close (cachetest.RecoverRounds bounds each step).
//
// Regression test: those waits were select statements, and Yaegi shares a select
// statement's case list between every goroutine running it, so a store's maintenance
// goroutine could be left waiting on another store's (already stopped) timer and
// stay degraded for good (4 runs in 6 failed so; TestClusterUnderYaegi... failed the
// same way about one run in three). The same scenario runs compiled first.
func TestStoresUnderYaegiAllRecoverAfterEveryRedisRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	outage := func() {
		srv.Kill()
		time.Sleep(time.Second)
		srv.Restart()
	}
	if e := cachetest.RecoverRounds(srv.Addr(), "oc:", 12, 2, outage); e != "" {
		t.Fatalf("compiled: %s", e)
	}
	rounds := 5
	if testing.Short() {
		rounds = 3 // make test; make test-all runs five
	}
	if e := call(yfunc(t, "RecoverRounds"), srv.Addr(), "oy:", 12, rounds, outage)[0].String(); e != "" {
		t.Fatalf("under Yaegi: %s", e)
	}
}
