package yaegihost

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// The admin revocation API (docs/OPERATIONS.md, "Admin revocation API"), end to end:
// the operator's access token comes from the test provider's token endpoint
// (client credentials) with real signatures, Gatehouse runs under Yaegi and compiled,
// replicas share a real redis-server.

const (
	adminPath       = "/oauth2/admin"
	adminRevokePath = adminPath + "/revoke"
	adminScope      = "gatehouse:admin"
	adminAudience   = "gatehouse-admin"
	opsClientID     = "ops-console"
	opsClientSecret = "ops-console-secret"
)

// adminOP is a test provider with an operators' client that may ask for the admin
// scope (and another one) for the admin audience.
func adminOP(t testing.TB) *testop.Provider {
	t.Helper()
	op := newOP(t, testop.Options{})
	if err := op.AddClient(testop.Client{ID: opsClientID, Secret: opsClientSecret, GrantTypes: []string{"client_credentials"},
		Scopes: []string{adminScope, "reports.read"}, Audiences: []string{adminAudience}}); err != nil {
		t.Fatal(err)
	}
	return op
}

// adminConfig is a replica's configuration with bearer auth and the admin API on, and
// provider.clockSkew 1s (a revocation by subject covers what is issued up to the skew
// after it).
func adminConfig(op *testop.Provider, redisURL, prefix string) map[string]any {
	cfg := prefixedConfig(op, redisURL, prefix)
	cfg["logLevel"] = "info"
	group(cfg, "provider")["clockSkew"] = "1s"
	b := group(cfg, "bearer")
	b["enabled"] = true
	b["audience"] = testop.DefaultAudience
	a := group(cfg, "admin")
	a["path"] = adminPath
	a["audience"] = adminAudience
	a["requiredScope"] = adminScope
	return cfg
}

// otherMode is the mode md is not. Replicas of one middleware in one process share
// its revocation set (internal/cache/revocations.go), so a revocation written through
// one is known to the others without Redis; an instance built through the
// interpreter and one built compiled share nothing but Redis, like replicas in two
// processes. The scenarios below put the replica that takes the revocation in md
// and the replicas that must learn of it in the other mode.
func otherMode(md mode) mode {
	if md.name == modes[0].name {
		return modes[1]
	}
	return modes[0]
}

// replicaSet starts n replicas of cfg named name, live on Redis, the one at index
// writer in md and the others in otherMode(md).
func replicaSet(t testing.TB, md mode, cfg map[string]any, name string, n, writer int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		m := otherMode(md)
		if i == writer {
			m = md
		}
		srv, h := startInstance(t, m, cfg, name)
		waitLive(t, m, h)
		out = append(out, srv.URL)
	}
	return out
}

func adminToken(t testing.TB, op *testop.Provider) string {
	return machineToken(t, op, opsClientID, opsClientSecret, adminScope)
}

// postAdmin POSTs body (application/json unless the header pairs say otherwise) to
// url with the access token (none when tok is "").
func postAdmin(t testing.TB, url, tok, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return doRequest(t, req)
}

// adminAnswer decodes a JSON answer of the admin API.
func adminAnswer(t testing.TB, resp *http.Response, body string, status int) map[string]any {
	t.Helper()
	var v map[string]any
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("admin API: want %d JSON, got %d %q %s", status, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return v
}

// wantNotFound checks the 404 a path nothing serves gets.
func wantNotFound(t testing.TB, what string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusNotFound || body != "404 page not found\n" || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("%s: want a bare 404, got %d %v %q", what, resp.StatusCode, resp.Header, body)
	}
}

