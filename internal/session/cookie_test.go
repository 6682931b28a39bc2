package session

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestCookieValueMatchesWholeNamesOnly(t *testing.T) {
	h := `x_gatehouse=no; _gatehouse_1=chunk;_gatehouse=yes; _gatehouse=second; a="_gatehouse=quoted"`
	cases := map[string]string{"_gatehouse": "yes", "_gatehouse_1": "chunk", "x_gatehouse": "no", "a": `"_gatehouse=quoted"`}
	for name, want := range cases {
		if got, ok := CookieValue(h, name); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"gatehouse", "_gate", "_gatehouse_2", "b"} {
		if got, ok := CookieValue(h, name); ok {
			t.Errorf("%s found: %q", name, got)
		}
	}
	if got, ok := CookieValue("_gatehouse=", "_gatehouse"); !ok || got != "" {
		t.Errorf("empty value: %q %v", got, ok)
	}
}

func TestSmallValueIsOneCookieAndLargeValueIsChunked(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	budget := ChunkBudget(m)
	if budget != ChunkValueTarget {
		t.Fatalf("budget %d with default attributes, want %d", budget, ChunkValueTarget)
	}
	for _, size := range []int{1, budget, budget + 1, 3*budget - 1, 3 * budget, MaxChunks * budget} {
		value := strings.Repeat("v", size-1) + "z"
		h := http.Header{}
		if err := WriteChunked(m, h, requestWithCookies(""), value, 3600, testNow); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		want := 1
		if size > budget {
			want = 1 + (size+budget-1)/budget
		}
		if len(h["Set-Cookie"]) != want {
			t.Fatalf("size %d: %d cookies, want %d", size, len(h["Set-Cookie"]), want)
		}
		for _, line := range h["Set-Cookie"] {
			if len(line) > MaxSetCookieLine {
				t.Fatalf("size %d: Set-Cookie line of %d bytes", size, len(line))
			}
		}
		got, err := ReadChunked(m, cookieHeaderFrom(t, h))
		if err != nil || got != value {
			t.Fatalf("size %d: reassembled %d bytes, %v", size, len(got), err)
		}
	}
	if err := WriteChunked(m, http.Header{}, requestWithCookies(""), strings.Repeat("v", MaxChunks*budget+1), 60, testNow); err != ErrTooLarge {
		t.Fatalf("over %d chunks: %v", MaxChunks, err)
	}
	for _, bad := range []string{"", ".2", "a;b", "a b", "a\r\nSet-Cookie: x=y", `a"b`, "a,b", `a\b`} {
		if err := WriteChunked(m, http.Header{}, requestWithCookies(""), bad, 60, testNow); err == nil {
			t.Errorf("value %q written", bad)
		}
	}
}

func TestLongDomainAndPathShrinkTheChunksUnder4096Bytes(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.CookieDomain = strings.Repeat("sub.", 60) + "example.com"
	opts.CookiePath = "/" + strings.Repeat("p", 300)
	m := newTestManager(t, opts, "a")
	if ChunkBudget(m) >= ChunkValueTarget {
		t.Fatalf("budget %d not reduced", ChunkBudget(m))
	}
	h := http.Header{}
	if err := WriteChunked(m, h, requestWithCookies(""), strings.Repeat("v", 9*ChunkBudget(m)+5), 86400*365, testNow); err != nil {
		t.Fatal(err)
	}
	for _, line := range h["Set-Cookie"] {
		if len(line) > MaxSetCookieLine {
			t.Fatalf("Set-Cookie line of %d bytes", len(line))
		}
	}
}

func TestChunkSetsThatDoNotAddUpAreRefused(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	good := "_gatehouse=.3; _gatehouse_1=aaa; _gatehouse_2=bbb; _gatehouse_3=ccc"
	if v, err := ReadChunked(m, good); err != nil || v != "aaabbbccc" {
		t.Fatalf("good set: %q %v", v, err)
	}
	for name, h := range map[string]string{
		"missing chunk":        "_gatehouse=.3; _gatehouse_1=aaa; _gatehouse_3=ccc",
		"empty chunk":          "_gatehouse=.3; _gatehouse_1=aaa; _gatehouse_2=; _gatehouse_3=ccc",
		"extra chunk":          good + "; _gatehouse_4=ddd",
		"chunk beside single":  "_gatehouse=AAAA; _gatehouse_1=aaa",
		"marker of one":        "_gatehouse=.1; _gatehouse_1=aaa",
		"marker over max":      "_gatehouse=.11",
		"non-canonical marker": "_gatehouse=.03; _gatehouse_1=aaa; _gatehouse_2=bbb; _gatehouse_3=ccc",
		"signed marker":        "_gatehouse=.+3; _gatehouse_1=aaa; _gatehouse_2=bbb; _gatehouse_3=ccc",
		"bare marker":          "_gatehouse=.",
		"chunks, no marker":    "_gatehouse_1=aaa; _gatehouse_2=bbb",
	} {
		_, err := ReadChunked(m, h)
		want := ErrChunks
		if name == "chunks, no marker" {
			want = ErrNoSession
		}
		if err != want {
			t.Errorf("%s: got %v, want %v", name, err, want)
		}
	}
}

