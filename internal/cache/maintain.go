package cache

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/wakeup"
)

// The health state machine, driven by the maintenance goroutine (one per store) and
// by real failures seen on request paths:
//
//	healthy ──L2 transport failure / failed probe──▶ degraded
//	healthy ──tracking subscription lost───────────▶ recovering
//	degraded ──probe (connect + PING) succeeds─────▶ recovering
//	recovering: subscribe to invalidations (hybrid), write known revocations back if
//	            Redis restarted empty, replay the outbox; then ──▶ healthy
//	recovering ──any of that fails─────────────────▶ degraded
//
// Only the maintenance goroutine moves a store out of degraded or recovering, and
// only from the state it decided on (moveState): a request that degraded the store
// meanwhile wins over a decision taken before Redis went away.

// kickMaintain wakes the maintenance goroutine without blocking.
func kickMaintain(s *store) {
	wakeup.Wake(s.wake)
}

// setState moves the state machine to to from whatever it was, and logs the
// transition. Only degrade uses it: any state may fall to degraded.
func setState(s *store, to int32, why string) {
	logState(s, s.state.Swap(to), to, why)
}

// moveState moves the state machine from one state to another, only if it is still
// in from: the maintenance goroutine decides on what it read before a network
// round trip, and a request that found Redis down meanwhile (degrade) must not be
// overridden by that stale decision.
func moveState(s *store, from, to int32, why string) bool {
	if !s.state.CompareAndSwap(from, to) {
		return false
	}
	logState(s, from, to, why)
	return true
}

// logState counts and logs a transition.
func logState(s *store, from, to int32, why string) {
	if from == to {
		return
	}
	s.healthChanges.Add(1)
	msg := "cache: redis " + healthName(from) + " -> " + healthName(to)
	if why != "" {
		msg += ": " + why
	}
	f := logging.Fields{"from": healthName(from), "to": healthName(to), "reason": why}
	if to == stateDegraded {
		s.log.Warn(logging.EventCacheState, msg, f)
	} else {
		s.log.Info(logging.EventCacheState, msg, f)
	}
}

// degrade records that Redis cannot be reached: requests stop waiting for it, writes
// go to the outbox, and L1 stops trusting what tracking vouched for.
func degrade(s *store, why string) {
	if s.state.Load() == stateDegraded {
		return
	}
	loseCoherence(s)
	setState(s, stateDegraded, why)
	kickMaintain(s)
}

// loseCoherence drops every negative answer at once (their epoch no longer matches)
// and tells callers (generation 0).
func loseCoherence(s *store) {
	setLive(s, 0)
	s.gen.Store(0)
}

// setLive publishes the live tracking epoch, to lock-free readers (s.live) and to the
// hot path (the copy under the L1 lock).
func setLive(s *store, epoch uint64) {
	c := s.l1
	c.mu.Lock()
	c.live = epoch
	s.live.Store(epoch)
	c.mu.Unlock()
}

