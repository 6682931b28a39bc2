package cache

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// TestSetRevocationSaysWhetherRedisConfirmedTheWrite: a revocation Redis took is
// "confirmed" (and in Redis); one written while Redis cannot answer is "queued" —
// enforced by the writer at once, replayed into Redis when it returns — never
// "confirmed"; one written when the outbox is full is an error; in memory mode it is
// "local". Other classes are refused.
func TestSetRevocationSaysWhetherRedisConfirmedTheWrite(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	o := redisOptionsFor(srv, "hybrid", "setrev:")
	o.OutboxSize = 2
	a, _ := newStore(t, o)
	waitHealthy(t, a)

	state, err := SetRevocation(a, bg, ksRevoked, "first", []byte("1"), time.Hour)
	if err != nil || state != WriteConfirmed {
		t.Fatalf("healthy Redis: %q %v", state, err)
	}
	if v, err := srv.Do("EXISTS", "setrev:revoked:"+hexString(string(sum("first")))); err != nil || v != int64(1) {
		t.Fatalf("a confirmed revocation is not in Redis: %v %v", v, err)
	}

	srv.Pause()
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	state, err = SetRevocation(a, ctx, ksRevoked, "during", []byte("1"), time.Hour)
	cancel()
	if err != nil || state != WriteQueued {
		t.Fatalf("paused Redis: %q %v", state, err)
	}
	if _, found, _ := a.Get(bg, ksRevoked, "during"); !found {
		t.Fatal("the writer does not enforce a queued revocation")
	}
	if state, err = SetRevocation(a, bg, ksRevoked, "second-queued", []byte("1"), time.Hour); err != nil || state != WriteQueued {
		t.Fatalf("second write during the outage: %q %v", state, err)
	}
	if state, err = SetRevocation(a, bg, ksRevoked, "overflow", []byte("1"), time.Hour); err != ErrOutboxFull || state != "" {
		t.Fatalf("full outbox: %q %v, want ErrOutboxFull", state, err)
	}
	srv.Resume()
	waitHealthy(t, a)
	eventually(t, 10*time.Second, func() bool {
		v, err := srv.Do("EXISTS", "setrev:revoked:"+hexString(string(sum("during"))))
		return err == nil && v == int64(1)
	})

	m, _ := newStore(t, memoryOptions())
	if state, err := SetRevocation(m, bg, ksRevoked, "memory", []byte("1"), time.Hour); err != nil || state != WriteLocal {
		t.Fatalf("memory mode: %q %v", state, err)
	}
	if _, err := SetRevocation(m, bg, ksTokver, "x", []byte("1"), time.Hour); err != ErrBadKeyspace {
		t.Fatalf("a Shared keyspace: %v", err)
	}
}

func sum(id string) []byte {
	s := sha256Sum(id)
	return s[:]
}
