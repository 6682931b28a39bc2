package yaegihost

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Operations: metrics.path, health.path and the log formats, played compiled and
// under Yaegi. docs/OPERATIONS.md describes what these tests prove.

const (
	metricsPath = "/oauth2/metrics"
	healthPath  = "/oauth2/health"
)

// families is one scrape, parsed.
type families map[string]*dto.MetricFamily

// scrape reads base's metrics.path with the header pairs, checks the status and the
// content type, and parses the body with the Prometheus project's own text parser
// (strict legacy metric names).
func scrape(t testing.TB, base string, hdr ...string) families {
	t.Helper()
	resp, body := getAPI(t, base+metricsPath, hdr...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("metrics Content-Type %q", ct)
	}
	if f := expfmt.ResponseFormat(resp.Header); f.FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("Prometheus reads Content-Type %q as %v, not the text format", resp.Header.Get("Content-Type"), f)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the Prometheus parser refuses the exposition: %v\n%.2000s", err, body)
	}
	return fams
}

// value is the sum of a family's samples whose labels include want (name=value
// pairs); for a histogram, the sum of its sample counts.
func value(fams families, name string, want ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1e18
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want...) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

func hasLabels(m *dto.Metric, want ...string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// waitMetrics scrapes base until cond holds (failing after 30 s) and returns that
// scrape.
func waitMetrics(t testing.TB, base, what string, cond func(families) bool) families {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f := scrape(t, base)
		if cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			var names []string
			for n, fam := range f {
				for _, m := range fam.GetMetric() {
					names = append(names, fmt.Sprintf("%s%v %v%v", n, m.GetLabel(), m.GetCounter().GetValue(), m.GetGauge().GetValue()))
				}
			}
			sort.Strings(names)
			t.Fatalf("%s: not reached within 30 s; last scrape:\n%s", what, strings.Join(names, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// operationsDoc returns docs/OPERATIONS.md.
func operationsDoc(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(root + "/docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// documentedSeries returns docs/OPERATIONS.md's series table: name → type and label.
func documentedSeries(t testing.TB) map[string][2]string {
	t.Helper()
	row := regexp.MustCompile("(?m)^\\| `(gatehouse_[a-z0-9_]+)` \\| (counter|gauge|histogram) \\| (?:`([a-z_]+)`)? *\\|")
	out := map[string][2]string{}
	for _, m := range row.FindAllStringSubmatch(operationsDoc(t), -1) {
		out[m[1]] = [2]string{m[2], m[3]}
	}
	if len(out) < 30 {
		t.Fatalf("only %d series documented", len(out))
	}
	return out
}

// metricsScenarioConfig: hybrid cache on rs, bearer auth with introspection, the
// endpoints for loopback clients, small bounds so that evictions, a full outbox, a
// throttle and dropped revocations happen in a short scenario.
func metricsScenarioConfig(op *testop.Provider, rs *redistest.Server, prefix string) map[string]any {
	cfg := logoutConfig(op, rs.URL(), prefix)
	cfg["excludedURLs"] = "/signed-out,/public/"
	cfg["trustedProxies"] = "127.0.0.1"
	b := group(cfg, "bearer")
	b["enabled"] = true
	b["audience"] = testop.DefaultAudience
	introspectionConfig(cfg, true)
	cfg["metrics"] = map[string]any{"path": metricsPath, "allowedIPs": "127.0.0.0/8"}
	cfg["health"] = map[string]any{"path": healthPath, "allowedIPs": "127.0.0.0/8"}
	group(cfg, "throttle")["failures"] = 3
	c := group(cfg, "cache")
	c["l1MaxEntries"] = 16
	c["outboxSize"] = 1
	c["maxRevocations"] = 16
	// A one-place outbox must not fill because Redis was slow on a busy machine,
	// only while it is paused.
	c["redis"].(map[string]any)["readTimeout"] = "3s"
	c["redis"].(map[string]any)["writeTimeout"] = "3s"
	group(cfg, "session")["refreshGrace"] = "0s"
	group(cfg, "provider")["jwksMinRefresh"] = "1s"
	group(cfg, "authorization")["allowedUsers"] = "alice@example.com,svc-orders"
	return cfg
}

// longToken is an access token of svc-orders valid for ten minutes (the provider's
// default lifetime is short in these tests, for refreshes), with claims merged in.
func longToken(t testing.TB, op *testop.Provider, opaque bool, claims map[string]any) string {
	t.Helper()
	tok, err := op.IssueAccessToken(testop.AccessTokenOptions{Lifetime: 10 * time.Minute, Opaque: opaque, Claims: claims})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// from is the header that makes a request come from addr (through the trusted
// loopback proxy).
func from(addr string) []string { return []string{"X-Forwarded-For", addr} }

// TestMetricsSeriesMoveThroughAScenario: the metrics endpoint's output parses with
// Prometheus's own parser, holds exactly the series docs/OPERATIONS.md lists (with
// their types and labels), and every one of them moves while a scenario runs: the
// provider unreachable then reachable, sign-in, session and bearer requests (two
// routers of one middleware), excluded URLs, refusals of every status, a throttle,
// a refresh, sign-outs of every kind, Redis paused (SIGSTOP) and resumed with a full
// outbox, a key-set fetch that fails, and more revocations than the set holds.
func TestMetricsSeriesMoveThroughAScenario(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		rs := redistest.Start(t, redistest.Options{})
		op := newOP(t, testop.Options{Lifetimes: testop.Lifetimes{AccessToken: 3 * time.Second}})
		ctx := context.Background()
		name := "metrics-" + md.name + "@file"
		cfg := metricsScenarioConfig(op, rs, "met-"+md.name+":")

		// The provider cannot be reached when the middleware starts.
		op.SetFailure(testop.EPDiscovery, http.StatusInternalServerError)
		stop := captureStderr(t) // the refused sign-out below is logged at error
		var logged string
		var stopOnce sync.Once
		stopped := func() string {
			stopOnce.Do(func() { logged = stop() })
			return logged
		}
		t.Cleanup(func() { stopped() })
		a := startGatehouse(t, md, cfg, name)
		var scrapes []families
		first := waitMetrics(t, a.URL, "a failed discovery", func(f families) bool {
			return value(f, "gatehouse_discovery_failures_total") >= 1
		})
		scrapes = append(scrapes, first)
		if v := value(first, "gatehouse_provider_discovered"); v != 0 {
			t.Fatalf("provider_discovered %v while discovery fails", v)
		}
		// The discovery loop retries (with backoff) while the provider fails.
		scrapes = append(scrapes, waitMetrics(t, a.URL, "a retried discovery", func(f families) bool {
			return value(f, "gatehouse_discovery_failures_total") > value(first, "gatehouse_discovery_failures_total")
		}))
		// A browser gets 503, and the health endpoint too.
		if resp, _ := getAPI(t, a.URL+"/app", "Accept", "text/html"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("sign-in while the provider fails: %d", resp.StatusCode)
		}
		op.SetFailure(testop.EPDiscovery, 0)
		waitHealth(t, a.URL, http.StatusOK)
		scrapes = append(scrapes, scrape(t, a.URL))

		// Sign-ins (two browsers), session requests (the hot path), an excluded URL.
		br1, br2 := newBrowser(), newBrowser()
		mustContain(t, "sign-in 1", br1.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		mustContain(t, "sign-in 2", br2.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		for i := 0; i < 5; i++ {
			mustContain(t, "session request", br1.get(t, a.URL+"/app"), "backend /app")
		}
		if resp, body := getAPI(t, a.URL+"/public/app.css"); resp.StatusCode != 200 || !strings.HasPrefix(body, "backend ") {
			t.Fatalf("excluded URL: %d", resp.StatusCode)
		}
		// Refusals: 401 (an API client without credentials), 403 (a token of a user
		// the rules deny), 400 (a Host header no redirect can be built for), a callback
		// without a login transaction.
		if resp, _ := getAPI(t, a.URL+"/api", "Accept", "application/json"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("API client without credentials: %d", resp.StatusCode)
		}
		other := longToken(t, op, false, map[string]any{"sub": "svc-other"})
		if resp, _ := getAPI(t, a.URL+"/orders", bearer(other)...); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("denied token: %d", resp.StatusCode)
		}
		if resp := badHost(t, a.URL); resp != http.StatusBadRequest {
			t.Fatalf("bad Host: %d", resp)
		}
		if resp, _ := getAPI(t, a.URL+"/oauth2/callback?state=forged&code=x"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("callback without a transaction: %d", resp.StatusCode)
		}
		scrapes = append(scrapes, scrape(t, a.URL))

		// Bearer tokens: first sight (signature checked, introspected), again (the
		// verdict cache), at a second router of the same middleware (the shared
		// verification), an opaque token, and more tokens than the L1 holds.
		good := longToken(t, op, false, nil)
		for i := 0; i < 3; i++ {
			resp, body := getAPI(t, a.URL+"/orders", bearer(good)...)
			wantForwarded(t, "bearer", resp, body, "X-Forwarded-User: svc-orders")
		}
		b := startGatehouse(t, md, cfg, name)
		waitMetrics(t, a.URL, "the second router's instance", func(f families) bool {
			return value(f, "gatehouse_instances") == 2 && value(f, "gatehouse_provider_discovered") == 2
		})
		resp, body := getAPI(t, b.URL+"/orders", bearer(good)...)
		wantForwarded(t, "bearer at the second router", resp, body, "X-Forwarded-User: svc-orders")
		resp, body = getAPI(t, a.URL+"/orders", bearer(longToken(t, op, true, nil))...)
		wantForwarded(t, "opaque token", resp, body, "X-Forwarded-User: svc-orders")
		for i := 0; i < 20; i++ {
			resp, body := getAPI(t, a.URL+"/orders", bearer(longToken(t, op, false, nil))...)
			wantForwarded(t, "token "+strconv.Itoa(i), resp, body, "X-Forwarded-User: svc-orders")
		}
		// Junk tokens from one client: refused, then throttled (429).
		for i := 0; i < 3; i++ {
			resp, _ := getAPI(t, a.URL+"/orders", append(bearer("junk-"+strconv.Itoa(i)), from("192.0.2.20")...)...)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("junk token %d: %d", i, resp.StatusCode)
			}
		}
		if resp, _ := getAPI(t, a.URL+"/orders", append(bearer("junk-x"), from("192.0.2.20")...)...); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("throttled client: %d", resp.StatusCode)
		}
		// A key set that cannot be fetched: a token naming an unknown kid makes
		// Gatehouse refetch (at most once a second), which fails: 503.
		op.SetFailure(testop.EPJWKS, http.StatusInternalServerError)
		claims := validClaims(op)
		claims["exp"] = time.Now().Unix() + 600
		unknownKid := op.Sign(map[string]any{"kid": "rotated-away"}, claims)
		attempt := 0
		waitMetrics(t, a.URL, "a failed key-set fetch", func(f families) bool {
			// A client address per attempt: refusals before the refetch is due count
			// against the client's throttle.
			attempt++
			getAPI(t, a.URL+"/orders", append(bearer(unknownKid), from("198.18.0."+strconv.Itoa(attempt%250+1))...)...)
			return value(f, "gatehouse_jwks_fetch_errors_total") >= 1
		})
		op.SetFailure(testop.EPJWKS, 0)
		scrapes = append(scrapes, scrape(t, a.URL))

		// A refresh: the session's access token lives 3 s.
		waitMetrics(t, a.URL, "a refresh", func(f families) bool {
			br2.get(t, a.URL+"/app")
			return value(f, "gatehouse_refreshes_total", "result", "redeemed") >= 1
		})
		// Back-channel sign-out (of a provider session no browser here holds), after a
		// junk request.
		br3 := newBrowser()
		if resp, _ := br3.post(t, a.URL+backchannelPath, url.Values{"logout_token": {"junk"}}); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("junk back-channel logout: %d", resp.StatusCode)
		}
		if status, err := op.BackchannelLogout(ctx, a.URL+backchannelPath, "", "ended-"+md.name); err != nil || status != http.StatusOK {
			t.Fatalf("back-channel logout: %d %v\n%s", status, err, stopped())
		}
		scrapes = append(scrapes, scrape(t, a.URL))

		// Redis paused: the first sign-out goes to the outbox (one place), the second
		// finds it full (503); a new token's verification cannot be shared.
		rs.Pause()
		resumed := false
		defer func() {
			if !resumed {
				rs.Resume()
			}
		}()
		if resp, _ := br1.post(t, a.URL+logoutPath, url.Values{}); resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusOK {
			t.Fatalf("sign-out while Redis is paused: %d", resp.StatusCode)
		}
		if resp, _ := br2.post(t, a.URL+logoutPath, url.Values{}); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("sign-out with the outbox full: %d", resp.StatusCode)
		}
		if out := stopped(); !strings.Contains(out, `event=logout.not_recorded msg="sign-out not recorded for every replica"`) {
			t.Fatalf("the refused sign-out was not logged:\n%s", out)
		}
		resp, body = getAPI(t, a.URL+"/orders", bearer(longToken(t, op, false, nil))...)
		wantForwarded(t, "bearer while Redis is paused", resp, body, "X-Forwarded-User: svc-orders")
		paused := waitMetrics(t, a.URL, "a degraded cache with a revocation in the outbox", func(f families) bool {
			return value(f, "gatehouse_cache_state", "state", "degraded") >= 1 && value(f, "gatehouse_revocation_outbox_length") >= 1
		})
		scrapes = append(scrapes, paused)
		rs.Resume()
		resumed = true
		scrapes = append(scrapes, waitMetrics(t, a.URL, "Redis back, the outbox replayed", func(f families) bool {
			return value(f, "gatehouse_cache_state", "state", "healthy") == 2 && value(f, "gatehouse_revocation_outbox_length") == 0 &&
				value(f, "gatehouse_revocation_outbox_replayed_total") >= 1
		}))

		// More revocations than cache.maxRevocations holds (provider sessions signed
		// out by the provider): the oldest is dropped and the floor raised.
		for i := 0; i < 20; i++ {
			if status, err := op.BackchannelLogout(ctx, a.URL+backchannelPath, "", "gone-"+md.name+"-"+strconv.Itoa(i)); err != nil || status != http.StatusOK {
				t.Fatalf("back-channel logout %d: %d %v", i, status, err)
			}
		}
		last := waitMetrics(t, a.URL, "a dropped revocation", func(f families) bool {
			return value(f, "gatehouse_revocations_dropped_total") >= 1
		})
		scrapes = append(scrapes, last)

		checkDocumentedAndMoving(t, scrapes)
		// Every request of the scenario is counted once: the outcomes add up to what
		// the two instances served (the scrapes themselves are endpoint requests).
		for _, outcome := range []string{"session", "bearer", "excluded", "redirected", "endpoint", "401", "403", "429", "503", "error"} {
			if value(last, "gatehouse_requests_total", "outcome", outcome) < 1 {
				t.Errorf("no request counted with outcome %s", outcome)
			}
		}
		if v := value(last, "gatehouse_build_info", "version", "v0.1.0"); v != 1 {
			t.Errorf("gatehouse_build_info{version=v0.1.0} = %v", v)
		}
		for _, f := range last {
			for _, m := range f.GetMetric() {
				if !hasLabels(m, "middleware", name) {
					t.Errorf("%s sample %v lacks middleware=%q", f.GetName(), m.GetLabel(), name)
				}
			}
		}
	})
}

// checkDocumentedAndMoving: the scrapes hold exactly the documented series, each of
// the documented type and label, and each moves: a counter or histogram grows from
// the first scrape to the last, a gauge takes two values at least.
func checkDocumentedAndMoving(t *testing.T, scrapes []families) {
	t.Helper()
	doc := documentedSeries(t)
	firstScrape, lastScrape := scrapes[0], scrapes[len(scrapes)-1]
	for name := range lastScrape {
		if _, ok := doc[name]; !ok {
			t.Errorf("%s is exposed but not documented in docs/OPERATIONS.md", name)
		}
	}
	for name, d := range doc {
		f := lastScrape[name]
		if f == nil {
			t.Errorf("%s is documented but not exposed", name)
			continue
		}
		if typ := strings.ToLower(f.GetType().String()); typ != d[0] {
			t.Errorf("%s is a %s, documented as a %s", name, typ, d[0])
		}
		for _, m := range f.GetMetric() {
			var extra []string
			for _, l := range m.GetLabel() {
				if l.GetName() != "middleware" && l.GetName() != "le" {
					extra = append(extra, l.GetName())
				}
			}
			if want := d[1]; (want == "" && len(extra) != 0) || (want != "" && (len(extra) != 1 || extra[0] != want)) {
				t.Errorf("%s has labels %v, documented %q", name, extra, want)
			}
		}
		switch {
		case name == "gatehouse_build_info":
			// Constant.
		case d[0] == "gauge":
			seen := map[string]bool{}
			for _, s := range scrapes {
				if s[name] == nil {
					continue
				}
				var vals []string
				for _, m := range s[name].GetMetric() {
					vals = append(vals, fmt.Sprint(m.GetLabel(), m.GetGauge().GetValue()))
				}
				sort.Strings(vals)
				seen[strings.Join(vals, ";")] = true
			}
			if len(seen) < 2 {
				t.Errorf("gauge %s never moved during the scenario: %v", name, seen)
			}
		default:
			if before, after := value(firstScrape, name), value(lastScrape, name); !(after > before) {
				t.Errorf("%s did not move during the scenario: %v then %v", name, before, after)
			}
		}
	}
}

// badHost sends an unauthenticated browser request whose Host header is valid HTTP
// but no redirect URI can be built from, and returns the status.
func badHost(t testing.TB, base string) int {
	t.Helper()
	resp, body := rawExchangeHost(t, base, "/app", "Host", "bad%host", "Accept", "text/html")
	if resp.StatusCode == http.StatusBadRequest && !strings.Contains(body, "Host header is not valid") {
		t.Fatalf("the 400 did not come from Gatehouse: %s", body)
	}
	return resp.StatusCode
}

// healthReport is health.path's answer, as a client reads it.
type healthReport struct {
	Status     string `json:"status"`
	Version    string `json:"version"`
	Middleware string `json:"middleware"`
	Provider   struct {
		Discovered        bool     `json:"discovered"`
		LastErrorClass    string   `json:"lastErrorClass"`
		DiscoveryAge      *float64 `json:"discoveryAgeSeconds"`
		DiscoveryFailures int      `json:"discoveryFailures"`
	} `json:"provider"`
	KeySet struct {
		Loaded      bool     `json:"loaded"`
		Age         *float64 `json:"ageSeconds"`
		Keys        int      `json:"keys"`
		FetchErrors int      `json:"fetchErrors"`
	} `json:"keySet"`
	Cache struct {
		Mode             string `json:"mode"`
		State            string `json:"state"`
		Tracking         string `json:"tracking"`
		RedisConnections int    `json:"redisConnections"`
		OutboxLength     int    `json:"outboxLength"`
		OutboxMax        int    `json:"outboxMax"`
	} `json:"cache"`
}

// health reads base's health.path (strictly: no unknown member).
func health(t testing.TB, base string, hdr ...string) (int, healthReport) {
	t.Helper()
	resp, body := getAPI(t, base+healthPath, hdr...)
	var r healthReport
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("health headers: %v", resp.Header)
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("health body: %v: %s", err, body)
	}
	return resp.StatusCode, r
}

// waitHealth polls base's health.path until it answers status.
func waitHealth(t testing.TB, base string, status int) healthReport {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, r := health(t, base)
		if got == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("health still %d (%+v), want %d", got, r, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHealthFlipsWithTheProvider: while the provider was never reached the health
// endpoint answers 503 with the error's class (the HTTP status, then the network
// when nothing listens); once discovery succeeds, 200 with the version, the cache's
// state and the key set once a token needed it; an outage of the provider after that
// leaves it 200 (the instance still serves signed-in users). A provider that never
// answers is reported as a timeout.
func TestHealthFlipsWithTheProvider(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		rs := redistest.Start(t, redistest.Options{})
		op := newOP(t, testop.Options{})
		op.SetFailure(testop.EPDiscovery, http.StatusServiceUnavailable)
		cfg := replicaConfig(op, rs.URL())
		b := group(cfg, "bearer")
		b["enabled"] = true
		b["audience"] = testop.DefaultAudience
		cfg["health"] = map[string]any{"path": healthPath, "allowedIPs": "127.0.0.1"}
		srv := startGatehouse(t, md, cfg, "health-"+md.name+"@file")

		deadline := time.Now().Add(30 * time.Second)
		for {
			status, r := health(t, srv.URL)
			if status != http.StatusServiceUnavailable || r.Status != "unavailable" || r.Provider.Discovered || r.Provider.DiscoveryAge != nil {
				t.Fatalf("health before discovery: %d %+v", status, r)
			}
			if r.Provider.LastErrorClass == "http_status" && r.Provider.DiscoveryFailures >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no failed discovery reported: %+v", r)
			}
			time.Sleep(50 * time.Millisecond)
		}
		op.SetFailure(testop.EPDiscovery, 0)
		r := waitHealth(t, srv.URL, http.StatusOK)
		if r.Status != "ok" || r.Version != "v0.1.0" || r.Middleware != "health-"+md.name+"@file" || !r.Provider.Discovered ||
			r.Provider.LastErrorClass != "" || r.Provider.DiscoveryAge == nil || r.KeySet.Loaded || r.Cache.Mode != "hybrid" || r.Cache.OutboxMax != 10000 {
			t.Fatalf("health after discovery: %+v", r)
		}
		resp, body := getAPI(t, srv.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "bearer", resp, body, "X-Forwarded-User: svc-orders")
		waitFor(t, "a healthy cache and a loaded key set", func() bool {
			_, r := health(t, srv.URL)
			return r.Cache.State == "healthy" && r.Cache.Tracking == "live" && r.Cache.RedisConnections > 0 && r.KeySet.Loaded && r.KeySet.Keys > 0 && *r.KeySet.Age >= 0
		})
		// The provider goes away: the instance can still authenticate what it knows.
		op.Close()
		if status, r := health(t, srv.URL); status != http.StatusOK || !r.Provider.Discovered {
			t.Fatalf("health after the provider went away: %d %+v", status, r)
		}

		// An instance that never reached the provider: nothing listens at all.
		gone := rpConfig(op)
		group(gone, "provider")["issuer"] = "http://" + closedAddr(t)
		gone["health"] = map[string]any{"path": healthPath, "allowedIPs": "127.0.0.1"}
		g := startGatehouse(t, md, gone, "health-gone-"+md.name+"@file")
		waitFor(t, "a network error class", func() bool {
			status, r := health(t, g.URL)
			return status == http.StatusServiceUnavailable && r.Provider.LastErrorClass == "network"
		})

		// A provider that never answers: a timeout (provider.httpTimeout).
		slow := newOP(t, testop.Options{})
		slow.SetDelay(testop.EPDiscovery, testop.Hang)
		hung := rpConfig(slow)
		group(hung, "provider")["httpTimeout"] = "1s"
		hung["health"] = map[string]any{"path": healthPath, "allowedIPs": "127.0.0.1"}
		s := startGatehouse(t, md, hung, "health-hung-"+md.name+"@file")
		waitFor(t, "a timeout error class", func() bool {
			status, r := health(t, s.URL)
			return status == http.StatusServiceUnavailable && r.Provider.LastErrorClass == "timeout"
		})
	})
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// waitFor polls cond every 20 ms for up to 30 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOperationsEndpointsAnswer404ToEveryoneElse: an endpoint restricted by address
// answers 404, like an unknown path, to other addresses (a forged X-Forwarded-For
// counts only through a trusted proxy); one restricted by scope answers 404 without
// a token, with a token lacking the scope, an expired or revoked one, and answers a
// token with the scope — with bearer auth off for ordinary requests; with both rules
// both must hold; refused tokens are throttled (404 all the same).
func TestOperationsEndpointsAnswer404ToEveryoneElse(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		notFound := func(what string, resp *http.Response, body string) {
			t.Helper()
			if resp.StatusCode != http.StatusNotFound || body != "404 page not found\n" {
				if len(body) > 200 {
					body = body[:200] + "…"
				}
				t.Fatalf("%s: want a plain 404, got %d %q", what, resp.StatusCode, body)
			}
		}

		// By address.
		cfg := rpConfig(op)
		cfg["metrics"] = map[string]any{"path": metricsPath, "allowedIPs": "10.0.0.0/8"}
		cfg["health"] = map[string]any{"path": healthPath, "allowedIPs": "10.0.0.0/8"}
		srv := startGatehouse(t, md, cfg, "ops-ip-"+md.name+"@file")
		for _, p := range []string{metricsPath, healthPath} {
			resp, body := getAPI(t, srv.URL+p)
			notFound("loopback client at "+p, resp, body)
			resp, body = getAPI(t, srv.URL+p, from("10.1.2.3")...)
			notFound("forged X-Forwarded-For without trusted proxies at "+p, resp, body)
		}
		cfg["trustedProxies"] = "127.0.0.1"
		viaProxy := startGatehouse(t, md, cfg, "ops-ip-proxy-"+md.name+"@file")
		scrape(t, viaProxy.URL, from("10.1.2.3")...)
		if resp, body := getAPI(t, viaProxy.URL+metricsPath, from("192.0.2.1")...); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("an address outside allowedIPs through the proxy: %d %s", resp.StatusCode, body)
		}
		if resp, _ := getAPI(t, viaProxy.URL+healthPath, from("10.1.2.3")...); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("health through the proxy: %d", resp.StatusCode)
		}

		// By scope, bearer auth off for ordinary requests.
		cfg = rpConfig(op)
		group(cfg, "bearer")["audience"] = testop.DefaultAudience
		group(cfg, "throttle")["failures"] = 5
		cfg["trustedProxies"] = "127.0.0.1"
		cfg["metrics"] = map[string]any{"path": metricsPath, "requiredScope": "gatehouse:metrics"}
		cfg["health"] = map[string]any{"path": healthPath, "requiredScope": "gatehouse:metrics", "allowedIPs": "10.0.0.0/8"}
		srv, h := startInstance(t, md, cfg, "ops-scope-"+md.name+"@file")
		withScope := mintAccess(t, op, map[string]any{"scope": "orders.read gatehouse:metrics"})
		noScope := mintAccess(t, op, map[string]any{"scope": "orders.read"})
		expired := mintAccess(t, op, map[string]any{"scope": "gatehouse:metrics", "iat": time.Now().Unix() - 600, "exp": time.Now().Unix() - 300})
		revokedJTI := "ops-revoked-" + md.name
		revoked := mintAccess(t, op, map[string]any{"scope": "gatehouse:metrics", "jti": revokedJTI})
		for what, hdr := range map[string][]string{
			"no token": nil, "a Basic credential": {"Authorization", "Basic dTpw"}, "a token without the scope": bearer(noScope),
			"an expired token": bearer(expired), "a junk token": bearer("junk"),
		} {
			resp, body := getAPI(t, srv.URL+metricsPath, append(hdr, from("198.51.100."+strconv.Itoa(len(what)))...)...)
			notFound(what, resp, body)
		}
		f := scrape(t, srv.URL, bearer(withScope)...)
		if value(f, "gatehouse_requests_total", "outcome", "endpoint") < 1 {
			t.Fatal("the scrape did not count itself")
		}
		// The token with the scope is no API credential: bearer auth is off.
		if resp, _ := getAPI(t, srv.URL+"/orders", append(bearer(withScope), "Accept", "application/json")...); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an ordinary request with the scraper's token: %d", resp.StatusCode)
		}
		// A revoked token is refused from then on.
		scrape(t, srv.URL, bearer(revoked)...)
		revokeJTI(t, md, h, op.URL(), revokedJTI)
		resp, body := getAPI(t, srv.URL+metricsPath, bearer(revoked)...)
		notFound("a revoked token", resp, body)
		// Both rules: the token alone is not enough for health.
		resp, body = getAPI(t, srv.URL+healthPath, bearer(withScope)...)
		notFound("health with the token but outside allowedIPs", resp, body)
		if resp, _ := getAPI(t, srv.URL+healthPath, append(bearer(withScope), from("10.9.9.9")...)...); resp.StatusCode != http.StatusOK {
			t.Fatalf("health with both rules met: %d", resp.StatusCode)
		}
		resp, body = getAPI(t, srv.URL+healthPath, append(bearer(noScope), from("10.9.9.9")...)...)
		notFound("health from an allowed address without the scope", resp, body)
		// Refused tokens from one client trip its endpoint throttle: then even a good
		// token gets 404 until the penalty ends.
		for i := 0; i < 5; i++ {
			resp, body := getAPI(t, srv.URL+metricsPath, append(bearer(noScope), from("203.0.113.9")...)...)
			notFound("refused token "+strconv.Itoa(i), resp, body)
		}
		resp, body = getAPI(t, srv.URL+metricsPath, append(bearer(mintAccess(t, op, map[string]any{"scope": "gatehouse:metrics"})), from("203.0.113.9")...)...)
		notFound("a good token from a throttled client", resp, body)
		f = scrape(t, srv.URL, bearer(withScope)...)
		if value(f, "gatehouse_throttled_total", "purpose", "endpoint") != 1 {
			t.Fatalf("endpoint throttle: %v", value(f, "gatehouse_throttled_total", "purpose", "endpoint"))
		}
		// Other methods, for an allowed client.
		req, _ := http.NewRequest("POST", srv.URL+metricsPath, nil)
		req.Header.Set("Authorization", "Bearer "+withScope)
		if resp, _ := doRequest(t, req); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("POST to metrics: %d", resp.StatusCode)
		}
	})
}

