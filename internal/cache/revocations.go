package cache

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
)

// revocationSet holds every positive revocation a middleware knows (written by one of
// its stores, read from Redis, or kept for Redis in an outbox), outside the L1's LRU:
// churn in the L1 — other users' logins, an attacker's own logouts — never pushes a
// revocation out. It is bounded by its own count (cache.maxRevocations) and fails
// closed when that bound is reached: to make room it drops the revocation learnt
// first and raises a floor instead of forgetting, so that whatever the dropped
// revocation revoked (it existed when the revocation was learnt) is refused until the
// revocation would have expired anyway. See RevocationFloor.
//
// In memory mode the set is the only record of revocations (the L1 holds none); in
// redis and hybrid modes Redis is the truth, and the set is what the store answers
// from while Redis cannot be asked, and writes back to a Redis that lost them.
//
// One set serves every store built for one middleware (the same instance binding) in
// this process: the stores of a configuration reload, and the instances Traefik
// builds for each router that uses the middleware. A write through one store is seen
// by the others at once: in memory mode they hold no copy of revocations and publish
// the set's generation (gen), which every write moves; in redis and hybrid modes
// Redis's invalidations tell them. The set holds no reference to the stores, so a
// store that is never closed is still garbage once its middleware is.
type revocationSet struct {
	// base anchors the set's monotonic clock; the set outlives the stores (and their
	// L1 clocks) that write to it.
	base time.Time

	mu         sync.Mutex
	items      map[string]*revEntry
	head, tail *revEntry // head: learnt first
	sweep      *revEntry // where the next expiry sweep resumes
	max        int
	puts       uint64
	dropped    uint64 // live revocations dropped for room (each raised the floor)
	// floorAt and floorUntil are Unix seconds: while now < floorUntil, anything that
	// existed at or before floorAt may have lost its revocation.
	floorAt, floorUntil int64
	// refs counts the stores using the set (attached and not closed).
	refs int
	// gen and genSeq are the generation the memory-mode stores of the middleware
	// publish (store.gen).
	gen, genSeq atomic.Uint64
	// shared: the set is registered for a binding (other stores may come).
	shared bool
	// runID is the run_id of the Redis server a store of this middleware last
	// recovered with ("" when none has): a store built later compares it with the
	// server it finds, to tell a restart that lost the revocations.
	runID string
	// pending are revocation writes a closed store could not get Redis to confirm,
	// for the next store of this middleware to replay.
	pending []pendingWrite
}

// revEntry is one revocation: value under key (an L1 key, keyspace name + ":" + the
// id's digest) until expires (the set's clock), learnt at the Unix second learnt.
type revEntry struct {
	key        string
	value      []byte
	expires    int64
	learnt     int64
	prev, next *revEntry
}

// pendingWrite is a revocation write handed from a closed store to the next one:
// the Redis key is rebuilt from the L1 key with the new store's prefix.
type pendingWrite struct {
	key     string // L1 key
	op      uint8
	value   []byte
	expires int64 // the set's clock
}

// revocationSets is the plugin's one piece of process-wide state. Traefik runs every
// instance of a plugin in one interpreter for the life of the process, and builds new
// instances — with new, empty stores — on every configuration reload (and one per
// router that uses a middleware). A revocation known only to an instance that has
// been replaced would be forgotten: without Redis a signed-out cookie copied before a
// reload would work again afterwards. So the revocations of one middleware live here,
// keyed by its instance binding (middleware name, issuer, client id, cookie name: see
// session.InstanceBinding), which every instance of that middleware shares and no
// other middleware can have: one middleware's revocations never reach another's.
// Everything else an instance holds stays in the instance.
var (
	revocationSetsMu sync.Mutex
	revocationSets   = map[string]*revocationSet{}
)

// newRevocationSet returns an empty set holding at most max revocations (the default
// bound when max < 1).
// DefaultMaxRevocations is cache.maxRevocations' default.
const DefaultMaxRevocations = 100000

func newRevocationSet(max int) *revocationSet {
	if max < 1 {
		max = DefaultMaxRevocations
	}
	return &revocationSet{base: time.Now(), items: map[string]*revEntry{}, max: max}
}

