package redis

import (
	"bufio"
	"context"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one multiplexed connection. Any number of goroutines send commands on it at
// once; replies come back in order (Redis answers a connection's commands in the order
// it received them). Two goroutines live as long as the connection: a writer that
// writes what callers queue, and a reader that hands each call its replies.
//
// A caller only queues: it encodes its commands at the end of the write buffer,
// appends its call to the FIFO, wakes the writer if it sleeps, and waits on its own
// channel with a plain receive. The writer takes everything queued at once and writes
// it in one system call, so concurrent callers share writes and round trips (implicit
// pipelining) without any of them being held by another's write: a caller whose
// context ends returns at once, whatever the socket does.
//
// Matching replies to requests is deliberately select-free, because under Yaegi a
// select statement run by several goroutines at once can deliver one goroutine's
// value to another (docs/YAEGI-NOTES.md): the FIFO is a mutex-guarded slice, the
// writer sleeps on a condition variable, and each call has its own channel that only
// its caller receives from.
//
// Everything is bounded. A connection holds at most MaxInFlight commands queued or
// awaiting replies; a call beyond that is refused at once (ErrInFlightLimit) and the
// pool tries another connection. A call whose context ends is abandoned: if it is
// still queued, the writer drops it unwritten; if it was written, the reader reads its
// replies and drops them. Nothing waits for ever: each write has WriteTimeout, and
// while replies are due the socket has a read deadline (ReadTimeout from the last
// progress); when either passes the connection is closed and every call on it fails.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	readTO   time.Duration
	writeTO  time.Duration
	maxReply int
	// maxInFlight caps the commands queued or awaiting replies (Options.MaxInFlight).
	maxInFlight int
	resp3       bool
	// pubsub marks a RESP2 connection in subscriber mode: its "message" arrays are
	// out-of-band and go to onPush, like RESP3 pushes.
	pubsub bool
	// onPush receives out-of-band messages (RESP3 pushes, RESP2 pub/sub messages) on
	// the reader goroutine.
	onPush func(Value)
	mu     sync.Mutex
	// wake is what the writer sleeps on while nothing is queued; sleeping is set while
	// it does, so that a caller signals only then.
	wake     *sync.Cond
	sleeping bool
	// onFail is called once, on whichever goroutine fails the connection first. Guarded
	// by mu: it is set after the reader has started.
	onFail func(error)
	// calls is the FIFO: calls[head:sent] have been handed to the writer and wait for
	// their replies, in the order the server answers; calls[sent:] are queued, their
	// commands encoded in wbuf in the same order.
	calls []*call
	head  int
	sent  int
	// inFlight counts the commands of calls[head:].
	inFlight int
	wbuf     []byte
	spare    []byte
	writing  bool
	err      error
	// armed records whether the socket currently has a read deadline, set at armedAt
	// (nanoseconds since base). The deadline is moved only when it is a quarter of
	// ReadTimeout old (SetReadDeadline is a costly call under Yaegi), so a reply may
	// be waited for between 3/4 and all of ReadTimeout.
	armed   bool
	armedAt int64
	base    time.Time
	// abandoned counts calls ended by their context since the writer last looked; the
	// writer then drops those still queued.
	abandoned atomic.Int32

	failed  atomic.Bool
	started atomic.Bool
	// queued is set while calls wait for the writer to take them (beginPool joins
	// them); mu guards the calls themselves.
	queued atomic.Bool
	// running counts the reader and the writer; Client.Close waits for them to end.
	running sync.WaitGroup
}

// call is one request: n commands sent together, whose n replies are delivered at
// once through done.
type call struct {
	n int
	// off and end delimit the call's commands in its connection's wbuf while it is
	// queued.
	off   int
	end   int
	vals  []Value
	err   error
	state atomic.Int32
	done  chan struct{}
}

func newCall(n int) *call {
	return &call{n: n, done: make(chan struct{}, 1)}
}

// finishCall delivers the result to the call's owner, once: the reader, a failing
// connection and a context watcher may race, the first wins and the others' results
// are dropped. done has room for the one delivery, so nobody ever blocks on it.
func finishCall(cl *call, vals []Value, err error) {
	if cl.state.CompareAndSwap(0, 1) {
		cl.vals = vals
		cl.err = err
		cl.done <- struct{}{}
	}
}

