package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

func newTestClient(t testing.TB, o Options) *Client {
	t.Helper()
	c := NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c
}

func mustDo(t testing.TB, c *Client, args ...any) Value {
	t.Helper()
	v, err := c.Do(context.Background(), args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// TestRealServerRepliesOfEveryTypeDecode asks a real Redis 7 for each reply type it
// can send, over RESP3 (HELLO 3) and over RESP2 (the same server with HELLO renamed
// away, as an old server), and checks what each protocol version sends.
func TestRealServerRepliesOfEveryTypeDecode(t *testing.T) {
	for _, resp3 := range []bool{true, false} {
		t.Run(map[bool]string{true: "RESP3", false: "RESP2-no-HELLO"}[resp3], func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{RenameHello: !resp3})
			c := newTestClient(t, Options{Addr: srv.Addr(), PoolSize: 1})
			if got := c.pool[0].c.resp3; got != resp3 {
				t.Fatalf("resp3 = %v, want %v", got, resp3)
			}
			if v := mustDo(t, c, "PING"); v.Type != TypeSimple || v.String() != "PONG" {
				t.Fatalf("PING: %+v", v)
			}
			if v := mustDo(t, c, "INCRBY", "n", 41); v.Type != TypeInt || v.Int != 41 {
				t.Fatalf("INCRBY: %+v", v)
			}
			mustDo(t, c, "SET", "k", []byte("v\r\n\x00"))
			if v := mustDo(t, c, "GET", "k"); v.Type != TypeBulk || v.String() != "v\r\n\x00" {
				t.Fatalf("GET: %+v", v)
			}
			v := mustDo(t, c, "GET", "missing")
			if !v.Null || (resp3 && v.Type != TypeNull) || (!resp3 && v.Type != TypeBulk) {
				t.Fatalf("GET missing: %+v", v)
			}
			mustDo(t, c, "RPUSH", "l", "a", "b")
			if v := mustDo(t, c, "LRANGE", "l", 0, -1); v.Type != TypeArray || len(v.Elems) != 2 || v.Elems[1].String() != "b" {
				t.Fatalf("LRANGE: %+v", v)
			}
			v = mustDo(t, c, "BLPOP", "nothing", "0.01")
			if !v.Null {
				t.Fatalf("BLPOP timeout: %+v", v)
			}
			mustDo(t, c, "ZADD", "z", "inf", "m", "1.5", "h")
			v = mustDo(t, c, "ZSCORE", "z", "m")
			if resp3 && (v.Type != TypeDouble || !math.IsInf(v.Float, 1)) || !resp3 && v.String() != "inf" {
				t.Fatalf("ZSCORE inf: %+v", v)
			}
			mustDo(t, c, "SADD", "s", "x", "y")
			v = mustDo(t, c, "SMEMBERS", "s")
			if (resp3 && v.Type != TypeSet) || (!resp3 && v.Type != TypeArray) || len(v.Elems) != 2 {
				t.Fatalf("SMEMBERS: %+v", v)
			}
			v = mustDo(t, c, "CONFIG", "GET", "maxmemory")
			if (resp3 && v.Type != TypeMap) || (!resp3 && v.Type != TypeArray) || len(v.Elems) != 2 {
				t.Fatalf("CONFIG GET: %+v", v)
			}
			if resp3 {
				lua := map[string]func(Value) bool{
					"redis.setresp(3); return true":         func(v Value) bool { return v.Type == TypeBool && v.Bool },
					"redis.setresp(3); return false":        func(v Value) bool { return v.Type == TypeBool && !v.Bool },
					"redis.setresp(3); return {double=3.5}": func(v Value) bool { return v.Type == TypeDouble && v.Float == 3.5 },
					"redis.setresp(3); return {big_number='123456789012345678901234567890'}": func(v Value) bool {
						return v.Type == TypeBigNumber && v.String() == "123456789012345678901234567890"
					},
					"redis.setresp(3); return {verbatim_string={format='txt', string='hi'}}": func(v Value) bool {
						return v.Type == TypeVerbatim && v.Format == "txt" && v.String() == "hi"
					},
					"redis.setresp(3); return {map={a=1}}":    func(v Value) bool { return v.Type == TypeMap && v.Elems[0].String() == "a" && v.Elems[1].Int == 1 },
					"redis.setresp(3); return {set={a=true}}": func(v Value) bool { return v.Type == TypeSet && v.Elems[0].String() == "a" },
					"return nil": func(v Value) bool { return v.Type == TypeNull },
				}
				for script, ok := range lua {
					if v := mustDo(t, c, "EVAL", script, 0); !ok(v) {
						t.Errorf("%s: %+v", script, v)
					}
				}
			}
			// An error reply is an Error carrying its code.
			_, err := c.Do(context.Background(), "NOSUCHCOMMAND")
			if ErrorCode(err) != "ERR" || !IsServerError(err) {
				t.Fatalf("unknown command: %v", err)
			}
			_, err = c.Do(context.Background(), "INCR", "l")
			if ErrorCode(err) != "WRONGTYPE" {
				t.Fatalf("INCR on a list: %v", err)
			}
		})
	}
}

