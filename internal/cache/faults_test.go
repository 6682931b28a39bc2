package cache

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// requestPath runs what a request may do against the store and fails the test on any
// error a request could get because of Redis (only ErrUnavailable from a revocation
// read is allowed). It returns the revocation answer for id.
func requestPath(t *testing.T, s *store, id string) (found bool, unverified bool) {
	t.Helper()
	_, found, err := s.Get(bg, ksRevoked, id)
	if err != nil && err != ErrUnavailable {
		t.Fatalf("Get revocation %s: %v", id, err)
	}
	if _, _, err := s.Get(bg, ksTokver, "tok-"+id); err != nil {
		t.Fatalf("Get shared: %v", err)
	}
	if err := s.Set(bg, ksTokver, "tok-"+id, []byte("claims"), time.Minute); err != nil {
		t.Fatalf("Set shared: %v", err)
	}
	if _, err := s.SetNX(bg, ksLock, "lock-"+id, []byte("me"), time.Second); err != nil {
		t.Fatalf("SetNX coordination: %v", err)
	}
	if _, _, err := s.Get(bg, ksLock, "lock-"+id); err != nil {
		t.Fatalf("Get coordination: %v", err)
	}
	return found, err == ErrUnavailable
}

// TestRevocationsWrittenWhileRedisIsDownReachOtherReplicasAfterRestart: Redis is
// killed (and comes back empty). During the outage no request path fails, the writer
// enforces its revocations at once, the others never answer "not revoked" from what
// they cached before, and after the restart every revocation written during the
// outage (and, written back, every one known from before) reaches the others.
func TestRevocationsWrittenWhileRedisIsDownReachOtherReplicasAfterRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rs := threeReplicas(t, srv, "kill:")
	a, b, c := rs[0], rs[1], rs[2]
	if err := a.Set(bg, ksRevoked, "before", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*store{b, c} {
		r := r
		eventually(t, 5*time.Second, func() bool { _, f, _ := r.Get(bg, ksRevoked, "before"); return f })
	}
	for i := 0; i < 20; i++ {
		for _, r := range []*store{b, c} {
			if found, _ := requestPath(t, r, "during-"+strconv.Itoa(i)); found {
				t.Fatal("revoked before it was written")
			}
		}
	}

	srv.Kill()
	for i := 0; i < 20; i++ {
		id := "during-" + strconv.Itoa(i)
		if err := a.Set(bg, ksRevoked, id, []byte("1"), time.Hour); err != nil {
			t.Fatalf("revocation during the outage: %v", err)
		}
		if found, _ := requestPath(t, a, id); !found {
			t.Fatalf("the writer does not enforce %s", id)
		}
	}
	eventually(t, 5*time.Second, func() bool { return b.Health() == HealthDegraded && c.Health() == HealthDegraded })
	for _, r := range []*store{b, c} {
		if r.Coherent() || r.Generation() != 0 {
			t.Fatal("a degraded replica claims coherence")
		}
		for i := 0; i < 20; i++ {
			found, unverified := requestPath(t, r, "during-"+strconv.Itoa(i))
			if !found && !unverified {
				t.Fatal("a replica answered \"not revoked\" from before the outage after tracking was lost")
			}
		}
		if found, _ := requestPath(t, r, "before"); !found {
			t.Fatal("a revocation known from before the outage was not enforced during it")
		}
	}
	if st := a.Stats(); st.OutboxLength < 20 || st.Health != HealthDegraded { // 20 revocations, and the locks taken meanwhile
		t.Fatalf("writer during the outage: %+v", st)
	}

	srv.Restart()
	for _, r := range rs {
		waitHealthy(t, r)
	}
	for _, r := range []*store{b, c} {
		for i := 0; i < 20; i++ {
			if found, unverified := requestPath(t, r, "during-"+strconv.Itoa(i)); !found || unverified {
				t.Fatalf("during-%d not enforced after the restart (unverified=%v)", i, unverified)
			}
		}
		if found, _ := requestPath(t, r, "before"); !found {
			t.Fatal("revocation from before the outage lost with Redis's data")
		}
	}
	st := a.Stats()
	if st.OutboxLength != 0 || st.OutboxReplayed < 20 || st.Republished == 0 || st.HealthChanges < 2 {
		t.Fatalf("writer after recovery: %+v", st)
	}
}

