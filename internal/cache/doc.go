// Package cache owns Gatehouse's two-tier cache: the Store contract the middleware
// codes against, the in-process L1 (a bounded LRU with TTLs), and the store that puts
// L1 in front of Redis (L2, spoken to by internal/cache/redis) and keeps it coherent.
// It does not decide what is cached: callers declare keyspaces with a consistency
// class and choose TTLs.
//
// # Modes
//
//   - memory: L1 only, one process. Every answer is authoritative; Coherent is always
//     true. Nothing survives a restart; revocations survive a Traefik reload (see
//     Revocations), nothing else does.
//   - redis: Redis is the source of truth for every class but Local; L1 holds Local
//     keyspaces and, as knowledge for outages only, revocations and locks seen.
//   - hybrid (default when Redis is configured): reads L1 first. Revocation answers in
//     L1, including "not found", are trusted only while an invalidation subscription
//     (CLIENT TRACKING, BCAST, prefix KeyPrefix) is live.
//
// # Revocations
//
// Every positive revocation a store knows — written through it, read from Redis,
// waiting in the outbox — is also kept in a revocation set apart from the L1, so that
// the L1's LRU churn never pushes one out. The set is bounded (cache.maxRevocations)
// and fails closed: when full, it drops the revocation learnt first and raises a
// floor (RevocationFloor) under which callers refuse everything as revoked, until the
// dropped revocation would have expired. In memory mode the set is the truth; in
// redis and hybrid modes it is what the store answers while Redis cannot be asked,
// and what it writes back to a Redis that restarted empty.
//
// Stores built with NewInstance for the same middleware (the same instance binding)
// share one set in the process — the one piece of process-wide state, because
// Traefik replaces a middleware's instances (and their stores) on every configuration
// reload, and builds one per router using it: a revocation written through one is
// known to every store built after it, and to the others at once (memory stores keep
// no copy of revocations in their L1 and publish the set's generation; the others
// hear of it from Redis). A store that closes with revocations Redis never confirmed
// leaves them in the set, and another store of the middleware replays them when it
// reaches Redis.
//
// # Request paths under Yaegi
//
// Call cache.Lookup(store, ctx, ks, id) and cache.GenerationOf(store) rather than the
// Store methods on request paths: they are the same operations as plain functions,
// which Yaegi calls several times faster than methods through an interface (see
// docs/YAEGI-NOTES.md). An answer from L1 makes no network call and takes one lock.
//
// # Keys
//
// A keyspace is declared once (Keyspace{Name, Class, MaxTTL}) and passed with every
// call; nothing is inferred from key text. The Redis key of id in keyspace Name is
//
//	KeyPrefix + Name + ":" + hex(SHA-256(id))
//
// (64 lower-case hex digits), so raw tokens never reach Redis keys; L1 keys use the
// raw 32-byte digest instead of hex. Values are stored as given: seal anything secret
// before calling Set.
//
// Against a Redis Cluster, the keys of Revocation keyspaces carry a hash tag after
// the prefix, KeyPrefix + "{gh}" + Name + ":" + hex(SHA-256(id)) (RevocationTag), so
// that every revocation lives in one slot on one primary: the node the store probes
// and whose restarts it watches, so that write-back after a failover targets the
// node that lost them. Other keyspaces spread over every slot. The tracking
// subscription (BCAST, prefix KeyPrefix) is opened on every primary; it covers both.
//
// # Classes
//
//   - Revocation: Set writes L1 at once (enforced here immediately), then Redis
//     synchronously. If Redis cannot confirm it, the write is kept in the bounded
//     outbox, Set returns nil, and the outbox is replayed, oldest first, before the
//     store reports healthy again. If the outbox is full, Set returns ErrOutboxFull
//     (the value is still enforced here). Replay is last-writer-wins per key, so
//     revocation values should be facts that do not go backwards (a marker, or a
//     not-before time that only grows).
//   - Shared: L1 at once; Redis asynchronously through a bounded queue. A write the
//     queue cannot take, or that Redis refuses, is dropped and counted
//     (Stats.QueueDrops); Set still returns nil, the value being in L1. Reads: L1,
//     then Redis, then L1 is filled with the remaining TTL (clamped to MaxTTL). A
//     keyspace marked WriteThrough sends its writes synchronously instead, so that
//     another replica finds them as soon as Set returns.
//   - Coordination: SET/SET NX/DEL go to Redis synchronously, so SetNX is atomic across
//     replicas. When Redis cannot be asked, SetNX and Get fall back to what this
//     replica knows (L1), the write is kept in the outbox and replayed (SET NX stays
//     SET NX), and the answer is not an error.
//   - Local: L1 only, never sent to Redis.
//
// # What Get answers while Redis is unreachable
//
// A request path never gets an error because of Redis, with one documented exception:
//
//   - Revocation: a revocation this replica knows of is always found: one written
//     here or read from Redis before (L1, the outbox, or the revocation set, which
//     keeps it when the L1 evicts it, until it expires or the set's bound drops it
//     and raises the floor). For a key it knows
//     nothing about, Get returns found=false and ErrUnavailable. Middleware policy:
//     treat ErrUnavailable as "not revoked" and do not cache that result. A "not
//     revoked" answer cached in L1 before tracking was lost is never returned as
//     "not found": once tracking is lost it yields ErrUnavailable (or Redis's answer).
//   - Shared and Coordination: L1's answer (a miss when L1 has nothing), nil error.
//   - Local: unaffected.
//
// Writes never return an error because Redis is down, except ErrOutboxFull.
//
// # Coherence
//
// Each L1 entry carries an epoch. An entry filled from Redis for a Revocation
// keyspace carries the tracking epoch that was live when the read started, and is
// fresh only while that epoch is still live; losing the subscription (a read error, a
// failed keep-alive PING, degraded health) sets the live epoch to 0, so every such
// entry stops being fresh at once, in O(1). A new subscription gets a new epoch, so
// nothing cached under the old one returns. An invalidation message removes the key
// from L1 (a positive revocation is kept, but only as outage knowledge); a null
// invalidation (FLUSHALL, FLUSHDB) empties L1. An L2 read fills L1 only if no
// invalidation arrived while it was in flight, so a reply older than an invalidation
// never lands in L1 after it.
//
// Generation() changes whenever a cached "not revoked" may have become stale (a local
// Revocation write, in memory mode through any store of the middleware; an
// invalidation of a Revocation key or of a key of an unknown keyspace; a flush;
// tracking lost or re-established) and is 0 whenever the store is not coherent.
// Callers read it BEFORE a lookup, cache "checked at G" for G != 0, and re-check
// when Generation() != G. It is one atomic load.
//
// # Health
//
// healthy → degraded on a transport failure of a Redis call or a failed periodic probe
// (the probe also PINGs the tracking connections, which are otherwise idle);
// healthy → recovering when the tracking subscription alone is lost; degraded →
// recovering when a probe succeeds; recovering → healthy after re-subscribing,
// writing known revocations back to a Redis that restarted empty (SET NX, detected by
// a changed run_id), and replaying the outbox. Error replies that concern one command
// (WRONGTYPE, syntax) do not change health; LOADING, READONLY, OOM, MASTERDOWN and the
// like do. While degraded no request waits for Redis: reads answer from L1 and the
// outbox, Revocation and Coordination writes go to the outbox, Shared writes are
// dropped (counted). Transitions are logged and counted in Stats, and so is the first
// failing probe of each degraded period, with its reason: a store that cannot reach
// Redis from the start makes no transition.
//
// # Lifetime
//
// New never blocks on the network; the store is degraded until its first connection.
// A Revocation read that L1 cannot answer in that window waits for the first attempt
// to settle (at most twice DialTimeout + ReadTimeout, and the caller's context), so
// that a new store — a Traefik reload builds new ones, with empty L1s — never answers
// "unknown" for a revocation Redis holds.
// Each store has two goroutines (maintenance, Shared writer) plus one reader per
// Redis connection; Close (or cancelling New's ctx) drains the queue and the outbox
// within its deadline and stops them all. Revocations still in the outbox at Close
// (Redis unreachable) are left in the revocation set for another store of the same
// middleware to replay; without one (Traefik stopping, or a store without a binding)
// they cannot reach other replicas. Close logs how many.
package cache