// maintain is the store's background goroutine: probes, recovery, tracking
// keep-alive, expiry sweeps.
func maintain(s *store) {
	defer s.wg.Done()
	var tr *redis.Tracking
	var epochs uint64
	// The Redis server the middleware's stores last saw (shared through the
	// revocation set): a store built by a reload during an outage still notices
	// that Redis came back empty, and writes back what the middleware knows.
	runID := revRunID(s.revs)
	// told: this degraded period's failing probe has been logged. A store that
	// cannot reach Redis from the start (a wrong address, password or TLS setting)
	// makes no transition to log, so its first failing probe is what says why.
	told := false
	defer func() {
		if tr != nil {
			tr.Close()
		}
		s.startedFlag.Store(true)
		wakeup.Open(s.started) // Close: nobody waits for a start that will not come
	}()
	for {
		if s.bg.Err() != nil {
			return
		}
		adoptPending(s)
		switch s.state.Load() {
		case stateDegraded:
			if tr != nil {
				// Redis is unreachable: assume the subscription is too.
				tr.Close()
				tr = nil
				if s.mode == modeHybrid {
					s.trackState.Store(TrackingDown)
				}
			}
			if _, err := probe(s, nil); err == nil {
				told = false
				moveState(s, stateDegraded, stateRecovering, "")
				continue
			} else if !told && s.bg.Err() == nil {
				told = true
				s.log.Warn(logging.EventCacheRedisUnreachable, "cache: redis unreachable (probing every "+s.opts.ProbeInterval.String()+")",
					logging.Fields{"error": err})
			}
		case stateRecovering:
			var err error
			tr, runID, err = recoverL2(s, tr, &epochs, runID)
			if err != nil && s.bg.Err() == nil {
				degrade(s, err.Error())
			}
			if err == nil {
				continue
			}
		case stateHealthy:
			id, err := probe(s, tr)
			if err != nil {
				if tr != nil && !tr.Alive() {
					moveState(s, stateHealthy, stateRecovering, "invalidation tracking lost: "+err.Error())
				} else {
					degrade(s, "probe: "+err.Error())
				}
				continue
			}
			if id != "" && runID != "" && id != runID {
				// The connections now reach another server than the one recovery
				// saw: a failover (a replica promoted, or a demoted primary's
				// clients moved). The subscription may be on the old server, and
				// revocations it confirmed may be lost with it: subscribe again and
				// write back what this replica knows (recoverL2 sees the new run_id).
				if tr != nil {
					tr.Close()
					tr = nil
				}
				s.trackingLosses.Add(1)
				loseCoherence(s)
				if s.mode == modeHybrid {
					s.trackState.Store(TrackingDown)
				}
				moveState(s, stateHealthy, stateRecovering, "redis server changed (run_id "+id+")")
				continue
			}
			if s.outLen.Load() > 0 {
				// Writes whose callers gave up before Redis answered.
				if err := replayOutbox(s, s.bg); err != nil && s.bg.Err() == nil {
					degrade(s, "outbox replay: "+err.Error())
					continue
				}
			}
		}
		if !s.startedFlag.Load() {
			// The first attempt has settled (the loop only sleeps once the state is
			// stable): revocation questions stop waiting for it (awaitFirstConnection).
			s.startedFlag.Store(true)
			wakeup.Open(s.started)
		}
		s.l1.SweepExpired(1024)
		// Not a select: under Yaegi the maintenance loops of all stores in the
		// interpreter would share its case list (internal/wakeup).
		wakeup.Sleep(s.wake, s.bg, s.opts.ProbeInterval)
	}
}

// probe checks that Redis answers: a connection (dialled now if none is up), INFO
// server (PING for an ACL user without INFO), and a PING on every tracking
// connection. It returns the server's run_id ("" when unknown): after a failover the
// pool reaches another server than before.
func probe(s *store, tr *redis.Tracking) (string, error) {
	to := s.client.Options().DialTimeout + s.client.Options().ReadTimeout
	ctx, cancel := context.WithTimeout(s.bg, to)
	defer cancel()
	if err := s.client.Connect(ctx); err != nil {
		return "", err
	}
	id := ""
	v, err := s.client.Do(ctx, "INFO", "server")
	if err == nil {
		id = infoField(v.String(), "run_id")
	} else if !redis.IsServerError(err) {
		return "", err
	} else if _, err := s.client.Do(ctx, "PING"); err != nil {
		return "", err
	}
	if tr != nil {
		if !tr.Alive() {
			return "", redis.ErrClosed
		}
		return id, tr.Ping(ctx)
	}
	return id, nil
}