// revokeJTI revokes one token by its jti through the instance (RevokeBearerToken).
func revokeJTI(t testing.TB, md mode, h http.Handler, issuer, jti string) {
	t.Helper()
	if got := bearerOp(t, md, h, "revoke-jti", issuer, jti); got != "ok" {
		t.Fatalf("RevokeBearerToken: %s", got)
	}
}

// TestMetricsAddUpAcrossRoutersAndSurviveReloads: the instances Traefik builds for
// two routers of one middleware count into one set of series (a scrape through
// either shows both), a configuration reload (new instances, then the old ones'
// context cancelled) carries every counter on — the hot path's too — and another
// middleware, or the same name with another issuer, has counters of its own.
func TestMetricsAddUpAcrossRoutersAndSurviveReloads(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		cfg["excludedURLs"] = "/public/"
		cfg["metrics"] = map[string]any{"path": metricsPath, "allowedIPs": "127.0.0.1"}
		name := "routers-" + md.name + "@file"
		serveWith := func(ctx context.Context, cfg map[string]any, name string) string {
			srv := httptest.NewServer(md.build(t, ctx, echoBackend(), cfg, name))
			t.Cleanup(srv.Close)
			return srv.URL
		}
		excluded := func(base string, n int) {
			for i := 0; i < n; i++ {
				if resp, _ := getAPI(t, base+"/public/x"); resp.StatusCode != http.StatusOK {
					t.Fatalf("excluded URL: %d", resp.StatusCode)
				}
			}
		}

		gen1, endGen1 := context.WithCancel(context.Background())
		defer endGen1()
		r1, r2 := serveWith(gen1, cfg, name), serveWith(gen1, cfg, name)
		excluded(r1, 2)
		excluded(r2, 3)
		br := newBrowser()
		mustContain(t, "sign-in through router 1", br.get(t, r1+"/"), "X-Forwarded-User: alice@example.com")
		for i := 0; i < 10; i++ {
			mustContain(t, "session request", br.get(t, r1+"/app"), "backend /app")
		}
		via1, via2 := scrape(t, r1), scrape(t, r2)
		for _, f := range []families{via1, via2} {
			if value(f, "gatehouse_requests_total", "outcome", "excluded") != 5 || value(f, "gatehouse_instances") != 2 {
				t.Fatalf("two routers: excluded %v, instances %v", value(f, "gatehouse_requests_total", "outcome", "excluded"), value(f, "gatehouse_instances"))
			}
		}
		sessions := value(via1, "gatehouse_requests_total", "outcome", "session")
		if sessions < 11 || value(via2, "gatehouse_requests_total", "outcome", "session") < sessions {
			t.Fatalf("session requests: %v through router 1, %v through router 2", sessions, value(via2, "gatehouse_requests_total", "outcome", "session"))
		}

		// A reload: Traefik builds the new instances, then ends the old ones.
		gen2, endGen2 := context.WithCancel(context.Background())
		defer endGen2()
		r3 := serveWith(gen2, cfg, name)
		endGen1()
		after := waitMetrics(t, r3, "the old instances ended", func(f families) bool { return value(f, "gatehouse_instances") == 1 })
		if got := value(after, "gatehouse_requests_total", "outcome", "excluded"); got != 5 {
			t.Fatalf("excluded after the reload: %v, want 5", got)
		}
		if got := value(after, "gatehouse_requests_total", "outcome", "session"); got < sessions {
			t.Fatalf("session requests went back from %v to %v across the reload", sessions, got)
		}
		excluded(r3, 1)
		if got := value(scrape(t, r3), "gatehouse_requests_total", "outcome", "excluded"); got != 6 {
			t.Fatalf("excluded after one more: %v, want 6", got)
		}

		// Another middleware, and the same name for another provider, count apart.
		other := serveWith(gen2, cfg, "other-"+md.name+"@file")
		op2 := newOP(t, testop.Options{})
		moved := rpConfig(op2)
		moved["metrics"] = cfg["metrics"]
		elsewhere := serveWith(gen2, moved, name)
		for _, base := range []string{other, elsewhere} {
			if got := value(scrape(t, base), "gatehouse_requests_total", "outcome", "excluded"); got != 0 {
				t.Fatalf("%s shares counters: excluded %v", base, got)
			}
		}
	})
}

