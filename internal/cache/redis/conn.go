package redis

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one multiplexed connection. Any number of goroutines send commands on it at
// once; replies come back in order (Redis answers a connection's commands in the order
// it received them), so one reader goroutine pops the FIFO of pending calls and hands
// each call its replies.
//
// Reply-to-request matching is deliberately select-free, because under Yaegi a select
// statement run by several goroutines at once can deliver one goroutine's value to
// another (docs/YAEGI-NOTES.md). The FIFO is a mutex-guarded slice; each call has its own
// channel that only its caller receives from, with a plain receive. Nothing waits for
// ever: while calls are pending the socket has a read deadline (ReadTimeout from the
// last progress), and when it passes the connection is closed and every pending call
// fails.
//
// Writes are group-committed: the caller that finds no write in progress becomes the
// writer and keeps writing whatever the others appended meanwhile, so concurrent
// callers share system calls and round trips (implicit pipelining).
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	readTO   time.Duration
	writeTO  time.Duration
	maxReply int
	resp3    bool
	// pubsub marks a RESP2 connection in subscriber mode: its "message" arrays are
	// out-of-band and go to onPush, like RESP3 pushes.
	pubsub bool
	// onPush receives out-of-band messages (RESP3 pushes, RESP2 pub/sub messages) on
	// the reader goroutine.
	onPush func(Value)
	mu     sync.Mutex
	// onFail is called once, on the reader goroutine or a writer, when the connection
	// breaks. Guarded by mu: it is set after the reader has started.
	onFail  func(error)
	wbuf    []byte
	spare   []byte
	pending []*call
	head    int
	writing bool
	err     error
	// armed records whether the socket currently has a read deadline, set at armedAt
	// (nanoseconds since base). The deadline is moved only when it is a quarter of
	// ReadTimeout old (SetReadDeadline is a costly call under Yaegi), so a reply may
	// be waited for between 3/4 and all of ReadTimeout.
	armed   bool
	armedAt int64
	base    time.Time

	failed  atomic.Bool
	started atomic.Bool
}

// call is one request: n commands sent together, whose n replies are delivered at
// once through done.
type call struct {
	n     int
	vals  []Value
	err   error
	state atomic.Int32
	done  chan struct{}
}

func newCall(n int) *call {
	return &call{n: n, done: make(chan struct{}, 1)}
}

// finishCall delivers the result to the call's owner, once: the reader and a context
// watcher may race, the first wins and the other's result is dropped.
func finishCall(cl *call, vals []Value, err error) {
	if cl.state.CompareAndSwap(0, 1) {
		cl.vals = vals
		cl.err = err
		cl.done <- struct{}{}
	}
}

// newConn wraps an established network connection; the handshake has not run.
func newConn(nc net.Conn, o *Options) *conn {
	return &conn{
		nc:       nc,
		br:       bufio.NewReaderSize(nc, 16<<10),
		readTO:   o.ReadTimeout,
		writeTO:  o.WriteTimeout,
		maxReply: o.MaxReplyBytes,
		base:     time.Now(),
	}
}

// armLocked bounds the wait for the next reply, unless the deadline set less than a
// quarter of ReadTimeout ago already does; the caller holds mu.
func armLocked(c *conn, now int64) {
	if !c.armed || now-c.armedAt > int64(c.readTO)/4 {
		_ = c.nc.SetReadDeadline(c.base.Add(time.Duration(now) + c.readTO))
		c.armed = true
		c.armedAt = now
	}
}

// start launches the reader goroutine; it stops when the connection fails or closes.
func (c *conn) start() {
	if c.started.CompareAndSwap(false, true) {
		go readLoop(c)
	}
}

