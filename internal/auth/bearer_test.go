package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBearerHeaderSyntax(t *testing.T) {
	ok := map[string]string{
		"Bearer abc":                 "abc",
		"bearer abc":                 "abc",
		"BEARER a.b.c":               "a.b.c",
		"Bearer   spaced":            "spaced",
		"Bearer a-b_c~d+e/f==":       "a-b_c~d+e/f==",
		"Bearer eyJhbGciOi.e30.sig_": "eyJhbGciOi.e30.sig_",
	}
	for h, want := range ok {
		got, problem := parseBearerHeader([]string{h})
		if problem != "" || got != want {
			t.Errorf("%q: got %q, problem %q; want %q", h, got, problem, want)
		}
	}
	bad := []string{
		"", "Bearer", "Bearer ", "Bearerabc", "Basic abc", "Bearer\tabc", "Bearer a b", "Bearer a,b",
		"Bearer ===", "Bearer a=b", `Bearer "abc"`, "Bearer abc\x00", "Bearer é", "Bearer a;b", "Token abc",
	}
	for _, h := range bad {
		if got, problem := parseBearerHeader([]string{h}); problem == "" {
			t.Errorf("%q accepted as %q", h, got)
		}
	}
	if _, problem := parseBearerHeader([]string{"Bearer a", "Bearer b"}); problem == "" {
		t.Error("two Authorization headers accepted")
	}
}

// FuzzBearerHeader: whatever the header, the parser does not panic, and a token it
// accepts is the header's suffix after the scheme and spaces, non-empty, and made of
// b64token characters only (so it cannot smuggle a second credential, whitespace or
// a header break).
func FuzzBearerHeader(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Bearer  x==", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a b", "Bearer \r\nX: y", "Bearer =a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, problem := parseBearerHeader([]string{h})
		if problem != "" {
			if tok != "" {
				t.Fatalf("%q: a problem and a token", h)
			}
			return
		}
		if tok == "" || !strings.HasSuffix(h, tok) || !strings.EqualFold(h[:6], "Bearer") {
			t.Fatalf("%q: token %q", h, tok)
		}
		if strings.Trim(h[6:len(h)-len(tok)], " ") != "" || len(h)-len(tok) < 7 {
			t.Fatalf("%q: token %q does not follow the scheme and spaces", h, tok)
		}
		if strings.Trim(strings.TrimRight(tok, "="), b64tokenChars) != "" {
			t.Fatalf("%q: token %q has characters outside b64token", h, tok)
		}
	})
}

// TestBearerOrCookieDecision: only a Bearer credential goes the bearer way; a session
// cookie wins over it unless preferOverCookie; another cookie does not count.
func TestBearerOrCookieDecision(t *testing.T) {
	c := testConfig()
	c.Bearer.Enabled = true
	c.Bearer.Audience = "api"
	m := newTestMiddleware(t, c, http.NotFoundHandler())
	cases := []struct {
		auth, cookie string
		prefer, want bool
	}{
		{"Bearer abc", "", false, true},
		{"bearer abc", "theme=dark", false, true},
		{"Bearer abc", "x_gatehouse=1; theme=dark", false, true},
		{"Bearer abc", "theme=dark; _gatehouse=sealed", false, false},
		{"Bearer abc", "_gatehouse=sealed", true, true},
		{"Basic dXNlcjpwYXNz", "", false, false},
		{"Bearerish abc", "", false, false},
		{"Bearer", "", false, true},
	}
	for _, tc := range cases {
		m.bearer.preferOverCookie = tc.prefer
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", tc.auth)
		if tc.cookie != "" {
			req.Header.Set("Cookie", tc.cookie)
		}
		if got := bearerFirst(m, req); got != tc.want {
			t.Errorf("Authorization %q, Cookie %q, prefer %v: bearer first %v", tc.auth, tc.cookie, tc.prefer, got)
		}
	}
}

// TestBearerVerdictsAndSessionVerdictsDoNotMix: a Cookie header that equals a
// cached bearer verdict's key does not open a session, and an Authorization header
// equal to a session verdict's key is not a bearer verdict.
func TestBearerVerdictsAndSessionVerdictsDoNotMix(t *testing.T) {
	c := testConfig()
	c.Bearer.Enabled = true
	c.Bearer.Audience = "api"
	called := false
	m := newTestMiddleware(t, c, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	p := &principal{Source: "bearer", Allowed: true, until: []int64{forever}}
	storeVerified(m.verified, "Bearer abc", &verified{p: p, until: 1 << 40, gen: m.gen.Load(), bearer: &tokenFacts{}})
	// A session verdict whose Cookie header happens to read like a bearer credential.
	storeVerified(m.verified, "Bearer zzz", &verified{p: p, until: 1 << 40, gen: m.gen.Load()})

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "Bearer abc")
	req.Header.Set("Accept", "application/json")
	m.ServeHTTP(httptest.NewRecorder(), req)
	if called {
		t.Fatal("a bearer verdict opened a session")
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer abc")
	m.ServeHTTP(httptest.NewRecorder(), req)
	if !called {
		t.Fatal("the bearer verdict itself was not used")
	}
	called = false
	req = httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer zzz")
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	if called || rec.Code != http.StatusUnauthorized {
		t.Fatalf("a session verdict served an Authorization header: %d", rec.Code)
	}
}

// TestBearerHotPathServesATokenBesideUnrelatedCookies: a cached bearer verdict serves
// a request that also carries the site's own cookies from the hot path, and never one
// whose Cookie header could hold a session cookie (which wins over the token unless
// preferOverCookie): those go to bearerFirst's exact parse.
func TestBearerHotPathServesATokenBesideUnrelatedCookies(t *testing.T) {
	c := testConfig()
	c.Bearer.Enabled = true
	c.Bearer.Audience = "api"
	called := false
	m := newTestMiddleware(t, c, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	p := &principal{Source: "bearer", Allowed: true, until: []int64{forever}}
	storeVerified(m.verified, "Bearer abc", &verified{p: p, until: 1 << 40, gen: m.gen.Load(), bearer: &tokenFacts{}, bearerDeadline: time.Hour})
	cases := []struct {
		cookies       []string
		served, isHot bool
	}{
		{nil, true, true},
		{[]string{"theme=dark; _ga=GA1.2.3; csrftoken=Zm9v"}, true, true},
		// The session cookie wins, however it is placed.
		{[]string{"theme=dark; _gatehouse=sealed"}, false, false},
		{[]string{"_gatehouse=.2; _gatehouse_1=a; _gatehouse_2=b"}, false, false},
		{[]string{"theme=dark", "_gatehouse=sealed"}, false, false},
		// The name inside another cookie: not a session, but left to the exact parse.
		{[]string{"x_gatehouse=1; theme=dark"}, true, false},
		{[]string{"theme=dark", "lang=en"}, true, false},
	}
	for _, tc := range cases {
		called = false
		before := verdictHits(m.verified, true)
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer abc")
		req.Header.Set("Accept", "application/json")
		if tc.cookies != nil {
			req.Header["Cookie"] = tc.cookies
		}
		m.ServeHTTP(httptest.NewRecorder(), req)
		if called != tc.served {
			t.Errorf("Cookie %q: served by the token %v, want %v", tc.cookies, called, tc.served)
		}
		if hot := verdictHits(m.verified, true) > before; hot != tc.isHot {
			t.Errorf("Cookie %q: served from the hot path %v, want %v", tc.cookies, hot, tc.isHot)
		}
	}
}
