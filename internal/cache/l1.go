package cache

import (
	"sync"
	"time"
)

// L1 is the in-process cache: a map and an intrusive doubly-linked list in
// least-recently-used order, bounded by entry count and by bytes (len(key) +
// len(value) of every entry), with a TTL per entry. Every operation is O(1) under one
// mutex. Expired entries are removed when they are read, when they reach the cold
// end of the list, by a short sweep every 64 writes, and by SweepExpired (which the
// store calls from its maintenance goroutine); there is no goroutine or timer per
// entry. Its clock is monotonic (l1Now): a wall-clock jump moves no expiry.
//
// Values are stored and returned as given, without copying: callers must not modify a
// slice after Set or one returned by Get.
type L1 struct {
	// base anchors the L1's clock (see l1Now).
	base time.Time
	// live mirrors the store's live tracking epoch under mu, so the hot path compares
	// an entry's epoch without an atomic load (costly under Yaegi).
	live uint64

	mu         sync.Mutex
	items      map[string]*entry
	head, tail *entry // head: most recently used
	maxEntries int
	maxBytes   int64
	bytes      int64

	hits, misses, evictions, expired, sets, deletes uint64
	sweep                                           *entry // where SweepExpired resumes
}

// entry is one cached value. epoch and flags belong to the store (coherence); the L1
// itself only keeps them.
type entry struct {
	key        string
	value      []byte
	expires    int64 // l1Now time; 0: never
	epoch      uint64
	flags      uint8
	prev, next *entry
}

// Entry flags, kept by L1 for the store.
const (
	flagNegative   uint8 = 1 << iota // a cached "not found"
	flagRevocation                   // from a Revocation keyspace
	flagLocal                        // from a Local keyspace
)

// L1Stats are the L1's counters and sizes.
type L1Stats struct {
	Hits, Misses, Evictions, Expired, Sets, Deletes uint64
	Entries, MaxEntries                             int
	Bytes, MaxBytes                                 int64
}

// NewL1 returns an empty cache holding at most maxEntries entries and maxBytes bytes
// of keys and values (each at least 1).
func NewL1(maxEntries int, maxBytes int64) *L1 {
	if maxEntries < 1 {
		maxEntries = 1
	}
	if maxBytes < 1 {
		maxBytes = 1
	}
	return &L1{base: time.Now(), items: make(map[string]*entry), maxEntries: maxEntries, maxBytes: maxBytes}
}

// l1Now is the L1's clock: nanoseconds since the cache was made, read from the
// monotonic clock, so that a wall-clock jump moves no expiry. (One compiled call:
// under Yaegi time.Since costs about half of l1Now(c).)
func l1Now(c *L1) int64 { return int64(time.Since(c.base)) }

// Get returns the value stored under key if it has not expired.
func (c *L1) Get(key string) ([]byte, bool) {
	now := int64(time.Since(c.base))
	c.mu.Lock()
	e := c.items[key]
	if e == nil || (e.expires != 0 && e.expires <= now) {
		if e != nil {
			l1Remove(c, e)
			c.expired++
		}
		c.misses++
		c.mu.Unlock()
		return nil, false
	}
	if c.head != e {
		l1Touch(c, e)
	}
	c.hits++
	v := e.value
	c.mu.Unlock()
	return v, true
}

// Set stores value under key for ttl (ttl <= 0: until evicted). An entry larger than
// the byte budget is not stored (and any older value under key is removed).
func (c *L1) Set(key string, value []byte, ttl time.Duration) {
	var exp int64
	if ttl > 0 {
		exp = int64(time.Since(c.base)) + int64(ttl)
	}
	c.mu.Lock()
	l1Insert(c, key, value, exp, 0, 0)
	c.mu.Unlock()
}

// SetNX stores value under key only if no unexpired entry is there, and reports
// whether it did.
func (c *L1) SetNX(key string, value []byte, ttl time.Duration) bool {
	var exp int64
	now := l1Now(c)
	if ttl > 0 {
		exp = now + int64(ttl)
	}
	return l1SetNX(c, key, value, exp, 0, 0, now)
}

// Delete removes key and reports whether it was there.
func (c *L1) Delete(key string) bool {
	c.mu.Lock()
	e := c.items[key]
	if e != nil {
		l1Remove(c, e)
		c.deletes++
	}
	c.mu.Unlock()
	return e != nil
}

