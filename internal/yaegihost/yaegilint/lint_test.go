package yaegilint

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// Each snippet must produce its rule, and the fixed version must produce none.
func TestEveryRuleFires(t *testing.T) {
	cases := map[string]string{
		"tagless-switch-multi-case": `func f(b byte) bool { switch { case b == 'a', b == 'b': return true }; return false }`,
		"labeled-break":             `func f(c chan int) { L: for { select { case <-c: break L } } }`,
		"return-receive":            `func f(c chan int) int { return <-c }`,
		"builtin-min":               `func f(a, b int) int { return min(a, b) }`,
		"unsupported-api":           `import "errors"; func f(e error) bool { var t *int; return errors.As(e, &t) }`,
		"method-expression":         `type T struct{}; func (*T) M() {}; var g = (*T).M`,
		"range-over-int":            `func f() { for i := range 10 { _ = i } }`,
		"loop-capture":              `func f(xs []int) { for _, x := range xs { go func() { _ = x }() } }`,
		"defer-args":                `import "fmt"; func f(x int) { defer fmt.Println(x) }`,
		"json-method":               `type T struct{}; func (T) MarshalJSON() ([]byte, error) { return nil, nil }`,
		"embedded-mutex":            `import "sync"; type T struct{ sync.Mutex }`,
		"multi-assign-call":         `func g() int { return 1 }; func f() (int, int) { var a, b int; a, b = g(), 3; return a, b }`,
		"multi-assign-composite":    `func f() (int, []string) { n, s := 5, []string{"y"}; return n, s }`,
		"multi-assign-nil":          `type N struct{ a, b *N }; func f(n *N) { n.a, n.b = nil, nil }`,
		"unnamed-closure-param":     `var f = func(error) {}`,
	}
	for rule, src := range cases {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", "package p\n"+strings.ReplaceAll(src, "; ", "\n"), 0)
		if err != nil {
			t.Fatalf("%s: %v", rule, err)
		}
		found := false
		for _, fd := range CheckFile(fset, f) {
			if fd.Rule == rule {
				found = true
			}
		}
		if !found {
			t.Errorf("rule %s did not fire on %s", rule, src)
		}
	}
}

func TestPlainEquivalentsPass(t *testing.T) {
	src := `package p
import "sync"
type T struct{ mu sync.Mutex }
func f(b byte, xs []int, c chan int) int {
	switch { case b == 'a' || b == 'b': return 1 }
	switch b { case 'a', 'b': return 2 }
	for _, x := range xs { x := x; go func() { _ = x }() }
	for i := 0; i < len(xs); i++ { _ = i }
	v := <-c
	defer func() { _ = v }()
	return v
}
func g() int { return 1 }
func h() (int, int) { a, b := g(), 3; var c, d = g(), 4; var e, f2 int; e, f2 = 1+g(), 5; e, f2 = f2, e; return a + b + c + d + e, f2 }
func g2() (int, *T, []int) { n, p := 1, &T{}; s := []int{n}; a, b := len(s), cap(s); return n + a + b, p, s }
var x, y = 1, []int(nil)
func min(a, b int) int { if a < b { return a }; return b }
var _ = min(1, 2)
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fs := CheckFile(fset, f); len(fs) > 0 {
		t.Fatalf("false positives: %v", fs)
	}
}

func TestImportRule(t *testing.T) {
	src := `package p
import (
	"net/http"
	"example.com/mod/internal/x"
	"github.com/redis/go-redis/v9"
	"os/exec"
)
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := CheckImports(fset, f, "example.com/mod")
	if len(got) != 2 || got[0].Rule != "non-stdlib-import" || got[1].Rule != "unavailable-import" {
		t.Fatalf("findings: %v", got)
	}
}
