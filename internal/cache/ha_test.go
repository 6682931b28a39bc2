package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// haOptions is a hybrid configuration for a Sentinel or Cluster deployment, with
// timeouts short enough for failover tests.
func haOptions(prefix string, set *redistest.SentinelSet, cl *redistest.Cluster) Options {
	o := memoryOptions()
	o.Mode = "hybrid"
	o.KeyPrefix = prefix
	o.ProbeInterval = 50 * time.Millisecond
	o.Redis = RedisOptions{
		PoolSize: 2, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxReplyBytes: 1 << 20, ClientName: "gatehouse-ha-test",
	}
	if set != nil {
		o.Redis.Password = "data-secret"
		o.Redis.Sentinel = SentinelOptions{MasterName: set.MasterName, Addresses: set.SentinelAddrs(), Password: "sentinel-secret"}
	}
	if cl != nil {
		o.Redis.Password = "cluster-secret"
		o.Redis.Cluster = ClusterOptions{Addresses: cl.Seeds()[:2]}
	}
	return o
}

func haReplicas(t *testing.T, o Options, n int) []*store {
	t.Helper()
	var out []*store
	for i := 0; i < n; i++ {
		s, _ := newStore(t, o)
		out = append(out, s)
	}
	for _, s := range out {
		waitHealthy(t, s)
	}
	return out
}

// workload runs what requests do on every store until stopped: revocation checks,
// Shared reads and writes, Coordination locks. A read may answer ErrUnavailable (a
// revocation status the replica cannot verify while Redis fails over; counted);
// any other error, on any call, is a failure a request would see.
type workload struct {
	stop       chan struct{}
	wg         sync.WaitGroup
	mu         sync.Mutex
	ops        int
	unverified int
	failures   []string
}

func startWorkload(stores []*store, tag string) *workload {
	w := &workload{stop: make(chan struct{})}
	for g, s := range stores {
		g, s := g, s
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				default:
				}
				id := tag + "-" + strconv.Itoa(g) + "-" + strconv.Itoa(i%50)
				var fail string
				_, _, err := s.Get(bg, ksRevoked, id)
				unverified := err == ErrUnavailable
				if err != nil && !unverified {
					fail = "Get revocation: " + err.Error()
				}
				if _, _, err := s.Get(bg, ksTokver, "tok-"+id); err != nil {
					fail = "Get shared: " + err.Error()
				}
				if err := s.Set(bg, ksTokver, "tok-"+id, []byte("claims"), time.Minute); err != nil {
					fail = "Set shared: " + err.Error()
				}
				if _, err := s.SetNX(bg, ksLock, "lock-"+id, []byte("me"), time.Second); err != nil {
					fail = "SetNX: " + err.Error()
				}
				w.mu.Lock()
				w.ops++
				if unverified {
					w.unverified++
				}
				if fail != "" && len(w.failures) < 5 {
					w.failures = append(w.failures, fail)
				}
				w.mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return w
}

func (w *workload) finish() (int, int, []string) {
	close(w.stop)
	w.wg.Wait()
	return w.ops, w.unverified, w.failures
}

// waitAllHealthy waits until every store is healthy and coherent and returns the time
// since from.
func waitAllHealthy(t *testing.T, stores []*store, from time.Time, within time.Duration) time.Duration {
	t.Helper()
	for _, s := range stores {
		waitHealthyWithin(t, s, within)
	}
	return time.Since(from)
}

func waitHealthyWithin(t *testing.T, s *store, within time.Duration) {
	t.Helper()
	eventually(t, within, func() bool { return s.Health() == HealthHealthy && s.Coherent() })
}

// revokeDuring writes a revocation on s every 100 ms until done reports true, and
// returns their ids; none may fail.
func revokeDuring(t *testing.T, s *store, tag string, done func() bool) []string {
	t.Helper()
	var ids []string
	for i := 0; !done() && i < 200; i++ {
		id := tag + "-during-" + strconv.Itoa(i)
		if err := s.Set(bg, ksRevoked, id, []byte("1"), time.Hour); err != nil {
			t.Fatalf("revocation %s during the failover: %v", id, err)
		}
		ids = append(ids, id)
		time.Sleep(100 * time.Millisecond)
	}
	return ids
}

// everyoneEnforces checks that every store answers found (verified, no error) for
// every id.
func everyoneEnforces(t *testing.T, stores []*store, ids []string) {
	t.Helper()
	for n, s := range stores {
		for _, id := range ids {
			_, found, err := s.Get(bg, ksRevoked, id)
			if err != nil || !found {
				t.Fatalf("replica %d: revocation %s not enforced after the failover (found=%v err=%v)", n, id, found, err)
			}
		}
	}
}

