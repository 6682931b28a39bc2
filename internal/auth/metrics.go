package auth

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// Metrics: the counters behind metrics.path (Prometheus text exposition format
// 0.0.4), docs/OPERATIONS.md lists every series with its meaning.
//
// One middleware in Traefik is several instances: one per router that uses it, and a
// new one at every configuration reload. The series are the middleware's, not an
// instance's: every instance with the same binding (session.InstanceBinding: name,
// issuer, client id, cookie name) counts into one metricsSet, kept in a process-wide
// registry like the revocation set (cache.NewInstance), so that a scrape through any
// router sees the whole middleware, counters survive reloads, and two middlewares
// never share one. What an instance counts in its own structures (the verdict cache's
// lookups, the bearer path's counters, its cache store, its provider) is summed over
// the live instances at scrape time, and folded into the set's totals when an
// instance ends (its ctx is cancelled), so counters never go backwards.
//
// The hot paths (a cached session or bearer verdict) count nothing with atomics: the
// verdict cache counts its lookups under the mutex it already takes, the slow paths
// count the lookups that missed, and a scrape takes the difference. Everything else
// is an atomic add off the hot path.

// Request outcomes (gatehouse_requests_total{outcome}).
const (
	outcomeSession = iota
	outcomeBearer
	outcomeExcluded
	outcomeRedirected
	outcomeEndpoint
	outcome401
	outcome403
	outcome429
	outcome503
	outcomeError
	nOutcomes
)

var outcomeNames = [nOutcomes]string{"session", "bearer", "excluded", "redirected", "endpoint", "401", "403", "429", "503", "error"}

// Sign-in failure reasons (gatehouse_login_failures_total{reason}).
const (
	loginNoTransaction = iota
	loginTransaction
	loginThrottled
	loginProviderError
	loginIssuer
	loginNoCode
	loginProviderUnavailable
	loginExchange
	loginIDToken
	loginSessionStore
	loginBadRequest
	loginHostedDomain
	loginACR
	nLoginFailures
)

var loginFailureNames = [nLoginFailures]string{"no_transaction", "transaction", "throttled", "provider_error", "issuer",
	"no_code", "provider_unavailable", "code_exchange", "id_token", "session_store", "bad_request", "hosted_domain", "acr"}

// Refresh results (gatehouse_refreshes_total{result}).
const (
	resultRedeemed = iota
	resultShared
	resultRejected
	resultFailed
	nRefreshResults
)

var refreshResultNames = [nRefreshResults]string{"redeemed", "shared", "rejected", "failed"}

// Logout kinds (gatehouse_logouts_total{kind}, gatehouse_logout_failures_total{kind}).
// An administrative revocation would be one more kind.
const (
	logoutRP = iota
	logoutBackchannel
	logoutFrontchannel
	nLogoutKinds
)

var logoutKindNames = [nLogoutKinds]string{"rp", "backchannel", "frontchannel"}

// Bearer verification levels (gatehouse_bearer_verifications_total{level}).
const (
	levelL1 = iota
	levelShared
	levelVerified
	levelIntrospected
	nBearerLevels
)

var bearerLevelNames = [nBearerLevels]string{"l1", "shared", "verified", "introspected"}

// Bearer refusal codes (gatehouse_bearer_refusals_total{error}).
const (
	refusalRequest = iota
	refusalToken
	refusalScope
	refusalUnavailable
	nRefusals
)

var refusalNames = [nRefusals]string{"invalid_request", "invalid_token", "insufficient_scope", "temporarily_unavailable"}

// Throttle purposes (gatehouse_throttled_total{purpose}), in throttle.go's order.
const (
	throttleCallback = iota
	throttleBearer
	throttleBackchannel
	throttleEndpoint
	throttleAdmin
	nThrottlePurposes
)

var throttleNames = [nThrottlePurposes]string{"callback", "bearer", "backchannel", "endpoint", "admin"}

