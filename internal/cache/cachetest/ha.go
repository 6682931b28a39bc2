package cachetest

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
)

// OpenSentinel builds a hybrid store called name on the primary that the sentinels
// name (their own password sentinelPassword, the data nodes' password); "" or the
// error's text.
func OpenSentinel(r *Replicas, name, master string, sentinels []string, password, sentinelPassword, prefix string) string {
	o := storeOptions("hybrid", prefix)
	o.Redis.Password = password
	o.Redis.Sentinel.MasterName = master
	o.Redis.Sentinel.Addresses = sentinels
	o.Redis.Sentinel.Password = sentinelPassword
	return openWith(r, name, o)
}

// OpenCluster builds a hybrid store called name on the cluster that seeds belong to;
// "" or the error's text.
func OpenCluster(r *Replicas, name string, seeds []string, password, prefix string) string {
	o := storeOptions("hybrid", prefix)
	o.Redis.Password = password
	o.Redis.Cluster = cache.ClusterOptions{Addresses: seeds}
	return openWith(r, name, o)
}

// WaitHealthy waits up to seconds for the named store to be healthy and coherent;
// it returns "" or its state.
func WaitHealthy(r *Replicas, name string, seconds int) string {
	s := get(r, name)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for s.Health() != cache.HealthHealthy || !s.Coherent() {
		if time.Now().After(deadline) {
			return State(r, name)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ""
}

// ClusterTranscript checks the cluster client on the cluster that seeds belong to:
// the CRC16 check value, the slots of keys (a checksum), then every key written with
// one pipeline split over the primaries and a sample read back with Do. It describes
// the results, and the redirections followed (none are expected: the client's slots
// must be the servers').
func ClusterTranscript(seeds []string, password string, keys []string) string {
	// Long timeouts: the pipeline carries 16 384 commands, and reading their replies
	// under Yaegi on a loaded machine took more than 10 s (an i/o timeout).
	cc, err := redis.NewClusterClient(redis.Options{Password: password, PoolSize: 2, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second},
		redis.ClusterOptions{Seeds: seeds})
	if err != nil {
		return "new: " + err.Error()
	}
	defer func() { _ = cc.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := cc.Connect(ctx); err != nil {
		return "connect: " + err.Error()
	}
	// Connect reaches one node; wait for every primary's pool to come up (each
	// connection is a dial and a handshake, slow on a loaded machine), so that the
	// pipeline measures routing, not start-up. The wait has its own deadline and
	// says so when it passes: sharing the pipeline's context, a slow start used to
	// leave the pipeline a context too short to wait for a connection, and the
	// transcript read "pipeline: redis: not connected".
	want := 2 * len(cc.ClusterStats().Primaries)
	pools := time.Now().Add(30 * time.Second)
	for cc.Live() < want {
		if time.Now().After(pools) {
			return "connect: " + strconv.Itoa(cc.Live()) + " of " + strconv.Itoa(want) + " pooled connections up after 30 s"
		}
		time.Sleep(5 * time.Millisecond)
	}
	out := "crc16(123456789)=" + strconv.Itoa(int(redis.CRC16("123456789"))) +
		" slot({user1000}.following)=" + strconv.Itoa(redis.Slot("{user1000}.following")) +
		" slot(foo{}{bar})=" + strconv.Itoa(redis.Slot("foo{}{bar}")) + "\n"
	sum := 0
	cmds := make([][]any, 0, len(keys))
	for i, k := range keys {
		sum = (sum*31 + redis.Slot(k)) % 1000000007
		cmds = append(cmds, []any{"SET", k, i})
	}
	out += "slot checksum " + strconv.Itoa(sum) + "\n"
	vals, err := cc.Pipeline(ctx, cmds)
	if err != nil {
		return out + "pipeline: " + err.Error()
	}
	ok := 0
	for _, v := range vals {
		if v.String() == "OK" {
			ok++
		}
	}
	out += "set " + strconv.Itoa(ok) + " of " + strconv.Itoa(len(keys)) + "\n"
	bad := 0
	for i := 0; i < len(keys); i += 97 {
		v, err := cc.Do(ctx, "GET", keys[i])
		if err != nil || v.String() != strconv.Itoa(i) {
			bad++
		}
	}
	st := cc.ClusterStats()
	out += "bad reads " + strconv.Itoa(bad) + " primaries " + strconv.Itoa(len(st.Primaries)) +
		" moved " + strconv.FormatUint(st.Moved, 10) + " asked " + strconv.FormatUint(st.Asked, 10) + "\n"
	return out
}

// RevokeUntil writes revocations tag-during-0, -1, ... on the named store every 100
// ms while done() is false (at most 100), and returns their ids joined by spaces, or
// "error: ..." when one failed.
func RevokeUntil(r *Replicas, name, tag string, done func() bool) string {
	s := get(r, name)
	var ids []string
	for i := 0; i < 100 && !done(); i++ {
		id := tag + "-during-" + strconv.Itoa(i)
		if err := s.Set(context.Background(), Revoked, id, []byte("1"), time.Hour); err != nil {
			return "error: " + err.Error()
		}
		ids = append(ids, id)
		time.Sleep(100 * time.Millisecond)
	}
	return strings.Join(ids, " ")
}

// SlotLoop computes the slot of keys n times in turn (the body of the slot
// benchmarks) and returns the sum of the slots.
func SlotLoop(keys []string, n int) int {
	sum := 0
	for i := 0; i < n; i++ {
		sum += redis.Slot(keys[i%len(keys)])
	}
	return sum
}

// GetLoop sends GET key n times, one at a time, through a cluster client (seeds
// given) or a plain client (addr given), and returns "" or the first error's text.
func GetLoop(seeds []string, addr, key string, n int) string {
	var b redis.Backend
	if len(seeds) > 0 {
		cc, err := redis.NewClusterClient(redis.Options{PoolSize: 1}, redis.ClusterOptions{Seeds: seeds})
		if err != nil {
			return err.Error()
		}
		b = cc
	} else {
		b = redis.NewClient(redis.Options{Addr: addr, PoolSize: 1})
	}
	defer func() { _ = b.Close() }()
	ctx := context.Background()
	if err := b.Connect(ctx); err != nil {
		return err.Error()
	}
	if _, err := b.Do(ctx, "SET", key, "v"); err != nil {
		return err.Error()
	}
	for i := 0; i < n; i++ {
		if _, err := b.Do(ctx, "GET", key); err != nil {
			return err.Error()
		}
	}
	return ""
}

// RecoverRounds opens n hybrid stores (probing every 50 ms) on the server at addr,
// under prefix; then, rounds times, runs fault (an outage of the server, say) and
// checks that the stores come back and are coherent: every store healthy again, each
// one caching "not revoked" for a new id, store 0 revoking it, and every store
// answering "revoked" (a store that missed the loss of its invalidation subscription
// would keep answering from L1). Finally it closes them all. Each step has
// recoverWithin: a store that does not recover stays stuck for good, so the deadline
// only needs to outlast a loaded machine. The stores' background goroutines all wake at the same moments. It
// returns "" or what went wrong.
func RecoverRounds(addr, prefix string, n, rounds int, fault func()) string {
	r := NewReplicas()
	var names []string
	for i := 0; i < n; i++ {
		names = append(names, "s"+strconv.Itoa(i))
		o := storeOptions("hybrid", prefix)
		o.Redis.URL = "redis://" + addr
		if e := openWith(r, names[i], o); e != "" {
			return e
		}
	}
	problem := ""
	for round := 0; round <= rounds && problem == ""; round++ {
		if round > 0 {
			fault()
		}
		id := "round-" + strconv.Itoa(round)
		for _, name := range names {
			if e := WaitHealthy(r, name, int(recoverWithin/time.Second)); e != "" {
				problem = "round " + strconv.Itoa(round) + ": " + name + " is " + e + " after " + recoverWithin.String()
				break
			}
			if got := Check(r, name, id); got != "not-revoked" && got != "unverified" {
				problem = "round " + strconv.Itoa(round) + ": " + name + ": " + got + " before the revocation"
				break
			}
		}
		if problem != "" {
			break
		}
		if e := Revoke(r, names[0], id); e != "" {
			problem = "round " + strconv.Itoa(round) + ": revoke: " + e
			break
		}
		deadline := time.Now().Add(recoverWithin)
		for _, name := range names {
			for Check(r, name, id) != "revoked" {
				if time.Now().After(deadline) {
					problem = "round " + strconv.Itoa(round) + ": " + name + " does not see the revocation after " + recoverWithin.String() + " (" + State(r, name) + ")"
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			if problem != "" {
				break
			}
		}
	}
	done := make(chan string, 1)
	go func() { done <- CloseAll(r) }()
	timer := time.NewTimer(recoverWithin)
	defer timer.Stop()
	select {
	case e := <-done:
		problem += e
	case <-timer.C:
		problem += "; Close did not return within " + recoverWithin.String()
	}
	return problem
}

// recoverWithin bounds each step of RecoverRounds.
const recoverWithin = 30 * time.Second
