package yaegihost

import (
	"context"
	"fmt"
	"reflect"
	"testing"
)

// TestErrorChecksSurviveContextErrorsUnderYaegi: the functions that ask what kind of
// error they hold — a Redis error reply, an OAuth error, a jose error — are given the
// context's errors, as a Redis call or a provider call whose context ended returns
// them. Under Yaegi, asserting context.DeadlineExceeded (a struct without fields) to
// an interpreted type panics inside the interpreter; in a background goroutine (the
// cache's maintenance loop probing a stalled Redis) that ended the Traefik process.
func TestErrorChecksSurviveContextErrorsUnderYaegi(t *testing.T) {
	const (
		redisPkg = "github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
		oidcPkg  = "github.com/gatehouse-oidc/gatehouse/internal/oidc"
		josePkg  = "github.com/gatehouse-oidc/gatehouse/internal/jose"
	)
	for _, err := range []error{context.DeadlineExceeded, context.Canceled} {
		for _, c := range []struct{ pkg, fn, want string }{
			{redisPkg, "redis.IsServerError", "false"},
			{redisPkg, "redis.ErrorCode", ""},
			{oidcPkg, "oidc.IsInvalidGrant", "false"},
			{josePkg, "jose.KindOf", err.Error()},
		} {
			f := interpreted(t, c.pkg, c.fn)
			got := func() (out string) {
				defer func() {
					if r := recover(); r != nil {
						out = fmt.Sprint("panic: ", r)
					}
				}()
				arg := reflect.New(reflect.TypeOf((*error)(nil)).Elem()).Elem()
				arg.Set(reflect.ValueOf(err))
				return fmt.Sprint(f.Call([]reflect.Value{arg})[0].Interface())
			}()
			if got != c.want {
				t.Errorf("%s(%v) under Yaegi: %s, want %q", c.fn, err, got, c.want)
			}
		}
	}
}
