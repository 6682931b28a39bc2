package yaegihost

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// The identity attacks of docs/SECURITY.md ("Identity and authorization"), through a
// real sign-in at the test provider, compiled and under Yaegi. The accounts are
// testop's: mallory claims alice@example.com without verifying it, eve carries an
// email-shaped upn that is not her address, "\u212Aate" is named with the Kelvin sign,
// sam belongs to groups named "sales,admins" and " admins".

func wantDenied(t testing.TB, what string, p page, signedInAs string) {
	t.Helper()
	if p.status != http.StatusForbidden || strings.Contains(p.body, "backend ") || !strings.Contains(p.body, signedInAs) {
		t.Fatalf("%s: want 403 for %s, got %d %s", what, signedInAs, p.status, p.body)
	}
}

// callWithIdentifierClaim calls an API behind Gatehouse with bearer.identifierClaim
// set to claim, with a machine token whose claim holds value.
func callWithIdentifierClaim(t testing.TB, md mode, op *testop.Provider, claim, value string) (*http.Response, string) {
	t.Helper()
	cfg := bearerConfig(op)
	group(cfg, "bearer")["identifierClaim"] = claim
	srv := startGatehouse(t, md, cfg, claim+"-api@file")
	return getAPI(t, srv.URL+"/orders", bearer(mintAccess(t, op, map[string]any{claim: value}))...)
}

func TestUnverifiedEmailIsNeitherTheUserNorAnAllowedUser(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "mallory"})
		cfg := rpConfig(op)
		open := startGatehouse(t, md, cfg, "open@file")
		p := newBrowser().get(t, open.URL+"/")
		mustContain(t, "mallory", p, "backend /", "X-Forwarded-User: usr_mallory")
		if strings.Contains(p.body, "alice@example.com") {
			t.Fatalf("the unverified address reached the backend:\n%s", p.body)
		}
		a := group(cfg, "authorization")
		a["allowedUsers"] = "alice@example.com"
		wantDenied(t, "allowedUsers", newBrowser().get(t, startGatehouse(t, md, cfg, "users@file").URL+"/"), "usr_mallory")
		delete(a, "allowedUsers")
		a["allowedDomains"] = "example.com"
		wantDenied(t, "allowedDomains", newBrowser().get(t, startGatehouse(t, md, cfg, "domains@file").URL+"/"), "usr_mallory")
		// The real alice still passes both.
		op.SetAutoLogin("alice")
		a["allowedUsers"] = "alice@example.com"
		mustContain(t, "alice", newBrowser().get(t, startGatehouse(t, md, cfg, "alice@file").URL+"/"),
			"X-Forwarded-User: alice@example.com", "X-Forwarded-Email: alice@example.com")
	})
}

func TestEmailShapedClaimIsTheUserOnlyWhenItIsTheVerifiedEmail(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "eve"})
		cfg := rpConfig(op)
		group(cfg, "provider")["userClaim"] = "upn"
		group(cfg, "authorization")["allowedUsers"] = "alice@example.com"
		wantDenied(t, "eve's upn", newBrowser().get(t, startGatehouse(t, md, cfg, "upn@file").URL+"/"), "usr_eve")

		// A bearer identifier claim is judged alike.
		resp, body := callWithIdentifierClaim(t, md, op, "upn", "alice@example.com")
		wantForwarded(t, "bearer upn", resp, body, "X-Forwarded-User: svc-orders")
		if strings.Contains(body, "alice@example.com") {
			t.Fatalf("the upn reached the backend as an identity:\n%s", body)
		}
	})
}

