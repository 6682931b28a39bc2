package josetest

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// clock is a settable time source for RemoteKeySetOptions.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(ClaimsNow, 0)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer func() { c.mu.Unlock() }()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// MapCache is an in-memory SharedCache standing in for the cache package's Store.
type MapCache struct {
	mu   sync.Mutex
	m    map[string][]byte
	Sets int
}

// NewMapCache returns an empty cache.
func NewMapCache() *MapCache { return &MapCache{m: map[string][]byte{}} }

// Get implements jose.SharedCache.
func (c *MapCache) Get(_ context.Context, id string) ([]byte, bool) {
	c.mu.Lock()
	defer func() { c.mu.Unlock() }()
	v, ok := c.m[id]
	return v, ok
}

// Set implements jose.SharedCache.
func (c *MapCache) Set(_ context.Context, id string, value []byte, _ time.Duration) {
	c.mu.Lock()
	c.m[id] = append([]byte(nil), value...)
	c.Sets++
	c.mu.Unlock()
}

// scenario collects trace lines.
type scenario struct {
	base  string
	name  string
	lines []string
	keys  *Keys
	clk   *clock
}

func (s *scenario) logf(parts ...string) {
	s.lines = append(s.lines, s.name+": "+strings.ReplaceAll(strings.Join(parts, " "), s.base, "$BASE"))
}

