package yaegihost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Sign-out end to end: RP-initiated, back-channel and front-channel logout
// across replicas sharing a real Redis, token revocation at the test provider,
// server-side sessions, and the CSRF rule of the logout endpoint. Every scenario runs
// under Yaegi (as Traefik runs the plugin) and compiled.

// propagationDeadline bounds the wait for a sign-out to reach a replica. Only a
// failing test reaches it: propagation takes milliseconds, and its figure comes from
// the benchmarks, not from pass/fail tests.
const propagationDeadline = 30 * time.Second

const (
	logoutPath       = "/oauth2/logout"
	backchannelPath  = "/oauth2/backchannel-logout"
	frontchannelPath = "/oauth2/frontchannel-logout"
)

// prefixedConfig is rpConfig without Redis (redisURL ""), else replicaConfig with
// its own key prefix (tests of both modes share one Redis).
func prefixedConfig(op *testop.Provider, redisURL, prefix string) map[string]any {
	if redisURL == "" {
		return rpConfig(op)
	}
	cfg := replicaConfig(op, redisURL)
	group(cfg, "cache")["keyPrefix"] = prefix
	return cfg
}

// logoutConfig is replicaConfig with a key prefix of its own (both modes share one
// Redis in some tests) and a public page to land on after sign-out.
func logoutConfig(op *testop.Provider, redisURL, prefix string) map[string]any {
	cfg := prefixedConfig(op, redisURL, prefix)
	cfg["excludedURLs"] = "/signed-out"
	group(cfg, "logout")["postLogoutRedirectURL"] = "/signed-out"
	return cfg
}

// cookieHeader is the browser's Gatehouse cookies for base as one Cookie header.
func cookieHeader(t testing.TB, b *browser, base string) string {
	t.Helper()
	var parts []string
	for _, c := range sessionCookies(b, base) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) == 0 {
		t.Fatal("the browser holds no session cookie")
	}
	return strings.Join(parts, "; ")
}

// withCookie sends GET path to base with cookie and returns the response and body;
// api makes it an API client (Accept: application/json).
func withCookie(t testing.TB, base, path, cookie string, api bool) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Cookie", cookie)
	if api {
		req.Header.Set("Accept", "application/json")
	} else {
		req.Header.Set("Accept", "text/html")
	}
	return doRequest(t, req)
}

// served reports whether a browser request with cookie reached the backend as the
// user; refused whether it was sent to sign in (302 to the provider).
func served(t testing.TB, base, cookie, user string) bool {
	t.Helper()
	resp, body := withCookie(t, base, "/check", cookie, false)
	return resp.StatusCode == 200 && strings.Contains(body, "X-Forwarded-User: "+user)
}

func refusedBrowser(t testing.TB, op *testop.Provider, base, cookie string) bool {
	t.Helper()
	resp, body := withCookie(t, base, "/check", cookie, false)
	if resp.StatusCode == 200 && strings.Contains(body, "backend ") {
		return false
	}
	return resp.StatusCode == http.StatusFound && strings.HasPrefix(resp.Header.Get("Location"), op.URL()+"/browser/authorize")
}

