package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/wakeup"
)

// SentinelOptions locate a primary that Redis Sentinel manages.
type SentinelOptions struct {
	// MasterName is the name the sentinels monitor the primary under ("mymaster").
	MasterName string
	// Addrs are host:port addresses of sentinels. Sentinels learnt later from
	// SENTINEL SENTINELS are added to them.
	Addrs []string
	// Username and Password authenticate to the sentinels (their requirepass or ACL
	// user), separately from the data nodes' Options.Username and Password.
	Username string
	Password string
	// TLS, when not nil, wraps connections to the sentinels in TLS. A nil ServerName
	// is replaced by each sentinel's host.
	TLS *tls.Config
	// QueryTimeout bounds each sentinel's connection and answer (default 500 ms), so
	// that a dead sentinel delays a resolution by at most that much.
	QueryTimeout time.Duration
	// RefreshInterval is how often the watcher refreshes the sentinel list and checks
	// the primary's address, besides following +switch-master (default 10 s).
	RefreshInterval time.Duration
}

// maxSentinels bounds the sentinel list (configured plus discovered).
const maxSentinels = 32

// sentinel is a Client's Dialer in Sentinel mode: every dial asks the sentinels for
// the primary's address (SENTINEL GET-MASTER-ADDR-BY-NAME), trying them in turn with
// a short timeout, and the connection's handshake then checks ROLE. A watcher
// goroutine keeps a subscription to +switch-master on one sentinel and, when the
// primary changes, drops the connections to the old one.
type sentinel struct {
	name    string
	so      SentinelOptions
	dataTLS *tls.Config
	// The client's: drop closes its connections to anything but keep; ctx ends with
	// it; wg counts the watcher. (No *Client field: Yaegi mixes up the types of
	// structs that point at each other.)
	drop       func(keep string)
	ctx        context.Context
	wg         *sync.WaitGroup
	minBackoff time.Duration
	maxBackoff time.Duration
	// wake wakes the watcher goroutine from a sleep: a failure of the watched
	// connection (no select: see internal/wakeup).
	wake *wakeup.Waker

	mu     sync.Mutex
	addrs  []string // known sentinels, the one that answered last first
	master string   // the primary's address as last resolved or announced
	// retired are the primaries +switch-master replaced, with when: for a while a
	// sentinel that has not yet learnt of the switch may still name one, and it may
	// still answer ROLE master until the sentinels demote it (writes it takes then
	// are lost), so resolutions naming one are passed over.
	retired map[string]time.Time
	// switchGen counts switches: a dial that resolved before a switch is dropped.
	switchGen atomic.Uint64

	resolves      atomic.Uint64
	resolveErrors atomic.Uint64
	switches      atomic.Uint64
	lastErr       atomic.Value // string
}

// SentinelStats describe a Sentinel client's discovery.
type SentinelStats struct {
	Master        string   // the primary's address as last resolved or announced
	Sentinels     []string // known sentinels, the one that answered last first
	Resolves      uint64   // successful resolutions of the primary
	ResolveErrors uint64   // resolutions no sentinel could answer
	Switches      uint64   // +switch-master announcements (or address changes) followed
	LastError     string
}

// ErrNoSentinel is returned when no sentinel could be asked: none answered, or none
// knows the master name.
var ErrNoSentinel = errors.New("redis: sentinel: no sentinel answered with the primary's address")

// NewSentinelClient returns a client whose connections go to the primary that the
// sentinels in so name, re-resolved on every reconnection; opts apply to the data
// node connections (Addr and Dialer are ignored; TLS, when set, applies to the
// primary, with ServerName defaulting to its host). Like NewClient it does not wait
// for the network.
func NewSentinelClient(opts Options, so SentinelOptions) (*Client, error) {
	if so.MasterName == "" || strings.ContainsAny(so.MasterName, " \r\n") {
		return nil, errors.New("redis: sentinel: expected a master name without spaces, got " + strconv.Quote(so.MasterName))
	}
	if len(so.Addrs) == 0 {
		return nil, errors.New("redis: sentinel: expected at least one sentinel address, got none")
	}
	for _, a := range so.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, errors.New("redis: sentinel: expected host:port, got " + strconv.Quote(a))
		}
	}
	if so.QueryTimeout <= 0 {
		so.QueryTimeout = 500 * time.Millisecond
	}
	if so.RefreshInterval <= 0 {
		so.RefreshInterval = 10 * time.Second
	}
	s := &sentinel{name: so.MasterName, so: so, dataTLS: opts.TLS, retired: map[string]time.Time{}, wake: wakeup.New()}
	s.addrs = append(s.addrs, so.Addrs...)
	s.lastErr.Store("")
	opts.Dialer = s
	opts.primaryOnly = true
	c := newClient(opts, func(c *Client) {
		s.drop = func(keep string) { dropConns(c, keep, errPrimaryMoved) }
		s.ctx = c.ctx
		s.wg = &c.wg
		s.minBackoff = c.opts.MinBackoff
		s.maxBackoff = c.opts.MaxBackoff
		c.sentinel = s
		c.wg.Add(1)
		go watchSentinels(s)
	})
	return c, nil
}

