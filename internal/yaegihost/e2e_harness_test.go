package yaegihost

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gatehouse "github.com/gatehouse-oidc/gatehouse"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
	"github.com/mitchellh/mapstructure"
)

// A mode builds a Gatehouse handler from a configuration the way one runtime does:
// "yaegi" through the interpreter exactly as Traefik does, "compiled" with the same
// decoding in compiled Go. Every end-to-end scenario runs in both.
type mode struct {
	name  string
	build func(t testing.TB, ctx context.Context, next http.Handler, cfg map[string]any, name string) http.Handler
}

var modes = []mode{
	{"yaegi", func(t testing.TB, ctx context.Context, next http.Handler, cfg map[string]any, name string) http.Handler {
		h, err := host(t).Build(ctx, next, cfg, name)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}},
	{"compiled", func(t testing.TB, ctx context.Context, next http.Handler, cfg map[string]any, name string) http.Handler {
		c := gatehouse.CreateConfig()
		d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook: mapstructure.StringToSliceHookFunc(","), WeaklyTypedInput: true, Result: c,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Decode(cfg); err != nil {
			t.Fatal(err)
		}
		h, err := gatehouse.New(ctx, next, c, name)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}},
}

// forEachMode runs f as a subtest per mode.
func forEachMode(t *testing.T, f func(t *testing.T, md mode)) {
	for _, md := range modes {
		md := md
		t.Run(md.name, func(t *testing.T) { f(t, md) })
	}
}

// newOP starts a test provider that signs users in without a form.
func newOP(t testing.TB, opts testop.Options) *testop.Provider {
	t.Helper()
	opts.AutoLogin = true
	if opts.AutoLoginUser == "" {
		opts.AutoLoginUser = "alice"
	}
	op, err := testop.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	return op
}

// rpConfig is a Gatehouse configuration for the test provider, as a file provider
// would hand it over.
func rpConfig(op *testop.Provider) map[string]any {
	return map[string]any{
		"provider": map[string]any{
			"issuer": op.URL(), "clientID": "gatehouse", "clientSecret": "gatehouse-client-secret",
			"scopes": "openid,profile,email,groups",
		},
		"session": map[string]any{
			"keys":   []any{"0123456789abcdef0123456789abcdef-session-key"},
			"secure": false,
		},
		"logLevel": "error",
	}
}

func group(cfg map[string]any, name string) map[string]any {
	g, _ := cfg[name].(map[string]any)
	if g == nil {
		g = map[string]any{}
		cfg[name] = g
	}
	return g
}

// startGatehouse serves a Gatehouse instance in front of the echo backend.
func startGatehouse(t testing.TB, md mode, cfg map[string]any, name string) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := httptest.NewServer(md.build(t, ctx, echoBackend(), cfg, name))
	t.Cleanup(srv.Close)
	return srv
}

// browser is a cookie-keeping HTTP client that follows redirects and remembers them.
type browser struct {
	jar  *cookiejar.Jar
	c    *http.Client
	hops []string
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{jar: jar}
	b.c = &http.Client{Jar: jar, Timeout: 20 * time.Second}
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		b.hops = append(b.hops, req.URL.String())
		if len(via) > 20 {
			return fmt.Errorf("redirect loop: %v", b.hops)
		}
		return nil
	}
	return b
}

type page struct {
	status int
	body   string
	url    string
	header http.Header
}

func (b *browser) get(t testing.TB, u string, hdr ...string) page {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(t, req)
}

// do sends req, following redirects, and returns the page where it ended.
func (b *browser) do(t testing.TB, req *http.Request) page {
	t.Helper()
	b.hops = nil
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(body), url: resp.Request.URL.String(), header: resp.Header}
}

// once sends one request without following redirects.
func (b *browser) once(t testing.TB, u string, hdr ...string) *http.Response {
	t.Helper()
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// rawOnce sends a request line verbatim (with the browser's cookies for base) and
// returns the response without following it.
func (b *browser) rawOnce(t testing.TB, base, requestURI string) *http.Response {
	t.Helper()
	u, _ := url.Parse(base)
	var cookies []string
	for _, c := range b.jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	var hdr []string
	if len(cookies) > 0 {
		hdr = []string{"Cookie", strings.Join(cookies, "; ")}
	}
	resp, _ := rawExchange(t, base, requestURI, hdr...)
	if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
		b.jar.SetCookies(u, resp.Cookies())
	}
	return resp
}

// rawExchange sends "GET target HTTP/1.1" to base with the header pairs, byte for
// byte, and returns the response (not followed) and its body.
func rawExchange(t testing.TB, base, target string, header ...string) (*http.Response, string) {
	t.Helper()
	u, _ := url.Parse(base)
	return rawExchangeHost(t, base, target, append([]string{"Host", u.Host}, header...)...)
}

// rawExchangeHost is rawExchange with the Host header, byte for byte, among the
// header pairs.
func rawExchangeHost(t testing.TB, base, target string, header ...string) (*http.Response, string) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nConnection: close\r\n"
	for i := 0; i+1 < len(header); i += 2 {
		req += header[i] + ": " + header[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(body)
}

func sessionCookies(b *browser, base string) []*http.Cookie {
	u, _ := url.Parse(base)
	var out []*http.Cookie
	for _, c := range b.jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "_gatehouse") {
			out = append(out, c)
		}
	}
	return out
}

func mustContain(t testing.TB, what string, p page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s: status %d at %s, body lacks %q:\n%s", what, p.status, p.url, s, p.body)
		}
	}
}
