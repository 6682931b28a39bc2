// Package cachetest holds scenarios that tests run twice: compiled, and under Yaegi
// (internal/yaegihost evaluates this package in the plugin's interpreter and calls
// these functions through reflection), so that the two runs can be compared. It only
// uses what plugin code may use, and plugin code never imports it.
//
// Everything here is a plain function over plain arguments (strings, ints, pointers
// handed back), because compiled code cannot call methods of interpreted types.
package cachetest

import (
	"context"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
)

// Keyspaces the scenarios use.
var (
	Revoked = &cache.Keyspace{Name: "revoked", Class: cache.Revocation, MaxTTL: time.Hour}
	Tokver  = &cache.Keyspace{Name: "tokver", Class: cache.Shared, MaxTTL: time.Hour}
	Lock    = &cache.Keyspace{Name: "lock:refresh", Class: cache.Coordination, MaxTTL: time.Minute}
	Private = &cache.Keyspace{Name: "private", Class: cache.Local, MaxTTL: time.Hour}
)

// MatchReplies runs callers goroutines, each doing each SET then GET of a value
// distinct to (goroutine, iteration) on one client with poolSize multiplexed
// connections. It returns how many replies did not belong to their request, how many
// calls failed, and the first failure's text.
func MatchReplies(addr string, poolSize, callers, each int) (int, int, string) {
	c := redis.NewClient(redis.Options{Addr: addr, PoolSize: poolSize, ReadTimeout: 60 * time.Second})
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := c.Connect(ctx)
	cancel()
	if err != nil {
		return 0, 1, err.Error()
	}
	var mu sync.Mutex
	mismatches, failures := 0, 0
	first := ""
	record := func(mismatch bool, msg string) {
		mu.Lock()
		if mismatch {
			mismatches++
		} else {
			failures++
		}
		if first == "" {
			first = msg
		}
		mu.Unlock()
	}
	parallel(callers, func(g int) {
		bg := context.Background()
		prefix := "m" + strconv.Itoa(g) + ":"
		for i := 0; i < each; i++ {
			key := prefix + strconv.Itoa(i%64)
			val := "v" + strconv.Itoa(g) + ":" + strconv.Itoa(i)
			v, err := c.Do(bg, "SET", key, val)
			if err != nil {
				record(false, "SET: "+err.Error())
				continue
			}
			if string(v.Str) != "OK" {
				record(true, "SET "+key+" answered "+strconv.Quote(string(v.Str)))
			}
			v, err = c.Do(bg, "GET", key)
			if err != nil {
				record(false, "GET: "+err.Error())
				continue
			}
			if string(v.Str) != val {
				record(true, "GET "+key+": got "+strconv.Quote(string(v.Str))+", want "+strconv.Quote(val))
			}
		}
	})
	return mismatches, failures, first
}

// parallel runs f(0) … f(n-1) in n goroutines and returns when all have.
func parallel(n int, f func(g int)) {
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		g := g
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(g)
		}()
	}
	wg.Wait()
}

