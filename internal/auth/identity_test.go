package auth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
)

func headerOf(p *principal, name string) (string, bool) {
	for i, n := range p.headerNames {
		if n == name {
			return strings.Join(p.headerValues[i], ","), true
		}
	}
	return "", false
}

// TestUnverifiedEmailIsNeverTheIdentityOrAMatch: an account that claims someone
// else's address without verifying it is forwarded under its subject, without an
// email header, and matches neither allowedUsers nor allowedDomains, whichever claim
// carries the address (userClaim email by default, or an email-shaped upn).
func TestUnverifiedEmailIsNeverTheIdentityOrAMatch(t *testing.T) {
	mallory := claimsJSON(t, `{"sub":"usr_mallory","email":"alice@example.com","email_verified":false,"upn":"alice@example.com"}`)
	noFlag := claimsJSON(t, `{"sub":"usr_mallory","email":"alice@example.com"}`)
	for _, c := range []struct {
		name   string
		claims map[string]any
		user   string
	}{
		{"email claim, email_verified false", mallory, "alice@example.com"},
		{"email claim, no email_verified", noFlag, "alice@example.com"},
		{"upn claim", mallory, claimString(mallory, "upn")},
	} {
		open := compiled(t, nil)
		p := newPrincipal(open, "session", c.claims, c.user, "")
		if p.User != "usr_mallory" || p.Email != "" {
			t.Errorf("%s: user %q email %q, want usr_mallory and none", c.name, p.User, p.Email)
		}
		if v, ok := headerOf(p, "X-Forwarded-Email"); ok {
			t.Errorf("%s: X-Forwarded-Email %q forwarded", c.name, v)
		}
		if v, _ := headerOf(p, "X-Forwarded-User"); v != "usr_mallory" {
			t.Errorf("%s: X-Forwarded-User %q", c.name, v)
		}
		for _, rule := range []func(c *config.Config){
			func(c *config.Config) { c.Authorization.AllowedUsers = []string{"alice@example.com"} },
			func(c *config.Config) { c.Authorization.AllowedDomains = []string{"example.com"} },
		} {
			if p := newPrincipal(compiled(t, rule), "session", c.claims, c.user, ""); p.Allowed {
				t.Errorf("%s: an unverified address passed an email rule", c.name)
			}
		}
	}
}

// TestEmailShapedClaimMustBeTheVerifiedEmail: a verified account whose other claim
// (upn, a self-chosen username) looks like someone else's address is not that
// address; the same claim holding the account's own verified email (in another case)
// is.
func TestEmailShapedClaimMustBeTheVerifiedEmail(t *testing.T) {
	m := compiled(t, func(c *config.Config) { c.Authorization.AllowedUsers = []string{"alice@example.com"} })
	eve := claimsJSON(t, `{"sub":"usr_eve","email":"eve@example.net","email_verified":true,"upn":"alice@example.com"}`)
	if p := newPrincipal(m, "session", eve, "alice@example.com", ""); p.User != "usr_eve" || p.Allowed {
		t.Fatalf("eve's upn became the identity: user %q allowed %v", p.User, p.Allowed)
	}
	alice := claimsJSON(t, `{"sub":"usr_alice","email":"alice@example.com","email_verified":true,"upn":"Alice@Example.com"}`)
	if p := newPrincipal(m, "session", alice, "Alice@Example.com", ""); p.User != "Alice@Example.com" || !p.Allowed {
		t.Fatalf("alice's own upn refused: user %q allowed %v (%s)", p.User, p.Allowed, p.DenyReason)
	}
	// A bearer identifier claim is judged alike.
	svc := claimsJSON(t, `{"sub":"svc-orders","upn":"alice@example.com"}`)
	if p := newPrincipal(m, "bearer", svc, "alice@example.com", ""); p.User != "svc-orders" || p.Allowed {
		t.Fatalf("a bearer upn became the identity: user %q allowed %v", p.User, p.Allowed)
	}
}

// TestRequireVerifiedEmailFalseTrustsTheProvidersAddresses: the documented escape
// hatch for providers that verify every address but send no email_verified.
func TestRequireVerifiedEmailFalseTrustsTheProvidersAddresses(t *testing.T) {
	m := compiled(t, func(c *config.Config) {
		c.Authorization.RequireVerifiedEmail = false
		c.Authorization.AllowedUsers = []string{"alice@example.com"}
	})
	c := claimsJSON(t, `{"sub":"u-1","email":"alice@example.com","upn":"alice@example.com"}`)
	if p := newPrincipal(m, "session", c, "alice@example.com", ""); p.User != "alice@example.com" || p.Email != "alice@example.com" || !p.Allowed {
		t.Fatalf("user %q email %q allowed %v", p.User, p.Email, p.Allowed)
	}
}

