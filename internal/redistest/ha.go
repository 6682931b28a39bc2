package redistest

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SentinelOptions describe a Sentinel deployment: a primary, replicas, sentinels.
type SentinelOptions struct {
	// MasterName is the name the sentinels monitor the primary under (default
	// "mymaster").
	MasterName string
	// Replicas is the number of replicas (default 1); Sentinels the number of
	// sentinels (default 3, quorum 2).
	Replicas  int
	Sentinels int
	// Password is the data nodes' requirepass (and the replicas' masterauth);
	// SentinelPassword the sentinels' own.
	Password         string
	SentinelPassword string
	// DownAfter and FailoverTimeout are the sentinels' down-after-milliseconds and
	// failover-timeout (defaults 1 s and 3 s: short, for tests).
	DownAfter       time.Duration
	FailoverTimeout time.Duration
}

// SentinelSet is a running Sentinel deployment.
type SentinelSet struct {
	MasterName string
	// Nodes are the data nodes; Nodes[0] started as the primary.
	Nodes []*Server
	// Sentinels are the redis-sentinel processes.
	Sentinels []*Server
	opts      SentinelOptions
	tb        testing.TB
}

// StartSentinel starts the deployment and waits until every sentinel knows the
// replicas and the other sentinels (so a failover can be agreed on) and every replica
// is in sync. Everything stops in t.Cleanup.
func StartSentinel(t testing.TB, o SentinelOptions) *SentinelSet {
	t.Helper()
	if o.MasterName == "" {
		o.MasterName = "mymaster"
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Sentinels <= 0 {
		o.Sentinels = 3
	}
	if o.DownAfter <= 0 {
		o.DownAfter = time.Second
	}
	if o.FailoverTimeout <= 0 {
		o.FailoverTimeout = 3 * time.Second
	}
	set := &SentinelSet{MasterName: o.MasterName, opts: o, tb: t}
	// A full resynchronisation starts at once instead of after 5 s (the default
	// diskless-sync delay): replicas are in sync in milliseconds, as in a test they
	// should be.
	auth := []string{"--repl-diskless-sync-delay", "0"}
	if o.Password != "" {
		auth = append(auth, "--masterauth", o.Password)
	}
	primary := Start(t, Options{Password: o.Password, Args: auth})
	set.Nodes = append(set.Nodes, primary)
	for i := 0; i < o.Replicas; i++ {
		args := append([]string{"--replicaof", primary.Host, strconv.Itoa(primary.Port)}, auth...)
		set.Nodes = append(set.Nodes, Start(t, Options{Password: o.Password, Args: args}))
	}
	conf := fmt.Sprintf("sentinel monitor %s %s %d 2\nsentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s %d\nsentinel parallel-syncs %s 1\n",
		o.MasterName, primary.Host, primary.Port, o.MasterName, o.DownAfter.Milliseconds(), o.MasterName, o.FailoverTimeout.Milliseconds(), o.MasterName)
	if o.Password != "" {
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", o.MasterName, o.Password)
	}
	for i := 0; i < o.Sentinels; i++ {
		sn := Start(t, Options{Sentinel: conf, Password: o.SentinelPassword})
		// Redis 7's SENTINEL DEBUG shortens the sentinels' fixed periods (PING every
		// second, INFO every 10 s, ...) so that discovery and failovers take about a
		// second; the failover logic itself is unchanged. Two limits keep a failover
		// from failing on a loaded machine:
		//   - a sentinel promotes only a replica whose last INFO reply is younger than
		//     3 x INFO-PERIOD (5 x PING-PERIOD when the primary is down), and during a
		//     failover it asks for INFO once a second whatever the period: INFO and
		//     PING periods of 250 and 200 ms (0.75 and 1 s of validity against a 1 s
		//     cadence) made it abort with -failover-abort-no-good-slave whenever a
		//     reply came a little late;
		//   - a sentinel that sees a replica report the primary role, and has not heard
		//     of a failover, turns it back into a replica after 4 x PUBLISH-PERIOD (the
		//     time it gives the failover's leader to announce the new configuration).
		//     With 200 ms that was 800 ms, shorter than the leader takes to see the
		//     promotion (INFO once a second) and announce it, and a sentinel undid a
		//     failover it had not yet heard of: +convert-to-slave on the new primary,
		//     which the others then found down, and a failover back to the old one.
		//     PUBLISH-PERIOD keeps its default, 2 s (8 s before such a correction).
		sn.MustDo("SENTINEL", "DEBUG", "INFO-PERIOD", "1000", "ASK-PERIOD", "200",
			"PING-PERIOD", "500", "SLAVE-RECONF-TIMEOUT", "2000", "MIN-LINK-RECONNECT-PERIOD", "500")
		set.Sentinels = append(set.Sentinels, sn)
	}
	set.WaitReady(set.FailoverDeadline())
	return set
}

// SentinelAddrs are the sentinels' host:port addresses.
func (s *SentinelSet) SentinelAddrs() []string {
	var out []string
	for _, sn := range s.Sentinels {
		out = append(out, sn.Addr())
	}
	return out
}

// Node returns the data node at addr (nil if none).
func (s *SentinelSet) Node(addr string) *Server {
	for _, n := range s.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// MasterAddr asks the running sentinels for the primary's address; every one that
// answers must agree, else it returns an error.
func (s *SentinelSet) MasterAddr() (string, error) {
	addr := ""
	for _, sn := range s.Sentinels {
		if sn.Pid() == 0 {
			continue
		}
		v, err := sn.Do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.MasterName)
		if err != nil {
			return "", err
		}
		a, _ := v.([]any)
		if len(a) != 2 {
			return "", fmt.Errorf("redistest: sentinel %s: no primary: %v", sn.Addr(), v)
		}
		host, _ := a[0].(string)
		port, _ := a[1].(string)
		got := net.JoinHostPort(host, port)
		if addr != "" && got != addr {
			return "", fmt.Errorf("redistest: sentinels disagree: %s and %s", addr, got)
		}
		addr = got
	}
	if addr == "" {
		return "", fmt.Errorf("redistest: no sentinel running")
	}
	return addr, nil
}

// Primary is the data node the sentinels name as primary.
func (s *SentinelSet) Primary() *Server {
	s.tb.Helper()
	addr, err := s.MasterAddr()
	if err != nil {
		s.tb.Fatal(err)
	}
	n := s.Node(addr)
	if n == nil {
		s.tb.Fatalf("redistest: the sentinels name %s, not one of the nodes", addr)
	}
	return n
}

// WaitReady waits until every running sentinel sees the primary, its running replicas
// and the other running sentinels, and every running replica is in sync.
func (s *SentinelSet) WaitReady(within time.Duration) {
	s.tb.Helper()
	deadline := time.Now().Add(within)
	why := ""
	for time.Now().Before(deadline) {
		if why = s.notReady(); why == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: sentinel deployment not ready within %v: %s", within, why)
}

func (s *SentinelSet) notReady() string {
	addr, err := s.MasterAddr()
	if err != nil {
		return err.Error()
	}
	primary := s.Node(addr)
	if primary == nil || primary.Pid() == 0 {
		return "primary " + addr + " not running"
	}
	if role := roleOf(primary); role != "master" {
		return addr + " has role " + role
	}
	replicas, sentinels := 0, 0
	for _, n := range s.Nodes {
		if n != primary && n.Pid() != 0 {
			replicas++
			info, err := n.Do("INFO", "replication")
			str, _ := info.(string)
			if err != nil || !strings.Contains(str, "master_link_status:up") || !strings.Contains(str, "master_port:"+strconv.Itoa(primary.Port)) {
				return "replica " + n.Addr() + " not in sync"
			}
		}
	}
	for _, sn := range s.Sentinels {
		if sn.Pid() != 0 {
			sentinels++
		}
	}
	for _, sn := range s.Sentinels {
		if sn.Pid() == 0 {
			continue
		}
		v, err := sn.Do("SENTINEL", "MASTER", s.MasterName)
		if err != nil {
			return err.Error()
		}
		m := pairs(v)
		if strings.Contains(m["flags"], "down") || m["num-slaves"] == "" {
			return "sentinel " + sn.Addr() + ": " + m["flags"]
		}
		if m["num-other-sentinels"] != strconv.Itoa(sentinels-1) {
			return "sentinel " + sn.Addr() + " knows " + m["num-other-sentinels"] + " other sentinels"
		}
		rs, err := sn.Do("SENTINEL", "REPLICAS", s.MasterName)
		if err != nil {
			return err.Error()
		}
		list, _ := rs.([]any)
		ok := 0
		for _, r := range list {
			f := pairs(r)
			if !strings.Contains(f["flags"], "down") && !strings.Contains(f["flags"], "disconnected") && f["master-link-status"] == "ok" {
				ok++
			}
		}
		if ok < replicas {
			return "sentinel " + sn.Addr() + " sees " + strconv.Itoa(ok) + " healthy replicas of " + strconv.Itoa(replicas)
		}
	}
	return ""
}

// pairs turns a flat [name, value, ...] reply into a map.
func pairs(v any) map[string]string {
	out := map[string]string{}
	a, _ := v.([]any)
	for i := 0; i+1 < len(a); i += 2 {
		k, _ := a[i].(string)
		val, _ := a[i+1].(string)
		out[k] = val
	}
	return out
}

func roleOf(s *Server) string {
	v, err := s.Do("ROLE")
	if err != nil {
		return "unreachable"
	}
	a, _ := v.([]any)
	if len(a) == 0 {
		return "unknown"
	}
	r, _ := a[0].(string)
	return r
}

// Role is the server's ROLE ("master", "slave", "unreachable").
func (s *Server) Role() string { return roleOf(s) }

// Failover runs SENTINEL FAILOVER on a running sentinel (retrying while the
// sentinels are not ready for it) and returns at once; the failover goes on in the
// background. An accepted failover can still abort (a sentinel promotes only a
// replica whose INFO reply is recent enough, and on a loaded machine the one it has
// may be too old), and nothing retries a forced failover: a goroutine watches the
// sentinels and, as soon as none has a failover in progress while they all still
// name the old primary, asks again — until they name another primary, the
// deployment stops, or FailoverDeadline passes.
func (s *SentinelSet) Failover() {
	s.tb.Helper()
	old, _ := s.MasterAddr()
	deadline := time.Now().Add(s.FailoverDeadline())
	if err := s.askFailover(deadline); err != nil {
		s.tb.Fatalf("redistest: SENTINEL FAILOVER: %v\n%s", err, s.FailoverLog())
	}
	stop := make(chan struct{})
	s.tb.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			addr, err := s.MasterAddr()
			if err == nil && addr != old {
				return
			}
			// An error is a switch under way (the sentinels disagree for a moment)
			// or a sentinel busy: look again.
			if err != nil || s.failoverInProgress() {
				continue
			}
			_ = s.askFailover(deadline)
		}
	}()
}

