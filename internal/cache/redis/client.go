package redis

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/wakeup"
)

// Client talks to one Redis server over a fixed number of multiplexed connections
// (Options.PoolSize). Calls never wait for a connection: a call goes to the next live
// connection in turn that has room for it (Options.MaxInFlight), or fails at once with
// ErrNotConnected while none is up, or ErrInFlightLimit while every one is full. A
// single connector goroutine re-dials broken connections with capped exponential
// backoff and jitter until Close.
//
// A Client is safe for concurrent use. Its zero value is not usable; call NewClient.
type Client struct {
	opts Options
	pool []pooledConn
	rr   atomic.Uint64
	// lastPicked is the pool place beginPool took in turn last: later calls join its queue
	// while its writer has not taken it.
	lastPicked atomic.Int64

	// dialMu serialises dials, so that Connect and the connector never dial the same
	// pool place twice. Connect never blocks on it: it waits for dialEnded instead, within
	// its context.
	dialMu sync.Mutex
	mu     sync.Mutex // guards pool[i].c, fails, next, dialSeq
	// dialEnded is broadcast (with dialSeq moved) when a dial ends, when Close runs and
	// when a waiting Connect's context ends.
	dialEnded *sync.Cond
	dialSeq   uint64
	closed    atomic.Bool
	// ctx is cancelled by Close: it stops the connector and any dial in progress.
	ctx    context.Context
	cancel context.CancelFunc
	// wake wakes the connector (no select: see internal/wakeup).
	wake *wakeup.Waker
	wg   sync.WaitGroup

	// dedicated are the connections dialled outside the pool (tracking,
	// subscriptions), guarded by mu: Close and dropConns close them too.
	dedicated []*conn
	// sentinel is set by NewSentinelClient: it resolves the primary on every dial and
	// watches for failovers.
	sentinel *sentinel

	dials      atomic.Uint64
	dialErrors atomic.Uint64
	refused    atomic.Uint64
	lastErr    atomic.Value // string
}

// pooledConn is one place of the connection pool: its connection (nil while down)
// and when to dial it again after fails failures. (Not a Cluster hash slot.)
type pooledConn struct {
	c     *conn
	fails int
	next  time.Time
}

// Backend is what internal/cache needs from a Redis deployment, whatever its shape:
// a Client (one server, or the primary Sentinel names) or a ClusterClient.
type Backend interface {
	// Do sends one command and returns its reply (an error reply as an Error).
	Do(ctx context.Context, args ...any) (Value, error)
	// Pipeline sends several commands and returns their replies in order; the error
	// is for transport failures only.
	Pipeline(ctx context.Context, cmds [][]any) ([]Value, error)
	// Connect returns once a connection is up (dialling now if needed).
	Connect(ctx context.Context) error
	// Track opens a client-side-caching subscription (see Client.Track).
	Track(ctx context.Context, prefixes []string, h TrackingHandler) (*Tracking, error)
	// Options returns the options in use, defaults applied.
	Options() Options
	// Live reports how many connections are up.
	Live() int
	// Close closes every connection and stops every goroutine.
	Close() error
}

// ClientStats are a client's counters.
type ClientStats struct {
	PoolSize   int
	Live       int    // connections up now
	Dials      uint64 // connection attempts
	DialErrors uint64 // failed attempts (network, TLS, handshake)
	LastError  string // the last dial error's text
	// InFlight counts the commands queued or awaiting replies on the pool's
	// connections now, Queued those of them not yet written.
	InFlight int
	Queued   int
	// Refused counts the calls refused with ErrInFlightLimit (every connection full).
	Refused uint64
}

// NewClient returns a client and starts connecting in the background. It does not
// wait for the network: use Connect to wait for a first connection.
func NewClient(opts Options) *Client { return newClient(opts, nil) }

// newClient builds a client; init, when not nil, runs before the connector starts
// (NewSentinelClient hooks its resolver in there).
func newClient(opts Options, init func(*Client)) *Client {
	o := opts.withDefaults()
	c := &Client{
		opts: o,
		pool: make([]pooledConn, o.PoolSize),
		wake: wakeup.New(),
	}
	c.dialEnded = sync.NewCond(&c.mu)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.lastErr.Store("")
	if init != nil {
		init(c)
	}
	c.wg.Add(1)
	go connector(c)
	return c
}

