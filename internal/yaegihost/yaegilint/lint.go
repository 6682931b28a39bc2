// Package yaegilint finds, in plugin source, the Go constructs that Yaegi v0.16.1 runs
// differently from the compiler (docs/YAEGI-NOTES.md lists them, with what each one
// does). It is syntactic and deliberately strict: a finding is a place to
// rewrite, not a proof of a bug. Write the plain equivalent instead of silencing it.
package yaegilint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// NotPlugin lists the directories under the repository root whose code Traefik never
// interprets (test provider, test helpers, the demo, this host).
var NotPlugin = []string{"internal/testop", "internal/yaegihost", "internal/redistest", "internal/demo"}

// Finding is one construct to rewrite.
type Finding struct {
	Pos  token.Position
	Rule string
	Msg  string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", f.Pos.Filename, f.Pos.Line, f.Pos.Column, f.Rule, f.Msg)
}

// banned are selector calls and types that Yaegi's Go 1.22 symbol tables lack or
// mishandle.
var banned = map[string]string{
	"errors.As":        "panics with an interpreted target type; compare sentinels or use a small interface",
	"atomic.Pointer":   "undefined under Yaegi; use atomic.Value or a mutex",
	"sync.OnceValue":   "undefined under Yaegi; use sync.Once",
	"sync.OnceValues":  "undefined under Yaegi; use sync.Once",
	"sync.OnceFunc":    "undefined under Yaegi; use sync.Once",
	"strings.SplitSeq": "Go 1.24 API, undefined under Yaegi",
	"strings.Lines":    "Go 1.24 API, undefined under Yaegi",
	"bytes.SplitSeq":   "Go 1.24 API, undefined under Yaegi",
	"slices.Clone":     "undefined under Yaegi; copy by hand",
	"slices.Equal":     "undefined under Yaegi",
	"slices.Insert":    "undefined under Yaegi",
	"slices.Delete":    "undefined under Yaegi",
	"slices.Sort":      "undefined under Yaegi; use sort.Strings/sort.Slice",
	"slices.SortFunc":  "undefined under Yaegi; use sort.Slice",
	"slices.Max":       "undefined under Yaegi",
	"slices.Min":       "undefined under Yaegi",
	"slices.Reverse":   "undefined under Yaegi",
	"slices.Compact":   "undefined under Yaegi",
	"maps.Keys":        "undefined under Yaegi",
	"maps.Values":      "undefined under Yaegi",
	"maps.Clone":       "undefined under Yaegi",
	"maps.Equal":       "undefined under Yaegi",
}

// CheckDir parses every non-test .go file directly in dir. Imports must be standard
// library or below module.
func CheckDir(dir, module string) ([]Finding, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		out = append(out, CheckFile(fset, f)...)
		out = append(out, CheckImports(fset, f, module)...)
	}
	return out, nil
}

// CheckImports reports imports Traefik's Yaegi cannot satisfy: anything outside the
// standard library and module, and the standard packages it leaves out.
func CheckImports(fset *token.FileSet, f *ast.File, module string) []Finding {
	var out []Finding
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, "\"`")
		first := strings.SplitN(p, "/", 2)[0]
		switch {
		case p == module || strings.HasPrefix(p, module+"/"):
		case strings.Contains(first, "."):
			out = append(out, Finding{Pos: fset.Position(imp.Pos()), Rule: "non-stdlib-import", Msg: p + ": plugin code may import only the standard library"})
		case p == "unsafe" || p == "syscall" || p == "os/exec" || p == "plugin" || p == "C" || strings.HasPrefix(p, "runtime/"):
			out = append(out, Finding{Pos: fset.Position(imp.Pos()), Rule: "unavailable-import", Msg: p + " is not available to plugins under Traefik's Yaegi"})
		}
	}
	return out
}

// CheckTree checks every package directory under root, skipping testdata, hidden
// directories, nested modules and the directories listed in skip (relative, slash
// separated).
func CheckTree(root, module string, skip []string) ([]Finding, error) {
	var out []Finding
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel != "." {
			base := d.Name()
			if strings.HasPrefix(base, ".") || base == "testdata" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			for _, s := range skip {
				if rel == s || strings.HasPrefix(rel, s+"/") {
					return filepath.SkipDir
				}
			}
		}
		fs, err := CheckDir(p, module)
		out = append(out, fs...)
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, err
}