// SentinelStats returns the client's discovery counters (zero for a client that does
// not use Sentinel).
func (c *Client) SentinelStats() SentinelStats {
	s := c.sentinel
	if s == nil {
		return SentinelStats{}
	}
	s.mu.Lock()
	st := SentinelStats{Master: s.master, Sentinels: append([]string(nil), s.addrs...)}
	s.mu.Unlock()
	st.Resolves = s.resolves.Load()
	st.ResolveErrors = s.resolveErrors.Load()
	st.Switches = s.switches.Load()
	st.LastError, _ = s.lastErr.Load().(string)
	return st
}

// DialContext resolves the primary and connects to it (with TLS when the client has
// it). The client's handshake then checks ROLE.
func (s *sentinel) DialContext(ctx context.Context) (net.Conn, error) {
	gen := s.switchGen.Load()
	addr, err := resolvePrimary(s, ctx)
	if err != nil {
		return nil, err
	}
	d := AddrDialer{Addr: addr, TLS: tlsFor(s.dataTLS, addr)}
	nc, err := d.DialContext(ctx)
	if err != nil {
		return nil, err
	}
	if s.switchGen.Load() != gen {
		// The primary changed while this connection was being made: dropConns did
		// not see it, and it may reach the old primary.
		_ = nc.Close()
		return nil, errPrimaryMoved
	}
	return nc, nil
}

// retiredFor is how long a primary replaced by +switch-master is passed over when a
// sentinel still names it.
const retiredFor = 10 * time.Second

// tlsFor returns cfg with ServerName set to addr's host when it has none (nil
// without TLS).
func tlsFor(cfg *tls.Config, addr string) *tls.Config {
	if cfg == nil || cfg.ServerName != "" {
		return cfg
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return cfg
	}
	out := cfg.Clone()
	out.ServerName = host
	return out
}

// sentinelOptions are the options of a connection to the sentinel at addr: its own
// credentials, RESP2 (pub/sub messages then arrive as arrays, and a SUBSCRIBE's
// confirmation as its reply), QueryTimeout for everything.
func sentinelOptions(s *sentinel, addr string) Options {
	o := Options{
		Username: s.so.Username, Password: s.so.Password, Protocol: 2, PoolSize: 1,
		DialTimeout: s.so.QueryTimeout, ReadTimeout: s.so.QueryTimeout, WriteTimeout: s.so.QueryTimeout,
		MaxReplyBytes: 1 << 20,
	}
	o.Dialer = &AddrDialer{Addr: addr, TLS: tlsFor(s.so.TLS, addr)}
	return o.withDefaults()
}

// sentinelList returns the known sentinels, the last one that answered first.
func sentinelList(s *sentinel) []string {
	s.mu.Lock()
	out := append([]string(nil), s.addrs...)
	s.mu.Unlock()
	return out
}

// resolvePrimary asks the sentinels in turn for the primary's address; the first
// that knows it moves to the front of the list. Each is given QueryTimeout.
func resolvePrimary(s *sentinel, ctx context.Context) (string, error) {
	last := ""
	for _, addr := range sentinelList(s) {
		if ctx.Err() != nil {
			break
		}
		primary, err := askSentinel(s, ctx, addr)
		if err != nil {
			last = addr + ": " + err.Error()
			continue
		}
		s.mu.Lock()
		if at, ok := s.retired[primary]; ok && time.Since(at) < retiredFor {
			s.mu.Unlock()
			last = addr + ": names " + primary + ", which +switch-master replaced (the sentinel has not caught up)"
			continue
		}
		for i, a := range s.addrs {
			if a == addr && i > 0 {
				copy(s.addrs[1:i+1], s.addrs[:i])
				s.addrs[0] = addr
				break
			}
		}
		if s.master != primary {
			s.master = primary
		}
		s.mu.Unlock()
		s.resolves.Add(1)
		return primary, nil
	}
	s.resolveErrors.Add(1)
	msg := ErrNoSentinel.Error() + " for " + strconv.Quote(s.name)
	if last != "" {
		msg += "; last: " + last
	}
	s.lastErr.Store(msg)
	return "", sentinelError(msg)
}

// sentinelError is a resolution failure; its text names the master and the last
// sentinel's error.
type sentinelError string

func (e sentinelError) Error() string { return string(e) }