// Credentials of the authentication-latency histogram.
const (
	credSession = iota
	credBearer
	nCredentials
)

var credentialNames = [nCredentials]string{"session", "bearer"}

// latencyBounds are the histogram's upper bounds in nanoseconds; nBuckets counts
// them and the +Inf bucket. A verdict-cache hit takes microseconds and is not timed;
// opening a cookie under Yaegi takes a few hundred, a first bearer token with its
// signature a few milliseconds, a refresh or an introspection a provider round trip.
const nBuckets = 15

var latencyBounds = [nBuckets - 1]int64{250e3, 500e3, 1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6, 100e6, 250e6, 500e6, 1e9, 2.5e9, 5e9}

var latencyBoundText = [nBuckets - 1]string{"0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5"}

// histogram is lock-free: one atomic add per bucket observation and one for the sum.
// Buckets are not cumulative here (the exposition cumulates them), and the count is
// their sum, so it always equals the +Inf bucket.
type histogram struct {
	buckets  [nBuckets]atomic.Int64
	sumNanos atomic.Int64
}

// counters are a middleware's atomic counters, shared by its instances.
type counters struct {
	requests       [nOutcomes]atomic.Int64
	logins         atomic.Int64
	loginFailures  [nLoginFailures]atomic.Int64
	refreshes      [nRefreshResults]atomic.Int64
	logouts        [nLogoutKinds]atomic.Int64
	logoutFailures [nLogoutKinds]atomic.Int64
	bearer         [nBearerLevels]atomic.Int64
	refusals       [nRefusals]atomic.Int64
	throttled      [nThrottlePurposes]atomic.Int64
	latency        [nCredentials]histogram
}

// observeAuth records how long authenticating a request took since start (a request
// the verdict cache could not answer: cookie opened, token verified, refresh,
// introspection), whatever the verdict.
func observeAuth(m *Middleware, credential int, start time.Time) {
	d := int64(time.Since(start))
	i := 0
	for i < nBuckets-1 && d > latencyBounds[i] {
		i++
	}
	h := &m.met.c.latency[credential]
	h.buckets[i].Add(1)
	h.sumNanos.Add(d)
}

// instanceSources is what one live instance counts in its own structures.
type instanceSources struct {
	verified *verifiedCache
	bearer   *bearerState // nil when the instance verifies no bearer tokens
	store    cache.Store
	provider *provider
}

// sourceTotals are counters read from instances' own structures: summed over the
// live ones at scrape time, and kept in metricsSet.retired for those that ended.
type sourceTotals struct {
	sessionHits, bearerHits                        int64
	signatureChecks, sharedVerifications           int64
	introspections, introspectionHits, introShared int64
	jwksFetches, jwksErrors                        int64
	discoveryFetches, discoveryFailures            int64
	l1Hits, l1Misses, l1Evictions                  uint64
	redisReads, redisWrites, redisErrors           uint64
	queueDrops, outboxRefused, outboxReplayed      uint64
	healthChanges, revocationsDropped              uint64
}

// metricsSet is one middleware's metrics in this process.
type metricsSet struct {
	c counters

	mu      sync.Mutex
	live    []*instanceSources
	retired sourceTotals
	// hits are the last verdict-cache hit totals reported: a scrape never reports
	// fewer (a lookup is counted before its miss, so a difference taken between the
	// two can run ahead by the requests in flight, never behind).
	sessionHits, bearerHits int64
	// emptySince is when the last live instance ended (zero while one lives).
	emptySince time.Time
}

// metricsSets is the process-wide registry of metricsSet by instance binding (see
// revocationSets in internal/cache for why a registry, and why keyed so). A set
// without live instances is forgotten after metricsSetGrace, so a middleware removed
// from the configuration does not stay for ever; a reload builds the new instance
// within that time, and its counters carry on.
var (
	metricsSetsMu sync.Mutex
	metricsSets   = map[string]*metricsSet{}
)

