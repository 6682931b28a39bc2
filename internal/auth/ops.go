package auth

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
)

// Operations endpoints: metrics.path (Prometheus) and health.path (JSON). Each is off
// unless its path is set, and answers only a client that its rules allow: an address
// in allowedIPs (the client address the throttle uses: the connection's peer, or
// through trustedProxies the X-Forwarded-For hop they vouch for) and/or a bearer
// token carrying requiredScope — both when both are set. Everyone else gets the 404
// any unknown path would get: the endpoint is not advertised. docs/OPERATIONS.md
// shows a scrape configuration and a Kubernetes probe.

// Operations endpoints, for logs.
const (
	endpointMetrics = "metrics"
	endpointHealth  = "health"
)

// serveOps answers a request for metrics.path or health.path.
func serveOps(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	m.met.c.requests[outcomeEndpoint].Add(1)
	name := endpointMetrics
	ep := &m.opts.Metrics
	if req.URL.Path != m.opts.Metrics.Path {
		name = endpointHealth
		ep = &m.opts.Health
	}
	if !opsAllowed(m, req, ep, name) {
		h := rw.Header()
		h.Set("Cache-Control", "no-store")
		http.NotFound(rw, req)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if name == endpointMetrics {
		serveMetrics(m, rw)
		return
	}
	serveHealth(m, rw)
}

// opsAllowed applies an endpoint's access rules to req.
func opsAllowed(m *Middleware, req *http.Request, ep *config.EndpointOptions, name string) bool {
	if len(ep.AllowedIPs) > 0 {
		a, ok := clientAddr(m.opts.TrustedProxies, req)
		if !ok || !inPrefixes(ep.AllowedIPs, a) {
			m.log.Debug(logging.EventEndpointRefused, "operations endpoint refused: client address not allowed",
				logging.Fields{"endpoint": name, "client": m.log.Client(clientKey(m.opts.TrustedProxies, req))})
			return false
		}
	}
	if ep.RequiredScope == "" {
		return true
	}
	reason := opsTokenProblem(m, req, ep.RequiredScope)
	if reason == "" {
		return true
	}
	m.log.Info(logging.EventEndpointRefused, "operations endpoint refused", logging.Fields{
		"endpoint": name, "client": m.log.Client(clientKey(m.opts.TrustedProxies, req)), "reason": reason})
	return false
}

// opsTokenProblem checks the request's bearer token for an endpoint that requires
// scope, and returns why it is refused, or "". The token is verified as the bearer
// path verifies one (bearer.*: signature, issuer, bearer.audience, lifetime,
// revocation, introspection when on, bearer.requiredScopes), whether or not bearer
// auth is on for ordinary requests; authorization.* rules do not apply, the scope is
// the permission. Verdicts are cached like the bearer path's, so a scraper's token is
// verified once, not every scrape. Refused tokens count against the client's
// endpoint throttle; a throttled client is refused without a look at its token,
// whatever it brings.
func opsTokenProblem(m *Middleware, req *http.Request, scope string) string {
	hs := req.Header["Authorization"]
	if hs == nil {
		return "no credential"
	}
	tok, problem := parseBearerHeader(hs)
	if problem != "" {
		return problem
	}
	ip := clientKey(m.opts.TrustedProxies, req)
	if blocked, _ := throttled(m.throttle, purposeEndpoint, ip); blocked {
		return "client throttled"
	}
	gen := cache.GenerationOf(m.store)
	now := time.Now()
	v := lookupVerified(m.verified, hs[0])
	if v == nil || v.bearer == nil || gen == 0 || v.gen != gen || now.Unix() >= v.until {
		var f *bearerFailure
		if v, f = verifyBearer(m, req.Context(), tok, now); f != nil {
			countFailure(m, purposeEndpoint, throttleEndpoint, ip)
			return f.code + ": " + f.reason
		}
		if gen != 0 {
			v.gen = gen
			storeVerified(m.verified, hs[0], v)
		}
	}
	if problem := missingOpsScope(v.p, scope); problem != "" {
		countFailure(m, purposeEndpoint, throttleEndpoint, ip)
		return problem
	}
	return ""
}

func missingOpsScope(p *principal, scope string) string {
	if hasString(p.Scopes, scope) {
		return ""
	}
	return "token lacks scope " + strconvQuote(scope)
}

// healthReport is health.path's answer. (Exported fields and a DTO of its own: see
// YAEGI.md on encoding/json and interpreted types.)
type healthReport struct {
	Status     string         `json:"status"`
	Version    string         `json:"version"`
	Middleware string         `json:"middleware"`
	Provider   healthProvider `json:"provider"`
	KeySet     healthKeySet   `json:"keySet"`
	Cache      healthCache    `json:"cache"`
}

type healthProvider struct {
	Discovered       bool     `json:"discovered"`
	LastErrorClass   string   `json:"lastErrorClass"`
	DiscoveryAge     *float64 `json:"discoveryAgeSeconds"`
	DiscoveryFailure int      `json:"discoveryFailures"`
}

type healthKeySet struct {
	Loaded      bool     `json:"loaded"`
	Age         *float64 `json:"ageSeconds"`
	Keys        int      `json:"keys"`
	FetchErrors int64    `json:"fetchErrors"`
}

type healthCache struct {
	Mode             string `json:"mode"`
	State            string `json:"state"`
	Tracking         string `json:"tracking"`
	RedisConnections int    `json:"redisConnections"`
	OutboxLength     int    `json:"outboxLength"`
	OutboxMax        int    `json:"outboxMax"`
}

// serveHealth answers health.path: 200 when this instance can authenticate (it holds
// the provider's discovery document: sign-in, refresh and token checks can proceed),
// 503 when it cannot (the provider was never reached). A provider or Redis outage
// after that does not make it 503: the instance keeps serving signed-in users and
// cached verdicts, and the report says what is wrong.
func serveHealth(m *Middleware, rw http.ResponseWriter) {
	now := time.Now()
	ds := m.provider.discovery.Status()
	st := m.store.Stats()
	r := &healthReport{Status: "ok", Version: Version, Middleware: m.name}
	r.Provider.Discovered = ds.Ready
	r.Provider.LastErrorClass = ds.LastErrorClass
	r.Provider.DiscoveryFailure = ds.Failures
	if ds.Ready {
		age := now.Sub(ds.LoadedAt).Seconds()
		r.Provider.DiscoveryAge = &age
	}
	if ks := currentKeySet(m.provider); ks != nil {
		s := ks.Stats()
		r.KeySet.Keys = s.Keys
		r.KeySet.FetchErrors = s.FetchErrors
		if !s.LoadedAt.IsZero() {
			age := now.Sub(s.LoadedAt).Seconds()
			r.KeySet.Loaded = true
			r.KeySet.Age = &age
		}
	}
	r.Cache.Mode = st.Mode
	r.Cache.State = st.Health
	r.Cache.Tracking = st.Tracking
	r.Cache.RedisConnections = st.Connections
	r.Cache.OutboxLength = st.OutboxLength
	r.Cache.OutboxMax = st.OutboxMax
	status := http.StatusOK
	if !ds.Ready {
		r.Status = "unavailable"
		status = http.StatusServiceUnavailable
	}
	body, err := json.Marshal(r)
	if err != nil {
		http.Error(rw, "gatehouse: cannot encode the health report", http.StatusInternalServerError)
		return
	}
	h := rw.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(strings.TrimSpace(string(body)) + "\n"))
}
