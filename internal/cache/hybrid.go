package cache

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/wakeup"
)

const (
	modeMemory = iota
	modeRedis
	modeHybrid
)

const (
	stateHealthy int32 = iota
	stateDegraded
	stateRecovering
)

// Entry epochs (see the package documentation, "Coherence").
const (
	// epochPinned: the entry is authoritative whatever the tracking state (memory
	// mode, Local and Shared entries, revocations written here while Redis could not
	// confirm them).
	epochPinned uint64 = 0
	// epochStale: never served as fresh; kept as knowledge for when Redis cannot be
	// asked (a revocation read or written earlier, a lock taken).
	epochStale uint64 = ^uint64(0)
)

// invalSlotCount is the number of invalidation counters; a key maps to one by the
// last bytes of its digest, so an invalidation of one key rarely stops the fill of
// another.
const invalSlotCount = 1024

// defaultNegativeTTL bounds how long a "not found" from a Revocation keyspace without
// MaxTTL stays in L1 (it is dropped earlier on any invalidation or tracking loss).
const defaultNegativeTTL = 10 * time.Minute

// store implements Store for the three modes. One per middleware instance; nothing is
// shared between instances.
type store struct {
	mode   int
	prefix string
	// revPrefix starts the Redis keys of Revocation keyspaces: prefix, followed in
	// cluster mode by RevocationTag (every revocation in one slot).
	revPrefix string
	l1        *L1
	// revs holds every positive revocation this store knows, outside the L1's LRU;
	// shared with the other stores of the same middleware (revocations.go). In
	// memory mode it is the only record of revocations.
	revs   *revocationSet
	log    *logging.Logger
	client redis.Backend // nil in memory mode
	opts   Options

	// Coherence. live is the current tracking epoch (0: not live). gen is the
	// published generation (0: not coherent), drawn from genSeq: the store's own
	// (ownGen, ownGenSeq), or in memory mode the revocation set's, which every memory
	// store of the middleware publishes (a revocation through one makes what the
	// others cached stale too). An L2 read fills L1 only if no invalidation touched
	// its key's slot (invalSlots, indexed by the key's digest) and no flush
	// (flushSeq) happened while it was in flight.
	live              atomic.Uint64
	gen, genSeq       *atomic.Uint64
	ownGen, ownGenSeq atomic.Uint64
	flushSeq          atomic.Uint64
	invalSlots        [invalSlotCount]atomic.Uint64

	state atomic.Int32

	// outMu guards the outbox, the switch to healthy, and the order of synchronous
	// writes against replay.
	outMu        sync.Mutex
	outbox       *outbox
	outLen       atomic.Int64
	outboxClosed bool

	ksMu    sync.Mutex
	classes map[string]Class

	queue *writeQueue

	closed    atomic.Bool
	closeOnce sync.Once
	closeDone chan struct{}
	queueDone chan struct{} // closed when the Shared writer goroutine has returned
	bg        context.Context
	bgCancel  context.CancelFunc
	wg        sync.WaitGroup
	// wake wakes the maintenance goroutine (no select: see internal/wakeup).
	wake *wakeup.Waker
	// started opens once the first attempt to reach Redis has settled (connected and
	// subscribed, or failed); startedFlag mirrors it for a lock-free check. Until
	// then a revocation question L1 cannot answer waits for it (awaitFirstConnection) instead
	// of being answered "unknown".
	started     *wakeup.Gate
	startedFlag atomic.Bool

	trackState atomic.Value // string

	l2Reads, l2Writes, l2Errors                   atomic.Uint64
	invalidations, flushes, trackingLosses        atomic.Uint64
	healthChanges, replayed, refused, republished atomic.Uint64
}

// New builds the store described by opts: memory (L1 only), redis (Redis, with L1 for
// Local keyspaces and outage knowledge) or hybrid (L1 in front of Redis, kept
// coherent by client tracking). It never waits for the network: Redis connections
// are made in the background, and until the first one succeeds the store is
// degraded. When ctx is cancelled the store closes itself as Close would, with a 2 s
// drain deadline. Its revocations are its own: use NewInstance for a middleware's.
func New(ctx context.Context, opts Options, log *logging.Logger) (Store, error) {
	return NewInstance(ctx, opts, log, "")
}

