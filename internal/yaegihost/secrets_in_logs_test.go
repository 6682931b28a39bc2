package yaegihost

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// docs/SECURITY.md, Forwarding: raw tokens, cookie values and secrets never reach logs or
// Redis keys. The test below drives every session path that handles a secret, with
// logLevel debug, a real Redis and both session stores, then looks for each secret
// the browser, the provider and the configuration ever held in the captured log and
// in every key on the Redis server.

// tokenTap sits between Gatehouse and the test provider's token endpoint: Gatehouse is
// configured with a discovery URL served here, whose document is the provider's with
// token_endpoint pointing at the tap. The tap forwards every token request to the
// provider unchanged and records the request (code, code_verifier, refresh_token) and
// the answer (access, refresh and ID tokens), so the test knows every token the
// provider issued to Gatehouse.
type tokenTap struct {
	srv *httptest.Server

	mu        sync.Mutex
	requests  []url.Values
	responses []map[string]any
}

func startTokenTap(t testing.TB, op *testop.Provider) *tokenTap {
	t.Helper()
	tap := &tokenTap{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		resp, err := op.HTTPClient().Get(op.Endpoints().Discovery)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		var doc map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		doc["token_endpoint"] = tap.srv.URL + "/token"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		req, _ := http.NewRequest(http.MethodPost, op.Endpoints().Token, bytes.NewReader(body))
		for _, h := range []string{"Content-Type", "Authorization", "Accept"} {
			if v := r.Header.Get(h); v != "" {
				req.Header.Set(h, v)
			}
		}
		resp, err := op.HTTPClient().Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		answer, _ := io.ReadAll(resp.Body)
		var tokens map[string]any
		_ = json.Unmarshal(answer, &tokens)
		tap.mu.Lock()
		tap.requests = append(tap.requests, form)
		tap.responses = append(tap.responses, tokens)
		tap.mu.Unlock()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	})
	tap.srv = httptest.NewServer(mux)
	t.Cleanup(tap.srv.Close)
	return tap
}

// cookieRecorder wraps a Gatehouse handler and records every Gatehouse cookie value
// sent to it or set by it (session cookies and their chunks, login-transaction
// cookies) and the code and state of every callback it received.
type cookieRecorder struct {
	mu        sync.Mutex
	cookies   map[string]string // value -> cookie name
	callbacks []url.Values
}

func (cr *cookieRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr.mu.Lock()
		for _, c := range r.Cookies() {
			cr.addLocked(c)
		}
		if r.URL.Path == "/oauth2/callback" {
			cr.callbacks = append(cr.callbacks, r.URL.Query())
		}
		cr.mu.Unlock()
		h.ServeHTTP(w, r)
		set := (&http.Response{Header: w.Header()}).Cookies()
		cr.mu.Lock()
		for _, c := range set {
			cr.addLocked(c)
		}
		cr.mu.Unlock()
	})
}

func (cr *cookieRecorder) addLocked(c *http.Cookie) {
	if strings.HasPrefix(c.Name, "_gatehouse") && c.Value != "" {
		cr.cookies[c.Value] = c.Name
	}
}

// secretSet maps a secret value (or a distinctive fragment of one) to a description.
type secretSet map[string]string

// add records v under what, and the fragments a partial leak would show: the last 24
// characters of a long value, the signature of a JWT, and every long '.'-separated
// part of a cookie (sealed values, chunk contents). JWT headers are left out: they
// name the algorithm and key, nothing secret, and repeat across tokens.
func (s secretSet) add(what, v string) {
	if len(v) < 8 {
		return
	}
	if _, ok := s[v]; !ok {
		s[v] = what
	}
	if len(v) >= 40 {
		if _, ok := s[v[len(v)-24:]]; !ok {
			s[v[len(v)-24:]] = what + " (last 24 characters)"
		}
	}
	parts := strings.Split(v, ".")
	for i, p := range parts {
		if len(parts) > 1 && len(p) >= 20 && !(i == 0 && strings.HasPrefix(p, "eyJ")) {
			if _, ok := s[p]; !ok {
				s[p] = what + " (part " + strconv.Itoa(i) + ")"
			}
		}
	}
}

