package logging

import (
	"bytes"
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
	a, b := ID("alice@example.com"), ID("alice@example.com")
	if a != b || len(a) != 14 || strings.Contains(a, "alice") {
		t.Fatalf("ID = %q, %q", a, b)
	}
	if ID("bob") == a {
		t.Fatal("different inputs share an ID")
	}
}