// NewInstance is New for the store of one middleware instance, identified by binding
// (session.InstanceBinding). Every store built with the same binding in this process —
// after each configuration reload, and for each router using the middleware — shares
// one set of revocations, so that a revocation known to one is known to all, and to
// the stores built after it is gone (see revocationSets). An empty binding is New.
func NewInstance(ctx context.Context, opts Options, log *logging.Logger, binding string) (Store, error) {
	if log == nil {
		log = logging.New("cache", "error", nil)
	}
	s := &store{
		prefix:    opts.KeyPrefix,
		revPrefix: opts.KeyPrefix,
		l1:        NewL1(opts.L1MaxEntries, int64(opts.L1MaxBytes)),
		log:       log,
		opts:      opts,
		outbox:    newOutbox(opts.OutboxSize),
		classes:   map[string]Class{},
		closeDone: make(chan struct{}),
		wake:      wakeup.New(),
		started:   wakeup.NewGate(),
	}
	s.gen = &s.ownGen
	s.genSeq = &s.ownGenSeq
	if s.opts.ProbeInterval <= 0 {
		s.opts.ProbeInterval = time.Second
	}
	s.bg, s.bgCancel = context.WithCancel(context.Background())
	switch opts.Mode {
	case "", "memory":
		s.mode = modeMemory
		s.trackState.Store(TrackingOff)
		s.state.Store(stateHealthy)
	case "redis", "hybrid":
		client, err := newBackend(&opts.Redis, opts.KeyPrefix)
		if err != nil {
			return nil, err
		}
		if len(opts.Redis.Cluster.Addresses) > 0 {
			s.revPrefix = opts.KeyPrefix + RevocationTag
		}
		s.mode = modeRedis
		s.trackState.Store(TrackingOff)
		if opts.Mode == "hybrid" {
			s.mode = modeHybrid
			s.trackState.Store(TrackingDown)
		}
		s.state.Store(stateDegraded) // until the first connection
		s.client = client
		s.queue = newWriteQueue(opts.WriteQueue)
		s.queueDone = make(chan struct{})
	default:
		return nil, errors.New("cache.mode: must be memory, redis or hybrid, got " + opts.Mode)
	}
	// Before any goroutine runs: they read the set (republish, pending writes).
	s.revs = attachRevocations(binding, opts.MaxRevocations)
	if s.mode == modeMemory {
		s.gen = &s.revs.gen
		s.genSeq = &s.revs.genSeq
		s.gen.CompareAndSwap(0, s.genSeq.Add(1)) // the first memory store publishes one
	}
	if s.client != nil {
		s.wg.Add(2)
		go maintain(s)
		go queueLoop(s)
	}
	if ctx.Done() != nil {
		context.AfterFunc(ctx, func() {
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = s.Close(cctx)
			cancel()
		})
	}
	return s, nil
}

// Get implements Store (see Lookup, which is the same and faster under Yaegi).
func (s *store) Get(ctx context.Context, ks *Keyspace, id string) ([]byte, bool, error) {
	return Lookup(s, ctx, ks, id)
}

// Lookup is st.Get(ctx, ks, id) as a plain function. Under Yaegi a method call
// through an interface costs about 3 µs with this signature and a plain function call
// about 0.9 µs, so request paths should call Lookup. For the stores New returns, an
// answer from L1 is computed here with no network call (the L1's own list is changed
// only by l1.go's functions); other Store implementations get st.Get.
func Lookup(st Store, ctx context.Context, ks *Keyspace, id string) ([]byte, bool, error) {
	s, ok := st.(*store)
	if !ok {
		return st.Get(ctx, ks, id)
	}
	sum := sha256.Sum256([]byte(id))
	k := ks.Name + ":" + string(sum[:])
	c := s.l1
	now := int64(time.Since(c.base))
	c.mu.Lock()
	e := c.items[k]
	if e != nil && (e.expires == 0 || e.expires > now) {
		if e.epoch == epochPinned || e.epoch == c.live {
			if c.head != e {
				l1Touch(c, e)
			}
			c.hits++
			c.mu.Unlock()
			if e.flags&flagNegative != 0 {
				return nil, false, nil
			}
			return e.value, true, nil
		}
	}
	c.misses++
	c.mu.Unlock()
	// e's value, flags and epoch never change once it is in L1 (entries are replaced,
	// not modified), so they can be read after the unlock.
	if e != nil && e.flags&flagNegative == 0 && (e.expires == 0 || e.expires > now) {
		return getSlow(s, ctx, ks, k, &sum, e.value, true)
	}
	return getSlow(s, ctx, ks, k, &sum, nil, false)
}