func (s secretSet) addForm(what string, f url.Values, names ...string) {
	for _, n := range names {
		for _, v := range f[n] {
			s.add(what+" "+n, v)
		}
	}
}

// leaks returns, sorted, the descriptions of the secrets found in text (a fragment
// only when the whole value it belongs to was not found).
func (s secretSet) leaks(text string) []string {
	var found []string
	for v := range s {
		if strings.Contains(text, v) {
			found = append(found, v)
		}
	}
	var out []string
	for _, v := range found {
		whole := false
		for _, w := range found {
			if w != v && strings.Contains(w, v) {
				whole = true
			}
		}
		if whole {
			continue
		}
		what := s[v]
		if i := strings.Index(text, v); i >= 0 {
			lo, hi := i-120, i+len(v)+40
			if lo < 0 {
				lo = 0
			}
			if hi > len(text) {
				hi = len(text)
			}
			out = append(out, what+" in: "+strconv.Quote(text[lo:hi]))
		}
	}
	sort.Strings(out)
	return out
}

// scanKeys returns every key on the server (SCAN, not KEYS: the whole keyspace, in
// pages, as an operator's tooling would list it).
func scanKeys(t testing.TB, rs *redistest.Server) []string {
	t.Helper()
	var keys []string
	cursor := "0"
	for {
		v, err := rs.Do("SCAN", cursor, "COUNT", "500")
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := v.([]any)
		if len(reply) != 2 {
			t.Fatalf("SCAN reply %#v", v)
		}
		cursor, _ = reply[0].(string)
		page, _ := reply[1].([]any)
		for _, k := range page {
			s, _ := k.(string)
			keys = append(keys, s)
		}
		if cursor == "0" {
			break
		}
	}
	sort.Strings(keys)
	return keys
}

const (
	silClientSecret = "gatehouse-client-secret"
	silSessionKey   = "0123456789abcdef0123456789abcdef-session-key"
	silOldKey       = "an-older-session-key-still-opening-cookies-0001"
	silRedisPass    = "redis-pass-Xq7vT2mK9wLp4sZr"
)