// TestAdminRevocationOfASubjectIsEnforcedOnEveryReplica: an operator revokes alice
// through replica B (built in the subtest's mode; A and C in the other, so that they
// learn of it through Redis alone). Her browser session and her access token, both
// answered from the hot path of replicas A, B and C until then, are refused by all
// three; kate's
// token is not; a login after the revocation (past its not-before time) works. The
// revocation is audited: the operator in clear, the revoked subject as a keyed hash.
func TestAdminRevocationOfASubjectIsEnforcedOnEveryReplica(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := adminOP(t)
		cfg := adminConfig(op, rs.URL(), "admin-sub-"+md.name+":")
		stop := captureStderr(t)
		replicas := replicaSet(t, md, cfg, "admin@file", 3, 1)
		br := newBrowser()
		mustContain(t, "login on A", br.get(t, replicas[0]+"/app"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, replicas[0])
		aliceTok := mintAccess(t, op, map[string]any{"sub": "usr_alice", "iat": time.Now().Unix() - 1})
		kateTok := mintAccess(t, op, map[string]any{"sub": "usr_kate"})
		for _, r := range replicas {
			for i := 0; i < 2; i++ { // the second time from the hot path
				mustBeServed(t, "before the revocation", r, cookie, "alice@example.com")
				resp, body := getAPI(t, r+"/orders", bearer(aliceTok)...)
				wantForwarded(t, "alice's token before the revocation", resp, body, "X-Forwarded-User: usr_alice")
			}
		}

		start := time.Now()
		resp, body := postAdmin(t, replicas[1]+adminRevokePath, adminToken(t, op), `{"sub":"usr_alice"}`)
		v := adminAnswer(t, resp, body, http.StatusOK)
		notBefore, _ := v["notBefore"].(float64)
		if v["revoked"] != "subject" || v["sub"] != "usr_alice" || v["iss"] != op.URL() || v["state"] != "confirmed" ||
			int64(notBefore) < start.Unix() {
			t.Fatalf("answer: %s", body)
		}
		lat := refusedEverywhere(t, op, replicas, cookie, start, 10*time.Second)
		t.Logf("%s: alice's session refused by A, B, C %v, %v, %v after the request to B", md.name, lat[0], lat[1], lat[2])
		for _, r := range replicas {
			resp, body := getAPI(t, r+"/orders", bearer(aliceTok)...)
			wantRefused(t, "alice's token after the revocation", resp, body, http.StatusUnauthorized, "invalid_token")
			resp, body = getAPI(t, r+"/orders", bearer(kateTok)...)
			wantForwarded(t, "kate's token", resp, body, "X-Forwarded-User: usr_kate")
		}

		for time.Now().Unix() <= int64(notBefore) { // the revocation covers its whole second
			time.Sleep(20 * time.Millisecond)
		}
		again := newBrowser()
		mustContain(t, "a login after the revocation", again.get(t, replicas[2]+"/app"), "X-Forwarded-User: alice@example.com")
		mustBeServed(t, "the new session on A", replicas[0], cookieHeader(t, again, replicas[2]), "alice@example.com")

		out := stop()
		f := oneEvent(t, out, "admin.revoke")
		wantFields(t, "admin.revoke", f, map[string]string{"admin": "ops-console", "admin_client": "ops-console", "client": "127.0.0.1",
			"target": "sub", "state": "confirmed", "not_before": strconv.FormatInt(int64(notBefore), 10)})
		if !strings.HasPrefix(f["sub"], "h:") {
			t.Errorf("the revoked subject is not a keyed hash: %v", f)
		}
		if strings.Contains(out, "usr_alice") {
			t.Errorf("the revoked subject is in the log in clear:\n%s", out)
		}
	})
}

// auditEvents returns the fields of every log line of event, in order: the
// key=value pairs of the line (values bare or quoted), and those of its message when
// the message carries the event.
func auditEvents(out, event string) []map[string]string {
	var found []map[string]string
	for _, line := range strings.Split(out, "\n") {
		f := logFields(line)
		if msg := f["msg"]; strings.Contains(msg, "event=") {
			for k, v := range logFields(msg) {
				f[k] = v
			}
		}
		if f["event"] == event {
			found = append(found, f)
		}
	}
	return found
}

// logFields reads the key=value pairs of s; words without "=" are skipped.
func logFields(s string) map[string]string {
	f := map[string]string{}
	for {
		s = strings.TrimLeft(s, " ")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return f
		}
		if sp := strings.IndexByte(s, ' '); sp >= 0 && sp < eq {
			s = s[sp+1:] // a word without "="
			continue
		}
		key := s[:eq]
		s = s[eq+1:]
		if strings.HasPrefix(s, `"`) {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return f
			}
			f[key], _ = strconv.Unquote(q)
			s = s[len(q):]
			continue
		}
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			sp = len(s)
		}
		f[key] = s[:sp]
		s = s[sp:]
	}
}

// oneEvent returns the fields of the one log line of event.
func oneEvent(t testing.TB, out, event string) map[string]string {
	t.Helper()
	found := auditEvents(out, event)
	if len(found) != 1 {
		t.Fatalf("%d log lines of %s:\n%s", len(found), event, out)
	}
	return found[0]
}

