package auth

import (
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

func TestVerifiedCacheIsBounded(t *testing.T) {
	c := newVerifiedCache(1000, 64<<20)
	for i := 0; i < 50000; i++ {
		storeVerified(c, strconv.Itoa(i), &verified{})
	}
	if len(c.entries) > 1000 {
		t.Fatalf("%d entries", len(c.entries))
	}
	storeVerified(c, "k", &verified{until: 7})
	if v := lookupVerified(c, "k"); v == nil || v.until != 7 {
		t.Fatal("lookup after store")
	}
	forgetVerified(c, "k")
	if lookupVerified(c, "k") != nil {
		t.Fatal("forgotten entry still there")
	}
}

// floodVerdict is the i-th of a flood of distinct credentials: a chunked session's
// Cookie header with its opened record (tokens, claims, an upstream Cookie header),
// or a bearer token's Authorization header with its principal.
func floodVerdict(i int) (string, *verified) {
	id := strconv.Itoa(i)
	pad := func(n int) string { return id + strings.Repeat("x", n) }
	p := &principal{Source: "session", Subject: "user-" + id, Issuer: "https://op.example", User: "u" + id + "@example.com",
		Email: "u" + id + "@example.com", Roles: []string{"reader", "writer"}, Groups: []string{"staff"}, until: []int64{1}, why: nil,
		headerNames: []string{"X-Forwarded-User", "X-Forwarded-Groups"}, headerValues: [][]string{{"u" + id}, {pad(300)}}}
	if i%2 == 1 {
		return "Bearer " + pad(900), &verified{p: p, until: 1 << 40, gen: 1, bearer: &tokenFacts{iss: p.Issuer, sub: p.Subject, jti: pad(20)}}
	}
	rec := &session.Record{ID: pad(22), Subject: p.Subject, Issuer: p.Issuer, SID: pad(30), User: p.User, Email: p.Email,
		AccessToken: pad(1200), RefreshToken: pad(400), IDToken: pad(1000), Roles: p.Roles, Groups: p.Groups,
		Claims: map[string]any{"name": pad(20), "org": map[string]any{"id": json.Number(id), "units": []any{pad(10), pad(10)}}, "admin": false}}
	return "__Host-gatehouse_0=" + pad(3000) + "; theme=dark", &verified{p: p, rec: rec, until: 1 << 40, gen: 1, upstreamCookie: []string{"theme=dark; " + pad(100)}}
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// A flood of distinct sessions and bearer tokens, each verdict several kilobytes
// (tokens, claims, a chunked Cookie header), against a cache bounded to 1 MiB: the
// bytes it counts never pass the bound, no store evicts more than evictBatch entries,
// and the heap the cache holds stays within the bound plus verdictHeapSlack: the
// count covers what entries hold, not only their keys. Unbounded, the flood would
// hold about 30 MiB.
func TestVerifiedCacheFloodStaysWithinItsBytes(t *testing.T) {
	const bound = 1 << 20
	// verdictHeapSlack: the map's table keeps the slots of the most entries it ever
	// held (at most bound/entryOverhead, about 8 bytes of key header and pointer and
	// a control byte each, doubled by growth: under 128 KiB), plus the runtime's own
	// variation between two collections (a few spans, some tens of KiB).
	const verdictHeapSlack = 256 << 10
	before := heapInUse()
	c := newVerifiedCache(100000, bound)
	for i := 0; i < 6000; i++ {
		k, v := floodVerdict(i)
		n := len(c.entries)
		storeVerified(c, k, v)
		if c.bytes > bound {
			t.Fatalf("after %d verdicts the cache counts %d bytes, over its bound %d", i+1, c.bytes, bound)
		}
		if len(c.entries) < n+1-evictBatch {
			t.Fatalf("one store evicted %d entries (batch %d)", n+1-len(c.entries), evictBatch)
		}
	}
	if len(c.entries) < 100 {
		t.Fatalf("only %d verdicts remembered: the bound should hold hundreds of these", len(c.entries))
	}
	held := heapInUse() - before
	runtime.KeepAlive(c)
	if held > bound+verdictHeapSlack {
		t.Fatalf("the cache holds %d bytes of heap (%d entries counting %d bytes): over the bound %d plus slack %d",
			held, len(c.entries), c.bytes, bound, verdictHeapSlack)
	}
	t.Logf("%d entries, %d bytes counted, %d bytes of heap held", len(c.entries), c.bytes, held)
	// Forgetting and replacing keep the count exact.
	total := 0
	for k, v := range c.entries {
		if v.size != verifiedSize(k, v) {
			t.Fatalf("entry counted %d, now sizes %d", v.size, verifiedSize(k, v))
		}
		total += v.size
	}
	if total != c.bytes {
		t.Fatalf("entries sum to %d, the cache counts %d", total, c.bytes)
	}
	for k := range c.entries {
		forgetVerified(c, k)
	}
	if c.bytes != 0 || len(c.entries) != 0 {
		t.Fatalf("emptied cache counts %d bytes, %d entries", c.bytes, len(c.entries))
	}
}

// A verdict larger than the whole bound is not remembered and evicts nothing; an
// entry stored again under its key is counted once.
func TestVerifiedCacheRefusesAVerdictLargerThanItsBound(t *testing.T) {
	c := newVerifiedCache(100, 64<<10)
	storeVerified(c, "a", &verified{})
	storeVerified(c, "a", &verified{upstreamCookie: []string{"x"}})
	if len(c.entries) != 1 || c.bytes != verifiedSize("a", c.entries["a"]) {
		t.Fatalf("%d entries counting %d bytes", len(c.entries), c.bytes)
	}
	storeVerified(c, strings.Repeat("k", 70<<10), &verified{})
	if len(c.entries) != 1 || c.entries["a"] == nil {
		t.Fatalf("oversized verdict: %d entries counting %d bytes", len(c.entries), c.bytes)
	}
}
