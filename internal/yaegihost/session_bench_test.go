package yaegihost

import (
	"reflect"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost/sessionprobe"
)

// The session benchmarks run sessionprobe's loops compiled and under the plugin's
// interpreter on the same inputs: a typical session (5 groups, ID, access and refresh
// tokens; 4.4 KB of cookies in three cookies). The loop runs inside the probe, so
// entering the interpreter is paid once per benchmark, not per operation.

func benchYaegiSession(b *testing.B, loop string) {
	h := sessionProbe(b)
	bench := evalFunc(b, h, "NewBench").Call(nil)[0]
	fn := evalFunc(b, h, loop)
	if got := fn.Call([]reflect.Value{bench, reflect.ValueOf(1)})[0].String(); got != "" {
		b.Fatal(got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if got := fn.Call([]reflect.Value{bench, reflect.ValueOf(b.N)})[0].String(); got != "" {
		b.Fatal(got)
	}
}

func benchCompiledSession(b *testing.B, loop func(*sessionprobe.Bench, int) string) {
	bench := sessionprobe.NewBench()
	if got := loop(bench, 1); got != "" {
		b.Fatal(got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if got := loop(bench, b.N); got != "" {
		b.Fatal(got)
	}
}

// Seal and open of a typical session: what login, refresh and re-issue cost.
func BenchmarkYaegiSessionSealOpen(b *testing.B) { benchYaegiSession(b, "BenchSealOpen") }
func BenchmarkCompiledSessionSealOpen(b *testing.B) {
	benchCompiledSession(b, sessionprobe.BenchSealOpen)
}

// Open (base64url, AES-GCM, JSON) of a cookie the Manager has not seen yet.
func BenchmarkYaegiSessionOpen(b *testing.B)    { benchYaegiSession(b, "BenchOpen") }
func BenchmarkCompiledSessionOpen(b *testing.B) { benchCompiledSession(b, sessionprobe.BenchOpen) }

// ReadSession of a request whose cookie the Manager remembers: the per-request path.
func BenchmarkYaegiSessionReadRemembered(b *testing.B) { benchYaegiSession(b, "BenchReadSession") }
func BenchmarkCompiledSessionReadRemembered(b *testing.B) {
	benchCompiledSession(b, sessionprobe.BenchReadSession)
}

// ReadSession then StripCookies: the session work of one authenticated request.
func BenchmarkYaegiSessionRequestPath(b *testing.B) { benchYaegiSession(b, "BenchRequestPath") }
func BenchmarkCompiledSessionRequestPath(b *testing.B) {
	benchCompiledSession(b, sessionprobe.BenchRequestPath)
}

// Removing Gatehouse's cookies from a Cookie header not seen before.
func BenchmarkYaegiStripCookieHeader(b *testing.B) { benchYaegiSession(b, "BenchStrip") }
func BenchmarkCompiledStripCookieHeader(b *testing.B) {
	benchCompiledSession(b, sessionprobe.BenchStrip)
}
