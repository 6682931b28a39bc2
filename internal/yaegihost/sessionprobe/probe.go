// Package sessionprobe runs internal/session's scenarios and writes what happened
// as a transcript, so that a test can run it compiled and under the plugin's Yaegi
// interpreter and require the two transcripts to be identical. Every input is
// deterministic (fixed keys, fixed clock, fixed token bytes); only nonces are random,
// and nothing in the transcript depends on them. The Bench functions loop inside, so
// a benchmark pays the cost of entering the interpreter once.
//
// This package is test support: the plugin never imports it.
package sessionprobe

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Keys and the clock every scenario uses.
const (
	KeyA = "0123456789abcdef0123456789abcdef-key-A"
	KeyB = "fedcba9876543210fedcba9876543210-key-B"
	Now  = 1_700_000_000
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Options returns compiled session options as the middleware gets them.
func Options(keys ...string) *session.Options {
	o := &session.Options{
		CookieName: "_gatehouse", CookiePath: "/", Secure: true, HTTPOnly: true,
		SameSite: http.SameSiteLaxMode, Lifetime: 24 * time.Hour, IdleTimeout: time.Hour,
		RefreshGrace: time.Minute, LoginTimeout: 10 * time.Minute, Store: "cookie",
	}
	for _, k := range keys {
		o.Keys = append(o.Keys, []byte(k))
	}
	return o
}

// NewManager builds the Manager of the middleware instance called name.
func NewManager(name string, keys ...string) (*session.Manager, error) {
	return session.NewManager(Options(keys...), session.InstanceBinding(name, "https://idp.example.com", "gatehouse", "_gatehouse"), "/oauth2/callback")
}

// token is a JWT-shaped string with fixed signature bytes.
func token(claims map[string]any, sigLen int) string {
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": "k-2024-01-rotating", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	sig := make([]byte, sigLen)
	for i := range sig {
		sig[i] = byte(i*7 + 3)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString(sig)
}

// Record is a session of a user in the given number of groups, which also appear in
// both tokens, as providers put them there.
func Record(groups int) *session.Record {
	gs := make([]string, groups)
	for i := range gs {
		gs[i] = "grp-engineering-" + strconv.Itoa(1000+i)
	}
	roles := []string{"offline_access", "uma_authorization", "app-user", "app-admin"}
	claims := map[string]any{
		"iss": "https://idp.example.com/realms/corp", "sub": "f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
		"aud": "gatehouse", "exp": Now + 300, "iat": Now, "auth_time": Now,
		"sid": "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5", "email": "alice.example@example.com",
		"email_verified": true, "name": "Alice Example", "preferred_username": "alice",
		"groups": gs, "realm_access": map[string]any{"roles": roles},
	}
	id := map[string]any{"nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "azp": "gatehouse"}
	at := map[string]any{"scope": "openid email profile groups", "azp": "gatehouse", "jti": "2f0d7c1e-8a9b-4c3d"}
	for k, v := range claims {
		id[k] = v
		at[k] = v
	}
	return &session.Record{
		ID: "probe-session-id-0001", Subject: "f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
		Issuer: "https://idp.example.com/realms/corp", SID: "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5",
		User: "alice", Email: "alice.example@example.com", EmailVerified: true, Roles: roles, Groups: gs,
		Claims:      map[string]any{"name": "Alice Example", "tenant": "corp", "auth_time": Now},
		AccessToken: token(at, 256), IDToken: token(id, 256),
		RefreshToken: token(map[string]any{"typ": "Refresh", "sub": "f3b1c2d4", "exp": Now + 1800}, 64),
		TokenExpiry:  Now + 300, CreatedAt: Now, LastSeen: Now, LoginTime: Now,
	}
}

func errName(err error) string {
	switch err {
	case nil:
		return "ok"
	case session.ErrMalformed:
		return "malformed"
	case session.ErrTooLarge:
		return "too-large"
	case session.ErrUnknownKey:
		return "unknown-key"
	case session.ErrWrongInstance:
		return "wrong-instance"
	case session.ErrTampered:
		return "tampered"
	case session.ErrExpired:
		return "expired"
	case session.ErrIdle:
		return "idle"
	case session.ErrNoSession:
		return "no-session"
	case session.ErrChunks:
		return "chunks"
	case session.ErrNoLogin:
		return "no-login"
	case session.ErrStateMismatch:
		return "state-mismatch"
	}
	return "other(" + err.Error() + ")"
}

// browser keeps cookies the way a browser does for one site: set, replaced, expired.
type browser struct {
	names  []string
	values map[string]string
}

func newBrowser() *browser { return &browser{values: map[string]string{}} }

func take(b *browser, h http.Header) {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.MaxAge < 0 {
			delete(b.values, c.Name)
			continue
		}
		if _, ok := b.values[c.Name]; !ok {
			b.names = append(b.names, c.Name)
		}
		b.values[c.Name] = c.Value
	}
}

func request(b *browser, extra string) *http.Request {
	var parts []string
	for _, n := range b.names {
		if v, ok := b.values[n]; ok {
			parts = append(parts, n+"="+v)
		}
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	req, _ := http.NewRequest("GET", "https://app.example.com/", nil)
	if len(parts) > 0 {
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	return req
}

func at(sec int64) time.Time { return time.Unix(Now+sec, 0) }

// Transcript runs every scenario and returns one line per observation. A line
// containing "FAIL" is an expectation the run broke.
func Transcript() string {
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	expect := func(name, got, want string) {
		if got == want {
			say("%s: %s", name, got)
		} else {
			say("%s: FAIL got %s, want %s", name, got, want)
		}
	}

	m, err := NewManager("probe@file", KeyA)
	if err != nil {
		return "FAIL NewManager: " + err.Error()
	}
	other, _ := NewManager("other@file", KeyA)
	rotated, _ := NewManager("probe@file", KeyB, KeyA)
	removed, _ := NewManager("probe@file", KeyB)

	// Round trip.
	rec := Record(5)
	text, err := session.SealRecord(m.Session, rec)
	expect("seal", errName(err), "ok")
	say("sealed length: %d", len(text))
	got, err := session.OpenRecord(m, m.Session, text, at(60))
	expect("open", errName(err), "ok")
	if err == nil {
		a, _ := json.Marshal(rec)
		b, _ := json.Marshal(got)
		expect("round trip equal", strconv.FormatBool(string(a) == string(b)), "true")
		expect("claim number", fmt.Sprintf("%T %v", got.Claims["auth_time"], got.Claims["auth_time"]), "json.Number 1700000000")
	}

	// Tampering: every character replaced by the next one of the alphabet.
	counts := map[string]int{}
	for i := 0; i < len(text); i++ {
		c := alphabet[(strings.IndexByte(alphabet, text[i])+1)%64]
		_, err := session.Open(m.Session, text[:i]+string(c)+text[i+1:])
		counts[errName(err)]++
	}
	var kinds []string
	for k, n := range counts {
		kinds = append(kinds, k+"="+strconv.Itoa(n))
	}
	sort.Strings(kinds)
	say("tamper each character: %s", strings.Join(kinds, " "))
	expect("tamper accepted", strconv.Itoa(counts["ok"]), "0")
	raw, _ := base64.RawURLEncoding.DecodeString(text)
	for _, c := range []struct{ name, text string }{
		{"newline", text[:30] + "\n" + text[30:]}, {"padded", text + "=="}, {"too short", text[:49]},
		{"last byte dropped", base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1])},
		{"oversized", strings.Repeat("A", session.MaxText(m.Session)+1)},
	} {
		_, err := session.Open(m.Session, c.text)
		say("tamper %s: %s", c.name, errName(err))
	}

	// Instances, rotation, purposes, lifetimes.
	_, err = session.OpenRecord(other, other.Session, text, at(60))
	expect("other instance", errName(err), "wrong-instance")
	_, err = session.OpenRecord(rotated, rotated.Session, text, at(60))
	expect("old key after rotation", errName(err), "ok")
	_, err = session.OpenRecord(removed, removed.Session, text, at(60))
	expect("removed key", errName(err), "unknown-key")
	newText, _ := session.SealRecord(rotated.Session, rec)
	_, err = session.OpenRecord(m, m.Session, newText, at(60))
	expect("new key at an old replica", errName(err), "unknown-key")
	small, _ := session.Seal(m.Session, []byte(`{"id":"x","ca":1700000000}`))
	_, err = session.Open(m.Login, small)
	expect("session value as login", errName(err), "tampered")
	_, err = session.Open(m.CacheSealer, small)
	expect("session value as cache", errName(err), "tampered")
	_, err = session.OpenRecord(m, m.Session, text, at(3599))
	expect("idle 59m59s", errName(err), "ok")
	_, err = session.OpenRecord(m, m.Session, text, at(3600))
	expect("idle 1h", errName(err), "idle")
	active := *rec
	active.LastSeen = Now + 86000
	activeText, _ := session.SealRecord(m.Session, &active)
	_, err = session.OpenRecord(m, m.Session, activeText, at(86399))
	expect("active before lifetime", errName(err), "ok")
	_, err = session.OpenRecord(m, m.Session, activeText, at(86400))
	expect("active at lifetime", errName(err), "expired")
	say("reissue at 5m59s/6m: %v/%v", session.ShouldReissue(m, rec, at(359)), session.ShouldReissue(m, rec, at(360)))
	say("refresh at 3m59s/4m: %v/%v", session.NeedsRefresh(m, rec, at(239)), session.NeedsRefresh(m, rec, at(240)))

	// Chunking: a 200-group user through a browser's cookie store.
	for _, groups := range []int{5, 200} {
		br := newBrowser()
		h := http.Header{}
		err := session.WriteSession(m, h, request(br, ""), Record(groups), at(0))
		expect(fmt.Sprintf("write %d groups", groups), errName(err), "ok")
		longest := 0
		for _, l := range h["Set-Cookie"] {
			if len(l) > longest {
				longest = len(l)
			}
		}
		take(br, h)
		total := 0
		for _, n := range br.names {
			total += len(n) + 1 + len(br.values[n])
		}
		say("%d groups: %d cookies, %d bytes of name=value, longest Set-Cookie %d bytes", groups, len(br.names), total, longest)
		expect(fmt.Sprintf("%d groups every line under 4096", groups), strconv.FormatBool(longest < 4096), "true")
		got, err := session.ReadSession(m, request(br, ""), at(60))
		expect(fmt.Sprintf("read %d groups", groups), errName(err), "ok")
		if err == nil {
			expect(fmt.Sprintf("%d groups back", groups), strconv.Itoa(len(got.Groups)), strconv.Itoa(groups))
			// The same header again is answered from memory: same record, own copy,
			// still checked against the clock, and stripped the same way.
			got.LastSeen = 1
			again, err := session.ReadSession(m, request(br, ""), at(120))
			if err == nil {
				a, _ := json.Marshal(Record(groups))
				b, _ := json.Marshal(again)
				expect(fmt.Sprintf("%d groups remembered equal", groups), strconv.FormatBool(string(a) == string(b)), "true")
			} else {
				say("FAIL remembered read: %s", errName(err))
			}
			_, err = session.ReadSession(m, request(br, ""), at(3600))
			expect(fmt.Sprintf("%d groups remembered past idle", groups), errName(err), "idle")
			req := request(br, "app=1")
			_, _ = session.ReadSession(m, req, at(60))
			session.StripCookies(m, req)
			expect(fmt.Sprintf("%d groups forwarded cookies", groups), req.Header.Get("Cookie"), "app=1")
			req = request(br, "")
			session.StripCookies(m, req)
			_, present := req.Header["Cookie"]
			expect(fmt.Sprintf("%d groups forwarded without Cookie", groups), strconv.FormatBool(present), "false")
		}
		if groups == 200 {
			_, err = session.ReadSession(m, request(br, "_gatehouse_"+strconv.Itoa(len(br.names))+"=extra"), at(60))
			expect("extra chunk", errName(err), "chunks")
			saved := br.values["_gatehouse_2"]
			delete(br.values, "_gatehouse_2")
			_, err = session.ReadSession(m, request(br, ""), at(60))
			expect("missing chunk", errName(err), "chunks")
			br.values["_gatehouse_2"] = saved
			c := br.values["_gatehouse_3"]
			br.values["_gatehouse_3"] = c[:100] + string(alphabet[(strings.IndexByte(alphabet, c[100])+1)%64]) + c[101:]
			_, err = session.ReadSession(m, request(br, ""), at(60))
			expect("tampered chunk", errName(err), "tampered")
			br.values["_gatehouse_3"] = c
			// A smaller session replaces it, then sign-out clears everything.
			h = http.Header{}
			_ = session.WriteSession(m, h, request(br, ""), Record(5), at(0))
			take(br, h)
			say("after a smaller session: %d cookies", len(br.values))
			h = http.Header{}
			session.ClearSession(m, h, request(br, ""))
			take(br, h)
			say("after sign-out: %d cookies, %d Set-Cookie lines", len(br.values), len(h["Set-Cookie"]))
		}
	}

	// Stripping Gatehouse's cookies before forwarding.
	for _, hdr := range []string{
		"a=1; _gatehouse=x; b=2",
		"_gatehouse=.2; _gatehouse_1=p; _gatehouse_2=q; theme=dark",
		"theme=dark; _gatehouse_login_AbCdEf012345=s;lang=en",
		"x_gatehouse=1; _gatehouse_pref=2; a=_gatehouse",
		"_gatehouse=only",
	} {
		say("strip %q -> %q", hdr, session.StripCookieHeader(m, hdr))
	}

	// Login transactions: three tabs, finished in another order, each once.
	br := newBrowser()
	states := map[string]string{}
	for _, ret := range []string{"/inbox", "/calendar", "/files"} {
		h := http.Header{}
		l, err := session.StartLogin(m, h, request(br, ""), ret, true, at(0))
		if err != nil {
			say("FAIL start login: %v", err)
			continue
		}
		states[ret] = l.State
		take(br, h)
		expect("challenge length", strconv.Itoa(len(session.PKCEChallenge(l.Verifier))), "43")
	}
	for _, ret := range []string{"/calendar", "/files", "/inbox"} {
		h := http.Header{}
		l, err := session.FinishLogin(m, h, request(br, ""), states[ret], at(30))
		take(br, h)
		if err != nil {
			say("FAIL finish %s: %s", ret, errName(err))
			continue
		}
		expect("finish "+ret, l.ReturnURL, ret)
	}
	_, err = session.FinishLogin(m, http.Header{}, request(br, ""), states["/inbox"], at(30))
	expect("replayed callback", errName(err), "no-login")
	for i := 0; i < 7; i++ {
		h := http.Header{}
		_, _ = session.StartLogin(m, h, request(br, ""), "/", true, at(int64(i)))
		take(br, h)
	}
	expect("transactions held after 7 logins", strconv.Itoa(len(br.values)), "4")
	expect("pkce rfc7636", session.PKCEChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")

	return strings.Join(out, "\n")
}

// OpenText opens a session value sealed elsewhere (by the other side of the
// compiled/interpreted pair) and names the outcome.
func OpenText(text string) string {
	m, err := NewManager("probe@file", KeyA)
	if err != nil {
		return err.Error()
	}
	rec, err := session.OpenRecord(m, m.Session, text, at(60))
	if err != nil {
		return errName(err)
	}
	return "ok " + rec.ID + " " + strconv.Itoa(len(rec.Groups))
}

// SealText seals Record(groups) for the probe instance.
func SealText(groups int) string {
	m, _ := NewManager("probe@file", KeyA)
	text, err := session.SealRecord(m.Session, Record(groups))
	if err != nil {
		return ""
	}
	return text
}

// Bench is what the benchmarks need, built once.
type Bench struct {
	M       *session.Manager
	Rec     *session.Record
	Text    string
	Request *http.Request
	Header  string
}

// NewBench builds a Manager, a typical session, its sealed text and a request
// carrying it (chunked, between a few site cookies).
func NewBench() *Bench {
	m, _ := NewManager("bench@file", KeyA)
	b := &Bench{M: m, Rec: Record(5)}
	b.Text, _ = session.SealRecord(m.Session, b.Rec)
	br := newBrowser()
	h := http.Header{}
	_ = session.WriteSession(m, h, request(br, ""), b.Rec, at(0))
	take(br, h)
	b.Request = request(br, "lang=en-GB")
	b.Request.Header.Set("Cookie", "_ga=GA1.1.1234567890.1700000000; theme=dark; "+b.Request.Header.Get("Cookie"))
	b.Header = b.Request.Header.Get("Cookie")
	return b
}

// BenchSealOpen seals and opens the typical session n times.
func BenchSealOpen(b *Bench, n int) string {
	for i := 0; i < n; i++ {
		text, err := session.SealRecord(b.M.Session, b.Rec)
		if err != nil {
			return err.Error()
		}
		if _, err := session.OpenRecord(b.M, b.M.Session, text, at(60)); err != nil {
			return err.Error()
		}
	}
	return ""
}

// BenchOpen opens the typical session's sealed text n times (no memory of it).
func BenchOpen(b *Bench, n int) string {
	for i := 0; i < n; i++ {
		if _, err := session.OpenRecord(b.M, b.M.Session, b.Text, at(60)); err != nil {
			return err.Error()
		}
	}
	return ""
}

// BenchReadSession reads the session from the request n times: the per-request path
// once the Manager remembers the cookie.
func BenchReadSession(b *Bench, n int) string {
	m, req, now := b.M, b.Request, at(60)
	for i := 0; i < n; i++ {
		if _, err := session.ReadSession(m, req, now); err != nil {
			return err.Error()
		}
	}
	return ""
}

// BenchRequestPath is the session work of one authenticated request, n times: the
// session read from the Cookie header, then Gatehouse's cookies stripped from the
// request before it is forwarded.
func BenchRequestPath(b *Bench, n int) string {
	m, req, now := b.M, b.Request, at(60)
	line := []string{b.Header}
	for i := 0; i < n; i++ {
		req.Header["Cookie"] = line
		if _, err := session.ReadSession(m, req, now); err != nil {
			return err.Error()
		}
		session.StripCookies(m, req)
	}
	if b.Request.Header["Cookie"][0] != "_ga=GA1.1.1234567890.1700000000; theme=dark; lang=en-GB" {
		return "wrong result"
	}
	b.Request.Header["Cookie"] = line
	return ""
}

// BenchStrip strips Gatehouse's cookies from a Cookie header the Manager has not
// seen n times (the work done once per distinct header).
func BenchStrip(b *Bench, n int) string {
	for i := 0; i < n; i++ {
		if session.StripCookieHeader(b.M, b.Header) != "_ga=GA1.1.1234567890.1700000000; theme=dark; lang=en-GB" {
			return "wrong result"
		}
	}
	return ""
}
