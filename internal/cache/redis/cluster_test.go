package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// TestKeySlotsFollowTheClusterSpecification: CRC16/XMODEM's check value, and the
// hash-tag rules with the specification's examples.
func TestKeySlotsFollowTheClusterSpecification(t *testing.T) {
	if got := CRC16("123456789"); got != 0x31C3 {
		t.Fatalf("CRC16(123456789) = %#x, want 0x31C3", got)
	}
	if got := Slot("123456789"); got != 0x31C3%16384 {
		t.Fatalf("Slot(123456789) = %d", got)
	}
	for _, c := range []struct{ a, b string }{
		{"{user1000}.following", "{user1000}.followers"}, // the tag alone is hashed
		{"foo{{bar}}zap", "{bar"},                        // the first { and the first } after it
		{"foo{bar}{zap}", "bar"},                         // only the first tag
		{"foo{}{bar}", "foo{}{bar}"},                     // an empty tag: the whole key
		{"gatehouse:{gh}revoked:00", "gh"},
		{"{", "{"}, {"}{", "}{"}, {"a{b", "a{b"},
	} {
		if Slot(c.a) != Slot(c.b) {
			t.Errorf("Slot(%q) = %d, Slot(%q) = %d: want equal", c.a, Slot(c.a), c.b, Slot(c.b))
		}
	}
	if Slot("foo{}{bar}") == Slot("bar") {
		t.Error("an empty tag must not select the next one")
	}
}

// keyPerSlot returns one key for each of the 16384 slots.
func keyPerSlot() []string {
	keys := make([]string, SlotCount)
	left := SlotCount
	for i := 0; left > 0; i++ {
		k := "slot-key:" + strconv.Itoa(i)
		if s := Slot(k); keys[s] == "" {
			keys[s] = k
			left--
		}
	}
	return keys
}

