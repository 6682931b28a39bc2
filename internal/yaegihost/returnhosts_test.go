package yaegihost

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe/reqsafetest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// A central callback (provider.redirectURL on one host) returns the browser to the
// host it started on only when that host is in provider.allowedReturnHosts; every
// other host gets a local path on the callback's host, as without one. Compiled and
// under Yaegi.

// TestReturnHostRulesUnderYaegiMatchTheBattery runs reqsafe's HostPattern and
// ReturnHost in the interpreter over every row of the return-host battery.
func TestReturnHostRulesUnderYaegiMatchTheBattery(t *testing.T) {
	const pkg = "github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
	patternV := interpreted(t, pkg, "reqsafe.HostPattern")
	returnV := interpreted(t, pkg, "reqsafe.ReturnHost")
	allowedV := interpreted(t, pkg, "reqsafe.AllowedReturnURL")
	var patterns []string
	for _, p := range reqsafetest.ReturnHostPatterns {
		out := patternV.Call([]reflect.Value{reflect.ValueOf(p)})
		if out[1].String() != "" {
			t.Fatalf("HostPattern(%q) under Yaegi: %s", p, out[1].String())
		}
		patterns = append(patterns, out[0].String())
	}
	for _, bad := range reqsafetest.BadHostPatterns {
		if out := patternV.Call([]reflect.Value{reflect.ValueOf(bad)}); out[1].String() == "" {
			t.Errorf("HostPattern(%q) under Yaegi accepted it as %q", bad, out[0].String())
		}
	}
	for _, c := range reqsafetest.HostCases {
		out := returnV.Call([]reflect.Value{reflect.ValueOf(c.Host), reflect.ValueOf(c.Scheme), reflect.ValueOf(patterns)})
		if got, ok := out[0].String(), out[1].Bool(); got != c.Want || ok != (c.Want != "") {
			t.Errorf("%s: ReturnHost(%q) under Yaegi = %q, %v; want %q", c.Name, c.Host, got, ok, c.Want)
		}
		if c.Want != "" {
			u := c.Scheme + "://" + c.Want + "/page"
			if !allowedV.Call([]reflect.Value{reflect.ValueOf(u), reflect.ValueOf(patterns)})[0].Bool() {
				t.Errorf("%s: AllowedReturnURL(%q) under Yaegi = false", c.Name, u)
			}
		}
	}
}

// centralCallbackConfig is rpConfig with its callback on callbackHost, returning to
// hosts under domain.
func centralCallbackConfig(op *testop.Provider, callbackHost, domain string, hosts []string) map[string]any {
	cfg := rpConfig(op)
	p := group(cfg, "provider")
	p["redirectURL"] = "http://" + callbackHost + "/oauth2/callback"
	p["allowedReturnHosts"] = strings.Join(hosts, ",")
	group(cfg, "session")["cookieDomain"] = domain
	return cfg
}

// TestCentralCallbackNeverReturnsToAHostOutsideTheList plays the return-host battery
// end to end: a sign-in starts with each Host header, goes through the provider, and
// ends at the central callback, whose redirect must name the listed host (normalised)
// or a local path. Hosts Go's HTTP server (Traefik's) refuses never reach Gatehouse.
func TestCentralCallbackNeverReturnsToAHostOutsideTheList(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		const callback = "auth.example.com"
		if err := op.AddRedirectURI("gatehouse", "http://"+callback+"/oauth2/callback"); err != nil {
			t.Fatal(err)
		}
		cfg := centralCallbackConfig(op, callback, ".example.com", reqsafetest.ReturnHostPatterns)
		srv := startGatehouse(t, md, cfg, "central@file")
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		reached := 0
		for _, c := range reqsafetest.HostCases {
			c := c
			t.Run(c.Name, func(t *testing.T) {
				hdr := []string{"Host", c.Host}
				if c.Scheme == "https" {
					hdr = append(hdr, "X-Forwarded-Proto", "https")
				}
				resp, _ := rawExchangeHost(t, srv.URL, "/page?x=1", hdr...)
				if resp.StatusCode == http.StatusBadRequest && strings.Trim(c.Host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:-") != "" {
					return // refused by the HTTP server before any middleware
				}
				loc := resp.Header.Get("Location")
				if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, op.URL()) {
					t.Fatalf("start from %q: %d %q", c.Host, resp.StatusCode, loc)
				}
				reached++
				var login string
				for _, ck := range resp.Cookies() {
					if strings.HasPrefix(ck.Name, "_gatehouse_login_") {
						login = ck.Name + "=" + ck.Value
					}
				}
				r, err := noFollow.Get(loc)
				if err != nil {
					t.Fatal(err)
				}
				_ = r.Body.Close()
				cb, err := url.Parse(r.Header.Get("Location"))
				if err != nil || cb.Host != callback {
					t.Fatalf("the provider returned to %q", r.Header.Get("Location"))
				}
				resp, body := rawExchangeHost(t, srv.URL, cb.RequestURI(), "Host", callback, "Cookie", login)
				want := "/page?x=1"
				if c.Want != "" {
					want = c.Scheme + "://" + c.Want + "/page?x=1"
				}
				if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || got != want {
					t.Fatalf("start from %q: the callback answered %d, Location %q, want %q\n%s", c.Host, resp.StatusCode, got, want, body)
				}
			})
		}
		if reached < 20 {
			t.Fatalf("only %d rows reached Gatehouse", reached)
		}
	})
}

