package cache

import (
	"context"
	"errors"
	"time"
)

// Class is a keyspace's consistency class: how its writes travel and what its reads
// may trust.
type Class int

const (
	// Revocation: written to L1 at once and to L2 synchronously; if L2 is unreachable
	// the write is enforced locally, kept in the bounded outbox and replayed when Redis
	// returns (before the store reports healthy). A "not found" answer may be cached in
	// L1 only while invalidation tracking is live. Never stale, never lost; a dropped
	// write returns an error.
	Revocation Class = iota
	// Shared: L1 at once, L2 asynchronously through a bounded queue (drops counted);
	// reads L1, then L2, then backfill L1 with the remaining TTL.
	Shared
	// Coordination: SetNX-style locks and replay markers (refresh locks, logout-token
	// jti). Atomic across replicas through L2 synchronously; falls back to L1 when L2
	// is down.
	Coordination
	// Local: L1 only, never sent to Redis.
	Local
)

// Keyspace declares a family of keys; declared once per store user, never inferred
// from key text.
type Keyspace struct {
	// Name, e.g. "revoked", "tokver", "introspect", "jwks", "lock:refresh", "session",
	// "replay": printable ASCII without spaces or braces, at most 64 bytes.
	Name  string
	Class Class
	// MaxTTL is the upper bound on any TTL in this keyspace (0 = no bound). A write
	// with a larger TTL is clamped to it; a write with TTL <= 0 gets MaxTTL (and is
	// refused with ErrBadTTL when MaxTTL is 0).
	MaxTTL time.Duration
	// WriteThrough (Shared only): Set and Delete return once Redis has applied the
	// write, instead of queueing it, so that another replica reading right after finds
	// it (server-side sessions: the browser's next request may reach any replica). A
	// write Redis cannot take is dropped and counted like a queued one; Set still
	// returns nil, the value being in L1. A store built a moment ago first waits
	// (bounded) for its first connection.
	WriteThrough bool
}

// Store is what the middleware uses. id is secret material or an identifier; the
// store builds the Redis key as KeyPrefix + Name + ":" + hex(SHA-256(id)) so raw
// tokens never reach Redis keys.
//
// Values passed to Set and returned by Get are not copied: do not modify them.
type Store interface {
	// Get returns the value under id. See the package documentation for what each
	// class answers while Redis is unreachable; the only error a request path can get
	// because of Redis is ErrUnavailable, from a Revocation keyspace.
	Get(ctx context.Context, ks *Keyspace, id string) (value []byte, found bool, err error)
	// Set stores value under id for ttl.
	Set(ctx context.Context, ks *Keyspace, id string, value []byte, ttl time.Duration) error
	// SetNX stores value under id only if nothing is there, and reports whether it did.
	SetNX(ctx context.Context, ks *Keyspace, id string, value []byte, ttl time.Duration) (set bool, err error)
	// Delete removes id.
	Delete(ctx context.Context, ks *Keyspace, id string) error
	// Generation changes whenever a cached "not found"/"not revoked" answer derived
	// from a Revocation keyspace may have become stale: a local Revocation write (in
	// memory mode, one through any store of the same middleware: they publish one
	// generation), an invalidation message for such a key, a flush, tracking lost or
	// re-established.
	// Callers cache "checked at generation G" results and re-check when it moves.
	// Generation is 0 exactly while the store is not coherent: never reuse a result
	// checked at generation 0. Read it BEFORE the lookup whose result you cache.
	Generation() uint64
	// Coherent reports whether L1 may currently cache negative answers (memory mode:
	// always; hybrid: only while tracking is live; redis mode: never).
	Coherent() bool
	// Stats returns counters and state.
	Stats() Stats
	// Health is "healthy", "degraded" or "recovering".
	Health() string
	// Close stops the store: it drains the write queue and the outbox to Redis as far
	// as ctx's deadline allows (2 s when ctx has none), then closes every connection
	// and stops every goroutine. A batch already on the wire to an unresponsive Redis
	// is waited for up to the Redis ReadTimeout (and a reconnection in progress up to
	// DialTimeout), so Close may return that much after the deadline. Safe to call
	// concurrently with writers and more than once; operations after Close return
	// ErrClosed.
	Close(ctx context.Context) error
}

// Health states.
const (
	HealthHealthy    = "healthy"
	HealthDegraded   = "degraded"
	HealthRecovering = "recovering"
)

// Tracking states, as reported in Stats.Tracking.
const (
	TrackingOff         = "off"         // memory and redis modes: no invalidation tracking
	TrackingDown        = "down"        // hybrid: not subscribed (connecting, or lost)
	TrackingLive        = "live"        // hybrid: subscribed; L1 may hold negative answers
	TrackingUnsupported = "unsupported" // hybrid: the server refused CLIENT TRACKING
)

// Stats are a store's counters and state.
type Stats struct {
	Mode       string // memory, redis, hybrid
	Health     string
	Tracking   string
	Coherent   bool
	Generation uint64

	L1Hits, L1Misses, L1Evictions, L1Expired uint64
	L1Entries, L1MaxEntries                  int
	L1Bytes, L1MaxBytes                      int64

	L2Reads, L2Writes, L2Errors uint64
	// Connections is the number of pooled Redis connections up now.
	Connections int

	QueueLength, QueueMax int
	QueueDrops            uint64 // Shared writes not sent to Redis (queue full, Redis down, write failed)

	// Revocations is the number of revocations this store's middleware knows in this
	// process (its revocation set, shared by its stores), at most MaxRevocations;
	// RevocationsDropped counts live ones dropped for room, each of which raised the
	// floor (RevocationFloor).
	Revocations, MaxRevocations int
	RevocationsDropped          uint64

	OutboxLength, OutboxMax int
	OutboxReplayed          uint64 // writes replayed to Redis from the outbox
	OutboxRefused           uint64 // writes refused because the outbox was full (reported as ErrOutboxFull)
	Republished             uint64 // revocations written back to a Redis that restarted empty

	Invalidations  uint64 // invalidation messages received
	Flushes        uint64 // null invalidations (FLUSHALL/FLUSHDB) that emptied L1
	TrackingLosses uint64
	HealthChanges  uint64
}

// Errors. Compare with ==.
var (
	// ErrUnavailable is returned by Get on a Revocation keyspace (with found = false)
	// when Redis cannot be asked and this replica has no knowledge of the key: its
	// status could not be verified. Policy: treat it as "not revoked", and never cache
	// that answer. Every revocation this replica knows of (written here, kept in the
	// outbox, or read from Redis earlier) is returned as found instead.
	ErrUnavailable = errors.New("cache: revocation status unverifiable: redis unavailable and no local knowledge of the key")
	// ErrOutboxFull is returned by a Revocation or Coordination write that Redis could
	// not take and the full outbox could not keep. A revocation is still enforced on
	// this replica (its revocation set keeps it until it expires) but will not reach
	// other replicas.
	ErrOutboxFull = errors.New("cache: redis unavailable and revocation outbox full: write not kept for replay")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("cache: store closed")
	// ErrBadTTL is returned for a TTL <= 0 in a keyspace without MaxTTL.
	ErrBadTTL = errors.New("cache: ttl must be positive (or the keyspace must have a MaxTTL)")
	// ErrBadKeyspace is returned for a nil keyspace or an invalid name or class.
	ErrBadKeyspace = errors.New("cache: keyspace must have a name of 1 to 64 printable characters without spaces or braces, and a known class")
)
