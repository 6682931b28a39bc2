package yaegihost

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Server-side sessions (session.store cache) leave Redis when the provider signs the
// user out: by sid through back-channel logout (the sid index names the record), and
// through front-channel logout (the browser's own record). Sessions of other
// provider sessions stay.

// serverSideSession is one signed-in browser of the cache store and where its state
// lives in Redis.
type serverSideSession struct {
	br     *browser
	cookie string
	email  string // the identity the backend sees
	sid    string // the provider session
	index  string // Redis key of the sid index
	record string // Redis key of the sealed record
}

// signInServerSide signs a new browser in on base as the provider's auto-login user
// and finds its record in Redis through the sid index.
func signInServerSide(t *testing.T, op *testop.Provider, rs *redistest.Server, prefix, base, user, email string) *serverSideSession {
	t.Helper()
	before := map[string]bool{}
	for _, s := range op.SessionIDs(user) {
		before[s] = true
	}
	br := newBrowser()
	mustContain(t, "login of "+user, br.get(t, base+"/"), "X-Forwarded-User: "+email)
	s := &serverSideSession{br: br, cookie: cookieHeader(t, br, base), email: email}
	for _, id := range op.SessionIDs(user) {
		if !before[id] {
			s.sid = id
		}
	}
	if s.sid == "" {
		t.Fatalf("no new provider session of %s: %v", user, op.SessionIDs(user))
	}
	s.index = redisKey(prefix, "session", "sid\x00"+op.URL()+"\x00"+s.sid)
	v, err := rs.Do("GET", s.index)
	id, _ := v.(string)
	if err != nil || id == "" {
		t.Fatalf("no sid index %s in Redis: %v %v (session keys %v)", s.index, v, err, redisKeys(t, rs, prefix, "session"))
	}
	s.record = redisKey(prefix, "session", id)
	if n, err := rs.Do("EXISTS", s.record); err != nil || n != int64(1) {
		t.Fatalf("the sid index names %q, whose record %s is not in Redis: %v %v", id, s.record, n, err)
	}
	if got, _ := rs.Do("GET", s.record); strings.Contains(got.(string), email) {
		t.Fatalf("the record in Redis is readable: %.200s", got)
	}
	return s
}

// waitSessionKeys waits until the session keyspace under prefix is exactly want.
func waitSessionKeys(t *testing.T, rs *redistest.Server, prefix, what string, want ...string) {
	t.Helper()
	wantSet := map[string]bool{}
	for _, k := range want {
		wantSet[k] = true
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := redisKeys(t, rs, prefix, "session")
		same := len(got) == len(wantSet)
		for _, k := range got {
			same = same && wantSet[k]
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: session keys in Redis %v, want %v", what, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProviderLogoutDeletesServerSideSessionsFromRedis: with session.store cache on
// two replicas, a back-channel logout token (by sid) sent to replica B deletes the
// record and sid index of the session signed in on A, and a front-channel logout
// deletes the record and index of the browser's session; the sessions of other
// provider sessions (alice's other browser, bob) stay in Redis untouched. Redis is
// checked before any request presents the signed-out cookie again (a request with a
// revoked session deletes its record too, which would hide a missing deletion).
func TestProviderLogoutDeletesServerSideSessionsFromRedis(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		prefix := "ssdrop-" + md.name + ":"
		cfg := logoutConfig(op, rs.URL(), prefix)
		group(cfg, "session")["store"] = "cache"
		a, ha := startInstance(t, md, cfg, "ssdrop@file")
		b, hb := startInstance(t, md, cfg, "ssdrop@file")
		waitLive(t, md, ha)
		waitLive(t, md, hb)

		one := signInServerSide(t, op, rs, prefix, a.URL, "alice", "alice@example.com")
		two := signInServerSide(t, op, rs, prefix, a.URL, "alice", "alice@example.com")
		op.SetAutoLogin("bob")
		bob := signInServerSide(t, op, rs, prefix, b.URL, "bob", "bob@example.com")
		all := []*serverSideSession{one, two, bob}
		var keys []string
		for _, s := range all {
			keys = append(keys, s.index, s.record)
		}
		waitSessionKeys(t, rs, prefix, "after three sign-ins", keys...)
		for _, s := range all {
			mustBeServed(t, "before logout on B", b.URL, s.cookie, s.email)
		}

		// Back-channel, by sid, to the replica that did not create the session.
		status, err := op.BackchannelLogout(context.Background(), b.URL+backchannelPath, "", one.sid)
		if err != nil || status != http.StatusOK {
			t.Fatalf("back-channel logout: %d %v", status, err)
		}
		waitSessionKeys(t, rs, prefix, "after the back-channel logout of the first session", two.index, two.record, bob.index, bob.record)

		// Front-channel: the provider frames the URL in alice's second browser.
		resp := two.br.once(t, op.FrontchannelLogoutURL(a.URL+frontchannelPath, two.sid))
		if resp.StatusCode != http.StatusOK || !sessionCleared(resp) {
			t.Fatalf("front-channel logout: %d %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
		waitSessionKeys(t, rs, prefix, "after the front-channel logout of the second session", bob.index, bob.record)

		// And the signed-out references lead nowhere, on either replica; bob's works.
		for _, base := range []string{a.URL, b.URL} {
			for _, s := range []*serverSideSession{one, two} {
				if !refusedBrowser(t, op, base, s.cookie) {
					t.Fatalf("%s accepts a signed-out server-side session", base)
				}
			}
			mustBeServed(t, "bob after alice's logouts", base, bob.cookie, "bob@example.com")
		}
	})
}
