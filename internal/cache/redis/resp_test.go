package redis

import (
	"bufio"
	"bytes"
	"math"
	"strings"
	"testing"
)

func parse(t testing.TB, wire string, max int) (Value, error) {
	t.Helper()
	return readReply(bufio.NewReaderSize(strings.NewReader(wire), 16), max)
}

// TestReaderDecodesEveryRESP3Type feeds the reader the wire bytes the RESP3
// specification gives for each type, including those Redis 7 never sends to a plain
// client (attributes, blob errors), which a real server cannot be asked for.
func TestReaderDecodesEveryRESP3Type(t *testing.T) {
	long := strings.Repeat("x", 100) // longer than the 16-byte buffer: exercises the long-line path
	cases := []struct {
		wire  string
		check func(Value) bool
	}{
		{"+OK\r\n", func(v Value) bool { return v.Type == TypeSimple && v.String() == "OK" }},
		{"+" + long + "\r\n", func(v Value) bool { return v.String() == long }},
		{"-ERR unknown command 'FOO'\r\n", func(v Value) bool {
			return v.Type == TypeError && ErrorCode(ReplyError(v)) == "ERR"
		}},
		{":-42\r\n", func(v Value) bool { return v.Type == TypeInt && v.Int == -42 }},
		{"$5\r\nhe\r\no\r\n", func(v Value) bool { return v.Type == TypeBulk && v.String() == "he\r\no" }},
		{"$0\r\n\r\n", func(v Value) bool { return v.Type == TypeBulk && !v.Null && len(v.Str) == 0 }},
		{"$-1\r\n", func(v Value) bool { return v.Type == TypeBulk && v.Null }},
		{"*-1\r\n", func(v Value) bool { return v.Type == TypeArray && v.Null }},
		{"*0\r\n", func(v Value) bool { return v.Type == TypeArray && !v.Null && len(v.Elems) == 0 }},
		{"*3\r\n:1\r\n$1\r\na\r\n*1\r\n_\r\n", func(v Value) bool {
			return len(v.Elems) == 3 && v.Elems[0].Int == 1 && v.Elems[1].String() == "a" && v.Elems[2].Elems[0].Null
		}},
		{"_\r\n", func(v Value) bool { return v.Type == TypeNull && v.Null }},
		{",3.25\r\n", func(v Value) bool { return v.Type == TypeDouble && v.Float == 3.25 }},
		{",inf\r\n", func(v Value) bool { return math.IsInf(v.Float, 1) }},
		{",-inf\r\n", func(v Value) bool { return math.IsInf(v.Float, -1) }},
		{",nan\r\n", func(v Value) bool { return math.IsNaN(v.Float) }},
		{",1.5e10\r\n", func(v Value) bool { return v.Float == 1.5e10 }},
		{"#t\r\n", func(v Value) bool { return v.Type == TypeBool && v.Bool }},
		{"#f\r\n", func(v Value) bool { return v.Type == TypeBool && !v.Bool }},
		{"!21\r\nSYNTAX invalid syntax\r\n", func(v Value) bool {
			return v.Type == TypeBlobError && ErrorCode(ReplyError(v)) == "SYNTAX"
		}},
		{"=15\r\ntxt:Some string\r\n", func(v Value) bool {
			return v.Type == TypeVerbatim && v.Format == "txt" && v.String() == "Some string"
		}},
		{"(3492890328409238509324850943850943825024385\r\n", func(v Value) bool {
			return v.Type == TypeBigNumber && v.String() == "3492890328409238509324850943850943825024385"
		}},
		{"(-12\r\n", func(v Value) bool { return v.String() == "-12" }},
		{"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", func(v Value) bool {
			return v.Type == TypeMap && len(v.Elems) == 4 && v.Elems[2].String() == "second" && v.Elems[3].Int == 2
		}},
		{"~2\r\n+a\r\n+b\r\n", func(v Value) bool { return v.Type == TypeSet && len(v.Elems) == 2 }},
		{">3\r\n+message\r\n+chan\r\n$2\r\nhi\r\n", func(v Value) bool {
			return v.Type == TypePush && len(v.Elems) == 3 && v.Elems[2].String() == "hi"
		}},
		{"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n", func(v Value) bool {
			return v.Type == TypeArray && v.Elems[1].Int == 9543892 && v.Attr != nil &&
				v.Attr.Elems[0].String() == "key-popularity" && v.Attr.Elems[1].Elems[1].Float == 0.1923
		}},
		{"*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n", func(v Value) bool {
			return v.Elems[0].String() == "v" && v.Elems[0].Attr.Elems[1].Int == 3600 && v.Elems[1].Int == 7
		}},
	}
	for _, tc := range cases {
		v, err := parse(t, tc.wire, 1<<20)
		if err != nil {
			t.Errorf("%q: %v", tc.wire, err)
			continue
		}
		if !tc.check(v) {
			t.Errorf("%q: decoded as %+v", tc.wire, v)
		}
	}
}