// recoverL2 brings a reachable Redis back into use: tracking first (so that nothing
// changed during the replay goes unseen), then revocations written back if the server
// restarted empty, then the outbox; healthy (and coherent) only once the outbox is
// empty.
func recoverL2(s *store, tr *redis.Tracking, epochs *uint64, runID string) (*redis.Tracking, string, error) {
	to := s.client.Options().DialTimeout + s.client.Options().ReadTimeout
	if s.mode == modeHybrid && s.trackState.Load() != TrackingUnsupported && (tr == nil || !tr.Alive()) {
		if tr != nil {
			// The subscription failed. Its Lost handler (trackingLost) may still be
			// on its way on the connection's goroutine: drop coherence here too, so
			// that no "not revoked" cached while it was live is answered meanwhile.
			loseCoherence(s)
			s.trackState.Store(TrackingDown)
			tr.Close()
		}
		ctx, cancel := context.WithTimeout(s.bg, to)
		var err error
		var prefixes []string // none: every key
		if s.prefix != "" {
			prefixes = []string{s.prefix}
		}
		tr, err = s.client.Track(ctx, prefixes, redis.TrackingHandler{
			Invalidate: func(keys [][]byte, flush bool) { onInvalidate(s, keys, flush) },
			Lost:       func(err error) { trackingLost(s, err) },
		})
		cancel()
		if err != nil {
			if trackingRefused(err) {
				s.trackState.Store(TrackingUnsupported)
				s.log.Warn(logging.EventCacheTrackingRefused, "cache: redis refused CLIENT TRACKING: L1 will not cache revocation answers",
					logging.Fields{"error": err})
			} else {
				return nil, runID, err
			}
		}
	}
	// A server that restarted without persistence has lost every revocation: write
	// back the ones this replica knows (SET NX: never overwrite a newer value).
	ctx, cancel := context.WithTimeout(s.bg, to)
	v, err := s.client.Do(ctx, "INFO", "server")
	cancel()
	if err != nil && !redis.IsServerError(err) {
		return tr, runID, err
	}
	// An ACL user without INFO cannot tell a restart: nothing is written back then.
	id := infoField(v.String(), "run_id")
	if runID != "" && id != "" && id != runID {
		if err := republish(s); err != nil {
			return tr, runID, err
		}
	}
	if id != "" {
		runID = id
		setRevRunID(s.revs, id)
	}
	for {
		ctx, cancel := context.WithTimeout(s.bg, 4*to)
		err := replayOutbox(s, ctx)
		cancel()
		if err != nil {
			return tr, runID, err
		}
		s.outMu.Lock()
		if len(s.outbox.items) == 0 {
			if tr != nil && tr.Alive() {
				*epochs++
				setLive(s, *epochs)
				s.gen.Store(s.genSeq.Add(1))
				s.trackState.Store(TrackingLive)
				// Lost may have run between Alive and the stores: it marks the
				// subscription dead before it drops coherence, so checking again
				// after publishing closes the gap.
				if !tr.Alive() {
					loseCoherence(s)
					s.trackState.Store(TrackingDown)
				}
			}
			if !moveState(s, stateRecovering, stateHealthy, "") {
				// A request found Redis down during the replay (degrade): what was
				// published above must not outlive that.
				loseCoherence(s)
			}
			s.outMu.Unlock()
			return tr, runID, nil
		}
		s.outMu.Unlock()
	}
}

// trackingRefused recognises a server that cannot track (older than 6, or an ACL
// user without CLIENT): recovery goes on without coherence.
func trackingRefused(err error) bool {
	code := redis.ErrorCode(err)
	if code == "NOPERM" {
		return true
	}
	return code == "ERR" && (strings.Contains(strings.ToLower(err.Error()), "unknown") || strings.Contains(err.Error(), "syntax"))
}