func (s *scenario) hits(path string) string {
	resp, err := http.Get(s.base + "/count" + path)
	if err != nil {
		return "?"
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	return string(b)
}

func (s *scenario) keySet(path string, o jose.RemoteKeySetOptions) *jose.RemoteKeySet {
	o.URL = s.base + path
	o.Now = s.clk.now
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	return jose.NewRemoteKeySet(o)
}

// token signs the standard claims with the issuer RSA key ("rsa-1") or the rotated-in
// key ("rsa-2"); other kids are signed by the attacker.
func (s *scenario) token(kid string) string {
	key := s.keys.AttackerRSA
	if kid == "rsa-1" {
		key = s.keys.RSA
	}
	return Sign("RS256", key, `{"alg":"RS256","kid":"`+kid+`"}`, `{"sub":"alice","exp":4102444800}`)
}

func (s *scenario) verify(ks *jose.RemoteKeySet, token string) string {
	_, k, err := jose.VerifyRemote(context.Background(), token, 0, Asymmetric, ks)
	if err != nil {
		return err.Error()
	}
	return "ok kid=" + k.Kid
}

func fetches(ks *jose.RemoteKeySet) string {
	st := ks.Stats()
	return "fetches=" + strconv.FormatInt(st.Fetches, 10) + " errors=" + strconv.FormatInt(st.FetchErrors, 10) + " shared=" + strconv.FormatInt(st.SharedHits, 10)
}

// flood runs n concurrent VerifyRemote calls, token(i) each, and tallies outcomes.
func (s *scenario) flood(ks *jose.RemoteKeySet, n int, token func(i int) string) string {
	var wg sync.WaitGroup
	var mu sync.Mutex
	tally := map[string]int{}
	tokens := make([]string, n)
	for i := 0; i < n; i++ {
		tokens[i] = token(i)
	}
	for i := 0; i < n; i++ {
		tok := tokens[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := jose.VerifyRemote(context.Background(), tok, 0, Asymmetric, ks)
			out := "ok"
			if err != nil {
				out = jose.KindOf(err).Error()
			}
			mu.Lock()
			tally[out]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	var parts []string
	for k, v := range tally {
		parts = append(parts, strconv.Itoa(v)+"×"+k)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// ScenarioNames lists the remote key-set scenarios in order.
func ScenarioNames() []string {
	return []string{"rotation", "unknown-kid-flood", "cold-start", "max-age", "keep-last-good", "deadline", "shared-cache", "no-fetch-before-precheck", "kidless-rotation"}
}

// RemoteScenario runs one key-set scenario against a JWKSServer at base and returns
// its trace, with base replaced by "$BASE".
func RemoteScenario(base, name string) []string {
	s := &scenario{base: base, name: name, keys: NewKeys(), clk: newClock()}
	switch name {
	case "rotation":
		scenarioRotation(s)
	case "unknown-kid-flood":
		scenarioUnknownKidFlood(s)
	case "cold-start":
		scenarioColdStartSharesOneFetch(s)
	case "max-age":
		scenarioMaxAge(s)
	case "keep-last-good":
		scenarioKeepLastGood(s)
	case "deadline":
		scenarioDeadline(s)
	case "shared-cache":
		scenarioSharedCache(s)
	case "no-fetch-before-precheck":
		scenarioNothingFetchedBeforePreCheck(s)
	case "kidless-rotation":
		scenarioKidlessRotation(s)
	default:
		s.logf("unknown scenario")
	}
	return s.lines
}

// scenarioRotation: a new kid is picked up by one fetch (once MinRefresh allows it),
// later tokens with it need none, and a removed kid is refused after the next refresh.
func scenarioRotation(s *scenario) {
	ks := s.keySet("/rotate/rotation", jose.RemoteKeySetOptions{MinRefresh: 30 * time.Second, MinCache: 5 * time.Minute, MaxCache: time.Hour})
	s.logf("rsa-1:", s.verify(ks, s.token("rsa-1")), fetches(ks))
	s.logf("rsa-2 within MinRefresh:", s.verify(ks, s.token("rsa-2")), fetches(ks))
	s.clk.advance(31 * time.Second)
	s.logf("rsa-2 after MinRefresh:", s.verify(ks, s.token("rsa-2")), fetches(ks))
	ok := 0
	for i := 0; i < 5; i++ {
		if strings.HasPrefix(s.verify(ks, s.token("rsa-2")), "ok") {
			ok++
		}
	}
	s.logf("5 more rsa-2 tokens:", strconv.Itoa(ok), "ok", fetches(ks))
	s.logf("rsa-1 still listed:", s.verify(ks, s.token("rsa-1")), fetches(ks))
	s.clk.advance(5 * time.Minute)
	s.logf("rsa-2 after the set expired:", s.verify(ks, s.token("rsa-2")), fetches(ks))
	s.logf("rsa-1 after removal:", s.verify(ks, s.token("rsa-1")), fetches(ks))
	s.logf("server requests:", s.hits("/rotate/rotation"))
}

// scenarioKidlessRotation: a token without a kid, signed by a key the provider
// rotated in after the set was fetched, verifies after one refresh (once MinRefresh
// allows a fetch), and tokens without a kid whose signatures verify with no key make
// no more fetches than unknown kids do: none within MinRefresh, one per interval.
func scenarioKidlessRotation(s *scenario) {
	ks := s.keySet("/rotate/kidless", jose.RemoteKeySetOptions{MinRefresh: 30 * time.Second, MinCache: 5 * time.Minute, MaxCache: time.Hour})
	claims := `{"sub":"alice","exp":4102444800}`
	old := Sign("RS256", s.keys.RSA, `{"alg":"RS256"}`, claims)
	rotated := Sign("RS256", s.keys.AttackerRSA, `{"alg":"RS256"}`, claims)
	parts := strings.Split(old, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","exp":4102444800}`)) + "." + parts[2]
	s.logf("no kid, rsa-1:", s.verify(ks, old), fetches(ks))
	s.logf("no kid, rotated-in key within MinRefresh:", s.verify(ks, rotated), fetches(ks))
	s.clk.advance(31 * time.Second)
	s.logf("no kid, rotated-in key after MinRefresh:", s.verify(ks, rotated), fetches(ks))
	s.logf("no kid, rotated-in key again:", s.verify(ks, rotated), fetches(ks))
	s.logf("100 forged within MinRefresh:", s.flood(ks, 100, func(i int) string { return forged }), fetches(ks))
	s.clk.advance(31 * time.Second)
	s.logf("100 forged after MinRefresh:", s.flood(ks, 100, func(i int) string { return forged }), fetches(ks))
	s.logf("server requests:", s.hits("/rotate/kidless"))
}

// scenarioUnknownKidFlood: 200 concurrent tokens with unknown kids cause at most one
// fetch per MinRefresh.
func scenarioUnknownKidFlood(s *scenario) {
	ks := s.keySet("/static/flood", jose.RemoteKeySetOptions{MinRefresh: time.Minute})
	s.logf("initial load:", errText(ks.Refresh(context.Background())), fetches(ks))
	for round := 1; round <= 3; round++ {
		r := strconv.Itoa(round)
		s.logf("round "+r+" flood:", s.flood(ks, 200, func(i int) string { return s.token("unknown-" + r + "-" + strconv.Itoa(i)) }), fetches(ks))
		s.clk.advance(61 * time.Second)
	}
	s.logf("server requests:", s.hits("/static/flood"))
}

// scenarioColdStartSharesOneFetch: 200 concurrent callers on an empty key set wait for
// one fetch and all verify.
func scenarioColdStartSharesOneFetch(s *scenario) {
	ks := s.keySet("/delay/coldstart", jose.RemoteKeySetOptions{})
	tok := s.token("rsa-1")
	s.logf("200 concurrent:", s.flood(ks, 200, func(i int) string { return tok }), fetches(ks))
	s.logf("server requests:", s.hits("/delay/coldstart"))
}

// scenarioMaxAge: Cache-Control max-age sets the lifetime within [MinCache, MaxCache].
func scenarioMaxAge(s *scenario) {
	o := jose.RemoteKeySetOptions{MinRefresh: time.Second, MinCache: 10 * time.Second, MaxCache: time.Hour}
	for _, c := range []struct {
		path          string
		before, after time.Duration
	}{
		{"/maxage/60/ma60", 59 * time.Second, 2 * time.Second},
		{"/maxage/1/ma1", 9 * time.Second, 2 * time.Second},
		{"/maxage/999999/mabig", 59 * time.Minute, 2 * time.Minute},
		{"/static/manone", 9 * time.Second, 2 * time.Second},
		{"/nocache/manocache", 9 * time.Second, 2 * time.Second},
	} {
		s.clk = newClock()
		ks := s.keySet(c.path, o)
		tok := s.token("rsa-1")
		s.verify(ks, tok)
		st := ks.Stats()
		s.logf(c.path, "lifetime", st.ExpiresAt.Sub(st.LoadedAt).String())
		s.clk.advance(c.before)
		s.logf(c.path, "before expiry:", s.verify(ks, tok), fetches(ks))
		s.clk.advance(c.after)
		s.logf(c.path, "after expiry:", s.verify(ks, tok), fetches(ks))
	}
}

// scenarioKeepLastGood: failed fetches (status, not JSON, over the size cap, no usable
// key) keep the last good set; a failed first load answers "unavailable" and is not
// retried before MinRefresh.
func scenarioKeepLastGood(s *scenario) {
	ks := s.keySet("/flaky/flaky", jose.RemoteKeySetOptions{MinRefresh: time.Second, MinCache: 10 * time.Second, MaxBytes: 64 << 10})
	tok := s.token("rsa-1")
	s.logf("good:", s.verify(ks, tok), fetches(ks))
	for _, what := range []string{"status 500", "not JSON", "oversize", "no usable key", "good again"} {
		s.clk.advance(11 * time.Second)
		v := s.verify(ks, tok)
		s.logf(what+":", v, fetches(ks), "last error:", ks.Stats().LastError)
	}
	down := s.keySet("/status/503/down", jose.RemoteKeySetOptions{MinRefresh: time.Minute})
	s.logf("first load fails:", s.verify(down, tok), fetches(down))
	s.logf("retry within MinRefresh:", s.verify(down, tok), fetches(down))
	s.clk.advance(61 * time.Second)
	s.logf("retry after MinRefresh:", s.verify(down, tok), fetches(down))
}

// scenarioDeadline: a key-set endpoint that does not answer costs at most Timeout.
func scenarioDeadline(s *scenario) {
	ks := s.keySet("/slow/slow", jose.RemoteKeySetOptions{Timeout: 200 * time.Millisecond})
	start := time.Now()
	v := s.verify(ks, s.token("rsa-1"))
	// The server would answer after a minute; the deadline ends the wait long before.
	within := "within 10 s"
	if time.Since(start) > 10*time.Second {
		within = "NOT within 10 s"
	}
	s.logf("slow endpoint:", v, fetches(ks), within)
}

// scenarioSharedCache: a replica takes a set another replica fetched from the shared
// cache (also after a rotation) instead of fetching; a corrupt shared value is ignored.
func scenarioSharedCache(s *scenario) {
	cache := NewMapCache()
	o := jose.RemoteKeySetOptions{MinRefresh: 30 * time.Second, MinCache: 5 * time.Minute, Shared: cache}
	a := s.keySet("/rotate/shared", o)
	b := s.keySet("/rotate/shared", o)
	s.logf("replica A rsa-1:", s.verify(a, s.token("rsa-1")), fetches(a), "cache sets", strconv.Itoa(cache.Sets))
	s.logf("replica B rsa-1:", s.verify(b, s.token("rsa-1")), fetches(b))
	s.clk.advance(31 * time.Second)
	s.logf("replica A rsa-2:", s.verify(a, s.token("rsa-2")), fetches(a), "cache sets", strconv.Itoa(cache.Sets))
	s.logf("replica B rsa-2:", s.verify(b, s.token("rsa-2")), fetches(b))
	s.logf("server requests:", s.hits("/rotate/shared"))
	c := s.keySet("/static/corrupt", o)
	cache.Set(context.Background(), c.ID(), []byte("jwks1 not-a-number\n{}"), time.Hour)
	s.logf("corrupt shared value:", s.verify(c, s.token("rsa-1")), fetches(c))
}

// scenarioNothingFetchedBeforePreCheck: tokens refused by PreCheck (kid injection,
// oversize, alg not allowed, HMAC, embedded key URLs) cause no request at all, and jku
// and x5u are never fetched.
func scenarioNothingFetchedBeforePreCheck(s *scenario) {
	ks := s.keySet("/static/precheck", jose.RemoteKeySetOptions{})
	att := s.keys.AttackerRSA
	claims := `{"sub":"alice","exp":4102444800}`
	for _, c := range []struct{ name, token string }{
		{"kid with CRLF", Sign("RS256", att, `{"alg":"RS256","kid":"a\r\nb"}`, claims)},
		{"kid of 300 bytes", Sign("RS256", att, `{"alg":"RS256","kid":"`+strings.Repeat("k", 300)+`"}`, claims)},
		{"kid SQL", Sign("RS256", att, `{"alg":"RS256","kid":"' OR 1=1 --"}`, claims)},
		{"alg none", b64.EncodeToString([]byte(`{"alg":"none","kid":"rsa-1"}`)) + "." + b64.EncodeToString([]byte(claims)) + ".AAAA"},
		{"alg HS256", Sign("HS256", []byte(strings.Repeat("k", 32)), `{"alg":"HS256","kid":"rsa-1"}`, claims)},
		{"alg ES256K", Sign("RS256", att, `{"alg":"ES256K","kid":"rsa-1"}`, claims)},
		{"oversize", Sign("RS256", att, `{"alg":"RS256","kid":"rsa-1"}`, `{"pad":"`+strings.Repeat("x", 20000)+`"}`)},
		{"duplicate alg", Sign("RS256", att, `{"alg":"RS256","alg":"HS256","kid":"rsa-1"}`, claims)},
	} {
		s.logf(c.name+":", s.verify(ks, c.token))
	}
	s.logf("requests after refused tokens:", s.hits("/static/precheck"))
	keysFor, err := ks.KeysFor(context.Background(), "rsa-1", "HS256")
	s.logf("KeysFor HS256:", strconv.Itoa(len(keysFor)), errText(err), "requests:", s.hits("/static/precheck"))
	jku := Sign("RS256", att, `{"alg":"RS256","kid":"rsa-1","jku":"`+s.base+`/jku/keys","x5u":"`+s.base+`/x5u/cert"}`, claims)
	s.logf("jku and x5u:", s.verify(ks, jku), "jku requests:", s.hits("/jku/keys"), "x5u requests:", s.hits("/x5u/cert"))
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