// TTL returns the time key has left (0 and false when absent or expired; a negative
// duration never: an entry without expiry reports -1 ns and true).
func (c *L1) TTL(key string) (time.Duration, bool) {
	now := l1Now(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.items[key]
	if e == nil || (e.expires != 0 && e.expires <= now) {
		return 0, false
	}
	if e.expires == 0 {
		return -1, true
	}
	return time.Duration(e.expires - now), true
}

// Len returns the number of entries, expired ones not yet removed included.
func (c *L1) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Purge removes every entry, in O(1): the old map and list are left to the garbage
// collector.
func (c *L1) Purge() {
	c.mu.Lock()
	c.evictions += uint64(len(c.items))
	c.items = make(map[string]*entry)
	c.head = nil // one by one: Yaegi panics on a multiple assignment of untyped nils
	c.tail = nil
	c.sweep = nil
	c.bytes = 0
	c.mu.Unlock()
}

// SweepExpired examines at most max entries, continuing from where the previous sweep
// stopped, removes the expired ones and returns how many it removed.
func (c *L1) SweepExpired(max int) int {
	now := l1Now(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	return l1Sweep(c, max, now)
}

// l1Sweep is SweepExpired with the lock held.
func l1Sweep(c *L1, max int, now int64) int {
	removed := 0
	e := c.sweep
	if e == nil || c.items[e.key] != e {
		e = c.tail
	}
	for i := 0; i < max && e != nil; i++ {
		prev := e.prev
		if e.expires != 0 && e.expires <= now {
			l1Remove(c, e)
			c.expired++
			removed++
		}
		e = prev
	}
	c.sweep = e
	return removed
}

// Stats returns the counters.
func (c *L1) Stats() L1Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return L1Stats{
		Hits: c.hits, Misses: c.misses, Evictions: c.evictions, Expired: c.expired, Sets: c.sets, Deletes: c.deletes,
		Entries: len(c.items), MaxEntries: c.maxEntries, Bytes: c.bytes, MaxBytes: c.maxBytes,
	}
}

// The functions below are the L1's operations as plain functions: under Yaegi a
// method call costs about four times a function call (docs/YAEGI-NOTES.md). The
// store's hot path (Lookup) writes the lookup out by hand instead.

// l1Set stores an entry (expires: l1Now time, 0 for none), replacing any entry under
// key, then evicts from the cold end until both bounds hold.
func l1Set(c *L1, key string, value []byte, expires int64, epoch uint64, flags uint8) {
	c.mu.Lock()
	l1Insert(c, key, value, expires, epoch, flags)
	c.mu.Unlock()
}

// l1SetNX stores the entry only when key has no unexpired entry, atomically.
func l1SetNX(c *L1, key string, value []byte, expires int64, epoch uint64, flags uint8, now int64) bool {
	c.mu.Lock()
	if e := c.items[key]; e != nil && (e.expires == 0 || e.expires > now) {
		c.mu.Unlock()
		return false
	}
	l1Insert(c, key, value, expires, epoch, flags)
	c.mu.Unlock()
	return true
}

// l1Insert is l1Set with the lock held; it returns the new entry (nil when the entry
// is larger than the byte budget and was not stored).
func l1Insert(c *L1, key string, value []byte, expires int64, epoch uint64, flags uint8) *entry {
	size := int64(len(key) + len(value))
	c.sets++
	if old := c.items[key]; old != nil {
		l1Remove(c, old)
	}
	if size > c.maxBytes {
		return nil
	}
	e := &entry{key: key, value: value, expires: expires, epoch: epoch, flags: flags, next: c.head}
	if c.head != nil {
		c.head.prev = e
	} else {
		c.tail = e
	}
	c.head = e
	c.items[key] = e
	c.bytes += size
	for len(c.items) > c.maxEntries || c.bytes > c.maxBytes {
		l1Remove(c, c.tail)
		c.evictions++
	}
	if c.sets&63 == 0 {
		// Every 64 writes, a few expired entries go, even in a store without a
		// maintenance goroutine (memory mode).
		l1Sweep(c, 8, int64(time.Since(c.base)))
	}
	return c.items[key]
}

// l1Touch moves e, an entry of c that is not its head, to the front of the recency
// list; the caller holds the lock.
func l1Touch(c *L1, e *entry) {
	e.prev.next = e.next
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev = nil
	e.next = c.head
	c.head.prev = e
	c.head = e
}

// l1Remove unlinks e; the caller holds the lock.
func l1Remove(c *L1, e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	if c.sweep == e {
		c.sweep = e.prev
	}
	e.prev = nil // one by one: Yaegi panics on a multiple assignment of untyped nils
	e.next = nil
	delete(c.items, e.key)
	c.bytes -= int64(len(e.key) + len(e.value))
}
