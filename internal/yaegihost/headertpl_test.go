package yaegihost

import (
	"reflect"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/headertpl/headertpltest"
)

const headertplTestPkg = "github.com/gatehouse-oidc/gatehouse/internal/headertpl/headertpltest"

// TestHeaderTemplatesUnderYaegiMatchCompiled renders every headers.templates row in
// the interpreter and compares each line with compiled Go's and with the expected
// value.
func TestHeaderTemplatesUnderYaegiMatchCompiled(t *testing.T) {
	run := interpreted(t, headertplTestPkg, "headertpltest.Run")
	got := run.Call(nil)[0].Interface().([]string)
	compareLines(t, "header templates", headertpltest.Want(), got)
	compareLines(t, "header templates", headertpltest.Run(), got)
}

// BenchmarkYaegiHeaderTemplateDollar and BenchmarkYaegiHeaderTemplateGo render one
// header from a claim under Yaegi: the ${…} parts against text/template.
func BenchmarkYaegiHeaderTemplateDollar(b *testing.B) { benchYaegiRender(b, "${claims.tenant}") }
func BenchmarkYaegiHeaderTemplateGo(b *testing.B)     { benchYaegiRender(b, "{{ .claims.tenant }}") }

func benchYaegiRender(b *testing.B, text string) {
	f := interpreted(b, headertplTestPkg, "headertpltest.BenchRender")
	if v := f.Call([]reflect.Value{reflect.ValueOf(text), reflect.ValueOf(1)})[0].String(); v != "acme" {
		b.Fatalf("renders %q", v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	f.Call([]reflect.Value{reflect.ValueOf(text), reflect.ValueOf(b.N)})
}
