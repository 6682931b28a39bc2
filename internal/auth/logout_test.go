package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// TestSubjectRevocationNeverMovesBackwards: a logout token that arrives late, with an
// older iat, leaves the later not-before time in place (the revocation keyspace is
// last-writer-wins, so a value going backwards would un-revoke sessions).
func TestSubjectRevocationNeverMovesBackwards(t *testing.T) {
	m := newTestMiddleware(t, testConfig(), http.NotFoundHandler())
	ctx := context.Background()
	id := revokedSub("https://idp.example.com", "usr_alice")
	for _, step := range []struct{ write, want int64 }{{200, 200}, {100, 200}, {200, 200}, {300, 300}} {
		got, state, err := revokeSubjectBefore(m, ctx, "https://idp.example.com", "usr_alice", step.write)
		if err != nil || got != step.want || state != cache.WriteLocal {
			t.Fatalf("after writing %d: recorded %d (%s) %v, want %d (local)", step.write, got, state, err, step.want)
		}
		v, ok, err := cache.Lookup(m.store, ctx, m.ks.revoked, id)
		if err != nil || !ok || string(v) != itoa64(step.want) {
			t.Fatalf("after writing %d: %q %v %v, want %d", step.write, v, ok, err, step.want)
		}
	}
}

// TestLogoutTokenIsBoundToTheSessionAndTheKeys: the CSRF token of one session does
// not sign out another, nor sign out the session's other devices; it survives a key
// rotation while the old key is listed, and not after the key is removed.
func TestLogoutTokenIsBoundToTheSessionAndTheKeys(t *testing.T) {
	m := newTestMiddleware(t, testConfig(), http.NotFoundHandler())
	tok := sessionToken(m, csrfLogout, "session-a", m.opts.Session.Keys[0])
	if !validSessionToken(m, csrfLogout, "session-a", tok) {
		t.Fatal("own token refused")
	}
	for _, bad := range []string{"", tok[:len(tok)-1], tok + "A", strings.ToUpper(tok), sessionToken(m, csrfLogout, "session-b", m.opts.Session.Keys[0])} {
		if validSessionToken(m, csrfLogout, "session-a", bad) {
			t.Errorf("accepted %q", bad)
		}
	}
	if validSessionToken(m, csrfOthers, "session-a", tok) {
		t.Fatal("the sign-out token signs out the other devices")
	}
	rotated := testConfig()
	rotated.Session.Keys = []string{"a-brand-new-key-of-at-least-32-bytes!!", testConfig().Session.Keys[0]}
	mr := newTestMiddleware(t, rotated, http.NotFoundHandler())
	if !validSessionToken(mr, csrfLogout, "session-a", tok) {
		t.Fatal("token refused while its key is still listed")
	}
	dropped := testConfig()
	dropped.Session.Keys = []string{"a-brand-new-key-of-at-least-32-bytes!!"}
	if validSessionToken(newTestMiddleware(t, dropped, http.NotFoundHandler()), csrfLogout, "session-a", tok) {
		t.Fatal("token accepted after its key was removed")
	}
	// Another middleware instance (another name) with the same keys: another token.
	other, err := New(context.Background(), http.NotFoundHandler(), testConfig(), "other-instance")
	if err != nil {
		t.Fatal(err)
	}
	if validSessionToken(other.(*Middleware), csrfLogout, "session-a", tok) {
		t.Fatal("token accepted by another middleware instance")
	}
}