// failoverInProgress reports whether a running sentinel has a failover of the
// deployment in progress (or cannot be asked).
func (s *SentinelSet) failoverInProgress() bool {
	for _, sn := range s.Sentinels {
		if sn.Pid() == 0 {
			continue
		}
		v, err := sn.Do("SENTINEL", "MASTER", s.MasterName)
		if err != nil || strings.Contains(pairs(v)["flags"], "failover_in_progress") {
			return true
		}
	}
	return false
}

// FailoverDeadline is how long a test may wait for a failover it caused, by SENTINEL
// FAILOVER or by stopping the primary, to name a new primary: the sentinels need
// down-after-milliseconds to see a primary down, an attempt that has not promoted a
// replica within failover-timeout aborts, and the sentinels wait twice that before
// their next automatic attempt. Three attempts, and half a minute for a loaded
// machine: a deadline that only a failing test reaches costs nothing.
func (s *SentinelSet) FailoverDeadline() time.Duration {
	return s.opts.DownAfter + 3*(s.opts.FailoverTimeout+2*s.opts.FailoverTimeout) + 30*time.Second
}

// askFailover sends SENTINEL FAILOVER to the first running sentinel that accepts it
// before deadline.
func (s *SentinelSet) askFailover(deadline time.Time) error {
	for {
		var err error
		for _, sn := range s.Sentinels {
			if sn.Pid() == 0 {
				continue
			}
			if _, err = sn.Do("SENTINEL", "FAILOVER", s.MasterName); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitNewPrimary waits until the sentinels agree on a primary other than old, that
// node answers ROLE master, and the deployment is ready again; it returns the new
// primary.
func (s *SentinelSet) WaitNewPrimary(old *Server, within time.Duration) *Server {
	s.tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		addr, err := s.MasterAddr()
		if err == nil && addr != old.Addr() {
			if n := s.Node(addr); n != nil && roleOf(n) == "master" {
				// An old primary still up (a SENTINEL FAILOVER) keeps the primary
				// role until the sentinels correct it, 4 x PUBLISH-PERIOD (8 s) after
				// they see it: every sentinel names the new primary already, so do
				// now what they would do then.
				if old.Pid() != 0 && roleOf(old) == "master" {
					_, _ = old.Do("REPLICAOF", n.Host, strconv.Itoa(n.Port))
				}
				s.WaitReady(time.Until(deadline))
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: no new primary within %v\n%s", within, s.FailoverLog())
	return nil
}

// WaitSwitch waits until the sentinels agree on a primary other than old (which may
// not be ready yet: its replicas still resynchronising) and returns its address.
func (s *SentinelSet) WaitSwitch(old *Server, within time.Duration) string {
	s.tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if addr, err := s.MasterAddr(); err == nil && addr != old.Addr() {
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: the sentinels still name %s after %v\n%s", old.Addr(), within, s.FailoverLog())
	return ""
}

// FailoverLog returns what each sentinel logged about the deployment's failovers (its
// event lines: +try-failover, -failover-abort-no-good-slave, +switch-master, ...) and
// the data nodes' warnings, for a test's failure message: it says why a failover did
// not happen, or happened twice.
func (s *SentinelSet) FailoverLog() string {
	var b strings.Builder
	for _, n := range append(append([]*Server{}, s.Sentinels...), s.Nodes...) {
		kind := "node"
		if n.opts.Sentinel != "" {
			kind = "sentinel"
		}
		b.WriteString(kind + " " + n.Addr() + ":\n")
		for _, line := range strings.Split(n.Log(), "\n") {
			if strings.Contains(line, " # ") || (kind == "sentinel" && strings.Contains(line, " * ")) {
				b.WriteString("  " + line + "\n")
			}
		}
	}
	return b.String()
}

// ClusterOptions describe a Redis Cluster.
type ClusterOptions struct {
	// Primaries (default 3) and ReplicasEach (replicas per primary, default 0).
	Primaries    int
	ReplicasEach int
	// NodeTimeout is cluster-node-timeout (default 1 s: failures are noticed fast).
	NodeTimeout time.Duration
	// Password, Users and TLS apply to every node, as in Options.
	Password string
	Users    []string
	TLS      bool
}

// Cluster is a running Redis Cluster.
type Cluster struct {
	// Nodes are every node; the first Primaries started as primaries, slots split
	// evenly in order; then the replicas, ReplicasEach per primary in order.
	Nodes []*Server
	opts  ClusterOptions
	tb    testing.TB
	ids   map[*Server]string
}

// StartCluster starts the nodes, assigns the slots, joins them (CLUSTER MEET),
// attaches the replicas, and waits until every node reports cluster_state:ok and
// every replica is in sync. Everything stops in t.Cleanup.
func StartCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if o.Primaries <= 0 {
		o.Primaries = 3
	}
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = time.Second
	}
	c := &Cluster{opts: o, tb: t, ids: map[*Server]string{}}
	total := o.Primaries * (1 + o.ReplicasEach)
	var first *Server
	for i := 0; i < total; i++ {
		so := Options{Password: o.Password, Users: o.Users, TLS: o.TLS, ClusterNodeTimeout: o.NodeTimeout, TLSFrom: first,
			Args: []string{"--repl-diskless-sync-delay", "0"}}
		if o.Password != "" {
			so.Args = append(so.Args, "--masterauth", o.Password)
		}
		n := Start(t, so)
		if first == nil {
			first = n
		}
		c.Nodes = append(c.Nodes, n)
	}
	for i, n := range c.Nodes {
		id, _ := n.MustDo("CLUSTER", "MYID").(string)
		c.ids[n] = id
		n.MustDo("CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1))
	}
	per := 16384 / o.Primaries
	for i := 0; i < o.Primaries; i++ {
		start, end := i*per, (i+1)*per-1
		if i == o.Primaries-1 {
			end = 16383
		}
		c.Nodes[i].MustDo("CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(start), strconv.Itoa(end))
	}
	for _, n := range c.Nodes[1:] {
		c.Nodes[0].MustDo("CLUSTER", "MEET", n.Host, strconv.Itoa(n.Port))
	}
	c.waitFor(15*time.Second, func() string {
		for _, n := range c.Nodes {
			nodes, _ := n.MustDo("CLUSTER", "NODES").(string)
			lines := strings.Split(strings.TrimSpace(nodes), "\n")
			if len(lines) != total || strings.Contains(nodes, "handshake") || strings.Contains(nodes, "noaddr") {
				return n.Addr() + " knows " + strconv.Itoa(len(lines)) + " nodes"
			}
		}
		return ""
	})
	for r := 0; r < o.ReplicasEach; r++ {
		for i := 0; i < o.Primaries; i++ {
			replica := c.Nodes[o.Primaries+r*o.Primaries+i]
			replica.MustDo("CLUSTER", "REPLICATE", c.ids[c.Nodes[i]])
		}
	}
	c.WaitHealthy(20 * time.Second)
	return c
}

// FailoverDeadline is how long a test may wait for the cluster to replace a primary it
// stopped: the other primaries flag it failed after cluster-node-timeout, its replica
// starts an election within a second or two of that, and a failed election is tried
// again after twice the node timeout. Several rounds, and half a minute for a loaded
// machine: only a failing test reaches it.
func (c *Cluster) FailoverDeadline() time.Duration {
	return 10*c.opts.NodeTimeout + 30*time.Second
}

// Seeds are every node's address.
func (c *Cluster) Seeds() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr())
	}
	return out
}

// ID is a node's cluster node id.
func (c *Cluster) ID(n *Server) string { return c.ids[n] }

// Node returns the node at addr (nil if none).
func (c *Cluster) Node(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

func (c *Cluster) waitFor(within time.Duration, notYet func() string) {
	c.tb.Helper()
	deadline := time.Now().Add(within)
	why := ""
	for time.Now().Before(deadline) {
		if why = notYet(); why == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.tb.Fatalf("redistest: cluster not ready within %v: %s", within, why)
}

// WaitHealthy waits until every running node reports cluster_state:ok, agrees on
// which node serves each slot, and every running replica is in sync with its
// primary.
func (c *Cluster) WaitHealthy(within time.Duration) {
	c.tb.Helper()
	c.waitFor(within, c.notHealthy)
}

func (c *Cluster) notHealthy() string {
	view := ""
	for _, n := range c.Nodes {
		if n.Pid() == 0 {
			continue
		}
		info, err := n.Do("CLUSTER", "INFO")
		s, _ := info.(string)
		if err != nil || !strings.Contains(s, "cluster_state:ok") {
			return n.Addr() + " not ok"
		}
		owners, err := c.slotOwners(n)
		if err != nil {
			return err.Error()
		}
		if view != "" && owners != view {
			return "nodes disagree on the slot map"
		}
		view = owners
		if roleOf(n) == "slave" {
			repl, err := n.Do("INFO", "replication")
			s, _ := repl.(string)
			if err != nil || !strings.Contains(s, "master_link_status:up") {
				return "replica " + n.Addr() + " not in sync"
			}
		}
	}
	return ""
}

// slotOwners describes the slot map as n sees it: "start-end@addr" for each range,
// sorted by start.
func (c *Cluster) slotOwners(n *Server) (string, error) {
	v, err := n.Do("CLUSTER", "SLOTS")
	if err != nil {
		return "", err
	}
	ranges, _ := v.([]any)
	byStart := map[int64]string{}
	for _, r := range ranges {
		e, _ := r.([]any)
		if len(e) < 3 {
			continue
		}
		start, _ := e[0].(int64)
		end, _ := e[1].(int64)
		node, _ := e[2].([]any)
		if len(node) < 2 {
			continue
		}
		host, _ := node[0].(string)
		port, _ := node[1].(int64)
		byStart[start] = fmt.Sprintf("%d-%d@%s", start, end, net.JoinHostPort(host, strconv.FormatInt(port, 10)))
	}
	out := ""
	for s := int64(0); s < 16384; s++ {
		if d, ok := byStart[s]; ok {
			out += d + " "
		}
	}
	return out, nil
}

// PrimaryOf returns the node serving slot, as a running node sees it.
func (c *Cluster) PrimaryOf(slot int) *Server {
	c.tb.Helper()
	for _, n := range c.Nodes {
		if n.Pid() == 0 {
			continue
		}
		v, err := n.Do("CLUSTER", "SLOTS")
		if err != nil {
			continue
		}
		ranges, _ := v.([]any)
		for _, r := range ranges {
			e, _ := r.([]any)
			start, _ := e[0].(int64)
			end, _ := e[1].(int64)
			if int64(slot) < start || int64(slot) > end {
				continue
			}
			node, _ := e[2].([]any)
			host, _ := node[0].(string)
			port, _ := node[1].(int64)
			if s := c.Node(net.JoinHostPort(host, strconv.FormatInt(port, 10))); s != nil {
				return s
			}
		}
	}
	c.tb.Fatalf("redistest: no node serves slot %d", slot)
	return nil
}

// ReplicaOf returns a running replica of primary (nil if none).
func (c *Cluster) ReplicaOf(primary *Server) *Server {
	for _, n := range c.Nodes {
		if n.Pid() == 0 || n == primary {
			continue
		}
		v, err := n.Do("ROLE")
		if err != nil {
			continue
		}
		a, _ := v.([]any)
		if len(a) >= 3 {
			role, _ := a[0].(string)
			port, _ := a[2].(int64)
			if role == "slave" && int(port) == primary.Port {
				return n
			}
		}
	}
	return nil
}

// WaitSlotMoves waits until every running node agrees that a node other than old
// serves slot, and the cluster is healthy; it returns that node.
func (c *Cluster) WaitSlotMoves(slot int, old *Server, within time.Duration) *Server {
	c.tb.Helper()
	var owner *Server
	c.waitFor(within, func() string {
		if why := c.notHealthy(); why != "" {
			return why
		}
		owner = c.PrimaryOf(slot)
		if owner == old {
			return "slot still served by " + old.Addr()
		}
		return ""
	})
	return owner
}

// ErrorStat returns a node's count of an error code from INFO errorstats
// (errorstat_MOVED:count=N), 0 when it has none.
func (s *Server) ErrorStat(code string) int64 {
	s.tb.Helper()
	info, _ := s.MustDo("INFO", "errorstats").(string)
	for _, line := range strings.Split(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "errorstat_"+code+":count=")
		if ok {
			n, _ := strconv.ParseInt(rest, 10, 64)
			return n
		}
	}
	return 0
}

// BeginMigration marks slot as migrating from one primary to another (CLUSTER
// SETSLOT IMPORTING on the target, MIGRATING on the source).
func (c *Cluster) BeginMigration(slot int, from, to *Server) {
	c.tb.Helper()
	to.MustDo("CLUSTER", "SETSLOT", strconv.Itoa(slot), "IMPORTING", c.ids[from])
	from.MustDo("CLUSTER", "SETSLOT", strconv.Itoa(slot), "MIGRATING", c.ids[to])
}

// MigrateKeys moves up to n keys of slot from one primary to the other (MIGRATE)
// and returns how many it moved.
func (c *Cluster) MigrateKeys(slot int, from, to *Server, n int) int {
	c.tb.Helper()
	v := from.MustDo("CLUSTER", "GETKEYSINSLOT", strconv.Itoa(slot), strconv.Itoa(n))
	keys, _ := v.([]any)
	if len(keys) == 0 {
		return 0
	}
	args := []string{"MIGRATE", to.Host, strconv.Itoa(to.Port), "", "0", "5000"}
	if c.opts.Password != "" {
		args = append(args, "AUTH", c.opts.Password)
	}
	args = append(args, "KEYS")
	for _, k := range keys {
		s, _ := k.(string)
		args = append(args, s)
	}
	from.MustDo(args...)
	return len(keys)
}

// FinishMigration assigns slot to its new primary on every running primary
// (CLUSTER SETSLOT NODE), the target first.
func (c *Cluster) FinishMigration(slot int, from, to *Server) {
	c.tb.Helper()
	to.MustDo("CLUSTER", "SETSLOT", strconv.Itoa(slot), "NODE", c.ids[to])
	from.MustDo("CLUSTER", "SETSLOT", strconv.Itoa(slot), "NODE", c.ids[to])
	for _, n := range c.Nodes {
		if n != to && n != from && n.Pid() != 0 && roleOf(n) == "master" {
			n.MustDo("CLUSTER", "SETSLOT", strconv.Itoa(slot), "NODE", c.ids[to])
		}
	}
}

// Slow leaves a slow scenario (a failover, a cluster reshaped, a long concurrency run)
// to make test-all: under go test -short, which make test uses to stay within its
// time budget, it skips the test saying why. make test still runs at least one
// scenario of each kind under Yaegi. The skip message starts with "make test-all:",
// which make test's summary counts as a deliberate skip.
func Slow(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("make test-all: " + what)
	}
}