// TestPushMessagesAreDeliveredOutOfBand subscribes on a RESP3 connection: the
// messages arrive as pushes between ordinary replies and never reach a caller.
func TestPushMessagesAreDeliveredOutOfBand(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	o := Options{Addr: srv.Addr()}
	o = o.withDefaults()
	pushes := make(chan Value, 10)
	cn, err := dialConn(context.Background(), &o, func(c *conn) { c.onPush = func(v Value) { pushes <- v } })
	if err != nil {
		t.Fatal(err)
	}
	defer cn.close()
	// In RESP3 SUBSCRIBE's confirmation is itself a push; PING still gets its reply.
	cl := newCall(1)
	if err := enqueue(cn, cl, [][]any{{"SUBSCRIBE", "ch"}, {"PING"}}); err != nil {
		t.Fatal(err)
	}
	<-cl.done
	if cl.err != nil || cl.vals[0].String() != "PONG" {
		t.Fatalf("%+v %v", cl.vals, cl.err)
	}
	srv.MustDo("PUBLISH", "ch", "hello")
	if v, err := cn.do(context.Background(), "PING"); err != nil || v.String() != "PONG" {
		t.Fatalf("PING after a push: %+v %v", v, err)
	}
	var got []string
	for len(got) < 2 {
		select {
		case v := <-pushes:
			got = append(got, v.Elems[0].String())
		case <-time.After(eventDeadline):
			t.Fatalf("pushes: %v", got)
		}
	}
	if got[0] != "subscribe" || got[1] != "message" {
		t.Fatalf("pushes: %v", got)
	}
}

func TestAuthenticationErrorsAreSurfaced(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "right-password", Users: []string{"alice on >alice-pw ~app:* +@all"}})
	ctx := context.Background()
	try := func(o Options) error {
		o.Addr = srv.Addr()
		o.PoolSize = 1
		c := NewClient(o)
		defer func() { _ = c.Close() }()
		return c.Connect(ctx)
	}
	if err := try(Options{Password: "wrong"}); ErrorCode(err) != "WRONGPASS" {
		t.Errorf("wrong password: %v", err)
	}
	if err := try(Options{}); ErrorCode(err) != "NOAUTH" {
		t.Errorf("no password: %v", err)
	}
	if err := try(Options{Password: "right-password", DB: 2}); err != nil {
		t.Errorf("right password: %v", err)
	}
	// The ACL user can reach its keys and nothing else.
	c := newTestClient(t, Options{Addr: srv.Addr(), Username: "alice", Password: "alice-pw", ClientName: "acl-test"})
	mustDo(t, c, "SET", "app:x", "1")
	if _, err := c.Do(ctx, "SET", "other", "1"); ErrorCode(err) != "NOPERM" {
		t.Errorf("ACL: %v", err)
	}
	if v := mustDo(t, c, "ACL", "WHOAMI"); v.String() != "alice" {
		t.Errorf("whoami %q", v.String())
	}
	if v := mustDo(t, c, "CLIENT", "GETNAME"); v.String() != "acl-test" {
		t.Errorf("client name %q", v.String())
	}
	// The same over RESP2 (AUTH user pass, CLIENT SETNAME).
	old := redistest.Start(t, redistest.Options{RenameHello: true, Password: "pw2", Users: []string{"bob on >bob-pw ~* +@all"}})
	c2 := newTestClient(t, Options{Addr: old.Addr(), Username: "bob", Password: "bob-pw", ClientName: "old-server", DB: 3})
	if v := mustDo(t, c2, "ACL", "WHOAMI"); v.String() != "bob" {
		t.Errorf("RESP2 whoami %q", v.String())
	}
	if v := mustDo(t, c2, "CLIENT", "GETNAME"); v.String() != "old-server" {
		t.Errorf("RESP2 client name %q", v.String())
	}
	mustDo(t, c2, "SET", "indb3", "1")
	if v, _ := old.MustDo("SELECT", "3").(string); v != "OK" {
		t.Fatal(v)
	}
	if n := old.MustDo("DBSIZE"); n != int64(0) {
		t.Errorf("admin DB 0 has %v keys; the client should have written to DB 3", n)
	}
}

