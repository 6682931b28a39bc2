package cachetest

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
)

// Scenarios for the RESP connection's writer, run compiled by internal/cache/redis's
// tests and under Yaegi by internal/yaegihost's: a caller whose context ends, a full
// connection, a stalled server, Connect's context, and Close ending every goroutine.
// They run against a real redis-server (paused when the scenario needs it) or a TCP
// server that accepts and never answers (redistest.Stalled), and watch the client
// only through its API (errors, Stats). Each returns "" or what went wrong. No select
// anywhere: the outcomes arrive on channels received plainly, with a timer posting a
// time-out marker on the same channel. Slices of channels are walked by index: under
// Yaegi, ranging over one with a value variable panics (docs/YAEGI-NOTES.md).

// outcome is what a call running in its own goroutine returned.
type outcome struct {
	v        redis.Value
	err      error
	timedOut bool
}

// async runs f in a goroutine. Its outcome arrives on the channel, which has room for
// it and for await's time-out marker, so that nobody ever blocks on it.
func async(f func() (redis.Value, error)) chan outcome {
	ch := make(chan outcome, 2)
	go func() {
		v, err := f()
		ch <- outcome{v: v, err: err}
	}()
	return ch
}

// await receives the outcome from ch, or a time-out marker after d.
func await(ch chan outcome, d time.Duration) outcome {
	t := time.AfterFunc(d, func() { ch <- outcome{timedOut: true} })
	o := <-ch
	t.Stop()
	return o
}

// doAsync runs c.Do(ctx, args...) in a goroutine.
func doAsync(c *redis.Client, ctx context.Context, args ...any) chan outcome {
	return async(func() (redis.Value, error) {
		v, err := c.Do(ctx, args...)
		return v, err
	})
}

// waitUntil polls cond for up to d and reports whether it came true.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// inFlight waits until the client holds n commands in flight, queued of them not
// yet written (queued < 0: any), and describes the stats if it does not within 10 s.
func inFlight(c *redis.Client, n, queued int) string {
	ok := waitUntil(10*time.Second, func() bool {
		s := c.Stats()
		return s.InFlight == n && (queued < 0 || s.Queued == queued)
	})
	if ok {
		return ""
	}
	s := c.Stats()
	return "expected " + strconv.Itoa(n) + " commands in flight (" + strconv.Itoa(queued) + " queued), got " +
		strconv.Itoa(s.InFlight) + " (" + strconv.Itoa(s.Queued) + " queued; " + strconv.FormatUint(s.Dials, 10) + " dials, last error " +
		strconv.Quote(s.LastError) + ")"
}

// connected returns a client of o connected within 10 s with live connections up.
func connected(o redis.Options, live int) (*redis.Client, string) {
	c := redis.NewClient(o)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := c.Connect(ctx)
	cancel()
	if err != nil {
		_ = c.Close()
		return nil, "connect: " + err.Error()
	}
	if !waitUntil(10*time.Second, func() bool { return c.Live() >= live }) {
		_ = c.Close()
		return nil, strconv.Itoa(c.Live()) + " connections up after 10 s, want " + strconv.Itoa(live)
	}
	return c, ""
}

// closeEndsGoroutines closes c and checks that Close returns and that the process is
// back to the goroutines it had before the client (base) within 10 s: the reader
// and the writer of every connection, the connector and every context watcher ended.
func closeEndsGoroutines(c *redis.Client, base int) string {
	closed := async(func() (redis.Value, error) {
		err := c.Close()
		return redis.Value{}, err
	})
	if o := await(closed, 10*time.Second); o.timedOut {
		return "Close did not return within 10 s"
	}
	if !waitUntil(10*time.Second, func() bool { return runtime.NumGoroutine() <= base }) {
		return "10 s after Close the process has " + strconv.Itoa(runtime.NumGoroutine()) + " goroutines, " +
			strconv.Itoa(base) + " before the client"
	}
	return ""
}