// Options returns the client's options with defaults applied.
func (c *Client) Options() Options { return c.opts }

// Do sends one command and returns its reply. An error reply is returned as an Error
// together with the reply. Arguments may be string, []byte, int, int64 or uint64.
// ctx bounds the wait; ReadTimeout bounds it in any case.
func (c *Client) Do(ctx context.Context, args ...any) (Value, error) {
	cl, stop, err := beginPool(c, ctx, [][]any{args})
	if err != nil {
		return Value{}, err
	}
	vals, err := finish(cl, stop)
	if err != nil {
		return Value{}, err
	}
	if vals[0].Type == TypeError {
		readOnlyCheck(c, vals)
	}
	return vals[0], replyErr(vals[0])
}

// Pipeline sends several commands in one write and returns their replies in order, in
// one round trip. Error replies are in the returned values (see Value.Type and
// ReplyError); the error is for transport failures only.
func (c *Client) Pipeline(ctx context.Context, cmds [][]any) ([]Value, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	cl, stop, err := beginPool(c, ctx, cmds)
	if err != nil {
		return nil, err
	}
	vals, err := finish(cl, stop)
	if err == nil {
		readOnlyCheck(c, vals)
	}
	return vals, err
}

// errReadOnly fails the connections to a server that answered READONLY.
var errReadOnly = errors.New("redis: the server answered READONLY: it is a replica now; reconnecting")

// readOnlyCheck reacts to READONLY replies: the connection reached a server that has
// become a replica, a primary demoted by a failover that still holds our connections.
// They are all dropped, so that the next dials find the primary again: a Sentinel
// client asks the sentinels, and a client given a name (a managed service's primary
// endpoint, a Kubernetes Service) resolves it again. Without this, connections to a
// demoted primary that stays up would keep answering READONLY for ever.
func readOnlyCheck(c *Client, vals []Value) {
	for i := range vals {
		if vals[i].Type == TypeError && strings.HasPrefix(string(vals[i].Str), "READONLY") {
			why := errReadOnly
			if c.sentinel != nil {
				why = errPrimaryMoved
			}
			dropConns(c, "", why)
			return
		}
	}
}

// ReplyError returns the Error an error reply carries, or nil.
func ReplyError(v Value) error { return replyErr(v) }

// beginPool queues cmds on one of the pool's connections and watches ctx; finish
// waits for the replies. It joins the batch that the connection last picked has
// queued and its writer not yet taken, when there is one with room: callers woken
// together by one read of many replies then leave in one write (measured at 64 callers
// on 4 connections: about 35 commands per write instead of 7, a third more
// throughput). Otherwise it takes the next connection in turn, passing over full
// ones. It fails at once with ctx's error, ErrClosed, ErrBadArgument,
// ErrInFlightLimit when every live connection is full, or ErrNotConnected (asking the
// connector to hurry) when none is up.
func beginPool(c *Client, ctx context.Context, cmds [][]any) (*call, func() bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if c.closed.Load() {
		return nil, nil, ErrClosed
	}
	cl := newCall(len(cmds))
	n := len(c.pool)
	c.mu.Lock()
	last := c.pool[int(c.lastPicked.Load())%n].c
	c.mu.Unlock()
	if last != nil && last.queued.Load() && enqueue(last, cl, cmds) == nil {
		return cl, watch(ctx, last, cl), nil
	}
	start := int(c.rr.Add(1) % uint64(n))
	full := false
	for i := 0; i < n; i++ {
		c.mu.Lock()
		cn := c.pool[(start+i)%n].c
		c.mu.Unlock()
		if cn == nil {
			continue
		}
		err := enqueue(cn, cl, cmds)
		if err == nil {
			c.lastPicked.Store(int64((start + i) % n))
			return cl, watch(ctx, cn, cl), nil
		}
		if err == ErrBadArgument {
			return nil, nil, err
		}
		if err == ErrInFlightLimit {
			full = true
		}
	}
	if full {
		c.refused.Add(1)
		return nil, nil, ErrInFlightLimit
	}
	kickConnector(c)
	return nil, nil, ErrNotConnected
}