func revocationKey(prefix, id string, cluster bool) string {
	sum := sha256.Sum256([]byte(id))
	tag := ""
	if cluster {
		tag = RevocationTag
	}
	return prefix + tag + "revoked:" + hex.EncodeToString(sum[:])
}

// TestSentinelFailoverKeepsEveryRevocation: three replicas on a Sentinel deployment
// (one primary, one replica, three sentinels) go through a SENTINEL FAILOVER and then
// the loss of the new primary. Requests never fail meanwhile; a revocation written
// just before and those written during each failover are enforced by every replica
// afterwards, and are in the new primary.
func TestSentinelFailoverKeepsEveryRevocation(t *testing.T) {
	redistest.Slow(t, "Sentinel failovers (the Yaegi host runs one in make test)")
	set := redistest.StartSentinel(t, redistest.SentinelOptions{Password: "data-secret", SentinelPassword: "sentinel-secret"})
	o := haOptions("sha:", set, nil)
	rs := haReplicas(t, o, 3)
	if rs[0].Stats().Tracking != TrackingLive {
		t.Fatalf("%+v", rs[0].Stats())
	}
	for _, how := range []string{"failover", "kill"} {
		old := set.Primary()
		before := how + "-before"
		if err := rs[0].Set(bg, ksRevoked, before, []byte("1"), time.Hour); err != nil || rs[0].Stats().OutboxLength != 0 {
			t.Fatalf("revocation before the failover: %v, %+v", err, rs[0].Stats())
		}
		w := startWorkload(rs, how)
		time.Sleep(50 * time.Millisecond)
		failAt := time.Now()
		if how == "failover" {
			set.Failover()
		} else {
			old.Kill()
		}
		var primary *redistest.Server
		moved := func() bool {
			addr, err := set.MasterAddr()
			if err != nil || addr == old.Addr() {
				return false
			}
			primary = set.Node(addr)
			return primary != nil && primary.Role() == "master"
		}
		during := revokeDuring(t, rs[1], how, moved)
		if len(during) == 0 {
			t.Fatal("the failover completed before any revocation was written during it")
		}
		if primary == nil {
			primary = set.WaitNewPrimary(old, set.FailoverDeadline())
		}
		recovered := waitAllHealthy(t, rs, failAt, set.FailoverDeadline())
		ops, unverified, failures := w.finish()
		var replayed, republished uint64
		for _, s := range rs {
			replayed += s.Stats().OutboxReplayed
			republished += s.Stats().Republished
		}
		t.Logf("FIGURE sentinel %s: every replica healthy and coherent %v after the failure; %d request-path operations, %d failed, %d revocation checks unverifiable (ErrUnavailable); %d revocations written during it; outbox replays so far %d, write-backs %d",
			how, recovered.Round(time.Millisecond), ops, len(failures), unverified, len(during), replayed, republished)
		if len(failures) > 0 {
			t.Fatalf("request-path calls failed during the %s: %v", how, failures)
		}
		all := append([]string{before}, during...)
		everyoneEnforces(t, rs, all)
		for _, id := range all {
			if n, _ := primary.MustDo("EXISTS", revocationKey("sha:", id, false)).(int64); n != 1 {
				t.Fatalf("revocation %s is not in the new primary %s", id, primary.Addr())
			}
		}
		set.WaitReady(set.FailoverDeadline())
	}
}