// getSlow answers what L1 could not: from the outbox, from Redis (filling L1), or
// from knowledge kept for outages. known/knownOK is a positive L1 entry that is not
// fresh.
func getSlow(s *store, ctx context.Context, ks *Keyspace, k string, sum *[32]byte, known []byte, knownOK bool) ([]byte, bool, error) {
	if s.closed.Load() {
		return nil, false, ErrClosed
	}
	if !validKeyspace(ks) {
		return nil, false, ErrBadKeyspace
	}
	if s.mode == modeMemory || ks.Class == Local {
		// Memory mode: the revocation set is the truth; the L1 held only a copy.
		if ks.Class == Revocation {
			if v, ok := revGet(s.revs, k); ok {
				return v, true, nil
			}
		}
		return nil, false, nil
	}
	noteKeyspace(s, ks)
	rk := redisKey(s, ks, sum[:])
	if s.outLen.Load() > 0 {
		if v, found, pending := outboxLookup(s, rk); pending {
			return v, found, nil
		}
	}
	if s.state.Load() == stateDegraded && (ks.Class != Revocation || !awaitFirstConnection(s, ctx)) {
		return outageAnswer(s, ks, k, known, knownOK)
	}
	epoch := s.live.Load()
	slot, flush := readMark(s, k)
	s.l2Reads.Add(1)
	vals, err := s.client.Pipeline(ctx, [][]any{{"GET", rk}, {"PTTL", rk}})
	if err == nil {
		err = redis.ReplyError(vals[0])
	}
	if err != nil {
		l2Failed(s, err)
		return outageAnswer(s, ks, k, known, knownOK)
	}
	now := l1Now(s.l1)
	if vals[0].Null {
		// Only a Revocation "not found" is cached, and only while tracking is live:
		// the tracking subscription will tell us when it stops being true.
		if ks.Class == Revocation && epoch != 0 {
			ttl := ks.MaxTTL
			if ttl <= 0 {
				ttl = defaultNegativeTTL
			}
			l1Fill(s, k, nil, now+int64(ttl), epoch, flagNegative|flagRevocation, slot, flush)
		}
		return nil, false, nil
	}
	v := vals[0].Str
	pttl := vals[1].Int
	if pttl == -2 {
		return v, true, nil // expired between GET and PTTL: answer, do not cache
	}
	var exp int64
	if pttl > 0 {
		exp = now + pttl*int64(time.Millisecond)
	}
	if ks.MaxTTL > 0 && (exp == 0 || exp > now+int64(ks.MaxTTL)) {
		exp = now + int64(ks.MaxTTL)
	}
	if ks.Class == Revocation && exp > now {
		// Known from now on, whatever the L1 evicts: the answer while Redis cannot be
		// asked.
		revPut(s.revs, k, v, time.Duration(exp-now))
	}
	switch {
	case s.mode == modeRedis || ks.Class == Coordination:
		// Kept only as outage knowledge; Redis stays the source of truth.
		l1Fill(s, k, v, exp, epochStale, classFlags(ks.Class), slot, flush)
	case ks.Class == Revocation:
		ep := epoch
		if ep == 0 {
			ep = epochStale
		}
		l1Fill(s, k, v, exp, ep, flagRevocation, slot, flush)
	default: // Shared, hybrid: reads L1, then L2, then backfill L1 with the remaining TTL
		l1Fill(s, k, v, exp, epochPinned, 0, slot, flush)
	}
	return v, true, nil
}

// awaitFirstConnection waits, in a store that has just been built, until its first
// attempt to reach Redis has settled — bounded by ctx and by how long that attempt
// may take — and reports whether Redis can be asked now. Revocation reads, and
// Shared writes, use it while degraded: Traefik builds new instances on every
// configuration reload, with empty L1s, and without it a session revoked before the
// reload would pass in their first milliseconds.
func awaitFirstConnection(s *store, ctx context.Context) bool {
	if s.startedFlag.Load() {
		return false
	}
	o := s.client.Options()
	wakeup.WaitOpen(s.started, ctx, 2*(o.DialTimeout+o.ReadTimeout))
	return s.state.Load() != stateDegraded
}

// outageAnswer is what a read of k answers when Redis cannot be asked: for a
// revocation the revocation set's knowledge (the latest value any store of the
// middleware wrote or read), else the L1's (known).
func outageAnswer(s *store, ks *Keyspace, k string, known []byte, knownOK bool) ([]byte, bool, error) {
	if ks.Class == Revocation {
		if v, ok := revGet(s.revs, k); ok {
			return v, true, nil
		}
	}
	if knownOK {
		return known, true, nil
	}
	if ks.Class == Revocation {
		return nil, false, ErrUnavailable
	}
	return nil, false, nil
}

// Set implements Store.
func (s *store) Set(ctx context.Context, ks *Keyspace, id string, value []byte, ttl time.Duration) error {
	_, err := set(s, ctx, ks, id, value, ttl)
	return err
}