func TestWritingASmallerSessionExpiresStaleChunks(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	req := requestWithCookies("_gatehouse=.4; _gatehouse_1=a; _gatehouse_2=b; _gatehouse_3=c; _gatehouse_4=d; _gatehouse_7=old; _gatehouse_x=app; other=1")
	h := http.Header{}
	if err := WriteChunked(m, h, req, strings.Repeat("v", 2*ChunkBudget(m)), 60, testNow); err != nil {
		t.Fatal(err)
	}
	expired := map[string]bool{}
	set := map[string]bool{}
	for _, c := range parseSetCookies(t, h) {
		if c.MaxAge < 0 {
			expired[c.Name] = true
		} else {
			set[c.Name] = true
		}
	}
	if !reflect.DeepEqual(set, map[string]bool{"_gatehouse": true, "_gatehouse_1": true, "_gatehouse_2": true}) {
		t.Errorf("set %v", set)
	}
	if !reflect.DeepEqual(expired, map[string]bool{"_gatehouse_3": true, "_gatehouse_4": true, "_gatehouse_7": true}) {
		t.Errorf("expired %v", expired)
	}

	h = http.Header{}
	if err := WriteChunked(m, h, req, "single", 60, testNow); err != nil {
		t.Fatal(err)
	}
	if got := cookieHeaderFrom(t, h); got != "_gatehouse=single" {
		t.Errorf("after writing one cookie, the browser keeps %q", got)
	}
	if n := len(h["Set-Cookie"]); n != 6 {
		t.Errorf("%d Set-Cookie lines, want the cookie and 5 expired chunks: %q", n, h["Set-Cookie"])
	}
}

func TestClearingExpiresEveryChunkTheBrowserSent(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.CookieDomain = "example.com"
	m := newTestManager(t, opts, "a")
	h := http.Header{}
	ClearChunked(m, h, requestWithCookies("_gatehouse=.2; _gatehouse_1=a; _gatehouse_2=b; _gatehouse_5=stale; keep=1"))
	names := map[string]bool{}
	for _, c := range parseSetCookies(t, h) {
		if c.MaxAge >= 0 || c.Domain != "example.com" || c.Path != "/" || !c.Secure || !c.HttpOnly {
			t.Errorf("not a matching deletion: %+v", c)
		}
		names[c.Name] = true
	}
	if !reflect.DeepEqual(names, map[string]bool{"_gatehouse": true, "_gatehouse_1": true, "_gatehouse_2": true, "_gatehouse_5": true}) {
		t.Errorf("expired %v", names)
	}
}

func TestCookieAttributesComeFromConfiguration(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.CookieDomain = "example.com"
	opts.CookiePath = "/app"
	opts.SameSite = http.SameSiteStrictMode
	m := newTestManager(t, opts, "a")
	h := http.Header{}
	if err := WriteChunked(m, h, requestWithCookies(""), "value", 120, testNow); err != nil {
		t.Fatal(err)
	}
	want := "_gatehouse=value; Max-Age=120; Expires=Tue, 14 Nov 2023 22:15:20 GMT; Path=/app; Domain=example.com; HttpOnly; Secure; SameSite=Strict"
	if got := h.Get("Set-Cookie"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	opts.Secure, opts.HTTPOnly, opts.SameSite, opts.CookieDomain, opts.CookiePath = false, false, http.SameSiteLaxMode, "", "/"
	m = newTestManager(t, opts, "a")
	h = http.Header{}
	_ = WriteChunked(m, h, requestWithCookies(""), "value", 120, testNow)
	if got := h.Get("Set-Cookie"); strings.Contains(got, "Secure") || strings.Contains(got, "HttpOnly") || !strings.HasSuffix(got, "; Path=/; SameSite=Lax") {
		t.Fatalf("got %s", got)
	}
}

// TestLargeSessionRoundTripsThroughARealCookieJar writes the session of a user in 200
// groups (the groups also in both tokens) over real HTTPS and reads it back from
// what net/http's cookie jar sends, then shrinks it and signs out.
func TestLargeSessionRoundTripsThroughARealCookieJar(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "jar")
	records := map[string]*Record{"big": recordWithGroups(t, 200), "typical": typicalRecord(t)}
	var lines []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			rec := records[r.URL.Query().Get("user")]
			if err := WriteSession(m, w.Header(), r, rec, testNow); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			lines = w.Header()["Set-Cookie"]
		case "/whoami":
			rec, err := ReadSession(m, r, testNow)
			if err != nil {
				fmt.Fprintf(w, "error: %v", err)
				return
			}
			fmt.Fprintf(w, "%s groups=%d at=%d it=%d rt=%d", rec.Subject, len(rec.Groups), len(rec.AccessToken), len(rec.IDToken), len(rec.RefreshToken))
		case "/logout":
			ClearSession(m, w.Header(), r)
		}
	}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := srv.Client()
	client.Jar = jar
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	u, _ := url.Parse(srv.URL)
	for _, user := range []string{"big", "typical"} {
		rec := records[user]
		get("/login?user=" + user)
		total := 0
		for _, line := range lines {
			if len(line) >= 4096 {
				t.Fatalf("%s: Set-Cookie line of %d bytes", user, len(line))
			}
		}
		for _, c := range jar.Cookies(u) {
			total += len(c.Name) + 1 + len(c.Value)
		}
		want := fmt.Sprintf("%s groups=%d at=%d it=%d rt=%d", rec.Subject, len(rec.Groups), len(rec.AccessToken), len(rec.IDToken), len(rec.RefreshToken))
		if got := get("/whoami"); got != want {
			t.Fatalf("%s: got %q, want %q", user, got, want)
		}
		t.Logf("%s user: %d Set-Cookie lines (with expired chunks), longest %d bytes; %d cookies in the jar, %d bytes of name=value", user, len(lines), longest(lines), len(jar.Cookies(u)), total)
		if user == "big" && len(jar.Cookies(u)) < 3 {
			t.Fatalf("the 200-group session was not chunked: %d cookies", len(jar.Cookies(u)))
		}
	}
	// After the typical session replaced the big one, only what it uses is left.
	if n := len(jar.Cookies(u)); n > 3 {
		t.Fatalf("%d cookies left after a smaller session replaced a larger one", n)
	}
	get("/logout")
	if cs := jar.Cookies(u); len(cs) != 0 {
		t.Fatalf("cookies left after logout: %v", cs)
	}
	if got := get("/whoami"); got != "error: "+ErrNoSession.Error() {
		t.Fatalf("after logout: %s", got)
	}
}

