package yaegihost

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// config.IdentifierProblem is the one rule that decides which identifiers Gatehouse
// forwards and matches (internal/config/identity.go). These tests hold it to its
// documentation over every Unicode code point, against golang.org/x/text's
// normalisation and case folding (test-only: plugin code is standard library only),
// and check that the interpreter runs it exactly as compiled Go does.

// invisibleGraphic are the default-ignorable code points that are nonetheless
// graphic, so that only the table can refuse them.
func invisibleGraphic(r rune) bool {
	return r == 0x034f || (r >= 0x115f && r <= 0x1160) || (r >= 0x17b4 && r <= 0x17b5) || (r >= 0x180b && r <= 0x180f) ||
		r == 0x2800 || (r >= 0xfe00 && r <= 0xfe0f) || (r >= 0xe0100 && r <= 0xe01ef)
}

// refusalReason says whether the documented rules refuse code point r (r >= 0x80) on
// its own, and why, with x/text as the reference.
func refusalReason(fold cases.Caser, r rune) string {
	if !unicode.IsGraphic(r) {
		return "not graphic"
	}
	if unicode.Is(unicode.Zs, r) {
		return "space"
	}
	s := string(r)
	if norm.NFC.String(s) != s || norm.NFKC.String(s) != s {
		return "normalises"
	}
	if unicode.ToLower(r) < 0x80 || unicode.ToUpper(r) < 0x80 {
		return "case maps to ASCII"
	}
	if f := fold.String(s); f != s && isASCII(f) {
		return "case folds to ASCII"
	}
	if invisibleGraphic(r) {
		return "invisible"
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestConfusableRunesAreExactlyTheNormalisingOnes checks every code point: after a
// non-ASCII letter (so that combining marks are judged on their own), r is refused
// exactly when the rules say so. When Unicode data changes, it prints the table
// internal/config/identity_table.go should hold.
func TestConfusableRunesAreExactlyTheNormalisingOnes(t *testing.T) {
	fold := cases.Fold()
	wrong := 0
	var ranges [][2]rune
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		why := refusalReason(fold, r)
		got := config.IdentifierProblem("\u00e9"+string(r)) != ""
		if got != (why != "") {
			wrong++
			if wrong <= 20 {
				t.Errorf("%U: refused %v, want %v (%s)", r, got, why != "", why)
			}
		}
		if why == "" || why == "not graphic" || why == "space" {
			continue
		}
		if n := len(ranges); n > 0 && onlyRefusedBetween(ranges[n-1][1], r) {
			ranges[n-1][1] = r
		} else {
			ranges = append(ranges, [2]rune{r, r})
		}
	}
	if wrong > 0 {
		t.Errorf("%d code points judged wrongly; Unicode %s table (LatinOffset: count the R16 entries below U+0100):\n%s", wrong, unicode.Version, tableSource(ranges))
	}
}

// onlyRefusedBetween reports whether every code point strictly between a and b is
// refused by category (so one range may cover a to b).
func onlyRefusedBetween(a, b rune) bool {
	for g := a + 1; g < b; g++ {
		if unicode.IsGraphic(g) && !unicode.Is(unicode.Zs, g) {
			return false
		}
	}
	return true
}

func tableSource(ranges [][2]rune) string {
	var b strings.Builder
	b.WriteString("\tR16: []unicode.Range16{\n")
	for _, x := range ranges {
		if x[0] <= 0xffff {
			fmt.Fprintf(&b, "\t\t{0x%04x, 0x%04x, 1},\n", x[0], x[1])
		}
	}
	b.WriteString("\t},\n\tR32: []unicode.Range32{\n")
	for _, x := range ranges {
		if x[0] > 0xffff {
			fmt.Fprintf(&b, "\t\t{0x%05x, 0x%05x, 1},\n", x[0], x[1])
		}
	}
	b.WriteString("\t},\n")
	return b.String()
}

// interpreted imports pkg into the plugin's interpreter and returns expr (a function
// of it) as Yaegi runs it.
func interpreted(t testing.TB, pkg, expr string) reflect.Value {
	t.Helper()
	h := host(t)
	if err := h.Import(pkg); err != nil {
		t.Fatal(err)
	}
	v, err := h.Eval(expr)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestIdentifierRulesUnderYaegiMatchCompiled runs IdentifierProblem and FoldEmail in
// the interpreter over every code point below U+3400 (after an ASCII and after a
// non-ASCII letter), the edges of every refused range, and whole identifiers, and
// compares each answer with compiled Go's.
func TestIdentifierRulesUnderYaegiMatchCompiled(t *testing.T) {
	problemV := interpreted(t, "github.com/gatehouse-oidc/gatehouse/internal/config", "config.IdentifierProblem")
	foldV := interpreted(t, "github.com/gatehouse-oidc/gatehouse/internal/config", "config.FoldEmail")
	inputs := []string{
		"alice", "alice@example.com", "Alice@Example.COM", "\u212Aate", "\uff4bate", "stra\u00dfe", "kat\u0065\u0301",
		"ka\u200bte", " kate", "kate ", "ka\u3164te", "jos\u00e9", "\u7528\u6237", "\u043a\u0430\u0442\u044f", "\xff", "",
		"\U0001d55cate", "kate\U000e0041", "kate\ufe0f", "ka\u2800te",
	}
	for r := rune(0); r < 0x3400; r++ {
		inputs = append(inputs, "x"+string(r), "\u00e9"+string(r))
	}
	for _, edge := range []rune{0xf8ff, 0xf900, 0xfa0d, 0xfa0e, 0xffee, 0xffef, 0x1d3ff, 0x1d400, 0x1d7ff, 0x1d800,
		0x1f0ff, 0x1f100, 0x2f7ff, 0x2f800, 0x2fa1d, 0x2fa1e, 0xe00ff, 0xe0100, 0xe01ef, 0xe01f0} {
		inputs = append(inputs, "\u00e9"+string(edge))
	}
	differ := 0
	for _, in := range inputs {
		y := call(problemV, in)[0].String()
		if c := config.IdentifierProblem(in); y != c {
			differ++
			if differ <= 10 {
				t.Errorf("IdentifierProblem(%+q): Yaegi %q, compiled %q", in, y, c)
			}
		}
		if y, c := call(foldV, in)[0].String(), config.FoldEmail(in); y != c {
			t.Errorf("FoldEmail(%+q): Yaegi %q, compiled %q", in, y, c)
		}
	}
	if differ > 0 {
		t.Fatalf("%d of %d answers differ", differ, len(inputs))
	}
}
