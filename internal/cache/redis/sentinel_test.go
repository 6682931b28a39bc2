package redis

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// failoverWriter writes a counter to one key every few milliseconds through b, each
// write bounded by 300 ms, and records, from the moment the test makes the primary
// fail, the longest time without a successful write (the figure docs/REDIS-HA.md quotes:
// from the primary's failure to the first successful write) and how many writes
// failed meanwhile.
type failoverWriter struct {
	b      Backend
	key    string
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	failAt time.Time // when the failure was caused (set by the test)
	lastOK time.Time // last success (failAt at first)
	maxGap time.Duration
	first  time.Time // first success after failAt
	oks    int       // successful writes after failAt
	fails  int       // failed writes after failAt
	errs   []string
}

func startWriter(b Backend, key string) *failoverWriter {
	w := &failoverWriter{b: b, key: key, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			_, err := w.b.Do(ctx, "SET", w.key, i)
			cancel()
			now := time.Now()
			w.mu.Lock()
			if !w.failAt.IsZero() {
				if err != nil {
					w.fails++
					if len(w.errs) < 3 {
						w.errs = append(w.errs, err.Error())
					}
				} else {
					if w.oks == 0 {
						w.first = now
					}
					w.oks++
					if gap := now.Sub(w.lastOK); gap > w.maxGap {
						w.maxGap = gap
					}
					w.lastOK = now
				}
			}
			w.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return w
}

// failed marks the moment the primary was made to fail.
func (w *failoverWriter) failed() {
	w.mu.Lock()
	w.failAt = time.Now()
	w.lastOK = w.failAt
	w.maxGap = 0
	w.first = time.Time{}
	w.oks = 0
	w.fails = 0
	w.errs = nil
	w.mu.Unlock()
}

// report waits for a successful write after now and returns the longest time
// without a successful write since failed, the first successful write after it, and
// the writes that failed meanwhile.
func (w *failoverWriter) report(t *testing.T, within time.Duration) (time.Duration, time.Time, int, []string) {
	t.Helper()
	after := time.Now()
	deadline := after.Add(within)
	for {
		w.mu.Lock()
		last, gap, first, fails, errs := w.lastOK, w.maxGap, w.first, w.fails, w.errs
		w.mu.Unlock()
		if last.After(after) {
			return gap, first, fails, errs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful write within %v; %d failed: %v", within, fails, errs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// whenTrue polls cond every 5 ms and returns when it first held.
func whenTrue(t *testing.T, within time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	waitUntil(t, within, what, cond)
	return time.Now()
}

func (w *failoverWriter) close() {
	close(w.stop)
	<-w.done
}

func sentinelClient(t *testing.T, set *redistest.SentinelSet, so SentinelOptions) *Client {
	t.Helper()
	if so.MasterName == "" {
		so.MasterName = set.MasterName
	}
	if so.Addrs == nil {
		so.Addrs = set.SentinelAddrs()
	}
	if so.Password == "" {
		so.Password = "sentinel-secret"
	}
	c, err := NewSentinelClient(Options{Password: "data-secret", PoolSize: 2, ClientName: "gh-sentinel-test",
		DialTimeout: time.Second, ReadTimeout: time.Second, MaxBackoff: 200 * time.Millisecond}, so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func connect(t *testing.T, b Backend) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
}

// waitUntil waits until cond holds, failing the test after within — or after
// eventDeadline when that is longer: a deadline that only a failing test reaches
// costs nothing, so none is shorter than a loaded machine may need.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if within < eventDeadline {
		within = eventDeadline
	}
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSentinelClientResolvesThePrimaryWithItsOwnCredentials: the sentinels and the
// data nodes have different passwords; a dead sentinel listed first only costs its
// short timeout; the list grows with the sentinels SENTINEL SENTINELS names.
func TestSentinelClientResolvesThePrimaryWithItsOwnCredentials(t *testing.T) {
	set := redistest.StartSentinel(t, redistest.SentinelOptions{Password: "data-secret", SentinelPassword: "sentinel-secret"})
	dead := "127.0.0.1:1" // nothing listens on port 1: refused at once
	c := sentinelClient(t, set, SentinelOptions{Addrs: []string{dead, set.SentinelAddrs()[0]}, RefreshInterval: 100 * time.Millisecond})
	connect(t, c)
	if v, err := c.Do(context.Background(), "SET", "k", "v"); err != nil || v.String() != "OK" {
		t.Fatalf("SET through the resolved primary: %v %v", v, err)
	}
	primary := set.Primary()
	if got := primary.MustDo("GET", "k"); got != "v" {
		t.Fatalf("the write did not reach the primary %s: %v", primary.Addr(), got)
	}
	waitUntil(t, 5*time.Second, "the sentinel list refreshed from SENTINEL SENTINELS", func() bool {
		return len(c.SentinelStats().Sentinels) == 4
	})
	st := c.SentinelStats()
	if st.Master != primary.Addr() || st.Resolves == 0 {
		t.Fatalf("stats %+v, primary %s", st, primary.Addr())
	}
	if st.Sentinels[0] == dead {
		t.Fatalf("the dead sentinel stays first: %v", st.Sentinels)
	}

	// A sentinel that accepts connections but never answers costs its QueryTimeout,
	// not the dial timeout.
	silent := silentListener(t)
	slow, err := NewSentinelClient(Options{Password: "data-secret", DialTimeout: 5 * time.Second},
		SentinelOptions{MasterName: set.MasterName, Addrs: []string{silent, set.SentinelAddrs()[1]},
			Password: "sentinel-secret", QueryTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = slow.Close() }()
	start := time.Now()
	connect(t, slow)
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Fatalf("a silent sentinel delayed the connection by %v (QueryTimeout 200 ms)", d)
	}

	// The sentinels' password is not the data nodes', and the other way round.
	wrong := sentinelClient(t, set, SentinelOptions{Password: "data-secret"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err = wrong.Connect(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "sentinel") {
		t.Fatalf("wrong sentinel password: %v", err)
	}
	so := SentinelOptions{MasterName: set.MasterName, Addrs: set.SentinelAddrs(), Password: "sentinel-secret"}
	bad, err := NewSentinelClient(Options{Password: "sentinel-secret", MaxBackoff: 100 * time.Millisecond}, so)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bad.Close() }()
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second)
	err = bad.Connect(ctx)
	cancel()
	if ErrorCode(err) != "WRONGPASS" {
		t.Fatalf("wrong data password: %v", err)
	}
	if _, err := NewSentinelClient(Options{}, SentinelOptions{Addrs: []string{"h:1"}}); err == nil {
		t.Fatal("no master name accepted")
	}
	if _, err := NewSentinelClient(Options{}, SentinelOptions{MasterName: "m", Addrs: []string{"nohostport"}}); err == nil {
		t.Fatal("a sentinel address without port accepted")
	}
}

// TestConnectionToAReplicaIsRefusedWhenAPrimaryIsRequired: ROLE is checked after
// the handshake of every connection a Sentinel client opens.
func TestConnectionToAReplicaIsRefusedWhenAPrimaryIsRequired(t *testing.T) {
	primary := redistest.Start(t, redistest.Options{})
	replica := redistest.Start(t, redistest.Options{Args: []string{"--replicaof", primary.Host, strconv.Itoa(primary.Port)}})
	c := NewClient(Options{Addr: replica.Addr(), primaryOnly: true, MaxBackoff: 100 * time.Millisecond})
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := c.Connect(ctx)
	if err == nil || !strings.Contains(err.Error(), `got "slave"`) {
		t.Fatalf("connection to a replica: %v", err)
	}
	p := NewClient(Options{Addr: primary.Addr(), primaryOnly: true})
	defer func() { _ = p.Close() }()
	if err := p.Connect(ctx); err != nil {
		t.Fatalf("connection to the primary: %v", err)
	}
}

// TestSentinelClientFollowsFailovers: a SENTINEL FAILOVER, then the new primary
// killed. Each time the client follows +switch-master (or the dropped connections),
// reconnects to the new primary only (ROLE checked), loses and re-opens its tracking
// subscription there, and writes succeed again. The time from the failure to the
// first successful write is logged.
func TestSentinelClientFollowsFailovers(t *testing.T) {
	redistest.Slow(t, "Sentinel failovers (the Yaegi host runs one in make test)")
	set := redistest.StartSentinel(t, redistest.SentinelOptions{Password: "data-secret", SentinelPassword: "sentinel-secret"})
	c := sentinelClient(t, set, SentinelOptions{})
	connect(t, c)
	lost := make(chan error, 4)
	invalidated := make(chan string, 16)
	track := func() *Tracking {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		tr, err := c.Track(ctx, []string{"t:"}, TrackingHandler{
			Invalidate: func(keys [][]byte, flush bool) {
				for _, k := range keys {
					invalidated <- string(k)
				}
			},
			Lost: func(err error) { lost <- err },
		})
		if err != nil {
			t.Fatalf("track: %v", err)
		}
		return tr
	}
	tr := track()
	w := startWriter(c, "failover:counter")
	defer w.close()

	for _, how := range []string{"SENTINEL FAILOVER", "primary killed"} {
		old := set.Primary()
		switches := c.SentinelStats().Switches
		w.failed()
		failAt := time.Now()
		if how == "SENTINEL FAILOVER" {
			set.Failover()
		} else {
			old.Kill()
		}
		named := whenTrue(t, set.FailoverDeadline(), "the sentinels naming a new primary", func() bool {
			addr, err := set.MasterAddr()
			return err == nil && addr != old.Addr()
		})
		select {
		case <-lost:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: tracking subscription not reported lost", how)
		}
		tr.Close()
		primary := set.WaitNewPrimary(old, set.FailoverDeadline())
		waitUntil(t, 30*time.Second, "the +switch-master announcement followed", func() bool {
			return c.SentinelStats().Switches > switches && c.SentinelStats().Master == primary.Addr()
		})
		// Every pooled connection is on the new primary.
		waitUntil(t, 30*time.Second, "the pool on the new primary", func() bool {
			n := 0
			for _, cl := range primary.Clients() {
				if cl["name"] == "gh-sentinel-test" {
					n++
				}
			}
			return n >= 2
		})
		if _, err := c.Do(context.Background(), "SET", "after", how); err != nil {
			t.Fatalf("%s: write after the failover: %v", how, err)
		}
		if got := primary.MustDo("GET", "after"); got != how {
			t.Fatalf("%s: the write went elsewhere: %v", how, got)
		}
		gap, first, fails, errs := w.report(t, 5*time.Second)
		t.Logf("FIGURE sentinel client, %s: longest time without a successful write %v; the sentinels named the new primary %v after the failure; %d writes failed meanwhile (first errors: %v)",
			how, gap.Round(time.Millisecond), named.Sub(failAt).Round(time.Millisecond), fails, errs)
		if how == "primary killed" {
			t.Logf("FIGURE sentinel client, primary killed: first successful write %v after the failure, %v after the sentinels named the new primary",
				first.Sub(failAt).Round(time.Millisecond), first.Sub(named).Round(time.Millisecond))
		}
		tr = track()
		primary.MustDo("SET", "t:"+how, "1")
		select {
		case k := <-invalidated:
			if k != "t:"+how {
				t.Fatalf("invalidation of %q", k)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no invalidation from the new primary", how)
		}
		set.WaitReady(set.FailoverDeadline())
	}
	tr.Close()
}

// eventDeadline is how long the tests wait for an event (a push, an invalidation, a
// callback) before failing.
const eventDeadline = 30 * time.Second

// silentListener accepts TCP connections and never writes to them: a hung server.
func silentListener(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}
