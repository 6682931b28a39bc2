package yaegihost

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// liveHeap is the live heap after a full collection.
func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestFloodOfDistinctCredentialsStaysWithinTheVerdictBound: hundreds of distinct
// bearer tokens, each carrying a hundred groups (about 14 KB of verdict: the token
// as key, the groups as names and as a forwarded header), then distinct browser
// sessions, against cache.l1MaxBytes at its 64 KiB minimum. The verdict cache's
// counted bytes (gatehouse_verdict_cache_bytes) never pass the bound, and the heap
// the instance holds afterwards stays within the two in-process caches' bounds
// (the verdict cache and L1, 2 × 64 KiB) plus floodHeapSlack. Counting only the
// keys, the verdicts of the flood would hold about 4 MiB.
func TestFloodOfDistinctCredentialsStaysWithinTheVerdictBound(t *testing.T) {
	const bound = 64 << 10
	// floodHeapSlack: what serving requests leaves live besides the caches: the
	// client's and server's idle keep-alive connections (their bufio buffers, 4 KiB
	// each way), the verdict map's table (it keeps the slots of the most entries it
	// ever held: a few hundred here), the interpreter's and the runtime's variation
	// between two collections.
	const floodHeapSlack = 1 << 20
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		group(cfg, "cache")["l1MaxBytes"] = bound
		cfg["metrics"] = map[string]any{"path": metricsPath, "allowedIPs": "127.0.0.0/8"}
		srv, _ := startInstance(t, md, cfg, "flood@file")
		groups := make([]any, 100)
		for i := range groups {
			groups[i] = "team-" + strings.Repeat("g", 20) + "-" + strconv.Itoa(i)
		}
		tokens := make([]string, 300)
		for i := range tokens {
			c := validClaims(op)
			c["jti"] = "flood-" + strconv.Itoa(i)
			c["groups"] = groups
			tokens[i] = mintAccess(t, op, c)
		}
		check := func(what string) families {
			t.Helper()
			f := scrape(t, srv.URL)
			if b := value(f, "gatehouse_verdict_cache_bytes"); b < 0 || b > bound {
				t.Fatalf("%s: the verdict cache counts %v bytes, over cache.l1MaxBytes %d", what, b, bound)
			}
			return f
		}
		cookies := make([]string, 12)
		for i := range cookies {
			cookies[i] = signIn(t, srv.URL)
		}
		before := liveHeap()
		for i, tok := range tokens {
			resp, body := getAPI(t, srv.URL+"/api", bearer(tok)...)
			wantForwarded(t, "token "+strconv.Itoa(i), resp, body, "X-Forwarded-User: svc-orders")
			if i%50 == 49 {
				check("after " + strconv.Itoa(i+1) + " tokens")
			}
		}
		for i, c := range cookies {
			resp, body := getAPI(t, srv.URL+"/app", "Cookie", c)
			wantForwarded(t, "session "+strconv.Itoa(i), resp, body, "X-Forwarded-User: alice@example.com")
			check("after " + strconv.Itoa(i+1) + " sessions")
		}
		held := liveHeap() - before
		runtime.KeepAlive(tokens)
		runtime.KeepAlive(cookies)
		f := check("after the flood")
		if n := value(f, "gatehouse_verdict_cache_entries"); n < 2 {
			t.Fatalf("the verdict cache remembers %v credentials: the flood should have filled it", n)
		}
		if held > 2*bound+floodHeapSlack {
			t.Fatalf("the instance holds %d more bytes of heap after the flood: over 2 × %d plus slack %d", held, bound, floodHeapSlack)
		}
		t.Logf("heap held %d; verdicts %v counting %v bytes", held, value(f, "gatehouse_verdict_cache_entries"), value(f, "gatehouse_verdict_cache_bytes"))
	})
}
