package oidc_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc/oidctest"
)

// TestAccessTokenRules runs every access-token case of oidctest (the same cases run
// under Yaegi in internal/yaegihost): each rule of docs/BEARER.md refuses what it
// must, with its own error, and lets its boundary through.
func TestAccessTokenRules(t *testing.T) {
	lines := oidctest.Run()
	if len(lines) < 40 {
		t.Fatalf("only %d cases", len(lines))
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "[as expected]") {
			t.Error(l)
		}
	}
}

// FuzzStoredIDTokenClaims: whatever a stored ID token holds, reading it back never
// panics, and what it returns came from the payload segment.
func FuzzStoredIDTokenClaims(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSIsInN1YiI6ImFsaWNlIiwiYXVkIjpbImEiLCJiIl0sIm5vbmNlIjoibiJ9.c2ln")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("no-dots")
	f.Add("x.eyJhdWQiOltbXV19.y")
	f.Add("x.eyJzdWIiOjF9.")
	f.Fuzz(func(t *testing.T, raw string) {
		tc, err := oidc.StoredIDTokenClaims(raw)
		if err != nil {
			return
		}
		if tc == nil || strings.Count(raw, ".") < 2 {
			t.Fatalf("accepted %q: %+v", raw, tc)
		}
	})
}