// attachRevocations returns the set of binding for a new store, creating it when this
// process has none yet. An empty binding gives the store a set of its own. It also
// sweeps a little of the sets no store uses, and forgets those that have become empty.
func attachRevocations(binding string, max int) *revocationSet {
	if binding == "" {
		set := newRevocationSet(max)
		set.refs = 1
		return set
	}
	revocationSetsMu.Lock()
	defer revocationSetsMu.Unlock()
	for b, other := range revocationSets {
		if b != binding && forgetIfUnused(other) {
			delete(revocationSets, b)
		}
	}
	set := revocationSets[binding]
	if set == nil {
		set = newRevocationSet(max)
		set.shared = true
		revocationSets[binding] = set
	}
	set.mu.Lock()
	if max > 0 {
		set.max = max // the latest configuration's bound; applied at the next write
	}
	set.refs++
	set.mu.Unlock()
	return set
}

// forgetIfUnused sweeps part of a set no live store uses and reports whether it is
// empty (and may be forgotten).
func forgetIfUnused(set *revocationSet) bool {
	set.mu.Lock()
	defer set.mu.Unlock()
	if set.refs > 0 {
		return false
	}
	revSweep(set, 1024, revNow(set))
	return len(set.items) == 0 && len(set.pending) == 0
}

// detachRevocations records that a store using set has closed.
func detachRevocations(set *revocationSet) {
	set.mu.Lock()
	set.refs--
	set.mu.Unlock()
}

// revNow is the set's clock: nanoseconds since it was made, monotonic.
func revNow(set *revocationSet) int64 { return int64(time.Since(set.base)) }

// revGet returns the revocation under key, if it has not expired.
func revGet(set *revocationSet, key string) ([]byte, bool) {
	now := revNow(set)
	set.mu.Lock()
	e := set.items[key]
	if e != nil && e.expires <= now {
		revUnlink(set, e)
		e = nil
	}
	set.mu.Unlock()
	if e == nil {
		return nil, false
	}
	return e.value, true
}

// revPut records that key is revoked with value for ttl. A write of the value already
// held only extends its expiry. When the set is full, expired revocations go first,
// then the one learnt first, raising the floor.
func revPut(set *revocationSet, key string, value []byte, ttl time.Duration) {
	now := revNow(set)
	exp := now + int64(ttl)
	set.mu.Lock()
	defer set.mu.Unlock()
	if e := set.items[key]; e != nil && e.expires > now && bytes.Equal(e.value, value) {
		if exp > e.expires {
			e.expires = exp
		}
		return
	}
	revInsert(set, key, value, exp, now)
}

// revPutNX records key only when no unexpired revocation is under it, and reports
// whether it did.
func revPutNX(set *revocationSet, key string, value []byte, ttl time.Duration) bool {
	now := revNow(set)
	set.mu.Lock()
	defer set.mu.Unlock()
	if e := set.items[key]; e != nil && e.expires > now {
		return false
	}
	revInsert(set, key, value, now+int64(ttl), now)
	return true
}

// revDelete removes key.
func revDelete(set *revocationSet, key string) {
	set.mu.Lock()
	if e := set.items[key]; e != nil {
		revUnlink(set, e)
	}
	set.mu.Unlock()
}

// revInsert adds a revocation learnt now (replacing any under key) and makes room;
// the caller holds the lock. Whoever raises the floor also writes a revocation, and
// moves its store's generation, so that verdicts cached before are checked again.
func revInsert(set *revocationSet, key string, value []byte, exp, now int64) {
	if old := set.items[key]; old != nil {
		revUnlink(set, old)
	}
	e := &revEntry{key: key, value: value, expires: exp, learnt: time.Now().Unix(), prev: set.tail}
	if set.tail != nil {
		set.tail.next = e
	} else {
		set.head = e
	}
	set.tail = e
	set.items[key] = e
	set.puts++
	if set.puts&63 == 0 {
		revSweep(set, 16, now)
	}
	if len(set.items) <= set.max {
		return
	}
	revSweep(set, 256, now)
	for len(set.items) > set.max && set.head != nil {
		first := set.head
		if first.expires > now {
			revRaiseFloor(set, first)
		}
		revUnlink(set, first)
	}
}

