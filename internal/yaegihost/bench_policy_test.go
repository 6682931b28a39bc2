package yaegihost

import (
	"strconv"
	"testing"
	"time"
)

// tenRules is a policy of ten rules whose last one matches /app with a claim
// requirement alice satisfies (Keycloak's nested realm_access.roles): the request
// is compared with nine rules before the tenth decides it.
func tenRules(c map[string]any) {
	var rules []any
	for i := 1; i <= 9; i++ {
		rules = append(rules, map[string]any{
			"path":    "/section" + strconv.Itoa(i) + "/",
			"require": map[string]any{"groups": "admins"},
		})
	}
	rules = append(rules, map[string]any{
		"name": "app",
		"path": "/app",
		"require": map[string]any{"allOf": []any{
			map[string]any{"claim": "realm_access.roles", "contains": "admin"},
		}},
	})
	c["rules"] = rules
}

// BenchmarkYaegiValidSessionRule10Of10: a signed-in request matched by the tenth of
// ten rules, with a claim requirement; against BenchmarkYaegiValidSession (no rules).
func BenchmarkYaegiValidSessionRule10Of10(b *testing.B)    { benchSession(b, modes[0], tenRules) }
func BenchmarkCompiledValidSessionRule10Of10(b *testing.B) { benchSession(b, modes[1], tenRules) }

// BenchmarkYaegiRule10Of10AgainstNoRules sends, in turn, the request of
// BenchmarkYaegiValidSession and that of BenchmarkYaegiValidSessionRule10Of10 to
// two instances in one interpreter, and reports the ratio of their times: measured
// side by side, both see the same load on a shared machine. The policy's budget is
// 1.3 (docs/POLICIES.md).
func BenchmarkYaegiRule10Of10AgainstNoRules(b *testing.B) {
	plain, checkPlain := sessionRequester(b, modes[0], "/app")
	ruled, checkRuled := sessionRequester(b, modes[0], "/app", tenRules)
	var tPlain, tRuled time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// In turn, and in alternating order, so that neither pays for the other.
		if i%2 == 0 {
			t0 := time.Now()
			plain()
			t1 := time.Now()
			ruled()
			tRuled += time.Since(t1)
			tPlain += t1.Sub(t0)
		} else {
			t0 := time.Now()
			ruled()
			t1 := time.Now()
			plain()
			tPlain += time.Since(t1)
			tRuled += t1.Sub(t0)
		}
	}
	b.StopTimer()
	checkPlain()
	checkRuled()
	b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N), "ns/no-rules")
	b.ReportMetric(float64(tRuled.Nanoseconds())/float64(b.N), "ns/rule-10-of-10")
	b.ReportMetric(float64(tRuled)/float64(tPlain), "ratio")
}