// TestNoSecretReachesTheLogOrRedisKeys: at debug level, with a real Redis (hybrid
// cache, password-protected) and session.store cookie and cache, users sign in (one
// with a chunked session), make requests, refresh their tokens, have a refresh
// refused, send a tampered cookie, a callback with a bad state, garbage and replayed
// callbacks, sign out (RP-initiated, back-channel, a bad and a replayed logout
// token). Then neither the log (stderr, and under Yaegi the interpreter's output) nor
// any key on the Redis server contains a cookie value the browsers sent or received,
// an authorization code, a state, a PKCE verifier, an access, refresh, ID or logout
// token the provider issued, the client secret, a session key or the Redis password;
// every Redis key is prefix + keyspace + ":" + 64 hex digits; and no Redis string
// value holds any of them in the clear either.
func TestNoSecretReachesTheLogOrRedisKeys(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		rs := redistest.Start(t, redistest.Options{Password: silRedisPass})
		op := newOP(t, testop.Options{Lifetimes: testop.Lifetimes{AccessToken: 2 * time.Second}})
		tap := startTokenTap(t, op)
		rec := &cookieRecorder{cookies: map[string]string{}}
		var yaegiBefore int
		if md.name == "yaegi" {
			yaegiBefore = len(host(t).Output())
		}
		stop := captureStderr(t)
		var once sync.Once
		var logged string
		finish := func() string {
			once.Do(func() { logged = stop() })
			return logged
		}
		t.Cleanup(func() { finish() })

		prefixes := map[string]string{}
		for _, store := range []string{"cookie", "cache"} {
			prefix := "sil-" + store + ":"
			prefixes[store] = prefix
			var cfg map[string]any
			if store == "cookie" {
				cfg = logoutConfig(op, rs.URL(), prefix) // the password inside the URL
			} else {
				cfg = logoutConfig(op, "redis://"+rs.Addr(), prefix)
				group(cfg, "cache")["redis"].(map[string]any)["password"] = silRedisPass
			}
			cfg["logLevel"] = "debug"
			if store == "cache" {
				// Both log formats: the JSON encoder must not let through what the
				// text format scrubs.
				cfg["log"] = map[string]any{"format": "json"}
			}
			group(cfg, "provider")["discoveryURL"] = tap.srv.URL + "/.well-known/openid-configuration"
			group(cfg, "session")["keys"] = []any{silSessionKey, silOldKey}
			group(cfg, "session")["store"] = store
			group(cfg, "session")["refreshGrace"] = "0s"
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			h := md.build(t, ctx, echoBackend(), cfg, "secrets-"+store+"@file")
			srv := httptest.NewServer(rec.wrap(h))
			t.Cleanup(srv.Close)
			waitLive(t, md, h)
			secretsScenario(t, op, srv.URL, store)
		}
		time.Sleep(300 * time.Millisecond) // write-behind and background lines
		out := finish()
		if md.name == "yaegi" {
			out += host(t).Output()[yaegiBefore:]
		}
		for _, want := range []string{"level=debug", `middleware="secrets-cookie@file"`, `"level":"debug"`, `"middleware":"secrets-cache@file"`} {
			if !strings.Contains(out, want) {
				t.Fatalf("the captured log lacks %q (was it captured?):\n%s", want, out)
			}
		}
		// JSON escapes some characters (\u0026, \"): look in the decoded lines too.
		out += "\n" + decodedJSONLines(t, out)

		// Every secret there was.
		s := secretSet{}
		s.add("the client secret", silClientSecret)
		s.add("session key 1", silSessionKey)
		s.add("session key 2", silOldKey)
		s.add("the Redis password", silRedisPass)
		rec.mu.Lock()
		for v, name := range rec.cookies {
			s.add("cookie "+name+" value", v)
		}
		for _, q := range rec.callbacks {
			s.addForm("callback", q, "code", "state")
		}
		nCookies := len(rec.cookies)
		rec.mu.Unlock()
		tap.mu.Lock()
		nIssued := 0
		for _, f := range tap.requests {
			s.addForm("token request", f, "code", "code_verifier", "refresh_token", "client_secret")
		}
		for _, tr := range tap.responses {
			for _, k := range []string{"access_token", "refresh_token", "id_token"} {
				if v, _ := tr[k].(string); v != "" {
					s.add("issued "+k, v)
					nIssued++
				}
			}
		}
		tap.mu.Unlock()
		for _, rr := range op.Requests(testop.EPToken) {
			s.addForm("token request (provider)", rr.Form, "code", "code_verifier", "refresh_token", "client_secret")
			if _, pass, ok := (&http.Request{Header: rr.Header}).BasicAuth(); ok {
				s.add("client secret (Basic)", pass)
			}
		}
		for _, rr := range op.Requests(testop.EPRevoke) {
			s.addForm("revoked", rr.Form, "token")
		}
		for _, rr := range op.Requests(testop.EPEndSession) {
			s.addForm("end-session", rr.Form, "id_token_hint", "state")
		}
		for _, rr := range op.Requests(testop.EPBackchannel) {
			s.addForm("back-channel", rr.Form, "logout_token")
		}
		// The scenario really produced what is looked for.
		if nCookies < 10 || nIssued < 15 || op.Count("token:refresh_token") < 2 || op.Count(testop.EPRevoke) < 2 {
			t.Fatalf("too little happened: %d cookie values, %d tokens issued, %d refreshes, %d revocations",
				nCookies, nIssued, op.Count("token:refresh_token"), op.Count(testop.EPRevoke))
		}
		t.Logf("%s: %d log bytes, %d secret values and fragments (%d cookie values, %d issued tokens)", md.name, len(out), len(s), nCookies, nIssued)

		if leaks := s.leaks(out); len(leaks) > 0 {
			t.Errorf("%d secrets reached the log:\n%s", len(leaks), strings.Join(leaks, "\n"))
		}

		keys := scanKeys(t, rs)
		if len(keys) == 0 {
			t.Fatal("no key on the Redis server: the scenario did not use it")
		}
		shape := regexp.MustCompile(`^(` + regexp.QuoteMeta(prefixes["cookie"]) + `|` + regexp.QuoteMeta(prefixes["cache"]) + `)[a-z][a-z0-9_:-]*:[0-9a-f]{64}$`)
		for _, k := range keys {
			if !shape.MatchString(k) {
				t.Errorf("Redis key %q is not prefix + keyspace + \":\" + SHA-256 hex", k)
			}
		}
		if leaks := s.leaks(strings.Join(keys, "\n")); len(leaks) > 0 {
			t.Errorf("secrets in Redis keys:\n%s", strings.Join(leaks, "\n"))
		}
		t.Logf("%s: %d Redis keys checked", md.name, len(keys))
		// Values are sealed before they reach the cache (internal/cache): no secret
		// shows there in the clear either.
		for _, k := range keys {
			v, err := rs.Do("GET", k)
			if err != nil {
				continue // not a string value
			}
			vs, _ := v.(string)
			if leaks := s.leaks(vs); len(leaks) > 0 {
				t.Errorf("secrets in the value of Redis key %s:\n%s", k, strings.Join(leaks, "\n"))
			}
		}
	})
}

