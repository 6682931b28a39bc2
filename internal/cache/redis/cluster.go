package redis

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/wakeup"
)

// ClusterOptions configure a ClusterClient beyond the per-node Options.
type ClusterOptions struct {
	// Seeds are host:port addresses of some of the cluster's nodes: the slot map is
	// read from the first that answers, then from the known primaries.
	Seeds []string
	// HomeKey routes the commands that have no key (PING, INFO, ...): they go to the
	// primary serving HomeKey's slot. internal/cache gives the hash tag its
	// revocations live under, so that probes and restart detection concern that node.
	HomeKey string
	// RefreshInterval is the longest time between two readings of the slot map
	// (default 10 s); MOVED replies and node failures make it read sooner.
	RefreshInterval time.Duration
	// MaxRedirects bounds the MOVED and ASK redirections one command follows
	// (default 5).
	MaxRedirects int
	// RetryWindow bounds how long one command is retried after TRYAGAIN,
	// CLUSTERDOWN, LOADING or MASTERDOWN, or while the node serving its slot is
	// unreachable (default Options.ReadTimeout); the caller's context bounds it too.
	RetryWindow time.Duration
}

// noOwner marks a slot no primary serves (in the map as last read).
const noOwner = ^uint16(0)

// ClusterClient talks to a Redis Cluster: one Client (with its pool of multiplexed
// connections) per primary, chosen by the key's hash slot. It reads the slot map
// with CLUSTER SHARDS (CLUSTER SLOTS on servers without it), follows MOVED (the map
// is patched at once and read again in the background) and ASK (ASKING then the
// command, on the node named, without touching the map), retries TRYAGAIN and
// CLUSTERDOWN with backoff, and splits pipelines per node. Replicas are never read
// from: every command goes to a primary. Options (credentials, TLS, timeouts, pool
// size) apply to every node; DB must be 0.
//
// A ClusterClient is safe for concurrent use. Its zero value is not usable; call
// NewClusterClient.
type ClusterClient struct {
	opts     Options
	co       ClusterOptions
	homeSlot int
	topo     atomic.Value // *clusterMap

	mu     sync.Mutex // guards nodes, tracks
	nodes  map[string]*clusterNode
	tracks []*clusterTracking

	refreshMu sync.Mutex // one reading of the map at a time
	// kinds and readOnly are filled by NewClusterClient and only read after.
	kinds    map[string]int
	readOnly map[string]bool

	closed atomic.Bool
	ctx    context.Context
	cancel context.CancelFunc
	wake   *wakeup.Waker // wakes the refresher (no select: see internal/wakeup)
	wg     sync.WaitGroup

	moved, asked, retries, refreshes, refreshErrors atomic.Uint64
	lastErr                                         atomic.Value // string
}

// clusterNode is one primary (or a node a redirection named).
type clusterNode struct {
	addr   string
	client *Client
	// downUntil (UnixNano) is set when the node failed: the map is then read from
	// other nodes first.
	downUntil atomic.Int64
}

// clusterMap is one reading of the slot map; replaced, never modified.
type clusterMap struct {
	owner []uint16 // slot -> index in nodes, noOwner when unserved
	nodes []*clusterNode
}

// clusterTracking is a tracking subscription over every primary, and the primaries
// it covers: a map with a primary outside them ends it (Lost).
type clusterTracking struct {
	t       *Tracking
	covered map[string]bool
}

// ClusterStats are a ClusterClient's counters.
type ClusterStats struct {
	Primaries     []string // the primaries of the current map
	Live          int      // connections up, all nodes together
	Moved         uint64   // MOVED replies followed
	Asked         uint64   // ASK replies followed
	Retries       uint64   // commands retried after TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN or an unreachable node
	Refreshes     uint64   // readings of the slot map
	RefreshErrors uint64   // readings that no node could answer
	LastError     string
}

// ErrClusterDown is returned when no node could give a slot map, or when the map
// has no primary for a command's slot.
var ErrClusterDown = errors.New("redis: cluster: no primary known for the slot (no node answered with a slot map covering it)")

