// Command testsummary turns `go test -json` into the output people read and a count
// that make test prints at the end.
//
// Running one `go test` invocation:
//
//	testsummary -record compiled.json -- go test -json ./...
//
// runs the command, prints what plain `go test` prints — one line per package, and
// the output of failing tests only — and records the counts and the command's exit
// status in compiled.json. Closing:
//
//	testsummary -close -start <unix seconds> [-step-failed "go vet (root)"]... compiled.json yaegi.json
//
// prints the failures again in one place, why tests were skipped, a line with the
// packages and the wall time, and last the plain closing line
// "tests: N passed, N failed, N skipped"; it exits 1 when anything failed, when a
// step failed, or when a record is missing (its run died before reporting).
//
// Skipped tests are expected only where a test says "make test-all:" in its skip
// message (slow scenarios that make test leaves to make test-all); any other skip
// is listed as such.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent, plus the build
// events of Go 1.24 and later).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

// record is what one run leaves for the closing summary.
type record struct {
	Label          string
	Packages       int // packages whose tests ran
	NoTests        int // packages without test files
	Passed         int
	Failed         int
	Skipped        int
	FailedTests    []string            // "pkg TestX/sub"
	FailedPackages []string            // packages that failed (tests, build, timeout, panic)
	Skips          map[string][]string // reason -> tests
	ExitCode       int                 // the go command's
	Slowest        []timing            // the slowest top-level tests
}

// timing is how long one top-level test took.
type timing struct {
	Test    string
	Seconds float64
}

// deliberate marks a skip message of a test that make test leaves to make test-all.
const deliberate = "make test-all:"

func main() {
	recordTo := flag.String("record", "", "run the command after --, a go test -json, print its output readably, record the counts in this file")
	closing := flag.Bool("close", false, "summarise the record files given as arguments")
	start := flag.Int64("start", 0, "with -close: when the whole run started (Unix seconds), for the wall time")
	var steps stepList
	flag.Var(&steps, "step-failed", "with -close: a step that failed outside the test runs (repeatable)")
	flag.Parse()
	switch {
	case *recordTo != "" && flag.NArg() > 0:
		cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
		cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(2)
		}
		r := read(stdout, os.Stdout)
		if err := cmd.Wait(); err != nil {
			r.ExitCode = 1
			if ee, ok := err.(*exec.ExitError); ok {
				r.ExitCode = ee.ExitCode()
			}
		}
		r.Label = strings.TrimSuffix(baseName(*recordTo), ".json")
		b, _ := json.Marshal(r)
		if err := os.WriteFile(*recordTo, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(2)
		}
	case *closing:
		os.Exit(summarise(os.Stdout, flag.Args(), steps, *start, time.Now()))
	default:
		flag.Usage()
		os.Exit(2)
	}
}

type stepList []string

func (s *stepList) String() string     { return strings.Join(*s, ", ") }
func (s *stepList) Set(v string) error { *s = append(*s, v); return nil }

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// read consumes a go test -json stream, writes what plain go test would show to out,
// and counts. Lines that are not JSON (a panic of the go command itself) pass
// through unchanged.
func read(in io.Reader, out io.Writer) *record {
	r := &record{Skips: map[string][]string{}}
	type key struct{ pkg, test string }
	buffered := map[key][]string{} // a running test's output, shown only if it fails
	testsRan := map[string]bool{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
			continue
		case "build-fail":
			r.FailedPackages = append(r.FailedPackages, e.ImportPath+" (build)")
			continue
		}
		k := key{e.Package, e.Test}
		if e.Test == "" {
			switch e.Action {
			case "output":
				// Plain go test prints a bare PASS only with -v.
				if e.Output != "PASS\n" {
					fmt.Fprint(out, e.Output)
				}
			case "pass":
				if testsRan[e.Package] {
					r.Packages++
				}
			case "skip":
				r.NoTests++
			case "fail":
				r.Packages++
				name := e.Package
				if e.FailedBuild != "" {
					name += " (build)"
				}
				r.FailedPackages = append(r.FailedPackages, name)
				// A timeout or a panic ends the binary inside running tests: show
				// what they had printed.
				var open []string
				for bk := range buffered {
					if bk.pkg == e.Package {
						open = append(open, bk.test)
					}
				}
				sort.Strings(open)
				for _, t := range open {
					fmt.Fprintf(out, "--- output of %s, still running when the package failed:\n", t)
					for _, l := range buffered[key{e.Package, t}] {
						fmt.Fprint(out, l)
					}
					delete(buffered, key{e.Package, t})
				}
			}
			continue
		}
		testsRan[e.Package] = true
		switch e.Action {
		case "output":
			if !strings.HasPrefix(e.Output, "=== ") {
				buffered[k] = append(buffered[k], e.Output)
			}
		case "pass":
			r.Passed++
			delete(buffered, k)
			if !strings.Contains(e.Test, "/") {
				r.Slowest = append(r.Slowest, timing{shortPkg(e.Package) + " " + e.Test, e.Elapsed})
			}
		case "fail":
			r.Failed++
			r.FailedTests = append(r.FailedTests, shortPkg(e.Package)+" "+e.Test)
			for _, l := range buffered[k] {
				fmt.Fprint(out, l)
			}
			delete(buffered, k)
		case "skip":
			r.Skipped++
			reason := skipReason(buffered[k])
			r.Skips[reason] = append(r.Skips[reason], shortPkg(e.Package)+" "+e.Test)
			delete(buffered, k)
		}
	}
	r.Slowest = slowestOf(r.Slowest)
	return r
}

