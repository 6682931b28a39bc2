package redis

import (
	"context"
	"sync"
	"sync/atomic"
)

// InvalidationChannel is where Redis publishes invalidations for clients that
// redirect them (RESP2 client-side caching).
const InvalidationChannel = "__redis__:invalidate"

// TrackingHandler receives what a tracking subscription learns. Both functions run on
// a connection's reader goroutine: keep them short and never call the client from
// them.
type TrackingHandler struct {
	// Invalidate is called with the keys that changed. flush is true for a null
	// invalidation (FLUSHALL, FLUSHDB, or the server dropping its tracking table):
	// everything cached may be stale.
	Invalidate func(keys [][]byte, flush bool)
	// Lost is called once when the subscription dies (a connection failed or timed
	// out); not after Close. No invalidation is delivered after it.
	Lost func(err error)
}

// Tracking is a live server-assisted client-side-caching subscription (CLIENT
// TRACKING in broadcasting mode): Redis reports every change to a key under one of
// the prefixes.
//
// On a RESP3 server it is one dedicated connection whose invalidation messages arrive
// as push replies. On a RESP2 server (no HELLO) it is two: a subscriber to
// __redis__:invalidate, and a connection whose tracking is redirected to it; both must
// stay up, so losing either loses the subscription.
type Tracking struct {
	h       TrackingHandler
	resp3   bool
	mu      sync.Mutex // guards conns: a Cluster subscription grows node by node
	conns   []*conn
	over    atomic.Bool // lost or closed: deliver nothing more
	closed  atomic.Bool
	lostMu  sync.Mutex
	lostErr error
}

func newTracking(h TrackingHandler) *Tracking { return &Tracking{h: h} }

// Track opens a tracking subscription for keys starting with any of prefixes (all
// keys when prefixes is empty) and returns once Redis has confirmed it. The handler's
// functions must be set.
func (c *Client) Track(ctx context.Context, prefixes []string, h TrackingHandler) (*Tracking, error) {
	t := newTracking(h)
	if err := trackOn(c, t, ctx, prefixes); err != nil {
		t.Close()
		return nil, err
	}
	if t.over.Load() {
		t.Close()
		return nil, t.err()
	}
	return t, nil
}

// trackOn adds c's server to the subscription t: one connection (RESP3) or two
// (RESP2). On error the caller closes t.
func trackOn(c *Client, t *Tracking, ctx context.Context, prefixes []string) error {
	onFail := func(err error) { trackingLost(t, err) }
	pushes := func(v Value) { trackingPush(t, v) }
	main, err := c.dial(ctx, func(cn *conn) {
		cn.onPush = pushes
		cn.onFail = onFail
	})
	if err != nil {
		return err
	}
	if !addTrackingConn(t, main) {
		return t.err()
	}
	t.resp3 = main.resp3
	args := []any{"CLIENT", "TRACKING", "ON"}
	if !main.resp3 {
		// RESP2: invalidations can only be delivered as pub/sub messages, to another
		// connection subscribed to __redis__:invalidate.
		sub, err := c.dial(ctx, func(cn *conn) {
			cn.onPush = pushes
			cn.onFail = onFail
			cn.pubsub = true
		})
		if err != nil {
			return err
		}
		if !addTrackingConn(t, sub) {
			return t.err()
		}
		id, err := sub.do(ctx, "CLIENT", "ID")
		if err != nil {
			return err
		}
		if _, err := sub.do(ctx, "SUBSCRIBE", InvalidationChannel); err != nil {
			return err
		}
		args = append(args, "REDIRECT", id.Int)
	}
	args = append(args, "BCAST")
	for _, p := range prefixes {
		args = append(args, "PREFIX", p)
	}
	_, err = main.do(ctx, args...)
	return err
}

// addTrackingConn adds cn to t, or closes it when t has already ended.
func addTrackingConn(t *Tracking, cn *conn) bool {
	t.mu.Lock()
	if t.over.Load() {
		t.mu.Unlock()
		cn.close()
		return false
	}
	t.conns = append(t.conns, cn)
	t.mu.Unlock()
	return true
}

// trackingConns returns a copy of t's connections.
func trackingConns(t *Tracking) []*conn {
	t.mu.Lock()
	out := append([]*conn(nil), t.conns...)
	t.mu.Unlock()
	return out
}

// RESP3 reports whether invalidations arrive as RESP3 pushes (else RESP2 pub/sub).
func (t *Tracking) RESP3() bool { return t.resp3 }

// Ping checks every connection of the subscription within ctx (an idle connection
// would never notice a dead peer). A failure kills the subscription and Lost is
// called.
func (t *Tracking) Ping(ctx context.Context) error {
	for _, cn := range trackingConns(t) {
		if _, err := cn.do(ctx, "PING"); err != nil {
			if !IsServerError(err) {
				cn.fail(err)
			}
			return err
		}
	}
	return nil
}

// Alive reports whether the subscription still delivers invalidations.
func (t *Tracking) Alive() bool { return !t.over.Load() }

// Close ends the subscription (closing its connections ends tracking on the server).
// Lost is not called for a subscription Close ends; for one that had already failed,
// Lost runs (or has run) all the same: a caller that notices the failure (Alive) and
// closes the subscription before the failing connection's goroutine reaches Lost must
// not silence it.
func (t *Tracking) Close() {
	t.mu.Lock()
	if !t.over.Load() {
		t.closed.Store(true)
		t.over.Store(true)
	}
	t.mu.Unlock()
	for _, cn := range trackingConns(t) {
		cn.close()
	}
}

func (t *Tracking) err() error {
	t.lostMu.Lock()
	defer t.lostMu.Unlock()
	if t.lostErr == nil {
		return ErrClosed
	}
	return t.lostErr
}

// trackingLost runs when any of the subscription's connections fails.
func trackingLost(t *Tracking, err error) {
	if markLost(t) {
		reportLost(t, err)
	}
}

// markLost ends t for a failure; it reports whether this failure is the first end of
// t (not a second failing connection, nor a Close).
func markLost(t *Tracking) bool {
	t.mu.Lock()
	first := t.over.CompareAndSwap(false, true)
	t.mu.Unlock()
	return first
}

// reportLost records err, closes t's connections and calls Lost unless t was closed
// before it failed.
func reportLost(t *Tracking, err error) {
	t.lostMu.Lock()
	t.lostErr = err
	t.lostMu.Unlock()
	for _, cn := range trackingConns(t) {
		cn.close()
	}
	if !t.closed.Load() && t.h.Lost != nil {
		t.h.Lost(err)
	}
}

// trackingPush decodes an invalidation: a RESP3 push [invalidate, keys] or a RESP2
// message [message, __redis__:invalidate, keys]. A null key list means "flush".
func trackingPush(t *Tracking, v Value) {
	if t.over.Load() {
		return
	}
	var kind string
	var keys Value
	switch {
	case v.Type == TypePush && len(v.Elems) == 2:
		kind = string(v.Elems[0].Str)
		keys = v.Elems[1]
	case v.Type == TypeArray && len(v.Elems) == 3 && string(v.Elems[1].Str) == InvalidationChannel:
		kind = "invalidate"
		keys = v.Elems[2]
	default:
		return
	}
	if kind != "invalidate" {
		return
	}
	if keys.Null || (keys.Type != TypeArray && keys.Type != TypeSet) {
		t.h.Invalidate(nil, true)
		return
	}
	out := make([][]byte, 0, len(keys.Elems))
	for _, k := range keys.Elems {
		out = append(out, k.Str)
	}
	t.h.Invalidate(out, false)
}