const metricsSetGrace = 10 * time.Minute

// attachMetrics returns the set of binding with src registered as a live instance.
func attachMetrics(binding string, src *instanceSources) *metricsSet {
	now := time.Now()
	metricsSetsMu.Lock()
	defer metricsSetsMu.Unlock()
	for b, other := range metricsSets {
		if b != binding && unusedSince(other, now) {
			delete(metricsSets, b)
		}
	}
	set := metricsSets[binding]
	if set == nil {
		set = &metricsSet{}
		metricsSets[binding] = set
	}
	set.mu.Lock()
	set.live = append(set.live, src)
	set.emptySince = time.Time{}
	set.mu.Unlock()
	return set
}

func unusedSince(set *metricsSet, now time.Time) bool {
	set.mu.Lock()
	defer set.mu.Unlock()
	return len(set.live) == 0 && !set.emptySince.IsZero() && now.Sub(set.emptySince) > metricsSetGrace
}

// detachMetrics folds src's counters into the set's totals and forgets src.
func detachMetrics(set *metricsSet, src *instanceSources) {
	var t sourceTotals
	addSources(&t, src, src.store.Stats())
	set.mu.Lock()
	defer set.mu.Unlock()
	for i, s := range set.live {
		if s == src {
			set.live = append(set.live[:i], set.live[i+1:]...)
			addTotals(&set.retired, &t)
			break
		}
	}
	if len(set.live) == 0 {
		set.emptySince = time.Now()
	}
}

// addSources adds what src counted to t (st: its store's stats).
func addSources(t *sourceTotals, src *instanceSources, st cache.Stats) {
	t.sessionHits += verdictHits(src.verified, false)
	t.bearerHits += verdictHits(src.verified, true)
	if b := src.bearer; b != nil {
		t.signatureChecks += b.signatureChecks.Load()
		t.sharedVerifications += b.sharedHits.Load()
		t.introspections += b.introspections.Load()
		t.introspectionHits += b.introspectionHits.Load()
		t.introShared += b.introspectionShared.Load()
	}
	t.l1Hits += st.L1Hits
	t.l1Misses += st.L1Misses
	t.l1Evictions += st.L1Evictions
	t.redisReads += st.L2Reads
	t.redisWrites += st.L2Writes
	t.redisErrors += st.L2Errors
	t.queueDrops += st.QueueDrops
	t.outboxRefused += st.OutboxRefused
	t.outboxReplayed += st.OutboxReplayed
	t.healthChanges += st.HealthChanges
	t.revocationsDropped += st.RevocationsDropped
	ds := src.provider.discovery.Status()
	t.discoveryFetches += int64(ds.Fetches)
	t.discoveryFailures += int64(ds.Failures)
	if ks := currentKeySet(src.provider); ks != nil {
		s := ks.Stats()
		t.jwksFetches += s.Fetches
		t.jwksErrors += s.FetchErrors
	}
}

func addTotals(t, u *sourceTotals) {
	t.sessionHits += u.sessionHits
	t.bearerHits += u.bearerHits
	t.signatureChecks += u.signatureChecks
	t.sharedVerifications += u.sharedVerifications
	t.introspections += u.introspections
	t.introspectionHits += u.introspectionHits
	t.introShared += u.introShared
	t.jwksFetches += u.jwksFetches
	t.jwksErrors += u.jwksErrors
	t.discoveryFetches += u.discoveryFetches
	t.discoveryFailures += u.discoveryFailures
	t.l1Hits += u.l1Hits
	t.l1Misses += u.l1Misses
	t.l1Evictions += u.l1Evictions
	t.redisReads += u.redisReads
	t.redisWrites += u.redisWrites
	t.redisErrors += u.redisErrors
	t.queueDrops += u.queueDrops
	t.outboxRefused += u.outboxRefused
	t.outboxReplayed += u.outboxReplayed
	t.healthChanges += u.healthChanges
	t.revocationsDropped += u.revocationsDropped
}