// trackingLost runs on the tracking connection's reader: negatives go at once.
func trackingLost(s *store, err error) {
	s.trackingLosses.Add(1)
	loseCoherence(s)
	if s.mode == modeHybrid {
		s.trackState.Store(TrackingDown)
	}
	if s.closed.Load() {
		return
	}
	if s.state.CompareAndSwap(stateHealthy, stateRecovering) {
		s.healthChanges.Add(1)
		s.log.Warn(logging.EventCacheState, "cache: redis healthy -> recovering: invalidation tracking lost",
			logging.Fields{"from": HealthHealthy, "to": HealthRecovering, "reason": "invalidation tracking lost", "error": err})
	} else {
		s.log.Warn(logging.EventCacheTrackingLost, "cache: invalidation tracking lost", logging.Fields{"error": err})
	}
	kickMaintain(s)
}

// republish writes every positive revocation this store knows (its revocation set,
// and the L1 for any the set had to drop) back to Redis with SET NX.
func republish(s *store) error {
	type known struct {
		key   string
		value []byte
		exp   int64
	}
	var all []known
	now := l1Now(s.l1)
	keys, values, ttls := revSnapshot(s.revs)
	seen := make(map[string]bool, len(keys))
	for i := range keys {
		seen[keys[i]] = true
		all = append(all, known{keys[i], values[i], now + int64(ttls[i])})
	}
	c := s.l1
	c.mu.Lock()
	for e := c.head; e != nil; e = e.next {
		if e.flags&flagRevocation != 0 && e.flags&flagNegative == 0 && e.expires > now && !seen[e.key] {
			all = append(all, known{e.key, e.value, e.expires})
		}
	}
	c.mu.Unlock()
	var cmds [][]any
	for _, k := range all {
		rk, ok := revocationRedisKey(s, k.key)
		if !ok {
			continue
		}
		it := outboxItem{key: rk, op: opSetNX, value: k.value, expires: k.exp}
		if args, ok := it.args(now); ok {
			cmds = append(cmds, args)
		}
	}
	for len(cmds) > 0 {
		n := len(cmds)
		if n > 256 {
			n = 256
		}
		ctx, cancel := context.WithTimeout(s.bg, 2*s.client.Options().ReadTimeout)
		_, err := s.client.Pipeline(ctx, cmds[:n])
		cancel()
		if err != nil {
			return err
		}
		s.republished.Add(uint64(n))
		cmds = cmds[n:]
	}
	if len(all) > 0 {
		s.log.Info(logging.EventCacheRevocationsRestore, "cache: redis server changed (restart or failover); wrote back "+strconv.Itoa(len(all))+" known revocations (SET NX)",
			logging.Fields{"revocations": len(all)})
	}
	return nil
}

// revocationRedisKey is the Redis key of a revocation's L1 key in this store.
func revocationRedisKey(s *store, l1key string) (string, bool) {
	// name + ":" + the raw 32-byte digest, which may itself contain ':' bytes: split
	// by length, not at the last ':'.
	i := len(l1key) - 33
	if i < 1 || l1key[i] != ':' {
		return "", false
	}
	return s.revPrefix + l1key[:i] + ":" + hexString(l1key[i+1:]), true
}

// unconfirmedRevocations returns the revocation writes still in the outbox of a
// closing store, with their remaining lifetimes; the caller holds outMu.
func unconfirmedRevocations(s *store) []pendingWrite {
	if len(s.outbox.items) == 0 {
		return nil
	}
	now := l1Now(s.l1)
	var writes []pendingWrite
	for _, e := range s.outbox.order {
		it := e.item
		if e.gone || it.l1key == "" || it.op == opDel || it.expires <= now {
			continue
		}
		writes = append(writes, pendingWrite{key: it.l1key, op: it.op, value: it.value, expires: it.expires - now})
	}
	return writes
}

// handOver leaves the revocation writes a closing store could not get Redis to
// confirm (remaining lifetimes in expires) in its revocation set, where another store
// of the same middleware takes them to replay when it reaches Redis (adoptPending): a
// Traefik reload while Redis is down must not lose them for the other replicas.
// Traefik builds the new instances before it closes the old ones, so the taker is
// usually already running. It returns how many it left.
func handOver(s *store, writes []pendingWrite) int {
	if len(writes) == 0 || !s.revs.shared {
		return 0
	}
	set := s.revs
	set.mu.Lock()
	base := revNow(set)
	for _, w := range writes {
		w.expires += base
		set.pending = append(set.pending, w)
	}
	if over := len(set.pending) - set.max; over > 0 {
		set.pending = append([]pendingWrite(nil), set.pending[over:]...)
	}
	set.mu.Unlock()
	return len(writes)
}

