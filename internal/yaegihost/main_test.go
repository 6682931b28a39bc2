package yaegihost

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// shared is the plugin loaded once for the package's tests, as Traefik loads it once
// for all middleware instances.
var (
	sharedOnce sync.Once
	shared     *Host
	sharedErr  error
	sharedTmp  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedTmp != "" {
		_ = os.RemoveAll(sharedTmp)
	}
	os.Exit(code)
}

func host(t testing.TB) *Host {
	t.Helper()
	sharedOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			sharedErr = err
			return
		}
		sharedTmp, err = os.MkdirTemp("", "gatehouse-yaegihost-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = Load(root, sharedTmp, Options{})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// baseConfig is a valid configuration as a file provider would hand it over.
func baseConfig() map[string]any {
	return map[string]any{
		"provider": map[string]any{
			"issuer":       "https://idp.example.com",
			"clientID":     "gatehouse",
			"clientSecret": "client-secret-value",
		},
		"session": map[string]any{
			"keys": []any{"0123456789abcdef0123456789abcdef-key"},
		},
		"logLevel": "error",
	}
}

// echoBackend answers 200 and the request headers it received, one per line.
func echoBackend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, "backend %s\n", r.URL.Path)
		for k, vs := range r.Header {
			for _, v := range vs {
				fmt.Fprintf(w, "%s: %s\n", k, v)
			}
		}
	})
}

func build(t testing.TB, cfg map[string]any, name string) http.Handler {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h, err := host(t).Build(ctx, echoBackend(), cfg, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// serve sends one request through h over real HTTP. The request line carries
// req.RequestURI verbatim when set (so dot segments and encoded slashes reach the
// middleware as a client sent them), else req.URL.RequestURI().
func serve(t testing.TB, h http.Handler, req *http.Request) (*http.Response, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	uri := req.RequestURI
	if uri == "" {
		uri = req.URL.RequestURI()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", req.Method, uri, srv.Listener.Addr())
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// rawRequest is a GET whose request line is uri, byte for byte.
func rawRequest(uri string) *http.Request {
	req := httptest.NewRequest("GET", "/", nil)
	req.RequestURI = uri
	return req
}