// verdictHits is how many requests the verdict cache's hot path served: lookups
// made there minus those that went on to the slow path.
func verdictHits(c *verifiedCache, bearer bool) int64 {
	c.mu.Lock()
	lookups := c.sessionLookups
	if bearer {
		lookups = c.bearerLookups
	}
	c.mu.Unlock()
	if bearer {
		return lookups - c.bearerMisses.Load()
	}
	return lookups - c.sessionMisses.Load()
}

// currentKeySet returns the provider's key set, or nil before the first token needed
// one.
func currentKeySet(p *provider) *jose.RemoteKeySet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys
}

// gauges are the set's current values, over its live instances.
type gauges struct {
	instances, discovered  int
	states                 [3]int // healthy, degraded, recovering
	l1Entries              int
	l1Bytes                int64
	verdicts, verdictBytes int
	connections            int
	outboxLength           int
	revocations            int
	jwksAge                float64 // seconds, the oldest key set of a live instance; -1 when none is loaded
}

// snapshot returns the totals (live and retired) and gauges of set.
func snapshot(set *metricsSet) (sourceTotals, gauges) {
	set.mu.Lock()
	live := append([]*instanceSources(nil), set.live...)
	t := set.retired
	set.mu.Unlock()
	g := gauges{instances: len(live), jwksAge: -1}
	now := time.Now()
	for _, src := range live {
		st := src.store.Stats()
		addSources(&t, src, st)
		switch st.Health {
		case cache.HealthDegraded:
			g.states[1]++
		case cache.HealthRecovering:
			g.states[2]++
		default:
			g.states[0]++
		}
		g.l1Entries += st.L1Entries
		g.l1Bytes += st.L1Bytes
		n, b := verifiedBytes(src.verified)
		g.verdicts += n
		g.verdictBytes += b
		g.connections += st.Connections
		g.outboxLength += st.OutboxLength
		if st.Revocations > g.revocations {
			// One set of revocations is shared by every store of the middleware.
			g.revocations = st.Revocations
		}
		if src.provider.discovery.Status().Ready {
			g.discovered++
		}
		if ks := currentKeySet(src.provider); ks != nil {
			if loaded := ks.Stats().LoadedAt; !loaded.IsZero() {
				if age := now.Sub(loaded).Seconds(); age > g.jwksAge {
					g.jwksAge = age
				}
			}
		}
	}
	set.mu.Lock()
	if t.sessionHits < set.sessionHits {
		t.sessionHits = set.sessionHits
	}
	if t.bearerHits < set.bearerHits {
		t.bearerHits = set.bearerHits
	}
	set.sessionHits = t.sessionHits
	set.bearerHits = t.bearerHits
	set.mu.Unlock()
	return t, g
}

// metricsContentType is the Prometheus text exposition format, version 0.0.4.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// serveMetrics answers metrics.path (access already checked).
func serveMetrics(m *Middleware, rw http.ResponseWriter) {
	body := renderMetrics(m)
	h := rw.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", metricsContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write([]byte(body))
}

// exposition writes the text format (one family at a time: HELP, TYPE, samples).
type exposition struct {
	b      strings.Builder
	labels string // `middleware="…"`, first label of every sample
}

