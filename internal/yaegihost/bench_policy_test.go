package yaegihost

import (
	"strconv"
	"testing"
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
