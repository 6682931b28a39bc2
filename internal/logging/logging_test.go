package logging

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
)

func TestLinesCarryLevelAndMiddlewareName(t *testing.T) {
	var buf bytes.Buffer
	l := New("sso@file", "info", &buf)
	l.Debugf("hidden %d", 1)
	l.Infof("shown %d", 2)
	l.Errorf("bad")
	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Fatalf("debug line written at info level: %q", out)
	}
	for _, want := range []string{`level=info plugin=gatehouse middleware="sso@file" msg="shown 2"`, `level=error`} {
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
	ra.Infof("signed in %s", ra.ID("usr_alice"))
	rb.Infof("signed in %s", rb.ID("usr_alice"))
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