// NewClusterClient returns a client for the cluster the seeds belong to. Like
// NewClient it does not wait for the network: Connect reads the map and connects to
// HomeKey's primary.
func NewClusterClient(opts Options, co ClusterOptions) (*ClusterClient, error) {
	if len(co.Seeds) == 0 {
		return nil, errors.New("redis: cluster: expected at least one seed address, got none")
	}
	for _, a := range co.Seeds {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, errors.New("redis: cluster: expected host:port, got " + strconv.Quote(a))
		}
	}
	if opts.DB != 0 {
		return nil, errors.New("redis: cluster: expected database 0 (a cluster has no other), got " + strconv.Itoa(opts.DB))
	}
	o := opts.withDefaults()
	o.Dialer = nil
	o.Addr = ""
	if co.RefreshInterval <= 0 {
		co.RefreshInterval = 10 * time.Second
	}
	if co.MaxRedirects <= 0 {
		co.MaxRedirects = 5
	}
	if co.RetryWindow <= 0 {
		co.RetryWindow = o.ReadTimeout
	}
	cc := &ClusterClient{
		opts: o, co: co, homeSlot: Slot(co.HomeKey), nodes: map[string]*clusterNode{},
		wake: wakeup.New(), kinds: map[string]int{}, readOnly: map[string]bool{},
	}
	for _, name := range []string{"PING", "INFO", "ECHO", "TIME", "ROLE", "CLIENT", "CLUSTER", "COMMAND", "CONFIG",
		"DBSIZE", "FLUSHALL", "FLUSHDB", "HELLO", "AUTH", "SCRIPT", "FUNCTION", "ACL", "LASTSAVE", "MEMORY",
		"SLOWLOG", "LATENCY", "WAIT", "READONLY", "READWRITE", "ASKING", "PUBLISH", "RANDOMKEY", "SCAN", "KEYS"} {
		cc.kinds[name] = kindKeyless
	}
	for _, name := range []string{"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"} {
		cc.kinds[name] = kindScript
	}
	for _, name := range []string{"GET", "PTTL", "TTL", "EXISTS", "STRLEN", "TYPE", "MGET", "GETRANGE", "HGET",
		"HGETALL", "SMEMBERS", "SISMEMBER", "LRANGE", "ZSCORE", "PING", "INFO", "ECHO", "TIME", "ROLE", "DBSIZE"} {
		cc.readOnly[name] = true
	}
	cc.ctx, cc.cancel = context.WithCancel(context.Background())
	cc.lastErr.Store("")
	cc.wg.Add(1)
	go refresher(cc)
	return cc, nil
}

// Options returns the per-node options with defaults applied.
func (cc *ClusterClient) Options() Options { return cc.opts }

// topology returns the current map, or nil before the first reading.
func topology(cc *ClusterClient) *clusterMap {
	m, _ := cc.topo.Load().(*clusterMap)
	return m
}

// Command kinds, for routing (ClusterClient.kinds).
const (
	kindKeyed   = 0 // the key is the first argument (GET, SET, DEL, PTTL, ...)
	kindKeyless = 1 // no key: goes to HomeKey's primary
	kindScript  = 2 // EVAL-like: the first key follows the key count
)

// commandSlot returns the slot a command goes to: its key's, or HomeKey's for a
// command without a key. EVAL, EVALSHA and FCALL name their first key after the key
// count. (One map lookup: the names the store sends are upper case already.)
func commandSlot(cc *ClusterClient, args []any) int {
	if len(args) < 2 {
		return cc.homeSlot
	}
	name, _ := args[0].(string)
	kind, known := cc.kinds[name]
	if !known {
		kind = cc.kinds[strings.ToUpper(name)]
	}
	switch kind {
	case kindKeyless:
		return cc.homeSlot
	case kindScript:
		if len(args) < 4 || argString(args[2]) == "0" {
			return cc.homeSlot
		}
		return Slot(argString(args[3]))
	}
	return Slot(argString(args[1]))
}

// argString returns a string or []byte argument as a string ("" otherwise).
func argString(a any) string {
	switch a := a.(type) {
	case string:
		return a
	case []byte:
		return string(a)
	case int:
		return strconv.Itoa(a)
	case int64:
		return strconv.FormatInt(a, 10)
	}
	return ""
}