// wantFields checks the fields of a log line.
func wantFields(t testing.TB, what string, f map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s: field %s is %q, want %q (line fields %v)", what, k, f[k], v, f)
		}
	}
}

// TestAdminRevocationOfAProviderSessionLeavesTheUsersOtherSessions: with server-side
// sessions, revoking one provider session (sid) through replica A refuses the
// sessions signed in within it on A and B and deletes their record from Redis; the
// same user's session from another provider session is untouched.
func TestAdminRevocationOfAProviderSessionLeavesTheUsersOtherSessions(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := adminOP(t)
		prefix := "admin-sid-" + md.name + ":"
		cfg := adminConfig(op, rs.URL(), prefix)
		group(cfg, "session")["store"] = "cache"
		cfg["logLevel"] = "error"
		replicas := replicaSet(t, md, cfg, "admin-sid@file", 2, 0)
		a := replicas[0]
		first := newBrowser()
		mustContain(t, "first login", first.get(t, a+"/app"), "X-Forwarded-User: alice@example.com")
		sids := op.SessionIDs("alice")
		second := newBrowser()
		mustContain(t, "second login", second.get(t, a+"/app"), "X-Forwarded-User: alice@example.com")
		if len(sids) != 1 || len(op.SessionIDs("alice")) != 2 {
			t.Fatalf("provider sessions %v then %v", sids, op.SessionIDs("alice"))
		}
		c1 := cookieHeader(t, first, a)
		c2 := cookieHeader(t, second, a)
		for _, r := range replicas {
			mustBeServed(t, "first", r, c1, "alice@example.com")
			mustBeServed(t, "second", r, c2, "alice@example.com")
		}
		records := len(redisKeys(t, rs, prefix, "session"))

		resp, body := postAdmin(t, a+adminRevokePath, adminToken(t, op), `{"sid":"`+sids[0]+`"}`)
		v := adminAnswer(t, resp, body, http.StatusOK)
		if v["revoked"] != "provider_session" || v["sid"] != sids[0] || v["state"] != "confirmed" {
			t.Fatalf("answer: %s", body)
		}
		refusedEverywhere(t, op, replicas, c1, time.Now(), 10*time.Second)
		for _, r := range replicas {
			mustBeServed(t, "the other provider session", r, c2, "alice@example.com")
		}
		// The record and its sid index are gone (2 keys of the first session).
		if n := len(redisKeys(t, rs, prefix, "session")); n != records-2 {
			t.Fatalf("%d session keys in Redis, %d before", n, records)
		}
	})
}