// secretsScenario runs every path that handles a secret against one instance.
func secretsScenario(t *testing.T, op *testop.Provider, base, store string) {
	t.Helper()
	ctx := context.Background()
	const alice, bob, grace = "X-Forwarded-User: alice@example.com", "X-Forwarded-User: bob@example.com", "X-Forwarded-User: grace@example.com"

	// Sign-ins: alice, bob (whose refresh will be refused) and grace (200 groups: a
	// chunked cookie with the cookie store, a large record with the cache store).
	op.SetAutoLogin("alice")
	a := newBrowser()
	mustContain(t, store+": alice signs in", a.get(t, base+"/app?x=1"), alice)
	mustContain(t, store+": alice again", a.get(t, base+"/second"), alice)
	op.SetAutoLogin("bob")
	b := newBrowser()
	mustContain(t, store+": bob signs in", b.get(t, base+"/"), bob)
	op.SetAutoLogin("grace")
	g := newBrowser()
	mustContain(t, store+": grace signs in", g.get(t, base+"/"), grace, "group-199")
	if store == "cookie" && len(sessionCookies(g, base)) < 2 {
		t.Fatalf("grace's session is not chunked: %v", sessionCookies(g, base))
	}
	op.SetAutoLogin("alice")

	// A refresh that succeeds (alice, grace) and one the provider refuses (bob).
	op.RevokeUserTokens("bob")
	time.Sleep(2100 * time.Millisecond)
	mustContain(t, store+": alice after expiry", a.get(t, base+"/after", "Accept", "application/json"), alice)
	mustContain(t, store+": grace after expiry", g.get(t, base+"/after", "Accept", "application/json"), grace)
	if p := b.get(t, base+"/after", "Accept", "application/json"); p.status != http.StatusUnauthorized {
		t.Fatalf("%s: bob after a refused refresh: %d %s", store, p.status, p.body)
	}

	// A tampered session cookie, as a browser and as an API client.
	cookie := cookieHeader(t, a, base)
	i := strings.Index(cookie, "=") + 25
	flip := "A"
	if cookie[i] == 'A' {
		flip = "B"
	}
	tampered := cookie[:i] + flip + cookie[i+1:]
	if resp, _ := withCookie(t, base, "/t", tampered, false); resp.StatusCode != http.StatusFound {
		t.Fatalf("%s: tampered cookie: %d", store, resp.StatusCode)
	}
	if resp, _ := withCookie(t, base, "/t", tampered, true); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%s: tampered cookie (API): %d", store, resp.StatusCode)
	}
	// Garbage in the session and login cookies.
	withCookie(t, base, "/t", "_gatehouse=not-a-sealed-value-0123456789abcdef; _gatehouse_1=chunk-garbage-0123456789", false)

	// Callbacks: a bad state, a garbage one, then the real one, then its replay.
	c := newBrowser()
	r1 := c.once(t, base+"/cb-test")
	if r1.StatusCode != http.StatusFound {
		t.Fatalf("%s: login start: %d", store, r1.StatusCode)
	}
	r2 := c.once(t, r1.Header.Get("Location"))
	cb, err := url.Parse(r2.Header.Get("Location"))
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("%s: provider answer %d %q", store, r2.StatusCode, r2.Header.Get("Location"))
	}
	bad := *cb
	q := bad.Query()
	q.Set("state", q.Get("state")[:len(q.Get("state"))-4]+"AAAA")
	bad.RawQuery = q.Encode()
	if resp := c.once(t, bad.String()); resp.StatusCode < 400 && resp.StatusCode != http.StatusFound {
		t.Fatalf("%s: callback with a bad state: %d", store, resp.StatusCode)
	}
	newBrowser().once(t, base+"/oauth2/callback?code=garbage-code-0123456789abcdef&state=garbage-state-0123456789abcdef")
	// The bad state spent the transaction: the real callback is refused too.
	c.once(t, cb.String())
	// A login that completes, then its callback replayed.
	mustContain(t, store+": login after the bad callbacks", c.get(t, base+"/cb-test"), "backend /cb-test", alice)
	var done string
	for _, hop := range c.hops {
		if strings.Contains(hop, "/oauth2/callback?") {
			done = hop
		}
	}
	if done == "" {
		t.Fatalf("%s: no callback among %v", store, c.hops)
	}
	c.once(t, done)
	newBrowser().once(t, done)

	// RP-initiated logout, through the provider's end-session endpoint.
	resp, _ := a.post(t, base+logoutPath, url.Values{})
	if resp.StatusCode != http.StatusFound || !sessionCleared(resp) {
		t.Fatalf("%s: logout: %d", store, resp.StatusCode)
	}
	mustContain(t, store+": after logout", a.get(t, resp.Header.Get("Location")), "backend /signed-out")
	if !refusedBrowser(t, op, base, cookie) {
		t.Fatalf("%s: the signed-out session is still accepted", store)
	}
	// grace signs out too (chunked session, revocation of her refresh token).
	if resp, _ := g.post(t, base+logoutPath, url.Values{}); resp.StatusCode != http.StatusFound {
		t.Fatalf("%s: grace's logout: %d", store, resp.StatusCode)
	}

	// Back-channel logout of a new session, by sid; a bad and a replayed logout token.
	before := map[string]bool{}
	for _, sid := range op.SessionIDs("alice") {
		before[sid] = true
	}
	d := newBrowser()
	mustContain(t, store+": alice in another browser", d.get(t, base+"/"), alice)
	sid := ""
	for _, s := range op.SessionIDs("alice") {
		if !before[s] {
			sid = s
		}
	}
	if sid == "" {
		t.Fatalf("%s: no new provider session", store)
	}
	dCookie := cookieHeader(t, d, base)
	if status, err := op.BackchannelLogout(ctx, base+backchannelPath, "", sid); err != nil || status != http.StatusOK {
		t.Fatalf("%s: back-channel logout: %d %v", store, status, err)
	}
	refusedWithin(t, op, base, dCookie, time.Now(), propagationDeadline)
	sent := op.Requests(testop.EPBackchannel)
	lt := sent[len(sent)-1].Form.Get("logout_token")
	if r := sendLogoutToken(t, base+backchannelPath, url.Values{"logout_token": {lt}}.Encode(), "application/x-www-form-urlencoded"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("%s: replayed logout token: %d", store, r.StatusCode)
	}
	if r := sendLogoutToken(t, base+backchannelPath, "logout_token=not-a-jwt-0123456789abcdef", "application/x-www-form-urlencoded"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("%s: garbage logout token: %d", store, r.StatusCode)
	}
}

// decodedJSONLines returns the string values of every JSON log line in out (one per
// line, at any depth), decoded, so that a secret JSON escapes is still found.
func decodedJSONLines(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteString("\n")
		case map[string]any:
			for k, e := range x {
				b.WriteString(k + "\n")
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("a JSON log line does not parse: %v\n%s", err, line)
		}
		walk(v)
		n++
	}
	if n == 0 {
		t.Fatal("no JSON log line")
	}
	return b.String()
}