// Do sends one command to the primary serving its key's slot and returns its reply,
// following redirections and retrying as ClusterOptions say. An error reply is
// returned as an Error together with the reply.
func (cc *ClusterClient) Do(ctx context.Context, args ...any) (Value, error) {
	if cc.closed.Load() {
		return Value{}, ErrClosed
	}
	slot := commandSlot(cc, args)
	if m := topology(cc); m != nil && m.owner[slot] != noOwner {
		node := m.nodes[m.owner[slot]]
		v, err := node.client.Do(ctx, args...)
		if err == nil {
			return v, nil
		}
		return doSlow(cc, ctx, slot, args, node, v, err)
	}
	return doSlow(cc, ctx, slot, args, nil, Value{}, nil)
}

// doSlow is Do past the first attempt: node answered v, err (node is nil when the
// map had no primary for the slot, or no attempt was made).
func doSlow(cc *ClusterClient, ctx context.Context, slot int, args []any, node *clusterNode, v Value, err error) (Value, error) {
	redirects := 0
	deadline := time.Now().Add(cc.co.RetryWindow)
	wait := 5 * time.Millisecond
	var ask *clusterNode
	for {
		if node != nil {
			code := ErrorCode(err)
			switch {
			case err == nil:
				return v, nil
			case code == "MOVED" || code == "ASK":
				redirects++
				if redirects > cc.co.MaxRedirects {
					return v, err
				}
				rslot, addr, ok := parseRedirect(string(v.Str), hostOf(node.addr))
				if !ok {
					return v, err
				}
				target := nodeFor(cc, addr)
				if target == nil {
					return Value{}, ErrClosed
				}
				if code == "MOVED" {
					cc.moved.Add(1)
					patchSlot(cc, rslot, target)
					kickRefresh(cc)
				} else {
					cc.asked.Add(1)
					ask = target
				}
				node = nil
				continue
			case code == "TRYAGAIN" || code == "CLUSTERDOWN" || code == "LOADING" || code == "MASTERDOWN" || retryableTransport(cc, err, args):
				if !IsServerError(err) {
					nodeFailed(cc, node)
				}
				if !retryWait(cc, ctx, deadline, wait) {
					return v, err
				}
				cc.retries.Add(1)
				if wait < 100*time.Millisecond {
					wait *= 2
				}
				// A retry starts a fresh walk to the slot's node: a server that
				// answers ASK before each TRYAGAIN must not use up MaxRedirects
				// within the retry window (which bounds the whole loop).
				redirects = 0
			default:
				return v, err
			}
		}
		if ask != nil {
			// ASK: this one command goes to the importing node, after ASKING; the map
			// does not change (https://redis.io/docs/reference/cluster-spec/#ask-redirection).
			node = ask
			ask = nil
			vals, e := node.client.Pipeline(ctx, [][]any{{"ASKING"}, args})
			if e != nil {
				v = Value{}
				err = e
			} else {
				v = vals[1]
				err = replyErr(vals[1])
			}
			continue
		}
		m := topology(cc)
		if m == nil || m.owner[slot] == noOwner {
			rctx, cancel := context.WithTimeout(ctx, cc.opts.DialTimeout+cc.opts.ReadTimeout)
			rerr := refreshOnce(cc, rctx, cc.refreshes.Load())
			cancel()
			m = topology(cc)
			if m == nil || m.owner[slot] == noOwner {
				if rerr == nil {
					rerr = ErrClusterDown
				}
				if cc.closed.Load() || !retryWait(cc, ctx, deadline, wait) {
					return Value{}, rerr
				}
				cc.retries.Add(1)
				if wait < 100*time.Millisecond {
					wait *= 2
				}
				// A retry starts a fresh walk to the slot's node: a server that
				// answers ASK before each TRYAGAIN must not use up MaxRedirects
				// within the retry window (which bounds the whole loop).
				redirects = 0
				continue
			}
		}
		node = m.nodes[m.owner[slot]]
		v, err = node.client.Do(ctx, args...)
	}
}

