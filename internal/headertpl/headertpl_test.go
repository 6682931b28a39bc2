package headertpl_test

import (
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/headertpl"
	"github.com/gatehouse-oidc/gatehouse/internal/headertpl/headertpltest"
)

// TestTemplatesRenderEveryCase plays headertpltest's rows compiled; the Yaegi host
// plays the same rows in the interpreter.
func TestTemplatesRenderEveryCase(t *testing.T) {
	got, want := headertpltest.Run(), headertpltest.Want()
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got  %s\nwant %s", got[i], want[i])
		}
	}
}

func TestClaimValueTriesTheExactNameFirst(t *testing.T) {
	claims := map[string]any{"a.b": "exact", "a": map[string]any{"b": "nested", "c": "deep"}}
	if v, ok := headertpl.ClaimValue(claims, "a.b"); !ok || v != "exact" {
		t.Errorf("a.b = %v, %v", v, ok)
	}
	if v, ok := headertpl.ClaimValue(claims, "a.c"); !ok || v != "deep" {
		t.Errorf("a.c = %v, %v", v, ok)
	}
	if _, ok := headertpl.ClaimValue(claims, "a.c.d"); ok {
		t.Error("a path through a string was found")
	}
}

func benchRender(b *testing.B, text string) {
	if v := headertpltest.BenchRender(text, 1); v != "acme" {
		b.Fatalf("renders %q", v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	headertpltest.BenchRender(text, b.N)
}

func BenchmarkCompiledHeaderTemplateDollar(b *testing.B) { benchRender(b, "${claims.tenant}") }
func BenchmarkCompiledHeaderTemplateGo(b *testing.B)     { benchRender(b, "{{ .claims.tenant }}") }