// Where a revocation is once SetRevocation returns without error.
const (
	// WriteConfirmed: Redis has applied the write; every replica sharing it enforces
	// the revocation (at once, or when the invalidation reaches it).
	WriteConfirmed = "confirmed"
	// WriteQueued: Redis could not confirm the write. This process enforces it (every
	// store of the middleware), and it waits in the outbox, replayed when Redis
	// returns, before the store reports healthy again.
	WriteQueued = "queued"
	// WriteLocal: memory mode, no Redis: every store of the middleware in this
	// process enforces it, and nothing else can.
	WriteLocal = "local"
)

// SetRevocation is Set for a Revocation keyspace that also says where the write is:
// WriteConfirmed, WriteQueued or WriteLocal. On error (ErrOutboxFull: enforced by
// this process only, and kept for no replay) it returns "". An operator asking for a
// revocation is told which of these happened, never that a write Redis did not take
// reached every replica.
func SetRevocation(st Store, ctx context.Context, ks *Keyspace, id string, value []byte, ttl time.Duration) (string, error) {
	s, ok := st.(*store)
	if !ok || ks == nil || ks.Class != Revocation {
		return "", ErrBadKeyspace
	}
	queued, err := set(s, ctx, ks, id, value, ttl)
	if err != nil {
		return "", err
	}
	if s.mode == modeMemory {
		return WriteLocal, nil
	}
	if queued {
		return WriteQueued, nil
	}
	return WriteConfirmed, nil
}

// set is Set, reporting whether a Revocation or Coordination write went to the
// outbox instead of Redis.
func set(s *store, ctx context.Context, ks *Keyspace, id string, value []byte, ttl time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	if !validKeyspace(ks) {
		return false, ErrBadKeyspace
	}
	ttl, ok := clampTTL(ks, ttl)
	if !ok {
		return false, ErrBadTTL
	}
	sum := sha256.Sum256([]byte(id))
	k := ks.Name + ":" + string(sum[:])
	exp := l1Now(s.l1) + int64(ttl)
	if s.mode == modeMemory && ks.Class == Revocation {
		// The set is the record: an L1 copy could go stale when another store of the
		// middleware writes a newer value.
		revPut(s.revs, k, value, ttl)
		bumpGen(s)
		return false, nil
	}
	if s.mode == modeMemory || ks.Class == Local {
		l1Set(s.l1, k, value, exp, epochPinned, classFlags(ks.Class))
		return false, nil
	}
	noteKeyspace(s, ks)
	rk := redisKey(s, ks, sum[:])
	switch ks.Class {
	case Revocation:
		// Enforced here at once (pinned: authoritative until Redis confirms it), then
		// Redis, synchronously.
		live := s.live.Load()
		e := l1Write(s, k, value, exp, epochPinned, flagRevocation)
		revPut(s.revs, k, value, ttl)
		bumpGen(s)
		queued, err := writeSync(s, ctx, outboxItem{key: rk, op: opSet, value: value, expires: exp, l1key: k})
		if err == nil && !queued {
			// Confirmed: from now on Redis and the tracking subscription vouch for it.
			l1Retag(s, k, e, confirmedEpoch(s, live))
		}
		return queued, err
	case Coordination:
		queued, err := writeSync(s, ctx, outboxItem{key: rk, op: opSet, value: value, expires: exp})
		if err == nil {
			ep := epochStale
			if queued {
				ep = epochPinned
			}
			l1Write(s, k, value, exp, ep, 0)
		}
		return queued, err
	}
	// Shared: L1 now, Redis through the queue.
	ep := epochPinned
	if s.mode == modeRedis {
		ep = epochStale
	}
	l1Write(s, k, value, exp, ep, 0)
	if ks.WriteThrough {
		writeThrough(s, ctx, outboxItem{key: rk, op: opSet, value: value, expires: exp})
		return false, nil
	}
	enqueue(s, outboxItem{key: rk, op: opSet, value: value, expires: exp})
	return false, nil
}