// Throughput runs n commands of op ("get" or "set") on one client from callers
// goroutines, depth commands per round trip (1: plain calls; more: pipelines), and
// returns the operations per second, or the first error's text.
func Throughput(addr string, poolSize, callers, depth, n int, op string) (float64, string) {
	c := redis.NewClient(redis.Options{Addr: addr, PoolSize: poolSize, ReadTimeout: 60 * time.Second})
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := c.Connect(ctx)
	cancel()
	if err != nil {
		return 0, err.Error()
	}
	for c.Live() < poolSize {
		time.Sleep(time.Millisecond)
	}
	value := []byte("xxx") // redis-benchmark's default payload is 3 bytes
	var cmd []any
	if op == "set" {
		cmd = []any{"SET", "key:__rand_int__", value}
	} else {
		cmd = []any{"GET", "key:__rand_int__"}
	}
	batch := make([][]any, depth)
	for i := range batch {
		batch[i] = cmd
	}
	per := n / callers / depth
	if per < 1 {
		per = 1
	}
	var mu sync.Mutex
	first := ""
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bg := context.Background()
			for i := 0; i < per; i++ {
				var err error
				if depth == 1 {
					_, err = c.Do(bg, cmd...)
				} else {
					_, err = c.Pipeline(bg, batch)
				}
				if err != nil {
					mu.Lock()
					if first == "" {
						first = err.Error()
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != "" {
		return 0, first
	}
	return float64(per*callers*depth) / elapsed.Seconds(), ""
}

// MemoryTranscript runs a fixed sequence of operations on a memory-mode store and
// returns what each answered, one line each, for comparison between runs.
func MemoryTranscript() string {
	o := cache.Options{Mode: "memory", KeyPrefix: "t:", L1MaxEntries: 16, L1MaxBytes: 64 << 10, OutboxSize: 10, WriteQueue: 10, ProbeInterval: time.Second}
	s, err := cache.New(context.Background(), o, nil)
	if err != nil {
		return "New: " + err.Error()
	}
	defer func() { _ = s.Close(context.Background()) }()
	ctx := context.Background()
	out := ""
	line := func(what string, v []byte, found bool, err error) {
		e := "nil"
		if err != nil {
			e = err.Error()
		}
		out += what + " " + string(v) + " " + strconv.FormatBool(found) + " " + e + "\n"
	}
	g0 := s.Generation()
	for _, ks := range []*cache.Keyspace{Revoked, Tokver, Lock, Private} {
		v, f, err := s.Get(ctx, ks, "a")
		line(ks.Name+" get-empty", v, f, err)
		err = s.Set(ctx, ks, "a", []byte("1"), time.Minute)
		line(ks.Name+" set", nil, false, err)
		v, f, err = s.Get(ctx, ks, "a")
		line(ks.Name+" get", v, f, err)
		set, err := s.SetNX(ctx, ks, "a", []byte("2"), time.Minute)
		line(ks.Name+" setnx-taken", nil, set, err)
		err = s.Delete(ctx, ks, "a")
		line(ks.Name+" delete", nil, false, err)
		set, err = s.SetNX(ctx, ks, "a", []byte("3"), time.Minute)
		line(ks.Name+" setnx-free", nil, set, err)
		v, f, err = s.Get(ctx, ks, "a")
		line(ks.Name+" get-after", v, f, err)
	}
	err = s.Set(ctx, &cache.Keyspace{Name: "x", Class: cache.Shared}, "a", []byte("1"), 0)
	line("bad-ttl", nil, false, err)
	err = s.Set(ctx, &cache.Keyspace{Name: "has space", Class: cache.Shared}, "a", []byte("1"), time.Second)
	line("bad-keyspace", nil, false, err)
	err = s.Set(ctx, Tokver, "short", []byte("1"), 20*time.Millisecond)
	line("short", nil, false, err)
	time.Sleep(30 * time.Millisecond)
	v, f, err := s.Get(ctx, Tokver, "short")
	line("short-expired", v, f, err)
	for i := 0; i < 40; i++ {
		_ = s.Set(ctx, Tokver, "fill"+strconv.Itoa(i), []byte("x"), time.Minute)
	}
	st := s.Stats()
	out += "entries " + strconv.Itoa(st.L1Entries) + " evictions>0 " + strconv.FormatBool(st.L1Evictions > 0) +
		" generation-moved " + strconv.FormatBool(s.Generation() != g0) + " coherent " + strconv.FormatBool(s.Coherent()) +
		" health " + s.Health() + " mode " + st.Mode + "\n"
	_ = s.Close(ctx)
	err = s.Set(ctx, Tokver, "closed", []byte("1"), time.Minute)
	line("after-close", nil, false, err)
	return out
}

// Replicas is a set of named stores driven step by step from outside (fault tests
// kill and restart the server between steps).
type Replicas struct {
	mu     sync.Mutex
	stores map[string]cache.Store
}

// NewReplicas returns an empty set.
func NewReplicas() *Replicas { return &Replicas{stores: map[string]cache.Store{}} }

// Open builds a hybrid store called name on the Redis at url, with short timeouts
// for fault tests; it returns "" or the error's text.
func Open(r *Replicas, name, mode, url, prefix string) string {
	o := storeOptions(mode, prefix)
	o.Redis.URL = url
	return openWith(r, name, o)
}

// storeOptions is the configuration the scenarios use, without a Redis address.
func storeOptions(mode, prefix string) cache.Options {
	o := cache.Options{
		Mode: mode, KeyPrefix: prefix, L1MaxEntries: 10000, L1MaxBytes: 16 << 20, OutboxSize: 1000, WriteQueue: 1000,
		ProbeInterval: 50 * time.Millisecond,
	}
	o.Redis = cache.RedisOptions{
		PoolSize: 2, DialTimeout: time.Second, ReadTimeout: time.Second,
		WriteTimeout: time.Second, MaxReplyBytes: 1 << 20, ClientName: "gatehouse-yaegi",
	}
	return o
}

// openWith builds a store called name with o; "" or the error's text.
func openWith(r *Replicas, name string, o cache.Options) string {
	return openBound(r, name, o, "")
}

// openBound is openWith for the middleware binding (revocations shared with its
// other stores).
func openBound(r *Replicas, name string, o cache.Options, binding string) string {
	s, err := cache.NewInstance(context.Background(), o, nil, binding)
	if err != nil {
		return err.Error()
	}
	r.mu.Lock()
	r.stores[name] = s
	r.mu.Unlock()
	return ""
}

// OpenInstance is Open for the store of a middleware instance identified by binding
// (its revocations shared with the other stores of that binding in this process),
// with an L1 of l1MaxEntries.
func OpenInstance(r *Replicas, name, mode, url, prefix, binding string, l1MaxEntries int) string {
	o := storeOptions(mode, prefix)
	o.Redis.URL = url
	o.L1MaxEntries = l1MaxEntries
	return openBound(r, name, o, binding)
}

// Churn writes n Shared entries through the named store (other traffic filling its
// L1).
func Churn(r *Replicas, name string, n int) {
	s := get(r, name)
	for i := 0; i < n; i++ {
		_ = s.Set(context.Background(), Tokver, "churn-"+strconv.Itoa(i), []byte("claims"), time.Hour)
	}
}

// CloseOne closes the named store (a Traefik reload ending the old instance);
// "" or the error's text.
func CloseOne(r *Replicas, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := get(r, name).Close(ctx); err != nil {
		return err.Error()
	}
	return ""
}

func get(r *Replicas, name string) cache.Store {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stores[name]
}

// Revoke writes a revocation of id on the named store; "" or the error's text.
func Revoke(r *Replicas, name, id string) string {
	if err := get(r, name).Set(context.Background(), Revoked, id, []byte("1"), time.Hour); err != nil {
		return err.Error()
	}
	return ""
}

// Check asks the named store about id as a request would: "revoked", "not-revoked",
// "unverified" (ErrUnavailable), or "error: ..." for anything a request must never
// get. It also exercises the other classes and reports their errors.
func Check(r *Replicas, name, id string) string {
	s := get(r, name)
	ctx := context.Background()
	if _, _, err := s.Get(ctx, Tokver, "tok-"+id); err != nil {
		return "error: shared get: " + err.Error()
	}
	if err := s.Set(ctx, Tokver, "tok-"+id, []byte("claims"), time.Minute); err != nil {
		return "error: shared set: " + err.Error()
	}
	if _, err := s.SetNX(ctx, Lock, "lock-"+id, []byte("me"), time.Second); err != nil {
		return "error: setnx: " + err.Error()
	}
	_, found, err := s.Get(ctx, Revoked, id)
	switch {
	case err == cache.ErrUnavailable:
		return "unverified"
	case err != nil:
		return "error: " + err.Error()
	case found:
		return "revoked"
	}
	return "not-revoked"
}

// State returns the named store's health, coherence and generation, as
// "healthy coherent 7".
func State(r *Replicas, name string) string {
	s := get(r, name)
	st := s.Stats()
	return st.Health + " " + strconv.FormatBool(st.Coherent) + " " + strconv.FormatUint(s.Generation(), 10) +
		" outbox=" + strconv.Itoa(st.OutboxLength) + " tracking=" + st.Tracking
}

// CloseAll closes every store and reports the errors.
func CloseAll(r *Replicas) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := ""
	for name, s := range r.stores {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := s.Close(ctx); err != nil {
			out += name + ": " + err.Error() + "\n"
		}
		cancel()
	}
	return out
}

// Propagation measures, over trials, the time from a revocation's Set returning on
// the first of three hybrid stores to the other two answering "found" (both having
// cached "not found" before). It returns p50, p99 and max in microseconds, or an
// error's text.
func Propagation(url, prefix string, trials int) (int64, int64, int64, string) {
	r := NewReplicas()
	defer func() { CloseAll(r) }()
	names := []string{"a", "b", "c"}
	for _, n := range names {
		if e := Open(r, n, "hybrid", url, prefix); e != "" {
			return 0, 0, 0, e
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range names {
		for !get(r, n).Coherent() || get(r, n).Health() != cache.HealthHealthy {
			if time.Now().After(deadline) {
				return 0, 0, 0, n + " not healthy: " + State(r, n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	a := get(r, "a")
	ctx := context.Background()
	var lat []time.Duration
	for i := 0; i < trials; i++ {
		id := prefix + "sid-" + strconv.Itoa(i)
		for _, n := range names[1:] {
			o := get(r, n)
			if _, found, err := o.Get(ctx, Revoked, id); found || err != nil {
				return 0, 0, 0, "before the revocation: found or error"
			}
		}
		if err := a.Set(ctx, Revoked, id, []byte("1"), time.Minute); err != nil {
			return 0, 0, 0, err.Error()
		}
		start := time.Now()
		for _, n := range names[1:] {
			o := get(r, n)
			for {
				_, found, err := o.Get(ctx, Revoked, id)
				// ErrUnavailable is no answer: a store degraded for a moment (a read
				// past its timeout on a loaded machine) says it cannot tell; ask again.
				if err != nil && err != cache.ErrUnavailable {
					return 0, 0, 0, err.Error()
				}
				if found {
					break
				}
				if time.Since(start) > 30*time.Second {
					return 0, 0, 0, "revocation not seen within 30 s"
				}
				runtime.Gosched() // a sleep would measure the timer, not the propagation
			}
			lat = append(lat, time.Since(start))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pick := func(p float64) int64 { return lat[int(float64(len(lat)-1)*p)].Microseconds() }
	return pick(0.5), pick(0.99), lat[len(lat)-1].Microseconds(), ""
}

// L1GetLoop reads keys from c n times in turn and returns the number of hits (the
// body of the L1 benchmarks, so that the interpreter runs the loop too).
func L1GetLoop(c *cache.L1, keys []string, n int) int {
	hits := 0
	for i := 0; i < n; i++ {
		if _, ok := c.Get(keys[i%len(keys)]); ok {
			hits++
		}
	}
	return hits
}

// L1SetLoop writes keys to c n times in turn.
func L1SetLoop(c *cache.L1, keys []string, n int) {
	v := []byte("value")
	for i := 0; i < n; i++ {
		c.Set(keys[i%len(keys)], v, time.Hour)
	}
}

// StoreGetLoop reads ids from a store n times in turn with cache.Lookup (a hot-path
// read when they are in L1) and returns the number found.
func StoreGetLoop(s cache.Store, ks *cache.Keyspace, ids []string, n int) int {
	ctx := context.Background()
	found := 0
	for i := 0; i < n; i++ {
		if _, ok, _ := cache.Lookup(s, ctx, ks, ids[i%len(ids)]); ok {
			found++
		}
	}
	return found
}

// StoreMethodGetLoop is StoreGetLoop calling the Store.Get method instead.
func StoreMethodGetLoop(s cache.Store, ks *cache.Keyspace, ids []string, n int) int {
	ctx := context.Background()
	found := 0
	for i := 0; i < n; i++ {
		if _, ok, _ := s.Get(ctx, ks, ids[i%len(ids)]); ok {
			found++
		}
	}
	return found
}

// GenerationLoop reads the generation n times with cache.GenerationOf (what a request
// does when its session's revocation check is cached).
func GenerationLoop(s cache.Store, n int) uint64 {
	var g uint64
	for i := 0; i < n; i++ {
		g += cache.GenerationOf(s)
	}
	return g
}

// MethodGenerationLoop is GenerationLoop calling the Store.Generation method.
func MethodGenerationLoop(s cache.Store, n int) uint64 {
	var g uint64
	for i := 0; i < n; i++ {
		g += s.Generation()
	}
	return g
}

// EmptyLoop is the loop of the functions above without their body: under Yaegi its
// cost per iteration is part of every loop's figure.
func EmptyLoop(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += i
	}
	return x
}

// NewMemoryStore returns a memory-mode store with the default bounds.
func NewMemoryStore() cache.Store {
	o := cache.Options{Mode: "memory", KeyPrefix: "b:", L1MaxEntries: 100000, L1MaxBytes: 64 << 20, OutboxSize: 10, WriteQueue: 10, ProbeInterval: time.Second}
	s, _ := cache.New(context.Background(), o, nil)
	return s
}

// Keys returns n distinct keys shaped like the store's L1 keys.
func Keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "revoked:" + strconv.Itoa(i) + ":0123456789abcdef0123456789abcdef"
	}
	return out
}

// ReplyTranscript asks the server at addr for one reply of each type it can send
// (RESP3 when it knows HELLO, else RESP2), and for a tracking subscription's
// invalidations, and describes every answer, one line each.
func ReplyTranscript(addr string) string {
	c := redis.NewClient(redis.Options{Addr: addr, PoolSize: 1, ReadTimeout: 10 * time.Second})
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		return "connect: " + err.Error()
	}
	out := ""
	for _, cmd := range [][]any{
		{"FLUSHALL"}, {"PING"}, {"INCRBY", "n", 41}, {"SET", "k", []byte("v\r\n\x00")}, {"GET", "k"}, {"GET", "missing"},
		{"RPUSH", "l", "a", "b"}, {"LRANGE", "l", 0, -1}, {"BLPOP", "nothing", "0.01"}, {"ZADD", "z", "inf", "m", "1.5", "h"},
		{"ZSCORE", "z", "m"}, {"ZSCORE", "z", "h"}, {"SADD", "s", "x"}, {"SMEMBERS", "s"}, {"CONFIG", "GET", "maxmemory"},
		{"EVAL", "redis.setresp(3); return true", 0}, {"EVAL", "redis.setresp(3); return {double=3.5}", 0},
		{"EVAL", "redis.setresp(3); return {big_number='123456789012345678901234567890'}", 0},
		{"EVAL", "redis.setresp(3); return {verbatim_string={format='txt', string='hi'}}", 0},
		{"EVAL", "redis.setresp(3); return {map={a=1}}", 0}, {"EVAL", "return nil", 0},
		{"EVAL", "return redis.error_reply('MOVED 3999 127.0.0.1:6381')", 0}, {"NOSUCHCOMMAND"}, {"INCR", "l"},
	} {
		v, err := c.Do(ctx, cmd...)
		out += describe(v) + " code=" + redis.ErrorCode(err) + "\n"
	}
	vals, err := c.Pipeline(ctx, [][]any{{"SET", "p", 1}, {"INCR", "p"}, {"LPUSH", "p", "x"}, {"MGET", "p", "none"}})
	if err != nil {
		return out + "pipeline: " + err.Error()
	}
	for _, v := range vals {
		out += "pipelined " + describe(v) + "\n"
	}
	got := make(chan string, 16)
	tr, err := c.Track(ctx, []string{"app:"}, redis.TrackingHandler{
		Invalidate: func(keys [][]byte, flush bool) {
			s := "invalidate flush=" + strconv.FormatBool(flush)
			for _, k := range keys {
				s += " " + string(k)
			}
			got <- s
		},
		Lost: func(err error) { got <- "lost: " + err.Error() },
	})
	if err != nil {
		return out + "track: " + err.Error()
	}
	defer tr.Close()
	_, _ = c.Do(ctx, "SET", "other", 1)
	_, _ = c.Do(ctx, "SET", "app:1", 1)
	s := <-got
	out += s + "\n"
	_, _ = c.Do(ctx, "FLUSHALL")
	s = <-got
	out += s + "\n"
	return out
}

func describe(v redis.Value) string {
	s := string(v.Type) + " null=" + strconv.FormatBool(v.Null)
	switch v.Type {
	case redis.TypeInt:
		s += " " + strconv.FormatInt(v.Int, 10)
	case redis.TypeDouble:
		s += " " + strconv.FormatFloat(v.Float, 'g', -1, 64)
	case redis.TypeBool:
		s += " " + strconv.FormatBool(v.Bool)
	case redis.TypeVerbatim:
		s += " " + v.Format + ":" + strconv.Quote(string(v.Str))
	case redis.TypeArray, redis.TypeSet, redis.TypeMap, redis.TypePush:
		s += " ["
		for _, e := range v.Elems {
			s += describe(e) + "; "
		}
		s += "]"
	default:
		s += " " + strconv.Quote(string(v.Str))
	}
	return s
}

// URLTranscript parses each URL and describes the result or the error.
func URLTranscript(urls []string) string {
	out := ""
	for _, raw := range urls {
		u, err := redis.ParseURL(raw)
		if err != nil {
			out += raw + " -> " + err.Error() + "\n"
			continue
		}
		out += raw + " -> " + u.Addr + " tls=" + strconv.FormatBool(u.TLS) + " user=" + u.Username +
			" db=" + strconv.Itoa(u.DB) + " password-set=" + strconv.FormatBool(u.Password != "") + "\n"
	}
	return out
}

// NewL1 returns an L1 with the default bounds, filled with keys.
func NewL1(keys []string) *cache.L1 {
	c := cache.NewL1(100000, 64<<20)
	L1SetLoop(c, keys, len(keys))
	return c
}

// StoreSetAll writes every id to ks.
func StoreSetAll(s cache.Store, ks *cache.Keyspace, ids []string) string {
	for _, id := range ids {
		if err := s.Set(context.Background(), ks, id, []byte("1"), time.Hour); err != nil {
			return err.Error()
		}
	}
	return ""
}

// OpenHybrid returns a hybrid store on url once it is healthy and coherent.
func OpenHybrid(url, prefix string) (cache.Store, string) {
	r := NewReplicas()
	if e := Open(r, "s", "hybrid", url, prefix); e != "" {
		return nil, e
	}
	s := get(r, "s")
	deadline := time.Now().Add(10 * time.Second)
	for !s.Coherent() {
		if time.Now().After(deadline) {
			return nil, "not coherent: " + State(r, "s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return s, ""
}

// CloseStore closes s.
func CloseStore(s cache.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = s.Close(ctx)
}

// RevocationSetTranscript runs the revocation set's scenarios on memory-mode stores of
// the middleware binding (and bindings derived from it; give each run its own) and
// returns what each step answered, one line each, for comparison between runs:
//
//   - churn: a small L1 (16 entries) filled by twenty other revocations and forty other
//     entries still answers the first revocation;
//   - reload: a store built after the one that wrote a revocation has closed (a
//     Traefik reload) answers it, a store of another binding does not, and a write
//     through one of two live stores of a binding reaches the other at once (its
//     generation moves);
//   - bound: twenty revocations in a set of sixteen drop the four learnt first and
//     raise the floor to cover them instead of forgetting them.
func RevocationSetTranscript(binding string) string {
	ctx := context.Background()
	out := ""
	open := func(b string, maxRevocations int) cache.Store {
		o := cache.Options{Mode: "memory", KeyPrefix: "t:", L1MaxEntries: 16, L1MaxBytes: 64 << 10,
			MaxRevocations: maxRevocations, OutboxSize: 10, WriteQueue: 10, ProbeInterval: time.Second}
		s, err := cache.NewInstance(ctx, o, nil, b)
		if err != nil {
			out += "NewInstance: " + err.Error() + "\n"
			return nil
		}
		return s
	}
	found := func(s cache.Store, id string) string {
		_, f, err := cache.Lookup(s, ctx, Revoked, id)
		if err != nil {
			return err.Error()
		}
		if f {
			return "revoked"
		}
		return "not-revoked"
	}

	s := open(binding+"/churn", 0)
	if s == nil {
		return out
	}
	_ = s.Set(ctx, Revoked, "victim", []byte("1"), time.Hour)
	for i := 0; i < 20; i++ {
		_ = s.Set(ctx, Revoked, "attacker-"+strconv.Itoa(i), []byte("1"), time.Hour)
	}
	for i := 0; i < 40; i++ {
		_ = s.Set(ctx, Tokver, "fill-"+strconv.Itoa(i), []byte("x"), time.Hour)
	}
	st := s.Stats()
	out += "churn victim " + found(s, "victim") + " l1-evictions>20 " + strconv.FormatBool(st.L1Evictions > 20) +
		" revocations " + strconv.Itoa(st.Revocations) + "\n"
	_ = s.Close(ctx)

	a := open(binding+"/reload", 0)
	_ = a.Set(ctx, Revoked, "signed-out", []byte("1"), time.Hour)
	_ = a.Close(ctx)
	b := open(binding+"/reload", 0)
	other := open(binding+"/other", 0)
	out += "reload new-instance " + found(b, "signed-out") + " other-binding " + found(other, "signed-out") + "\n"
	c := open(binding+"/reload", 0)
	g := c.Generation()
	_ = b.Set(ctx, Revoked, "while-both-live", []byte("1"), time.Hour)
	out += "reload sibling " + found(c, "while-both-live") + " generation-moved " + strconv.FormatBool(c.Generation() != g) + "\n"
	_ = b.Delete(ctx, Revoked, "while-both-live")
	out += "reload sibling-after-delete " + found(c, "while-both-live") + "\n"
	_ = b.Close(ctx)
	_ = c.Close(ctx)
	_ = other.Close(ctx)

	bound := open(binding+"/bound", 16)
	before := time.Now().Unix()
	out += "bound floor-before " + strconv.FormatBool(cache.RevocationFloor(bound, time.Now()) == 0) + "\n"
	for i := 0; i < 20; i++ {
		_ = bound.Set(ctx, Revoked, "r-"+strconv.Itoa(i), []byte("1"), time.Hour)
	}
	after := time.Now().Unix()
	floor := cache.RevocationFloor(bound, time.Now())
	st = bound.Stats()
	out += "bound revocations " + strconv.Itoa(st.Revocations) + "/" + strconv.Itoa(st.MaxRevocations) +
		" dropped " + strconv.FormatUint(st.RevocationsDropped, 10) +
		" floor-covers-them " + strconv.FormatBool(floor >= before && floor <= after) +
		" last " + found(bound, "r-19") + "\n"
	_ = bound.Close(ctx)
	return out
}
