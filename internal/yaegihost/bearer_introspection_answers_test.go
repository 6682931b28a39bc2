package yaegihost

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// RFC 7662 answers the provider gives about tokens it still considers active, but
// that say something a resource server must not accept (docs/BEARER.md rule 25:
// token_type, iss, aud, exp, scope and sub of the answer are checked), and the
// lifetimes of cached answers (never past exp; inactive ones for negativeTTL only).
// The provider is made to answer so with AccessTokenOptions.IntrospectionClaims.

// introspectionCase is a token whose introspection answer breaks one rule, and the
// refusal expected: status, RFC 6750 code and the reason logged at debug level.
type introspectionCase struct {
	name   string
	answer map[string]any
	status int
	code   string
	reason string
}

// TestBearerIntrospectionAnswerClaimsAreChecked: an active answer naming another
// issuer, lacking the configured audience (an opaque token's answer must name it),
// with a token_type that is not an access token, with a past exp, lacking a required
// scope, or (for a JWT) naming another subject is refused: 401 invalid_token, 403
// insufficient_scope for the scope (docs/BEARER.md, failure responses). Each
// answer is otherwise the good answer of a good token, which is forwarded.
func TestBearerIntrospectionAnswerClaimsAreChecked(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		past := time.Now().Unix() - 300 // beyond the 30 s provider.clockSkew
		common := []introspectionCase{
			{"foreign iss", map[string]any{"iss": op.URL() + "/wrong"}, http.StatusUnauthorized, "invalid_token",
				"introspection: iss is not the configured issuer"},
			{"aud without the bearer audience", map[string]any{"aud": "other-api"}, http.StatusUnauthorized, "invalid_token",
				`introspection: aud does not contain "` + testop.DefaultAudience + `"`},
			{"token_type refresh_token", map[string]any{"token_type": "refresh_token"}, http.StatusUnauthorized, "invalid_token",
				`introspection: token_type "refresh_token" is not an access token`},
			{"token_type DPoP", map[string]any{"token_type": "DPoP"}, http.StatusUnauthorized, "invalid_token",
				`introspection: token_type "DPoP" is not an access token`},
			{"past exp", map[string]any{"exp": past}, http.StatusUnauthorized, "invalid_token",
				"introspection: exp passed or malformed"},
			{"scope without orders.write", map[string]any{"scope": "orders.read"}, http.StatusForbidden, "insufficient_scope",
				`scope "orders.write" missing`},
		}
		opaqueOnly := []introspectionCase{
			// An opaque token has no aud of its own: its answer must name the audience.
			{"no aud", map[string]any{"aud": nil}, http.StatusUnauthorized, "invalid_token",
				`introspection: aud does not contain "` + testop.DefaultAudience + `"`},
		}
		jwtOnly := []introspectionCase{
			{"another sub", map[string]any{"sub": "svc-other"}, http.StatusUnauthorized, "invalid_token",
				"introspection: sub differs from the token's"},
		}

		cfg := bearerConfig(op)
		cfg["logLevel"] = "debug"
		group(cfg, "bearer")["requiredScopes"] = "orders.write"
		introspectionConfig(cfg, true)
		stop := captureStderr(t)
		srv := startGatehouse(t, md, cfg, "introspected@file")
		var reasons []string
		for _, opaque := range []bool{true, false} {
			kind := "JWT"
			cases := append(append([]introspectionCase(nil), common...), jwtOnly...)
			if opaque {
				kind = "opaque"
				cases = append(append([]introspectionCase(nil), common...), opaqueOnly...)
			}
			good, err := op.IssueAccessToken(testop.AccessTokenOptions{Opaque: opaque})
			if err != nil {
				t.Fatal(err)
			}
			resp, body := getAPI(t, srv.URL+"/orders", bearer(good)...)
			wantForwarded(t, kind+" with a good answer", resp, body, "X-Forwarded-User: svc-orders")
			for _, c := range cases {
				tok, err := op.IssueAccessToken(testop.AccessTokenOptions{Opaque: opaque, IntrospectionClaims: c.answer})
				if err != nil {
					t.Fatal(err)
				}
				before := op.Count("introspect")
				resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
				if op.Count("introspect") != before+1 {
					t.Fatalf("%s %s: not introspected", kind, c.name)
				}
				wantRefused(t, kind+" "+c.name, resp, body, c.status, c.code)
				reasons = append(reasons, c.reason)
			}
		}
		out := stop()
		for _, r := range reasons {
			// The message is logged quoted: its own quotes are escaped.
			if !strings.Contains(out, `reason="`+strings.ReplaceAll(r, `"`, `\"`)) {
				t.Fatalf("no refusal logged with the reason %q:\n%s", r, out)
			}
		}
	})
}