// CheckFile reports the Yaegi traps in one parsed file.
func CheckFile(fset *token.FileSet, f *ast.File) []Finding {
	var out []Finding
	add := func(n ast.Node, rule, msg string) {
		out = append(out, Finding{Pos: fset.Position(n.Pos()), Rule: rule, Msg: msg})
	}
	declared := map[string]bool{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
			declared[fd.Name.Name] = true
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SwitchStmt:
			if n.Tag == nil {
				for _, s := range n.Body.List {
					if cc, ok := s.(*ast.CaseClause); ok && len(cc.List) > 1 {
						add(cc, "tagless-switch-multi-case", "a tagless switch case with several expressions only tests the first under Yaegi; join them with ||")
					}
				}
			}
		case *ast.AssignStmt:
			// a, b = f(), x: under Yaegi the values that are not calls are lost (the
			// targets get zero values). := and var declarations are not affected.
			if n.Tok == token.ASSIGN && len(n.Rhs) > 1 {
				for _, r := range n.Rhs {
					if _, call := r.(*ast.CallExpr); call {
						add(n, "multi-assign-call", "a parallel assignment with a call among several values loses the other values under Yaegi; assign one by one")
						break
					}
				}
			}
			if len(n.Lhs) > 1 && len(n.Rhs) == len(n.Lhs) {
				for _, r := range n.Rhs {
					if id, ok := r.(*ast.Ident); ok && id.Name == "nil" {
						add(n, "multi-assign-nil", "a multiple assignment of untyped nil panics under Yaegi (reflect.New(nil)); assign one by one")
						break
					}
				}
			}
			if len(n.Lhs) > 1 && hasCompositeValue(n.Rhs) {
				add(n, "multi-assign-composite", "in a multi-value assignment with a composite literal on the right, Yaegi assigns zero to the other variables; assign it in its own statement")
			}
		case *ast.ValueSpec:
			if len(n.Names) > 1 && hasCompositeValue(n.Values) {
				add(n, "multi-assign-composite", "in a multi-value declaration with a composite literal on the right, Yaegi assigns zero to the other variables; declare it in its own statement")
			}
		case *ast.BranchStmt:
			if n.Label != nil && n.Tok == token.BREAK {
				add(n, "labeled-break", "break Label hangs when it leaves a select under Yaegi; restructure with a flag or a function")
			}
		case *ast.ReturnStmt:
			for _, r := range n.Results {
				if u, ok := r.(*ast.UnaryExpr); ok && u.Op == token.ARROW {
					add(n, "return-receive", "return <-ch panics under Yaegi; receive into a variable first")
				}
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && !declared[id.Name] {
				switch id.Name {
				case "min", "max", "clear":
					add(n, "builtin-"+id.Name, id.Name+" is undefined under Yaegi (Go 1.21 builtin)")
				}
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				if msg, bad := banned[x.Name+"."+n.Sel.Name]; bad {
					add(n, "unsupported-api", x.Name+"."+n.Sel.Name+": "+msg)
				}
			}
			if p, ok := n.X.(*ast.ParenExpr); ok {
				if _, star := p.X.(*ast.StarExpr); star {
					add(n, "method-expression", "method expressions (*T).M panic under Yaegi; use a closure")
				}
			}
		case *ast.RangeStmt:
			if isIntRange(n.X) {
				add(n, "range-over-int", "range over an integer panics under Yaegi; use a three-clause loop")
			}
			if n.Tok == token.DEFINE {
				checkLoopCapture(n.Body, loopVars(n.Key, n.Value), add)
			}
		case *ast.ForStmt:
			if as, ok := n.Init.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
				checkLoopCapture(n.Body, loopVars(as.Lhs...), add)
			}
		case *ast.FuncLit:
			for _, fld := range n.Type.Params.List {
				unnamed := len(fld.Names) == 0
				for _, nm := range fld.Names {
					if nm.Name == "_" {
						unnamed = true
					}
				}
				if unnamed {
					add(n, "unnamed-closure-param", "a function literal with an unnamed or _ parameter gets its arguments in the wrong frame slot under Yaegi when called through a func value; name every parameter")
					break
				}
			}
		case *ast.DeferStmt:
			if _, lit := n.Call.Fun.(*ast.FuncLit); !lit && len(n.Call.Args) > 0 {
				add(n, "defer-args", "deferred call arguments are evaluated at function exit under Yaegi; wrap in defer func() { … }()")
			}
		case *ast.FuncDecl:
			if n.Recv != nil {
				switch n.Name.Name {
				case "MarshalJSON", "UnmarshalJSON", "UnmarshalText", "MarshalText":
					add(n, "json-method", n.Name.Name+" on an interpreted type is ignored by encoding/json under Yaegi")
				}
			}
		case *ast.StructType:
			for _, fld := range n.Fields.List {
				if len(fld.Names) == 0 {
					if sel, ok := fld.Type.(*ast.SelectorExpr); ok {
						if x, ok := sel.X.(*ast.Ident); ok && x.Name == "sync" {
							add(fld, "embedded-mutex", "embedding sync."+sel.Sel.Name+" breaks under Yaegi; use a named field")
						}
					}
				}
			}
		}
		return true
	})
	return out
}