// TestCentralCallbackSignsInOnceForEveryListedHost: with the callback on
// auth.gatehouse.test and the session cookie on .gatehouse.test, a browser starting on
// app.gatehouse.test lands back on its page signed in, another listed host is signed in
// without a second trip to the provider, and a host that is not listed ends on the
// callback's host. Two instances of the middleware (two Traefik routers) serve the
// callback host and the application hosts.
func TestCentralCallbackSignsInOnceForEveryListedHost(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := httptest.NewUnstartedServer(nil)
		port := srv.Listener.Addr().(*net.TCPAddr).Port
		at := func(host string) string { return host + ".gatehouse.test:" + strconv.Itoa(port) }
		if err := op.AddRedirectURI("gatehouse", "http://"+at("auth")+"/oauth2/callback"); err != nil {
			t.Fatal(err)
		}
		cfg := centralCallbackConfig(op, at("auth"), "gatehouse.test", []string{at("app"), "*.apps.gatehouse.test:" + strconv.Itoa(port)})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		callbackRouter := md.build(t, ctx, echoBackend(), cfg, "sso@file")
		appRouter := md.build(t, ctx, echoBackend(), cfg, "sso@file")
		srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Host, "auth.") {
				callbackRouter.ServeHTTP(w, r)
				return
			}
			appRouter.ServeHTTP(w, r)
		})
		srv.Start()
		t.Cleanup(srv.Close)

		b := resolvingBrowser(srv.Listener.Addr().String())
		p := b.get(t, "http://"+at("app")+"/page?x=1")
		if p.status != 200 || p.url != "http://"+at("app")+"/page?x=1" {
			t.Fatalf("landed on %s (%d) via %v:\n%s", p.url, p.status, b.hops, p.body)
		}
		mustContain(t, "back on the application host", p, "backend /page", "X-Forwarded-User: alice@example.com")
		if len(b.hops) != 3 || !strings.HasPrefix(b.hops[1], "http://"+at("auth")+"/oauth2/callback?") {
			t.Fatalf("hops %v", b.hops)
		}
		p = b.get(t, "http://"+at("team.apps")+"/other")
		mustContain(t, "another listed host", p, "backend /other", "X-Forwarded-User: alice@example.com")
		if n := op.Count("authorize"); n != 1 {
			t.Fatalf("%d trips to the provider for two hosts under one cookie domain", n)
		}

		stranger := resolvingBrowser(srv.Listener.Addr().String())
		p = stranger.get(t, "http://"+at("stranger")+"/x")
		if p.status != 200 || p.url != "http://"+at("auth")+"/x" {
			t.Fatalf("an unlisted host returned to %s (%d)", p.url, p.status)
		}
	})
}

// resolvingBrowser is a browser for which every host under gatehouse.test resolves to
// addr (the provider keeps its own address).
func resolvingBrowser(addr string) *browser {
	b := newBrowser()
	var d net.Dialer
	b.c.Transport = &http.Transport{DialContext: func(ctx context.Context, network, hostPort string) (net.Conn, error) {
		if h, _, _ := net.SplitHostPort(hostPort); strings.HasSuffix(h, ".gatehouse.test") {
			hostPort = addr
		}
		return d.DialContext(ctx, network, hostPort)
	}}
	return b
}