func longest(lines []string) int {
	n := 0
	for _, l := range lines {
		if len(l) > n {
			n = len(l)
		}
	}
	return n
}

func TestStripCookieHeaderRemovesOnlyGatehouseCookies(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	cases := []struct{ in, want string }{
		{"", ""},
		{"a=1", "a=1"},
		{"a=1; b=2", "a=1; b=2"},
		{"_gatehouse=x", ""},
		{"_gatehouse=x; a=1", "a=1"},
		{"a=1; _gatehouse=x", "a=1"},
		{"a=1; _gatehouse=x; b=2", "a=1; b=2"},
		{"a=1;_gatehouse=x;b=2", "a=1;b=2"},
		{"_gatehouse=.2; _gatehouse_1=p; _gatehouse_2=q; theme=dark", "theme=dark"},
		{"theme=dark; _gatehouse=.2; _gatehouse_1=p; lang=en; _gatehouse_2=q", "theme=dark; lang=en"},
		{"_gatehouse_login_AbCdEf012345=s; sid=9; _gatehouse_login_zzzzzzzzzzzz=t", "sid=9"},
		{"x_gatehouse=1; _gatehouse_pref=2; _gatehouse_=3; _gatehousex=4", "x_gatehouse=1; _gatehouse_pref=2; _gatehouse_=3; _gatehousex=4"},
		{"a=_gatehouse; b=_gatehouse=1", "a=_gatehouse; b=_gatehouse=1"},
		{"a=1;  _gatehouse=x ;\tb=2 ", "a=1;\tb=2 "},
		{" _gatehouse = x; b=2", "b=2"},
		{"_gatehouse=x;", ""},
		{"a=1; ; _gatehouse=x", "a=1; "},
		{"_gatehouse", ""},
	}
	for _, c := range cases {
		if got := StripCookieHeader(m, c.in); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestStripCookiesOnTheForwardedRequest(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	req := requestWithCookies("_gatehouse=x; app=1")
	StripCookies(m, req)
	if got := req.Header.Values("Cookie"); len(got) != 1 || got[0] != "app=1" {
		t.Fatalf("%q", got)
	}
	req = requestWithCookies("_gatehouse=x; _gatehouse_login_abc=y")
	StripCookies(m, req)
	if _, ok := req.Header["Cookie"]; ok {
		t.Fatal("empty Cookie header left behind")
	}
	req = requestWithCookies("")
	req.Header["Cookie"] = []string{"_gatehouse=.2", "a=1; _gatehouse_1=p", "_gatehouse_2=q"}
	StripCookies(m, req)
	if got := req.Header["Cookie"]; !reflect.DeepEqual(got, []string{"a=1"}) {
		t.Fatalf("HTTP/2 split header: %q", got)
	}
	if got := (&http.Request{Header: http.Header{"Cookie": {"a=1; b=2"}}}); true {
		StripCookies(m, got)
		if got.Header.Get("Cookie") != "a=1; b=2" {
			t.Fatal("a header without Gatehouse cookies changed")
		}
	}
}
