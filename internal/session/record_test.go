package session

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRecordRoundTripsThroughTheSessionCookie(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	rec := typicalRecord(t)
	h := http.Header{}
	if err := WriteSession(m, h, requestWithCookies(""), rec, testNow); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSession(m, requestWithCookies(cookieHeaderFrom(t, h)), testNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Claims come back with numbers as json.Number, so templates print them as sent.
	if got.Claims["auth_time"] != json.Number("1700000000") {
		t.Errorf("auth_time %#v", got.Claims["auth_time"])
	}
	want := *rec
	want.Claims = map[string]any{"name": "Alice Example", "tenant": "corp", "auth_time": json.Number("1700000000")}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("got  %+v\nwant %+v", *got, want)
	}
}

func TestSessionIDsAreRandom128Bits(t *testing.T) {
	a, _ := NewRecord(testNow)
	b, _ := NewRecord(testNow)
	if a.ID == b.ID || len(a.ID) != 22 {
		t.Fatalf("ids %q %q", a.ID, b.ID)
	}
	if a.CreatedAt != testNow.Unix() || a.LastSeen != a.CreatedAt || a.LoginTime != a.CreatedAt {
		t.Fatalf("times %+v", a)
	}
}

func TestOpenRecordReportsEachFailureWithItsOwnError(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.Lifetime = 8 * time.Hour
	opts.IdleTimeout = 30 * time.Minute
	m := newTestManager(t, opts, "a")
	other := newTestManager(t, opts, "b")
	rec := typicalRecord(t)
	text, err := SealRecord(m.Session, rec)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := m.Session.enc.DecodeString(text)
	raw[headerLen+5] ^= 0x20
	tampered := m.Session.enc.EncodeToString(raw)
	notJSON, _ := Seal(m.Session, []byte("not json"))
	noID, _ := Seal(m.Session, []byte(`{"sub":"x","ca":1700000000}`))
	small, _ := SealRecord(m.Session, &Record{ID: "x", CreatedAt: testNow.Unix(), LastSeen: testNow.Unix()})
	cases := []struct {
		name string
		text string
		at   time.Time
		want error
	}{
		{"fresh", text, testNow.Add(29 * time.Minute), nil},
		{"idle", text, testNow.Add(30 * time.Minute), ErrIdle},
		{"expired", text, testNow.Add(8 * time.Hour), ErrExpired},
		{"tampered", tampered, testNow, ErrTampered},
		{"other instance", text, testNow, ErrWrongInstance},
		{"malformed base64", text[:60] + "*" + text[61:], testNow, ErrMalformed},
		{"not json", notJSON, testNow, ErrMalformed},
		{"no id", noID, testNow, ErrMalformed},
		{"login purpose", small, testNow, ErrTampered},
		{"too large for login", text, testNow, ErrTooLarge},
	}
	for _, c := range cases {
		mm, s := m, m.Session
		switch c.name {
		case "other instance":
			mm, s = other, other.Session
		case "login purpose", "too large for login":
			s = m.Login
		}
		got, err := OpenRecord(mm, s, c.text, c.at)
		if err != c.want {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if err == nil && got.Subject != rec.Subject {
			t.Errorf("%s: subject %q", c.name, got.Subject)
		}
	}
	// An active user keeps the session until the absolute lifetime, never beyond.
	rec.LastSeen = testNow.Add(7*time.Hour + 50*time.Minute).Unix()
	if err := CheckTimes(m, rec, testNow.Add(7*time.Hour+59*time.Minute)); err != nil {
		t.Errorf("active session refused before its lifetime: %v", err)
	}
	if err := CheckTimes(m, rec, testNow.Add(8*time.Hour)); err != ErrExpired {
		t.Errorf("active session past its lifetime: %v", err)
	}
}

func TestNoIdleTimeoutMeansOnlyTheLifetimeCounts(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.IdleTimeout = 0
	m := newTestManager(t, opts, "a")
	rec := typicalRecord(t)
	if err := CheckTimes(m, rec, testNow.Add(23*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ShouldReissue(m, rec, testNow.Add(23*time.Hour)) {
		t.Fatal("re-issue without an idle timeout")
	}
	if got := CookieMaxAge(m, rec, testNow.Add(time.Hour)); got != 23*3600 {
		t.Fatalf("max age %d", got)
	}
}

func TestCookieIsReissuedOnlyAfterATenthOfTheIdleTimeout(t *testing.T) {
	for _, c := range []struct {
		idle, after time.Duration
	}{
		{time.Hour, 6 * time.Minute},    // a tenth
		{5 * time.Minute, time.Minute},  // at least a minute
		{time.Minute, 30 * time.Second}, // but at most half the idle timeout
		{10 * time.Second, 5 * time.Second},
	} {
		opts := testOptions(t, testKeyA)
		opts.IdleTimeout = c.idle
		m := newTestManager(t, opts, "a")
		rec := typicalRecord(t)
		if ShouldReissue(m, rec, testNow.Add(c.after-time.Second)) {
			t.Errorf("idle %v: re-issued before %v", c.idle, c.after)
		}
		if !ShouldReissue(m, rec, testNow.Add(c.after)) {
			t.Errorf("idle %v: not re-issued after %v", c.idle, c.after)
		}
		// The browser keeps the cookie for the idle timeout from the last write.
		if got := CookieMaxAge(m, rec, testNow); got != int64(c.idle/time.Second) {
			t.Errorf("idle %v: max age %d", c.idle, got)
		}
	}
}

func TestSlidingReissueKeepsAnActiveUserSignedIn(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.IdleTimeout = time.Hour
	m := newTestManager(t, opts, "a")
	rec := typicalRecord(t)
	h := http.Header{}
	if err := WriteSession(m, h, requestWithCookies(""), rec, testNow); err != nil {
		t.Fatal(err)
	}
	cookies := cookieHeaderFrom(t, h)
	writes := 0
	// A request a minute for 2 hours (past the tokens' 5 minutes, within the 24 h
	// lifetime): never idle, and the cookie is written again every 6 minutes.
	for now := testNow; now.Before(testNow.Add(2 * time.Hour)); now = now.Add(time.Minute) {
		req := requestWithCookies(cookies)
		got, err := ReadSession(m, req, now)
		if err != nil {
			t.Fatalf("at %v: %v", now.Sub(testNow), err)
		}
		if ShouldReissue(m, got, now) {
			got.LastSeen = now.Unix()
			h := http.Header{}
			if err := WriteSession(m, h, req, got, now); err != nil {
				t.Fatal(err)
			}
			cookies = cookieHeaderFrom(t, h)
			writes++
		}
	}
	if writes != 19 {
		t.Fatalf("%d re-issues in 120 requests, want 19 (minutes 6, 12, …, 114)", writes)
	}
	// Then an idle hour ends it.
	last, _ := ReadSession(m, requestWithCookies(cookies), testNow.Add(2*time.Hour))
	if _, err := ReadSession(m, requestWithCookies(cookies), time.Unix(last.LastSeen, 0).Add(time.Hour)); err != ErrIdle {
		t.Fatalf("after an idle hour: %v", err)
	}
}

func TestNeedsRefreshWithinTheGracePeriod(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.RefreshGrace = time.Minute
	m := newTestManager(t, opts, "a")
	rec := typicalRecord(t) // token expires at testNow + 300 s
	if NeedsRefresh(m, rec, testNow.Add(239*time.Second)) || !NeedsRefresh(m, rec, testNow.Add(240*time.Second)) {
		t.Fatal("grace period not applied")
	}
	rec.TokenExpiry = 0
	if NeedsRefresh(m, rec, testNow.Add(time.Hour)) {
		t.Fatal("refresh without a known expiry")
	}
}

func TestWriteSessionRefusesAnEndedSession(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	rec := typicalRecord(t)
	if err := WriteSession(m, http.Header{}, requestWithCookies(""), rec, testNow.Add(25*time.Hour)); err != ErrExpired {
		t.Fatalf("%v", err)
	}
}

func TestReadSessionGivesEachCallerItsOwnCopy(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	h := http.Header{}
	if err := WriteSession(m, h, requestWithCookies(""), typicalRecord(t), testNow); err != nil {
		t.Fatal(err)
	}
	cookies := cookieHeaderFrom(t, h)
	a, err := ReadSession(m, requestWithCookies(cookies), testNow)
	if err != nil {
		t.Fatal(err)
	}
	a.LastSeen = 1
	a.AccessToken = "changed"
	b, err := ReadSession(m, requestWithCookies(cookies), testNow)
	if err != nil || b.LastSeen != testNow.Unix() || b.AccessToken == "changed" {
		t.Fatalf("a caller's change leaked into the next read: %v %+v", err, b)
	}
	// The remembered session is still checked against the clock.
	if _, err := ReadSession(m, requestWithCookies(cookies), testNow.Add(time.Hour)); err != ErrIdle {
		t.Fatalf("remembered session past its idle timeout: %v", err)
	}
	if _, err := ReadSession(m, requestWithCookies(""), testNow); err != ErrNoSession {
		t.Fatalf("no cookie: %v", err)
	}
}

func TestRememberedSessionsStayWithinTheirBudget(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	m.memo.max = 256 << 10
	rec := typicalRecord(t)
	for i := 0; i < 200; i++ {
		h := http.Header{}
		if err := WriteSession(m, h, requestWithCookies(""), rec, testNow); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSession(m, requestWithCookies(cookieHeaderFrom(t, h)), testNow); err != nil {
			t.Fatal(err)
		}
		if m.memo.bytes > m.memo.max || m.memo.bytes <= 0 {
			t.Fatalf("memo holds %d bytes, budget %d", m.memo.bytes, m.memo.max)
		}
	}
}

// TestRememberedHeaderGivesTheSameAnswers: a header answered from memory gives the
// same session and the same stripped header as working them out, and a header
// whose other cookies changed still finds the session by its sealed text.
func TestRememberedHeaderGivesTheSameAnswers(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	h := http.Header{}
	if err := WriteSession(m, h, requestWithCookies(""), typicalRecord(t), testNow); err != nil {
		t.Fatal(err)
	}
	header := "a=1; " + cookieHeaderFrom(t, h) + "; b=2"
	first, err := ReadSession(m, requestWithCookies(header), testNow)
	if err != nil || len(m.memo.byHeader) != 1 || len(m.memo.byText) != 1 {
		t.Fatalf("%v, %d headers and %d texts remembered", err, len(m.memo.byHeader), len(m.memo.byText))
	}
	again, err := ReadSession(m, requestWithCookies(header), testNow)
	if err != nil || !reflect.DeepEqual(first, again) || first == again {
		t.Fatalf("remembered answer differs or is shared: %v", err)
	}
	req := requestWithCookies(header)
	StripCookies(m, req)
	if got := req.Header.Get("Cookie"); got != "a=1; b=2" || got != StripCookieHeader(m, header) {
		t.Fatalf("stripped from memory: %q", got)
	}
	changed := strings.Replace(header, "a=1", "a=2", 1)
	if _, err := ReadSession(m, requestWithCookies(changed), testNow); err != nil || len(m.memo.byHeader) != 2 || len(m.memo.byText) != 1 {
		t.Fatalf("%v, %d headers and %d texts remembered", err, len(m.memo.byHeader), len(m.memo.byText))
	}
	// An unopenable header is never remembered.
	if _, err := ReadSession(m, requestWithCookies("_gatehouse="+strings.Repeat("A", 80)), testNow); err == nil || len(m.memo.byHeader) != 2 {
		t.Fatalf("%v, %d headers remembered", err, len(m.memo.byHeader))
	}
}

func TestManagerRejectsAttributesThatLeaveNoRoom(t *testing.T) {
	opts := testOptions(t, testKeyA)
	opts.CookiePath = "/" + strings.Repeat("p", 3000)
	if _, err := NewManager(opts, "b", "/cb"); err == nil {
		t.Fatal("accepted")
	}
}

func TestLoginCookiePathCoversTheCallback(t *testing.T) {
	for _, c := range []struct{ cookie, callback, want string }{
		{"/", "/oauth2/callback", "/"},
		{"/app", "/app/callback", "/app"},
		{"/app/", "/app/callback", "/app/"},
		{"/app", "/oauth2/callback", "/"},
		{"/app", "/application/cb", "/"},
		{"/app/x", "/app/y", "/app"},
		{"/app/cb/", "/app/cb", "/app/cb"},
		{"/app", "", "/app"},
	} {
		if got := commonPath(c.cookie, c.callback); got != c.want {
			t.Errorf("commonPath(%q, %q) = %q, want %q", c.cookie, c.callback, got, c.want)
		}
	}
}

// TestConcurrentRequestsShareTheManagerSafely reads, writes, strips and clears
// sessions from many goroutines at once (run with -race by make test), with the
// memory filling and being dropped while they run.
func TestConcurrentRequestsShareTheManagerSafely(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "a")
	m.memo.max = 128 << 10
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		rec := typicalRecord(t)
		rec.Subject = "user-" + strconv.Itoa(g)
		wg.Add(1)
		go func(g int, rec *Record) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				h := http.Header{}
				if err := WriteSession(m, h, requestWithCookies(""), rec, testNow); err != nil {
					errs <- err
					return
				}
				var sent []string
				for _, c := range (&http.Response{Header: h}).Cookies() {
					sent = append(sent, c.Name+"="+c.Value)
				}
				req := requestWithCookies("site=" + strconv.Itoa(i%3) + "; " + strings.Join(sent, "; "))
				got, err := ReadSession(m, req, testNow)
				if err != nil || got.Subject != rec.Subject {
					errs <- fmt.Errorf("goroutine %d read %v: %v", g, got, err)
					return
				}
				got.LastSeen++
				StripCookies(m, req)
				if req.Header.Get("Cookie") != "site="+strconv.Itoa(i%3) {
					errs <- fmt.Errorf("goroutine %d forwarded %q", g, req.Header.Get("Cookie"))
					return
				}
				ClearSession(m, http.Header{}, req)
			}
		}(g, rec)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
