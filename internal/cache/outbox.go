package cache

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
)

// Outbox and write-queue operations.
const (
	opSet uint8 = iota + 1
	opSetNX
	opDel
)

// outboxItem is one write bound for Redis: key is the Redis key, expires an l1Now time.
// l1key is set for a revocation's write (its L1 key): such a write outlives a store
// that closes before Redis confirmed it (handOver).
type outboxItem struct {
	key     string
	op      uint8
	value   []byte
	expires int64
	l1key   string
}

// args builds the Redis command for the item at time now; ok is false when there is
// nothing left to do (the value has expired).
func (it *outboxItem) args(now int64) ([]any, bool) {
	if it.op == opDel {
		return []any{"DEL", it.key}, true
	}
	ms := (it.expires - now) / int64(time.Millisecond)
	if it.expires-now <= 0 {
		return nil, false
	}
	if ms < 1 {
		ms = 1
	}
	if it.op == opSetNX {
		return []any{"SET", it.key, it.value, "NX", "PX", ms}, true
	}
	return []any{"SET", it.key, it.value, "PX", ms}, true
}

// outbox is the RevocationOutbox: writes of the Revocation and Coordination classes
// that Redis has not confirmed, at most one per key (the latest), replayed in order
// of first arrival. It is bounded; guarded by store.outMu.
type outbox struct {
	max   int
	items map[string]*outboxEntry
	order []*outboxEntry
}

type outboxEntry struct {
	item outboxItem
	ver  uint64
	gone bool
}

func newOutbox(max int) *outbox {
	if max < 1 {
		max = 1
	}
	return &outbox{max: max, items: map[string]*outboxEntry{}}
}

// put keeps item, replacing an older write to the same key; false when full.
func (o *outbox) put(item outboxItem) bool {
	if e := o.items[item.key]; e != nil {
		if e.item.op == opDel && item.op == opSetNX {
			// DEL then SET NX is a SET: the key is meant to be absent first.
			item.op = opSet
		}
		e.item = item
		e.ver++
		return true
	}
	if len(o.items) >= o.max {
		return false
	}
	e := &outboxEntry{item: item}
	o.items[item.key] = e
	o.order = append(o.order, e)
	return true
}

// snapshot returns up to n pending entries in order, with their versions.
func (o *outbox) snapshot(n int) ([]*outboxEntry, []outboxItem, []uint64) {
	var es []*outboxEntry
	var items []outboxItem
	var vers []uint64
	live := o.order[:0]
	for _, e := range o.order {
		if !e.gone {
			live = append(live, e)
		}
	}
	for i := len(live); i < len(o.order); i++ {
		o.order[i] = nil
	}
	o.order = live
	for _, e := range o.order {
		if len(es) == n {
			break
		}
		es = append(es, e)
		items = append(items, e.item)
		vers = append(vers, e.ver)
	}
	return es, items, vers
}

// done removes e if it was not rewritten since version ver.
func (o *outbox) done(e *outboxEntry, ver uint64) bool {
	if e.gone || e.ver != ver {
		return false
	}
	e.gone = true
	delete(o.items, e.item.key)
	return true
}

// outboxLookup answers a read from the outbox: pending reports that the key has an
// unconfirmed write, whose outcome is the answer.
func outboxLookup(s *store, rk string) ([]byte, bool, bool) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	e := s.outbox.items[rk]
	if e == nil {
		return nil, false, false
	}
	if e.item.op == opDel || e.item.expires <= l1Now(s.l1) {
		return nil, false, true
	}
	return e.item.value, true, true
}

// writeSync sends a Revocation or Coordination write to Redis now, unless Redis is
// known to be down or older writes still wait in the outbox (then it joins them, to
// keep their order). queued reports that the write is in the outbox.
func writeSync(s *store, ctx context.Context, item outboxItem) (bool, error) {
	_, queued, err := writeSyncReply(s, ctx, item, nil)
	return queued, err
}

// writeSyncReply is writeSync returning Redis's reply. For SET NX, local decides when
// Redis cannot be asked (under outMu, so atomically with other fallbacks): only a
// write that succeeded locally is queued, and the returned value's Int is 1 when it
// did.
func writeSyncReply(s *store, ctx context.Context, item outboxItem, local func() bool) (redis.Value, bool, error) {
	s.outMu.Lock()
	if s.state.Load() == stateDegraded || s.outLen.Load() > 0 {
		v, err := queueLocked(s, item, local)
		s.outMu.Unlock()
		kickMaintain(s)
		return v, true, err
	}
	s.outMu.Unlock()
	args, ok := item.args(l1Now(s.l1))
	if !ok {
		return redis.Value{}, false, nil
	}
	s.l2Writes.Add(1)
	v, err := s.client.Do(ctx, args...)
	if err == nil {
		return v, false, nil
	}
	if s.closed.Load() {
		return redis.Value{}, false, ErrClosed
	}
	if redis.IsServerError(err) && !unavailable(err) {
		s.l2Errors.Add(1)
		return v, false, err
	}
	// Not confirmed: Redis is down, or the caller gave up and the write may or may not
	// have happened. Either way it is kept and replayed (writes are idempotent).
	l2Failed(s, err)
	s.outMu.Lock()
	v, err = queueLocked(s, item, local)
	s.outMu.Unlock()
	kickMaintain(s)
	return v, true, err
}