// askSentinel runs SENTINEL GET-MASTER-ADDR-BY-NAME on one sentinel.
func askSentinel(s *sentinel, ctx context.Context, addr string) (string, error) {
	o := sentinelOptions(s, addr)
	cn, err := dialConn(ctx, &o, nil)
	if err != nil {
		return "", err
	}
	defer func() { cn.close() }()
	qctx, cancel := context.WithTimeout(ctx, s.so.QueryTimeout)
	defer cancel()
	v, err := cn.do(qctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.name)
	if err != nil {
		return "", err
	}
	return parseMasterAddr(v)
}

// parseMasterAddr reads SENTINEL GET-MASTER-ADDR-BY-NAME's answer: [ip, port], or
// null when the sentinel does not monitor that name.
func parseMasterAddr(v Value) (string, error) {
	if v.Null {
		return "", errors.New("redis: sentinel: expected the primary's address, got null (unknown master name)")
	}
	if (v.Type != TypeArray && v.Type != TypeSet) || len(v.Elems) != 2 {
		return "", errors.New("redis: sentinel: expected [ip, port], got a reply of type " + strconv.Quote(string([]byte{v.Type})))
	}
	return hostPort(string(v.Elems[0].Str), v.Elems[1], "")
}

// hostPort checks and joins a host and a port (an integer or its text); an empty
// host becomes fallback.
func hostPort(host string, port Value, fallback string) (string, error) {
	if host == "" {
		host = fallback
	}
	p, ok := intOf(port)
	if !ok || p < 1 || p > 65535 {
		return "", errors.New("redis: expected a port from 1 to 65535, got " + strconv.Quote(string(port.Str)))
	}
	if host == "" || host == "?" || !validHost(host) {
		return "", errors.New("redis: expected a host name or IP address, got " + strconv.Quote(host))
	}
	return net.JoinHostPort(host, strconv.FormatInt(p, 10)), nil
}

// intOf reads an integer reply or the decimal text of a string reply.
func intOf(v Value) (int64, bool) {
	if v.Type == TypeInt {
		return v.Int, true
	}
	if v.Type != TypeBulk && v.Type != TypeSimple {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v.Str), 10, 64)
	return n, err == nil
}

// field returns the value under name in a RESP3 map or a RESP2 flat array of
// alternating names and values.
func field(v Value, name string) (Value, bool) {
	if v.Type != TypeMap && v.Type != TypeArray {
		return Value{}, false
	}
	for i := 0; i+1 < len(v.Elems); i += 2 {
		if string(v.Elems[i].Str) == name {
			return v.Elems[i+1], true
		}
	}
	return Value{}, false
}

