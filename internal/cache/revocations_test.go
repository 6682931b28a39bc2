package cache

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

func revoked(t testing.TB, s Store, id string) bool {
	t.Helper()
	_, found, _ := Lookup(s, bg, ksRevoked, id)
	return found
}

// revokeN revokes prefix0 … prefix<n-1> for ttl.
func revokeN(s Store, prefix string, n int, ttl time.Duration) {
	for i := 0; i < n; i++ {
		_ = s.Set(bg, ksRevoked, prefix+strconv.Itoa(i), []byte("1"), ttl)
	}
}

// boundedStore is a memory store whose revocation set holds 16.
func boundedStore(t testing.TB) *store {
	o := memoryOptions()
	o.MaxRevocations = 16
	s, _ := newStore(t, o)
	return s
}

// TestAttackersOwnLogoutsDoNotEvictTheVictimsRevocation: with a small L1, twenty
// logouts of the attacker's own sessions (and other cache traffic) used to push the
// victim's revocation out of the LRU, and the victim's signed-out cookie worked again.
func TestAttackersOwnLogoutsDoNotEvictTheVictimsRevocation(t *testing.T) {
	o := memoryOptions()
	o.L1MaxEntries = 16
	s, _ := newStore(t, o)
	if err := s.Set(bg, ksRevoked, "session:victim", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		_ = s.Set(bg, ksRevoked, "session:attacker-"+strconv.Itoa(i), []byte("1"), time.Hour)
		_ = s.Set(bg, ksTokver, "churn-"+strconv.Itoa(i), []byte("x"), time.Hour)
	}
	if st := s.Stats(); st.L1Evictions == 0 {
		t.Fatalf("the scenario did not churn the L1: %+v", st)
	}
	if !revoked(t, s, "session:victim") {
		t.Fatal("the victim's revocation was lost to LRU churn")
	}
	if st := s.Stats(); st.Revocations != 21 || st.RevocationsDropped != 0 || RevocationFloor(s, time.Now()) != 0 {
		t.Fatalf("%d revocations, %d dropped", st.Revocations, st.RevocationsDropped)
	}
}

