package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

var (
	ksRevoked = &Keyspace{Name: "revoked", Class: Revocation, MaxTTL: time.Hour}
	ksTokver  = &Keyspace{Name: "tokver", Class: Shared, MaxTTL: time.Hour}
	ksLock    = &Keyspace{Name: "lock:refresh", Class: Coordination, MaxTTL: time.Minute}
	ksLocal   = &Keyspace{Name: "local", Class: Local, MaxTTL: time.Hour}
)

// memoryOptions is the compiled default configuration's cache section (memory mode).
func memoryOptions() Options {
	return Options{
		Mode: "memory", KeyPrefix: "gatehouse:", L1MaxEntries: 100000, L1MaxBytes: 64 << 20,
		OutboxSize: 10000, WriteQueue: 10000, ProbeInterval: time.Second,
	}
}

// redisOptionsFor points a cache configuration at srv, with timeouts short enough for
// fault tests on a loaded machine.
func redisOptionsFor(srv *redistest.Server, mode, prefix string) Options {
	o := memoryOptions()
	o.Mode = mode
	o.KeyPrefix = prefix
	o.ProbeInterval = 50 * time.Millisecond
	o.Redis = RedisOptions{
		URL: srv.URL(), PoolSize: 2, DialTimeout: time.Second, ReadTimeout: time.Second,
		WriteTimeout: time.Second, MaxReplyBytes: 1 << 20, ClientName: "gatehouse-test",
	}
	return o
}

// logBuffer collects a store's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newStore(t testing.TB, o Options) (*store, *logBuffer) {
	t.Helper()
	return newInstanceStore(t, o, "")
}

// newInstanceStore builds the store of the middleware binding (its revocations shared
// with the binding's other stores in this process), closed at the end of the test.
func newInstanceStore(t testing.TB, o Options, binding string) (*store, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	st, err := NewInstance(context.Background(), o, logging.New("test", "debug", lb), binding)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*store)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s, lb
}

// newReplica builds a hybrid (or redis) store on srv and waits until it is healthy
// (and, in hybrid mode, coherent).
func newReplica(t testing.TB, srv *redistest.Server, mode, prefix string) *store {
	t.Helper()
	s, _ := newStore(t, redisOptionsFor(srv, mode, prefix))
	waitHealthy(t, s)
	return s
}

func waitHealthy(t testing.TB, s *store) {
	t.Helper()
	eventually(t, 10*time.Second, func() bool {
		return s.Health() == HealthHealthy && (s.mode != modeHybrid || s.Coherent())
	})
}

// eventually waits until cond holds, failing the test after within — or after
// eventFloor when that is longer: the deadlines the tests give are what a quiet
// machine needs, and a deadline that only a failing test reaches costs nothing, so
// none is shorter than a loaded machine may need.
func eventually(t testing.TB, within time.Duration, cond func() bool) {
	t.Helper()
	if within < eventFloor {
		within = eventFloor
	}
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// eventFloor is the shortest deadline eventually gives an event.
const eventFloor = 30 * time.Second

var bg = context.Background()

func sha256Sum(id string) [32]byte { return sha256.Sum256([]byte(id)) }
