package auth

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
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

	// endpoints maps the paths of Gatehouse's own enabled endpoints to them
	// (serveEndpoint); callbackPath and loginPath are two of them.
	endpoints               map[string]int
	callbackPath, loginPath string

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

	// Flags read on every request, copied out of opts so the hot path does not
	// follow pointer chains (each step costs under Yaegi).
	hasExcluded, bearerOn, stripAuthorization, stripCookies bool
	gen                                                     *atomic.Uint64
	// excluded is excludedURLs (matched by reqsafe.MatchesPrefix).
	excluded []string

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
	// bearer is the bearer path's state (bearer.go); nil when bearer auth is off.
	bearer *bearerState
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
	binding := session.InstanceBinding(name, opts.Provider.Issuer, opts.Provider.ClientID, opts.Session.CookieName)
	m := &Middleware{
		name:               name,
		next:               next,
		opts:               opts,
		log:                logging.NewKeyed(name, opts.LogLevel, nil, session.LogIDKey(opts.Session.Keys, binding)),
		identity:           newIdentityHeaders(&opts.Headers),
		callbackPath:       opts.Provider.CallbackPath,
		loginPath:          opts.Provider.LoginPath,
		endpoints:          endpointPaths(opts),
		rules:              withPlaceholder(opts.Policy.Rules),
		hasRules:           len(opts.Policy.Rules) > 1,
		matcher:            opts.Policy.Matcher,
		hasExcluded:        len(opts.ExcludedURLs) > 0,
		excluded:           opts.ExcludedURLs,
		bearerOn:           opts.Bearer.Enabled,
		stripAuthorization: opts.Bearer.Enabled && !opts.Headers.PassAuthorization,
		stripCookies:       opts.Headers.StripCookies,
		ks:                 newKeyspaces(opts),
		verified:           newVerifiedCache(opts.Cache.L1MaxEntries),
		throttle:           newThrottle(opts.Throttle),
		refresh:            newRefresher(),
	}
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
	if m.provider, err = newProvider(ctx, opts); err != nil {
		return nil, errorString("gatehouse: provider: " + err.Error())
	}
	if opts.Bearer.Enabled {
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
	m.gen = cache.GenerationCounter(m.store)
	for _, label := range opts.Policy.AuthenticateWithoutRequirements {
		m.log.Warnf("%s lets every signed-in user in on the requests it matches: the authorization options only decide requests no rule matches (docs/POLICIES.md)", label)
	}
	if !opts.Authorization.RequireVerifiedEmail {
		m.log.Warnf("authorization.requireVerifiedEmail is false: email addresses the provider has not verified are trusted as identities, in headers and by allowedUsers and allowedDomains")
	}
	m.log.Debugf("configured: issuer %s, client %s, cache %s", opts.Provider.Issuer, opts.Provider.ClientID, opts.Cache.Mode)
	return m, nil
}

// Cache returns the instance's cache store.
func (m *Middleware) Cache() cache.Store { return m.store }

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

	stripIdentityHeaders(m.identity, req.Header)

	// Gatehouse's own endpoints, by exact path: one map lookup, whatever their
	// number (a switch over them would cost a comparison, and its temporaries, per
	// endpoint under Yaegi). A disabled endpoint is not in the map, and neither is
	// the empty path of an absolute-form request line ("GET http://host HTTP/1.1"):
	// such a request is authenticated like any other.
	if e := m.endpoints[req.URL.Path]; e != 0 {
		serveEndpoint(m, rw, req, e)
		return
	}

	// Excluded URLs: only canonical paths match (reqsafe.CanonicalPath), since
	// "/health/..;/admin", "/public/../x", encoded slashes, dots or backslashes reach
	// another resource on some backend. Gatehouse's cookies are removed as on every
	// forwarded request, and Authorization when bearer auth is on: a public page, or
	// its access log, must not receive a replayable credential. (forwardExcluded is a
	// call of its own: every temporary of ServeHTTP is allocated on every request.)
	if m.hasExcluded && reqsafe.MatchesPrefix(req.URL, m.excluded) {
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

// Gatehouse's own endpoints (Middleware.endpoints).
const (
	endpointCallback = 1 + iota
	endpointLogin
	endpointLogout
	endpointBackchannel
	endpointFrontchannel
)

// serveEndpoint serves one of Gatehouse's own endpoints.
func serveEndpoint(m *Middleware, rw http.ResponseWriter, req *http.Request, e int) {
	switch e {
	case endpointCallback:
		handleCallback(m, rw, req)
	case endpointLogin:
		handleStart(m, rw, req)
	case endpointLogout:
		handleLogout(m, rw, req)
	case endpointBackchannel:
		handleBackchannel(m, rw, req)
	case endpointFrontchannel:
		handleFrontchannel(m, rw, req)
	}
}

// endpointPaths maps the paths of the enabled endpoints to them.
func endpointPaths(o *config.Options) map[string]int {
	out := map[string]int{}
	for e, p := range map[int]string{
		endpointCallback: o.Provider.CallbackPath, endpointLogin: o.Provider.LoginPath, endpointLogout: o.Logout.Path,
		endpointBackchannel: o.Logout.BackchannelPath, endpointFrontchannel: o.Logout.FrontchannelPath,
	} {
		if p != "" {
			out[p] = e
		}
	}
	return out
}

// recovered answers a request whose handling panicked: 500, logged once, never a
// panic escaping to Traefik — except the reverse proxy's own abort signal.
func recovered(m *Middleware, rw http.ResponseWriter, req *http.Request, r any) {
	if err, ok := r.(error); ok && err == http.ErrAbortHandler {
		panic(r)
	}
	n := m.panics.Add(1)
	m.log.Errorf("internal error #%d serving %s %s: %v", n, req.Method, m.log.ID(req.URL.Path), r)
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
	h := rw.Header()
	m.ownHeaders(h)
	if !isNavigation(req) || p != nil && p.Source == "bearer" {
		writeJSONError(rw, http.StatusForbidden, "access_denied", f, "")
		return
	}
	who := "You are not signed in, and this address is closed to everyone."
	if p != nil {
		who = "You are signed in as <b>" + html.EscapeString(p.User) +
			"</b>, but this application does not allow you in. Ask its owner for access, or sign in as someone else."
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(http.StatusForbidden)
	_, _ = rw.Write([]byte("<!doctype html><meta charset=utf-8><title>Access denied</title>" +
		"<h1>Access denied</h1><p>" + who + "</p>" + explanation(f) + "\n"))
}

// explanation is the HTML paragraph naming the rule and the requirement that
// refused a request (all fixed text from the configuration's structure, escaped).
func explanation(f *config.Failure) string {
	if f == nil {
		return ""
	}
	return `<p id="denial">Refused by ` + html.EscapeString(f.Rule) + ": <code>" + html.EscapeString(f.Requirement) +
		"</code>: " + html.EscapeString(f.Reason) + ".</p>"
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

// forwardExcluded forwards a request under excludedURLs without authentication.
func forwardExcluded(m *Middleware, rw http.ResponseWriter, req *http.Request) {
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
