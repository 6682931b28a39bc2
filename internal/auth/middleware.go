package auth

import (
	"context"
	"html"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
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

	// cookieStripper removes Gatehouse's cookies from a request bound upstream.
	cookieStripper func(*http.Request)
	// upstreamSecurityHeaders/Values are set on backend responses when
	// securityHeaders.applyToUpstream is on.
	upstreamSecurityHeaders []string
	upstreamSecurityValues  [][]string
	// store is this instance's cache (token-verification results, revocations, ...):
	// built from its own cache configuration, never shared with another instance.
	store cache.Store
}

// New compiles cfg and returns the middleware, or an error naming every invalid
// option. It does not touch the network: the instance's cache connects to Redis in the
// background. When ctx is cancelled (Traefik reloads its configuration) the cache is
// closed: its queued writes drained within 2 s, its goroutines and connections ended.
func New(ctx context.Context, next http.Handler, cfg *config.Config, name string) (http.Handler, error) {
	if next == nil {
		return nil, errorString("gatehouse: next handler is nil")
	}
	opts, err := config.Compile(cfg, config.Environment{})
	if err != nil {
		return nil, err
	}
	m := &Middleware{
		name:     name,
		next:     next,
		opts:     opts,
		log:      logging.New(name, opts.LogLevel, nil),
		identity: newIdentityHeaders(&opts.Headers),
	}
	if opts.SecurityHeaders.ApplyToUpstream {
		h := http.Header{}
		securityHeaders(opts.SecurityHeaders.Profile, h)
		for name, v := range h {
			m.upstreamSecurityHeaders = append(m.upstreamSecurityHeaders, name)
			m.upstreamSecurityValues = append(m.upstreamSecurityValues, v)
		}
	}
	// The store closes itself when ctx is cancelled (cache.New's contract).
	if m.store, err = cache.New(ctx, opts.Cache, m.log); err != nil {
		return nil, err
	}
	m.log.Debugf("configured: issuer %s, client %s, cache %s", opts.Provider.Issuer, opts.Provider.ClientID, opts.Cache.Mode)
	return m, nil
}

// Cache returns the instance's cache store.
func (m *Middleware) Cache() cache.Store { return m.store }

// ServeHTTP tells the request's story: strip what the client must not claim, serve
// what needs no authentication, and refuse the rest until it is authenticated.
func (m *Middleware) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && err == http.ErrAbortHandler {
				// The reverse proxy aborts a response this way; Traefik handles it.
				panic(r)
			}
			n := m.panics.Add(1)
			m.log.Errorf("internal error #%d serving %s %s: %v", n, req.Method, logging.ID(req.URL.Path), r)
			m.ownHeaders(rw.Header())
			http.Error(rw, "gatehouse: internal error", http.StatusInternalServerError)
		}
	}()

	stripIdentityHeaders(m.identity, req.Header)

	if isExcluded(m, req) {
		if m.opts.Bearer.Enabled {
			req.Header.Del("Authorization")
		}
		m.next.ServeHTTP(rw, req)
		return
	}

	m.unauthenticated(rw, req)
}

// unauthenticated answers a request that carries no acceptable credentials.
func (m *Middleware) unauthenticated(rw http.ResponseWriter, _ *http.Request) {
	h := rw.Header()
	m.ownHeaders(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(http.StatusUnauthorized)
	_, _ = rw.Write([]byte("gatehouse: authentication required\n"))
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

// forbidden answers an authenticated principal the rules deny: 403 with a page that
// says who they are signed in as (escaped) and that they may not pass.
func forbidden(m *Middleware, rw http.ResponseWriter, req *http.Request, p *principal) {
	h := rw.Header()
	m.ownHeaders(h)
	if wantsJSON(req) || p.Source == "bearer" {
		h.Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusForbidden)
		_, _ = rw.Write([]byte(`{"error":"access_denied","error_description":"authenticated, but not allowed by this route's rules"}` + "\n"))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(http.StatusForbidden)
	_, _ = rw.Write([]byte("<!doctype html><meta charset=utf-8><title>Access denied</title>" +
		"<h1>Access denied</h1><p>You are signed in as <b>" + html.EscapeString(p.User) +
		"</b>, but this application does not allow you in. Ask its owner for access, or sign in as someone else.</p>\n"))
}

// wantsJSON reports whether the client is an API client rather than a browser: it
// asks for JSON, or says it is an XMLHttpRequest. API clients get 401/403 answers,
// never redirects to the provider.
func wantsJSON(req *http.Request) bool {
	if req.Header.Get("X-Requested-With") != "" {
		return true
	}
	a := req.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

// isExcluded reports whether the request's path lies under an excluded prefix. Only
// canonical paths qualify: "/public/../admin", "//public", or a path with encoded
// slashes, backslashes or dots must authenticate, because a backend may normalise them
// into something that was never excluded. (A plain function, not a method: under
// Yaegi a method call costs four times a function call; see docs/YAEGI-NOTES.md.)
func isExcluded(m *Middleware, req *http.Request) bool {
	if len(m.opts.ExcludedURLs) == 0 {
		return false
	}
	p := req.URL.Path
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, "\\\x00") ||
		strings.Contains(p+"/", "/./") || strings.Contains(p+"/", "/../") {
		return false
	}
	// Percent-encoded slashes, backslashes and dots decode into path structure the
	// prefix match did not see.
	if raw := req.URL.RawPath; raw != "" {
		l := strings.ToLower(raw)
		if strings.Contains(l, "%2f") || strings.Contains(l, "%5c") || strings.Contains(l, "%2e") {
			return false
		}
	}
	for _, prefix := range m.opts.ExcludedURLs {
		if strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || prefix[len(prefix)-1] == '/' || p[len(prefix)] == '/') {
			return true
		}
	}
	return false
}

type errorString string

func (e errorString) Error() string { return string(e) }