// TestKelvinSignDoesNotMatchKate: strings.ToLower("\u212Aate") is "kate". The
// identifier is refused (the user falls back to sub) and never reaches a header.
func TestKelvinSignDoesNotMatchKate(t *testing.T) {
	m := compiled(t, func(c *config.Config) { c.Authorization.AllowedUsers = []string{"kate"} })
	kelvin := claimsJSON(t, `{"sub":"usr_kelvin","preferred_username":"\u212Aate","email":"kelvin@example.com","email_verified":true}`)
	p := newPrincipal(m, "session", kelvin, "\u212Aate", "")
	if p.Allowed || p.User != "usr_kelvin" {
		t.Fatalf("Kelvin sign: allowed %v as %q", p.Allowed, p.User)
	}
	kate := claimsJSON(t, `{"sub":"usr_kate","preferred_username":"kate"}`)
	if p := newPrincipal(m, "session", kate, "kate", ""); !p.Allowed {
		t.Fatalf("kate herself refused: %s", p.DenyReason)
	}
	// Non-email identifiers compare exactly: no case folding of any kind.
	if p := newPrincipal(m, "session", claimsJSON(t, `{"sub":"u"}`), "Kate", ""); p.Allowed {
		t.Fatal("Kate matched kate")
	}
}

// TestIdentifiersThatNormaliseIntoOthersAreRefused: each of these would merge with
// a plain identifier in a backend that normalises, folds case or trims, so none
// becomes the identity; the subject does.
func TestIdentifiersThatNormaliseIntoOthersAreRefused(t *testing.T) {
	m := compiled(t, nil)
	for _, id := range []string{
		"\u212Aate", "\uff4bate", "k\u0430te\u200b", "kate ", " kate", "ka\u00adte", "k\u00a0ate", "kat\u0065\u0301",
		"ma\u00dfe", "\U0001d55cate", "ka\u202ete", "ka\x00te", "\u017Fam", "\u0131van",
	} {
		c := map[string]any{"sub": "usr_x", "preferred_username": id}
		if p := newPrincipal(m, "session", c, id, ""); p.User != "usr_x" {
			t.Errorf("%q: user %q, want usr_x", id, p.User)
		}
	}
	// Other scripts, precomposed letters, and lookalikes no normalisation merges
	// are identities like any other.
	for _, id := range []string{"jos\u00e9", "\u7528\u6237", "\u043a\u0430\u0442\u044f", "o'brien", "user name"} {
		if p := newPrincipal(m, "session", map[string]any{"sub": "usr_x"}, id, ""); p.User != id {
			t.Errorf("%q refused (user %q)", id, p.User)
		}
	}
}

// TestSubjectWithControlCharactersLeavesNoIdentity: a sub that cannot be forwarded
// is not replaced by anything; the principal is refused.
func TestSubjectWithControlCharactersLeavesNoIdentity(t *testing.T) {
	m := compiled(t, nil)
	p := newPrincipal(m, "bearer", map[string]any{"sub": "svc\r\nX-Forwarded-User: admin"}, "svc\r\nX-Forwarded-User: admin", "")
	if p.Allowed || p.User != "" || len(p.headerNames) != 0 {
		t.Fatalf("allowed %v user %q headers %v", p.Allowed, p.User, p.headerNames)
	}
}

// TestGroupNamedWithACommaIsNotForwardedAsTwoGroups: "sales,admins" and " admins"
// would read as admins in a comma-separated header; they are dropped, do not
// satisfy allowedGroups, and are logged once per name however many principals carry
// them.
func TestGroupNamedWithACommaIsNotForwardedAsTwoGroups(t *testing.T) {
	m := compiled(t, func(c *config.Config) { c.Authorization.AllowedGroups = []string{"admins"} })
	var logged bytes.Buffer
	m.log = logging.NewKeyed("test", "warn", &logged, []byte("k"))
	sam := claimsJSON(t, `{"sub":"usr_sam","groups":["sales,admins"," admins","staff","ad\tmins"],"roles":["user","admin,auditor"]}`)
	for i := 0; i < 5; i++ {
		p := newPrincipal(m, "session", sam, "", "")
		if p.Allowed {
			t.Fatal("a group name with a comma satisfied allowedGroups: admins")
		}
	}
	open := compiled(t, nil)
	open.log = m.log
	p := newPrincipal(open, "session", sam, "", "")
	if g, _ := headerOf(p, "X-Forwarded-Groups"); g != "staff,ad\tmins" {
		t.Fatalf("X-Forwarded-Groups %q", g)
	}
	if r, _ := headerOf(p, "X-Forwarded-Roles"); r != "user" {
		t.Fatalf("X-Forwarded-Roles %q", r)
	}
	out := logged.String()
	for _, name := range []string{`group name \"sales,admins\"`, `group name \" admins\"`, `role name \"admin,auditor\"`} {
		if n := strings.Count(out, name); n != 1 {
			t.Errorf("%s logged %d times, want once:\n%s", name, n, out)
		}
	}
}

// TestEveryGroupNameFineKeepsTheList: the fast path hands the claim's list back.
func TestEveryGroupNameFineKeepsTheList(t *testing.T) {
	names := []string{"engineering", "admins", "group with spaces", "ünïcödé"}
	if got := forwardableNames(logging.New("t", "error", nil), "group", names); len(got) != 4 || &got[0] != &names[0] {
		t.Fatalf("%q", got)
	}
	for _, bad := range []string{"", "a,b", " a", "a ", "a\r", "a\u202e"} {
		if forwardableName(bad) {
			t.Errorf("%q forwardable", bad)
		}
	}
}
