package yaegihost

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// replicaConfig is rpConfig with a shared Redis: replicas of one middleware have the
// same name, keys and Redis, and nothing else in common.
func replicaConfig(op *testop.Provider, redisURL string) map[string]any {
	cfg := rpConfig(op)
	group(cfg, "cache")["redis"] = map[string]any{"url": redisURL}
	group(cfg, "cache")["probeInterval"] = "100ms"
	return cfg
}

func TestSessionStartedOnOneReplicaIsServedByAnother(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := replicaConfig(op, rs.URL())
		a := startGatehouse(t, md, cfg, "sso@file")
		b := startGatehouse(t, md, cfg, "sso@file")
		br := newBrowser()
		mustContain(t, "login on A", br.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		var cookie []string
		for _, c := range sessionCookies(br, a.URL) {
			cookie = append(cookie, c.Name+"="+c.Value)
		}
		req, _ := http.NewRequest("GET", b.URL+"/on-b", nil)
		req.Header.Set("Cookie", strings.Join(cookie, "; "))
		resp, body := doRequest(t, req)
		if resp.StatusCode != 200 || !strings.Contains(body, "X-Forwarded-User: alice@example.com") {
			t.Fatalf("replica B: %d %s", resp.StatusCode, body)
		}
	})
}

func TestConcurrentRefreshesOnTwoReplicasMakeOneTokenRequest(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{Lifetimes: testop.Lifetimes{AccessToken: 2 * time.Second}})
		cfg := replicaConfig(op, rs.URL())
		group(cfg, "session")["refreshGrace"] = "0s"
		a := startGatehouse(t, md, cfg, "sso@file")
		b := startGatehouse(t, md, cfg, "sso@file")
		br := newBrowser()
		mustContain(t, "login", br.get(t, a.URL+"/"), "backend /")
		var cookie []string
		for _, c := range sessionCookies(br, a.URL) {
			cookie = append(cookie, c.Name+"="+c.Value)
		}
		time.Sleep(2100 * time.Millisecond)
		before := op.Count("token:refresh_token")
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := 0; i < 8; i++ {
			i := i
			target := a.URL
			if i%2 == 1 {
				target = b.URL
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", target+"/concurrent", nil)
				req.Header.Set("Cookie", strings.Join(cookie, "; "))
				resp, _ := doRequest(t, req)
				statuses[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != 200 {
				t.Errorf("request %d: status %d", i, s)
			}
		}
		if got := op.Count("token:refresh_token") - before; got != 1 {
			t.Fatalf("%d refresh requests for one session across two replicas", got)
		}
	})
}

func doRequest(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}
