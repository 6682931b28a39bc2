package logging

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestLinesCarryLevelAndMiddlewareName(t *testing.T) {
	var buf bytes.Buffer
	l := New("sso@file", "info", &buf)
	l.Debugf("hidden %d", 1)
	l.Debug(EventSessionRefused, "hidden too", nil)
	l.Info(EventLoginSucceeded, "shown", Fields{"user": "h:0123", "n": 2})
	l.Error(EventInternalError, "bad", nil)
	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Fatalf("debug line written at info level: %q", out)
	}
	for _, want := range []string{`level=info plugin=gatehouse middleware="sso@file" event=login.succeeded msg="shown" n=2 user=h:0123` + "\n",
		`level=error plugin=gatehouse middleware="sso@file" event=internal.error msg="bad"` + "\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log %q lacks %q", out, want)
		}
	}
}

func TestTokensNeverReachTheLog(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"
	var buf bytes.Buffer
	l := New("x", "debug", &buf)
	l.Debugf("token %s and header Authorization: Bearer abc.def-ghi and basic dXNlcjpwYXNz", jwt)
	l.Info(EventBearerRefused, "refused", Fields{"reason": "header Bearer abc.def-ghi", "err": errors.New("token " + jwt), "other": []string{jwt}})
	out := buf.String()
	for _, secret := range []string{jwt, "eyJzdWIiOiJhbGljZSJ9", "abc.def-ghi", "dXNlcjpwYXNz"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log line %q contains %q", out, secret)
		}
	}
	if !strings.Contains(out, "[redacted]") {
		t.Fatalf("no redaction marker in %q", out)
	}
}

func TestIDIsShortStableAndHidesTheInput(t *testing.T) {
	l := NewKeyed("x", "info", nil, []byte("0123456789abcdef0123456789abcdef"))
	a, b := l.ID("alice@example.com"), l.ID("alice@example.com")
	if a != b || len(a) != 14 || !strings.HasPrefix(a, "h:") || strings.Contains(a, "alice") {
		t.Fatalf("ID = %q, %q", a, b)
	}
	if l.ID("bob") == a {
		t.Fatal("different inputs share an ID")
	}
}

// TestUnkeyedHashOfAnIPv4AddressCannotBeLookedUp is the brute force the keyed hash
// refuses: every IPv4 address hashes in minutes, so an unkeyed SHA-256 of a client
// address names it. The same address under two keys gives unrelated hashes, neither
// of which is the plain SHA-256 prefix an attacker would tabulate.
func TestUnkeyedHashOfAnIPv4AddressCannotBeLookedUp(t *testing.T) {
	const ip = "203.0.113.7"
	plain := sha256.Sum256([]byte(ip))
	table := "h:" + hex.EncodeToString(plain[:6])
	k1 := NewKeyed("a", "info", nil, []byte("first-session-key-0123456789abcdef"))
	k2 := NewKeyed("a", "info", nil, []byte("other-session-key-0123456789abcdef"))
	if k1.ID(ip) == table || k2.ID(ip) == table {
		t.Fatal("the keyed hash equals the unkeyed SHA-256 prefix")
	}
	if k1.ID(ip) == k2.ID(ip) {
		t.Fatal("two keys hash an address alike")
	}
	u1, u2 := New("a", "info", nil), New("a", "info", nil)
	if u1.ID(ip) == u2.ID(ip) {
		t.Fatal("two unkeyed loggers share a hash key")
	}
}

// TestReplicasWithTheSameKeyNameTheSameIdentifierAlike: the replicas of one
// middleware (same key) correlate; the raw value never appears in a line.
func TestReplicasWithTheSameKeyNameTheSameIdentifierAlike(t *testing.T) {
	key := []byte("shared-session-key-0123456789abcdef")
	var a, b bytes.Buffer
	ra, rb := NewKeyed("sso@file", "info", &a, key), NewKeyed("sso@file", "info", &b, key)
	ra.Info(EventLoginSucceeded, "signed in", Fields{"user": ra.ID("usr_alice")})
	rb.Info(EventLoginSucceeded, "signed in", Fields{"user": rb.ID("usr_alice")})
	la, lb := a.String(), b.String()
	if strings.Contains(la+lb, "usr_alice") {
		t.Fatalf("raw identifier logged: %q %q", la, lb)
	}
	if la[strings.Index(la, "msg="):] != lb[strings.Index(lb, "msg="):] {
		t.Fatalf("replicas name one user differently: %q vs %q", la, lb)
	}
}