// TestPausedRedisNeverFailsARequest stops the server (SIGSTOP): connections stay up,
// nothing answers. Calls return within the read timeout without errors, and what was
// revoked meanwhile reaches the other replicas after SIGCONT.
func TestPausedRedisNeverFailsARequest(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rs := threeReplicas(t, srv, "pause:")
	a, b := rs[0], rs[1]
	requestPath(t, b, "p1")
	srv.Pause()
	paused := true
	defer func() {
		if paused {
			srv.Resume()
		}
	}()
	start := time.Now()
	if err := a.Set(bg, ksRevoked, "p1", []byte("1"), time.Hour); err != nil {
		t.Fatalf("revocation while paused: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second { // ReadTimeout is 1 s
		t.Fatalf("revocation while paused took %v", d)
	}
	eventually(t, 5*time.Second, func() bool { return a.Health() == HealthDegraded && b.Health() == HealthDegraded })
	for i := 0; i < 10; i++ {
		if found, _ := requestPath(t, a, "p1"); !found {
			t.Fatal("the writer does not enforce its revocation")
		}
		if found, unverified := requestPath(t, b, "p1"); !found && !unverified {
			t.Fatal("\"not revoked\" answered from L1 after tracking was lost")
		}
	}
	srv.Resume()
	paused = false
	eventually(t, 10*time.Second, func() bool {
		found, unverified := requestPath(t, b, "p1")
		return found && !unverified
	})
	waitHealthy(t, a)
	if a.Stats().OutboxLength != 0 {
		t.Fatal("outbox not replayed")
	}
}

// TestClientKillDropsNegativesUntilResubscribed: CLIENT KILL ends every connection,
// tracking included. From the moment the replica knows, no "not revoked" cached before
// is returned; a revocation written while it was not subscribed is seen; then it
// subscribes again and becomes coherent.
func TestClientKillDropsNegativesUntilResubscribed(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	b := newReplica(t, srv, "hybrid", "ck:")
	if _, found, _ := b.Get(bg, ksRevoked, "sid"); found {
		t.Fatal("found")
	}
	g := b.Generation()
	// One round trip: Redis drops b's connections (tracking included) and, in the same
	// event-loop turn, another replica's revocation lands, so no invalidation can
	// reach b for it.
	if _, err := srv.Pipeline([]string{"CLIENT", "KILL", "SKIPME", "yes"}, []string{"SET", "ck:revoked:" + hexID("sid"), "1", "PX", "60000"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return b.Stats().TrackingLosses > 0 })
	found, unverified := requestPath(t, b, "sid")
	if !found && !unverified {
		t.Fatal("a \"not revoked\" cached before tracking was lost was returned")
	}
	waitHealthy(t, b)
	if n := b.Generation(); n == 0 || n == g {
		t.Fatalf("generation %d after resubscribing (was %d)", n, g)
	}
	if found, unverified := requestPath(t, b, "sid"); !found || unverified {
		t.Fatal("revocation not enforced after resubscribing")
	}
	if st := b.Stats(); st.TrackingLosses == 0 || st.Tracking != TrackingLive {
		t.Fatalf("%+v", st)
	}
}

func TestFlushAllEmptiesEveryL1WithoutErrors(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rs := threeReplicas(t, srv, "fl:")
	for i := 0; i < 20; i++ {
		for _, r := range rs {
			requestPath(t, r, "f"+strconv.Itoa(i))
		}
	}
	_ = rs[0].Set(bg, ksRevoked, "f1", []byte("1"), time.Hour)
	gens := []uint64{rs[1].Generation(), rs[2].Generation()}
	srv.FlushAll()
	for i, r := range rs[1:] {
		r := r
		eventually(t, 5*time.Second, func() bool { return r.Stats().Flushes > 0 })
		if g := r.Generation(); g == gens[i] || g == 0 {
			t.Fatalf("generation %d after FLUSHALL (was %d)", g, gens[i])
		}
	}
	for _, r := range rs {
		for i := 0; i < 20; i++ {
			requestPath(t, r, "f"+strconv.Itoa(i))
		}
		if r.Health() != HealthHealthy {
			t.Fatalf("FLUSHALL changed health to %s", r.Health())
		}
	}
}

func TestOutboxFullRefusesTheWriteButStillEnforcesItLocally(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	o := redisOptionsFor(srv, "hybrid", "ob:")
	o.OutboxSize = 2
	s, _ := newStore(t, o)
	waitHealthy(t, s)
	srv.Kill()
	eventually(t, 5*time.Second, func() bool { return s.Health() == HealthDegraded })
	for i, want := range []error{nil, nil, ErrOutboxFull} {
		if err := s.Set(bg, ksRevoked, "o"+strconv.Itoa(i), []byte("1"), time.Hour); err != want {
			t.Fatalf("write %d: %v, want %v", i, err, want)
		}
	}
	if _, found, _ := s.Get(bg, ksRevoked, "o2"); !found {
		t.Fatal("refused revocation not enforced locally")
	}
	// Rewriting a key already in the outbox takes no new room.
	if err := s.Set(bg, ksRevoked, "o0", []byte("2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.OutboxRefused != 1 || st.OutboxLength != 2 {
		t.Fatalf("%+v", st)
	}
}

func TestHealthTransitionsAreLoggedAndCounted(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s, log := newStore(t, redisOptionsFor(srv, "hybrid", "hl:"))
	waitHealthy(t, s)
	srv.Kill()
	eventually(t, 5*time.Second, func() bool { return s.Health() == HealthDegraded })
	srv.Restart()
	waitHealthy(t, s)
	out := log.String()
	for _, want := range []string{"-> degraded", "degraded -> recovering", "recovering -> healthy"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, srv.URL()) && strings.Contains(srv.URL(), "@") {
		t.Error("the Redis URL (with its password) reached the log")
	}
	if s.Stats().HealthChanges < 4 {
		t.Fatalf("%+v", s.Stats())
	}
}

// TestAStoreThatNeverConnectsSaysWhyOnce: a store whose Redis refuses it from the
// start (here a wrong password) makes no health transition, so its first failing
// probe is logged, with the reason, once per degraded period (not once per probe),
// and without the password.
func TestAStoreThatNeverConnectsSaysWhyOnce(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "right-password"})
	o := redisOptionsFor(srv, "hybrid", "wp:")
	o.Redis.URL = "redis://:wrong-password@" + srv.Addr()
	s, log := newStore(t, o)
	eventually(t, 5*time.Second, func() bool { return strings.Contains(log.String(), "WRONGPASS") })
	time.Sleep(20 * o.ProbeInterval)
	out := log.String()
	if n := strings.Count(out, "event=cache.redis_unreachable "); n != 1 || s.Health() != HealthDegraded {
		t.Fatalf("%d lines, health %s:\n%s", n, s.Health(), out)
	}
	if strings.Contains(out, "wrong-password") {
		t.Fatalf("the password reached the log:\n%s", out)
	}
}