// adoptPending moves the revocation writes a closed store of the same middleware left
// in the revocation set into s's outbox, to be replayed with it. The maintenance
// goroutine calls it on every round; it costs a lock when there is nothing to take.
func adoptPending(s *store) {
	set := s.revs
	// outMu, then the set's lock: a closing store (outbox closed) takes nothing.
	s.outMu.Lock()
	defer s.outMu.Unlock()
	set.mu.Lock()
	writes := set.pending
	if s.outboxClosed {
		writes = nil
	} else {
		set.pending = nil
	}
	now := revNow(set)
	set.mu.Unlock()
	if len(writes) == 0 {
		return
	}
	l1now := l1Now(s.l1)
	adopted := 0
	for _, w := range writes {
		rk, ok := revocationRedisKey(s, w.key)
		if !ok || w.expires <= now {
			continue
		}
		if !s.outbox.put(outboxItem{key: rk, op: w.op, value: w.value, expires: l1now + (w.expires - now), l1key: w.key}) {
			s.refused.Add(1)
			continue
		}
		adopted++
	}
	s.outLen.Store(int64(len(s.outbox.items)))
	if adopted > 0 {
		s.log.Info(logging.EventCacheOutboxAdopted, "cache: replaying "+strconv.Itoa(adopted)+" revocation writes a previous instance of this middleware could not send to Redis",
			logging.Fields{"writes": adopted})
	}
}

// infoField returns a field of an INFO reply ("run_id:abc\r\n").
func infoField(info, name string) string {
	i := strings.Index(info, "\n"+name+":")
	if i < 0 {
		return ""
	}
	rest := info[i+len(name)+2:]
	if j := strings.IndexAny(rest, "\r\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// Close implements Store.
func (s *store) Close(ctx context.Context) error {
	first := false
	s.closeOnce.Do(func() { first = true })
	if !first {
		<-s.closeDone
		return nil
	}
	defer func() { close(s.closeDone) }()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
	}
	s.closed.Store(true)
	detachRevocations(s.revs)
	if s.client == nil {
		s.bgCancel()
		return nil
	}
	// Stop the writer (it finishes the batch it is sending, bounded by ReadTimeout),
	// then send what it left.
	s.queue.mu.Lock()
	left := s.queue.items
	s.queue.items = nil
	s.queue.stopped = true
	s.queue.cond.Broadcast()
	s.queue.mu.Unlock()
	<-s.queueDone
	if s.state.Load() != stateDegraded {
		flushQueue(s, ctx, left)
	} else {
		dropQueued(s, len(left))
	}
	// Replay what the outbox holds if Redis is there, then refuse new outbox writes.
	if s.state.Load() != stateDegraded && s.outLen.Load() > 0 {
		_ = replayOutbox(s, ctx)
	}
	s.outMu.Lock()
	s.outboxClosed = true
	lost := len(s.outbox.items)
	unconfirmed := unconfirmedRevocations(s)
	s.outMu.Unlock()
	handed := handOver(s, unconfirmed)
	if lost > 0 {
		s.log.Error(logging.EventCacheCloseUnconfirmed, "cache: closing with "+strconv.Itoa(lost)+" revocation writes Redis never confirmed; "+strconv.Itoa(handed)+
			" of them handed to the next instance of this middleware in this process, which replays them; the others will not reach other replicas",
			logging.Fields{"unconfirmed": lost, "handed": handed})
	}
	s.bgCancel()
	s.wg.Wait()
	return s.client.Close()
}
