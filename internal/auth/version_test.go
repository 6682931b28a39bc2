package auth

import (
	"os"
	"strings"
	"testing"
)

// TestVersionIsTheOneTheREADMEInstalls: the release health.path and
// gatehouse_build_info report is the tag the README's installation example names.
func TestVersionIsTheOneTheREADMEInstalls(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "version: "+Version+"\n") {
		t.Fatalf("README.md does not install version %s", Version)
	}
}
