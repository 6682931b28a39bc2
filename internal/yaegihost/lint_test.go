package yaegihost

import (
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost/yaegilint"
)

// TestPluginCodeHasNoYaegiTraps runs yaegilint over every package Traefik would
// interpret, so a construct Yaegi runs differently fails make test, not production.
func TestPluginCodeHasNoYaegiTraps(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	findings, err := yaegilint.CheckTree(root, ModuleName, yaegilint.NotPlugin)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
}