// SetNX implements Store.
func (s *store) SetNX(ctx context.Context, ks *Keyspace, id string, value []byte, ttl time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	if !validKeyspace(ks) {
		return false, ErrBadKeyspace
	}
	ttl, ok := clampTTL(ks, ttl)
	if !ok {
		return false, ErrBadTTL
	}
	sum := sha256.Sum256([]byte(id))
	k := ks.Name + ":" + string(sum[:])
	now := l1Now(s.l1)
	exp := now + int64(ttl)
	fl := classFlags(ks.Class)
	if s.mode == modeMemory || ks.Class == Local {
		if ks.Class != Revocation {
			return l1SetNX(s.l1, k, value, exp, epochPinned, fl, now), nil
		}
		set := revPutNX(s.revs, k, value, ttl)
		if set {
			bumpGen(s)
		}
		return set, nil
	}
	noteKeyspace(s, ks)
	rk := redisKey(s, ks, sum[:])
	if ks.Class == Shared {
		ep := epochPinned
		if s.mode == modeRedis {
			ep = epochStale
		}
		set := l1WriteNX(s, k, value, exp, ep, fl, now)
		if set {
			enqueue(s, outboxItem{key: rk, op: opSetNX, value: value, expires: exp})
		}
		return set, nil
	}
	// Revocation and Coordination: atomic across replicas through Redis.
	live := s.live.Load()
	item := outboxItem{key: rk, op: opSetNX, value: value, expires: exp}
	if ks.Class == Revocation {
		item.l1key = k
	}
	v, queued, err := writeSyncReply(s, ctx, item, func() bool {
		// Redis cannot be asked: decide on what this replica knows, atomically.
		if ks.Class == Revocation {
			if _, known := revGet(s.revs, k); known {
				return false
			}
		}
		return l1WriteNX(s, k, value, exp, epochPinned, fl, now)
	})
	if err != nil {
		return false, err
	}
	var set bool
	if queued {
		set = v.Int == 1
	} else {
		set = v.Type == redis.TypeSimple // SET NX answers OK, or null when the key exists
	}
	if set && !queued {
		ep := epochStale
		if ks.Class == Revocation {
			ep = confirmedEpoch(s, live)
		}
		l1Write(s, k, value, exp, ep, fl)
	}
	if set && ks.Class == Revocation {
		revPut(s.revs, k, value, ttl)
		bumpGen(s)
	}
	return set, nil
}

// Delete implements Store.
func (s *store) Delete(ctx context.Context, ks *Keyspace, id string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !validKeyspace(ks) {
		return ErrBadKeyspace
	}
	sum := sha256.Sum256([]byte(id))
	k := ks.Name + ":" + string(sum[:])
	l1Forget(s, k)
	if ks.Class == Revocation {
		revDelete(s.revs, k)
		bumpGen(s)
	}
	if s.mode == modeMemory || ks.Class == Local {
		return nil
	}
	noteKeyspace(s, ks)
	rk := redisKey(s, ks, sum[:])
	if ks.Class == Shared {
		if ks.WriteThrough {
			writeThrough(s, ctx, outboxItem{key: rk, op: opDel})
		} else {
			enqueue(s, outboxItem{key: rk, op: opDel})
		}
		return nil
	}
	_, err := writeSync(s, ctx, outboxItem{key: rk, op: opDel})
	return err
}

// Generation implements Store: one atomic load.
func (s *store) Generation() uint64 { return s.gen.Load() }

// Coherent implements Store.
func (s *store) Coherent() bool { return s.gen.Load() != 0 }

// Health implements Store.
func (s *store) Health() string { return healthName(s.state.Load()) }

func healthName(st int32) string {
	switch st {
	case stateDegraded:
		return HealthDegraded
	case stateRecovering:
		return HealthRecovering
	}
	return HealthHealthy
}

// Stats implements Store.
func (s *store) Stats() Stats {
	l := s.l1.Stats()
	st := Stats{
		Mode: [...]string{"memory", "redis", "hybrid"}[s.mode], Health: s.Health(), Coherent: s.Coherent(),
		Generation: s.gen.Load(),
		L1Hits:     l.Hits, L1Misses: l.Misses, L1Evictions: l.Evictions, L1Expired: l.Expired,
		L1Entries: l.Entries, L1MaxEntries: l.MaxEntries, L1Bytes: l.Bytes, L1MaxBytes: l.MaxBytes,
		L2Reads: s.l2Reads.Load(), L2Writes: s.l2Writes.Load(), L2Errors: s.l2Errors.Load(),
		OutboxMax: s.outbox.max, OutboxReplayed: s.replayed.Load(), OutboxRefused: s.refused.Load(),
		Republished: s.republished.Load(), Invalidations: s.invalidations.Load(), Flushes: s.flushes.Load(),
		TrackingLosses: s.trackingLosses.Load(), HealthChanges: s.healthChanges.Load(),
	}
	st.Tracking, _ = s.trackState.Load().(string)
	st.Revocations, st.MaxRevocations, st.RevocationsDropped = revStats(s.revs)
	st.OutboxLength = int(s.outLen.Load())
	if s.queue != nil {
		st.QueueLength, st.QueueMax, st.QueueDrops = queueStats(s.queue)
	}
	if s.client != nil {
		st.Connections = s.client.Live()
	}
	return st
}