// revRaiseFloor records that e, still live, is dropped for room: whatever it revoked
// existed when it was learnt, so everything that existed then is refused until e
// would have expired.
func revRaiseFloor(set *revocationSet, e *revEntry) {
	set.dropped++
	until := set.base.Add(time.Duration(e.expires)).Unix() + 1
	if time.Now().Unix() >= set.floorUntil {
		set.floorAt = e.learnt // the previous floor no longer matters
	} else if e.learnt > set.floorAt {
		set.floorAt = e.learnt
	}
	if until > set.floorUntil {
		set.floorUntil = until
	}
}

// revFloor returns the floor at Unix time now (0: none in force).
func revFloor(set *revocationSet, now int64) int64 {
	set.mu.Lock()
	defer set.mu.Unlock()
	if now >= set.floorUntil {
		return 0
	}
	return set.floorAt
}

// revSweep examines at most max entries from where the last sweep stopped and removes
// the expired ones; the caller holds the lock.
func revSweep(set *revocationSet, max int, now int64) {
	e := set.sweep
	if e == nil || set.items[e.key] != e {
		e = set.head
	}
	for i := 0; i < max && e != nil; i++ {
		next := e.next
		if e.expires <= now {
			revUnlink(set, e)
		}
		e = next
	}
	set.sweep = e
}

// revUnlink removes e; the caller holds the lock.
func revUnlink(set *revocationSet, e *revEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		set.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		set.tail = e.prev
	}
	if set.sweep == e {
		set.sweep = e.next
	}
	e.prev = nil // one by one: Yaegi panics on a multiple assignment of untyped nils
	e.next = nil
	delete(set.items, e.key)
}

// revSnapshot returns every live revocation: L1 keys, values and remaining TTLs.
func revSnapshot(set *revocationSet) ([]string, [][]byte, []time.Duration) {
	now := revNow(set)
	var keys []string
	var values [][]byte
	var ttls []time.Duration
	set.mu.Lock()
	for e := set.head; e != nil; e = e.next {
		if e.expires > now {
			keys = append(keys, e.key)
			values = append(values, e.value)
			ttls = append(ttls, time.Duration(e.expires-now))
		}
	}
	set.mu.Unlock()
	return keys, values, ttls
}

// revRunID returns the Redis run_id a store of this middleware last recovered with.
func revRunID(set *revocationSet) string {
	set.mu.Lock()
	defer set.mu.Unlock()
	return set.runID
}

// setRevRunID records the Redis run_id a store of this middleware recovered with.
func setRevRunID(set *revocationSet, id string) {
	set.mu.Lock()
	set.runID = id
	set.mu.Unlock()
}

// revStats returns the number of revocations held, the bound and how many live ones
// were dropped for room.
func revStats(set *revocationSet) (int, int, uint64) {
	set.mu.Lock()
	defer set.mu.Unlock()
	return len(set.items), set.max, set.dropped
}

// RevocationFloor returns a Unix time T such that everything that existed at or before
// T must be refused as revoked, or 0 when nothing must. It is non-zero only after the
// store's revocation set (bounded by cache.maxRevocations) had to drop a revocation
// that had not expired: what that revocation revoked — a session, a token, a subject's
// sessions — existed when it was learnt, at or before T, so refusing everything that
// began by then keeps it revoked, at the price of signing out every other session that
// old. T holds until the dropped revocation would have expired. In redis and hybrid
// modes Redis holds every revocation, so the floor applies only while Redis cannot be
// asked (degraded). Callers compare T with the start of a session (its creation time)
// or a token's iat, allowing for clock skew between replicas.
func RevocationFloor(st Store, now time.Time) int64 {
	s, ok := st.(*store)
	if !ok || s.revs == nil {
		return 0
	}
	if s.mode != modeMemory && s.state.Load() != stateDegraded {
		return 0
	}
	return revFloor(s.revs, now.Unix())
}