// queueLocked puts item in the outbox; the caller holds outMu.
func queueLocked(s *store, item outboxItem, local func() bool) (redis.Value, error) {
	if s.outboxClosed {
		return redis.Value{}, ErrClosed
	}
	if local != nil && !local() {
		return redis.Value{}, nil
	}
	if !s.outbox.put(item) {
		s.refused.Add(1)
		return redis.Value{}, ErrOutboxFull
	}
	s.outLen.Store(int64(len(s.outbox.items)))
	return redis.Value{Int: 1}, nil
}

// replayOutbox writes the outbox to Redis in pipelined batches, oldest first, until
// it is empty or a write fails.
func replayOutbox(s *store, ctx context.Context) error {
	for {
		s.outMu.Lock()
		es, items, vers := s.outbox.snapshot(256)
		s.outMu.Unlock()
		if len(es) == 0 {
			return nil
		}
		now := l1Now(s.l1)
		var cmds [][]any
		for i := range items {
			// An expired write has nothing left to enforce: it is dropped unsent.
			if args, ok := items[i].args(now); ok {
				cmds = append(cmds, args)
			}
		}
		var vals []redis.Value
		if len(cmds) > 0 {
			var err error
			s.l2Writes.Add(uint64(len(cmds)))
			if vals, err = s.client.Pipeline(ctx, cmds); err != nil {
				return err
			}
			for _, v := range vals {
				if err := redis.ReplyError(v); err != nil && unavailable(err) {
					return err
				}
			}
		}
		s.outMu.Lock()
		for i := range es {
			if s.outbox.done(es[i], vers[i]) {
				s.replayed.Add(1)
			}
		}
		s.outLen.Store(int64(len(s.outbox.items)))
		s.outMu.Unlock()
	}
}

// writeQueue is the bounded queue of asynchronous (Shared) writes. A mutex and a
// sync.Cond, not a channel with select: enqueuing must never block and many request
// goroutines enqueue at once.
type writeQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	items   []outboxItem
	max     int
	drops   uint64
	stopped bool
}

func newWriteQueue(max int) *writeQueue {
	if max < 1 {
		max = 1
	}
	q := &writeQueue{max: max}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// enqueue adds a Shared write; when the queue is full or Redis is known down the
// write is dropped and counted (the value stays in L1).
func enqueue(s *store, item outboxItem) {
	q := s.queue
	q.mu.Lock()
	// Degraded: dropped, except in a store built a moment ago, whose writer waits
	// for the first connection (flushQueue).
	if q.stopped || len(q.items) >= q.max || (s.state.Load() == stateDegraded && s.startedFlag.Load()) {
		q.drops++
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, item)
	q.cond.Signal()
	q.mu.Unlock()
}

func queueStats(q *writeQueue) (int, int, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.max, q.drops
}

// takeQueue waits for queued writes and takes them all; ok is false once stopped.
func takeQueue(q *writeQueue) ([]outboxItem, bool) {
	q.mu.Lock()
	for len(q.items) == 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped {
		q.mu.Unlock()
		return nil, false
	}
	items := q.items
	q.items = nil
	q.mu.Unlock()
	return items, true
}

// queueLoop is the store's writer goroutine for Shared writes: it sends what is
// queued in pipelined batches.
func queueLoop(s *store) {
	defer s.wg.Done()
	defer func() { close(s.queueDone) }()
	for {
		items, ok := takeQueue(s.queue)
		if !ok {
			return
		}
		flushQueue(s, s.bg, items)
	}
}

// flushQueue sends items to Redis in batches; failed or unsent ones are counted as
// drops.
func flushQueue(s *store, ctx context.Context, items []outboxItem) {
	for len(items) > 0 {
		n := len(items)
		if n > 128 {
			n = 128
		}
		batch := items[:n]
		items = items[n:]
		if s.state.Load() == stateDegraded && !awaitFirstConnection(s, ctx) {
			dropQueued(s, len(batch)+len(items))
			return
		}
		now := l1Now(s.l1)
		var cmds [][]any
		for i := range batch {
			if args, ok := batch[i].args(now); ok {
				cmds = append(cmds, args)
			}
		}
		if len(cmds) == 0 {
			continue
		}
		s.l2Writes.Add(uint64(len(cmds)))
		vals, err := s.client.Pipeline(ctx, cmds)
		if err != nil {
			l2Failed(s, err)
			dropQueued(s, len(batch)+len(items))
			return
		}
		for _, v := range vals {
			if err := redis.ReplyError(v); err != nil {
				s.l2Errors.Add(1)
				dropQueued(s, 1)
			}
		}
	}
}

// writeThrough sends a Shared write of a WriteThrough keyspace to Redis and waits
// for the answer. A write Redis cannot take (degraded, refused, failed, or the caller
// gave up) is dropped and counted like a queued one.
func writeThrough(s *store, ctx context.Context, item outboxItem) {
	// A store just built waits for its first connection: a session record written
	// in the first milliseconds after a reload must reach the other replicas too.
	if s.state.Load() == stateDegraded && !awaitFirstConnection(s, ctx) {
		dropQueued(s, 1)
		return
	}
	args, ok := item.args(l1Now(s.l1))
	if !ok {
		return
	}
	s.l2Writes.Add(1)
	if _, err := s.client.Do(ctx, args...); err != nil {
		l2Failed(s, err)
		dropQueued(s, 1)
	}
}

func dropQueued(s *store, n int) {
	s.queue.mu.Lock()
	s.queue.drops += uint64(n)
	s.queue.mu.Unlock()
}
