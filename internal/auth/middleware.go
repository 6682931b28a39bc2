package auth

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Middleware is one Gatehouse instance. Everything it needs is built in New and held
// here, never in package variables: Traefik runs every instance of the plugin in one
// interpreter.
type Middleware struct {
	name     string
	next     http.Handler
	opts     *config.Options
	log      *logging.Logger
	identity *identityHeaders
	panics   atomic.Int64

	// Paths of the sign-in callback, the sign-in start and the sign-out endpoint, for
	// the pages and redirects that name them.
	callbackPath, loginPath, logoutPath, signedOutPath string
	// endpoints maps the path of every enabled endpoint to what serves it
	// (serveEndpoint): one map lookup per request, where a switch over the paths
	// cost every request about three allocations per endpoint under Yaegi. A disabled
	// endpoint has no entry, so "" (the path of an absolute-form request line without
	// one, "GET http://host HTTP/1.1") never routes to one.
	endpoints map[string]int
	// othersPath is logout.othersPath (sign out my other devices).
	othersPath string
	// admin is the admin API's configuration (nil when admin.path is unset).
	admin *adminState

	// rules is the compiled policy: the default rule at 0, rules[i] at i+1, the
	// placeholder of ambiguous paths at setRule (policy.go). hasRules: some rule is
	// configured, and ServeHTTP hands requests to servePolicy, which finds their
	// rule with matcher.
	rules    []*config.Rule
	hasRules bool
	setRule  int
	matcher  *config.Matcher
	// fastRE, fastTail and fastRule serve routeByRules' common case (fastMatcher).
	fastRE   *regexp.Regexp
	fastTail string
	fastRule []bool
	// ruleMemo remembers, by path, the rule routeByRules' common case found
	// (ruleMemoLen counts what was stored, up to ruleMemoMax).
	ruleMemo    sync.Map
	ruleMemoLen atomic.Int64

	// Flags read on every request, copied out of opts so the hot path does not
	// follow pointer chains (each step costs under Yaegi).
	hasExcluded, bearerOn, stripAuthorization, stripCookies bool
	// bearerHotStripsCookies: the bearer hot path strips Gatehouse's cookies only
	// with bearer.preferOverCookie; otherwise it serves only requests whose Cookie
	// header holds none of them (noSessionCookie).
	bearerHotStripsCookies bool
	gen                    *atomic.Uint64
	// commonHeaders is identity.common, one selector closer for the stripping loop.
	commonHeaders map[string]bool
	// excludedCount is m.met's count of requests forwarded under excludedURLs
	// (one selector instead of four on that path).
	excludedCount *atomic.Int64
	// base is the monotonic origin of verified's sessionDeadline and bearerDeadline.
	base time.Time
	// excluded is excludedURLs (matched by reqsafe.MatchesPrefix), and excludedRE
	// the same test for a URL without RawPath in one call (reqsafe.PrefixPattern).
	excluded   []string
	excludedRE *regexp.Regexp

	// upstreamSecurityHeaders/Values are set on backend responses when
	// securityHeaders.applyToUpstream is on.
	upstreamSecurityHeaders []string
	upstreamSecurityValues  [][]string
	// store is this instance's cache (token-verification results, revocations, ...):
	// built from its own cache configuration, never shared with another instance.
	store    cache.Store
	ks       *keyspaces
	sessions *session.Manager
	provider *provider
	verified *verifiedCache
	throttle *throttle
	refresh  *refresher
	// bearer is the bearer path's state (bearer.go); nil when no bearer token is
	// ever verified (bearer auth off and no operations endpoint requires a scope).
	bearer *bearerState
	// met is this middleware's metrics, shared with its other instances in the
	// process (metrics.go); src is what this instance contributes to them.
	met *metricsSet
	src *instanceSources
	// pageCSP replaces the profile's Content-Security-Policy on pages (pages.go).
	pageCSP string
	// undecided answers, with several providers, a request that needs a sign-in
	// when nothing chose its provider (multi.go); nil with a single provider.
	undecided func(rw http.ResponseWriter, req *http.Request)
}

