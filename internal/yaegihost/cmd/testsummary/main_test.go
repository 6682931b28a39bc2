package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stream is go test -json output of two packages: one passing, one with a failing, a
// skipped (left to make test-all) and a passing test.
const stream = `{"Action":"start","Package":"github.com/gatehouse-oidc/gatehouse/internal/a"}
{"Action":"run","Package":"github.com/gatehouse-oidc/gatehouse/internal/a","Test":"TestOK"}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/a","Test":"TestOK","Output":"    a_test.go:9: chatter of a passing test\n"}
{"Action":"pass","Package":"github.com/gatehouse-oidc/gatehouse/internal/a","Test":"TestOK","Elapsed":2.5}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/a","Output":"PASS\n"}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/a","Output":"ok  \tgithub.com/gatehouse-oidc/gatehouse/internal/a\t2.6s\n"}
{"Action":"pass","Package":"github.com/gatehouse-oidc/gatehouse/internal/a","Elapsed":2.6}
{"Action":"run","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Test":"TestBroken"}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Test":"TestBroken","Output":"    b_test.go:3: the reason it broke\n"}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Test":"TestBroken","Output":"--- FAIL: TestBroken (0.01s)\n"}
{"Action":"fail","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Test":"TestBroken","Elapsed":0.01}
{"Action":"run","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Test":"TestFailover"}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Test":"TestFailover","Output":"    b_test.go:7: make test-all: a Sentinel failover\n"}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Test":"TestFailover","Output":"--- SKIP: TestFailover (0.00s)\n"}
{"Action":"skip","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Test":"TestFailover"}
{"Action":"output","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Output":"FAIL\tgithub.com/gatehouse-oidc/gatehouse/internal/b\t0.1s\n"}
{"Action":"fail","Package":"github.com/gatehouse-oidc/gatehouse/internal/b","Elapsed":0.1}
`

// TestReadShowsFailuresOnlyAndCountsEverything: the readable output is what plain go
// test prints (package lines and the failing test's output, not a passing test's
// chatter); the record counts passes, failures and skips with their reasons.
func TestReadShowsFailuresOnlyAndCountsEverything(t *testing.T) {
	var out strings.Builder
	r := read(strings.NewReader(stream), &out)
	shown := out.String()
	for _, want := range []string{"ok  \tgithub.com/gatehouse-oidc/gatehouse/internal/a", "b_test.go:3: the reason it broke", "--- FAIL: TestBroken", "FAIL\tgithub.com/gatehouse-oidc/gatehouse/internal/b"} {
		if !strings.Contains(shown, want) {
			t.Errorf("output lacks %q:\n%s", want, shown)
		}
	}
	for _, unwanted := range []string{"chatter of a passing test", "=== RUN", "PASS\n"} {
		if strings.Contains(shown, unwanted) {
			t.Errorf("output shows %q:\n%s", unwanted, shown)
		}
	}
	if r.Passed != 1 || r.Failed != 1 || r.Skipped != 1 || r.Packages != 2 || len(r.FailedPackages) != 1 {
		t.Fatalf("record %+v", r)
	}
	if got := r.Skips["make test-all: a Sentinel failover"]; len(got) != 1 || got[0] != "internal/b TestFailover" {
		t.Fatalf("skips %v", r.Skips)
	}
}

// TestCloseFailsOnAFailureAStepOrAMissingRun: the closing summary lists failures,
// explains deliberate skips, ends with the plain "tests: N passed, N failed, N
// skipped" line, and exits 1 for a failed test, a failed step or a run without a
// record — and 0 for a clean run.
func TestCloseFailsOnAFailureAStepOrAMissingRun(t *testing.T) {
	dir := t.TempDir()
	failing := filepath.Join(dir, "compiled.json")
	b, _ := json.Marshal(read(strings.NewReader(stream), &strings.Builder{}))
	if err := os.WriteFile(failing, b, 0o644); err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join(dir, "yaegi.json")
	b, _ = json.Marshal(record{Label: "yaegi", Packages: 1, Passed: 3})
	if err := os.WriteFile(clean, b, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	var out strings.Builder
	if code := summarise(&out, []string{failing, clean}, nil, 700, now); code != 1 {
		t.Fatalf("exit %d with a failed test", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; last != "tests: 4 passed, 1 failed, 1 skipped" {
		t.Fatalf("closing line %q", last)
	}
	for _, want := range []string{"FAILED test: internal/b TestBroken", "skipped 1 (make test-all: a Sentinel failover)", "wall time 5m0s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if code := summarise(&strings.Builder{}, []string{clean}, nil, 0, now); code != 0 {
		t.Fatalf("exit %d for a clean run", code)
	}
	out.Reset()
	if code := summarise(&out, []string{clean}, []string{"go vet"}, 0, now); code != 1 || !strings.Contains(out.String(), "tests: 3 passed, 1 failed, 0 skipped") {
		t.Fatalf("exit %d for a failed step:\n%s", code, out.String())
	}
	if code := summarise(&strings.Builder{}, []string{clean, filepath.Join(dir, "missing.json")}, nil, 0, now); code != 1 {
		t.Fatalf("exit %d with a run that left no record", code)
	}
}