func mustBeServed(t testing.TB, what, base, cookie, user string) {
	t.Helper()
	if !served(t, base, cookie, user) {
		resp, body := withCookie(t, base, "/check", cookie, false)
		t.Fatalf("%s: not served: %d %s %.300s", what, resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// refusedWithin spins on base with cookie until a browser request is sent to sign in,
// and returns how long after start that happened (failing after limit).
func refusedWithin(t testing.TB, op *testop.Provider, base, cookie string, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for {
		if refusedBrowser(t, op, base, cookie) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			resp, body := withCookie(t, base, "/check", cookie, false)
			t.Fatalf("%s still accepts the session %v after the logout: %d %.200s", base, time.Since(start), resp.StatusCode, body)
		}
	}
}

// refusedEverywhere waits, concurrently on each replica, for the cookie to be refused,
// and returns the latencies (in replica order).
func refusedEverywhere(t *testing.T, op *testop.Provider, replicas []string, cookie string, start time.Time, limit time.Duration) []time.Duration {
	t.Helper()
	lat := make([]time.Duration, len(replicas))
	failed := make([]string, len(replicas))
	var wg sync.WaitGroup
	for i, base := range replicas {
		i, base := i, base
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if refusedBrowser(t, op, base, cookie) {
					lat[i] = time.Since(start)
					return
				}
				if time.Since(start) > limit {
					failed[i] = base
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, f := range failed {
		if f != "" {
			t.Fatalf("replica %d (%s) still accepts the session %v after the logout", i, f, limit)
		}
	}
	return lat
}

// post sends a form POST with the browser's cookies, not following redirects.
func (b *browser) post(t testing.TB, u string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// sessionCleared reports whether resp expires the session cookie.
func sessionCleared(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == "_gatehouse" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// redisKeys lists the keys of one keyspace under prefix.
func redisKeys(t testing.TB, rs *redistest.Server, prefix, keyspace string) []string {
	t.Helper()
	v, err := rs.Do("KEYS", prefix+keyspace+":*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	list, _ := v.([]any)
	for _, k := range list {
		s, _ := k.(string)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// redisKey is the Redis key of id in keyspace, as internal/cache builds it.
func redisKey(prefix, keyspace, id string) string {
	sum := sha256.Sum256([]byte(id))
	return prefix + keyspace + ":" + hex.EncodeToString(sum[:])
}

// TestRPInitiatedLogoutReachesEveryReplica: a user signs out on replica A; the same
// cookie replayed on A, B and C is refused (the latencies are logged: the 100 ms the
// docs quote is BenchmarkYaegiLogoutPropagation's figure; browsers are sent
// to sign in, API clients get 401); the refresh token is revoked at the provider;
// the browser goes through the provider's end-session endpoint (id_token_hint,
// post_logout_redirect_uri, state) and lands on the post-logout page.
func TestRPInitiatedLogoutReachesEveryReplica(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := logoutConfig(op, rs.URL(), "rp-"+md.name+":")
		a := startGatehouse(t, md, cfg, "logout@file")
		b := startGatehouse(t, md, cfg, "logout@file")
		c := startGatehouse(t, md, cfg, "logout@file")
		replicas := []string{a.URL, b.URL, c.URL}
		br := newBrowser()
		mustContain(t, "login on A", br.get(t, a.URL+"/app"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, a.URL)
		for _, r := range replicas {
			mustBeServed(t, "before logout", r, cookie, "alice@example.com")
		}
		if n := op.ActiveRefreshTokens("alice"); n != 1 {
			t.Fatalf("%d active refresh tokens before logout", n)
		}

		start := time.Now()
		resp, _ := br.post(t, a.URL+logoutPath, url.Values{})
		if resp.StatusCode != http.StatusFound || !sessionCleared(resp) {
			t.Fatalf("logout: %d, Set-Cookie %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
		lat := refusedEverywhere(t, op, replicas, cookie, start, propagationDeadline)
		t.Logf("FIGURE %s: logout on A refused by A, B, C after %v, %v, %v", md.name, lat[0], lat[1], lat[2])
		for _, r := range replicas {
			if resp, _ := withCookie(t, r, "/api/items", cookie, true); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("API client on %s: %d", r, resp.StatusCode)
			}
		}

		// RFC 7009: the refresh token was revoked at the provider.
		if n := op.ActiveRefreshTokens("alice"); n != 0 {
			t.Errorf("%d active refresh tokens after logout", n)
		}
		revokes := op.Requests("revoke")
		if len(revokes) != 1 || revokes[0].Form.Get("token_type_hint") != "refresh_token" || !strings.HasPrefix(revokes[0].Form.Get("token"), "rt_") {
			t.Errorf("revocation requests: %+v", revokes)
		}

		// RP-Initiated Logout 1.0 section 2.
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != op.Endpoints().EndSession {
			t.Fatalf("Location %q, want the end-session endpoint %s", resp.Header.Get("Location"), op.Endpoints().EndSession)
		}
		q := loc.Query()
		state := q.Get("state")
		if q.Get("id_token_hint") == "" || q.Get("client_id") != "gatehouse" || len(state) < 16 ||
			q.Get("post_logout_redirect_uri") != a.URL+"/signed-out" {
			t.Fatalf("end-session parameters: %v", q)
		}
		if _, claims, err := op.Verify(q.Get("id_token_hint")); err != nil || claims["sub"] != "usr_alice" {
			t.Fatalf("id_token_hint: %v %v", err, claims)
		}
		p := br.get(t, loc.String())
		landed, _ := url.Parse(p.url)
		if p.status != 200 || landed.Host != mustURL(t, a.URL).Host || landed.Path != "/signed-out" || landed.Query().Get("state") != state {
			t.Fatalf("landed on %s (%d)", p.url, p.status)
		}
		mustContain(t, "post-logout page", p, "backend /signed-out")
		if strings.Contains(p.body, "X-Forwarded-User") {
			t.Fatalf("the post-logout page was served as a signed-in user:\n%s", p.body)
		}
		if op.Count("end_session") != 1 || len(op.SessionIDs("alice")) != 0 {
			t.Fatalf("end_session %d, provider sessions %v", op.Count("end_session"), op.SessionIDs("alice"))
		}
		// The browser itself is signed out: a protected page starts a new login.
		if r := br.once(t, a.URL+"/app"); r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), op.URL()) {
			t.Fatalf("after logout: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

// TestLogoutWithoutEndSessionEndpointEndsLocally: a provider that advertises neither
// end_session_endpoint nor revocation_endpoint: the session is still revoked and
// the browser ends at Gatehouse's signed-out page, which links to the post-logout URL.
func TestLogoutWithoutEndSessionEndpointEndsLocally(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		op.SetMisbehaviour(testop.NoEndSessionEndpoint | testop.NoRevocationEndpoint)
		srv := startGatehouse(t, md, logoutConfig(op, "", ""), "local-logout@file")
		br := newBrowser()
		mustContain(t, "login", br.get(t, srv.URL+"/"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, srv.URL)
		resp, body := br.post(t, srv.URL+logoutPath, url.Values{})
		if resp.StatusCode != http.StatusOK || !sessionCleared(resp) || !strings.Contains(body, `href="/signed-out"`) {
			t.Fatalf("logout: %d %v\n%s", resp.StatusCode, resp.Header.Values("Set-Cookie"), body)
		}
		if !refusedBrowser(t, op, srv.URL, cookie) {
			t.Fatal("the session survived the logout")
		}
		if op.Count("revoke") != 0 || op.Count("end_session") != 0 {
			t.Fatalf("revoke %d, end_session %d", op.Count("revoke"), op.Count("end_session"))
		}
	})
}

// TestCrossSiteGetWithoutCSRFTokenDoesNotSignOut: an image tag on another site (a GET
// without the token), a GET with a wrong token or another session's token, and a
// cross-site POST without the token sign nobody out; the confirmation page's form
// (which carries the token) does, and so does a GET link carrying it.
func TestCrossSiteGetWithoutCSRFTokenDoesNotSignOut(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, logoutConfig(op, "", ""), "csrf@file")
		br := newBrowser()
		mustContain(t, "login", br.get(t, srv.URL+"/"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, srv.URL)
		other := newBrowser()
		mustContain(t, "second login", other.get(t, srv.URL+"/"), "X-Forwarded-User: alice@example.com")

		img := []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image", "Referer", "https://evil.example/"}
		resp := br.once(t, srv.URL+logoutPath, img...)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || sessionCleared(resp) {
			t.Fatalf("cross-site GET: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("the confirmation page may be framed: %v", resp.Header)
		}
		mustBeServed(t, "after a cross-site GET", srv.URL, cookie, "alice@example.com")

		// The confirmation page carries the token of this browser's session.
		p := br.get(t, srv.URL+logoutPath)
		m := regexp.MustCompile(`name="csrf" value="([A-Za-z0-9_-]+)"`).FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			t.Fatalf("confirmation page: %d\n%s", p.status, p.body)
		}
		token := m[1]
		otherPage := other.get(t, srv.URL+logoutPath)
		om := regexp.MustCompile(`name="csrf" value="([A-Za-z0-9_-]+)"`).FindStringSubmatch(otherPage.body)
		if om == nil || om[1] == token {
			t.Fatalf("the other session's token: %v", om)
		}
		for name, q := range map[string]string{
			"wrong token":                "?csrf=" + strings.Repeat("A", len(token)),
			"another session's token":    "?csrf=" + om[1],
			"truncated token":            "?csrf=" + token[:len(token)-1],
			"token in another parameter": "?token=" + token,
		} {
			if resp := br.once(t, srv.URL+logoutPath+q, img...); resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d %q", name, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		mustBeServed(t, "after GETs with bad tokens", srv.URL, cookie, "alice@example.com")

		// A cross-site form POST without the token.
		resp2, body := br.post(t, srv.URL+logoutPath, url.Values{}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		if resp2.StatusCode != http.StatusForbidden || sessionCleared(resp2) || !strings.Contains(body, `name="csrf"`) {
			t.Fatalf("cross-site POST: %d", resp2.StatusCode)
		}
		resp2, _ = br.post(t, srv.URL+logoutPath, url.Values{}, "Origin", "https://evil.example")
		if resp2.StatusCode != http.StatusForbidden {
			t.Fatalf("POST with a foreign Origin: %d", resp2.StatusCode)
		}
		mustBeServed(t, "after cross-site POSTs", srv.URL, cookie, "alice@example.com")
		if op.Count("revoke") != 0 || op.Count("end_session") != 0 {
			t.Fatalf("revoke %d, end_session %d before any real sign-out", op.Count("revoke"), op.Count("end_session"))
		}

		// The confirmation form, even submitted from elsewhere, carries the token.
		resp2, _ = br.post(t, srv.URL+logoutPath, url.Values{"csrf": {token}}, "Sec-Fetch-Site", "cross-site")
		if resp2.StatusCode != http.StatusFound || !sessionCleared(resp2) {
			t.Fatalf("POST with the token: %d", resp2.StatusCode)
		}
		if !refusedBrowser(t, op, srv.URL, cookie) {
			t.Fatal("signed out with the token, yet the session is accepted")
		}
		// A GET link carrying the token signs out too (the other browser).
		otherCookie := cookieHeader(t, other, srv.URL)
		mustBeServed(t, "the other session", srv.URL, otherCookie, "alice@example.com")
		if resp := other.once(t, srv.URL+logoutPath+"?csrf="+om[1]); resp.StatusCode != http.StatusFound || !sessionCleared(resp) {
			t.Fatalf("GET with the token: %d", resp.StatusCode)
		}
		if !refusedBrowser(t, op, srv.URL, otherCookie) {
			t.Fatal("the other session survived its logout")
		}
	})
}

// TestBackchannelLogoutOnOneReplicaEndsSessionsOfAnother: logout tokens sent by the
// provider to replica B end sessions created on replica A, by sid and by sub; a
// session that signed in after the token's iat survives a logout by sub.
func TestBackchannelLogoutOnOneReplicaEndsSessionsOfAnother(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		ctx := context.Background()
		op := newOP(t, testop.Options{})
		cfg := logoutConfig(op, rs.URL(), "bc-"+md.name+":")
		a := startGatehouse(t, md, cfg, "bcl@file")
		b := startGatehouse(t, md, cfg, "bcl@file")
		c := startGatehouse(t, md, cfg, "bcl@file")
		replicas := []string{a.URL, b.URL, c.URL}

		// By sid.
		br := newBrowser()
		mustContain(t, "login on A", br.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, a.URL)
		sids := op.SessionIDs("alice")
		if len(sids) != 1 {
			t.Fatalf("provider sessions %v", sids)
		}
		bystander := newBrowser()
		op.SetAutoLogin("bob")
		mustContain(t, "bob on C", bystander.get(t, c.URL+"/"), "X-Forwarded-User: bob@example.com")
		bobCookie := cookieHeader(t, bystander, c.URL)
		for _, r := range replicas {
			mustBeServed(t, "before", r, cookie, "alice@example.com")
		}
		start := time.Now()
		status, err := op.BackchannelLogout(ctx, b.URL+backchannelPath, "", sids[0])
		if err != nil || status != http.StatusOK {
			t.Fatalf("back-channel logout by sid: %d %v", status, err)
		}
		lat := refusedEverywhere(t, op, replicas, cookie, start, propagationDeadline)
		t.Logf("%s: back-channel logout (sid) on B refused by A, B, C after %v, %v, %v", md.name, lat[0], lat[1], lat[2])
		for _, r := range replicas {
			mustBeServed(t, "bob's session after alice's logout", r, bobCookie, "bob@example.com")
		}

		// By sub: two sessions of alice (two browsers, two provider sessions).
		op.SetAutoLogin("alice")
		one, two := newBrowser(), newBrowser()
		mustContain(t, "alice on A", one.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		mustContain(t, "alice on C", two.get(t, c.URL+"/"), "X-Forwarded-User: alice@example.com")
		c1, c2 := cookieHeader(t, one, a.URL), cookieHeader(t, two, c.URL)
		for _, r := range replicas {
			mustBeServed(t, "first", r, c1, "alice@example.com")
			mustBeServed(t, "second", r, c2, "alice@example.com")
		}
		start = time.Now()
		status, err = op.BackchannelLogout(ctx, b.URL+backchannelPath, "alice", "")
		if err != nil || status != http.StatusOK {
			t.Fatalf("back-channel logout by sub: %d %v", status, err)
		}
		lat = refusedEverywhere(t, op, replicas, c1, start, propagationDeadline)
		lat2 := refusedEverywhere(t, op, replicas, c2, start, propagationDeadline)
		t.Logf("%s: back-channel logout (sub) on B refused by A, B, C after %v / %v", md.name, lat, lat2)
		for _, r := range replicas {
			mustBeServed(t, "bob's session after alice's logout by sub", r, bobCookie, "bob@example.com")
		}
		// Signed in after the logout token's iat (a later second): not revoked.
		time.Sleep(1100 * time.Millisecond)
		later := newBrowser()
		mustContain(t, "alice again", later.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		for _, r := range replicas {
			mustBeServed(t, "a session started after the logout", r, cookieHeader(t, later, a.URL), "alice@example.com")
		}
	})
}

// sendLogoutToken POSTs a logout token like a provider and returns the response.
func sendLogoutToken(t testing.TB, endpoint string, body, contentType string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	resp, _ := doRequest(t, req)
	return resp
}

// TestBadLogoutTokensAreRefusedAndRevokeNothing plays the conformance-style broken
// logout tokens against replica B: each is answered 400 with Cache-Control no-store,
// and no revocation is written anywhere (the session created on A keeps working on
// every replica, and Redis holds no revocation but the one a valid token made).
func TestBadLogoutTokensAreRefusedAndRevokeNothing(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		ctx := context.Background()
		op := newOP(t, testop.Options{})
		prefix := "badlt-" + md.name + ":"
		cfg := logoutConfig(op, rs.URL(), prefix)
		group(cfg, "throttle")["failures"] = 1000
		a := startGatehouse(t, md, cfg, "badlt@file")
		b := startGatehouse(t, md, cfg, "badlt@file")
		br := newBrowser()
		mustContain(t, "login on A", br.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, a.URL)
		sid := op.SessionIDs("alice")[0]
		endpoint := b.URL + backchannelPath

		idToken, err := op.IssueIDToken(testop.IDTokenOptions{User: "alice", SessionID: sid})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			o    testop.LogoutTokenOptions
		}{
			{"alg none", testop.LogoutTokenOptions{SessionID: sid, Alg: "none"}},
			{"wrong alg (RS384 under the RS256 key)", testop.LogoutTokenOptions{SessionID: sid, Alg: "RS384"}},
			{"wrong alg (HS256 with the client secret)", testop.LogoutTokenOptions{SessionID: sid, Alg: "HS256"}},
			{"wrong aud", testop.LogoutTokenOptions{SessionID: sid, Audience: "another-client"}},
			{"wrong iss", testop.LogoutTokenOptions{SessionID: sid, Issuer: op.URL() + "/wrong"}},
			{"no events", testop.LogoutTokenOptions{SessionID: sid, OmitEvents: true}},
			{"wrong event", testop.LogoutTokenOptions{SessionID: sid, Events: map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}}},
			{"with nonce", testop.LogoutTokenOptions{SessionID: sid, Nonce: "n-0S6_WzA2Mj"}},
			{"expired", testop.LogoutTokenOptions{SessionID: sid, IssuedAt: time.Now().Add(-10 * time.Minute), Lifetime: 2 * time.Minute}},
			{"issued in the future", testop.LogoutTokenOptions{SessionID: sid, IssuedAt: time.Now().Add(time.Hour)}},
			{"neither sub nor sid", testop.LogoutTokenOptions{}},
			{"no jti", testop.LogoutTokenOptions{SessionID: sid, Claims: map[string]any{"jti": nil}}},
			{"typ at+jwt", testop.LogoutTokenOptions{SessionID: sid, Type: "at+jwt"}},
		}
		bodies := map[string]string{"an ID token": url.Values{"logout_token": {idToken}}.Encode()}
		for _, c := range cases {
			tok, err := op.LogoutToken(c.o)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			bodies[c.name] = url.Values{"logout_token": {tok}}.Encode()
		}
		valid, err := op.LogoutToken(testop.LogoutTokenOptions{SessionID: sid})
		if err != nil {
			t.Fatal(err)
		}
		bodies["two logout_token parameters"] = url.Values{"logout_token": {valid, valid}}.Encode()
		bodies["no logout_token"] = url.Values{"token": {valid}}.Encode()
		bodies["oversized body"] = url.Values{"logout_token": {valid}, "pad": {strings.Repeat("x", 64<<10)}}.Encode()
		bodies["a tampered signature"] = url.Values{"logout_token": {valid[:len(valid)-4] + "AAAA"}}.Encode()
		names := make([]string, 0, len(bodies))
		for n := range bodies {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			resp := sendLogoutToken(t, endpoint, bodies[name], "application/x-www-form-urlencoded")
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: %d Cache-Control %q", name, resp.StatusCode, resp.Header.Get("Cache-Control"))
			}
		}
		if resp := sendLogoutToken(t, endpoint, url.Values{"logout_token": {valid}}.Encode(), "application/json"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a JSON content type: %d", resp.StatusCode)
		}
		req, _ := http.NewRequest("GET", endpoint+"?logout_token="+url.QueryEscape(valid), nil)
		if resp, _ := doRequest(t, req); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET: %d", resp.StatusCode)
		}

		// Replayed jti: a valid token for another provider session is accepted (and
		// revokes that session only); the same jti naming alice's session is refused.
		first, _ := op.LogoutToken(testop.LogoutTokenOptions{SessionID: "some-other-session", JTI: "jti-replay-1"})
		if resp := sendLogoutToken(t, endpoint, url.Values{"logout_token": {first}}.Encode(), "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("first use of the jti: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		replayed, _ := op.LogoutToken(testop.LogoutTokenOptions{SessionID: sid, JTI: "jti-replay-1"})
		// Sent to the other replica: the jti is remembered in Redis, not per process.
		if resp := sendLogoutToken(t, a.URL+backchannelPath, url.Values{"logout_token": {replayed}}.Encode(), "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("replayed jti: %d", resp.StatusCode)
		}

		// A revocation is in Redis before the logout endpoint answers: had a bad
		// token revoked anything, it would be there now.
		want := []string{redisKey(prefix, "revoked", "sid:"+op.URL()+"\x00some-other-session")}
		if got := redisKeys(t, rs, prefix, "revoked"); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("revocations in Redis: %v, want only %v", got, want)
		}
		mustBeServed(t, "after bad tokens, on A", a.URL, cookie, "alice@example.com")
		mustBeServed(t, "after bad tokens, on B", b.URL, cookie, "alice@example.com")
		// The valid token still works after all that (nothing was throttled or used up).
		if status, err := op.BackchannelLogout(ctx, endpoint, "", sid); err != nil || status != 200 {
			t.Fatalf("valid token: %d %v", status, err)
		}
		refusedWithin(t, op, a.URL, cookie, time.Now(), propagationDeadline)
	})
}

// TestFrontchannelLogoutChecksIssAndSid: the provider frames the front-channel URL
// with iss and sid; a mismatching sid or iss signs nobody out; the matching pair
// revokes the session on every replica; the response may be framed and is not
// cached.
func TestFrontchannelLogoutChecksIssAndSid(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := logoutConfig(op, rs.URL(), "fc-"+md.name+":")
		group(cfg, "securityHeaders")["profile"] = "strict"
		a := startGatehouse(t, md, cfg, "fcl@file")
		b := startGatehouse(t, md, cfg, "fcl@file")
		br := newBrowser()
		mustContain(t, "login on A", br.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, a.URL)
		mySID := op.SessionIDs("alice")[0]
		other := newBrowser()
		mustContain(t, "second session", other.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		otherCookie := cookieHeader(t, other, a.URL)
		otherSID := ""
		for _, s := range op.SessionIDs("alice") {
			if s != mySID {
				otherSID = s
			}
		}
		if otherSID == "" {
			t.Fatalf("provider sessions %v", op.SessionIDs("alice"))
		}
		// Mismatching sids: an unknown one, and the other browser's.
		for _, s := range []string{mySID + "-not", otherSID} {
			resp := br.once(t, op.FrontchannelLogoutURL(a.URL+frontchannelPath, s))
			if resp.StatusCode != http.StatusOK || sessionCleared(resp) {
				t.Fatalf("mismatching sid: %d %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
			}
		}
		mustBeServed(t, "after mismatching sids", a.URL, cookie, "alice@example.com")
		mustBeServed(t, "the other session after mismatching sids", a.URL, otherCookie, "alice@example.com")

		wrongIss := a.URL + frontchannelPath + "?iss=" + url.QueryEscape(op.URL()+"/other") + "&sid=" + url.QueryEscape(mySID)
		if resp := br.once(t, wrongIss); resp.StatusCode != http.StatusBadRequest || sessionCleared(resp) {
			t.Fatalf("wrong iss: %d", resp.StatusCode)
		}
		if resp := br.once(t, a.URL+frontchannelPath); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("no iss and sid: %d", resp.StatusCode)
		}
		mustBeServed(t, "after a wrong iss", a.URL, cookie, "alice@example.com")
		mustBeServed(t, "after a wrong iss, on B", b.URL, cookie, "alice@example.com")

		start := time.Now()
		resp := br.once(t, op.FrontchannelLogoutURL(a.URL+frontchannelPath, mySID))
		if resp.StatusCode != http.StatusOK || !sessionCleared(resp) {
			t.Fatalf("matching front-channel logout: %d", resp.StatusCode)
		}
		if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
			t.Errorf("X-Frame-Options %q forbids the provider's frame", xfo)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "frame-ancestors") {
			t.Errorf("Content-Security-Policy %q forbids the provider's frame", csp)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") || !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q", cc)
		}
		lat := refusedEverywhere(t, op, []string{a.URL, b.URL}, cookie, start, propagationDeadline)
		t.Logf("%s: front-channel logout on A refused by A, B after %v", md.name, lat)
	})
}

// TestRedisDownDuringBackchannelLogoutLosesNothing: Redis dies, the provider's logout
// token reaches replica B: B refuses the session at once; once Redis is back the
// other replicas refuse it within 2 s; the revocation and the used jti are in Redis,
// and a replica started afterwards refuses the session too.
func TestRedisDownDuringBackchannelLogoutLosesNothing(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		rs := redistest.Start(t, redistest.Options{})
		ctx := context.Background()
		op := newOP(t, testop.Options{})
		prefix := "outage:"
		cfg := logoutConfig(op, rs.URL(), prefix)
		a := startGatehouse(t, md, cfg, "outage@file")
		b := startGatehouse(t, md, cfg, "outage@file")
		c := startGatehouse(t, md, cfg, "outage@file")
		br := newBrowser()
		mustContain(t, "login on A", br.get(t, a.URL+"/"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, a.URL)
		for _, r := range []string{a.URL, b.URL, c.URL} {
			mustBeServed(t, "before", r, cookie, "alice@example.com")
		}
		sid := op.SessionIDs("alice")[0]

		rs.Kill()
		status, err := op.BackchannelLogout(ctx, b.URL+backchannelPath, "", sid)
		if err != nil || status != http.StatusOK {
			t.Fatalf("back-channel logout while Redis is down: %d %v", status, err)
		}
		if !refusedBrowser(t, op, b.URL, cookie) {
			t.Fatal("the replica that received the logout still accepts the session")
		}
		time.Sleep(300 * time.Millisecond)
		if !refusedBrowser(t, op, b.URL, cookie) {
			t.Fatal("the replica that received the logout accepts the session again")
		}

		rs.Restart()
		start := time.Now()
		lat := refusedEverywhere(t, op, []string{a.URL, c.URL}, cookie, start, propagationDeadline)
		t.Logf("%s: after Redis returned, A and C refused the session after %v, %v", md.name, lat[0], lat[1])
		deadline := time.Now().Add(propagationDeadline)
		for {
			v, err := rs.Do("EXISTS", redisKey(prefix, "revoked", "sid:"+op.URL()+"\x00"+sid))
			if err == nil && v == int64(1) && len(redisKeys(t, rs, prefix, "replay")) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Redis lacks the revocation or the used jti: %v %v, replay keys %v", v, err, redisKeys(t, rs, prefix, "replay"))
			}
			time.Sleep(20 * time.Millisecond)
		}
		d := startGatehouse(t, md, cfg, "outage@file")
		refusedWithin(t, op, d.URL, cookie, time.Now(), propagationDeadline)
	})
}

