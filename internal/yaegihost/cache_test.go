package yaegihost

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/cachetest"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

var cacheEvalOnce sync.Once

// yfunc returns a function of internal/cache/cachetest as the interpreter runs it
// (the package and everything it imports, internal/cache and internal/cache/redis,
// interpreted by Yaegi exactly as Traefik would run plugin code).
func yfunc(t testing.TB, name string) reflect.Value {
	t.Helper()
	h := host(t)
	var err error
	cacheEvalOnce.Do(func() {
		_, err = h.Eval(`import "github.com/gatehouse-oidc/gatehouse/internal/cache/cachetest"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := h.Eval("cachetest." + name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func call(f reflect.Value, args ...any) []reflect.Value {
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		if v, ok := a.(reflect.Value); ok {
			in[i] = v
		} else {
			in[i] = reflect.ValueOf(a)
		}
	}
	return f.Call(in)
}

// matchEach is how many SET+GET pairs each of the 64 goroutines runs: 10 000 in make
// test-all (minutes under Yaegi on a 2-core machine), 150 in make test, which is
// still 19 200 requests sharing four connections — reply matching is where Yaegi's
// shared-select bug would bite, and a shared select mixed replies up a few times in
// every few thousand when it was measured.
func matchEach() int {
	if testing.Short() {
		return 150
	}
	return 10000
}

func TestRESPClientUnderYaegiMatchesEveryReplyToItsRequest(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	each := matchEach()
	start := time.Now()
	out := call(yfunc(t, "MatchReplies"), srv.Addr(), 4, 64, each)
	mismatches, failures, first := out[0].Int(), out[1].Int(), out[2].String()
	t.Logf("Yaegi: 64 goroutines x %d SET+GET in %v", each, time.Since(start))
	if mismatches != 0 || failures != 0 {
		t.Fatalf("under Yaegi: %d replies to the wrong request, %d failures; first: %s", mismatches, failures, first)
	}
	// The same scenario compiled.
	m, f, first := cachetest.MatchReplies(srv.Addr(), 4, 64, each)
	if m != 0 || f != 0 {
		t.Fatalf("compiled: %d mismatches, %d failures; first: %s", m, f, first)
	}
}

func TestRESPRepliesDecodeTheSameUnderYaegi(t *testing.T) {
	for _, old := range []bool{false, true} {
		srv := redistest.Start(t, redistest.Options{RenameHello: old})
		want := cachetest.ReplyTranscript(srv.Addr())
		got := call(yfunc(t, "ReplyTranscript"), srv.Addr())[0].String()
		if got != want {
			t.Fatalf("RESP2 server %v: under Yaegi:\n%s\ncompiled:\n%s", old, got, want)
		}
		for _, must := range []string{"code=MOVED", "code=WRONGTYPE", "invalidate flush=false app:1", "invalidate flush=true"} {
			if !strings.Contains(want, must) {
				t.Fatalf("transcript lacks %q:\n%s", must, want)
			}
		}
		if !old && !strings.Contains(want, "# null=false true") {
			t.Fatalf("RESP3 transcript lacks a boolean:\n%s", want)
		}
	}
}

func TestRedisURLsParseTheSameUnderYaegi(t *testing.T) {
	urls := []string{"redis://h", "rediss://u:p%40w@h:6380/2", "redis://[::1]:1", "http://h", "redis://h:0", "redis://h/x", "redis://h?db=1"}
	want := cachetest.URLTranscript(urls)
	got := call(yfunc(t, "URLTranscript"), urls)[0].String()
	if got != want {
		t.Fatalf("under Yaegi:\n%s\ncompiled:\n%s", got, want)
	}
}

func TestMemoryStoreBehavesTheSameUnderYaegi(t *testing.T) {
	want := cachetest.MemoryTranscript()
	got := call(yfunc(t, "MemoryTranscript"))[0].String()
	if got != want {
		t.Fatalf("under Yaegi:\n%s\ncompiled:\n%s", got, want)
	}
	if !strings.Contains(want, "after-close  false cache: store closed") {
		t.Fatalf("transcript:\n%s", want)
	}
}

// TestRevocationReachesOtherReplicasUnderYaegi: three hybrid stores, all interpreted,
// on one Redis; every revocation written on one is enforced by the other two. The
// latencies are logged (the figure the docs quote comes from the benchmarks).
func TestRevocationReachesOtherReplicasUnderYaegi(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	trials := 1000
	if testing.Short() {
		trials = 200 // make test; each trial spins until two interpreted stores see it
	}
	out := call(yfunc(t, "Propagation"), srv.URL(), "yprop:", trials)
	p50, p99, max, e := out[0].Int(), out[1].Int(), out[2].Int(), out[3].String()
	if e != "" {
		t.Fatal(e)
	}
	t.Logf("FIGURE under Yaegi, %d observations: p50 %d µs, p99 %d µs, max %d µs", 2*trials, p50, p99, max)
}

// TestInterpretedReplicasSurviveRedisKillAndRestart drives three interpreted hybrid
// stores through a Redis outage: no request path gets an error, the writer enforces
// its revocation at once, the others never answer "not revoked" once they know Redis
// is gone, and after the restart the revocation reaches them.
func TestInterpretedReplicasSurviveRedisKillAndRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	r := call(yfunc(t, "NewReplicas"))[0]
	open, check, revoke, state, closeAll := yfunc(t, "Open"), yfunc(t, "Check"), yfunc(t, "Revoke"), yfunc(t, "State"), yfunc(t, "CloseAll")
	defer func() {
		if e := call(closeAll, r)[0].String(); e != "" {
			t.Error(e)
		}
	}()
	names := []string{"a", "b", "c"}
	for _, n := range names {
		if e := call(open, r, n, "hybrid", srv.URL(), "ykill:")[0].String(); e != "" {
			t.Fatal(e)
		}
	}
	st := func(n string) string { return call(state, r, n)[0].String() }
	chk := func(n, id string) string {
		got := call(check, r, n, id)[0].String()
		if strings.HasPrefix(got, "error") {
			t.Fatalf("%s %s: %s", n, id, got)
		}
		return got
	}
	waitState := func(n, prefix string) {
		t.Helper()
		waitStatePrefix(t, func() string { return st(n) }, n, prefix)
	}
	for _, n := range names {
		waitState(n, "healthy true")
	}
	if got := chk("b", "sid"); got != "not-revoked" {
		t.Fatal(got)
	}
	srv.Kill()
	if e := call(revoke, r, "a", "sid")[0].String(); e != "" {
		t.Fatalf("revocation during the outage: %s", e)
	}
	if got := chk("a", "sid"); got != "revoked" {
		t.Fatalf("writer: %s", got)
	}
	waitState("b", "degraded false 0")
	if got := chk("b", "sid"); got != "unverified" {
		t.Fatalf("b during the outage: %s", got)
	}
	srv.Restart()
	for _, n := range names {
		waitState(n, "healthy true")
	}
	for _, n := range []string{"b", "c"} {
		if got := chk(n, "sid"); got != "revoked" {
			t.Fatalf("%s after the restart: %s (%s)", n, got, st(n))
		}
	}
	if s := st("a"); !strings.Contains(s, "outbox=0") {
		t.Fatalf("a: %s", s)
	}
}

// TestHotPathReadSendsNoCommandToRedisUnderYaegi: an interpreted hybrid store answers
// cached revocation checks ("not revoked", tracking live) from L1 alone, counted by
// INFO commandstats.
func TestHotPathReadSendsNoCommandToRedisUnderYaegi(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	out := call(yfunc(t, "OpenHybrid"), srv.URL(), "yhot:")
	if e := out[1].String(); e != "" {
		t.Fatal(e)
	}
	s := out[0]
	defer call(yfunc(t, "CloseStore"), s)
	ids := call(yfunc(t, "Keys"), 50)[0]
	revoked, err := host(t).Eval("cachetest.Revoked")
	if err != nil {
		t.Fatal(err)
	}
	loop := yfunc(t, "StoreGetLoop")
	call(loop, s, revoked, ids, 50) // cache the answers
	before := srv.CommandStats()
	if found := call(loop, s, revoked, ids, 2000)[0].Int(); found != 0 {
		t.Fatalf("%d found", found)
	}
	after := srv.CommandStats()
	for _, cmd := range []string{"get", "pttl", "set"} {
		if after[cmd] != before[cmd] {
			t.Errorf("%s: %d commands during 2000 L1 reads", cmd, after[cmd]-before[cmd])
		}
	}
}

// TestRevocationSetSurvivesChurnReloadsAndItsBoundUnderYaegi runs the revocation
// set's memory-mode scenarios (cachetest.RevocationSetTranscript) interpreted and
// compiled: no revocation lost to LRU churn, none to a reload, none to another
// middleware, and a full set raising its floor instead of forgetting.
func TestRevocationSetSurvivesChurnReloadsAndItsBoundUnderYaegi(t *testing.T) {
	want := cachetest.RevocationSetTranscript("compiled:" + t.Name())
	got := call(yfunc(t, "RevocationSetTranscript"), "yaegi:"+t.Name())[0].String()
	if got != want {
		t.Fatalf("under Yaegi:\n%s\ncompiled:\n%s", got, want)
	}
	for _, line := range []string{
		"churn victim revoked l1-evictions>20 true revocations 21",
		"reload new-instance revoked other-binding not-revoked",
		"reload sibling revoked generation-moved true",
		"reload sibling-after-delete not-revoked",
		"bound floor-before true",
		"bound revocations 16/16 dropped 4 floor-covers-them true last revoked",
	} {
		if !strings.Contains(want, line+"\n") {
			t.Fatalf("transcript lacks %q:\n%s", line, want)
		}
	}
}

// TestRevocationsOutliveChurnAndReloadsDuringARedisOutage: hybrid stores, compiled and
// interpreted. A revocation Redis confirmed, then pushed out of a small L1 by other
// traffic, is still enforced when Redis goes away (it used to be "unverified", taken
// as not revoked); a store built by a reload during the outage enforces it too; and a
// revocation written during the outage by a store that a reload then closes reaches
// the other replicas once Redis returns (the new store replays it).
func TestRevocationsOutliveChurnAndReloadsDuringARedisOutage(t *testing.T) {
	for _, md := range []string{"yaegi", "compiled"} {
		t.Run(md, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{})
			var open, check, revoke, state, churn, closeOne func(args ...any) string
			if md == "yaegi" {
				rv := call(yfunc(t, "NewReplicas"))[0]
				wrap := func(name string) func(args ...any) string {
					f := yfunc(t, name)
					return func(args ...any) string {
						out := call(f, append([]any{rv}, args...)...)
						if len(out) == 0 {
							return ""
						}
						return out[0].String()
					}
				}
				open, check, revoke, state, churn, closeOne = wrap("OpenInstance"), wrap("Check"), wrap("Revoke"), wrap("State"), wrap("Churn"), wrap("CloseOne")
				defer func() { call(yfunc(t, "CloseAll"), rv) }()
			} else {
				cr := cachetest.NewReplicas()
				open = func(a ...any) string {
					return cachetest.OpenInstance(cr, a[0].(string), a[1].(string), a[2].(string), a[3].(string), a[4].(string), a[5].(int))
				}
				check = func(a ...any) string { return cachetest.Check(cr, a[0].(string), a[1].(string)) }
				revoke = func(a ...any) string { return cachetest.Revoke(cr, a[0].(string), a[1].(string)) }
				state = func(a ...any) string { return cachetest.State(cr, a[0].(string)) }
				churn = func(a ...any) string { cachetest.Churn(cr, a[0].(string), a[1].(int)); return "" }
				closeOne = func(a ...any) string { return cachetest.CloseOne(cr, a[0].(string)) }
				defer cachetest.CloseAll(cr)
			}
			binding := md + ":" + t.Name()
			prefix := "outage-" + md + ":"
			waitState := func(n, want string) {
				t.Helper()
				waitStatePrefix(t, func() string { return state(n) }, n, want)
			}
			if e := open("old", "hybrid", srv.URL(), prefix, binding, 16); e != "" {
				t.Fatal(e)
			}
			if e := open("other", "hybrid", srv.URL(), prefix, md+":another middleware", 16); e != "" {
				t.Fatal(e)
			}
			waitState("old", "healthy true")
			waitState("other", "healthy true")
			if e := revoke("old", "victim"); e != "" {
				t.Fatal(e)
			}
			churn("old", 40)
			srv.Kill()
			waitState("old", "degraded")
			if got := check("old", "victim"); got != "revoked" {
				t.Fatalf("old store during the outage, after churn: %s", got)
			}
			// The reload: a new store while the old one lives, then the old one closes.
			if e := open("new", "hybrid", srv.URL(), prefix, binding, 16); e != "" {
				t.Fatal(e)
			}
			if got := check("new", "victim"); got != "revoked" {
				t.Fatalf("new store during the outage: %s", got)
			}
			if e := revoke("old", "during"); e != "" {
				t.Fatal(e)
			}
			if e := closeOne("old"); e != "" {
				t.Fatal(e)
			}
			if got := check("new", "during"); got != "revoked" {
				t.Fatalf("new store, revocation the old one wrote during the outage: %s", got)
			}
			srv.Restart() // empty: the revocations come back from what the stores know
			waitState("new", "healthy true")
			waitState("other", "healthy true")
			for _, id := range []string{"victim", "during"} {
				if got := check("other", id); got != "revoked" {
					t.Fatalf("another replica after Redis returned, %s: %s", id, got)
				}
			}
		})
	}
}

// waitStatePrefix waits up to 10 s for state() (a store's State line) to start with
// prefix.
func waitStatePrefix(t testing.TB, state func() string, name, prefix string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(state(), prefix) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s, want %s", name, state(), prefix)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