// TestASignedOutSessionStaysRevokedAfterAReload: a Traefik reload builds a new store
// for the same middleware; without Redis it used to start empty, and a cookie copied
// before the sign-out worked again.
func TestASignedOutSessionStaysRevokedAfterAReload(t *testing.T) {
	binding := t.Name()
	old, _ := newInstanceStore(t, memoryOptions(), binding)
	if err := old.Set(bg, ksRevoked, "session:x", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	// New before Close, as Traefik does: both live for a while.
	fresh, _ := newInstanceStore(t, memoryOptions(), binding)
	if !revoked(t, fresh, "session:x") {
		t.Fatal("a store built while the old one lives does not know its revocation")
	}
	g := fresh.Generation()
	if err := old.Set(bg, ksRevoked, "session:y", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if fresh.Generation() == g || !revoked(t, fresh, "session:y") {
		t.Fatal("a revocation written through the old store did not reach the new one at once")
	}
	_ = old.Close(bg)
	later, _ := newInstanceStore(t, memoryOptions(), binding)
	for _, id := range []string{"session:x", "session:y"} {
		if !revoked(t, later, id) {
			t.Fatalf("%s forgotten after the old store closed", id)
		}
	}
	// A newer not-before written through one store replaces the copy another holds.
	_ = later.Set(bg, ksRevoked, "sub:alice", []byte("100"), time.Hour)
	if v, _, _ := Lookup(fresh, bg, ksRevoked, "sub:alice"); string(v) != "100" {
		t.Fatalf("fresh: %q", v)
	}
	_ = fresh.Set(bg, ksRevoked, "sub:alice", []byte("200"), time.Hour)
	if v, _, _ := Lookup(later, bg, ksRevoked, "sub:alice"); string(v) != "200" {
		t.Fatalf("later still answers %q", v)
	}
}

// TestRevocationsOfOneMiddlewareNeverReachAnother: the process-wide set is keyed by
// the instance binding; another middleware (another binding), and a store without
// one, see nothing of it.
func TestRevocationsOfOneMiddlewareNeverReachAnother(t *testing.T) {
	a, _ := newInstanceStore(t, memoryOptions(), t.Name()+"/a")
	b, _ := newInstanceStore(t, memoryOptions(), t.Name()+"/b")
	plain, _ := newStore(t, memoryOptions())
	_ = a.Set(bg, ksRevoked, "session:x", []byte("1"), time.Hour)
	if revoked(t, b, "session:x") || revoked(t, plain, "session:x") {
		t.Fatal("a revocation reached another middleware")
	}
}

// TestAFullRevocationSetRaisesTheFloorInsteadOfForgetting: at cache.maxRevocations
// the revocations learnt first are dropped and the floor covers what they revoked
// until they would have expired; expired revocations make room without a floor.
func TestAFullRevocationSetRaisesTheFloorInsteadOfForgetting(t *testing.T) {
	s := boundedStore(t)
	revokeN(s, "expiring-", 16, 50*time.Millisecond)
	eventually(t, 5*time.Second, func() bool { return !revoked(t, s, "expiring-15") })
	before := time.Now().Unix()
	revokeN(s, "live-", 16, time.Hour)
	if st := s.Stats(); st.RevocationsDropped != 0 || RevocationFloor(s, time.Now()) != 0 {
		t.Fatalf("expired revocations raised the floor: %+v", st)
	}

	// Full of live ones: the 4 learnt first make room for 4 more.
	revokeN(s, "more-", 4, time.Hour)
	st := s.Stats()
	floor := RevocationFloor(s, time.Now())
	if st.Revocations != 16 || st.RevocationsDropped != 4 || floor < before || floor > time.Now().Unix() {
		t.Fatalf("floor %d (wrote from %d), %+v", floor, before, st)
	}
	for i := 0; i < 4; i++ {
		if revoked(t, s, "live-"+strconv.Itoa(i)) {
			t.Fatalf("live-%d was kept beyond the bound", i)
		}
	}
	if !revoked(t, s, "more-3") || !revoked(t, s, "live-15") {
		t.Fatal("a revocation within the bound is missing")
	}
}

// TestTheFloorLastsUntilTheDroppedRevocationWouldHaveExpired: a floor raised by a
// revocation that would have expired soon is lifted once it would have.
func TestTheFloorLastsUntilTheDroppedRevocationWouldHaveExpired(t *testing.T) {
	s := boundedStore(t)
	revokeN(s, "r-", 17, 200*time.Millisecond)
	if RevocationFloor(s, time.Now()) == 0 {
		t.Fatal("no floor after dropping a live revocation")
	}
	// The floor is kept in whole seconds, rounded up: at most about 1.2 s.
	eventually(t, 5*time.Second, func() bool { return RevocationFloor(s, time.Now()) == 0 })
}

// TestTheFloorAppliesInRedisModesOnlyWhileRedisCannotBeAsked: Redis holds every
// revocation while it answers; the set (and its floor) is the outage answer.
func TestTheFloorAppliesInRedisModesOnlyWhileRedisCannotBeAsked(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	o := redisOptionsFor(srv, "hybrid", "floor:")
	o.MaxRevocations = 16
	s, _ := newStore(t, o)
	waitHealthy(t, s)
	revokeN(s, "r-", 20, time.Hour)
	if s.Stats().RevocationsDropped != 4 || RevocationFloor(s, time.Now()) != 0 {
		t.Fatalf("healthy: floor %d, %+v", RevocationFloor(s, time.Now()), s.Stats())
	}
	if !revoked(t, s, "r-0") {
		t.Fatal("Redis's answer lost")
	}
	srv.Kill()
	eventually(t, 5*time.Second, func() bool { return s.Health() == HealthDegraded })
	if RevocationFloor(s, time.Now()) == 0 {
		t.Fatal("no floor while Redis cannot be asked")
	}
}

// TestARevocationConfirmedBeforeAnOutageIsEnforcedDuringItDespiteChurn: hybrid mode;
// the L1 evicted a revocation Redis had confirmed, then Redis went away. The revocation
// set still answers it (it used to be "unverifiable", counted as not revoked).
func TestARevocationConfirmedBeforeAnOutageIsEnforcedDuringItDespiteChurn(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	o := redisOptionsFor(srv, "hybrid", "churn:")
	o.L1MaxEntries = 16
	s, _ := newStore(t, o)
	waitHealthy(t, s)
	reader := newReplica(t, srv, "hybrid", "churn:")
	if err := s.Set(bg, ksRevoked, "session:victim", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	// And one this replica only read from Redis.
	if err := reader.Set(bg, ksRevoked, "session:other", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if !revoked(t, s, "session:other") {
		t.Fatal("not read from Redis")
	}
	for i := 0; i < 40; i++ {
		_ = s.Set(bg, ksTokver, "churn-"+strconv.Itoa(i), []byte("x"), time.Hour)
	}
	srv.Kill()
	eventually(t, 5*time.Second, func() bool { return s.Health() == HealthDegraded })
	for _, id := range []string{"session:victim", "session:other"} {
		if _, found, err := Lookup(s, bg, ksRevoked, id); !found {
			t.Fatalf("%s during the outage: found=%v err=%v", id, found, err)
		}
	}
}

// TestRevocationsRedisNeverConfirmedAreReplayedByTheNextInstanceAfterAReload: a
// reload while Redis is down closes the store holding unconfirmed revocations in its
// outbox; the next store of the same middleware replays them when Redis returns, so
// they still reach the other replicas.
func TestRevocationsRedisNeverConfirmedAreReplayedByTheNextInstanceAfterAReload(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	o := redisOptionsFor(srv, "hybrid", "handover:")
	old, lb := newInstanceStore(t, o, t.Name())
	waitHealthy(t, old)
	srv.Kill()
	eventually(t, 5*time.Second, func() bool { return old.Health() == HealthDegraded })
	revokeN(old, "during-", 5, time.Hour)
	if st := old.Stats(); st.OutboxLength != 5 {
		t.Fatalf("outbox: %+v", st)
	}
	fresh, _ := newInstanceStore(t, o, t.Name())
	_ = old.Close(bg)
	if !strings.Contains(lb.String(), "5 of them handed to the next instance") {
		t.Fatalf("close log:\n%s", lb.String())
	}
	if !revoked(t, fresh, "during-0") {
		t.Fatal("the new instance does not enforce the old one's revocations during the outage")
	}
	srv.Restart()
	waitHealthy(t, fresh)
	other := newReplica(t, srv, "hybrid", "handover:")
	for i := 0; i < 5; i++ {
		if _, found, err := other.Get(bg, ksRevoked, "during-"+strconv.Itoa(i)); !found || err != nil {
			t.Fatalf("during-%d never reached Redis: %v", i, err)
		}
	}
}
