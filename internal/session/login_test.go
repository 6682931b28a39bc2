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
	"time"
)

// RFC 7636 appendix B.
func TestPKCEChallengeMatchesRFC7636AppendixB(t *testing.T) {
	if got := PKCEChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatal(got)
	}
}

func TestLoginTransactionHoldsFreshRandomValues(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	h := http.Header{}
	l, err := StartLogin(m, h, requestWithCookies(""), "/app/page?x=1", true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.State) != 32 || len(l.Nonce) != 32 || len(l.Verifier) != 43 || l.ReturnURL != "/app/page?x=1" || l.CreatedAt != testNow.Unix() {
		t.Fatalf("%+v", l)
	}
	cs := parseSetCookies(t, h)
	if len(cs) != 1 || cs[0].Name != "_gatehouse_login_"+l.State[:12] || cs[0].MaxAge != 600 ||
		!cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteLaxMode || cs[0].Path != "/" {
		t.Fatalf("cookie %+v", cs[0])
	}
	l2, _ := StartLogin(m, http.Header{}, requestWithCookies(""), "/", false, testNow)
	if l2.State == l.State || l2.Nonce == l.Nonce || l2.Verifier != "" {
		t.Fatalf("values repeat or PKCE verifier without PKCE: %+v %+v", l, l2)
	}
}

func TestStrictSessionCookieStillGetsALaxLoginCookie(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.SameSite = http.SameSiteStrictMode
	opts.CookiePath = "/app"
	m, err := NewManager(opts, testBinding("a"), "/app/oauth2/callback")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if _, err := StartLogin(m, h, requestWithCookies(""), "/", true, testNow); err != nil {
		t.Fatal(err)
	}
	c := parseSetCookies(t, h)[0]
	if c.SameSite != http.SameSiteLaxMode || c.Path != "/app" {
		t.Fatalf("login cookie %+v: the provider's redirect to the callback would not carry it", c)
	}
}

func TestCallbackFindsItsTransactionAndUsesItOnce(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	h := http.Header{}
	l, err := StartLogin(m, h, requestWithCookies(""), "/return", true, testNow)
	if err != nil {
		t.Fatal(err)
	}
	cookies := cookieHeaderFrom(t, h) + "; _gatehouse=.2; app=1"
	// The same cookies with one character of the sealed transaction changed.
	i := strings.IndexByte(cookies, ';') - 10
	swapped := "A"
	if cookies[i] == 'A' {
		swapped = "B"
	}
	tampered := cookies[:i] + swapped + cookies[i+1:]
	out := http.Header{}
	got, err := FinishLogin(m, out, requestWithCookies(cookies), l.State, testNow.Add(time.Minute))
	if err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("%+v %v", got, err)
	}
	if c := parseSetCookies(t, out); len(c) != 1 || c[0].Name != "_gatehouse_login_"+l.State[:12] || c[0].MaxAge >= 0 {
		t.Fatalf("transaction cookie not expired: %q", out["Set-Cookie"])
	}

	for _, c := range []struct {
		name    string
		state   string
		cookies string
		at      time.Time
		want    error
	}{
		{"timed out", l.State, cookies, testNow.Add(10 * time.Minute), ErrExpired},
		{"no cookie", l.State, "app=1", testNow, ErrNoLogin},
		{"other state, same id", l.State[:12] + strings.Repeat("A", 20), cookies, testNow, ErrStateMismatch},
		{"unknown id", strings.Repeat("B", 32), cookies, testNow, ErrNoLogin},
		{"short state", l.State[:31], cookies, testNow, ErrNoLogin},
		{"state not base64url", l.State[:31] + ".", cookies, testNow, ErrNoLogin},
		{"empty state", "", cookies, testNow, ErrNoLogin},
		{"tampered cookie", l.State, tampered, testNow, ErrTampered},
	} {
		out := http.Header{}
		_, err := FinishLogin(m, out, requestWithCookies(c.cookies), c.state, c.at)
		if err != c.want {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}

	// A transaction cookie from another middleware instance is worthless here.
	other := newTestManager(t, testOptions(t, testKeyA), "b")
	if _, err := FinishLogin(other, http.Header{}, requestWithCookies(cookies), l.State, testNow); err != ErrWrongInstance {
		t.Fatalf("other instance: %v", err)
	}
}