func TestACLUserWithoutTrackingStaysHealthyButNeverCoherent(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Users: []string{"app on >app-pw ~* &* +@all -client|tracking"}})
	o := redisOptionsFor(srv, "hybrid", "acl:")
	o.Redis.Username, o.Redis.Password = "app", "app-pw"
	s, _ := newStore(t, o)
	eventually(t, 5*time.Second, func() bool { return s.Health() == HealthHealthy })
	if st := s.Stats(); st.Tracking != TrackingUnsupported || st.Coherent {
		t.Fatalf("%+v", st)
	}
	_, _, _ = s.Get(bg, ksRevoked, "x")
	srv.MustDo("SET", "acl:revoked:"+hexID("x"), "1")
	if _, found, err := s.Get(bg, ksRevoked, "x"); !found || err != nil {
		t.Fatal("a negative answer was cached without tracking")
	}
}

func TestStoreConnectsOverTLSFromConfiguration(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{TLS: true, TLSClientAuth: true, Password: "pw"})
	o := redisOptionsFor(srv, "hybrid", "tls:")
	o.Redis.TLSCAPEM, o.Redis.TLSCertPEM, o.Redis.TLSKeyPEM = srv.CAPEM, srv.ClientCertPEM, srv.ClientKeyPEM
	o.Redis.TLSServerName = srv.ServerName
	s, _ := newStore(t, o)
	waitHealthy(t, s)
	if err := s.Set(bg, ksRevoked, "t", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if srv.MustDo("EXISTS", "tls:revoked:"+hexID("t")) != int64(1) {
		t.Fatal("not written over TLS")
	}
}