// Connect returns once at least one connection is up, dialling one now if needed
// (ignoring the backoff: the caller asked), or with the dial's error, or with ctx's
// error as soon as ctx ends: a dial already in progress (the connector's) is waited
// for, not joined, and Connect's own dial runs within ctx.
func (c *Client) Connect(ctx context.Context) error {
	for {
		if c.closed.Load() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		c.mu.Lock()
		seq := c.dialSeq
		up := liveLocked(c) > 0
		c.mu.Unlock()
		if up {
			return nil
		}
		if c.dialMu.TryLock() {
			err := connectLocked(c, ctx)
			c.dialMu.Unlock()
			return err
		}
		waitDialEnd(c, ctx, seq)
	}
}

// connectLocked dials the first empty pool place for Connect, within ctx and until Close;
// the caller holds dialMu.
func connectLocked(c *Client, ctx context.Context) error {
	c.mu.Lock()
	free := -1
	for i := range c.pool {
		if c.pool[i].c != nil {
			c.mu.Unlock()
			return nil
		}
		if free < 0 {
			free = i
		}
	}
	c.mu.Unlock()
	dctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	err := dialPooled(c, dctx, free)
	stop()
	cancel()
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	kickConnector(c)
	return err
}

// waitDialEnd waits until the dial sequence moves past seq (a dial ended, or Close
// ran), ctx ends or the client is closed (Close may hold dialMu after its last
// wake-up). No select: a condition variable, woken for ctx by context.AfterFunc.
func waitDialEnd(c *Client, ctx context.Context, seq uint64) {
	stop := context.AfterFunc(ctx, func() { dialEnded(c) })
	c.mu.Lock()
	for c.dialSeq == seq && ctx.Err() == nil && !c.closed.Load() {
		c.dialEnded.Wait()
	}
	c.mu.Unlock()
	stop()
}

// dialEnded moves the dial sequence and wakes every waiting Connect.
func dialEnded(c *Client) {
	c.mu.Lock()
	c.dialSeq++
	c.mu.Unlock()
	c.dialEnded.Broadcast()
}

// liveLocked counts the connections up; the caller holds mu.
func liveLocked(c *Client) int {
	n := 0
	for i := range c.pool {
		if c.pool[i].c != nil {
			n++
		}
	}
	return n
}

// Live reports how many connections are up.
func (c *Client) Live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return liveLocked(c)
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	s := ClientStats{PoolSize: len(c.pool), Dials: c.dials.Load(), DialErrors: c.dialErrors.Load(), Refused: c.refused.Load()}
	s.LastError, _ = c.lastErr.Load().(string)
	c.mu.Lock()
	var conns []*conn
	for i := range c.pool {
		if c.pool[i].c != nil {
			conns = append(conns, c.pool[i].c)
		}
	}
	c.mu.Unlock()
	s.Live = len(conns)
	for _, cn := range conns {
		cn.mu.Lock()
		s.InFlight += cn.inFlight
		for _, cl := range cn.calls[cn.sent:] {
			s.Queued += cl.n
		}
		cn.mu.Unlock()
	}
	return s
}

// Close closes every connection (pending calls fail with ErrClosed), stops the
// connector, and returns once the reader and writer goroutines of every connection it
// closed have ended. It is safe to call more than once and concurrently with calls.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.cancel()
	dialEnded(c)    // a Connect waiting for the connector's dial returns ErrClosed
	c.dialMu.Lock() // wait for a dial in progress, so its connection is closed too
	c.mu.Lock()
	var conns []*conn
	for i := range c.pool {
		if c.pool[i].c != nil {
			conns = append(conns, c.pool[i].c)
			c.pool[i].c = nil
		}
	}
	conns = append(conns, c.dedicated...)
	c.dedicated = nil
	c.mu.Unlock()
	c.dialMu.Unlock()
	for _, cn := range conns {
		cn.close()
	}
	for _, cn := range conns {
		cn.running.Wait()
	}
	c.wg.Wait()
	return nil
}

// dial opens a dedicated connection outside the pool (for tracking and
// subscriptions), with the client's options and handshake.
func (c *Client) dial(ctx context.Context, prep func(*conn)) (*conn, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	c.dials.Add(1)
	cn, err := dialConn(ctx, &c.opts, prep)
	if err != nil {
		c.dialErrors.Add(1)
		c.lastErr.Store(err.Error())
		return nil, err
	}
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		cn.close()
		cn.running.Wait()
		return nil, ErrClosed
	}
	live := c.dedicated[:0]
	for _, d := range c.dedicated {
		if !d.failed.Load() {
			live = append(live, d)
		}
	}
	for i := len(live); i < len(c.dedicated); i++ {
		c.dedicated[i] = nil
	}
	c.dedicated = append(live, cn)
	c.mu.Unlock()
	return cn, nil
}