// TestClusterKeepsEveryRevocationThroughMigrationAndFailover: three replicas on a
// cluster of three primaries with a replica each. Shared keys spread over every
// primary, revocations sit in one slot; that slot is migrated to another primary
// while requests run, then its new primary is killed and its replica promoted.
// Requests never fail; revocations written before and during are enforced by every
// replica and are in the cluster afterwards.
func TestClusterKeepsEveryRevocationThroughMigrationAndFailover(t *testing.T) {
	redistest.Slow(t, "a Cluster slot migration and failover (the Yaegi host runs a Cluster failover in make test)")
	cl := redistest.StartCluster(t, redistest.ClusterOptions{ReplicasEach: 1, Password: "cluster-secret"})
	o := haOptions("cl:", nil, cl)
	rs := haReplicas(t, o, 3)
	for i := 0; i < 300; i++ {
		if err := rs[0].Set(bg, ksTokver, "spread-"+strconv.Itoa(i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := rs[0].Set(bg, ksRevoked, "rev-"+strconv.Itoa(i), []byte("1"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	revSlot := redis.Slot("cl:" + RevocationTag)
	home := cl.PrimaryOf(revSlot)
	eventually(t, 5*time.Second, func() bool {
		for _, n := range cl.Nodes {
			size, _ := n.MustDo("DBSIZE").(int64)
			if n.Role() == "master" && size == 0 {
				return false
			}
		}
		return true
	})
	for _, n := range cl.Nodes {
		keys, _ := n.MustDo("KEYS", "cl:{gh}*").([]any)
		if n.Role() == "master" && (len(keys) != 0) != (n == home) {
			t.Fatalf("primary %s holds %d revocation keys; all belong on %s", n.Addr(), len(keys), home.Addr())
		}
	}
	// Invalidations from every primary reach the other replicas.
	for i := 0; i < 5; i++ {
		id := "prop-" + strconv.Itoa(i)
		if _, found, _ := rs[2].Get(bg, ksRevoked, id); found {
			t.Fatal("found before written")
		}
		if err := rs[0].Set(bg, ksRevoked, id, []byte("1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, func() bool { _, f, _ := rs[2].Get(bg, ksRevoked, id); return f })
	}

	t.Run("MigrationOfTheRevocationSlot", func(t *testing.T) {
		var to *redistest.Server
		for _, n := range cl.Nodes {
			if n != home && n.Role() == "master" {
				to = n
				break
			}
		}
		w := startWorkload(rs, "mig")
		cl.BeginMigration(revSlot, home, to)
		var during []string
		for cl.MigrateKeys(revSlot, home, to, 50) > 0 {
			id := "mig-during-" + strconv.Itoa(len(during))
			if err := rs[1].Set(bg, ksRevoked, id, []byte("1"), time.Hour); err != nil {
				t.Fatal(err)
			}
			during = append(during, id)
		}
		cl.FinishMigration(revSlot, home, to)
		id := "mig-after"
		if err := rs[1].Set(bg, ksRevoked, id, []byte("1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		during = append(during, id)
		time.Sleep(200 * time.Millisecond)
		ops, unverified, failures := w.finish()
		t.Logf("migration: %d request-path operations, %d failed, %d unverifiable", ops, len(failures), unverified)
		if len(failures) > 0 || unverified > 0 {
			t.Fatalf("requests failed during the migration: %v (unverifiable %d)", failures, unverified)
		}
		everyoneEnforces(t, rs, append(during, "rev-0", "rev-299", "prop-4"))
		if n, _ := to.MustDo("EXISTS", revocationKey("cl:", "mig-after", true)).(int64); n != 1 {
			t.Fatal("the revocation written after the migration is not on the slot's new primary")
		}
		home = to
	})

	t.Run("RevocationPrimaryKilled", func(t *testing.T) {
		before := "kill-before"
		if err := rs[0].Set(bg, ksRevoked, before, []byte("1"), time.Hour); err != nil || rs[0].Stats().OutboxLength != 0 {
			t.Fatalf("revocation before the failure: %v, %+v", err, rs[0].Stats())
		}
		w := startWorkload(rs, "kill")
		time.Sleep(50 * time.Millisecond)
		failAt := time.Now()
		home.Kill()
		var primary *redistest.Server
		during := revokeDuring(t, rs[1], "kill", func() bool {
			if cl.PrimaryOf(revSlot) == home {
				return false
			}
			primary = cl.PrimaryOf(revSlot)
			return true
		})
		if len(during) == 0 {
			t.Fatal("the failover completed before any revocation was written during it")
		}
		recovered := waitAllHealthy(t, rs, failAt, 15*time.Second)
		ops, unverified, failures := w.finish()
		var replayed, republished uint64
		for _, s := range rs {
			replayed += s.Stats().OutboxReplayed
			republished += s.Stats().Republished
		}
		t.Logf("FIGURE cluster primary killed: every replica healthy and coherent %v after the failure; %d request-path operations, %d failed, %d revocation checks unverifiable (ErrUnavailable); %d revocations written during it; outbox replays so far %d, write-backs %d",
			recovered.Round(time.Millisecond), ops, len(failures), unverified, len(during), replayed, republished)
		if len(failures) > 0 {
			t.Fatalf("request-path calls failed during the failover: %v", failures)
		}
		all := append([]string{before, "rev-1", "mig-after"}, during...)
		everyoneEnforces(t, rs, all)
		for _, id := range all {
			if n, _ := primary.MustDo("EXISTS", revocationKey("cl:", id, true)).(int64); n != 1 {
				t.Fatalf("revocation %s is not on the promoted primary %s", id, primary.Addr())
			}
		}
		// A replica started now (empty L1) sees them from the cluster.
		fresh := haReplicas(t, o, 1)[0]
		for _, id := range all {
			if _, found, err := fresh.Get(bg, ksRevoked, id); !found || err != nil {
				t.Fatalf("a new replica does not find %s: %v", id, err)
			}
		}
		if !strings.Contains(fresh.Stats().Tracking, TrackingLive) {
			t.Fatalf("%+v", fresh.Stats())
		}
	})
}

// TestClusterOverTLSFromConfiguration: cache.redis.tls.enabled with the cluster's
// CA, a client certificate and an ACL user, as an ElastiCache-style configuration
// would give them; every node is reached over TLS as that user.
func TestClusterOverTLSFromConfiguration(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.ClusterOptions{TLS: true, Users: []string{"gh on >gh-secret ~tls:* +@all"}})
	o := haOptions("tls:", nil, cl)
	o.Redis.Username = "gh"
	o.Redis.Password = "gh-secret"
	o.Redis.TLSEnabled = true
	o.Redis.TLSCAPEM = cl.Nodes[0].CAPEM
	o.Redis.TLSCertPEM = cl.Nodes[0].ClientCertPEM
	o.Redis.TLSKeyPEM = cl.Nodes[0].ClientKeyPEM
	rs := haReplicas(t, o, 2)
	if err := rs[0].Set(bg, ksRevoked, "sid", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, func() bool { _, f, _ := rs[1].Get(bg, ksRevoked, "sid"); return f })
	for i := 0; i < 50; i++ {
		if err := rs[0].Set(bg, ksTokver, "t"+strconv.Itoa(i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, func() bool {
		for _, n := range cl.Nodes {
			if size, _ := n.MustDo("DBSIZE").(int64); size == 0 {
				return false
			}
		}
		return true
	})
	for _, n := range cl.Nodes {
		for _, c := range n.Clients() {
			if c["name"] == "gatehouse-ha-test" && c["user"] != "gh" {
				t.Fatalf("node %s: a connection as %q", n.Addr(), c["user"])
			}
		}
	}
}

// movableEndpoint is a TCP endpoint that forwards each new connection to the address
// it points at when the connection arrives, as a managed service's primary endpoint
// (a DNS name) or a Kubernetes Service does after a failover: connections made before
// a move stay with the old server.
type movableEndpoint struct {
	l      net.Listener
	target atomic.Value // string
}

func newMovableEndpoint(t *testing.T, target string) *movableEndpoint {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &movableEndpoint{l: l}
	e.target.Store(target)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", e.target.Load().(string))
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
	return e
}

// TestURLFollowsAnEndpointMovedToTheNewPrimary: cache.redis.url names an endpoint
// that a failover moves to the promoted replica while the old primary stays up as a
// replica (ElastiCache's primary endpoint with cluster mode disabled, a Kubernetes
// Service following the primary). The connections made before the move answer
// READONLY; they must be dropped so that new ones reach the new primary, and the
// revocation written meanwhile must land there. (Before the fix the store went
// degraded -> recovering -> degraded on every probe, for ever.)
func TestURLFollowsAnEndpointMovedToTheNewPrimary(t *testing.T) {
	fast := []string{"--repl-diskless-sync-delay", "0"} // a replica in sync in milliseconds
	a := redistest.Start(t, redistest.Options{Args: fast})
	b := redistest.Start(t, redistest.Options{Args: append([]string{"--replicaof", a.Host, strconv.Itoa(a.Port)}, fast...)})
	ep := newMovableEndpoint(t, a.Addr())
	o := redisOptionsFor(a, "hybrid", "mv:")
	o.Redis.URL = "redis://" + ep.l.Addr().String()
	rs := haReplicas(t, o, 2)
	if err := rs[0].Set(bg, ksRevoked, "before", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return b.MustDo("EXISTS", revocationKey("mv:", "before", false)) == int64(1) })

	b.MustDo("REPLICAOF", "NO", "ONE")
	a.MustDo("REPLICAOF", b.Host, strconv.Itoa(b.Port))
	ep.target.Store(b.Addr())
	if err := rs[0].Set(bg, ksRevoked, "after", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	waitAllHealthy(t, rs, time.Now(), 5*time.Second)
	eventually(t, 5*time.Second, func() bool { return rs[0].Stats().OutboxLength == 0 })
	for _, id := range []string{"before", "after"} {
		if n := b.MustDo("EXISTS", revocationKey("mv:", id, false)); n != int64(1) {
			t.Fatalf("revocation %s is not on the new primary", id)
		}
	}
	everyoneEnforces(t, rs, []string{"before", "after"})
	// Invalidations now come from the new primary.
	if _, found, _ := rs[1].Get(bg, ksRevoked, "later"); found {
		t.Fatal("found before written")
	}
	if err := rs[0].Set(bg, ksRevoked, "later", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, func() bool { _, f, _ := rs[1].Get(bg, ksRevoked, "later"); return f })
}