// retryableTransport reports whether a failure to reach a node may be retried: the
// command was not sent (no connection up), or it only reads. A node whose connections
// are all full (ErrInFlightLimit) is not retried: the call fails fast, as on a Client.
func retryableTransport(cc *ClusterClient, err error, args []any) bool {
	// (The context's errors first: see asReply.)
	if err == nil || err == context.Canceled || err == context.DeadlineExceeded || err == ErrInFlightLimit || IsServerError(err) || cc.closed.Load() {
		return false
	}
	if err == ErrNotConnected || err == ErrClosed {
		return true
	}
	if _, ok := err.(notPrimaryError); ok {
		return true
	}
	name, _ := args[0].(string)
	return cc.readOnly[strings.ToUpper(name)]
}

// retryWait sleeps before a retry, unless that would pass deadline or ctx's end.
// (A sleep, not a select on ctx.Done: request goroutines run this concurrently, and
// under Yaegi a select shared by goroutines can mix up their values.)
func retryWait(cc *ClusterClient, ctx context.Context, deadline time.Time, wait time.Duration) bool {
	wake := time.Now().Add(wait)
	if wake.After(deadline) || cc.closed.Load() {
		return false
	}
	if d, ok := ctx.Deadline(); ok && wake.After(d) {
		return false
	}
	time.Sleep(wait)
	return ctx.Err() == nil
}

// nodeFailed marks a node as failed for a while and asks for a new map.
func nodeFailed(cc *ClusterClient, n *clusterNode) {
	if n == nil {
		return
	}
	n.downUntil.Store(time.Now().Add(time.Second).UnixNano())
	kickRefresh(cc)
}

// nodeFor returns the node at addr, creating its client if needed (nil after
// Close).
func nodeFor(cc *ClusterClient, addr string) *clusterNode {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed.Load() {
		return nil
	}
	n := cc.nodes[addr]
	if n == nil {
		o := cc.opts
		o.Addr = addr
		o.Dialer = &AddrDialer{Addr: addr, TLS: tlsFor(cc.opts.TLS, addr)}
		n = &clusterNode{addr: addr, client: NewClient(o)}
		cc.nodes[addr] = n
	}
	return n
}

// patchSlot points one slot at node in a copy of the map (after MOVED), so that the
// next commands for it go straight there before the full map is read again.
func patchSlot(cc *ClusterClient, slot int, node *clusterNode) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	old := topology(cc)
	m := &clusterMap{owner: make([]uint16, SlotCount)}
	if old != nil {
		copy(m.owner, old.owner)
		m.nodes = append(m.nodes, old.nodes...)
	} else {
		fillOwner(m.owner, noOwner)
	}
	idx := -1
	for i, n := range m.nodes {
		if n == node {
			idx = i
			break
		}
	}
	if idx < 0 {
		idx = len(m.nodes)
		m.nodes = append(m.nodes, node)
	}
	m.owner[slot] = uint16(idx)
	cc.topo.Store(m)
}

// fillOwner sets every element of s to v by doubling copies (a handful of calls into
// compiled code instead of one interpreted iteration per slot).
func fillOwner(s []uint16, v uint16) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for n := 1; n < len(s); n *= 2 {
		copy(s[n:], s[:n])
	}
}