func TestMovedIsAnErrorNotFollowed(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newTestClient(t, Options{Addr: srv.Addr()})
	// A standalone server never redirects, so the reply is produced by the server
	// from a script: the exact wire form a cluster node sends.
	_, err := c.Do(context.Background(), "EVAL", "return redis.error_reply('MOVED 3999 127.0.0.1:6381')", 0)
	if ErrorCode(err) != "MOVED" || !strings.Contains(err.Error(), "3999 127.0.0.1:6381") {
		t.Fatalf("MOVED: %v", err)
	}
	// The connection is still usable.
	mustDo(t, c, "PING")
}

func TestTLSWithTestCAAndClientCertificate(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{TLS: true, TLSClientAuth: true, Password: "tls-pw"})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	cert, err := tls.X509KeyPair(srv.ClientCertPEM, srv.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ParseURL(srv.URL())
	if err != nil || !u.TLS {
		t.Fatalf("%v %+v", err, u)
	}
	cfg := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: srv.ServerName, MinVersion: tls.VersionTLS12}
	c := newTestClient(t, Options{Addr: u.Addr, Password: u.Password, TLS: cfg})
	mustDo(t, c, "SET", "tls", "yes")
	if v := mustDo(t, c, "GET", "tls"); v.String() != "yes" {
		t.Fatal(v)
	}
	// Without the client certificate the server refuses; with an unknown CA we do.
	for name, bad := range map[string]*tls.Config{
		"no client certificate": {RootCAs: pool, ServerName: srv.ServerName},
		"untrusted server":      {ServerName: srv.ServerName, Certificates: []tls.Certificate{cert}},
		"wrong server name":     {RootCAs: pool, ServerName: "other.test", Certificates: []tls.Certificate{cert}},
	} {
		c := NewClient(Options{Addr: u.Addr, Password: u.Password, TLS: bad, PoolSize: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := c.Connect(ctx)
		cancel()
		_ = c.Close()
		if err == nil {
			t.Errorf("%s: connected", name)
		}
	}
}

// TestConcurrentCallersGetTheirOwnReplies: 64 goroutines × 10 000 SET and GET of
// distinct values over shared multiplexed connections; every reply must belong to its
// request.
func TestConcurrentCallersGetTheirOwnReplies(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	// A generous read timeout: this test is about matching, and the machine may be
	// loaded (-race, other packages' tests).
	c := newTestClient(t, Options{Addr: srv.Addr(), PoolSize: 4, ReadTimeout: 30 * time.Second})
	const callers, each = 64, 10000
	n := each
	if testing.Short() {
		n = 500
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for g := 0; g < callers; g++ {
		g := g
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := 0; i < n; i++ {
				key := "k" + strconv.Itoa(g) + ":" + strconv.Itoa(i%100)
				val := "v" + strconv.Itoa(g) + ":" + strconv.Itoa(i)
				if v, err := c.Do(ctx, "SET", key, val); err != nil || v.String() != "OK" {
					errs <- fmt.Errorf("SET %s: %+v %v", key, v, err)
					return
				}
				v, err := c.Do(ctx, "GET", key)
				if err != nil || v.String() != val {
					errs <- fmt.Errorf("GET %s: got %q want %q (%v)", key, v.String(), val, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPipelineSendsManyCommandsInOneRoundTrip(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newTestClient(t, Options{Addr: srv.Addr(), PoolSize: 1})
	var cmds [][]any
	for i := 0; i < 100; i++ {
		cmds = append(cmds, []any{"SET", "p" + strconv.Itoa(i), i})
	}
	cmds = append(cmds, []any{"INCR", "p1"}, []any{"LPUSH", "p2", "x"}, []any{"MGET", "p0", "p99", "none"})
	vals, err := c.Pipeline(context.Background(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 103 || vals[100].Int != 2 || ErrorCode(ReplyError(vals[101])) != "WRONGTYPE" {
		t.Fatalf("%d replies: %+v %+v", len(vals), vals[100], vals[101])
	}
	if m := vals[102]; len(m.Elems) != 3 || m.Elems[1].String() != "99" || !m.Elems[2].Null {
		t.Fatalf("MGET: %+v", m)
	}
}

func TestOversizedReplyClosesTheConnectionAndTheClientRecovers(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newTestClient(t, Options{Addr: srv.Addr(), PoolSize: 1, MaxReplyBytes: 4096, MinBackoff: time.Millisecond})
	mustDo(t, c, "SET", "big", strings.Repeat("x", 10000))
	if _, err := c.Do(context.Background(), "GET", "big"); err != ErrReplyTooLarge {
		t.Fatalf("err %v, want ErrReplyTooLarge", err)
	}
	waitFor(t, func() bool { _, err := c.Do(context.Background(), "PING"); return err == nil })
	if s := c.Stats(); s.Dials != 2 {
		t.Fatalf("the connection was not replaced: %+v", s)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPausedServerTimesOutAndContextDeadlinesAreHonoured: with the server stopped
// (SIGSTOP), a call returns at its context deadline when that is earlier, else after
// ReadTimeout; the connection is then replaced.
func TestPausedServerTimesOutAndContextDeadlinesAreHonoured(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newTestClient(t, Options{Addr: srv.Addr(), PoolSize: 1, ReadTimeout: 1500 * time.Millisecond, DialTimeout: 300 * time.Millisecond})
	srv.Pause()
	defer srv.Resume()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	start := time.Now()
	_, err := c.Do(ctx, "GET", "x")
	cancel()
	if err != context.DeadlineExceeded {
		t.Fatalf("err %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("context deadline of 50 ms honoured after %v", d)
	}
	start = time.Now()
	_, err = c.Do(context.Background(), "GET", "x")
	if err == nil || IsServerError(err) {
		t.Fatalf("err %v, want a timeout", err)
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Fatalf("read timeout of 1.5 s took %v", d)
	}
	srv.Resume()
	waitFor(t, func() bool { _, err := c.Do(context.Background(), "PING"); return err == nil })
}

// TestStalledServerIsFoundOutUnderSteadyTraffic: requests that keep arriving while
// the server answers nothing (each giving up at its own 300 ms deadline) do not keep
// the connection alive: it fails within about ReadTimeout of the first unanswered
// request (Live drops to 0), as Options.ReadTimeout promises.
func TestStalledServerIsFoundOutUnderSteadyTraffic(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newTestClient(t, Options{Addr: srv.Addr(), PoolSize: 1, ReadTimeout: time.Second, DialTimeout: 300 * time.Millisecond,
		MinBackoff: time.Hour, MaxBackoff: time.Hour})
	mustDo(t, c, "PING")
	srv.Pause()
	defer srv.Resume()
	start := time.Now()
	for c.Live() > 0 {
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("the connection to a stopped server is still up after %v of steady requests", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, _ = c.Do(ctx, "PING")
		cancel()
	}
	t.Logf("stalled connection dropped after %v", time.Since(start).Round(time.Millisecond))
}

func TestClientReconnectsAfterKillAndRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newTestClient(t, Options{Addr: srv.Addr(), PoolSize: 2, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	mustDo(t, c, "SET", "a", "1")
	srv.Kill()
	waitFor(t, func() bool { _, err := c.Do(context.Background(), "PING"); return err != nil })
	if _, err := c.Do(context.Background(), "PING"); err != ErrNotConnected {
		t.Fatalf("while down: %v, want ErrNotConnected", err)
	}
	srv.Restart()
	waitFor(t, func() bool { return c.Live() == 2 })
	mustDo(t, c, "PING")
	if s := c.Stats(); s.DialErrors == 0 || s.Dials < 4 {
		t.Fatalf("stats %+v", s)
	}
	// CLIENT KILL drops the connections; the client replaces them.
	srv.ClientKill("SKIPME", "yes")
	waitFor(t, func() bool { _, err := c.Do(context.Background(), "PING"); return err == nil && c.Live() == 2 })
}

func TestCloseFailsPendingCallsAndStopsReconnecting(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := newTestClient(t, Options{Addr: srv.Addr(), PoolSize: 2})
	srv.Pause()
	defer srv.Resume()
	done := make(chan error, 1)
	go func() { _, err := c.Do(context.Background(), "GET", "x"); done <- err }()
	time.Sleep(20 * time.Millisecond)
	_ = c.Close()
	select {
	case err := <-done:
		if err != ErrClosed {
			t.Fatalf("pending call: %v, want ErrClosed", err)
		}
	case <-time.After(eventDeadline):
		t.Fatal("pending call not failed by Close")
	}
	if _, err := c.Do(context.Background(), "PING"); err != ErrClosed {
		t.Fatalf("after Close: %v", err)
	}
}

func TestTrackingDeliversInvalidationsAndFlushes(t *testing.T) {
	for _, proto := range []int{3, 2} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{RenameHello: proto == 2})
			c := newTestClient(t, Options{Addr: srv.Addr()})
			type inv struct {
				keys  []string
				flush bool
			}
			got := make(chan inv, 100)
			lost := make(chan error, 1)
			tr, err := c.Track(context.Background(), []string{"app:rev:", "app:tok:"}, TrackingHandler{
				Invalidate: func(keys [][]byte, flush bool) {
					var ks []string
					for _, k := range keys {
						ks = append(ks, string(k))
					}
					got <- inv{ks, flush}
				},
				Lost: func(err error) { lost <- err },
			})
			if err != nil {
				t.Fatal(err)
			}
			if tr.RESP3() != (proto == 3) {
				t.Fatalf("RESP3 = %v", tr.RESP3())
			}
			next := func() inv {
				select {
				case i := <-got:
					return i
				case <-time.After(eventDeadline):
					t.Fatal("no invalidation")
				}
				return inv{}
			}
			srv.MustDo("SET", "other:x", "1") // not tracked
			srv.MustDo("SET", "app:rev:1", "1")
			if i := next(); i.flush || len(i.keys) != 1 || i.keys[0] != "app:rev:1" {
				t.Fatalf("%+v", i)
			}
			srv.MustDo("DEL", "app:tok:9")
			srv.MustDo("SET", "app:tok:9", "1")
			if i := next(); i.keys[0] != "app:tok:9" {
				t.Fatalf("%+v", i)
			}
			srv.FlushAll()
			if i := next(); !i.flush {
				t.Fatalf("FLUSHALL gave %+v", i)
			}
			if err := tr.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			srv.ClientKill("SKIPME", "yes")
			select {
			case <-lost:
			case <-time.After(eventDeadline):
				t.Fatal("Lost not called after CLIENT KILL")
			}
			if tr.Alive() {
				t.Fatal("still alive")
			}
		})
	}
}

func TestReconnectBackoffDoublesUpToTheCapWithJitter(t *testing.T) {
	o := Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	o = o.withDefaults()
	for n, full := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 40 * time.Millisecond, 5: 160 * time.Millisecond, 6: 200 * time.Millisecond, 50: 200 * time.Millisecond} {
		seen := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			d := backoff(&o, n)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("attempt %d: no jitter (%d distinct delays)", n, len(seen))
		}
	}
}