// New compiles cfg and returns the middleware, or an error naming every invalid
// option. It does not touch the network: provider discovery runs in the background
// (retried with backoff) and the cache connects to Redis in the background. When ctx
// is cancelled (Traefik reloads its configuration) the discovery loop stops and the
// cache is closed: its queued writes drained, its goroutines and connections ended.
func New(ctx context.Context, next http.Handler, cfg *config.Config, name string) (http.Handler, error) {
	if next == nil {
		return nil, errorString("gatehouse: next handler is nil")
	}
	opts, err := config.Compile(cfg, config.Environment{})
	if err != nil {
		return nil, err
	}
	if len(opts.Providers) > 0 {
		return newMulti(ctx, next, opts, name)
	}
	binding := session.InstanceBinding(name, opts.Provider.Issuer, opts.Provider.ClientID, opts.Session.CookieName)
	m, err := build(ctx, next, opts, name, name, binding)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// build is New for compiled options: one instance for one provider. logName is the
// name its log lines carry; metricsKey the metrics set it counts into (its binding,
// or with several providers one key for all of them).
func build(ctx context.Context, next http.Handler, opts *config.Options, name, logName, metricsKey string) (*Middleware, error) {
	var err error
	binding := session.InstanceBinding(name, opts.Provider.Issuer, opts.Provider.ClientID, opts.Session.CookieName)
	m := &Middleware{
		name: name,
		next: next,
		opts: opts,
		log: logging.NewLogger(logging.Options{Name: logName, Level: opts.LogLevel, Format: opts.Log.Format,
			HashClientIP: opts.Log.HashClientIP, IDKey: session.LogIDKey(opts.Session.Keys, binding)}),
		identity:           newIdentityHeaders(&opts.Headers),
		callbackPath:       opts.Provider.CallbackPath,
		loginPath:          opts.Provider.LoginPath,
		logoutPath:         opts.Logout.Path,
		signedOutPath:      opts.Logout.SignedOutPath,
		othersPath:         opts.Logout.OthersPath,
		admin:              newAdminState(opts),
		rules:              withPlaceholder(opts.Policy.Rules),
		hasRules:           len(opts.Policy.Rules) > 1,
		matcher:            opts.Policy.Matcher,
		hasExcluded:        len(opts.ExcludedURLs) > 0,
		excluded:           opts.ExcludedURLs,
		bearerOn:           opts.Bearer.Enabled,
		stripAuthorization: opts.Bearer.Enabled && !opts.Headers.PassAuthorization,
		stripCookies:       opts.Headers.StripCookies,
		ks:                 newKeyspaces(opts),
		verified:           newVerifiedCache(opts.Cache.L1MaxEntries, opts.Cache.L1MaxBytes),
		throttle:           newThrottle(opts.Throttle),
		refresh:            newRefresher(),
		pageCSP:            pageCSP(opts.SecurityHeaders.Profile, opts.Pages.ImgSrc),
	}
	m.bearerHotStripsCookies = opts.Headers.StripCookies && opts.Bearer.PreferOverCookie
	m.commonHeaders = m.identity.common
	m.base = time.Now()
	m.excludedRE = regexp.MustCompile(reqsafe.PrefixPattern(opts.ExcludedURLs))
	m.setRule = len(m.rules)
	if m.hasRules {
		m.setRule = len(m.rules) - 1
		fastMatcher(m)
	}
	if opts.SecurityHeaders.ApplyToUpstream {
		h := http.Header{}
		securityHeaders(opts.SecurityHeaders.Profile, h)
		for name, v := range h {
			m.upstreamSecurityHeaders = append(m.upstreamSecurityHeaders, name)
			m.upstreamSecurityValues = append(m.upstreamSecurityValues, v)
		}
	}
	if m.sessions, err = session.NewManager(&opts.Session, binding, opts.Provider.CallbackPath); err != nil {
		return nil, errorString("gatehouse: session: " + err.Error())
	}
	if m.provider, err = newProvider(ctx, &opts.Provider, func(meta *oidc.Metadata) { reportCapabilities(m, meta) }); err != nil {
		return nil, errorString("gatehouse: provider: " + err.Error())
	}
	if opts.Bearer.Enabled || opts.Metrics.RequiredScope != "" || opts.Health.RequiredScope != "" {
		if m.bearer, err = newBearerState(opts); err != nil {
			return nil, errorString("gatehouse: bearer: " + err.Error())
		}
	}
	// The store closes itself when ctx is cancelled (cache.New's contract). Its
	// revocations are shared with every other instance of this middleware in the
	// process, before and after a reload (cache.NewInstance).
	if m.store, err = cache.NewInstance(ctx, opts.Cache, m.log, binding); err != nil {
		return nil, err
	}
	m.endpoints = endpointPaths(opts)
	m.gen = cache.GenerationCounter(m.store)
	if m.gen == nil {
		// A store without a counter: one that stays at 0, at which no verdict is
		// ever stored, so the hot paths never serve one (and need no nil test).
		m.gen = &atomic.Uint64{}
	}
	// This instance counts into its middleware's metrics until ctx ends (a reload, or
	// Traefik stopping); then what it counted itself is folded into them.
	m.src = &instanceSources{verified: m.verified, bearer: m.bearer, store: m.store, provider: m.provider}
	m.met = attachMetrics(metricsKey, m.src)
	m.excludedCount = &m.met.c.requests[outcomeExcluded]
	context.AfterFunc(ctx, func() {
		detachMetrics(m.met, m.src)
	})
	for _, label := range opts.Policy.AuthenticateWithoutRequirements {
		m.log.Warn(logging.EventConfigWarning, label+" lets every signed-in user in on the requests it matches: the authorization options only decide requests no rule matches (docs/POLICIES.md)", nil)
	}
	if !opts.Authorization.RequireVerifiedEmail {
		m.log.Warn(logging.EventConfigWarning, "authorization.requireVerifiedEmail is false: email addresses the provider has not verified are trusted as identities, in headers and by allowedUsers and allowedDomains", nil)
	}
	m.log.Debug(logging.EventConfigLoaded, "configured", logging.Fields{"issuer": opts.Provider.Issuer, "clientID": opts.Provider.ClientID,
		"cache": opts.Cache.Mode, "version": Version, "format": opts.Log.Format})
	return m, nil
}

// Cache returns the instance's cache store.
func (m *Middleware) Cache() cache.Store { return m.store }

// Gatehouse's own endpoints (Middleware.endpoints).
const (
	epCallback = 1 + iota
	epLogin
	epLogout
	epBackchannel
	epFrontchannel
	epSignedOut
	epOthers
	epAdminRevoke
	epOps // metrics.path and health.path (serveOps tells them apart)
)

// endpointPaths maps the path of every enabled endpoint to its ep* constant
// (config.Compile made the paths distinct).
func endpointPaths(o *config.Options) map[string]int {
	eps := map[string]int{}
	add := func(path string, ep int) {
		if path != "" {
			eps[path] = ep
		}
	}
	add(o.Provider.CallbackPath, epCallback)
	add(o.Provider.LoginPath, epLogin)
	add(o.Logout.Path, epLogout)
	add(o.Logout.BackchannelPath, epBackchannel)
	add(o.Logout.FrontchannelPath, epFrontchannel)
	add(o.Logout.SignedOutPath, epSignedOut)
	add(o.Logout.OthersPath, epOthers)
	add(o.Admin.RevokePath, epAdminRevoke)
	add(o.Metrics.Path, epOps)
	add(o.Health.Path, epOps)
	return eps
}

// serveEndpoint serves the request for one of Gatehouse's own endpoints.
func serveEndpoint(m *Middleware, ep int, rw http.ResponseWriter, req *http.Request) {
	switch ep {
	case epCallback:
		handleCallback(m, rw, req)
	case epLogin:
		handleStart(m, rw, req)
	case epLogout:
		handleLogout(m, rw, req)
	case epBackchannel:
		handleBackchannel(m, rw, req)
	case epFrontchannel:
		handleFrontchannel(m, rw, req)
	case epSignedOut:
		signedOutPage(m, rw, req)
	case epOthers:
		handleSignOutOthers(m, rw, req)
	case epAdminRevoke:
		handleAdminRevoke(m, rw, req)
	default:
		serveOps(m, rw, req)
	}
}

// ServeHTTP tells the request's story: strip what the client must not claim, serve
// Gatehouse's own endpoints and what needs no authentication, authenticate the rest
// by bearer token or session cookie, and send the unauthenticated to sign in.
//
// Only this is a method; everything it calls per request is a plain function (see
// docs/YAEGI-NOTES.md).
func (m *Middleware) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	// The deferred closure is kept tiny: under Yaegi its frame is allocated on every
	// request, and the recovery work lives in recovered.
	defer func() {
		if r := recover(); r != nil {
			recovered(m, rw, req, r)
		}
	}()

	// Identity headers the client must not send (strip.go; inlined: one map lookup
	// per common header name, stripSlow for every other).
	for name := range req.Header {
		if !m.commonHeaders[name] {
			stripSlow(m.identity, req.Header, name)
		}
	}

	// Gatehouse's own endpoints (m.endpoints holds only enabled ones, so a request
	// whose path is "" is authenticated like any other).
	if ep := m.endpoints[req.URL.Path]; ep != 0 {
		serveEndpoint(m, ep, rw, req)
		return
	}

	// Excluded URLs: only canonical paths match (reqsafe.CanonicalPath), since
	// "/health/..;/admin", "/public/../x", encoded slashes, dots or backslashes reach
	// another resource on some backend. Gatehouse's cookies are removed as on every
	// forwarded request, and Authorization when bearer auth is on: a public page, or
	// its access log, must not receive a replayable credential. (forwardExcluded is a
	// call of its own: every temporary of ServeHTTP is allocated on every request.)
	if m.hasExcluded && isExcluded(m, req.URL) {
		forwardExcluded(m, rw, req)
		return
	}

	// Rules: routeByRules finds the request's rule and carries out allow and deny.
	// Without rules, every request is decided by the default rule, index 0.
	rule := 0
	if m.hasRules {
		if rule = routeByRules(m, rw, req); rule == handled {
			return
		}
	}

	// A request without an Authorization header pays nothing for bearer auth;
	// serveBearer answers false when the request goes the session way (bearerFirst).
	if m.bearerOn && req.Header["Authorization"] != nil && serveBearer(m, rw, req, rule) {
		return
	}
	if serveSession(m, rw, req, rule) {
		return
	}
	unauthenticated(m, rw, req, rule)
}

