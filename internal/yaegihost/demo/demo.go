// Package demo runs the whole Gatehouse job on one machine: the test OpenID Provider,
// a backend that shows the identity it receives, and the plugin loaded by the Yaegi
// host exactly as Traefik loads it, in front of that backend. `make demo` runs it for
// people; the browser test runs it for Chromium.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost"
)

// Options configure Start. Zero values pick free loopback ports and the memory cache.
type Options struct {
	// Listen is Gatehouse's address, e.g. "127.0.0.1:8080" ("": a free port).
	Listen string
	// ProviderListen is the test provider's address ("": a free port).
	ProviderListen string
	// Host is the host name browsers use for Gatehouse (default "localhost").
	Host string
	// RedisURL, when set, makes the cache hybrid (in-process L1 in front of Redis).
	RedisURL string
	// AutoLogin signs alice in without the login form (tests).
	AutoLogin bool
	// Output receives the plugin's own log lines (nil: discarded).
	Output io.Writer
	// Configure, when set, changes the plugin's configuration before it is built.
	Configure func(cfg map[string]any)
}

// logoSVG is the demo's logo, given to pages.logoURL as a data: URL (no request).
const logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" rx="8" fill="#0b5394"/>` +
	`<path d="M11 31V18a9 9 0 0 1 18 0v13h-5V18a4 4 0 0 0-8 0v13z" fill="#fff"/></svg>`

// Stack is a running demo.
type Stack struct {
	URL         string // where to point the browser
	ProviderURL string
	Provider    *testop.Provider
	Cache       string
	cancel      context.CancelFunc
	servers     []*http.Server
}

// Start loads the plugin from the repository at root under Yaegi and starts
// everything. Close stops it.
func Start(root string, o Options) (*Stack, error) {
	if o.Host == "" {
		o.Host = "localhost"
	}
	op, err := testop.New(testop.Options{Addr: o.ProviderListen, AutoLogin: o.AutoLogin, AutoLoginUser: "alice"})
	if err != nil {
		return nil, fmt.Errorf("demo: test provider: %w", err)
	}
	tmp, err := os.MkdirTemp("", "gatehouse-demo-")
	if err != nil {
		op.Close()
		return nil, err
	}
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	host, err := yaegihost.Load(root, tmp, yaegihost.Options{Output: out})
	if err != nil {
		op.Close()
		return nil, fmt.Errorf("demo: loading the plugin under Yaegi: %w", err)
	}
	key := make([]byte, 48)
	if _, err := rand.Read(key); err != nil {
		op.Close()
		return nil, err
	}
	cfg := map[string]any{
		"provider": map[string]any{
			"issuer": op.URL(), "clientID": "gatehouse", "clientSecret": "gatehouse-client-secret",
			"scopes": "openid,profile,email,groups",
		},
		"session": map[string]any{
			"keys":   base64.RawURLEncoding.EncodeToString(key),
			"secure": false, // plain http on localhost
		},
		"headers": map[string]any{
			"templates": map[string]any{"X-Forwarded-Name": "${claims.name}"},
		},
		"pages": map[string]any{
			"title":       "Gatehouse demo",
			"logoURL":     "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(logoSVG)),
			"accentColor": "#0b5394",
		},
		"excludedURLs": "/health",
		// A page anyone may load whose script calls an API that needs a sign-in
		// (/spa), and an area that needs a sign-in no older than 10 minutes.
		"rules": []any{
			map[string]any{"name": "spa", "pathExact": "/spa", "action": "allow"},
			map[string]any{"name": "admin", "path": "/admin/", "require": map[string]any{"groups": "admins", "maxAuthAge": "10m"}},
		},
		"logLevel": "info",
	}
	if o.Configure != nil {
		o.Configure(cfg)
	}
	s := &Stack{ProviderURL: op.URL(), Provider: op, Cache: "memory (in-process)"}
	if o.RedisURL != "" {
		cfg["cache"] = map[string]any{"redis": map[string]any{"url": o.RedisURL}}
		s.Cache = "hybrid: in-process L1 in front of Redis at " + redactURL(o.RedisURL)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	handler, err := host.Build(ctx, Backend(), cfg, "demo@file")
	if err != nil {
		cancel()
		op.Close()
		return nil, fmt.Errorf("demo: building the middleware: %w", err)
	}
	ln, err := net.Listen("tcp", listenAddr(o.Listen))
	if err != nil {
		cancel()
		op.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.URL = "http://" + o.Host + ":" + port + "/"
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

func listenAddr(a string) string {
	if a == "" {
		return "127.0.0.1:0"
	}
	return a
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}

// Close stops the stack.
func (s *Stack) Close() {
	s.cancel()
	for _, srv := range s.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
	s.Provider.Close()
}

// Backend is the demo application: a page showing the identity headers Gatehouse
// forwarded, and a sign-out button. It knows nothing about OIDC.
func Backend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			_, _ = io.WriteString(w, "ok\n")
			return
		case "/spa":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, spaPage)
			return
		case "/api/whoami":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, r.Header.Get("X-Forwarded-User"))
			return
		}
		var names []string
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		b.WriteString("<!doctype html><meta charset=utf-8><title>Gatehouse demo backend</title>")
		b.WriteString("<style>body{font-family:system-ui,sans-serif;margin:2em}td{padding:2px 8px;font-family:monospace}</style>")
		fmt.Fprintf(&b, "<h1 id=who>Hello, %s</h1>", html.EscapeString(r.Header.Get("X-Forwarded-User")))
		b.WriteString("<p>This page is the backend. It received these headers from Gatehouse:</p><table>")
		for _, k := range names {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td></tr>", html.EscapeString(k), html.EscapeString(strings.Join(r.Header[k], ", ")))
		}
		b.WriteString("</table><form method=post action=/oauth2/logout><button id=logout>Sign out</button></form>")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, b.String())
	})
}

// spaPage is a single-page application's page: public, its script calls an API that
// needs a sign-in and, answered 401, goes to the login_url Gatehouse gives it, which
// signs in and comes back here (the request's Referer).
const spaPage = `<!doctype html><meta charset=utf-8><title>Gatehouse demo SPA</title>
<h1>Single-page app</h1><p id=state>calling /api/whoami…</p>
<script>
fetch('/api/whoami').then(async (r) => {
  const state = document.getElementById('state');
  if (r.status === 401) {
    const body = await r.json();
    state.textContent = 'not signed in: going to ' + body.login_url;
    location.href = body.login_url;
    return;
  }
  state.textContent = 'signed in as ' + await r.text();
  state.id = 'who';
});
</script>
`

// ErrNoRoot is returned when the repository root cannot be found.
var ErrNoRoot = errors.New("demo: run it from inside the Gatehouse repository")
