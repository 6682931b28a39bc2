package session

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fixedSealed is a session sealed with testKeyA for the instance testBinding("fuzz"):
// {"id":"fuzz-session","sub":"alice","ca":1700000000,"ls":1700000000,"lt":1700000000}.
// It is also in the committed seed corpus, so the fuzzer starts from a valid value.
const fixedSealed = "AZcYrtS9XUprFeVVgadAP3J8-1eYDIMnOmbUT0gI3DPeGc33MxPKvyhsQ5pNVeEadnW4fsslrnu99Cl01yYc4w8p8e2OxL1D1qhQYel3nhvTNWfilvT2gK5PpltGCNO9lynddMbNSBNK-Sn-t7ZVqCzK-4qkNKSa"

func TestFixedSealedSeedStillOpens(t *testing.T) {
	m := newTestManager(t, testOptions(t, testKeyA), "fuzz")
	rec, err := OpenRecord(m, m.Session, fixedSealed, testNow)
	if err != nil || rec.ID != "fuzz-session" || rec.Subject != "alice" {
		t.Fatalf("the committed seed no longer opens (format or key derivation changed?): %+v %v", rec, err)
	}
}

// FuzzOpenSealedValue: whatever the text, Open never panics, and only what this
// test sealed opens (GCM cannot be forged, and strict base64url leaves no second
// spelling of a valid value). Fuzzing workers seal their own seeds with fresh
// nonces, so the property is on plaintexts, which are the same in every process.
func FuzzOpenSealedValue(f *testing.F) {
	m := newTestManager(f, testOptions(f, testKeyA), "fuzz")
	known := map[string]bool{`{"id":"fuzz-session","sub":"alice","ca":1700000000,"ls":1700000000,"lt":1700000000}`: true}
	for _, pt := range []string{"", "x", `{"id":"a","ca":1}`, strings.Repeat("z", 3000)} {
		known[pt] = true
		s, err := Seal(m.Session, []byte(pt))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
		f.Add(s[:len(s)-1])
		f.Add(s + "A")
		f.Add(s[:20] + "\n" + s[20:])
	}
	f.Add(fixedSealed)
	f.Add("")
	f.Add(".3")
	f.Add(strings.Repeat("A", 50))
	f.Add(strings.Repeat("_", 51))
	f.Fuzz(func(t *testing.T, text string) {
		pt, err := Open(m.Session, text)
		if err == nil && !known[string(pt)] {
			t.Fatalf("%q opened to %q, which nobody sealed", text, pt)
		}
		rec, err := OpenRecord(m, m.Session, text, testNow)
		if err == nil && rec.ID != "fuzz-session" && rec.ID != "a" {
			t.Fatalf("record %+v from %q", rec, text)
		}
	})
}

// FuzzReadChunkedCookieHeader: whatever the Cookie header, reading the session never
// panics, a reassembled value is exactly the marker's chunks in order within the
// size cap, and only sessions this test wrote open.
func FuzzReadChunkedCookieHeader(f *testing.F) {
	m := newTestManager(f, testOptions(f, testKeyA), "fuzz")
	known := map[string]bool{"fuzz-session": true}
	for i, rec := range []*Record{typicalRecord(f), recordWithGroups(f, 60)} {
		rec.ID = "fuzz-" + strconv.Itoa(i)
		known[rec.ID] = true
		h := http.Header{}
		if err := WriteSession(m, h, requestWithCookies(""), rec, testNow); err != nil {
			f.Fatal(err)
		}
		header := cookieHeaderFrom(f, h)
		f.Add(header)
		f.Add("theme=dark; " + header + "; lang=en")
		f.Add(strings.Replace(header, "_gatehouse_1=", "_gatehouse_9=", 1))
	}
	f.Add("_gatehouse=" + fixedSealed)
	f.Add("_gatehouse=.2; _gatehouse_1=a; _gatehouse_2=b")
	f.Add("_gatehouse=.10")
	f.Add("_gatehouse=.2; _gatehouse_1=a; _gatehouse_2=b; _gatehouse_3=c")
	f.Add("a=1;;;_gatehouse= ; _gatehouse")
	f.Fuzz(func(t *testing.T, header string) {
		v, err := ReadChunked(m, header)
		if err == nil {
			if len(v) > MaxChunks*ChunkBudget(m) {
				t.Fatalf("reassembled %d bytes, over the cap", len(v))
			}
			first, _ := CookieValue(header, "_gatehouse")
			if strings.HasPrefix(first, ".") {
				var b strings.Builder
				for i := 1; i < len(m.chunkNames); i++ {
					c, ok := CookieValue(header, m.chunkNames[i])
					if !ok {
						break
					}
					b.WriteString(c)
				}
				if b.String() != v {
					t.Fatalf("reassembled %q, chunks say %q", v, b.String())
				}
			} else if first != v {
				t.Fatalf("single cookie %q read as %q", first, v)
			}
		}
		rec, err := ReadSession(m, requestWithCookies(header), testNow)
		if err == nil && !known[rec.ID] {
			t.Fatalf("a session nobody wrote opened: %+v", rec)
		}
	})
}

// FuzzStripCookieHeader: whatever the Cookie header, stripping never panics; what
// net/http parses from the result is what it parses from the input minus
// Gatehouse's cookies, in the same order; and a header without them is returned
// unchanged.
func FuzzStripCookieHeader(f *testing.F) {
	m := newTestManager(f, testOptions(f, testKeyA), "fuzz")
	for _, s := range []string{
		"", "a=1", "_gatehouse=x", "a=1; _gatehouse=x; b=2", "_gatehouse=.2; _gatehouse_1=p; _gatehouse_2=q; theme=dark",
		"a=1;_gatehouse=x;b=2", "x_gatehouse=1; _gatehouse_pref=2", "a=_gatehouse; b=_gatehouse=1",
		" _gatehouse = x; b=2", "_gatehouse_login_abc=1;  c=\"q;\"", ";;_gatehouse;;", "a=1;\t_gatehouse_01=x",
	} {
		f.Add(s)
	}
	parse := func(h string) [][2]string {
		var out [][2]string
		for _, c := range (&http.Request{Header: http.Header{"Cookie": {h}}}).Cookies() {
			out = append(out, [2]string{c.Name, c.Value})
		}
		return out
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := StripCookieHeader(m, header)
		if !strings.Contains(header, "_gatehouse") && got != header {
			t.Fatalf("header without our cookies changed: %q -> %q", header, got)
		}
		var want [][2]string
		for _, c := range parse(header) {
			if !isOwnCookie(m, c[0]) {
				want = append(want, c)
			}
		}
		if have := parse(got); !reflect.DeepEqual(have, want) {
			t.Fatalf("%q -> %q\nparsed %q\nwant   %q", header, got, have, want)
		}
		if len(got) > len(header) {
			t.Fatalf("result longer than the input: %q -> %q", header, got)
		}
	})
}