func TestKelvinSignUserDoesNotPassAllowedUsersKate(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "\u212Aate"})
		cfg := rpConfig(op)
		group(cfg, "provider")["userClaim"] = "preferred_username"
		group(cfg, "authorization")["allowedUsers"] = "kate"
		srv := startGatehouse(t, md, cfg, "kate@file")
		p := newBrowser().get(t, srv.URL+"/")
		wantDenied(t, "Kelvin sign", p, "usr_kelvin")
		if strings.Contains(p.body, "\u212A") {
			t.Fatalf("the Kelvin-sign name was shown or forwarded:\n%s", p.body)
		}
		op.SetAutoLogin("kate")
		mustContain(t, "kate", newBrowser().get(t, srv.URL+"/"), "backend /", "X-Forwarded-User: kate")

		// As a bearer identifier it refuses the token.
		resp, body := callWithIdentifierClaim(t, md, op, "preferred_username", "\u212Aate")
		wantRefused(t, "bearer Kelvin sign", resp, body, http.StatusUnauthorized, "invalid_token")
	})
}

func TestGroupNamedWithACommaIsNotForwardedAsTwoGroups(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "sam"})
		cfg := rpConfig(op)
		cfg["logLevel"] = "warn"
		stop := captureStderr(t)
		open := startGatehouse(t, md, cfg, "groups@file")
		for i := 0; i < 3; i++ { // three sessions: three principals with the same names
			p := newBrowser().get(t, open.URL+"/")
			mustContain(t, "sam", p, "X-Forwarded-Groups: staff\n", "X-Forwarded-Roles: user\n")
		}
		out := stop()
		for _, name := range []string{`group name \"sales,admins\" dropped`, `group name \" admins\" dropped`, `role name \"admin,auditor\" dropped`} {
			if n := strings.Count(out, name); n != 1 {
				t.Errorf("%s logged %d times, want once:\n%s", name, n, out)
			}
		}
		cfg["logLevel"] = "error" // no more capture: keep the test's output clean
		group(cfg, "authorization")["allowedGroups"] = "admins"
		wantDenied(t, "allowedGroups admins", newBrowser().get(t, startGatehouse(t, md, cfg, "admins@file").URL+"/"), "sam@example.com")
	})
}

// TestLogHashesCorrelateReplicasButNotMiddlewares: a signed-in user is logged as a
// keyed hash. Two replicas of one middleware (same name and keys) log the same hash,
// the one this test derives with the session key; another middleware, or the same
// name under another session key, logs another; the subject itself never appears.
func TestLogHashesCorrelateReplicasButNotMiddlewares(t *testing.T) {
	signedIn := regexp.MustCompile(`middleware="([^"]+)" event=login\.succeeded msg="signed in"[^\n]* user=(h:[0-9a-f]{12})`)
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		hashOf := func(name, key string) string {
			t.Helper()
			cfg := rpConfig(op)
			cfg["logLevel"] = "info"
			group(cfg, "session")["keys"] = []any{key}
			stop := captureStderr(t)
			mustContain(t, name, newBrowser().get(t, startGatehouse(t, md, cfg, name).URL+"/"), "backend /")
			out := stop()
			if strings.Contains(out, "usr_alice") || strings.Contains(out, "alice@example.com") {
				t.Fatalf("the identifier itself was logged:\n%s", out)
			}
			m := signedIn.FindStringSubmatch(out)
			if m == nil || m[1] != name {
				t.Fatalf("no sign-in line for %s:\n%s", name, out)
			}
			return m[2]
		}
		const key = "0123456789abcdef0123456789abcdef-session-key"
		replica1, replica2 := hashOf("sso@file", key), hashOf("sso@file", key)
		want := logging.NewKeyed("", "error", nil, session.LogIDKey([][]byte{[]byte(key)},
			session.InstanceBinding("sso@file", op.URL(), "gatehouse", "_gatehouse"))).ID("usr_alice")
		if replica1 != replica2 || replica1 != want {
			t.Fatalf("replicas logged %s and %s, the key derives %s", replica1, replica2, want)
		}
		if other := hashOf("other@file", key); other == replica1 {
			t.Fatal("another middleware logs the same hash")
		}
		if rekeyed := hashOf("sso@file", "fedcba9876543210fedcba9876543210-other-key"); rekeyed == replica1 {
			t.Fatal("another session key logs the same hash")
		}
	})
}