// TestSessionOfUserWith200Groups: grace has 200 groups. With the cookie store her
// session is chunked into several cookies, each under the browser's limit, and works;
// with the cache store every cookie together stays under 4 KiB, the session works on
// another replica through Redis, and logout deletes it from Redis.
func TestSessionOfUserWith200Groups(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "grace"})
		wantGroups := "X-Forwarded-Groups: group-000,group-001,"
		// Cookie store.
		srv := startGatehouse(t, md, logoutConfig(op, "", ""), "groups-cookie@file")
		br := newBrowser()
		mustContain(t, "cookie store", br.get(t, srv.URL+"/"), "X-Forwarded-User: grace@example.com", wantGroups, "group-199")
		cookies := sessionCookies(br, srv.URL)
		if len(cookies) < 3 {
			t.Fatalf("cookie store: %d cookies, expected a chunked session", len(cookies))
		}
		for _, c := range cookies {
			if len(c.Name)+1+len(c.Value) > 3900 {
				t.Fatalf("cookie %s is %d bytes", c.Name, len(c.Name)+1+len(c.Value))
			}
		}
		mustContain(t, "cookie store, again", br.get(t, srv.URL+"/again"), "backend /again", "group-199")

		// Cache store, two replicas on Redis.
		prefix := "groups-" + md.name + ":"
		cfg := logoutConfig(op, rs.URL(), prefix)
		group(cfg, "session")["store"] = "cache"
		a, ha := startInstance(t, md, cfg, "groups-cache@file")
		b, hb := startInstance(t, md, cfg, "groups-cache@file")
		// Until a store's first connection to Redis it answers from its own memory (New
		// never waits for the network): wait for both, as a load balancer's health check
		// would.
		waitLive(t, md, ha)
		waitLive(t, md, hb)
		br2 := newBrowser()
		mustContain(t, "cache store", br2.get(t, a.URL+"/"), "X-Forwarded-User: grace@example.com", wantGroups, "group-199")
		u, _ := url.Parse(a.URL)
		total := 0
		for _, c := range br2.jar.Cookies(u) {
			total += len(c.Name) + 1 + len(c.Value) + 2
		}
		if n := len(sessionCookies(br2, a.URL)); n != 1 || total >= 4096 {
			t.Fatalf("cache store: %d session cookies, %d bytes of cookies in all", n, total)
		}
		t.Logf("%s: cache store sends %d bytes of cookies; cookie store %d cookies", md.name, total, len(cookies))
		cookie := cookieHeader(t, br2, a.URL)
		resp, body := withCookie(t, b.URL, "/on-b", cookie, false)
		if resp.StatusCode != 200 || !strings.Contains(body, "group-199") {
			t.Fatalf("replica B: %d %.300s", resp.StatusCode, body)
		}
		if keys := redisKeys(t, rs, prefix, "session"); len(keys) != 2 {
			t.Fatalf("session keys in Redis: %v (want the record and its sid index)", keys)
		}
		if resp, _ := br2.post(t, a.URL+logoutPath, url.Values{}); resp.StatusCode != http.StatusFound {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		refusedWithin(t, op, b.URL, cookie, time.Now(), propagationDeadline)
		deadline := time.Now().Add(propagationDeadline)
		for len(redisKeys(t, rs, prefix, "session")) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the signed-out session is still in Redis: %v", redisKeys(t, rs, prefix, "session"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestServerSideSessionRefreshKeepsTheCookieAndRefusesForgeries: with the cache store,
// a refresh rewrites the record under the same cookie; a tampered reference, a
// reference whose record was deleted, and a cookie-store cookie are refused.
func TestServerSideSessionRefreshKeepsTheCookieAndRefusesForgeries(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{Lifetimes: testop.Lifetimes{AccessToken: 2 * time.Second}})
		cfg := logoutConfig(op, "", "")
		group(cfg, "session")["store"] = "cache"
		group(cfg, "session")["refreshGrace"] = "0s"
		srv := startGatehouse(t, md, cfg, "serverside@file")
		br := newBrowser()
		mustContain(t, "login", br.get(t, srv.URL+"/"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, srv.URL)
		if len(cookie) > 200 {
			t.Fatalf("reference cookie of %d bytes: %s", len(cookie), cookie)
		}
		base := op.Count("token:refresh_token") // the sign-in may have refreshed once already
		time.Sleep(2100 * time.Millisecond)
		mustBeServed(t, "after the access token expired", srv.URL, cookie, "alice@example.com")
		if n := op.Count("token:refresh_token") - base; n != 1 {
			t.Fatalf("%d refreshes", n)
		}
		mustBeServed(t, "the same cookie after the refresh", srv.URL, cookie, "alice@example.com")
		if n := op.ActiveRefreshTokens("alice"); n != 1 {
			t.Fatalf("%d active refresh tokens", n)
		}

		i := strings.Index(cookie, "=") + 30
		flip := "A"
		if cookie[i] == 'A' {
			flip = "B"
		}
		if !refusedBrowser(t, op, srv.URL, cookie[:i]+flip+cookie[i+1:]) {
			t.Fatal("a tampered reference was accepted")
		}
		// A cookie of the cookie store (same name and keys, another instance config).
		plain := startGatehouse(t, md, logoutConfig(op, "", ""), "serverside@file")
		pb := newBrowser()
		mustContain(t, "cookie-store login", pb.get(t, plain.URL+"/"), "X-Forwarded-User: alice@example.com")
		if !refusedBrowser(t, op, srv.URL, cookieHeader(t, pb, plain.URL)) {
			t.Fatal("a cookie-store session was accepted by a cache-store instance")
		}
		// Logout deletes the record: the reference leads nowhere.
		if resp, _ := br.post(t, srv.URL+logoutPath, url.Values{}); resp.StatusCode != http.StatusFound {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if !refusedBrowser(t, op, srv.URL, cookie) {
			t.Fatal("the signed-out reference was accepted")
		}
	})
}