// Pipeline sends several commands and returns their replies in order. Commands are
// grouped by the primary serving their slot; each group is one pipeline on that
// node, all groups in flight at once. A reply that redirects (MOVED, ASK) or asks to
// retry (TRYAGAIN, CLUSTERDOWN) is replaced by the outcome of sending that command
// again as Do would. Error replies are in the returned values; the error is for
// transport failures only.
func (cc *ClusterClient) Pipeline(ctx context.Context, cmds [][]any) ([]Value, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	if cc.closed.Load() {
		return nil, ErrClosed
	}
	m := topology(cc)
	if m == nil {
		if err := refreshOnce(cc, ctx, cc.refreshes.Load()); err != nil {
			return nil, err
		}
		if m = topology(cc); m == nil {
			return nil, ErrClusterDown
		}
	}
	slots := make([]int, len(cmds))
	owners := make([]uint16, len(cmds))
	one := true
	for i, args := range cmds {
		slots[i] = commandSlot(cc, args)
		owners[i] = m.owner[slots[i]]
		if owners[i] != owners[0] {
			one = false
		}
	}
	out := make([]Value, len(cmds))
	errs := make([]error, len(cmds))
	if one && owners[0] != noOwner {
		vals, err := m.nodes[owners[0]].client.Pipeline(ctx, cmds)
		if err == nil {
			copy(out, vals)
		} else {
			for i := range errs {
				errs[i] = err
			}
		}
	} else {
		pipelineSplit(m, ctx, cmds, owners, out, errs)
	}
	// Second pass: redirections, retries, commands no group could send.
	for i := range cmds {
		err := errs[i]
		if err == nil {
			err = replyErr(out[i])
			if err == nil {
				continue
			}
			switch ErrorCode(err) {
			case "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN":
			default:
				continue
			}
		} else if !retryableTransport(cc, err, cmds[i]) {
			return nil, err
		}
		var node *clusterNode
		if owners[i] != noOwner {
			node = m.nodes[owners[i]]
		}
		v, err := doSlow(cc, ctx, slots[i], cmds[i], node, out[i], err)
		if err != nil && !IsServerError(err) {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// pipelineSplit sends each node its commands as one pipeline, all before waiting for
// any, then collects the replies into out (or the group's error into errs).
func pipelineSplit(m *clusterMap, ctx context.Context, cmds [][]any, owners []uint16, out []Value, errs []error) {
	type group struct {
		idx  []int
		cmds [][]any
		cl   *call
		stop func() bool
	}
	var groups []*group
	byOwner := map[uint16]*group{}
	for i, o := range owners {
		if o == noOwner {
			errs[i] = ErrClusterDown
			continue
		}
		g := byOwner[o]
		if g == nil {
			g = &group{}
			byOwner[o] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
		g.cmds = append(g.cmds, cmds[i])
	}
	for _, g := range groups {
		cl, stop, err := beginPool(m.nodes[owners[g.idx[0]]].client, ctx, g.cmds)
		if err != nil {
			for _, i := range g.idx {
				errs[i] = err
			}
			continue
		}
		g.cl = cl
		g.stop = stop
	}
	for _, g := range groups {
		if g.cl == nil {
			continue
		}
		vals, err := finish(g.cl, g.stop)
		for k, i := range g.idx {
			if err != nil {
				errs[i] = err
			} else {
				out[i] = vals[k]
			}
		}
	}
}

// Connect reads the slot map if none is known and returns once HomeKey's primary has
// a connection up (dialling one now if needed), or with the error.
func (cc *ClusterClient) Connect(ctx context.Context) error {
	if cc.closed.Load() {
		return ErrClosed
	}
	if topology(cc) == nil {
		if err := refreshOnce(cc, ctx, cc.refreshes.Load()); err != nil {
			return err
		}
	}
	m := topology(cc)
	if m == nil || m.owner[cc.homeSlot] == noOwner {
		kickRefresh(cc)
		return ErrClusterDown
	}
	node := m.nodes[m.owner[cc.homeSlot]]
	err := node.client.Connect(ctx)
	if err != nil {
		nodeFailed(cc, node)
	}
	return err
}

// Live reports how many connections are up, all nodes together.
func (cc *ClusterClient) Live() int {
	n := 0
	for _, node := range nodeList(cc) {
		n += node.client.Live()
	}
	return n
}

func nodeList(cc *ClusterClient) []*clusterNode {
	cc.mu.Lock()
	out := make([]*clusterNode, 0, len(cc.nodes))
	for _, n := range cc.nodes {
		out = append(out, n)
	}
	cc.mu.Unlock()
	return out
}

// ClusterStats returns the client's counters.
func (cc *ClusterClient) ClusterStats() ClusterStats {
	st := ClusterStats{
		Live: cc.Live(), Moved: cc.moved.Load(), Asked: cc.asked.Load(), Retries: cc.retries.Load(),
		Refreshes: cc.refreshes.Load(), RefreshErrors: cc.refreshErrors.Load(),
	}
	st.LastError, _ = cc.lastErr.Load().(string)
	if m := topology(cc); m != nil {
		for _, n := range primariesOf(m) {
			st.Primaries = append(st.Primaries, n.addr)
		}
	}
	return st
}

// primariesOf returns the nodes that serve at least one slot in m.
func primariesOf(m *clusterMap) []*clusterNode {
	used := make([]bool, len(m.nodes))
	for _, o := range m.owner {
		if o != noOwner {
			used[o] = true
		}
	}
	var out []*clusterNode
	for i, n := range m.nodes {
		if used[i] {
			out = append(out, n)
		}
	}
	return out
}

// Close closes every node's client (pending calls fail with ErrClosed) and stops the
// refresher. It is safe to call more than once.
func (cc *ClusterClient) Close() error {
	if !cc.closed.CompareAndSwap(false, true) {
		return nil
	}
	cc.cancel()
	cc.wg.Wait()
	cc.refreshMu.Lock() // wait for a reading in progress
	cc.mu.Lock()
	nodes := cc.nodes
	cc.nodes = map[string]*clusterNode{}
	cc.mu.Unlock()
	cc.refreshMu.Unlock()
	for _, n := range nodes {
		_ = n.client.Close()
	}
	return nil
}

// kickRefresh asks the refresher for a new map without blocking.
func kickRefresh(cc *ClusterClient) {
	wakeup.Wake(cc.wake)
}

// refresher is the client's background goroutine: it reads the map every
// RefreshInterval, and soon after a kick (at most every 20 ms), until Close. Kicks
// arriving while a reading runs start another one after it: the map it reads may
// predate what they saw. (Not a select: under Yaegi every ClusterClient's refresher
// would share its case list; see internal/wakeup.)
func refresher(cc *ClusterClient) {
	defer cc.wg.Done()
	for {
		wakeup.Sleep(cc.wake, cc.ctx, cc.co.RefreshInterval)
		if cc.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(cc.ctx, cc.opts.DialTimeout+cc.opts.ReadTimeout)
		_ = refresh(cc, ctx)
		cancel()
		time.Sleep(20 * time.Millisecond)
	}
}

// refreshOnce reads the slot map unless a reading completed since the caller saw
// seen readings: requests that find no primary for their slot at once share one
// reading instead of each making their own.
func refreshOnce(cc *ClusterClient, ctx context.Context, seen uint64) error {
	cc.refreshMu.Lock()
	defer cc.refreshMu.Unlock()
	if cc.refreshes.Load() != seen {
		return nil
	}
	return readMap(cc, ctx)
}

// refresh reads the slot map from the first node that answers: the known primaries
// not marked failed (in random order), then the seeds, then the failed ones.
func refresh(cc *ClusterClient, ctx context.Context) error {
	cc.refreshMu.Lock()
	defer cc.refreshMu.Unlock()
	return readMap(cc, ctx)
}

// readMap is refresh; the caller holds refreshMu.
func readMap(cc *ClusterClient, ctx context.Context) error {
	if cc.closed.Load() {
		return ErrClosed
	}
	var up, down []string
	now := time.Now().UnixNano()
	if m := topology(cc); m != nil {
		for _, n := range primariesOf(m) {
			if n.downUntil.Load() > now {
				down = append(down, n.addr)
			} else {
				up = append(up, n.addr)
			}
		}
	}
	rand.Shuffle(len(up), func(i, j int) {
		t := up[i]
		up[i] = up[j]
		up[j] = t
	})
	seen := map[string]bool{}
	var order []string
	for _, list := range [][]string{up, cc.co.Seeds, down} {
		for _, a := range list {
			if !seen[a] {
				seen[a] = true
				order = append(order, a)
			}
		}
	}
	last := ""
	for _, addr := range order {
		if ctx.Err() != nil {
			break
		}
		ranges, err := readSlotMap(cc, ctx, addr)
		if err != nil {
			last = addr + ": " + err.Error()
			continue
		}
		if len(ranges) == 0 {
			last = addr + ": no slot is served"
			continue
		}
		install(cc, ranges)
		cc.refreshes.Add(1)
		return nil
	}
	cc.refreshErrors.Add(1)
	if last == "" {
		last = "no node to ask"
	}
	msg := "redis: cluster: could not read the slot map: " + last
	cc.lastErr.Store(msg)
	return clusterError(msg)
}

// clusterError is a failure to read the slot map; its text names the last node's
// error.
type clusterError string

func (e clusterError) Error() string { return string(e) }

// readSlotMap asks one node for the map: CLUSTER SHARDS, or CLUSTER SLOTS when the
// server does not know it (Redis before 7). A known node's pool is used; a seed gets
// a connection of its own, closed after.
func readSlotMap(cc *ClusterClient, ctx context.Context, addr string) ([]slotRange, error) {
	cc.mu.Lock()
	n := cc.nodes[addr]
	cc.mu.Unlock()
	var do func(args ...any) (Value, error)
	if n != nil && n.client.Live() > 0 {
		do = func(args ...any) (Value, error) { return n.client.Do(ctx, args...) }
	} else {
		o := cc.opts
		o.Dialer = &AddrDialer{Addr: addr, TLS: tlsFor(cc.opts.TLS, addr)}
		cn, err := dialConn(ctx, &o, nil)
		if err != nil {
			return nil, err
		}
		defer func() { cn.close() }()
		do = func(args ...any) (Value, error) { return cn.do(ctx, args...) }
	}
	v, err := do("CLUSTER", "SHARDS")
	if err == nil {
		return parseShards(v, cc.opts.TLS != nil, hostOf(addr))
	}
	if ErrorCode(err) != "ERR" {
		return nil, err
	}
	v, err = do("CLUSTER", "SLOTS")
	if err != nil {
		return nil, err
	}
	return parseSlots(v, hostOf(addr))
}

// install makes ranges the current map, closes the clients of nodes no longer in
// it, and ends the tracking subscriptions that do not cover every primary.
func install(cc *ClusterClient, ranges []slotRange) {
	m := &clusterMap{owner: make([]uint16, SlotCount)}
	fillOwner(m.owner, noOwner)
	index := map[string]int{}
	for _, r := range ranges {
		i, ok := index[r.addr]
		if !ok {
			n := nodeFor(cc, r.addr)
			if n == nil {
				return
			}
			i = len(m.nodes)
			index[r.addr] = i
			m.nodes = append(m.nodes, n)
		}
		fillOwner(m.owner[r.start:r.end+1], uint16(i))
	}
	var gone []*clusterNode
	var ended []*Tracking
	cc.mu.Lock()
	cc.topo.Store(m)
	for addr, n := range cc.nodes {
		if _, ok := index[addr]; !ok {
			gone = append(gone, n)
			delete(cc.nodes, addr)
		}
	}
	live := cc.tracks[:0]
	for _, ct := range cc.tracks {
		if !ct.t.Alive() {
			continue
		}
		if !covers(ct, m) {
			ended = append(ended, ct.t)
			continue
		}
		live = append(live, ct)
	}
	for i := len(live); i < len(cc.tracks); i++ {
		cc.tracks[i] = nil
	}
	cc.tracks = live
	cc.mu.Unlock()
	for _, t := range ended {
		trackingLost(t, errTopologyChanged)
	}
	for _, n := range gone {
		_ = n.client.Close()
	}
}

// errTopologyChanged ends a tracking subscription when a primary it is not
// subscribed on appears (after a failover or a resharding).
var errTopologyChanged = errors.New("redis: cluster: a primary without an invalidation subscription joined the slot map")

// covers reports whether ct is subscribed on every primary of m.
func covers(ct *clusterTracking, m *clusterMap) bool {
	for _, n := range primariesOf(m) {
		if !ct.covered[n.addr] {
			return false
		}
	}
	return true
}

// Track opens a tracking subscription (see Client.Track) on every primary of the
// current map, with one handler. It is lost, as a whole, when any of its connections
// fails or when a primary it does not cover joins the map (a failover, a new shard):
// the caller subscribes again, which covers the new primaries.
func (cc *ClusterClient) Track(ctx context.Context, prefixes []string, h TrackingHandler) (*Tracking, error) {
	if err := cc.Connect(ctx); err != nil {
		return nil, err
	}
	m := topology(cc)
	t := newTracking(h)
	ct := &clusterTracking{t: t, covered: map[string]bool{}}
	for _, n := range primariesOf(m) {
		if err := trackOn(n.client, t, ctx, prefixes); err != nil {
			t.Close()
			return nil, err
		}
		ct.covered[n.addr] = true
	}
	cc.mu.Lock()
	cc.tracks = append(cc.tracks, ct)
	cc.mu.Unlock()
	// A map installed while subscribing was not checked against ct.
	if now := topology(cc); !covers(ct, now) {
		t.Close()
		return nil, errTopologyChanged
	}
	if !t.Alive() {
		t.Close()
		return nil, t.err()
	}
	return t, nil
}
