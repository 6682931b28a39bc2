package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

func TestMemoryStoreAnswersEveryClassFromL1(t *testing.T) {
	s, _ := newStore(t, memoryOptions())
	if s.Health() != HealthHealthy || !s.Coherent() || s.Generation() == 0 {
		t.Fatalf("memory store: %+v", s.Stats())
	}
	for _, ks := range []*Keyspace{ksRevoked, ksTokver, ksLock, ksLocal} {
		if _, found, err := s.Get(bg, ks, "id"); found || err != nil {
			t.Fatalf("%s: empty store found=%v err=%v", ks.Name, found, err)
		}
		if err := s.Set(bg, ks, "id", []byte("v1"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if v, found, err := s.Get(bg, ks, "id"); !found || err != nil || string(v) != "v1" {
			t.Fatalf("%s: %q %v %v", ks.Name, v, found, err)
		}
		if set, err := s.SetNX(bg, ks, "id", []byte("v2"), time.Minute); set || err != nil {
			t.Fatalf("%s: SetNX over a value: %v %v", ks.Name, set, err)
		}
		if err := s.Delete(bg, ks, "id"); err != nil {
			t.Fatal(err)
		}
		if set, err := s.SetNX(bg, ks, "id", []byte("v2"), time.Minute); !set || err != nil {
			t.Fatalf("%s: SetNX on nothing: %v %v", ks.Name, set, err)
		}
	}
}

func TestTTLRulesOfAKeyspace(t *testing.T) {
	s, _ := newStore(t, memoryOptions())
	short := &Keyspace{Name: "short", Class: Shared, MaxTTL: 30 * time.Millisecond}
	if err := s.Set(bg, short, "a", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(bg, short, "b", []byte("v"), 0); err != nil { // 0: MaxTTL
		t.Fatal(err)
	}
	unbounded := &Keyspace{Name: "unbounded", Class: Shared}
	if err := s.Set(bg, unbounded, "a", []byte("v"), 0); err != ErrBadTTL {
		t.Fatalf("ttl 0 without MaxTTL: %v", err)
	}
	time.Sleep(40 * time.Millisecond)
	for _, id := range []string{"a", "b"} {
		if _, found, _ := s.Get(bg, short, id); found {
			t.Fatalf("%s outlived MaxTTL", id)
		}
	}
	for _, bad := range []*Keyspace{nil, {Name: ""}, {Name: "has space"}, {Name: "{tag}"}, {Name: "x", Class: Class(9)}} {
		if err := s.Set(bg, bad, "a", []byte("v"), time.Minute); err != ErrBadKeyspace {
			t.Errorf("keyspace %+v accepted: %v", bad, err)
		}
	}
}

func TestGenerationMovesOnLocalRevocationWritesOnly(t *testing.T) {
	s, _ := newStore(t, memoryOptions())
	g := s.Generation()
	_ = s.Set(bg, ksTokver, "a", []byte("v"), time.Minute)
	_, _, _ = s.Get(bg, ksRevoked, "a")
	if s.Generation() != g {
		t.Fatal("a Shared write or a read moved the generation")
	}
	for _, op := range []func(){
		func() { _ = s.Set(bg, ksRevoked, "a", []byte("1"), time.Minute) },
		func() { _ = s.Delete(bg, ksRevoked, "a") },
		func() { _, _ = s.SetNX(bg, ksRevoked, "b", []byte("1"), time.Minute) },
	} {
		op()
		if n := s.Generation(); n == g || n == 0 {
			t.Fatalf("generation %d after a revocation write (was %d)", n, g)
		} else {
			g = n
		}
	}
}

// TestRedisKeysAreHashedAndLaidOutAsDocumented: prefix + keyspace + ":" +
// hex(SHA-256(id)); the raw id never appears in a key, Local keyspaces never reach
// Redis.
func TestRedisKeysAreHashedAndLaidOutAsDocumented(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := newReplica(t, srv, "hybrid", "gh:")
	secret := "eyJhbGciOiJSUzI1NiJ9.secret-token.sig"
	for _, ks := range []*Keyspace{ksRevoked, ksTokver, ksLock, ksLocal} {
		if err := s.Set(bg, ks, secret, []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte(secret))
	h := hex.EncodeToString(sum[:])
	want := map[string]bool{"gh:revoked:" + h: true, "gh:tokver:" + h: true, "gh:lock:refresh:" + h: true}
	eventually(t, 5*time.Second, func() bool {
		keys, _ := srv.MustDo("KEYS", "*").([]any)
		return len(keys) == 3
	})
	keys, _ := srv.MustDo("KEYS", "*").([]any)
	for _, k := range keys {
		ks, _ := k.(string)
		if !want[ks] {
			t.Errorf("unexpected key %q", ks)
		}
		if strings.Contains(ks, "secret-token") {
			t.Errorf("raw id in key %q", ks)
		}
	}
	if ttl, _ := srv.MustDo("PTTL", "gh:revoked:"+h).(int64); ttl <= 0 || ttl > 60000 {
		t.Errorf("revocation TTL %d ms", ttl)
	}
}

func TestTwoStoresWithDifferentPrefixesStayApart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a := newReplica(t, srv, "hybrid", "tenant-a:")
	b := newReplica(t, srv, "hybrid", "tenant-b:")
	if err := a.Set(bg, ksRevoked, "sid-1", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, found, err := b.Get(bg, ksRevoked, "sid-1"); found || err != nil {
		t.Fatalf("a revocation under tenant-a: reached tenant-b: (found=%v err=%v)", found, err)
	}
	a2 := newReplica(t, srv, "hybrid", "tenant-a:")
	if _, found, err := a2.Get(bg, ksRevoked, "sid-1"); !found || err != nil {
		t.Fatalf("a second replica of tenant-a: does not see it: %v %v", found, err)
	}
}

func TestKeyspaceNamesArePrintableASCIIWithoutSpaceOrBraces(t *testing.T) {
	for b := 0; b < 256; b++ {
		want := b > ' ' && b <= '~' && b != '{' && b != '}'
		if got := validKeyspace(&Keyspace{Name: "a" + string([]byte{byte(b)}), Class: Shared}); got != want {
			t.Errorf("byte %#x: valid=%v, want %v", b, got, want)
		}
	}
	if validKeyspace(&Keyspace{Name: strings.Repeat("a", 65), Class: Shared}) {
		t.Error("65-byte name accepted")
	}
}