// TestAdminAPIRefusesWithoutScopeFromWrongAddressOrWithExpiredToken: behind a trusted
// proxy, with admin.allowedIPs 10.0.0.0/8, the API answers a bare 404 — as any
// unknown path — to a request from another address (even with a good token), without
// a token, with a session cookie instead, with a token lacking the scope, an expired
// one, one for another audience, or an HMAC forgery; and revokes nothing. Each
// refusal is logged with its reason. An authorised caller's malformed requests get
// 400 (405 for GET); a client that keeps failing is throttled, even with a good
// token; and the good request works.
func TestAdminAPIRefusesWithoutScopeFromWrongAddressOrWithExpiredToken(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := adminOP(t)
		cfg := adminConfig(op, "", "")
		cfg["trustedProxies"] = "127.0.0.1/32,::1/128"
		group(cfg, "admin")["allowedIPs"] = "10.0.0.0/8"
		group(cfg, "throttle")["failures"] = 8
		stop := captureStderr(t)
		srv := startGatehouse(t, md, cfg, "admin-refusals@file")
		url := srv.URL + adminRevokePath
		br := newBrowser()
		mustContain(t, "login", br.get(t, srv.URL+"/app"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, srv.URL)
		good := adminToken(t, op)
		inside := []string{"X-Forwarded-For", "10.1.2.3"}
		now := time.Now().Unix()
		noScope := machineToken(t, op, opsClientID, opsClientSecret, "reports.read")
		expired, err := op.IssueAccessToken(testop.AccessTokenOptions{ClientID: opsClientID, Scope: adminScope,
			Claims: map[string]any{"iat": now - 600, "exp": now - 300}})
		if err != nil {
			t.Fatal(err)
		}
		apiAudience, err := op.IssueAccessToken(testop.AccessTokenOptions{ClientID: opsClientID, Scope: adminScope, Audience: []string{testop.DefaultAudience}})
		if err != nil {
			t.Fatal(err)
		}
		claims := map[string]any{"iss": op.URL(), "sub": opsClientID, "aud": adminAudience, "iat": now, "exp": now + 300,
			"scope": adminScope, "client_id": opsClientID}
		forged := op.SignHMAC(nil, claims, []byte(opsClientSecret))
		body := `{"sub":"usr_alice"}`
		for _, c := range []struct {
			what string
			tok  string
			hdr  []string
		}{
			{"a good token from outside admin.allowedIPs", good, []string{"X-Forwarded-For", "192.0.2.7"}},
			{"a good token from the proxy itself", good, nil},
			{"no token", "", inside},
			{"a session cookie instead of a token", "", []string{"X-Forwarded-For", "10.1.2.3", "Cookie", cookie}},
			{"a token without the scope", noScope, inside},
			{"an expired token", expired, inside},
			{"a token for the API's audience", apiAudience, inside},
			{"an HMAC forgery", forged, inside},
		} {
			resp, rb := postAdmin(t, url, c.tok, body, c.hdr...)
			wantNotFound(t, c.what, resp, rb)
		}
		resp, rb := getAPI(t, url, append(bearer(noScope), inside...)...)
		wantNotFound(t, "GET with a token without the scope", resp, rb)
		mustBeServed(t, "after the refused revocations", srv.URL, cookie, "alice@example.com")

		for what, bad := range map[string]string{
			"unknown member":     `{"user":"usr_alice"}`,
			"both members":       `{"sub":"usr_alice","sid":"s1"}`,
			"duplicate in case":  `{"sub":"usr_kate","SUB":"usr_alice"}`,
			"not a string":       `{"sub":1}`,
			"empty":              `{"sub":""}`,
			"control character":  `{"sub":"usr_\u0000alice"}`,
			"trailing data":      `{"sub":"usr_alice"} {"sub":"usr_kate"}`,
			"not an object":      `["usr_alice"]`,
			"larger than 4 KiB":  `{"sub":"` + strings.Repeat("a", 5000) + `"}`,
			"longer than 255":    `{"sub":"` + strings.Repeat("a", 256) + `"}`,
			"nothing":            ``,
			"form-encoded":       `sub=usr_alice`,
			"no JSON at all":     `usr_alice`,
			"null":               `null`,
			"member named null":  `{"null":"usr_alice"}`,
			"a nested object":    `{"sub":{"id":"usr_alice"}}`,
			"unknown next to it": `{"sub":"usr_alice","reason":"x"}`,
		} {
			hdr := inside
			if what == "form-encoded" {
				hdr = append([]string{"Content-Type", "application/x-www-form-urlencoded"}, inside...)
			}
			resp, rb := postAdmin(t, url, good, bad, hdr...)
			if v := adminAnswer(t, resp, rb, http.StatusBadRequest); v["error"] != "invalid_request" {
				t.Fatalf("%s: %s", what, rb)
			}
		}
		resp, rb = getAPI(t, url, append(bearer(good), inside...)...)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("GET with a good token: %d %s", resp.StatusCode, rb)
		}
		mustBeServed(t, "after the malformed revocations", srv.URL, cookie, "alice@example.com")

		// Throttled: 8 failures from 10.9.9.9, then even the good token is refused
		// there (not from 10.1.2.3, which failed 7 times).
		for i := 0; i < 8; i++ {
			resp, rb := postAdmin(t, url, noScope, body, "X-Forwarded-For", "10.9.9.9")
			wantNotFound(t, "junk "+strconv.Itoa(i), resp, rb)
		}
		resp, rb = postAdmin(t, url, good, body, "X-Forwarded-For", "10.9.9.9")
		wantNotFound(t, "a good token from a throttled client", resp, rb)
		mustBeServed(t, "after the throttled request", srv.URL, cookie, "alice@example.com")

		resp, rb = postAdmin(t, url, good, body, inside...)
		if v := adminAnswer(t, resp, rb, http.StatusOK); v["state"] != "local" || v["revoked"] != "subject" {
			t.Fatalf("the good request: %s", rb)
		}
		if !refusedBrowser(t, op, srv.URL, cookie) {
			t.Fatal("the revocation is not enforced")
		}

		out := stop()
		refused := auditEvents(out, "admin.refused")
		if len(refused) != 8+1+17+1+8 {
			t.Errorf("%d refusals logged, want 35 (the throttled request unlogged):\n%s", len(refused), out)
		}
		reasons := map[string]string{}
		for _, f := range refused {
			reasons[f["client"]+" "+f["reason"]] = f["admin"]
		}
		for _, want := range []string{
			"192.0.2.7 address not in admin.allowedIPs",
			"127.0.0.1 address not in admin.allowedIPs",
			"10.1.2.3 no access token",
			`10.1.2.3 insufficient_scope: the access token lacks "gatehouse:admin"`,
			"10.1.2.3 access token rules: oidc: aud does not contain the expected audience",
			"10.1.2.3 expected POST",
			`10.9.9.9 insufficient_scope: the access token lacks "gatehouse:admin"; client throttled for throttle.penalty`,
		} {
			if _, ok := reasons[want]; !ok {
				t.Errorf("no refusal logged as %q; logged: %v", want, reasons)
			}
		}
		var expiredSeen, forgerySeen bool
		for r := range reasons {
			expiredSeen = expiredSeen || strings.HasPrefix(r, "10.1.2.3 access token rules: jose: token expired")
			forgerySeen = forgerySeen || strings.HasPrefix(r, "10.1.2.3 access token: jose: ")
		}
		if !expiredSeen || !forgerySeen {
			t.Errorf("the expired token or the forgery is not logged with its reason: %v", reasons)
		}
		if reasons["10.1.2.3 expected POST"] != "ops-console" {
			t.Errorf("an authorised caller's malformed request is not logged with the caller: %v", reasons)
		}
		wantFields(t, "admin.revoke", oneEvent(t, out, "admin.revoke"), map[string]string{"admin": "ops-console", "client": "10.1.2.3", "state": "local"})
		if strings.Contains(out, good) || strings.Contains(out, noScope) {
			t.Error("a token reached the log")
		}
	})
}

