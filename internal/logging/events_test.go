package logging

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// pluginSources returns the parsed non-test Go files of the plugin: the root package
// and everything under internal/ but the test host, the test provider and the test
// servers.
func pluginSources(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	root := filepath.Join("..", "..")
	skip := map[string]bool{"yaegihost": true, "testop": true, "redistest": true}
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] || strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("only %d plugin files found", len(files))
	}
	return fset, files
}

// eventConstants returns the Event* constants of this package's event files
// (events.go, admin_events.go, ...) by name, with their values.
func eventConstants(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("*events.go")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no event files: %v", err)
	}
	out := map[string]string{}
	for _, p := range paths {
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		eventConstantsOf(t, f, out)
	}
	return out
}

func eventConstantsOf(t *testing.T, f *ast.File, out map[string]string) {
	t.Helper()
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s is not a string literal", n.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				if _, dup := out[n.Name]; dup {
					t.Fatalf("%s declared twice", n.Name)
				}
				out[n.Name] = v
			}
		}
	}
}

// documentedEvents returns the events of docs/OPERATIONS.md's event table.
func documentedEvents(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "### Log events")
	if i < 0 {
		t.Fatal("docs/OPERATIONS.md has no Log events section")
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| (debug|info|warn|error)")
	out := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(doc[i:], -1) {
		out[m[1]] = true
	}
	return out
}

// checkEventArg reports a log call whose event argument is not an Event constant.
func checkEventArg(t *testing.T, fset *token.FileSet, call *ast.CallExpr, arg ast.Expr, consts map[string]string) {
	t.Helper()
	name := ""
	switch ev := arg.(type) {
	case *ast.SelectorExpr:
		name = ev.Sel.Name
	case *ast.Ident:
		name = ev.Name
	}
	if _, ok := consts[name]; !ok {
		t.Errorf("%s: a log line whose event is not an Event constant of internal/logging's event files", fset.Position(call.Pos()))
	}
}

// TestEveryLoggedEventIsDocumented: every line the plugin logs names its event with
// a constant of events.go (never a literal, never a name made up at the call), every
// constant is used, and docs/OPERATIONS.md documents exactly those events.
func TestEveryLoggedEventIsDocumented(t *testing.T) {
	consts := eventConstants(t)
	documented := documentedEvents(t)
	fset, files := pluginSources(t)
	used := map[string]bool{}
	levels := map[string]bool{"Debug": true, "Info": true, "Warn": true, "Error": true}
	calls := 0
	// forwarders are helpers that take the event as a parameter named event and
	// log it; their callers must pass an Event constant as that argument.
	forwarders := map[string]int{"logEvent": 2}
	for _, f := range files {
		var fn string
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				fn = x.Name.Name
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == "logging" && strings.HasPrefix(x.Sel.Name, "Event") {
					used[x.Sel.Name] = true
				}
			case *ast.CallExpr:
				if id, ok := x.Fun.(*ast.Ident); ok {
					if i, fw := forwarders[id.Name]; fw && len(x.Args) > i {
						calls++
						checkEventArg(t, fset, x, x.Args[i], consts)
					}
					return true
				}
				sel, ok := x.Fun.(*ast.SelectorExpr)
				if !ok || !levels[sel.Sel.Name] || len(x.Args) != 3 {
					return true
				}
				if _, fw := forwarders[fn]; fw {
					if id, ok := x.Args[0].(*ast.Ident); ok && id.Name == "event" {
						return true // the forwarder passes its caller's constant on
					}
				}
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "http" {
					return true // http.Error(w, text, status)
				}
				calls++
				checkEventArg(t, fset, x, x.Args[0], consts)
			}
			return true
		})
	}
	if calls < 40 {
		t.Fatalf("only %d log calls found: is the scan looking at the right files?", calls)
	}
	used["EventDebug"] = true // Logger.Debugf's
	var names []string
	for name := range consts {
		names = append(names, name)
	}
	sort.Strings(names)
	values := map[string]bool{}
	for _, name := range names {
		v := consts[name]
		values[v] = true
		if !used[name] {
			t.Errorf("%s (%q) is declared but never logged", name, v)
		}
		if !documented[v] {
			t.Errorf("event %q (%s) is not documented in docs/OPERATIONS.md's event table", v, name)
		}
	}
	for v := range documented {
		if !values[v] {
			t.Errorf("docs/OPERATIONS.md documents event %q, which the code does not have", v)
		}
	}
}