// BenchmarkYaegiLogoutPropagation measures, per operation, an RP-initiated logout on
// replica A until replica B refuses the session (B had it cached as valid): the
// propagation figure the README quotes. Sign-in and warming are outside the timer.
func BenchmarkYaegiLogoutPropagation(b *testing.B)    { benchLogoutPropagation(b, modes[0]) }
func BenchmarkCompiledLogoutPropagation(b *testing.B) { benchLogoutPropagation(b, modes[1]) }

func benchLogoutPropagation(b *testing.B, md mode) {
	rs := redistest.Start(b, redistest.Options{})
	op := newOP(b, testop.Options{})
	cfg := logoutConfig(op, rs.URL(), "bench-logout:")
	ra := startGatehouse(b, md, cfg, "bench-logout@file")
	rb := startGatehouse(b, md, cfg, "bench-logout@file")
	var worst time.Duration
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		br := newBrowser()
		if p := br.get(b, ra.URL+"/"); p.status != 200 {
			b.Fatalf("login: %d", p.status)
		}
		cookie := cookieHeader(b, br, ra.URL)
		if !served(b, rb.URL, cookie, "alice@example.com") {
			b.Fatal("B does not serve the session")
		}
		b.StartTimer()
		start := time.Now()
		if resp, _ := br.post(b, ra.URL+logoutPath, url.Values{}); resp.StatusCode != http.StatusFound {
			b.Fatalf("logout: %d", resp.StatusCode)
		}
		d := refusedWithin(b, op, rb.URL, cookie, start, propagationDeadline)
		b.StopTimer()
		if d > worst {
			worst = d
		}
	}
	b.ReportMetric(float64(worst.Microseconds()), "max-µs")
}

// BenchmarkYaegiValidSessionServerSide is BenchmarkYaegiValidSession with
// session.store cache, the two instances sharing the sessions through Redis: the hot
// path is the same (a verdict per Cookie header).
func BenchmarkYaegiValidSessionServerSide(b *testing.B) {
	rs := redistest.Start(b, redistest.Options{})
	benchSession(b, modes[0], func(c map[string]any) {
		group(c, "session")["store"] = "cache"
		group(c, "cache")["redis"] = map[string]any{"url": rs.URL()}
	})
}

// BenchmarkYaegiValidSessionCookieStoreWithRedis is the same with the cookie store,
// for comparison.
func BenchmarkYaegiValidSessionCookieStoreWithRedis(b *testing.B) {
	rs := redistest.Start(b, redistest.Options{})
	benchSession(b, modes[0], func(c map[string]any) {
		group(c, "cache")["redis"] = map[string]any{"url": rs.URL()}
	})
}