// recovered answers a request whose handling panicked: 500, logged once, never a
// panic escaping to Traefik — except the reverse proxy's own abort signal.
func recovered(m *Middleware, rw http.ResponseWriter, req *http.Request, r any) {
	if err, ok := r.(error); ok && err == http.ErrAbortHandler {
		panic(r)
	}
	n := m.panics.Add(1)
	m.met.c.requests[outcomeError].Add(1)
	m.log.Error(logging.EventInternalError, "internal error", logging.Fields{"n": n, "method": req.Method, "path": m.log.ID(req.URL.Path), "panic": r})
	m.ownHeaders(rw.Header())
	http.Error(rw, "gatehouse: internal error", http.StatusInternalServerError)
}

// ownHeaders sets the headers every response Gatehouse writes itself carries.
func (m *Middleware) ownHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	securityHeaders(m.opts.SecurityHeaders.Profile, h)
}

// securityHeaders sets the headers of a securityHeaders.profile.
func securityHeaders(profile string, h http.Header) {
	if profile == "off" {
		return
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if profile == "strict" {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
	}
}

// forbidden answers a request the rules deny: 403 with a page that says who the user
// is signed in as (escaped; p is nil when a deny rule refused the request before any
// sign-in) and, so that operators can fix a configuration, which rule and which
// requirement refused it — never a claim value or a configured value. API clients
// and bearer tokens get the same as JSON.
func forbidden(m *Middleware, rw http.ResponseWriter, req *http.Request, p *principal, f *config.Failure) {
	m.met.c.requests[outcome403].Add(1)
	h := rw.Header()
	m.ownHeaders(h)
	if !isNavigation(req) || p != nil && p.Source == "bearer" {
		writeJSONError(rw, http.StatusForbidden, "access_denied", f, "")
		return
	}
	user := ""
	if p != nil {
		user = p.User
	}
	deniedPage(m, rw, user, explanation(f))
}

// explanation is the line of the 403 page naming the rule and the requirement that
// refused a request (fixed text from the configuration's structure; the page escapes
// it), none when f is nil.
func explanation(f *config.Failure) []string {
	if f == nil {
		return nil
	}
	return []string{"Refused by " + f.Rule + ": " + f.Requirement + ": " + f.Reason + "."}
}

// isNavigation reports whether req is a browser navigating to a page, which may be
// sent to the provider to sign in; every other request (fetch and XMLHttpRequest,
// WebSocket upgrades, EventSource streams, images and scripts, CORS preflights,
// anything but GET and HEAD) is answered 401 instead, since a redirect to the
// provider's login page would only break it. It reads the Fetch Metadata headers
// browsers send (Sec-Fetch-Mode navigate, Sec-Fetch-Dest document, iframe or frame),
// and for clients that send none, Accept (JSON without HTML, or text/event-stream),
// X-Requested-With and Upgrade.
func isNavigation(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	return fromPage(req)
}

// fromPage is isNavigation without the method: the request comes from a browser
// loading a page (a form's POST included), not from a script or an API client, which
// are answered in JSON.
func fromPage(req *http.Request) bool {
	h := req.Header
	if h["Upgrade"] != nil || h.Get("X-Requested-With") != "" {
		return false
	}
	if mode := h.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" {
		return false
	}
	if dest := h.Get("Sec-Fetch-Dest"); dest != "" && dest != "document" && dest != "iframe" && dest != "frame" {
		return false
	}
	a := h.Get("Accept")
	if strings.Contains(a, "text/event-stream") {
		return false
	}
	return !strings.Contains(a, "application/json") || strings.Contains(a, "text/html")
}

// isExcluded reports whether u is canonical and under an excludedURLs prefix
// (reqsafe.MatchesPrefix): for a URL without RawPath, the common case, in one call
// into the compiled regexp engine, since the canonical-path checks cost ~80
// allocations under Yaegi when written as calls.
func isExcluded(m *Middleware, u *url.URL) bool {
	if u.RawPath == "" {
		return m.excludedRE.MatchString(u.Path)
	}
	return reqsafe.MatchesPrefix(u, m.excluded)
}

// forwardExcluded forwards a request under excludedURLs without authentication.
func forwardExcluded(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	m.excludedCount.Add(1)
	if m.bearerOn {
		delete(req.Header, "Authorization")
	}
	if m.stripCookies && req.Header["Cookie"] != nil {
		session.StripCookies(m.sessions, req)
	}
	m.next.ServeHTTP(rw, req)
}

type errorString string

func (e errorString) Error() string { return string(e) }