// hasCompositeValue reports whether one of several right-hand sides is a composite
// literal value ([]T{}, map[K]V{}, [n]T{}, T{}); &T{} is not affected.
func hasCompositeValue(values []ast.Expr) bool {
	if len(values) < 2 {
		return false
	}
	for _, v := range values {
		for {
			p, ok := v.(*ast.ParenExpr)
			if !ok {
				break
			}
			v = p.X
		}
		if _, ok := v.(*ast.CompositeLit); ok {
			return true
		}
	}
	return false
}

func isIntRange(x ast.Expr) bool {
	switch x := x.(type) {
	case *ast.BasicLit:
		return x.Kind == token.INT
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok && (id.Name == "len" || id.Name == "cap") {
			return true
		}
	}
	return false
}

func loopVars(exprs ...ast.Expr) map[string]bool {
	vars := map[string]bool{}
	for _, e := range exprs {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			vars[id.Name] = true
		}
	}
	return vars
}

// checkLoopCapture reports a function literal in a loop body that uses a loop
// variable directly: under Yaegi every iteration shares one variable (Go 1.21
// semantics), so goroutines and closures see the last value. A loop variable
// re-declared in the loop body before the literal (x := x), or declared inside the
// literal, is a different variable.
func checkLoopCapture(body *ast.BlockStmt, vars map[string]bool, add func(ast.Node, string, string)) {
	if body == nil || len(vars) == 0 {
		return
	}
	live := map[string]bool{}
	for k := range vars {
		live[k] = true
	}
	for _, stmt := range body.List {
		if as, ok := stmt.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					delete(live, id.Name)
				}
			}
		}
		ast.Inspect(stmt, func(n ast.Node) bool {
			lit, ok := n.(*ast.FuncLit)
			if !ok {
				return true
			}
			inner := map[string]bool{}
			for k := range live {
				inner[k] = true
			}
			for _, f := range lit.Type.Params.List {
				for _, nm := range f.Names {
					delete(inner, nm.Name)
				}
			}
			reported := map[string]bool{}
			ast.Inspect(lit.Body, func(m ast.Node) bool {
				switch m := m.(type) {
				case *ast.AssignStmt:
					if m.Tok == token.DEFINE {
						for _, l := range m.Lhs {
							if id, ok := l.(*ast.Ident); ok {
								delete(inner, id.Name)
							}
						}
					}
				case *ast.SelectorExpr:
					ast.Inspect(m.X, func(x ast.Node) bool { report(x, inner, reported, add); return true })
					return false
				case *ast.KeyValueExpr:
					if _, isID := m.Key.(*ast.Ident); isID {
						ast.Inspect(m.Value, func(x ast.Node) bool { report(x, inner, reported, add); return true })
						return false
					}
				}
				report(m, inner, reported, add)
				return true
			})
			return false
		})
	}
}

func report(n ast.Node, vars, reported map[string]bool, add func(ast.Node, string, string)) {
	if id, ok := n.(*ast.Ident); ok && vars[id.Name] && !reported[id.Name] {
		reported[id.Name] = true
		add(id, "loop-capture", "closure captures loop variable "+id.Name+", shared by all iterations under Yaegi; copy it first ("+id.Name+" := "+id.Name+")")
	}
}