// newConn wraps an established network connection; the handshake has not run.
func newConn(nc net.Conn, o *Options) *conn {
	c := &conn{
		nc:          nc,
		br:          bufio.NewReaderSize(nc, 16<<10),
		readTO:      o.ReadTimeout,
		writeTO:     o.WriteTimeout,
		maxReply:    o.MaxReplyBytes,
		maxInFlight: o.MaxInFlight,
		base:        time.Now(),
	}
	c.wake = sync.NewCond(&c.mu)
	return c
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

// disarmLocked lets an idle connection (or the tracking connection waiting for
// invalidations) wait for ever: no reply is due. The caller holds mu.
func disarmLocked(c *conn) {
	_ = c.nc.SetReadDeadline(time.Time{})
	c.armed = false
}

// start launches the reader and the writer; both stop when the connection fails or
// closes.
func (c *conn) start() {
	if c.started.CompareAndSwap(false, true) {
		c.running.Add(2)
		go readLoop(c)
		go writeLoop(c)
	}
}

// enqueue encodes cmds at the end of c's write buffer and queues cl for the writer,
// which it wakes. It queues nothing and returns the connection's error when it has
// failed, ErrBadArgument when an argument cannot be encoded, and ErrInFlightLimit when
// cl's commands would take c past MaxInFlight (a call larger than the cap is still
// taken by a connection with nothing in flight, alone). A plain function, not a
// method: it is on the request path, where Yaegi's method calls cost more.
func enqueue(c *conn, cl *call, cmds [][]any) error {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	if c.inFlight > 0 && c.inFlight+cl.n > c.maxInFlight {
		c.mu.Unlock()
		return ErrInFlightLimit
	}
	start := len(c.wbuf)
	for _, args := range cmds {
		var ok bool
		if c.wbuf, ok = appendCommand(c.wbuf, args); !ok {
			c.wbuf = c.wbuf[:start]
			c.mu.Unlock()
			return ErrBadArgument
		}
	}
	cl.off = start
	cl.end = len(c.wbuf)
	c.calls = append(c.calls, cl)
	c.queued.Store(true)
	c.inFlight += cl.n
	sleeping := c.sleeping
	c.sleeping = false
	c.mu.Unlock()
	if sleeping {
		c.wake.Signal()
	}
	return nil
}

// watch ends cl with ctx's error when ctx ends first (context.AfterFunc: no select),
// and tells c's writer that a call was abandoned, before its caller can see it
// returned. It returns the watcher's stop function, or nil when ctx never ends.
func watch(ctx context.Context, c *conn, cl *call) func() bool {
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, func() {
		if cl.state.CompareAndSwap(0, 1) {
			c.abandoned.Add(1)
			cl.err = ctx.Err()
			cl.done <- struct{}{}
		}
	})
}

// writeLoop is the connection's writer: it sleeps until calls are queued, drops those
// already abandoned, and writes the rest in one system call, until the connection
// fails. A write that fails or passes WriteTimeout fails the connection.
func writeLoop(c *conn) {
	defer func() { c.running.Done() }()
	c.mu.Lock()
	for c.err == nil {
		if c.sent == len(c.calls) {
			c.sleeping = true
			c.wake.Wait()
			c.sleeping = false
			continue
		}
		gatherLocked(c)
		if c.err != nil {
			break
		}
		if c.abandoned.Load() != 0 {
			dropAbandonedLocked(c)
			continue
		}
		out := c.wbuf
		c.wbuf = c.spare
		c.spare = nil
		c.sent = len(c.calls)
		c.queued.Store(false)
		c.writing = true
		c.mu.Unlock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.writeTO))
		_, err := c.nc.Write(out)
		c.mu.Lock()
		c.writing = false
		if cap(out) <= 64<<10 {
			c.spare = out[:0] // a one-off large buffer is let go
		}
		if err != nil {
			c.mu.Unlock()
			c.fail(err)
			return
		}
		// Replies are now due: bound the wait for them. A deadline already set bounds
		// the wait for an earlier reply and stays: only replies move it (readLoop), so
		// a server that stops answering is found out within ReadTimeout however many
		// requests keep arriving. When every reply came while the write was still
		// returning, nothing is due and the idle connection gets no deadline.
		if c.head < c.sent {
			if !c.armed {
				armLocked(c, int64(time.Since(c.base)))
			}
		} else if c.armed {
			disarmLocked(c)
		}
	}
	c.mu.Unlock()
}

