package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// refresher makes sure one refresh token is redeemed once: concurrent requests of
// one session on this replica share one flight, and replicas share one through a lock
// in the cache, the winner publishing the result (sealed) for the others.
type refresher struct {
	mu      sync.Mutex
	flights map[string]*refreshFlight
}

type refreshFlight struct {
	done chan struct{}
	rec  *session.Record
	err  error
}

func newRefresher() *refresher { return &refresher{flights: map[string]*refreshFlight{}} }

// errRefreshBusy: another replica holds the lock and published nothing in time.
var errRefreshBusy = errors.New("refresh in progress on another replica")

// errRefreshRejected is a refresh whose new tokens failed validation (a refreshed ID
// token with another subject, audience or nonce, a bad signature, ...). The provider
// has already redeemed the refresh token, so the session cannot refresh again: it
// ends, as after invalid_grant. The reason is logged where it is found.
var errRefreshRejected = errors.New("the provider's refreshed tokens were rejected")

// refreshWait bounds how long a request waits for another replica's refresh.
const refreshWait = 10 * time.Second

func isRefusedGrant(err error) bool { return err == errRefreshRejected || oidc.IsInvalidGrant(err) }

// refreshOnce returns the refreshed record for rec, redeeming its refresh token at
// most once across this replica's concurrent requests.
func refreshOnce(m *Middleware, ctx context.Context, rec *session.Record, now time.Time) (*session.Record, error) {
	r := m.refresh
	key := rec.RefreshToken
	r.mu.Lock()
	if f := r.flights[key]; f != nil {
		r.mu.Unlock()
		<-f.done
		if f.err == nil {
			m.met.c.refreshes[resultShared].Add(1)
		}
		return f.rec, f.err
	}
	f := &refreshFlight{done: make(chan struct{})}
	r.flights[key] = f
	r.mu.Unlock()

	f.rec, f.err = refreshShared(m, context.WithoutCancel(ctx), rec, now)

	r.mu.Lock()
	delete(r.flights, key)
	r.mu.Unlock()
	close(f.done)
	return f.rec, f.err
}

// refreshShared redeems rec's refresh token unless another replica already did or
// is doing so, in which case it takes that replica's result.
func refreshShared(m *Middleware, ctx context.Context, rec *session.Record, now time.Time) (*session.Record, error) {
	id := rec.RefreshToken
	if nrec := publishedRefresh(m, ctx, id, now); nrec != nil {
		m.met.c.refreshes[resultShared].Add(1)
		return nrec, nil
	}
	got, err := m.store.SetNX(ctx, m.ks.refreshLock, id, []byte("1"), 30*time.Second)
	if err != nil {
		got = true // no coordination possible: refreshing is better than failing
	}
	if !got {
		deadline := time.Now().Add(refreshWait)
		for time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			if nrec := publishedRefresh(m, ctx, id, now); nrec != nil {
				m.met.c.refreshes[resultShared].Add(1)
				return nrec, nil
			}
		}
		return nil, errRefreshBusy
	}
	defer func() { _ = m.store.Delete(ctx, m.ks.refreshLock, id) }()
	// The lock may have been released by a replica that has just redeemed the token:
	// its result is published (synchronously) before the release, so look again.
	if nrec := publishedRefresh(m, ctx, id, now); nrec != nil {
		m.met.c.refreshes[resultShared].Add(1)
		return nrec, nil
	}
	meta, err := m.provider.discovery.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := m.provider.client.Refresh(ctx, oidc.TokenEndpoint(meta), rec.RefreshToken)
	if err != nil {
		return nil, err
	}
	nrec, err := newSessionRecord(m, ctx, meta, tok, nil, rec, now)
	if err != nil {
		m.log.Warn(logging.EventRefreshRejected, "refreshed tokens rejected", logging.Fields{"user": m.log.ID(rec.Subject), "error": err})
		return nil, errRefreshRejected
	}
	m.met.c.refreshes[resultRedeemed].Add(1)
	nrec.LastSeen = now.Unix()
	if sealed, err := session.SealRecord(m.sessions.CacheSealer, nrec); err == nil {
		ttl := 2 * time.Minute
		if nrec.TokenExpiry > 0 {
			if left := time.Duration(nrec.TokenExpiry-now.Unix()) * time.Second; left < ttl {
				ttl = left
			}
		}
		if ttl > 0 {
			_ = m.store.Set(ctx, m.ks.refreshed, id, []byte(sealed), ttl)
		}
	}
	return nrec, nil
}

// publishedRefresh returns the record another request (here or on a replica)
// published after redeeming refresh token id, or nil.
func publishedRefresh(m *Middleware, ctx context.Context, id string, now time.Time) *session.Record {
	v, ok, err := cache.Lookup(m.store, ctx, m.ks.refreshed, id)
	if err != nil || !ok {
		return nil
	}
	nrec, err := session.OpenRecord(m.sessions, m.sessions.CacheSealer, string(v), now)
	if err != nil {
		return nil
	}
	// Without refresh-token rotation the same token is redeemed again later: an
	// earlier result that is itself due is not an answer.
	if session.NeedsRefresh(m.sessions, nrec, now) {
		return nil
	}
	return nrec
}