// TestJSONLogLinesParseOneByOne: with log.format json every line the middleware
// writes, through sign-in, bearer refusals, a throttle and sign-outs, is one JSON
// object with exactly time (RFC 3339), level, plugin, middleware, event (a documented
// one), msg and fields; users are hashed, client addresses in clear — and hashed
// too with log.hashClientIP.
func TestJSONLogLinesParseOneByOne(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		delete(cfg, "logLevel") // log.level replaces it
		cfg["log"] = map[string]any{"format": "json", "level": "debug"}
		cfg["trustedProxies"] = "127.0.0.1"
		group(cfg, "throttle")["failures"] = 2
		hashedCfg := bearerConfig(op)
		hashedCfg["logLevel"] = "debug" // the older spelling still works
		hashedCfg["log"] = map[string]any{"format": "json", "hashClientIP": true}
		hashedCfg["trustedProxies"] = "127.0.0.1"
		name, hashedName := "jsonlog-"+md.name+"@file", "jsonlog-hashed-"+md.name+"@file"

		stop := captureStderr(t)
		var out string
		var once sync.Once
		finish := func() string {
			once.Do(func() { out = stop() })
			return out
		}
		t.Cleanup(func() { finish() })
		srv := startGatehouse(t, md, cfg, name)
		hashed := startGatehouse(t, md, hashedCfg, hashedName)
		br := newBrowser()
		mustContain(t, "sign-in", br.get(t, srv.URL+"/"), "X-Forwarded-User: alice@example.com")
		resp, body := getAPI(t, srv.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "bearer", resp, body, "X-Forwarded-User: svc-orders")
		for i := 0; i < 2; i++ {
			getAPI(t, srv.URL+"/orders", append(bearer("junk"), from("192.0.2.7")...)...)
		}
		getAPI(t, hashed.URL+"/orders", append(bearer("junk"), from("192.0.2.8")...)...)
		if resp, _ := br.post(t, srv.URL+logoutPath, url.Values{}); resp.StatusCode != http.StatusFound {
			t.Fatalf("sign-out: %d", resp.StatusCode)
		}
		if resp, _ := br.post(t, srv.URL+backchannelPath, url.Values{"logout_token": {"junk"}}); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("junk back-channel logout: %d", resp.StatusCode)
		}
		logged := finish()

		documented := documentedEventNames(t)
		type line struct {
			Time, Level, Plugin, Middleware, Event, Msg string
			Fields                                      map[string]any
		}
		var lines []line
		for i, raw := range strings.Split(strings.TrimSuffix(logged, "\n"), "\n") {
			var members map[string]json.RawMessage
			if err := json.Unmarshal([]byte(raw), &members); err != nil {
				t.Fatalf("line %d is not a JSON object: %v\n%s", i, err, raw)
			}
			for k := range members {
				switch k {
				case "time", "level", "plugin", "middleware", "event", "msg", "fields":
				default:
					t.Fatalf("line %d has member %q: %s", i, k, raw)
				}
			}
			var l line
			if err := json.Unmarshal([]byte(raw), &l); err != nil {
				t.Fatalf("line %d: %v: %s", i, err, raw)
			}
			if _, err := time.Parse(time.RFC3339Nano, l.Time); err != nil {
				t.Fatalf("line %d time %q: %v", i, l.Time, err)
			}
			if l.Plugin != "gatehouse" || (l.Middleware != name && l.Middleware != hashedName) || !documented[l.Event] || l.Msg == "" ||
				!map[string]bool{"debug": true, "info": true, "warn": true, "error": true}[l.Level] {
				t.Fatalf("line %d: %s", i, raw)
			}
			if l.Middleware == hashedName && strings.Contains(raw, "192.0.2.8") {
				t.Fatalf("a hashed client address was logged in clear: %s", raw)
			}
			lines = append(lines, l)
		}
		find := func(mw, event string, fields ...string) line {
			t.Helper()
			for _, l := range lines {
				if l.Middleware != mw || l.Event != event {
					continue
				}
				ok := true
				for i := 0; i+1 < len(fields); i += 2 {
					if fmt.Sprint(l.Fields[fields[i]]) != fields[i+1] {
						ok = false
					}
				}
				if ok {
					return l
				}
			}
			t.Fatalf("no %s line of %s with %v in:\n%s", event, mw, fields, logged)
			return line{}
		}
		signedIn := find(name, "login.succeeded", "client", "127.0.0.1")
		if u, _ := signedIn.Fields["user"].(string); !regexp.MustCompile(`^h:[0-9a-f]{12}$`).MatchString(u) {
			t.Fatalf("login.succeeded user %q", u)
		}
		find(name, "bearer.refused", "client", "192.0.2.7", "error", "invalid_token")
		find(name, "throttle.blocked", "client", "192.0.2.7", "purpose", "bearer")
		find(name, "logout.succeeded", "kind", "rp")
		find(name, "logout.refused", "kind", "backchannel")
		find(name, "config.loaded", "format", "json")
		refused := find(hashedName, "bearer.refused", "error", "invalid_token")
		if c, _ := refused.Fields["client"].(string); !regexp.MustCompile(`^h:[0-9a-f]{12}$`).MatchString(c) {
			t.Fatalf("hashed client %q", c)
		}
		if strings.Contains(logged, "usr_alice") || strings.Contains(logged, "alice@example.com") {
			t.Fatal("a user identifier was logged in clear")
		}
	})
}

// documentedEventNames returns the events of docs/OPERATIONS.md's event table.
func documentedEventNames(t testing.TB) map[string]bool {
	t.Helper()
	doc := operationsDoc(t)
	doc = doc[strings.Index(doc, "### Log events"):]
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| ").FindAllStringSubmatch(doc, -1) {
		out[m[1]] = true
	}
	return out
}