// errText is err's text, or "nil".
func errText(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// bigValue is larger than the socket buffers (a few MiB on loopback: a receive
// buffer grows only as its reader reads): writing it to a server that does not read
// blocks the writer.
func bigValue() []byte { return make([]byte, 32<<20) }

// CancelledCallerIsDropped pauses the server (pause, resume: SIGSTOP and SIGCONT) and
// queues, on one connection: an INCR that is written and then abandoned, a 32 MiB SET
// that holds the writer (the paused server reads nothing), then two SETs abandoned
// while still queued, each followed by an INCR whose caller waits. After resume, the
// abandoned SETs must never have reached the server, the waiting INCRs get their own
// replies in order (2 and 3: the abandoned INCR was written, so it ran, and its reply
// went to nobody), and every command is accounted for.
func CancelledCallerIsDropped(addr string, pause, resume func()) string {
	base := runtime.NumGoroutine()
	c, e := connected(redis.Options{Addr: addr, PoolSize: 1, ReadTimeout: time.Minute, WriteTimeout: time.Minute}, 1)
	if e != "" {
		return e
	}
	bg := context.Background()
	if _, err := c.Do(bg, "DEL", "cc:written", "cc:abandoned", "cc:big"); err != nil {
		_ = c.Close()
		return "DEL: " + err.Error()
	}
	pause()
	problem := cancelledCallerPaused(c, resume)
	if problem != "" {
		resume()
		_ = c.Close()
		return problem
	}
	if v, err := c.Do(bg, "GET", "cc:abandoned"); err != nil || !v.Null {
		_ = c.Close()
		return "a SET abandoned while queued reached the server: GET answered " + strconv.Quote(string(v.Str)) + " (" + errText(err) + ")"
	}
	if v, err := c.Do(bg, "GET", "cc:written"); err != nil || string(v.Str) != "3" {
		_ = c.Close()
		return "cc:written is " + strconv.Quote(string(v.Str)) + " (" + errText(err) + "), want 3"
	}
	if e := inFlight(c, 0, 0); e != "" {
		_ = c.Close()
		return "after every reply: " + e
	}
	return closeEndsGoroutines(c, base)
}

// cancelledCallerPaused is CancelledCallerIsDropped's part while the server is paused;
// it resumes the server once everything is queued.
func cancelledCallerPaused(c *redis.Client, resume func()) string {
	bg := context.Background()
	ctxD, cancelD := context.WithCancel(bg)
	d := doAsync(c, ctxD, "INCR", "cc:written")
	if e := inFlight(c, 1, 0); e != "" {
		cancelD()
		return "INCR written: " + e
	}
	cancelD()
	if o := await(d, 10*time.Second); o.timedOut || o.err != context.Canceled {
		return "the abandoned INCR returned " + errText(o.err) + " (timed out: " + strconv.FormatBool(o.timedOut) + "), want context.Canceled"
	}
	a := doAsync(c, bg, "SET", "cc:big", bigValue())
	if e := inFlight(c, 2, 0); e != "" {
		return "32 MiB SET taken by the writer: " + e
	}
	ctxB, cancelB := context.WithCancel(bg)
	defer cancelB()
	var waiting []chan outcome
	var abandoned []chan outcome
	for i := 0; i < 2; i++ {
		abandoned = append(abandoned, doAsync(c, ctxB, "SET", "cc:abandoned", strconv.Itoa(i)))
		if e := inFlight(c, 3+2*i, -1); e != "" {
			return "SET queued: " + e
		}
		waiting = append(waiting, doAsync(c, bg, "INCR", "cc:written"))
		if e := inFlight(c, 4+2*i, -1); e != "" {
			return "INCR queued: " + e
		}
	}
	cancelB()
	for i := range abandoned {
		if o := await(abandoned[i], 10*time.Second); o.timedOut || o.err != context.Canceled {
			return "a SET abandoned while queued returned " + errText(o.err) + " (timed out: " + strconv.FormatBool(o.timedOut) + "), want context.Canceled"
		}
	}
	resume()
	if o := await(a, 60*time.Second); o.timedOut || o.err != nil || string(o.v.Str) != "OK" {
		return "the 32 MiB SET: " + strconv.Quote(string(o.v.Str)) + " " + errText(o.err) + " (timed out: " + strconv.FormatBool(o.timedOut) + ")"
	}
	for i := range waiting {
		want := int64(2 + i)
		if o := await(waiting[i], 10*time.Second); o.timedOut || o.err != nil || o.v.Type != redis.TypeInt || o.v.Int != want {
			return "waiting INCR " + strconv.Itoa(i) + " got " + strconv.FormatInt(o.v.Int, 10) + " " + strconv.Quote(string(o.v.Str)) + " " +
				errText(o.err) + " (timed out: " + strconv.FormatBool(o.timedOut) + "), want " + strconv.FormatInt(want, 10)
		}
	}
	return ""
}

// CancellationsAmidConcurrentCallers runs callers goroutines on poolSize connections,
// each doing each rounds of: SET of a value distinct to (goroutine, round), an INCR of
// its own counter under a deadline of 0 to 200 µs (abandoned at every stage: before it
// is queued, while queued, after it is written), and GET of the value. Every SET and
// GET must get its own reply; an INCR either fails with its deadline or returns a
// number larger than the goroutine's previous one (a reply meant for another call
// would be "OK" or a value). It returns the first problem (or ""), how many INCRs were
// abandoned and how many were answered.
func CancellationsAmidConcurrentCallers(addr string, poolSize, callers, each int) (string, int, int) {
	base := runtime.NumGoroutine()
	c, e := connected(redis.Options{Addr: addr, PoolSize: poolSize, ReadTimeout: time.Minute}, poolSize)
	if e != "" {
		return e, 0, 0
	}
	var mu sync.Mutex
	first := ""
	abandoned, answered := 0, 0
	report := func(msg string, gaveUp, got int) {
		mu.Lock()
		if first == "" {
			first = msg
		}
		abandoned += gaveUp
		answered += got
		mu.Unlock()
	}
	parallel(callers, func(g int) {
		msg, gaveUp, got := cancellingCaller(c, g, each)
		report(msg, gaveUp, got)
	})
	if first == "" {
		first = inFlight(c, 0, 0)
	}
	if e := closeEndsGoroutines(c, base); first == "" {
		first = e
	}
	return first, abandoned, answered
}

// cancellingCaller is one goroutine of CancellationsAmidConcurrentCallers.
func cancellingCaller(c *redis.Client, g, each int) (string, int, int) {
	bg := context.Background()
	counter := "cx:n:" + strconv.Itoa(g)
	if _, err := c.Do(bg, "DEL", counter); err != nil {
		return "DEL: " + err.Error(), 0, 0
	}
	var last int64
	gaveUp, got := 0, 0
	for i := 0; i < each; i++ {
		key := "cx:" + strconv.Itoa(g) + ":" + strconv.Itoa(i%16)
		val := "v" + strconv.Itoa(g) + ":" + strconv.Itoa(i)
		if v, err := c.Do(bg, "SET", key, val); err != nil || string(v.Str) != "OK" {
			return "SET " + key + " got " + strconv.Quote(string(v.Str)) + " (" + errText(err) + ")", gaveUp, got
		}
		ctx, cancel := context.WithTimeout(bg, time.Duration(i%5)*50*time.Microsecond)
		v, err := c.Do(ctx, "INCR", counter)
		cancel()
		if err != nil {
			if err != context.DeadlineExceeded {
				return "INCR under a deadline failed with " + err.Error(), gaveUp, got
			}
			gaveUp++
		} else {
			if v.Type != redis.TypeInt || v.Int <= last {
				return "INCR " + counter + " got " + strconv.Quote(string(v.Str)) + " / " + strconv.FormatInt(v.Int, 10) +
					", after " + strconv.FormatInt(last, 10) + ": another call's reply", gaveUp, got
			}
			last = v.Int
			got++
		}
		if v, err := c.Do(bg, "GET", key); err != nil || string(v.Str) != val {
			return "GET " + key + " got " + strconv.Quote(string(v.Str)) + ", want " + strconv.Quote(val) + " (" + errText(err) + ")", gaveUp, got
		}
	}
	return "", gaveUp, got
}

// FullConnectionRefusesAtOnce connects two connections with MaxInFlight 4 to a server
// that reads and never answers (RESP2: no handshake), sends a 6-command pipeline (a
// call larger than the cap goes alone to an idle connection) and four commands (which
// all find room: the pool passes over the full connection), then expects the next
// command to fail at once with ErrInFlightLimit while the others still wait, and
// Close to fail those with ErrClosed and end every goroutine.
func FullConnectionRefusesAtOnce(sinkAddr string) string {
	base := runtime.NumGoroutine()
	c, e := connected(redis.Options{Addr: sinkAddr, Protocol: 2, PoolSize: 2, MaxInFlight: 4, ReadTimeout: time.Minute, WriteTimeout: time.Minute}, 2)
	if e != "" {
		return e
	}
	bg := context.Background()
	var pending []chan outcome
	pending = append(pending, async(func() (redis.Value, error) {
		_, err := c.Pipeline(bg, [][]any{{"GET", "a"}, {"GET", "b"}, {"GET", "c"}, {"GET", "d"}, {"GET", "e"}, {"GET", "f"}})
		return redis.Value{}, err
	}))
	if e := inFlight(c, 6, -1); e != "" {
		_ = c.Close()
		return "a pipeline longer than maxInFlight on an idle connection: " + e
	}
	for i := 0; i < 4; i++ {
		pending = append(pending, doAsync(c, bg, "GET", "k"+strconv.Itoa(i)))
		if e := inFlight(c, 7+i, -1); e != "" {
			_ = c.Close()
			return "command " + strconv.Itoa(i) + " with room on the other connection: " + e
		}
	}
	refused := await(doAsync(c, bg, "GET", "one-too-many"), 10*time.Second)
	if refused.timedOut || refused.err != redis.ErrInFlightLimit {
		_ = c.Close()
		return "a command beyond every connection's maxInFlight returned " + errText(refused.err) +
			" (timed out: " + strconv.FormatBool(refused.timedOut) + "), want ErrInFlightLimit at once"
	}
	for i := range pending {
		if len(pending[i]) != 0 {
			_ = c.Close()
			return "call " + strconv.Itoa(i) + " returned while the server has answered nothing"
		}
	}
	if s := c.Stats(); s.Refused != 1 || s.InFlight != 10 {
		_ = c.Close()
		return "stats: " + strconv.FormatUint(s.Refused, 10) + " refused, " + strconv.Itoa(s.InFlight) + " in flight; want 1 and 10"
	}
	e = closeEndsGoroutines(c, base)
	for i := range pending {
		if o := await(pending[i], 10*time.Second); o.timedOut || o.err != redis.ErrClosed {
			return "call " + strconv.Itoa(i) + " after Close: " + errText(o.err) + " (timed out: " + strconv.FormatBool(o.timedOut) + "), want ErrClosed"
		}
	}
	return e
}

// StalledServerFreesEveryCaller checks what callers see from a server that stops
// answering. On silentAddr (reads nothing), a 32 MiB SET blocks the writer: its
// caller still returns when its context is cancelled, a caller queued behind it at its
// 100 ms deadline,
// the connection stays up (WriteTimeout is a minute), and Close fails a caller
// without a deadline with ErrClosed. On sinkAddr (reads, never answers), 16
// concurrent callers without deadlines all fail with a time-out after ReadTimeout
// (500 ms). Close ends every goroutine both times.
func StalledServerFreesEveryCaller(silentAddr, sinkAddr string) string {
	base := runtime.NumGoroutine()
	c, e := connected(redis.Options{Addr: silentAddr, Protocol: 2, PoolSize: 1, ReadTimeout: time.Minute, WriteTimeout: time.Minute}, 1)
	if e != "" {
		return e
	}
	bg := context.Background()
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	big := doAsync(c, ctx, "SET", "big", bigValue())
	if e := inFlight(c, 1, 0); e != "" {
		_ = c.Close()
		return "32 MiB SET taken by the writer: " + e
	}
	cancel()
	if o := await(big, 20*time.Second); o.timedOut || o.err != context.Canceled {
		_ = c.Close()
		return "the caller of a write that blocks, cancelled: " + errText(o.err) + " (still waiting after 20 s: " +
			strconv.FormatBool(o.timedOut) + "), want context.Canceled"
	}
	if c.Live() != 1 {
		_ = c.Close()
		return "the connection failed while its write was blocked for less than WriteTimeout"
	}
	ctx2, cancel2 := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel2()
	if o := await(doAsync(c, ctx2, "PING"), 20*time.Second); o.timedOut || o.err != context.DeadlineExceeded {
		_ = c.Close()
		return "a caller queued behind a blocked write, with a 100 ms deadline: " + errText(o.err) + ", want context.DeadlineExceeded"
	}
	patient := doAsync(c, bg, "PING")
	// The blocked SET, the abandoned PING (dropped when the writer is free again) and
	// this one.
	if e := inFlight(c, 3, -1); e != "" {
		_ = c.Close()
		return "behind the blocked write: " + e
	}
	if e := closeEndsGoroutines(c, base); e != "" {
		return "silent server: " + e
	}
	if o := await(patient, 10*time.Second); o.timedOut || o.err != redis.ErrClosed {
		return "a caller without deadline behind a blocked write, after Close: " + errText(o.err) + ", want ErrClosed"
	}

	c, e = connected(redis.Options{Addr: sinkAddr, Protocol: 2, PoolSize: 2, ReadTimeout: 500 * time.Millisecond}, 2)
	if e != "" {
		return e
	}
	var calls []chan outcome
	for i := 0; i < 16; i++ {
		calls = append(calls, doAsync(c, bg, "GET", "k"+strconv.Itoa(i)))
	}
	for i := range calls {
		o := await(calls[i], 20*time.Second)
		ne, isNet := o.err.(net.Error)
		if o.timedOut || !isNet || !ne.Timeout() {
			_ = c.Close()
			return "caller " + strconv.Itoa(i) + " of a server that never answers: " + errText(o.err) +
				" (still waiting after 20 s: " + strconv.FormatBool(o.timedOut) + "), want a time-out after ReadTimeout"
		}
	}
	if e := closeEndsGoroutines(c, base); e != "" {
		return "sink server: " + e
	}
	return ""
}

// ConnectHonoursItsContext checks Connect against a server that accepts and never
// answers the handshake (HELLO): while the connector's dial waits for it (DialTimeout
// is a minute), Connect returns at its own 200 ms deadline, at once with a cancelled
// context, and with ErrClosed when Close runs; and when the connector is in backoff after a failed dial
// (hangUp: the server closes each connection), Connect's own dial ends at its
// deadline. Close returns at once and ends every goroutine in both cases. accepted
// counts the server's accepted connections; hangUp and stall switch its behaviour.
func ConnectHonoursItsContext(addr string, accepted func() int, hangUp, stall func()) string {
	base := runtime.NumGoroutine()
	stall()
	c := redis.NewClient(redis.Options{Addr: addr, PoolSize: 1, DialTimeout: time.Minute})
	if !waitUntil(10*time.Second, func() bool { return accepted() >= 1 }) {
		_ = c.Close()
		return "the connector did not dial within 10 s"
	}
	if e := connectWithin(c, 200*time.Millisecond, context.DeadlineExceeded); e != "" {
		_ = c.Close()
		return "while the connector's dial waits: " + e
	}
	if e := connectWithin(c, 0, context.Canceled); e != "" {
		_ = c.Close()
		return "with a cancelled context: " + e
	}
	patient := async(func() (redis.Value, error) {
		err := c.Connect(context.Background())
		return redis.Value{}, err
	})
	if e := closeEndsGoroutines(c, base); e != "" {
		return "during the connector's dial: " + e
	}
	if o := await(patient, 10*time.Second); o.timedOut || o.err != redis.ErrClosed {
		return "a Connect without deadline, after Close: " + errText(o.err) + " (still waiting after 10 s: " +
			strconv.FormatBool(o.timedOut) + "), want ErrClosed"
	}

	hangUp()
	c = redis.NewClient(redis.Options{Addr: addr, PoolSize: 1, DialTimeout: time.Minute, MinBackoff: time.Hour, MaxBackoff: time.Hour})
	if !waitUntil(10*time.Second, func() bool { return c.Stats().DialErrors >= 1 }) {
		_ = c.Close()
		return "the connector's dial to a server that hangs up did not fail within 10 s"
	}
	stall()
	if e := connectWithin(c, 200*time.Millisecond, context.DeadlineExceeded); e != "" {
		_ = c.Close()
		return "Connect's own dial: " + e
	}
	return closeEndsGoroutines(c, base)
}

// connectWithin calls Connect with a context of timeout d (0: already cancelled) and
// expects want within 20 s.
func connectWithin(c *redis.Client, d time.Duration, want error) string {
	ctx, cancel := context.WithCancel(context.Background())
	if d > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), d)
	} else {
		cancel()
	}
	defer cancel()
	o := await(async(func() (redis.Value, error) {
		err := c.Connect(ctx)
		return redis.Value{}, err
	}), 20*time.Second)
	if o.timedOut {
		return "Connect still waiting 20 s after its context ended"
	}
	if o.err != want {
		return "Connect returned " + errText(o.err) + ", want " + want.Error()
	}
	return ""
}