// TestFirstTimeIsOncePerKeyWithBoundedMemory: a key is new once; a flood of distinct
// keys (one refused group name per request, each different) never holds more than
// maxSeen of them, and a forgotten key is reported again.
func TestFirstTimeIsOncePerKeyWithBoundedMemory(t *testing.T) {
	l := New("x", "info", nil)
	if !l.FirstTime("sales,admins") || l.FirstTime("sales,admins") {
		t.Fatal("a key was not new exactly once")
	}
	long := strings.Repeat("g", 10000)
	if !l.FirstTime(long) || l.FirstTime(long+"-other-tail") {
		t.Fatal("long keys are not cut to a bounded length")
	}
	for i := 0; i < 10*maxSeen; i++ {
		l.FirstTime("group-" + strconv.Itoa(i))
		if len(l.seen) > maxSeen {
			t.Fatalf("%d keys remembered, more than %d", len(l.seen), maxSeen)
		}
	}
	if !l.FirstTime("sales,admins") {
		t.Fatal("a key forgotten long ago was not reported again")
	}
}

// TestJSONFormatWritesOneObjectPerLine: each line parses on its own as an object with
// time, level, plugin, middleware, event, msg and fields, and nothing else.
func TestJSONFormatWritesOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(Options{Name: "sso@file", Level: "debug", Format: "json", Out: &buf, IDKey: []byte("k")})
	l.Info(EventLoginSucceeded, "signed in", Fields{"user": l.ID("alice"), "client": l.Client("203.0.113.7"), "n": 3, "ok": true})
	l.Warn(EventThrottleBlocked, "line with \"quotes\"\nand a newline", Fields{"err": errors.New("Bearer abc.def")})
	l.Debugf("free %s", "form")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3: %q", len(lines), buf.String())
	}
	var first map[string]any
	for i, line := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d is not a JSON object: %v: %s", i, err, line)
		}
		for _, k := range []string{"time", "level", "plugin", "middleware", "event", "msg"} {
			if _, ok := obj[k]; !ok {
				t.Fatalf("line %d lacks %s: %s", i, k, line)
			}
		}
		if i == 0 {
			first = obj
		}
	}
	f, _ := first["fields"].(map[string]any)
	if first["event"] != "login.succeeded" || first["middleware"] != "sso@file" || first["level"] != "info" ||
		f["client"] != "203.0.113.7" || f["n"] != 3.0 || f["ok"] != true || !strings.HasPrefix(f["user"].(string), "h:") {
		t.Fatalf("first line: %s", lines[0])
	}
	if strings.Contains(lines[1], "abc.def") || !strings.Contains(lines[1], "[redacted]") {
		t.Fatalf("a credential in a field reached the JSON log: %s", lines[1])
	}
	if !strings.Contains(lines[2], `"event":"debug"`) {
		t.Fatalf("Debugf line: %s", lines[2])
	}
}

// TestClientAddressesAreClearUnlessHashed: Client writes the address as it is by
// default (fail2ban, audits), and a keyed hash with log.hashClientIP.
func TestClientAddressesAreClearUnlessHashed(t *testing.T) {
	clear := NewLogger(Options{Name: "a", IDKey: []byte("k")})
	hashed := NewLogger(Options{Name: "a", IDKey: []byte("k"), HashClientIP: true})
	if got := clear.Client("203.0.113.7"); got != "203.0.113.7" {
		t.Fatalf("clear: %q", got)
	}
	if got := hashed.Client("203.0.113.7"); got != hashed.ID("203.0.113.7") || strings.Contains(got, "203.0") {
		t.Fatalf("hashed: %q", got)
	}
}