func family(e *exposition, name, typ, help string) {
	e.b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

func sample(e *exposition, name, extraLabels, value string) {
	e.b.WriteString(name + "{" + e.labels + extraLabels + "} " + value + "\n")
}

func oneValue(e *exposition, name, typ, help, value string) {
	family(e, name, typ, help)
	sample(e, name, "", value)
}

// labelled writes a family with one sample per name of a label.
func labelled(e *exposition, name, typ, help, label string, names []string, values []int64) {
	family(e, name, typ, help)
	for i, n := range names {
		sample(e, name, ","+label+"=\""+n+"\"", strconv.FormatInt(values[i], 10))
	}
}

func loads(a []atomic.Int64) []int64 {
	out := make([]int64, len(a))
	for i := range a {
		out[i] = a[i].Load()
	}
	return out
}

func itoa(n int) string     { return strconv.Itoa(n) }
func utoa(n uint64) string  { return strconv.FormatUint(n, 10) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
func i64toa(n int64) string { return strconv.FormatInt(n, 10) }

// escapeLabel escapes a label value (text format: backslash, double quote, newline).
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// renderMetrics writes every series of m's middleware.
func renderMetrics(m *Middleware) string {
	set := m.met
	c := &set.c
	t, g := snapshot(set)
	e := &exposition{labels: `middleware="` + escapeLabel(m.name) + `"`}

	family(e, "gatehouse_build_info", "gauge", "Always 1; the version label is Gatehouse's.")
	sample(e, "gatehouse_build_info", `,version="`+escapeLabel(Version)+`"`, "1")
	oneValue(e, "gatehouse_instances", "gauge", "Live instances of this middleware in this Traefik (one per router using it).", itoa(g.instances))

	requests := loads(c.requests[:])
	requests[outcomeSession] += t.sessionHits
	requests[outcomeBearer] += t.bearerHits
	labelled(e, "gatehouse_requests_total", "counter", "Requests handled, by outcome.", "outcome", outcomeNames[:], requests)

	oneValue(e, "gatehouse_logins_total", "counter", "Successful sign-ins (authorization-code flow completed, session created).", i64toa(c.logins.Load()))
	labelled(e, "gatehouse_login_failures_total", "counter", "Failed sign-in callbacks, by reason.", "reason", loginFailureNames[:], loads(c.loginFailures[:]))
	labelled(e, "gatehouse_refreshes_total", "counter", "Session token refreshes, by result.", "result", refreshResultNames[:], loads(c.refreshes[:]))
	labelled(e, "gatehouse_logouts_total", "counter", "Sessions signed out, by kind.", "kind", logoutKindNames[:], loads(c.logouts[:]))
	labelled(e, "gatehouse_logout_failures_total", "counter", "Sign-outs refused or not recorded for every replica, by kind.", "kind", logoutKindNames[:], loads(c.logoutFailures[:]))

	bearer := loads(c.bearer[:])
	bearer[levelL1] += t.bearerHits
	bearer[levelShared] += t.sharedVerifications
	bearer[levelVerified] += t.signatureChecks
	labelled(e, "gatehouse_bearer_verifications_total", "counter", "Bearer tokens accepted, by where the verdict came from.", "level", bearerLevelNames[:], bearer)
	labelled(e, "gatehouse_bearer_refusals_total", "counter", "Bearer requests refused, by RFC 6750 error code.", "error", refusalNames[:], loads(c.refusals[:]))
	labelled(e, "gatehouse_introspection_requests_total", "counter", "Introspection answers, by source.", "source",
		[]string{"endpoint", "cache", "shared"}, []int64{t.introspections, t.introspectionHits, t.introShared})
	labelled(e, "gatehouse_throttled_total", "counter", "Clients blocked by the failure throttle, by purpose.", "purpose", throttleNames[:], loads(c.throttled[:]))

	oneValue(e, "gatehouse_provider_discovered", "gauge", "Live instances holding the provider's discovery document.", itoa(g.discovered))
	oneValue(e, "gatehouse_discovery_fetches_total", "counter", "Discovery document requests.", i64toa(t.discoveryFetches))
	oneValue(e, "gatehouse_discovery_failures_total", "counter", "Discovery document requests that failed.", i64toa(t.discoveryFailures))
	oneValue(e, "gatehouse_jwks_fetches_total", "counter", "Key set (JWKS) requests to the provider.", i64toa(t.jwksFetches))
	oneValue(e, "gatehouse_jwks_fetch_errors_total", "counter", "Key set requests that failed.", i64toa(t.jwksErrors))
	oneValue(e, "gatehouse_jwks_age_seconds", "gauge", "Age of the oldest key set a live instance uses; -1 before any is loaded.", ftoa(g.jwksAge))

	labelled(e, "gatehouse_cache_state", "gauge", "Cache stores of this middleware in each state.", "state",
		[]string{cache.HealthHealthy, cache.HealthDegraded, cache.HealthRecovering}, []int64{int64(g.states[0]), int64(g.states[1]), int64(g.states[2])})
	oneValue(e, "gatehouse_cache_state_changes_total", "counter", "Cache state transitions.", utoa(t.healthChanges))
	oneValue(e, "gatehouse_cache_l1_entries", "gauge", "Entries in the in-process caches (L1).", itoa(g.l1Entries))
	oneValue(e, "gatehouse_cache_l1_bytes", "gauge", "Bytes of keys and values in the L1 caches.", i64toa(g.l1Bytes))
	oneValue(e, "gatehouse_verdict_cache_entries", "gauge", "Credentials whose verdict is remembered in process.", itoa(g.verdicts))
	oneValue(e, "gatehouse_verdict_cache_bytes", "gauge", "Bytes those verdicts count (keys, sessions, tokens, claims, headers).", itoa(g.verdictBytes))
	oneValue(e, "gatehouse_cache_l1_hits_total", "counter", "L1 lookups answered from memory.", utoa(t.l1Hits))
	oneValue(e, "gatehouse_cache_l1_misses_total", "counter", "L1 lookups not answered from memory.", utoa(t.l1Misses))
	oneValue(e, "gatehouse_cache_l1_evictions_total", "counter", "L1 entries evicted for room.", utoa(t.l1Evictions))
	labelled(e, "gatehouse_redis_commands_total", "counter", "Commands sent to Redis, by kind.", "op", []string{"read", "write"},
		[]int64{int64(t.redisReads), int64(t.redisWrites)})
	oneValue(e, "gatehouse_redis_errors_total", "counter", "Redis commands that failed (network, timeout, error reply).", utoa(t.redisErrors))
	oneValue(e, "gatehouse_redis_connections", "gauge", "Pooled Redis connections up.", itoa(g.connections))
	oneValue(e, "gatehouse_revocation_outbox_length", "gauge", "Revocation writes waiting for Redis.", itoa(g.outboxLength))
	oneValue(e, "gatehouse_revocation_outbox_replayed_total", "counter", "Revocation writes replayed to Redis from the outbox.", utoa(t.outboxReplayed))
	oneValue(e, "gatehouse_revocation_outbox_refused_total", "counter", "Revocation writes the full outbox could not keep (enforced here only).", utoa(t.outboxRefused))
	oneValue(e, "gatehouse_cache_write_queue_drops_total", "counter", "Shared-cache writes not sent to Redis (queue full, Redis down, write failed).", utoa(t.queueDrops))
	oneValue(e, "gatehouse_revocations", "gauge", "Revocations this middleware knows in this process.", itoa(g.revocations))
	oneValue(e, "gatehouse_revocations_dropped_total", "counter", "Live revocations dropped for room (each raises the revocation floor).", utoa(t.revocationsDropped))

	name := "gatehouse_authentication_duration_seconds"
	family(e, name, "histogram", "Time to authenticate a request the verdict cache could not answer, by credential.")
	for ci, cred := range credentialNames {
		h := &c.latency[ci]
		lbl := `,credential="` + cred + `"`
		var cum int64
		for i := 0; i < nBuckets; i++ {
			cum += h.buckets[i].Load()
			le := "+Inf"
			if i < nBuckets-1 {
				le = latencyBoundText[i]
			}
			sample(e, name+"_bucket", lbl+`,le="`+le+`"`, i64toa(cum))
		}
		sample(e, name+"_sum", lbl, ftoa(float64(h.sumNanos.Load())/1e9))
		sample(e, name+"_count", lbl, i64toa(cum))
	}
	return e.b.String()
}
