package demo

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost"
)

// redisKeysLike lists the keys matching pattern.
func redisKeysLike(t *testing.T, rs *redistest.Server, pattern string) []string {
	t.Helper()
	v, err := rs.Do("KEYS", pattern)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	list, _ := v.([]any)
	for _, k := range list {
		s, _ := k.(string)
		out = append(out, s)
	}
	return out
}

// tracked reports whether a client of rs has client tracking on.
func tracked(rs *redistest.Server) bool {
	for _, c := range rs.Clients() {
		if strings.Contains(c["flags"], "t") {
			return true
		}
	}
	return false
}

// waitRedisKeys waits until a key matches pattern and returns the matches.
func waitRedisKeys(t *testing.T, rs *redistest.Server, pattern string) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if keys := redisKeysLike(t, rs, pattern); len(keys) > 0 {
			return keys
		}
		if time.Now().After(deadline) {
			t.Fatalf("no key %s in Redis; all keys: %v", pattern, redisKeysLike(t, rs, "*"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDemoWithRedisUsesTheHybridCache is `make demo REDIS_URL=...` without a person:
// the stack with Options.RedisURL (a real redis-server) and AutoLogin signs alice in
// through a cookie-keeping HTTP client, the demo backend shows the identity it
// received, the stack reports the hybrid cache, and the plugin's state is in Redis
// under the default key prefix: the provider's key set after the sign-in, the
// revocation after the sign-out form is posted.
func TestDemoWithRedisUsesTheHybridCache(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	root, err := yaegihost.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(root, Options{Host: "127.0.0.1", RedisURL: rs.URL(), AutoLogin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.Cache, "hybrid") || !strings.Contains(s.Cache, rs.Addr()) {
		t.Fatalf("Cache %q, want the hybrid cache on %s", s.Cache, rs.Addr())
	}
	if keys := redisKeysLike(t, rs, "*"); len(keys) != 0 {
		t.Fatalf("keys in Redis before anyone signed in: %v", keys)
	}
	// The store starts degraded and turns healthy at its first connection (New never
	// waits for Redis). Let it connect, so that the sign-in below runs against the
	// store as it normally is.
	deadline := time.Now().Add(30 * time.Second)
	for !tracked(rs) {
		if time.Now().After(deadline) {
			t.Fatalf("the demo never subscribed to invalidations: %v", rs.Clients())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(s.URL + "app")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != s.URL+"app" ||
		!strings.Contains(page, "<h1 id=who>Hello, alice@example.com</h1>") ||
		!strings.Contains(page, "<td>X-Forwarded-Email</td><td>alice@example.com</td>") ||
		!strings.Contains(page, "<td>X-Forwarded-Name</td>") {
		t.Fatalf("after sign-in: %d at %s:\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	if strings.Contains(page, "_gatehouse") {
		t.Fatalf("Gatehouse's cookies reached the demo backend:\n%s", page)
	}
	jwks := waitRedisKeys(t, rs, "gatehouse:jwks:*")
	t.Logf("Redis after the sign-in: %v", redisKeysLike(t, rs, "gatehouse:*"))
	if v, _ := rs.Do("GET", jwks[0]); strings.Contains(v.(string), `"kty"`) {
		t.Fatalf("the key set is in Redis unsealed: %.200s", v)
	}

	// Sign out with the backend's form: the revocation is written to Redis.
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u, _ := url.Parse(s.URL)
	req, _ := http.NewRequest("POST", s.URL+"oauth2/logout", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), s.ProviderURL) {
		t.Fatalf("sign-out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	waitRedisKeys(t, rs, "gatehouse:revoked:*")
	if resp, err = noFollow.Get(s.URL + "app"); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), s.ProviderURL) {
		t.Fatalf("after sign-out: %d %q, want a new sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
}