// send encodes cmds, queues the call and writes (or leaves the writing to the caller
// already writing). The call is finished later by the reader, or with an error now.
func (c *conn) send(cl *call, cmds [][]any) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		finishCall(cl, nil, err)
		return
	}
	start := len(c.wbuf)
	for _, args := range cmds {
		var ok bool
		if c.wbuf, ok = appendCommand(c.wbuf, args); !ok {
			c.wbuf = c.wbuf[:start]
			c.mu.Unlock()
			finishCall(cl, nil, ErrBadArgument)
			return
		}
	}
	c.pending = append(c.pending, cl)
	if c.writing {
		c.mu.Unlock()
		return
	}
	c.writing = true
	for len(c.wbuf) > 0 {
		out := c.wbuf
		c.wbuf = c.spare[:0]
		c.mu.Unlock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.writeTO))
		_, err := c.nc.Write(out)
		c.mu.Lock()
		if cap(out) <= 64<<10 {
			c.spare = out[:0]
		} else {
			c.spare = nil // let a one-off large buffer go
		}
		if err != nil {
			c.writing = false
			c.mu.Unlock()
			c.fail(err)
			return
		}
		// Replies are now due: bound the wait for them. A deadline already set bounds
		// the wait for an earlier reply and stays: only replies move it (readLoop), so
		// a server that stops answering is found out within ReadTimeout however many
		// requests keep arriving.
		if !c.armed {
			armLocked(c, int64(time.Since(c.base)))
		}
	}
	c.writing = false
	c.mu.Unlock()
}

// roundTrip sends cmds and waits for their replies, or for ctx to end, or for the
// connection to fail. It never selects: the call's own channel is received from
// plainly, and a context watcher (context.AfterFunc) finishes the call early when ctx
// ends first.
func (c *conn) roundTrip(ctx context.Context, cmds [][]any) ([]Value, error) {
	cl, stop := c.begin(ctx, cmds)
	return finish(cl, stop)
}

// begin sends cmds without waiting for their replies; finish waits for them. Between
// the two a caller may send on other connections (a Cluster pipeline split over
// several nodes waits for all of them at once).
func (c *conn) begin(ctx context.Context, cmds [][]any) (*call, func() bool) {
	cl := newCall(len(cmds))
	if err := ctx.Err(); err != nil {
		finishCall(cl, nil, err)
		return cl, nil
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { finishCall(cl, nil, ctx.Err()) })
	}
	c.send(cl, cmds)
	return cl, stop
}

// finish waits for the call begin started (a plain receive on its own channel).
func finish(cl *call, stop func() bool) ([]Value, error) {
	<-cl.done
	if stop != nil {
		stop()
	}
	return cl.vals, cl.err
}

// readLoop reads replies until the connection fails. Out-of-band messages go to
// onPush; every other reply belongs to the oldest pending call.
func readLoop(c *conn) {
	var acc []Value
	for {
		v, err := readReply(c.br, c.maxReply)
		if err != nil {
			c.fail(err)
			return
		}
		if v.Type == TypePush || (c.pubsub && isPubSubMessage(v)) {
			if c.onPush != nil {
				c.onPush(v)
			}
			continue
		}
		c.mu.Lock()
		if c.head >= len(c.pending) {
			c.mu.Unlock()
			c.fail(protoErr("no reply while no request is pending", v.Str))
			return
		}
		cl := c.pending[c.head]
		acc = append(acc, v)
		now := int64(time.Since(c.base))
		if len(acc) < cl.n {
			armLocked(c, now)
			c.mu.Unlock()
			continue
		}
		c.pending[c.head] = nil
		c.head++
		if c.head == len(c.pending) {
			c.pending = c.pending[:0]
			c.head = 0
			if !c.writing {
				// Idle: nothing is due, so an idle connection (or the tracking
				// connection waiting for invalidations) may wait for ever.
				_ = c.nc.SetReadDeadline(time.Time{})
				c.armed = false
			}
		} else {
			if c.head > 1024 && c.head*2 > len(c.pending) {
				n := copy(c.pending, c.pending[c.head:])
				for i := n; i < len(c.pending); i++ {
					c.pending[i] = nil
				}
				c.pending = c.pending[:n]
				c.head = 0
			}
			armLocked(c, now)
		}
		c.mu.Unlock()
		vals := acc
		acc = nil
		finishCall(cl, vals, nil)
	}
}

func isPubSubMessage(v Value) bool {
	if v.Type != TypeArray || len(v.Elems) < 3 {
		return false
	}
	k := string(v.Elems[0].Str)
	return k == "message" || k == "pmessage"
}

