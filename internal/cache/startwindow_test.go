package cache

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// TestANewStoreEnforcesRevocationsFromItsFirstRequest: Traefik builds new middleware
// instances on every configuration reload, each with an empty L1 and a store that
// has not reached Redis yet. A revocation question asked at once — before the first
// connection has settled — waits for it and is answered from Redis, instead of
// "unknown" (which the middleware reads as "not revoked"). Both modes that ask Redis.
func TestANewStoreEnforcesRevocationsFromItsFirstRequest(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	for _, mode := range []string{"hybrid", "redis"} {
		t.Run(mode, func(t *testing.T) {
			a := newReplica(t, srv, mode, "startwin-"+mode+":")
			if err := a.Set(bg, ksRevoked, "session-1", []byte("1"), time.Hour); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10; i++ {
				b, _ := newStore(t, redisOptionsFor(srv, mode, "startwin-"+mode+":"))
				start := time.Now()
				_, found, err := b.Get(bg, ksRevoked, "session-1")
				if err != nil || !found {
					t.Fatalf("new store %d, asked at once: found %v, err %v (health %s)", i, found, err, b.Health())
				}
				if i == 0 {
					t.Logf("%s: first revocation answer of a new store after %v", mode, time.Since(start).Round(time.Microsecond))
				}
			}
		})
	}
}

// TestANewStoreThatCannotReachRedisAnswersWithinItsBound: the wait of a new store's
// first revocation question is bounded by the first connection attempt; with Redis
// unreachable the answer is "unavailable", in time, and later questions do not wait.
func TestANewStoreThatCannotReachRedisAnswersWithinItsBound(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // nothing listens there now: connections are refused
	o := memoryOptions()
	o.Mode = "hybrid"
	o.ProbeInterval = time.Hour
	o.Redis.URL = "redis://127.0.0.1:" + strconv.Itoa(port)
	o.Redis.PoolSize = 1
	o.Redis.DialTimeout = 300 * time.Millisecond
	o.Redis.ReadTimeout = 300 * time.Millisecond
	o.Redis.WriteTimeout = 300 * time.Millisecond
	o.Redis.MaxReplyBytes = 1 << 20
	s, _ := newStore(t, o)
	start := time.Now()
	if _, _, err := s.Get(bg, ksRevoked, "x"); err != ErrUnavailable {
		t.Fatalf("first question: err %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the first question waited %v", d)
	}
	start = time.Now()
	if _, _, err := s.Get(bg, ksRevoked, "y"); err != ErrUnavailable || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("second question: err %v after %v, want ErrUnavailable at once", err, time.Since(start))
	}
}

// TestANewStoreWritesThroughFromItsFirstWrite: a write-through (server-side session)
// record written by a store built a moment ago — the first sign-in after a reload —
// waits for the first connection and is in Redis when Set returns, not dropped.
func TestANewStoreWritesThroughFromItsFirstWrite(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ks := &Keyspace{Name: "session", Class: Shared, MaxTTL: time.Hour, WriteThrough: true}
	for i := 0; i < 10; i++ {
		s, _ := newStore(t, redisOptionsFor(srv, "hybrid", "wtstart:"))
		id := "session-" + strconv.Itoa(i)
		if err := s.Set(bg, ks, id, []byte("record"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if n := srv.MustDo("EXISTS", "wtstart:session:"+hexID(id)); n != int64(1) {
			t.Fatalf("new store %d: the record is not in Redis when Set returns (drops %d)", i, s.Stats().QueueDrops)
		}
	}
}

// TestANewStoreKeepsItsFirstSharedWrites: write-behind writes made before the first
// connection (the key set a new instance fetches for its first sign-in) are sent once
// it is up, not dropped.
func TestANewStoreKeepsItsFirstSharedWrites(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	for i := 0; i < 10; i++ {
		s, _ := newStore(t, redisOptionsFor(srv, "hybrid", "swstart:"))
		id := "jwks-" + strconv.Itoa(i)
		if err := s.Set(bg, ksTokver, id, []byte("set"), time.Minute); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, func() bool {
			return srv.MustDo("EXISTS", "swstart:tokver:"+hexID(id)) == int64(1) || s.Stats().QueueDrops > 0
		})
		if d := s.Stats().QueueDrops; d != 0 {
			t.Fatalf("new store %d dropped %d write(s) made before its first connection", i, d)
		}
	}
}
