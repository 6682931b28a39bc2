package auth

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// stack is the test provider, an echo backend behind Gatehouse, and a browser.
type stack struct {
	op      *testop.Provider
	srv     *httptest.Server
	m       *Middleware
	browser *http.Client
}

func newStack(t *testing.T, mutate func(c *config.Config)) *stack {
	t.Helper()
	op, err := testop.New(testop.Options{AutoLogin: true, AutoLoginUser: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	c := config.Default()
	c.Provider.Issuer = op.URL()
	c.Provider.ClientID = "gatehouse"
	c.Provider.ClientSecret = "gatehouse-client-secret"
	c.Session.Keys = []string{"0123456789abcdef0123456789abcdef-key"}
	c.Session.Secure = false
	c.LogLevel = "error"
	if mutate != nil {
		mutate(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "backend "+r.URL.Path+"\nuser="+r.Header.Get("X-Forwarded-User")+"\ngroups="+r.Header.Get("X-Forwarded-Groups")+"\ncookie="+r.Header.Get("Cookie")+"\n")
	})
	h, err := New(ctx, backend, c, "flow@test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &stack{op: op, srv: srv, m: h.(*Middleware), browser: &http.Client{Jar: jar}}
}

func (s *stack) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := s.browser.Get(s.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBrowserSignsInAndReachesTheBackend(t *testing.T) {
	s := newStack(t, nil)
	code, body := s.get(t, "/app/page?x=1")
	if code != 200 || !strings.Contains(body, "backend /app/page") || !strings.Contains(body, "user=alice@example.com") {
		t.Fatalf("%d %s", code, body)
	}
	if strings.Contains(body, "_gatehouse") {
		t.Fatalf("Gatehouse cookies reached the backend: %s", body)
	}
	tokens := s.op.Count("token")
	code, body = s.get(t, "/again")
	if code != 200 || !strings.Contains(body, "backend /again") || s.op.Count("token") != tokens {
		t.Fatalf("second request: %d %s (token calls %d→%d)", code, body, tokens, s.op.Count("token"))
	}
}