// parseSentinels reads SENTINEL SENTINELS's answer: one entry (map or flat array)
// per other sentinel, with its ip and port.
func parseSentinels(v Value) ([]string, error) {
	if v.Type != TypeArray && v.Type != TypeSet {
		return nil, errors.New("redis: sentinel: expected a list of sentinels, got a reply of type " + strconv.Quote(string([]byte{v.Type})))
	}
	var out []string
	for _, e := range v.Elems {
		ip, ok := field(e, "ip")
		if !ok {
			continue
		}
		port, ok := field(e, "port")
		if !ok {
			continue
		}
		if a, err := hostPort(string(ip.Str), port, ""); err == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// addSentinels merges discovered sentinels into the list (bounded).
func addSentinels(s *sentinel, found []string) {
	s.mu.Lock()
	for _, a := range found {
		known := false
		for _, b := range s.addrs {
			if a == b {
				known = true
				break
			}
		}
		if !known && len(s.addrs) < maxSentinels {
			s.addrs = append(s.addrs, a)
		}
	}
	s.mu.Unlock()
}

// parseSwitchMaster reads a +switch-master message's payload,
// "<master name> <old ip> <old port> <new ip> <new port>", and returns the new
// address when it concerns name.
func parseSwitchMaster(payload, name string) (string, bool) {
	f := strings.Fields(payload)
	if len(f) != 5 || f[0] != name {
		return "", false
	}
	port, err := strconv.Atoi(f[4])
	if err != nil || port < 1 || port > 65535 || !validHost(f[3]) {
		return "", false
	}
	return net.JoinHostPort(f[3], f[4]), true
}

// onSentinelMessage handles a pub/sub message from the watched sentinel (on that
// connection's reader goroutine).
func onSentinelMessage(s *sentinel, v Value) {
	if len(v.Elems) < 3 || string(v.Elems[1].Str) != "+switch-master" {
		return
	}
	addr, ok := parseSwitchMaster(string(v.Elems[2].Str), s.name)
	if ok {
		primaryMoved(s, addr)
	}
}

// primaryMoved follows a change of primary: connections to any other server are
// closed (the tracking subscription among them, which reports Lost) and the pool
// reconnects at once, resolving the new primary.
func primaryMoved(s *sentinel, addr string) {
	s.mu.Lock()
	if s.master != "" && s.master != addr {
		s.retired[s.master] = time.Now()
	}
	delete(s.retired, addr)
	for a, at := range s.retired {
		if time.Since(at) >= retiredFor {
			delete(s.retired, a)
		}
	}
	s.master = addr
	s.mu.Unlock()
	s.switchGen.Add(1)
	s.switches.Add(1)
	s.drop(addr)
}

// errPrimaryMoved fails the connections to a primary the sentinels replaced.
var errPrimaryMoved = errors.New("redis: sentinel: the primary changed (+switch-master); reconnecting")

// wakeWatcher wakes the watcher goroutine without blocking.
func wakeWatcher(s *sentinel) {
	wakeup.Wake(s.wake)
}

// sleepWatcher is the watcher's sleep: d, or less when woken, or until the client
// closes. Not a select: under Yaegi every Sentinel client's watcher would share its
// case list (internal/wakeup).
func sleepWatcher(s *sentinel, d time.Duration) {
	if s.ctx.Err() != nil {
		return
	}
	wakeup.Sleep(s.wake, s.ctx, d)
}

// watchSentinels is the client's watcher goroutine: it keeps a +switch-master
// subscription on one sentinel at a time, moving to the next when it fails, until
// the client closes.
func watchSentinels(s *sentinel) {
	defer s.wg.Done()
	ctx := s.ctx
	bo := Options{MinBackoff: s.minBackoff, MaxBackoff: s.maxBackoff}
	fails := 0
	for i := 0; ctx.Err() == nil; i++ {
		list := sentinelList(s)
		addr := list[i%len(list)]
		if watchOne(s, ctx, addr) {
			fails = 0
		} else {
			fails++
		}
		wait := backoff(&bo, fails)
		if fails == 0 {
			wait = s.minBackoff
		}
		// A wake left by the connection watchOne closed (or one that failed while
		// being set up) must not cut this wait short.
		wakeup.Clear(s.wake)
		sleepWatcher(s, wait)
	}
}

// watchOne subscribes to +switch-master on the sentinel at addr, refreshes the
// sentinel list and checks the primary's address now and every RefreshInterval, and
// returns when the connection fails or ctx ends; ok reports that it subscribed.
func watchOne(s *sentinel, ctx context.Context, addr string) bool {
	var failed atomic.Bool
	o := sentinelOptions(s, addr)
	cn, err := dialConn(ctx, &o, func(cn *conn) {
		cn.pubsub = true
		cn.onPush = func(v Value) { onSentinelMessage(s, v) }
		cn.onFail = func(err error) {
			_ = err // named: Yaegi mis-assigns an unnamed closure parameter
			if failed.CompareAndSwap(false, true) {
				wakeWatcher(s)
			}
		}
	})
	if err != nil {
		return false
	}
	defer func() { cn.close() }()
	checkSentinel(s, ctx, cn)
	qctx, cancel := context.WithTimeout(ctx, s.so.QueryTimeout)
	_, err = cn.do(qctx, "SUBSCRIBE", "+switch-master")
	cancel()
	if err != nil {
		return false
	}
	for {
		sleepWatcher(s, s.so.RefreshInterval)
		if ctx.Err() != nil || failed.Load() {
			return true
		}
		// A subscribed RESP2 connection only answers PING: it proves the sentinel
		// alive; the list and the primary are checked on a connection of their own.
		pctx, pcancel := context.WithTimeout(ctx, s.so.QueryTimeout)
		_, err := cn.do(pctx, "PING")
		pcancel()
		if err != nil {
			return true
		}
		o := sentinelOptions(s, addr)
		if other, err := dialConn(ctx, &o, nil); err == nil {
			checkSentinel(s, ctx, other)
			other.close()
		}
	}
}

// checkSentinel refreshes the sentinel list from SENTINEL SENTINELS and compares the
// primary the sentinel names with the one the client uses: a difference (an
// announcement missed while no subscription was up) is followed like +switch-master.
func checkSentinel(s *sentinel, ctx context.Context, cn *conn) {
	qctx, cancel := context.WithTimeout(ctx, s.so.QueryTimeout)
	defer cancel()
	if v, err := cn.do(qctx, "SENTINEL", "SENTINELS", s.name); err == nil {
		if found, err := parseSentinels(v); err == nil {
			addSentinels(s, found)
		}
	}
	v, err := cn.do(qctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.name)
	if err != nil {
		return
	}
	primary, err := parseMasterAddr(v)
	if err != nil {
		return
	}
	s.mu.Lock()
	known := s.master
	s.mu.Unlock()
	if known != "" && known != primary {
		primaryMoved(s, primary)
	}
}