func TestSameOriginPost(t *testing.T) {
	cases := []struct {
		headers []string
		want    bool
	}{
		{nil, true}, // not a browser's cross-site request
		{[]string{"Sec-Fetch-Site", "same-origin"}, true},
		{[]string{"Sec-Fetch-Site", "same-site"}, false},
		{[]string{"Sec-Fetch-Site", "cross-site"}, false},
		{[]string{"Sec-Fetch-Site", "none"}, false},
		{[]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://app.example.com"}, false},
		{[]string{"Origin", "https://app.example.com"}, true},
		{[]string{"Origin", "https://APP.example.com"}, true},
		{[]string{"Origin", "https://evil.example"}, false},
		{[]string{"Origin", "https://app.example.com.evil.example"}, false},
		{[]string{"Origin", "null"}, false},
		{[]string{"Origin", "::"}, false},
	}
	for _, c := range cases {
		req := httptest.NewRequest("POST", "https://app.example.com/oauth2/logout", nil)
		for i := 0; i+1 < len(c.headers); i += 2 {
			req.Header.Set(c.headers[i], c.headers[i+1])
		}
		if got := sameOriginPost(req); got != c.want {
			t.Errorf("%v: %v, want %v", c.headers, got, c.want)
		}
	}
}

func TestPostLogoutURLIsAbsoluteAndOnTheRequestsHost(t *testing.T) {
	c := testConfig()
	c.Logout.PostLogoutRedirectURL = "/bye?x=1"
	m := newTestMiddleware(t, c, http.NotFoundHandler())
	req := httptest.NewRequest("POST", "http://app.example.com/oauth2/logout", nil)
	if got, ok := postLogoutURL(m, req); !ok || got != "http://app.example.com/bye?x=1" {
		t.Fatalf("%q %v", got, ok)
	}
	req.Header.Set("X-Forwarded-Proto", "https")
	if got, ok := postLogoutURL(m, req); !ok || got != "https://app.example.com/bye?x=1" {
		t.Fatalf("forwarded proto: %q %v", got, ok)
	}
	req.TLS = &tls.ConnectionState{}
	req.Header.Del("X-Forwarded-Proto")
	if got, _ := postLogoutURL(m, req); got != "https://app.example.com/bye?x=1" {
		t.Fatalf("TLS: %q", got)
	}
	for _, host := range []string{"", "evil.example/x", "a@evil.example", "evil.example\\x", "a b"} {
		req.Host = host
		if got, ok := postLogoutURL(m, req); ok {
			t.Errorf("Host %q: %q", host, got)
		}
	}
	c.Logout.PostLogoutRedirectURL = "https://www.example.com/goodbye"
	m = newTestMiddleware(t, c, http.NotFoundHandler())
	if got, ok := postLogoutURL(m, req); !ok || got != "https://www.example.com/goodbye" {
		t.Fatalf("absolute: %q %v", got, ok)
	}
}

// TestServerSideRecordIsSealedWithTheCookiesKeyOnly: with session.store cache the
// cookie is a small reference; the cached record contains no token in clear and
// opens only with the reference's key, not with the instance's keys.
func TestServerSideRecordIsSealedWithTheCookiesKeyOnly(t *testing.T) {
	s := newStack(t, func(c *config.Config) { c.Session.Store = "cache" })
	if code, body := s.get(t, "/app"); code != 200 || !strings.Contains(body, "user=alice@example.com") {
		t.Fatalf("%d %s", code, body)
	}
	u, _ := url.Parse(s.srv.URL)
	var header []string
	for _, c := range s.browser.Jar.Cookies(u) {
		header = append(header, c.Name+"="+c.Value)
		if len(c.Value) > 200 {
			t.Fatalf("cookie %s of %d bytes", c.Name, len(c.Value))
		}
	}
	_, id, key, err := readReference(s.m, strings.Join(header, "; "))
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := cache.Lookup(s.m.store, context.Background(), s.m.ks.session, id)
	if err != nil || !ok {
		t.Fatalf("record: %v %v", ok, err)
	}
	if _, err := session.Open(s.m.sessions.CacheSealer, string(v)); err == nil {
		t.Fatal("the record opens with the instance's cache key")
	}
	if _, err := session.Open(s.m.sessions.Session, string(v)); err == nil {
		t.Fatal("the record opens with the instance's session key")
	}
	wrong := append([]byte(nil), key...)
	wrong[0] ^= 1
	ws, _ := recordSealer(wrong, id)
	if _, err := session.OpenRecord(s.m.sessions, ws, string(v), time.Now()); err == nil {
		t.Fatal("the record opens with another key")
	}
	other, _ := recordSealer(key, id+"x")
	if _, err := session.OpenRecord(s.m.sessions, other, string(v), time.Now()); err == nil {
		t.Fatal("the record opens under another session id")
	}
	good, _ := recordSealer(key, id)
	rec, err := session.OpenRecord(s.m.sessions, good, string(v), time.Now())
	if err != nil || rec.ID != id || !strings.HasPrefix(rec.RefreshToken, "rt_") {
		t.Fatalf("%v %+v", err, rec)
	}
	// Nothing the record holds appears in what is stored (the values themselves: a
	// short pattern such as "eyJ" would turn up in random ciphertext now and then).
	for name, secret := range map[string]string{"refresh token": rec.RefreshToken, "ID token": rec.IDToken,
		"access token": rec.AccessToken, "email": rec.Email, "subject": rec.Subject} {
		if len(secret) >= 8 && bytes.Contains(v, []byte(secret)) {
			t.Fatalf("the cached record holds the %s in clear", name)
		}
	}
}

// FuzzLogoutTokenFromBody: any back-channel body either yields exactly the one
// non-empty logout_token it carries or is refused; never a panic.
func FuzzLogoutTokenFromBody(f *testing.F) {
	for _, s := range []string{"logout_token=abc", "logout_token=a&logout_token=b", "logout_token=", "x=1", "logout_token=%zz", "logout_token=a;b", "", "&&=&", "logout_token=a%2Bb+c"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, reason := logoutTokenFromBody(body)
		if (tok == "") == (reason == "") {
			t.Fatalf("token %q, reason %q", tok, reason)
		}
		if tok == "" {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil || len(form["logout_token"]) != 1 || form.Get("logout_token") != tok {
			t.Fatalf("accepted %q from %q", tok, body)
		}
	})
}

// FuzzParseReference: whatever a session cookie opens to, parseReference accepts only
// the reference format, and what it accepts rebuilds to the same bytes.
func FuzzParseReference(f *testing.F) {
	f.Add(newReference("abcdefghijklmnopqrstuv", bytes.Repeat([]byte{7}, refKeyLen)))
	f.Add([]byte(`{"id":"x","ca":1}`))
	f.Add([]byte{'R', refVersion})
	f.Add(append([]byte{'R', refVersion}, bytes.Repeat([]byte{1}, refKeyLen+maxRefID+1)...))
	f.Fuzz(func(t *testing.T, pt []byte) {
		id, key, err := parseReference(pt)
		if err != nil {
			return
		}
		if id == "" || len(key) != refKeyLen || !bytes.Equal(newReference(id, key), pt) {
			t.Fatalf("accepted %q as id %q key %x", pt, id, key)
		}
	})
}
