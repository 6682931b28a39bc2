package yaegihost

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// The provider's key set is shared by replicas through Redis (internal/auth/provider.go,
// sealedShared): one replica fetches it, the others take it from Redis, sealed with
// the instance's cache key so that whoever writes Redis cannot make replicas trust a
// key.

// jwtKid is the kid in a compact JWS's header.
func jwtKid(t testing.TB, tok string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// TestKeySetFetchedByOneReplicaIsSharedSealedThroughRedis: replica A verifies a bearer
// token and fetches the key set (one JWKS request); the set reaches Redis under the
// jwks keyspace sealed (no JWK member names, no kid, no modulus in the clear);
// replica B checks the signature of another token with a kid itself, with the key
// set from Redis and no JWKS request of its own. A replica that finds an unreadable
// value there (not sealed with its key) fetches the set from the provider instead.
func TestKeySetFetchedByOneReplicaIsSharedSealedThroughRedis(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		prefix := "jwks-" + md.name + ":"
		cfg := replicaConfig(op, rs.URL())
		group(cfg, "cache")["keyPrefix"] = prefix
		group(cfg, "bearer")["enabled"] = true
		group(cfg, "bearer")["audience"] = testop.DefaultAudience
		a, ha := startInstance(t, md, cfg, "jwks@file")
		b, hb := startInstance(t, md, cfg, "jwks@file")
		waitLive(t, md, ha)
		waitLive(t, md, hb)
		if n := op.Count("jwks"); n != 0 {
			t.Fatalf("%d JWKS fetches before any token", n)
		}

		first := ordersToken(t, op)
		resp, body := getAPI(t, a.URL+"/orders", bearer(first)...)
		wantForwarded(t, "on A", resp, body, "X-Forwarded-User: svc-orders")
		if n := op.Count("jwks"); n != 1 {
			t.Fatalf("A: %d JWKS fetches", n)
		}

		// The set reaches Redis (a Shared keyspace: asynchronously), sealed.
		var keys []string
		deadline := time.Now().Add(5 * time.Second)
		for {
			if keys = redisKeys(t, rs, prefix, "jwks"); len(keys) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("jwks keys in Redis: %v, want one", keys)
			}
			time.Sleep(5 * time.Millisecond)
		}
		v, err := rs.Do("GET", keys[0])
		stored, _ := v.(string)
		if err != nil || stored == "" {
			t.Fatalf("GET %s: %v %v", keys[0], v, err)
		}
		kid := op.SigningKeyID()
		for _, clear := range []string{`"kty"`, `"keys"`, `"RSA"`, kid} {
			if strings.Contains(stored, clear) {
				t.Fatalf("the key set in Redis is not sealed: it contains %q:\n%.300s", clear, stored)
			}
		}

		// B verifies another token (so not A's shared verification) whose header names
		// the key, with the set from Redis.
		second := ordersToken(t, op)
		if second == first || jwtKid(t, second) != kid {
			t.Fatalf("second token: kid %q, want %q", jwtKid(t, second), kid)
		}
		resp, body = getAPI(t, b.URL+"/orders", bearer(second)...)
		wantForwarded(t, "on B", resp, body, "X-Forwarded-User: svc-orders")
		if st := stats(t, md, hb); st[0] != 1 || st[1] != 0 {
			t.Fatalf("B: %d signature checks, %d shared verifications (want its own check)", st[0], st[1])
		}
		if n := op.Count("jwks"); n != 1 {
			t.Fatalf("B fetched the key set although Redis had it: %d JWKS fetches in all", n)
		}

		// A value the replicas cannot open is ignored: a new replica fetches.
		rs.MustDo("SET", keys[0], "not-a-sealed-value", "EX", "300")
		c, hc := startInstance(t, md, cfg, "jwks@file")
		waitLive(t, md, hc)
		resp, body = getAPI(t, c.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "on C", resp, body, "X-Forwarded-User: svc-orders")
		if n := op.Count("jwks"); n != 2 {
			t.Fatalf("C with an unreadable shared set: %d JWKS fetches in all, want 2", n)
		}
	})
}
