package jose

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// TestFoldNameCoversEncodingJSONMatching: encoding/json matches a member name to a
// field when the names are equal under Unicode simple folding (bytes.EqualFold: the
// orbits of unicode.SimpleFold). foldName must put every such orbit in one class, so
// any two names encoding/json would confuse are duplicates to us. (Our classes are a
// little wider: "İ" and "ı" fold with "i" too. That only refuses more.)
func TestFoldNameCoversEncodingJSONMatching(t *testing.T) {
	orbits := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		next := unicode.SimpleFold(r)
		if next == r {
			continue
		}
		if foldName(string(r)) != foldName(string(next)) {
			t.Fatalf("%U and %U are one simple-fold orbit, but foldName gives %q and %q", r, next, foldName(string(r)), foldName(string(next)))
		}
		if next > r {
			continue
		}
		// next < r: r is the largest of its orbit; check encoding/json really matches
		// the two ends (names must be letters to be valid json tags).
		if !unicode.IsLetter(r) || !unicode.IsLetter(next) {
			continue
		}
		field := reflect.StructField{Name: "F", Type: reflect.TypeOf(""), Tag: reflect.StructTag(`json:"x` + string(next) + `"`)}
		v := reflect.New(reflect.StructOf([]reflect.StructField{field}))
		doc, _ := json.Marshal(map[string]string{"x" + string(r): "matched"})
		if err := json.Unmarshal(doc, v.Interface()); err != nil {
			t.Fatal(err)
		}
		if v.Elem().Field(0).String() != "matched" {
			t.Fatalf("encoding/json does not match %U to a field named with %U: the premise changed", r, next)
		}
		orbits++
	}
	if orbits < 1000 {
		t.Fatalf("only %d orbits checked against encoding/json", orbits)
	}
}

// TestStrictReaderFastPathAgreesWithMemberWalk: for backslash-free documents the
// fast path clears exactly the documents the member-by-member walk accepts.
func TestStrictReaderFastPathAgreesWithMemberWalk(t *testing.T) {
	for _, doc := range []string{
		`{}`, `{"a":1}`, `{"a":1,"b":2}`, `{"a":1,"a":1}`, `{"a":1,"A":1}`, `{"ab":1,"aB":2,"c":3}`,
		`{"sub":"x","ſub":"y"}`, `{"kid":1,"Kid":2}`, `{"a":{"b":1,"B":2}}`, `{"a":[1,{"x":1}],"b":null}`,
		`{"x":"","y":""}`, `{"":1,"":2}`, `{"":1}`, `{"İ":1,"i̇":2}`, `{"ß":1,"SS":2}`, `{"ǅ":1,"ǆ":2}`,
		`{"Σ":1,"ς":2}`, `{"a":true,"b":false,"c":null,"d":1e5,"e":-1.5E-3}`,
		`{"k":"v","K":"V","k2":"v"}`, `{"日本":1,"日本":2}`,
	} {
		c := []byte(doc)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(c, &m); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		compareFastSlow(t, c, m)
	}
}

func compareFastSlow(t *testing.T, c []byte, m map[string]json.RawMessage) {
	t.Helper()
	fast := uniqueNamesFast(c, m)
	slow, err := decodeObjectSlow(c, c)
	if fast != (err == nil) {
		t.Fatalf("%q: fast path says %v, member walk says %v", c, fast, err)
	}
	if fast && !reflect.DeepEqual(slow, m) {
		t.Fatalf("%q: members differ: %v vs %v", c, slow, m)
	}
}

// FuzzStrictObject checks the fast path against the member walk on arbitrary input,
// and that decodeObject never panics and only accepts objects with unique names.
func FuzzStrictObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"A":2}`, `{"sub":"x","ſub":"y"}`, `{"a":{"b":[1,2,{"c":null}]}}`,
		`{"\u0061":1,"a":2}`, " {\"a\" : 1 } ", `{"a":1}{"b":2}`, `[1]`, `{"K":1,"k":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeObject(b)
		if err == nil {
			seen := map[string]bool{}
			for k, v := range m {
				if seen[foldName(k)] {
					t.Fatalf("accepted duplicate %q", k)
				}
				seen[foldName(k)] = true
				if !json.Valid(v) {
					t.Fatalf("invalid member value %q", v)
				}
			}
		}
		var buf bytes.Buffer
		if !utf8.Valid(b) || json.Compact(&buf, b) != nil {
			return
		}
		c := buf.Bytes()
		if c[0] != '{' || bytes.IndexByte(c, '\\') >= 0 {
			return
		}
		var um map[string]json.RawMessage
		if json.Unmarshal(c, &um) != nil {
			return
		}
		compareFastSlow(t, c, um)
	})
}

func TestCacheLifetimeReadsMaxAgeWithinBounds(t *testing.T) {
	const min, max = 300, 86400
	for cc, want := range map[string]int{
		"":                             min,
		"max-age=600":                  600,
		"public, max-age=600":          600,
		"Max-Age=600":                  600,
		`max-age="600"`:                600,
		"max-age=10":                   min,
		"max-age=999999999":            max,
		"max-age=99999999999999999":    max,
		"max-age=99999999999999999999": max, // overflows int64: "very large" (RFC 9111 1.2.2)
		"max-age=":                     min,
		"max-age=1.5":                  min,
		"max-age=-1":                   min,
		"max-age=abc":                  min,
		"no-store, max-age=600":        min,
		"max-age=600, no-cache":        min,
		"s-maxage=600":                 min,
	} {
		got := cacheLifetime(cc, min*1e9, max*1e9)
		if int(got.Seconds()) != want {
			t.Errorf("%q: %v, want %ds", cc, got, want)
		}
	}
}

func TestSharedEnvelopeRoundTripsAndRefusesGarbage(t *testing.T) {
	loaded, expires, body, ok := decodeShared(encodeShared(timeAt(1000), timeAt(2000), []byte(`{"keys":[]}`)))
	if !ok || !loaded.Equal(timeAt(1000)) || !expires.Equal(timeAt(2000)) || string(body) != `{"keys":[]}` {
		t.Fatalf("round trip: %v %v %q %v", loaded, expires, body, ok)
	}
	for _, v := range []string{"", "jwks1 1 2", "jwks2 1 2\n{}", "jwks1 x 2\n{}", "jwks1 1\n{}", "jwks1 1 2 3\n{}"} {
		if _, _, _, ok := decodeShared([]byte(v)); ok {
			t.Errorf("%q accepted", v)
		}
	}
	if !strings.HasPrefix(string(encodeShared(timeAt(1), timeAt(2), nil)), sharedMagic) {
		t.Fatal("envelope without magic")
	}
}

func timeAt(ms int64) time.Time { return time.UnixMilli(ms) }