func TestRepeatedLoginsKeepAtMostFourTransactions(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	jar := map[string]string{} // name -> value, as a browser keeps them
	var states []string
	for i := 0; i < 7; i++ {
		var parts []string
		for n, v := range jar {
			parts = append(parts, n+"="+v)
		}
		h := http.Header{}
		l, err := StartLogin(m, h, requestWithCookies(strings.Join(parts, "; ")), "/", true, testNow.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, l.State)
		for _, c := range parseSetCookies(t, h) {
			if c.MaxAge < 0 {
				delete(jar, c.Name)
			} else {
				jar[c.Name] = c.Value
			}
		}
		if len(jar) > DefaultMaxLogins {
			t.Fatalf("after login %d the browser holds %d transactions", i+1, len(jar))
		}
	}
	// The newest four survive.
	for i, s := range states {
		_, held := jar["_gatehouse_login_"+s[:12]]
		if held != (i >= len(states)-DefaultMaxLogins) {
			t.Errorf("login %d held=%v", i, held)
		}
	}
	// Junk in the namespace goes first.
	h := http.Header{}
	if _, err := StartLogin(m, h, requestWithCookies("_gatehouse_login_junk=xyz; _gatehouse_login_"+states[6][:12]+"="+jar["_gatehouse_login_"+states[6][:12]]), "/", true, testNow); err != nil {
		t.Fatal(err)
	}
	if len(h["Set-Cookie"]) != 2 || !strings.HasPrefix(h["Set-Cookie"][0], "_gatehouse_login_junk=; Max-Age=0") {
		t.Fatalf("%q", h["Set-Cookie"])
	}
}

func TestOverlongReturnURLIsRefused(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	if _, err := StartLogin(m, http.Header{}, requestWithCookies(""), "/"+strings.Repeat("a", 4000), true, testNow); err != ErrTooLarge {
		t.Fatalf("%v", err)
	}
}

// TestParallelLoginsInSeveralTabsAllSucceed starts three logins from one browser
// (a real cookie jar over HTTPS) before any finishes, then completes them in another
// order: each callback finds its own transaction.
func TestParallelLoginsInSeveralTabsAllSucceed(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "tabs")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			l, err := StartLogin(m, w.Header(), r, r.URL.Query().Get("return"), true, testNow)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			fmt.Fprint(w, l.State)
		case "/oauth2/callback":
			l, err := FinishLogin(m, w.Header(), r, r.URL.Query().Get("state"), testNow.Add(time.Minute))
			if err != nil {
				fmt.Fprintf(w, "error: %v", err)
				return
			}
			fmt.Fprint(w, l.ReturnURL)
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
		return string(b)
	}
	tabs := []string{"/inbox", "/calendar", "/files"}
	states := map[string]string{}
	for _, ret := range tabs {
		states[ret] = get("/start?return=" + url.QueryEscape(ret))
	}
	for _, ret := range []string{"/calendar", "/files", "/inbox"} {
		if got := get("/oauth2/callback?state=" + states[ret]); got != ret {
			t.Errorf("tab %s: callback answered %q", ret, got)
		}
	}
	// Each transaction was single use: replaying a callback fails.
	if got := get("/oauth2/callback?state=" + states["/inbox"]); got != "error: "+ErrNoLogin.Error() {
		t.Errorf("replayed callback: %q", got)
	}
	u, _ := url.Parse(srv.URL)
	if cs := jar.Cookies(u); len(cs) != 0 {
		t.Errorf("transaction cookies left: %v", cs)
	}
}