// dropConns closes every connection, pooled and dedicated, that is not connected to
// keep (all of them when keep is ""), and has the connector dial again at once. A
// Sentinel switch uses it: the connections to the old primary go, the new ones
// resolve the new primary. Tracking subscriptions among them report Lost.
func dropConns(c *Client, keep string, why error) int {
	c.mu.Lock()
	var drop []*conn
	for i := range c.pool {
		s := &c.pool[i]
		if s.c != nil && (keep == "" || s.c.nc.RemoteAddr().String() != keep) {
			drop = append(drop, s.c)
		}
		s.fails = 0
		s.next = time.Time{}
	}
	for _, d := range c.dedicated {
		if !d.failed.Load() && (keep == "" || d.nc.RemoteAddr().String() != keep) {
			drop = append(drop, d)
		}
	}
	c.mu.Unlock()
	for _, cn := range drop {
		cn.fail(why)
	}
	kickConnector(c)
	return len(drop)
}

// dialPooled dials pool place i unless it is already up; the caller holds dialMu.
func dialPooled(c *Client, ctx context.Context, i int) error {
	c.mu.Lock()
	up := c.pool[i].c != nil
	c.mu.Unlock()
	if up {
		return nil
	}
	cn, err := c.dial(ctx, nil)
	defer func() { dialEnded(c) }()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.pool[i]
	if err != nil {
		s.fails++
		s.next = time.Now().Add(backoff(&c.opts, s.fails))
		return err
	}
	if c.closed.Load() {
		cn.close()
		return ErrClosed
	}
	s.fails = 0
	cn.mu.Lock()
	cn.onFail = func(err error) {
		_ = err // named and used: Yaegi mis-assigns an unnamed closure parameter (docs/YAEGI-NOTES.md)
		c.mu.Lock()
		if c.pool[i].c == cn {
			c.pool[i].c = nil
		}
		c.mu.Unlock()
		kickConnector(c)
	}
	// A connection that failed before onFail was set is not put in the pool.
	if cn.err == nil {
		s.c = cn
	}
	cn.mu.Unlock()
	return nil
}

// backoff is the delay before the n-th consecutive attempt: MinBackoff doubled n-1
// times, capped at MaxBackoff, then drawn uniformly from its upper half (jitter keeps
// many replicas from reconnecting in step).
func backoff(o *Options, n int) time.Duration {
	d := o.MinBackoff
	for i := 1; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	if d > o.MaxBackoff {
		d = o.MaxBackoff
	}
	half := int64(d / 2)
	if half <= 0 {
		return d
	}
	return time.Duration(half + rand.Int64N(half+1))
}

// kickConnector wakes the connector without blocking.
func kickConnector(c *Client) {
	wakeup.Wake(c.wake)
}

// connector is the client's one background goroutine: it dials every empty pool place whose
// backoff has passed, then sleeps until the next is due or it is kicked.
func connector(c *Client) {
	defer c.wg.Done()
	for {
		wait := time.Hour
		for i := range c.pool {
			if c.closed.Load() {
				return
			}
			c.mu.Lock()
			up := c.pool[i].c != nil
			next := c.pool[i].next
			c.mu.Unlock()
			if up {
				continue
			}
			if d := time.Until(next); d > 0 {
				if d < wait {
					wait = d
				}
				continue
			}
			c.dialMu.Lock()
			_ = dialPooled(c, c.ctx, i)
			c.dialMu.Unlock()
			c.mu.Lock()
			if c.pool[i].c == nil {
				if d := time.Until(c.pool[i].next); d < wait {
					wait = d
				}
			}
			c.mu.Unlock()
		}
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		// Not a select: under Yaegi the connectors of all clients in the interpreter
		// would share its case list (internal/wakeup).
		wakeup.Sleep(c.wake, c.ctx, wait)
		if c.ctx.Err() != nil {
			return
		}
	}
}
