package auth

import (
	"context"
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
	// store is this instance's cache (token-verification results, revocations, ...):
	// built from its own cache configuration, never shared with another instance.
	store  cache.Store
	panics atomic.Int64
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
	switch m.opts.SecurityHeaders.Profile {
	case "basic":
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
	case "strict":
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
	}
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