// TestAdminRevocationWhileRedisIsDownIsQueuedAndReachesEveryReplicaWhenItReturns:
// Redis dies; an operator's revocation through A is answered 202 "queued" (never
// "confirmed"), and A refuses alice at once; when Redis returns, B and C refuse her
// too, and the revocation is in Redis.
func TestAdminRevocationWhileRedisIsDownIsQueuedAndReachesEveryReplicaWhenItReturns(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		rs := redistest.Start(t, redistest.Options{})
		op := adminOP(t)
		prefix := "admin-outage:"
		cfg := adminConfig(op, rs.URL(), prefix)
		cfg["logLevel"] = "error"
		replicas := replicaSet(t, md, cfg, "admin-outage@file", 3, 0)
		br := newBrowser()
		mustContain(t, "login", br.get(t, replicas[0]+"/app"), "X-Forwarded-User: alice@example.com")
		cookie := cookieHeader(t, br, replicas[0])
		for _, r := range replicas {
			mustBeServed(t, "before", r, cookie, "alice@example.com")
		}
		tok := adminToken(t, op)
		// The admin token's signature is checked once with Redis up (the key set is
		// then known to A).
		resp, body := postAdmin(t, replicas[0]+adminRevokePath, tok, `{"sub":"usr_nobody"}`)
		adminAnswer(t, resp, body, http.StatusOK)

		rs.Kill()
		resp, body = postAdmin(t, replicas[0]+adminRevokePath, tok, `{"sub":"usr_alice"}`)
		if v := adminAnswer(t, resp, body, http.StatusAccepted); v["state"] != "queued" {
			t.Fatalf("answer while Redis is down: %s", body)
		}
		if !refusedBrowser(t, op, replicas[0], cookie) {
			t.Fatal("the replica that took the revocation does not enforce it")
		}
		rs.Restart()
		start := time.Now()
		lat := refusedEverywhere(t, op, replicas[1:], cookie, start, 10*time.Second)
		t.Logf("%s: after Redis returned, B and C refused alice after %v, %v", md.name, lat[0], lat[1])
		deadline := time.Now().Add(10 * time.Second)
		for {
			v, err := rs.Do("EXISTS", redisKey(prefix, "revoked", "sub:"+op.URL()+"\x00usr_alice"))
			if err == nil && v == int64(1) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Redis lacks the revocation: %v %v", v, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// csrfField returns the csrf value of a confirmation page's form.
func csrfField(t testing.TB, body string) string {
	t.Helper()
	const marker = `name="csrf" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no csrf field in:\n%s", body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestSignOutOtherDevicesKeepsTheCurrentSessionOnEveryReplica: alice is signed in
// on two devices. A cross-site POST and a GET sign nobody out; the confirmation
// page's form does: device 2 is refused on replicas A and B, device 1 keeps working
// with the cookie it was re-issued — and a copy of its previous cookie is refused
// too. A device signing in afterwards is not affected. With either session store.
func TestSignOutOtherDevicesKeepsTheCurrentSessionOnEveryReplica(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		for _, store := range []string{"cookie", "cache"} {
			op := adminOP(t)
			prefix := "others-" + md.name + "-" + store + ":"
			cfg := adminConfig(op, rs.URL(), prefix)
			group(cfg, "session")["store"] = store
			stop := captureStderr(t)
			replicas := replicaSet(t, md, cfg, "others@file", 2, 0)
			a, b := replicas[0], replicas[1]
			dev1 := newBrowser()
			mustContain(t, "device 1", dev1.get(t, a+"/app"), "X-Forwarded-User: alice@example.com")
			dev2 := newBrowser()
			mustContain(t, "device 2", dev2.get(t, b+"/app"), "X-Forwarded-User: alice@example.com")
			old1 := cookieHeader(t, dev1, a)
			c2 := cookieHeader(t, dev2, b)
			for _, r := range replicas {
				mustBeServed(t, "device 1", r, old1, "alice@example.com")
				mustBeServed(t, "device 2", r, c2, "alice@example.com")
			}
			othersURL := a + "/oauth2/logout/others"
			page := dev1.get(t, othersURL)
			if page.status != http.StatusOK || page.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(page.body, `>Sign out other devices</button>`) {
				t.Fatalf("%s: confirmation page: %d %v\n%s", store, page.status, page.header, page.body)
			}
			token := csrfField(t, page.body)
			resp, _ := dev1.post(t, othersURL, nil, "Sec-Fetch-Site", "cross-site")
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("%s: cross-site POST without the token: %d", store, resp.StatusCode)
			}
			resp, _ = dev1.post(t, othersURL, map[string][]string{"csrf": {token + "x"}}, "Sec-Fetch-Site", "cross-site")
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("%s: cross-site POST with a wrong token: %d", store, resp.StatusCode)
			}
			for _, r := range replicas {
				mustBeServed(t, "device 2 after the refused requests", r, c2, "alice@example.com")
			}

			start := time.Now()
			resp, body := dev1.post(t, othersURL, map[string][]string{"csrf": {token}}, "Sec-Fetch-Site", "cross-site")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your other devices are signed out.") {
				t.Fatalf("%s: sign out other devices: %d %s", store, resp.StatusCode, body)
			}
			done := time.Now()
			new1 := cookieHeader(t, dev1, a)
			if new1 == old1 {
				t.Fatalf("%s: the current session was not re-issued", store)
			}
			refusedEverywhere(t, op, replicas, c2, start, 10*time.Second)
			refusedEverywhere(t, op, replicas, old1, start, 10*time.Second)
			for _, r := range replicas {
				mustBeServed(t, "device 1's re-issued session", r, new1, "alice@example.com")
			}
			mustContain(t, "device 1 browsing on", dev1.get(t, b+"/more"), "X-Forwarded-User: alice@example.com")

			for time.Now().Unix() <= done.Unix()+1 { // past the revocation's time and clockSkew
				time.Sleep(20 * time.Millisecond)
			}
			// On A, which wrote the revocation (and holds it whatever Redis does).
			dev3 := newBrowser()
			mustContain(t, "device 3, later", dev3.get(t, a+"/app"), "X-Forwarded-User: alice@example.com")
			mustBeServed(t, store+": device 3 again", a, cookieHeader(t, dev3, a), "alice@example.com")
			mustBeServed(t, "device 1, still", a, new1, "alice@example.com")

			// Not signed in: nothing to do.
			req, _ := http.NewRequest("POST", othersURL, nil)
			req.Header.Set("Accept", "application/json")
			resp, body = doRequest(t, req)
			if v := adminAnswer(t, resp, body, http.StatusUnauthorized); v["error"] != "not_signed_in" {
				t.Fatalf("%s: without a session: %s", store, body)
			}
			f := oneEvent(t, stop(), "session.revoke_others")
			wantFields(t, store, f, map[string]string{"state": "confirmed", "client": "127.0.0.1"})
			if !strings.HasPrefix(f["user"], "h:") {
				t.Errorf("%s: the user is not a keyed hash: %v", store, f)
			}
		}
	})
}

// BenchmarkYaegiAdminRevocationPropagation measures how long an operator's
// revocation of a subject takes to be enforced on every replica: three instances
// sharing a redis-server, a subject's access token answered from the hot path of
// replicas B and C, POST .../revoke {"sub"} to A, then B and C polled until both
// refuse the token. One operation is 100 revocations (100 subjects); the figures are
// their p50, p99 and maximum from sending the request to the last replica refusing,
// and the p99 from the answer (the write confirmed by Redis) to the last replica
// refusing.
func BenchmarkYaegiAdminRevocationPropagation(b *testing.B) {
	benchAdminRevocation(b, modes[0])
}

// BenchmarkCompiledAdminRevocationPropagation is the same, compiled.
func BenchmarkCompiledAdminRevocationPropagation(b *testing.B) {
	benchAdminRevocation(b, modes[1])
}

func benchAdminRevocation(b *testing.B, md mode) {
	rs := redistest.Start(b, redistest.Options{})
	op := adminOP(b)
	cfg := adminConfig(op, rs.URL(), "bench-admin-"+md.name+":")
	cfg["logLevel"] = "error"
	// The polls' refusals must not trip the throttle: warming the next round's
	// tokens would get 429.
	group(cfg, "throttle")["enabled"] = false
	var replicas []*httptest.Server
	for i := 0; i < 3; i++ {
		srv, h := startInstance(b, md, cfg, "bench-admin@file")
		waitLive(b, md, h)
		replicas = append(replicas, srv)
	}
	tok := adminToken(b, op)
	const n = 100
	// total: from sending the request to the last replica refusing; after: from the
	// answer (the write confirmed) to the last replica refusing.
	var total, after []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		subs := make([]string, n)
		toks := make([]string, n)
		for j := range subs {
			subs[j] = "usr_bench_" + strconv.Itoa(i) + "_" + strconv.Itoa(j)
			toks[j] = mintAccess(b, op, map[string]any{"sub": subs[j], "iat": time.Now().Unix() - 1})
			for _, r := range replicas[1:] {
				for k := 0; k < 2; k++ {
					if resp, body := getAPI(b, r.URL+"/orders", bearer(toks[j])...); resp.StatusCode != http.StatusOK {
						b.Fatalf("before: %d %s", resp.StatusCode, body)
					}
				}
			}
		}
		b.StartTimer()
		for j := range subs {
			start := time.Now()
			resp, body := postAdmin(b, replicas[0].URL+adminRevokePath, tok, `{"sub":"`+subs[j]+`"}`)
			answered := time.Now()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
			var wg sync.WaitGroup
			for _, r := range replicas[1:] {
				url := r.URL + "/orders"
				revoked := toks[j]
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Since(start) < 10*time.Second {
						if resp, _ := getAPI(b, url, bearer(revoked)...); resp.StatusCode == http.StatusUnauthorized {
							return
						}
					}
				}()
			}
			wg.Wait()
			end := time.Now()
			if end.Sub(start) >= 10*time.Second {
				b.Fatalf("revocation %d not enforced everywhere after 10 s", j)
			}
			total = append(total, end.Sub(start))
			after = append(after, end.Sub(answered))
		}
	}
	b.StopTimer()
	// Nearest rank: the p-th percentile of n values is the ceil(p*n/100)-th smallest.
	rank := func(all []time.Duration, p int) float64 {
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		return float64(all[(p*len(all)+99)/100-1].Microseconds())
	}
	b.ReportMetric(rank(total, 50), "p50-µs")
	b.ReportMetric(rank(total, 99), "p99-µs")
	b.ReportMetric(rank(total, 100), "max-µs")
	b.ReportMetric(rank(after, 99), "p99-after-answer-µs")
	b.ReportMetric(float64(len(total)), "revocations")
}