func clusterClient(t *testing.T, c *redistest.Cluster, o Options, co ClusterOptions) *ClusterClient {
	t.Helper()
	if co.Seeds == nil {
		co.Seeds = c.Seeds()[:1]
	}
	if o.PoolSize == 0 {
		o.PoolSize = 2
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 200 * time.Millisecond
	}
	cc, err := NewClusterClient(o, co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	connect(t, cc)
	return cc
}

func errorStats(c *redistest.Cluster, code string) int64 {
	var n int64
	for _, node := range c.Nodes {
		if node.Pid() != 0 {
			n += node.ErrorStat(code)
		}
	}
	return n
}

func resetStats(c *redistest.Cluster) {
	for _, node := range c.Nodes {
		if node.Pid() != 0 {
			node.ResetStats()
		}
	}
}

// TestClusterClient runs on one cluster of three primaries with a replica each, in
// order: routing of every slot, the two map commands, a slot migration under
// traffic, tracking on every primary, and a primary killed.
func TestClusterClient(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOptions{ReplicasEach: 1, Password: "cluster-secret"})
	cc := clusterClient(t, c, Options{Password: "cluster-secret"}, ClusterOptions{})
	ctx := context.Background()
	keys := keyPerSlot()

	t.Run("EverySlotIsRoutedToItsPrimaryWithoutARedirection", func(t *testing.T) {
		resetStats(c)
		var cmds [][]any
		for s, k := range keys {
			cmds = append(cmds, []any{"SET", k, s})
		}
		vals, err := cc.Pipeline(ctx, cmds)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if v.String() != "OK" {
				t.Fatalf("SET %s: %+v", keys[i], v)
			}
		}
		// Read back, one by one through Do for a sample, and all through a pipeline.
		for s := 0; s < SlotCount; s += 97 {
			v, err := cc.Do(ctx, "GET", keys[s])
			if err != nil || v.String() != strconv.Itoa(s) {
				t.Fatalf("GET %s: %v %v", keys[s], v, err)
			}
		}
		cmds = cmds[:0]
		for _, k := range keys {
			cmds = append(cmds, []any{"GET", k})
		}
		vals, err = cc.Pipeline(ctx, cmds)
		if err != nil {
			t.Fatal(err)
		}
		for s, v := range vals {
			if v.String() != strconv.Itoa(s) {
				t.Fatalf("GET %s = %q", keys[s], v.String())
			}
		}
		if n := errorStats(c, "MOVED") + errorStats(c, "ASK"); n != 0 || cc.ClusterStats().Moved != 0 {
			t.Fatalf("%d redirections: the client's slots differ from the servers'", n)
		}
		// Each primary holds exactly the keys of its slots.
		total := int64(0)
		for _, node := range c.Nodes {
			n, _ := node.MustDo("DBSIZE").(int64)
			if node.Role() == "master" {
				total += n
			}
		}
		if total != SlotCount {
			t.Fatalf("primaries hold %d keys, want %d", total, SlotCount)
		}
		for _, k := range []string{"a", "{user1000}.following", "foo{}{bar}", "gatehouse:{gh}revoked:ab", keys[12345]} {
			want, _ := c.Nodes[0].MustDo("CLUSTER", "KEYSLOT", k).(int64)
			if int64(Slot(k)) != want {
				t.Errorf("Slot(%q) = %d, server says %d", k, Slot(k), want)
			}
		}
	})

	t.Run("ShardsAndSlotsRepliesGiveTheSameMap", func(t *testing.T) {
		m := topology(cc)
		node := m.nodes[m.owner[0]]
		shards, err := node.client.Do(ctx, "CLUSTER", "SHARDS")
		if err != nil {
			t.Fatal(err)
		}
		slots, err := node.client.Do(ctx, "CLUSTER", "SLOTS")
		if err != nil {
			t.Fatal(err)
		}
		a, err := parseShards(shards, false, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		b, err := parseSlots(slots, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if describeRanges(a) != describeRanges(b) || len(a) != 3 {
			t.Fatalf("CLUSTER SHARDS: %s\nCLUSTER SLOTS: %s", describeRanges(a), describeRanges(b))
		}
	})

	t.Run("SlotMigrationUnderTrafficFollowsAskAndMoved", func(t *testing.T) {
		slot := Slot("migrating-key")
		from := c.PrimaryOf(slot)
		var to *redistest.Server
		for _, n := range c.Nodes {
			if n != from && n.Role() == "master" {
				to = n
				break
			}
		}
		// Keys of the migrating slot (a hash tag keeps them there) and of others.
		var mkeys []string
		for i := 0; i < 50; i++ {
			mkeys = append(mkeys, "{migrating-key}:"+strconv.Itoa(i))
			if _, err := cc.Do(ctx, "SET", mkeys[i], i); err != nil {
				t.Fatal(err)
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		ops := 0
		for g := 0; g < 4; g++ {
			g := g
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					k := mkeys[(i*4+g)%len(mkeys)]
					var err error
					var v Value
					if i%2 == 0 {
						v, err = cc.Do(ctx, "GET", k)
						if err == nil && v.Null {
							err = ErrUnexpectedReply // a key lost in the move
						}
					} else {
						_, err = cc.Pipeline(ctx, [][]any{{"SET", k, i}, {"GET", keys[i%SlotCount]}, {"PTTL", k}})
					}
					mu.Lock()
					ops++
					if err != nil && len(failures) < 5 {
						failures = append(failures, err.Error())
					}
					mu.Unlock()
					time.Sleep(time.Millisecond)
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		c.BeginMigration(slot, from, to)
		for c.MigrateKeys(slot, from, to, 10) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		// A key created now in a migrating slot goes to the target, through ASK.
		if _, err := cc.Do(ctx, "SET", "{migrating-key}:new", "1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		c.FinishMigration(slot, from, to)
		time.Sleep(100 * time.Millisecond)
		close(stop)
		wg.Wait()
		st := cc.ClusterStats()
		t.Logf("migration of slot %d under %d operations: %d MOVED, %d ASK followed, %d retries", slot, ops, st.Moved, st.Asked, st.Retries)
		if len(failures) > 0 {
			t.Fatalf("operations failed during the migration: %v", failures)
		}
		if st.Asked == 0 || st.Moved == 0 {
			t.Fatalf("expected both ASK and MOVED during a migration: %+v", st)
		}
		if got := to.MustDo("GET", "{migrating-key}:new"); got != "1" {
			t.Fatalf("the key created during the migration is not on the target: %v", got)
		}
		// Once the map is read again, nothing goes to the wrong node.
		waitUntil(t, 5*time.Second, "the map to show the move", func() bool {
			m := topology(cc)
			return m.nodes[m.owner[slot]].addr == to.Addr()
		})
		resetStats(c)
		moved := cc.ClusterStats().Moved
		for round := 0; round < 3; round++ {
			for _, k := range mkeys {
				if _, err := cc.Do(ctx, "GET", k); err != nil {
					t.Fatal(err)
				}
			}
			var cmds [][]any
			for _, k := range keys {
				cmds = append(cmds, []any{"GET", k})
			}
			if _, err := cc.Pipeline(ctx, cmds); err != nil {
				t.Fatal(err)
			}
		}
		if n := errorStats(c, "MOVED") + errorStats(c, "ASK"); n != 0 || cc.ClusterStats().Moved != moved {
			t.Fatalf("after the map was refreshed: %d redirections answered by the servers, client counted %d more MOVED", n, cc.ClusterStats().Moved-moved)
		}
	})

	t.Run("TrackingCoversEveryPrimaryAndEndsWhenOneIsReplaced", func(t *testing.T) {
		redistest.Slow(t, "a Cluster primary killed and replaced (the Yaegi host runs a Cluster failover in make test)")
		got := make(chan string, 64)
		lost := make(chan error, 1)
		tr, err := cc.Track(ctx, []string{"t:"}, TrackingHandler{
			Invalidate: func(ks [][]byte, flush bool) {
				for _, k := range ks {
					got <- string(k)
				}
			},
			Lost: func(err error) { lost <- err },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		primaries := cc.ClusterStats().Primaries
		if len(primaries) != 3 {
			t.Fatalf("primaries %v", primaries)
		}
		// One key on each primary, written by another connection.
		seen := map[string]bool{}
		for i := 0; len(seen) < 3; i++ {
			k := "t:" + strconv.Itoa(i)
			owner := c.PrimaryOf(Slot(k))
			if seen[owner.Addr()] {
				continue
			}
			seen[owner.Addr()] = true
			owner.MustDo("SET", k, "1")
			select {
			case inv := <-got:
				if inv != k {
					t.Fatalf("invalidation of %q, want %q", inv, k)
				}
			case <-time.After(eventDeadline):
				t.Fatalf("no invalidation for %s from %s", k, owner.Addr())
			}
		}

		// A primary killed: its replica takes over, and the subscription (which
		// covers the dead node, not the new primary) is lost.
		slot := Slot("failover-key")
		old := c.PrimaryOf(slot)
		w := startWriter(cc, "failover-key")
		defer w.close()
		rep := c.ReplicaOf(old)
		time.Sleep(20 * time.Millisecond)
		w.failed()
		failAt := time.Now()
		old.Kill()
		select {
		case <-lost:
		case <-time.After(10 * time.Second):
			t.Fatal("tracking not lost when its primary died")
		}
		named := whenTrue(t, 30*time.Second, "the replica promoted", func() bool { return rep.Role() == "master" })
		primary := c.WaitSlotMoves(slot, old, 30*time.Second)
		gap, first, fails, errs := w.report(t, 10*time.Second)
		t.Logf("FIGURE cluster client, primary killed (cluster-node-timeout 1 s, automatic failover): longest time without a successful write %v; first successful write %v after the failure, %v after the replica was promoted (%v after the failure); %d writes failed meanwhile (first errors: %v)",
			gap.Round(time.Millisecond), first.Sub(failAt).Round(time.Millisecond), first.Sub(named).Round(time.Millisecond),
			named.Sub(failAt).Round(time.Millisecond), fails, errs)
		waitUntil(t, 5*time.Second, "the new primary in the map", func() bool {
			for _, p := range cc.ClusterStats().Primaries {
				if p == primary.Addr() {
					return true
				}
			}
			return false
		})
		tr2, err := cc.Track(ctx, []string{"t:"}, TrackingHandler{
			Invalidate: func(ks [][]byte, flush bool) {
				for _, k := range ks {
					got <- string(k)
				}
			},
			Lost: func(err error) { _ = err },
		})
		if err != nil {
			t.Fatalf("tracking again after the failover: %v", err)
		}
		defer tr2.Close()
		primary.MustDo("SET", "t:{failover-key}", "1")
		select {
		case inv := <-got:
			if inv != "t:{failover-key}" {
				t.Fatalf("invalidation of %q", inv)
			}
		case <-time.After(eventDeadline):
			t.Fatal("no invalidation from the promoted replica")
		}
		if v, err := cc.Do(ctx, "GET", "failover-key"); err != nil || v.Null {
			t.Fatalf("read after the failover: %v %v", v, err)
		}
	})
}

func describeRanges(rs []slotRange) string {
	byStart := map[int]string{}
	for _, r := range rs {
		byStart[r.start] = strconv.Itoa(r.start) + "-" + strconv.Itoa(r.end) + "@" + r.addr
	}
	var out []string
	for s := 0; s < SlotCount; s++ {
		if d, ok := byStart[s]; ok {
			out = append(out, d)
		}
	}
	return strings.Join(out, " ")
}

// TestClusterOverTLSWithAnACLUser: TLS (the test CA, a client certificate) and an
// ACL user apply to every node the client reaches.
func TestClusterOverTLSWithAnACLUser(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOptions{TLS: true, Users: []string{"gh on >gh-secret ~* +@all"}})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.Nodes[0].CAPEM)
	cert, err := tls.X509KeyPair(c.Nodes[0].ClientCertPEM, c.Nodes[0].ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	cc := clusterClient(t, c, Options{TLS: cfg, Username: "gh", Password: "gh-secret", ClientName: "gh-tls"}, ClusterOptions{})
	ctx := context.Background()
	keys := keyPerSlot()
	for s := 0; s < SlotCount; s += 1000 {
		if _, err := cc.Do(ctx, "SET", keys[s], s); err != nil {
			t.Fatalf("SET over TLS: %v", err)
		}
	}
	for _, n := range c.Nodes {
		users := map[string]bool{}
		for _, cl := range n.Clients() {
			if cl["name"] == "gh-tls" {
				users[cl["user"]] = true
			}
		}
		if !users["gh"] || len(users) != 1 {
			t.Fatalf("node %s: connections of users %v, want gh only", n.Addr(), users)
		}
	}
	wrong, err := NewClusterClient(Options{TLS: cfg, Username: "gh", Password: "nope"}, ClusterOptions{Seeds: c.Seeds()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = wrong.Close() }()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := wrong.Connect(cctx); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
}

// BenchmarkSlot: the hash slot of a Shared key (hashed whole) and of a cluster-mode
// Revocation key (its {gh} tag alone). Under Yaegi: BenchmarkYaegiSlot.
func BenchmarkSlot(b *testing.B) {
	for name, key := range map[string]string{
		"shared-key":     "gatehouse:tokver:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"revocation-key": "gatehouse:{gh}revoked:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	} {
		key := key
		b.Run(name, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				n += Slot(key)
			}
			if n < 0 {
				b.Fatal(n)
			}
		})
	}
}

// crc16Reference is CRC-16/XMODEM computed bit by bit, as the specification states
// it, to check the table-driven CRC16.
func crc16Reference(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func TestCRC16MatchesTheBitwiseDefinition(t *testing.T) {
	inputs := []string{"", "a", "123456789", "{", "gatehouse:tokver:" + strings.Repeat("f", 64), "\xff\x00\x80"}
	for i := 0; i < 5000; i++ {
		inputs = append(inputs, strconv.Itoa(i*7919)+strings.Repeat("x", i%70))
	}
	for _, s := range inputs {
		if got, want := CRC16(s), crc16Reference(s); got != want {
			t.Fatalf("CRC16(%q) = %#x, want %#x", s, got, want)
		}
	}
}

func TestCommandsAreRoutedByTheirKey(t *testing.T) {
	cc, err := NewClusterClient(Options{}, ClusterOptions{Seeds: []string{"127.0.0.1:1"}, HomeKey: "home{gh}"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	home := Slot("gh")
	for _, c := range []struct {
		args []any
		want int
	}{
		{[]any{"GET", "k1"}, Slot("k1")},
		{[]any{"get", []byte("k1")}, Slot("k1")},
		{[]any{"SET", "{t}a", "v", "PX", 5}, Slot("t")},
		{[]any{"PING"}, home},
		{[]any{"INFO", "server"}, home},
		{[]any{"client", "id"}, home},
		{[]any{"EVAL", "return 1", "0"}, home},
		{[]any{"EVAL", "return 1", 1, "k9", "arg"}, Slot("k9")},
		{[]any{"FCALL", "f", "2", "k7", "k8"}, Slot("k7")},
	} {
		if got := commandSlot(cc, c.args); got != c.want {
			t.Errorf("%v: slot %d, want %d", c.args, got, c.want)
		}
	}
	for _, bad := range []ClusterOptions{{}, {Seeds: []string{"no-port"}}} {
		if _, err := NewClusterClient(Options{}, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := NewClusterClient(Options{DB: 1}, ClusterOptions{Seeds: []string{"h:1"}}); err == nil {
		t.Error("a database other than 0 accepted")
	}
}