// TestBearerIntrospectionCachedNoLongerThanExp: an active answer about a token that
// expires in 3 s is cached (a second use makes no call) for no longer than the
// token's exp, although maxCacheTTL is an hour: its Redis entry lives at most until
// exp, and a use after exp calls the endpoint again (which calls the token inactive:
// 401). A cached answer kept past exp would be accepted within provider.clockSkew.
func TestBearerIntrospectionCachedNoLongerThanExp(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := replicaConfig(op, rs.URL())
		b := group(cfg, "bearer")
		b["enabled"] = true
		b["audience"] = testop.DefaultAudience
		introspectionConfig(cfg, true)["maxCacheTTL"] = "1h"
		a, ha := startInstance(t, md, cfg, "api@file")
		waitLive(t, md, ha)

		issued := time.Now()
		tok, err := op.IssueAccessToken(testop.AccessTokenOptions{Opaque: true, Lifetime: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		exp := time.Unix(issued.Add(3*time.Second).Unix(), 0)
		for i := 0; i < 2; i++ {
			resp, body := getAPI(t, a.URL+"/orders", bearer(tok)...)
			wantForwarded(t, "before exp", resp, body, "X-Forwarded-User: svc-orders")
		}
		if n := op.Count("introspect"); n != 1 {
			t.Fatalf("%d introspections for two uses before exp: the answer was not cached", n)
		}
		// The shared entry (write-behind) expires with the token, not after an hour.
		sum := sha256.Sum256([]byte(tok))
		key := "gatehouse:introspect:" + hex.EncodeToString(sum[:])
		deadline := time.Now().Add(2 * time.Second)
		for {
			ms, err := rs.Do("PTTL", key)
			if n, ok := ms.(int64); err == nil && ok && n > 0 {
				if n > 3000 {
					t.Fatalf("the cached answer lives %d ms in Redis; the token expires within 3 s", n)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the answer never reached Redis: %v %v", ms, err)
			}
			time.Sleep(5 * time.Millisecond)
		}

		time.Sleep(time.Until(exp) + 200*time.Millisecond)
		resp, body := getAPI(t, a.URL+"/orders", bearer(tok)...)
		wantRefused(t, "after exp", resp, body, http.StatusUnauthorized, "invalid_token")
		if n := op.Count("introspect"); n != 2 {
			t.Fatalf("%d introspections: after exp the cached answer was used (stats %v)", n, stats(t, md, ha))
		}
	})
}

// TestBearerIntrospectionNegativeAnswerCachedForNegativeTTL: an inactive answer is
// cached for bearer.introspection.negativeTTL (2 s here; answers are kept until a
// whole second, so 2 s leaves at least one for the repeated uses) and no longer:
// after it, the next use calls the endpoint again, although maxCacheTTL is an hour.
func TestBearerIntrospectionNegativeAnswerCachedForNegativeTTL(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := replicaConfig(op, rs.URL())
		b := group(cfg, "bearer")
		b["enabled"] = true
		b["audience"] = testop.DefaultAudience
		in := introspectionConfig(cfg, true)
		in["maxCacheTTL"] = "1h"
		in["negativeTTL"] = "2s"
		a, ha := startInstance(t, md, cfg, "api@file")
		waitLive(t, md, ha)

		unknown := "opq_never_issued_" + strconv.FormatInt(time.Now().UnixNano(), 36)
		first := time.Now()
		for i := 0; i < 3; i++ {
			resp, body := getAPI(t, a.URL+"/orders", bearer(unknown)...)
			wantRefused(t, "inactive token", resp, body, http.StatusUnauthorized, "invalid_token")
		}
		if n := op.Count("introspect"); n != 1 {
			t.Fatalf("%d introspections for three uses within negativeTTL", n)
		}
		time.Sleep(time.Until(first.Add(2*time.Second + 200*time.Millisecond)))
		resp, body := getAPI(t, a.URL+"/orders", bearer(unknown)...)
		wantRefused(t, "inactive token after negativeTTL", resp, body, http.StatusUnauthorized, "invalid_token")
		if n := op.Count("introspect"); n != 2 {
			t.Fatalf("%d introspections: the negative answer was cached beyond negativeTTL (stats %v)", n, stats(t, md, ha))
		}
	})
}
