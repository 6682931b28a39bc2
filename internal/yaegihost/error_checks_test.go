package yaegihost

import (
	"context"
	"reflect"
	"testing"
)

// TestErrorChecksOfAContextDeadlineDoNotPanicUnderYaegi: under Yaegi a type assertion
// on an error whose value is an empty struct panics ("reflect: Field index out of
// bounds"), and context.DeadlineExceeded is one. The plugin's error checks that see
// context errors (a Redis call or a token request past its deadline) must answer
// instead: a panic in a background goroutine ends Traefik. Found when a cache store
// closing under load met a deadline and crashed the test binary.
func TestErrorChecksOfAContextDeadlineDoNotPanicUnderYaegi(t *testing.T) {
	h := host(t)
	if err := h.Import("github.com/gatehouse-oidc/gatehouse/internal/cache/redis", "github.com/gatehouse-oidc/gatehouse/internal/oidc", "github.com/gatehouse-oidc/gatehouse/internal/jose"); err != nil {
		t.Fatal(err)
	}
	var deadline error = context.DeadlineExceeded
	for name, want := range map[string]any{"redis.IsServerError": false, "redis.ErrorCode": "", "oidc.IsInvalidGrant": false, "jose.KindOf": context.DeadlineExceeded} {
		f, err := h.Eval(name)
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s(context.DeadlineExceeded) panics under Yaegi: %v", name, r)
				}
			}()
			if got := f.Call([]reflect.Value{reflect.ValueOf(&deadline).Elem()})[0].Interface(); got != want {
				t.Errorf("%s(context.DeadlineExceeded) = %v, want %v", name, got, want)
			}
		}()
	}
}