// slowestOf sorts timings, slowest first, and keeps as many as the summary names.
func slowestOf(ts []timing) []timing {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Seconds > ts[j].Seconds })
	if len(ts) > 6 {
		ts = ts[:6]
	}
	return ts
}

// skipReason is the message a skipped test gave: its last output line that is not
// the "--- SKIP" line, without the file:line prefix.
func skipReason(lines []string) string {
	reason := "(no reason given)"
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		if i := strings.Index(l, ": "); i > 0 && strings.Contains(l[:i], ".go:") {
			l = l[i+2:]
		}
		reason = l
	}
	return reason
}

func shortPkg(p string) string {
	const module = "github.com/gatehouse-oidc/gatehouse"
	if p == module {
		return "."
	}
	return strings.TrimPrefix(p, module+"/")
}

// summarise prints the closing summary of the records and returns the exit code.
func summarise(out io.Writer, files []string, steps []string, start int64, now time.Time) int {
	var total record
	total.Skips = map[string][]string{}
	var missing, labels []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		var r record
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			missing = append(missing, strings.TrimSuffix(baseName(f), ".json"))
			continue
		}
		labels = append(labels, fmt.Sprintf("%s %d", r.Label, r.Packages))
		total.Packages += r.Packages
		total.NoTests += r.NoTests
		total.Passed += r.Passed
		total.Failed += r.Failed
		total.Skipped += r.Skipped
		total.FailedTests = append(total.FailedTests, r.FailedTests...)
		total.FailedPackages = append(total.FailedPackages, r.FailedPackages...)
		if r.ExitCode != 0 && r.Failed == 0 && len(r.FailedPackages) == 0 {
			// The go command failed before any package did (a module that does not
			// load, a flag it refuses): what it said is above.
			steps = append(steps, fmt.Sprintf("go test (%s) exited %d", r.Label, r.ExitCode))
		}
		for reason, tests := range r.Skips {
			total.Skips[reason] = append(total.Skips[reason], tests...)
		}
		total.Slowest = append(total.Slowest, r.Slowest...)
	}
	fmt.Fprintln(out)
	failed := len(missing) > 0 || len(steps) > 0 || total.Failed > 0 || len(total.FailedPackages) > 0
	for _, s := range steps {
		fmt.Fprintln(out, "FAILED step:", s)
	}
	for _, m := range missing {
		fmt.Fprintln(out, "FAILED run:", m, "(no summary: the run did not finish)")
	}
	for _, p := range total.FailedPackages {
		fmt.Fprintln(out, "FAILED package:", p)
	}
	for _, t := range total.FailedTests {
		fmt.Fprintln(out, "FAILED test:", t)
	}
	var reasons []string
	for reason := range total.Skips {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	moved := 0
	for _, reason := range reasons {
		tests := total.Skips[reason]
		if strings.HasPrefix(reason, deliberate) {
			moved += len(tests)
			fmt.Fprintf(out, "skipped %d (%s): %s\n", len(tests), reason, strings.Join(tests, ", "))
			continue
		}
		fmt.Fprintf(out, "SKIPPED unexpectedly %d (%s): %s\n", len(tests), reason, strings.Join(tests, ", "))
	}
	var slow []string
	for _, s := range slowestOf(total.Slowest) {
		slow = append(slow, fmt.Sprintf("%s %.0fs", s.Test, s.Seconds))
	}
	if len(slow) > 0 {
		fmt.Fprintln(out, "slowest tests:", strings.Join(slow, ", "))
	}
	wall := ""
	if start > 0 {
		wall = ", wall time " + now.Sub(time.Unix(start, 0)).Round(time.Second).String()
	}
	verdict := "PASS"
	if failed {
		verdict = "FAIL"
	}
	// A failure that is no test's (a step, a run that died, a package that did not
	// build or panicked outside any test) counts as one failed test, so the closing
	// line never reads "0 failed" for a failed run.
	failures := total.Failed + len(steps) + len(missing)
	for _, p := range total.FailedPackages {
		name := strings.TrimSuffix(p, " (build)")
		hasTest := false
		for _, t := range total.FailedTests {
			if strings.HasPrefix(t, shortPkg(name)+" ") {
				hasTest = true
			}
		}
		if !hasTest {
			failures++
		}
	}
	fmt.Fprintf(out, "%s: %d packages tested (%s; %d without tests)%s; %d skipped tests are slow scenarios left to make test-all\n",
		verdict, total.Packages, strings.Join(labels, ", "), total.NoTests, wall, moved)
	fmt.Fprintf(out, "tests: %d passed, %d failed, %d skipped\n", total.Passed, failures, total.Skipped)
	if failed {
		return 1
	}
	return 0
}
