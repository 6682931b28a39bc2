package auth

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"

	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// TestOthersRevocationKeepsOnlyTheNamedSessionSignedInBeforeIt: "<T> <id>" refuses a
// session of the user that signed in at or before T, except session id; a later
// session, and a malformed value, refuse nothing.
func TestOthersRevocationKeepsOnlyTheNamedSessionSignedInBeforeIt(t *testing.T) {
	for _, c := range []struct {
		value     string
		id        string
		loginTime int64
		revoked   bool
	}{
		{"100 keep", "other", 100, true},
		{"100 keep", "other", 99, true},
		{"100 keep", "keep", 100, false},
		{"100 keep", "other", 101, false},
		{"100 keep", "keep ", 50, true},
		{"100", "other", 50, false},
		{" keep", "other", 50, false},
		{"x keep", "other", 50, false},
		{"", "other", 50, false},
		{"100 ", "other", 50, true},
	} {
		rec := &session.Record{ID: c.id, LoginTime: c.loginTime}
		if got := othersRevoked([]byte(c.value), rec); got != c.revoked {
			t.Errorf("%q against session %q signed in at %d: revoked %v, want %v", c.value, c.id, c.loginTime, got, c.revoked)
		}
	}
}

// TestOthersRevocationNeverMovesBackwards: a later sign-out of the other devices with
// an earlier time (a replica whose clock is behind) keeps the later time and only
// changes the session kept: the revocation keyspace is last-writer-wins, and a time
// going backwards would let sessions in again.
func TestOthersRevocationNeverMovesBackwards(t *testing.T) {
	m := newTestMiddleware(t, testConfig(), http.NotFoundHandler())
	ctx := context.Background()
	rec := &session.Record{ID: "current", Issuer: "https://idp.example.com", Subject: "usr_alice"}
	for _, step := range []struct {
		write int64
		keep  string
		want  string
	}{{200, "a", "200 a"}, {100, "b", "200 b"}, {300, "c", "300 c"}} {
		got, state, err := revokeOthers(m, ctx, rec, step.keep, step.write)
		if err != nil || state != cache.WriteLocal {
			t.Fatalf("writing %d: %v %s", step.write, err, state)
		}
		v, ok, err := cache.Lookup(m.store, ctx, m.ks.revoked, revokedOthers(rec.Issuer, rec.Subject))
		if err != nil || !ok || string(v) != step.want || itoa64(got)+" "+step.keep != step.want {
			t.Fatalf("after writing %d: %q (returned %d), want %q", step.write, v, got, step.want)
		}
	}
}