// fail marks the connection broken, closes the socket and fails every pending call.
// Only the first call acts; onFail may call fail again (closing sibling connections).
func (c *conn) fail(err error) {
	if !c.failed.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	onFail := c.onFail
	pend := c.pending[c.head:]
	c.pending = nil
	c.head = 0
	c.mu.Unlock()
	_ = c.nc.Close()
	for _, cl := range pend {
		finishCall(cl, nil, err)
	}
	if onFail != nil {
		onFail(err)
	}
}

// close closes the connection; pending calls fail with ErrClosed.
func (c *conn) close() { c.fail(ErrClosed) }

// do runs one command and returns its reply; an error reply becomes an Error.
func (c *conn) do(ctx context.Context, args ...any) (Value, error) {
	vals, err := c.roundTrip(ctx, [][]any{args})
	if err != nil {
		return Value{}, err
	}
	return vals[0], replyErr(vals[0])
}

// replyErr turns an error reply into an Error; other replies give nil.
func replyErr(v Value) error {
	if v.Type == TypeError || v.Type == TypeBlobError {
		return Error(string(v.Str))
	}
	return nil
}

// handshake authenticates and configures a new connection: HELLO 3 with AUTH and
// SETNAME when the server knows it (RESP3), else AUTH and CLIENT SETNAME on RESP2;
// then SELECT. ctx bounds it (DialTimeout).
func handshake(ctx context.Context, c *conn, o *Options) error {
	c.start()
	hello := o.Protocol != 2
	if hello {
		args := []any{"HELLO", "3"}
		if o.Password != "" {
			user := o.Username
			if user == "" {
				user = "default"
			}
			args = append(args, "AUTH", user, o.Password)
		}
		if o.ClientName != "" {
			args = append(args, "SETNAME", o.ClientName)
		}
		_, err := c.do(ctx, args...)
		switch {
		case err == nil:
			c.resp3 = true
		case helloUnsupported(err):
			hello = false // an older server, or HELLO renamed away: RESP2
		default:
			return err
		}
	}
	if !hello {
		if o.Password != "" {
			args := []any{"AUTH", o.Password}
			if o.Username != "" {
				args = []any{"AUTH", o.Username, o.Password}
			}
			if _, err := c.do(ctx, args...); err != nil {
				return err
			}
		}
		if o.ClientName != "" {
			if _, err := c.do(ctx, "CLIENT", "SETNAME", o.ClientName); err != nil {
				return err
			}
		}
	}
	if o.DB != 0 {
		if _, err := c.do(ctx, "SELECT", o.DB); err != nil {
			return err
		}
	}
	if o.primaryOnly {
		return checkPrimary(ctx, c)
	}
	return nil
}

// checkPrimary refuses a server that is not a primary (ROLE): a Sentinel may still
// name a primary that has just been demoted, and writes to a replica fail.
func checkPrimary(ctx context.Context, c *conn) error {
	v, err := c.do(ctx, "ROLE")
	if err != nil {
		return err
	}
	role := ""
	if len(v.Elems) > 0 {
		role = string(v.Elems[0].Str)
	}
	if role != "master" {
		return notPrimaryError("redis: sentinel: expected the server named as primary to have ROLE master, got " + strconv.Quote(role) + " (a failover is in progress)")
	}
	return nil
}

// notPrimaryError is returned by a dial that reached a server that is not a primary.
type notPrimaryError string

func (e notPrimaryError) Error() string { return string(e) }

// helloUnsupported recognises the answers of servers without RESP3: an unknown (or
// renamed) HELLO, or NOPROTO.
func helloUnsupported(err error) bool {
	code := ErrorCode(err)
	if code == "NOPROTO" {
		return true
	}
	if code != "ERR" {
		return false
	}
	msg := strings.ToLower(string(err.(Error)))
	return strings.Contains(msg, "unknown command")
}

// dialConn opens, wraps and handshakes one connection within DialTimeout. prep, when
// not nil, configures the connection (onPush, pubsub) before its reader starts.
func dialConn(ctx context.Context, o *Options, prep func(*conn)) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	nc, err := o.Dialer.DialContext(ctx)
	if err != nil {
		return nil, err
	}
	c := newConn(nc, o)
	if prep != nil {
		prep(c)
	}
	if err := handshake(ctx, c, o); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}
