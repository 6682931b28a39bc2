package oidc_test

import (
	"strings"
	"testing"

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