func TestReaderRejectsMalformedReplies(t *testing.T) {
	for _, wire := range []string{
		"", "\r\n", "+OK\n", "?x\r\n", ":12a\r\n", "$5\r\nabc\r\n", "$5\r\nhelloXY", "$-2\r\n", "*-2\r\n", "%-1\r\n",
		"#x\r\n", "#\r\n", ",abc\r\n", "(12a\r\n", "_x\r\n", "=3\r\ntxt\r\n", "=5\r\ntxtab\r\n", "$?\r\n", "*?\r\n",
		"*2\r\n:1\r\n", "|1\r\n+a\r\n:1\r\n", strings.Repeat("*1\r\n", 100) + ":1\r\n",
	} {
		if v, err := parse(t, wire, 1<<20); err == nil {
			t.Errorf("%q accepted as %+v", wire, v)
		}
	}
}

// TestReplyCapBoundsMemory: a short header promising a huge payload or aggregate is
// refused before anything is allocated for it.
func TestReplyCapBoundsMemory(t *testing.T) {
	for _, wire := range []string{
		"$2000000000\r\n", "*100000000\r\n", "%100000000\r\n", "~50000\r\n",
		"+" + strings.Repeat("a", 5000) + "\r\n",
		"$3000\r\n" + strings.Repeat("a", 3000) + "\r\n",
	} {
		if _, err := parse(t, wire, 2048); err != ErrReplyTooLarge {
			t.Errorf("%.20q: err %v, want ErrReplyTooLarge", wire, err)
		}
	}
	if _, err := parse(t, "$1000\r\n"+strings.Repeat("a", 1000)+"\r\n", 2048); err != nil {
		t.Errorf("a reply within the cap was refused: %v", err)
	}
}

func TestCommandEncoding(t *testing.T) {
	b, ok := appendCommand(nil, []any{"SET", []byte("k\r\n"), 12, int64(-3), uint64(7)})
	if !ok {
		t.Fatal("refused")
	}
	want := "*5\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n12\r\n$2\r\n-3\r\n$1\r\n7\r\n"
	if string(b) != want {
		t.Fatalf("got %q want %q", b, want)
	}
	if _, ok := appendCommand(nil, []any{"GET", 1.5}); ok {
		t.Fatal("float argument accepted")
	}
}

// FuzzReplyParser: whatever the bytes, the reader returns a value or an error, never
// panics, never charges more than the cap, and its fast path (the scalar replies
// decoded inline in readReply) agrees with the general reader.
func FuzzReplyParser(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", "-ERR x\r\n", ":1\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*2\r\n+a\r\n:1\r\n", "*-1\r\n", "_\r\n",
		",1.5\r\n", ",inf\r\n", "#t\r\n", "!3\r\nERR\r\n", "=7\r\ntxt:abc\r\n", "(123\r\n", "%1\r\n+a\r\n+b\r\n",
		"~1\r\n+a\r\n", ">2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n", ">2\r\n+invalidate\r\n_\r\n",
		"|1\r\n+a\r\n+b\r\n+c\r\n", "*1\r\n*1\r\n*1\r\n:0\r\n", "$5\r\nab\r\n", "*3\r\n", "+\r\n", ":+1\r\n", "$+3\r\nabc\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 4096
		fast, ferr := readReply(bufio.NewReaderSize(bytes.NewReader(data), 16), max)
		budget := max
		slow, serr := readValue(bufio.NewReaderSize(bytes.NewReader(data), 16), &budget, 0)
		if serr == nil && budget < 0 {
			t.Fatalf("budget overdrawn: %d", budget)
		}
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("%q: fast path error %v, general reader error %v", data, ferr, serr)
		}
		if ferr == nil && !sameValue(fast, slow) {
			t.Fatalf("%q: fast path %#v, general reader %#v", data, fast, slow)
		}
	})
}

// sameValue compares two replies field by field (an empty and a nil Str are equal;
// NaN equals NaN).
func sameValue(a, b Value) bool {
	if a.Type != b.Type || a.Null != b.Null || a.Bool != b.Bool || a.Int != b.Int || a.Format != b.Format ||
		!bytes.Equal(a.Str, b.Str) || len(a.Elems) != len(b.Elems) || (a.Attr == nil) != (b.Attr == nil) {
		return false
	}
	if a.Float != b.Float && !(math.IsNaN(a.Float) && math.IsNaN(b.Float)) {
		return false
	}
	for i := range a.Elems {
		if !sameValue(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	return a.Attr == nil || sameValue(*a.Attr, *b.Attr)
}