// TestCloseIsSafeWithConcurrentWritersAndStopsEverything: writers keep writing while
// Close runs; nothing panics, queued writes reach Redis, every goroutine and
// connection ends.
func TestCloseIsSafeWithConcurrentWritersAndStopsEverything(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	before := runtime.NumGoroutine()
	st, err := New(context.Background(), redisOptionsFor(srv, "hybrid", "cl:"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*store)
	waitHealthy(t, s)
	var wg sync.WaitGroup
	var writes atomic.Int64
	for g := 0; g < 8; g++ {
		g := g
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := strconv.Itoa(g) + "-" + strconv.Itoa(i)
				err := s.Set(bg, ksTokver, id, []byte("v"), time.Minute)
				if err == nil {
					err = s.Set(bg, ksRevoked, id, []byte("1"), time.Minute)
				}
				if err == ErrClosed {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, _, err := s.Get(bg, ksTokver, "x"); err != ErrClosed && err != nil {
		t.Fatal(err)
	}
	if writes.Load() == 0 {
		t.Fatal("no write happened before Close")
	}
	eventually(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= before })
	eventually(t, 5*time.Second, func() bool {
		for _, c := range srv.Clients() {
			if c["name"] == "gatehouse-test" {
				return false
			}
		}
		return true
	})
	if st := s.Stats(); st.QueueLength != 0 {
		t.Fatalf("queue not drained: %+v", st)
	}
}

func TestCloseSendsQueuedWritesToRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := newReplica(t, srv, "hybrid", "drain:")
	for i := 0; i < 500; i++ {
		if err := s.Set(bg, ksTokver, "t"+strconv.Itoa(i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.MustDo("DBSIZE"); n != int64(500) {
		t.Fatalf("%v keys in Redis after Close, want 500 (stats %+v)", n, s.Stats())
	}
}

func TestCancellingNewsContextClosesTheStore(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := New(ctx, redisOptionsFor(srv, "hybrid", "cx:"), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, st.(*store))
	cancel()
	eventually(t, 5*time.Second, func() bool { return st.Set(bg, ksRevoked, "x", []byte("1"), time.Minute) == ErrClosed })
	var last []map[string]string
	defer func() {
		if t.Failed() {
			t.Logf("clients: %v", last)
		}
	}()
	eventually(t, 5*time.Second, func() bool { last = srv.Clients(); return len(last) == 0 })
}

// TestNewNeverWaitsForTheNetwork: New returns at once whatever the network does. A
// new store's first revocation read waits for its first attempt to reach Redis
// (awaitFirstConnection: a reload must not forget revocations); once that attempt has
// failed — at once where the address is unroutable, after DialTimeout where packets
// are dropped — requests are answered without waiting.
func TestNewNeverWaitsForTheNetwork(t *testing.T) {
	o := memoryOptions()
	o.Mode = "hybrid"
	o.Redis.URL = "redis://192.0.2.1:6390" // TEST-NET-1: never answers
	o.Redis.DialTimeout = 3 * time.Second
	start := time.Now()
	s, _ := newStore(t, o)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("New took %v", d)
	}
	if s.Health() != HealthDegraded {
		t.Fatalf("health %s before any connection", s.Health())
	}
	eventually(t, 3*o.Redis.DialTimeout, s.startedFlag.Load)
	// Requests do not wait.
	start = time.Now()
	if _, _, err := s.Get(bg, ksRevoked, "x"); err != ErrUnavailable {
		t.Fatalf("Get: %v", err)
	}
	if err := s.Set(bg, ksRevoked, "x", []byte("1"), time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("requests waited %v", d)
	}
	// Sentinel and Cluster configurations do not wait for the network either.
	for _, kind := range []string{"sentinel", "cluster"} {
		o := memoryOptions()
		o.Mode = "hybrid"
		o.Redis.DialTimeout = 3 * time.Second
		if kind == "sentinel" {
			o.Redis.Sentinel = SentinelOptions{MasterName: "mymaster", Addresses: []string{"192.0.2.1:26379"}}
		} else {
			o.Redis.Cluster = ClusterOptions{Addresses: []string{"192.0.2.1:6379"}}
		}
		start := time.Now()
		s, _ := newStore(t, o)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%s: New took %v", kind, d)
		}
		eventually(t, 3*o.Redis.DialTimeout, s.startedFlag.Load)
		start = time.Now()
		if _, _, err := s.Get(bg, ksRevoked, "x"); err != ErrUnavailable || s.Health() != HealthDegraded {
			t.Fatalf("%s: Get: %v, health %s", kind, err, s.Health())
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%s: a request took %v", kind, d)
		}
	}
	o.Redis.Sentinel = SentinelOptions{Addresses: []string{"h:1"}}
	if _, err := New(context.Background(), o, nil); err == nil || !strings.Contains(err.Error(), "cache.redis.sentinel") {
		t.Fatalf("sentinel without a master name: %v", err)
	}
}

// TestEveryKnownRevocationIsWrittenBackWhateverItsDigest: after Redis restarts
// empty, a replica writes back every revocation it knows, including those whose
// SHA-256 digest contains a ':' byte (the L1 key is name + ":" + the raw digest, so
// it must not be split at the last ':').
func TestEveryKnownRevocationIsWrittenBackWhateverItsDigest(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a := newReplica(t, srv, "hybrid", "wb:")
	var ids []string
	colons := 0
	for i := 0; len(ids) < 40; i++ {
		id := "sid-" + strconv.Itoa(i)
		sum := sha256Sum(id)
		if strings.Contains(string(sum[:]), ":") {
			colons++
		} else if len(ids)-colons >= 20 {
			continue
		}
		ids = append(ids, id)
	}
	if colons < 20 {
		t.Fatalf("only %d ids with ':' in their digest", colons)
	}
	for _, id := range ids {
		if err := a.Set(bg, ksRevoked, id, []byte("1"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	srv.Restart()
	waitHealthy(t, a)
	for _, id := range ids {
		if n, _ := srv.MustDo("EXISTS", "wb:revoked:"+hexID(id)).(int64); n != 1 {
			sum := sha256Sum(id)
			t.Fatalf("revocation %s (digest with ':': %v) not written back", id, strings.Contains(string(sum[:]), ":"))
		}
	}
	if st := a.Stats(); st.Republished != uint64(len(ids)) {
		t.Fatalf("republished %d of %d", st.Republished, len(ids))
	}
}

// TestAStaleMaintenanceDecisionNeverUndoesADegrade: the maintenance goroutine decides
// on the state it read before a round trip to Redis (a probe, a replay). A request
// that found Redis down meanwhile degraded the store; the goroutine's transitions out
// of healthy and out of recovering must then leave it degraded and incoherent, not
// report it recovering (or healthy) while Redis is gone.
func TestAStaleMaintenanceDecisionNeverUndoesADegrade(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := newReplica(t, srv, "hybrid", "stale:")
	waitHealthy(t, s)
	srv.Kill()
	degrade(s, "a request found redis down")
	if moveState(s, stateHealthy, stateRecovering, "invalidation tracking lost") {
		t.Fatal("a probe begun while healthy moved a degraded store to recovering")
	}
	if moveState(s, stateRecovering, stateHealthy, "") {
		t.Fatal("a replay begun while recovering moved a degraded store to healthy")
	}
	if s.Health() != HealthDegraded || s.Coherent() {
		t.Fatalf("health %s, coherent %v", s.Health(), s.Coherent())
	}
}
