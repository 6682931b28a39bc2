package cache

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// negativePoller reads one revocation id on a store in a loop and counts the
// answers "not revoked" that came from L1 (no L2 read during the call) after the
// revocation was acknowledged elsewhere, as long as no L2 read since the failure
// began could have cached that answer afresh (one made while a tracking epoch was
// live): such an answer can only be the negative cached under the tracking
// subscription the failover ended.
type negativePoller struct {
	s       *store
	id      string
	acked   atomic.Bool // the revocation was acknowledged by the other replica
	failing atomic.Bool // the failure has begun
	stop    chan struct{}
	done    chan struct{}

	mu        sync.Mutex
	polls     int // answers after the acknowledgement
	stale     int // "not revoked" from the old L1 entry after it
	firstAt   time.Duration
	refilled  bool // an L2 read under a live tracking epoch answered "not revoked" (and may have cached it) after the failure began
	unverif   int
	l2Answers int
}

func startNegativePoller(s *store, id string) *negativePoller {
	p := &negativePoller{s: s, id: id, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var ackAt time.Time
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			failing, acked := p.failing.Load(), p.acked.Load()
			if acked && ackAt.IsZero() {
				ackAt = time.Now()
			}
			r0 := p.s.Stats().L2Reads
			live := p.s.live.Load() // an L2 read fills L1 only under a live epoch
			_, found, err := p.s.Get(bg, ksRevoked, p.id)
			fromL1 := p.s.Stats().L2Reads == r0
			p.mu.Lock()
			if acked {
				p.polls++
				if err == ErrUnavailable {
					p.unverif++
				}
			}
			if !found && err == nil {
				if !fromL1 {
					p.l2Answers++
					if failing && live != 0 {
						p.refilled = true
					}
				} else if acked && !p.refilled {
					if p.stale == 0 {
						p.firstAt = time.Since(ackAt)
					}
					p.stale++
				}
			}
			p.mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	return p
}

func (p *negativePoller) finish() {
	close(p.stop)
	<-p.done
}

// TestSentinelFailoverDropsNotRevokedAnswersCachedBeforeIt: replica B caches "not
// revoked" for an id (a second read is an L1 hit with no L2 read); the primary then
// fails over (SENTINEL FAILOVER, then the new primary killed), and during each
// failover replica A revokes the id. From A's acknowledgement on, B never answers
// "not revoked" from the L1 entry cached under the old tracking subscription (it
// answers from Redis, or ErrUnavailable while it cannot ask), and once both are
// healthy again B answers revoked.
func TestSentinelFailoverDropsNotRevokedAnswersCachedBeforeIt(t *testing.T) {
	redistest.Slow(t, "Sentinel failovers (the Yaegi host runs one in make test)")
	set := redistest.StartSentinel(t, redistest.SentinelOptions{Password: "data-secret", SentinelPassword: "sentinel-secret"})
	o := haOptions("fl1:", set, nil)
	a := haReplicas(t, o, 1)[0]
	// B probes less often than A, so that after the primary is killed A (probing
	// every 50 ms) replays its revocation into the new primary before B
	// subscribes there: no invalidation reaches B, only its new tracking epoch
	// keeps the old "not revoked" from counting as fresh again.
	ob := o
	ob.ProbeInterval = time.Second
	b := haReplicas(t, ob, 1)[0]
	rs := []*store{a, b}
	for _, how := range []string{"failover", "kill"} {
		id := how + "-x"
		// quiet: also cached "not revoked" by B and revoked by A during the
		// failover, but not read by B until both are healthy again (a read while B
		// recovers would replace its L1 entry).
		quiet := how + "-quiet"
		if _, found, err := b.Get(bg, ksRevoked, quiet); found || err != nil {
			t.Fatalf("%s: first read: found=%v err=%v", how, found, err)
		}
		if _, found, err := b.Get(bg, ksRevoked, id); found || err != nil {
			t.Fatalf("%s: first read: found=%v err=%v", how, found, err)
		}
		st0 := b.Stats()
		if _, found, err := b.Get(bg, ksRevoked, id); found || err != nil {
			t.Fatalf("%s: second read: found=%v err=%v", how, found, err)
		}
		st1 := b.Stats()
		if st1.L1Hits != st0.L1Hits+1 || st1.L2Reads != st0.L2Reads {
			t.Fatalf("%s: the second read of a \"not revoked\" answer was not an L1 hit: L1 hits %d -> %d, L2 reads %d -> %d",
				how, st0.L1Hits, st1.L1Hits, st0.L2Reads, st1.L2Reads)
		}

		old := set.Primary()
		p := startNegativePoller(b, id)
		time.Sleep(20 * time.Millisecond)
		failAt := time.Now()
		p.failing.Store(true)
		if how == "failover" {
			set.Failover()
			// Revoke while the sentinels switch: B's subscription is on the
			// primary being demoted.
			set.WaitSwitch(old, set.FailoverDeadline())
		} else {
			old.Kill()
			// Revoke once A has seen the primary go (its next probe fails).
			eventually(t, 30*time.Second, func() bool { return a.Health() != HealthHealthy })
		}
		for _, x := range []string{id, quiet} {
			if err := a.Set(bg, ksRevoked, x, []byte("1"), time.Hour); err != nil {
				t.Fatalf("%s: revocation during the failover: %v", how, err)
			}
		}
		p.acked.Store(true)
		ackAt := time.Now()
		recovered := waitAllHealthy(t, rs, failAt, set.FailoverDeadline())
		eventually(t, 30*time.Second, func() bool { return a.Stats().OutboxLength == 0 })
		// B answers revoked (the invalidation from A's write or replay is a push: it
		// may still be on its way when A reports healthy).
		revoked := func(x string) (bool, error) {
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, found, err := b.Get(bg, ksRevoked, x)
				if (found && err == nil) || time.Now().After(deadline) {
					return found, err
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		quietFound, quietErr := revoked(quiet)
		found, err := revoked(id)
		time.Sleep(50 * time.Millisecond)
		p.finish()
		p.mu.Lock()
		t.Logf("%s: revoked %v after the failure; both healthy %v after it; B answered %d times after the revocation (%d unverifiable, %d not-revoked answers read from Redis in all); %d stale not-revoked answers from L1 (first %v after the revocation)",
			how, ackAt.Sub(failAt).Round(time.Millisecond), recovered.Round(time.Millisecond), p.polls, p.unverif, p.l2Answers, p.stale, p.firstAt)
		stale, polls := p.stale, p.polls
		p.mu.Unlock()
		if stale > 0 {
			t.Fatalf("%s: B answered \"not revoked\" %d times from the L1 entry cached under the old tracking subscription after A's revocation was acknowledged", how, stale)
		}
		if polls == 0 {
			t.Fatalf("%s: B was not read after the revocation", how)
		}
		if !found || err != nil {
			t.Fatalf("%s: B does not enforce the revocation after the failover: found=%v err=%v (%+v)", how, found, err, b.Stats())
		}
		if !quietFound || quietErr != nil {
			t.Fatalf("%s: B does not enforce the revocation it did not read during the failover: found=%v err=%v (%+v)", how, quietFound, quietErr, b.Stats())
		}
		if how == "failover" {
			set.WaitReady(set.FailoverDeadline())
		}
	}
}
