package yaegihost

import (
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/oidc/logouttest"
)

// TestCheckLogoutTokenUnderYaegiMatchesCompiled runs the catalogue of valid and
// broken logout tokens (internal/oidc/logouttest) through oidc.CheckLogoutToken in
// the plugin's interpreter and compiled: every outcome is the expected one, and the
// two transcripts are identical line by line.
func TestCheckLogoutTokenUnderYaegiMatchesCompiled(t *testing.T) {
	h := host(t)
	if err := h.Import("github.com/gatehouse-oidc/gatehouse/internal/oidc/logouttest"); err != nil {
		t.Fatal(err)
	}
	v, err := h.Eval("logouttest.Run")
	if err != nil {
		t.Fatal(err)
	}
	interpreted := v.Interface().(func() []string)()
	compiled := logouttest.Run()
	if len(compiled) < 40 {
		t.Fatalf("only %d cases", len(compiled))
	}
	for _, line := range compiled {
		if strings.Contains(line, "[UNEXPECTED") {
			t.Errorf("compiled: %s", line)
		}
	}
	compareLines(t, "logouttest.Run", compiled, interpreted)
}
