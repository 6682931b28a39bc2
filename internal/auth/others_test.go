package auth

import (
	"testing"

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