// gatherLocked lets the callers that are about to queue do so before the writer takes
// the batch: it yields the processor (runtime.Gosched) while the queue keeps growing,
// at most four times. Callers woken together by one read of many replies then leave
// in one write instead of one write each (the system call is most of a small
// command's cost). BenchmarkCallersShareWrites, 64 callers on 4 connections: about
// 1.5 commands per write without it, 7 with it, 45 with it and beginPool joining the
// open batch; two to three times the throughput. A lone caller loses a Gosched (a
// microsecond or so against a round trip of tens). The caller holds mu; it is
// released while yielding.
func gatherLocked(c *conn) {
	for i := 0; i < 4; i++ {
		n := len(c.calls)
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
		if len(c.calls) == n || c.err != nil {
			return
		}
	}
}

// dropAbandonedLocked removes from the queue the calls whose context ended before they
// were written: their commands are cut out of wbuf and never sent, and their room is
// given back. The caller holds mu.
func dropAbandonedLocked(c *conn) {
	c.abandoned.Store(0)
	kept := c.sent
	b := 0
	for i := c.sent; i < len(c.calls); i++ {
		cl := c.calls[i]
		if cl.state.Load() != 0 {
			c.inFlight -= cl.n
			continue
		}
		n := copy(c.wbuf[b:], c.wbuf[cl.off:cl.end])
		cl.off = b
		b += n
		cl.end = b
		c.calls[kept] = cl
		kept++
	}
	for i := kept; i < len(c.calls); i++ {
		c.calls[i] = nil
	}
	c.calls = c.calls[:kept]
	c.wbuf = c.wbuf[:b]
}

// roundTrip sends cmds and waits for their replies, or for ctx to end, or for the
// connection to fail.
func (c *conn) roundTrip(ctx context.Context, cmds [][]any) ([]Value, error) {
	cl, stop := c.begin(ctx, cmds)
	return finish(cl, stop)
}

// begin queues cmds without waiting for their replies; finish waits for them.
func (c *conn) begin(ctx context.Context, cmds [][]any) (*call, func() bool) {
	cl := newCall(len(cmds))
	if err := ctx.Err(); err != nil {
		finishCall(cl, nil, err)
		return cl, nil
	}
	if err := enqueue(c, cl, cmds); err != nil {
		finishCall(cl, nil, err)
		return cl, nil
	}
	return cl, watch(ctx, c, cl)
}

// finish waits for a call begun by begin or beginPool (a plain receive on its own
// channel). Between the two a caller may send on other connections (a Cluster
// pipeline split over several nodes waits for all of them at once).
func finish(cl *call, stop func() bool) ([]Value, error) {
	<-cl.done
	if stop != nil {
		stop()
	}
	return cl.vals, cl.err
}

// readLoop reads replies until the connection fails. Out-of-band messages go to
// onPush; every other reply belongs to the oldest call awaiting one (whose caller may
// have abandoned it: the reply is then dropped).
func readLoop(c *conn) {
	defer func() { c.running.Done() }()
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
		if c.head >= c.sent {
			c.mu.Unlock()
			c.fail(protoErr("no reply while no request is pending", v.Str))
			return
		}
		cl := c.calls[c.head]
		acc = append(acc, v)
		now := int64(time.Since(c.base))
		if len(acc) < cl.n {
			armLocked(c, now)
			c.mu.Unlock()
			continue
		}
		c.calls[c.head] = nil
		c.head++
		c.inFlight -= cl.n
		if c.head == len(c.calls) {
			c.calls = c.calls[:0]
			c.head = 0
			c.sent = 0
		} else if c.head > 1024 && c.head*2 > len(c.calls) {
			n := copy(c.calls, c.calls[c.head:])
			for i := n; i < len(c.calls); i++ {
				c.calls[i] = nil
			}
			c.calls = c.calls[:n]
			c.sent -= c.head
			c.head = 0
		}
		if c.head < c.sent {
			armLocked(c, now)
		} else if !c.writing {
			// Nothing written is unanswered: the writer arms the deadline again when
			// it writes what is queued.
			disarmLocked(c)
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

// fail marks the connection broken, closes the socket, wakes the writer so that it
// ends, and fails every call queued or awaiting replies. Only the first call acts;
// onFail may call fail again (closing sibling connections).
func (c *conn) fail(err error) {
	if !c.failed.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	onFail := c.onFail
	pend := c.calls[c.head:]
	c.calls = nil
	c.head = 0
	c.sent = 0
	c.inFlight = 0
	c.wbuf = nil
	c.mu.Unlock()
	c.wake.Broadcast()
	_ = c.nc.Close()
	for _, cl := range pend {
		finishCall(cl, nil, err)
	}
	if onFail != nil {
		onFail(err)
	}
}

// close closes the connection; pending calls fail with ErrClosed. The reader and the
// writer end soon after (c.running).
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
