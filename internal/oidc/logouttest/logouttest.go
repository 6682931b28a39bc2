// Package logouttest is the catalogue of logout tokens that oidc.CheckLogoutToken
// must accept or refuse (OpenID Back-Channel Logout 1.0 section 2.6), kept in one
// place so that the compiled unit tests and internal/yaegihost (which evaluates this
// package in the plugin's interpreter) run the very same cases and can compare their
// transcripts line by line. It only uses what plugin code may use, and plugin code
// never imports it.
package logouttest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
)

// The relying party every case is checked for.
const (
	Issuer   = "https://idp.example.com"
	ClientID = "gatehouse"
	// MaxAge is the iat age bound the cases are checked with.
	MaxAge = time.Hour
)

// Now is the time every case is checked at (a fixed instant, so transcripts are
// stable).
var Now = time.Unix(1700000000, 0)

// Case is one logout token: its typ header and its claims, and the error kind
// CheckLogoutToken must return (nil: accepted).
type Case struct {
	Name   string
	Typ    string
	Claims map[string]any
	Want   error
}

// base returns the claims of a valid logout token for sid "sid-1".
func base() map[string]any {
	return map[string]any{
		"iss":    Issuer,
		"aud":    ClientID,
		"iat":    Now.Unix() - 10,
		"exp":    Now.Unix() + 110,
		"jti":    "jti-1",
		"sid":    "sid-1",
		"events": map[string]any{oidc.BackchannelLogoutEvent: map[string]any{}},
	}
}

// with returns base() with the claims in changes set; a nil value removes the claim.
// (A map, not a ...any of pairs: Yaegi spreads a []any given as the last argument of
// a ...any function, docs/YAEGI-NOTES.md.)
func with(changes map[string]any) map[string]any {
	c := base()
	for name, v := range changes {
		if v == nil {
			delete(c, name)
			continue
		}
		c[name] = v
	}
	return c
}

// Cases returns the catalogue.
func Cases() []Case {
	ev := oidc.BackchannelLogoutEvent
	long := strings.Repeat("s", 256)
	var cs []Case
	add := func(name, typ string, claims map[string]any, want error) {
		cs = append(cs, Case{Name: name, Typ: typ, Claims: claims, Want: want})
	}
	// Accepted.
	add("valid sid", "logout+jwt", base(), nil)
	add("valid sub", "logout+jwt", with(map[string]any{"sid": nil, "sub": "usr_alice"}), nil)
	add("valid sub and sid", "logout+jwt", with(map[string]any{"sub": "usr_alice"}), nil)
	add("typ application/logout+jwt", "application/logout+jwt", base(), nil)
	add("typ JWT", "JWT", base(), nil)
	add("no typ", "", base(), nil)
	add("aud array with azp", "logout+jwt", with(map[string]any{"aud": []any{ClientID, "other"}, "azp": ClientID}), nil)
	add("other events too", "logout+jwt", with(map[string]any{"events": map[string]any{ev: map[string]any{}, "urn:other": map[string]any{}}}), nil)
	add("iat within leeway ahead", "logout+jwt", with(map[string]any{"iat": Now.Unix() + 20}), nil)
	// Refused: typ.
	add("typ at+jwt", "at+jwt", base(), oidc.ErrTypeHeader)
	add("typ id token kind", "id_token+jwt", base(), oidc.ErrTypeHeader)
	// Refused: step 3.
	add("wrong iss", "logout+jwt", with(map[string]any{"iss": Issuer + "/wrong"}), oidc.ErrWrongIssuer)
	add("no iss", "logout+jwt", with(map[string]any{"iss": nil}), oidc.ErrWrongIssuer)
	add("wrong aud", "logout+jwt", with(map[string]any{"aud": "other-client"}), oidc.ErrWrongAudience)
	add("no aud", "logout+jwt", with(map[string]any{"aud": nil}), oidc.ErrWrongAudience)
	add("empty aud array", "logout+jwt", with(map[string]any{"aud": []any{}}), jose.ErrAudience)
	add("aud array without azp", "logout+jwt", with(map[string]any{"aud": []any{ClientID, "other"}}), oidc.ErrWrongAZP)
	add("wrong azp", "logout+jwt", with(map[string]any{"azp": "other"}), oidc.ErrWrongAZP)
	add("expired", "logout+jwt", with(map[string]any{"iat": Now.Unix() - 300, "exp": Now.Unix() - 100}), jose.ErrExpired)
	add("no exp", "logout+jwt", with(map[string]any{"exp": nil}), jose.ErrClaimMissing)
	add("no iat", "logout+jwt", with(map[string]any{"iat": nil}), jose.ErrClaimMissing)
	add("iat in the future", "logout+jwt", with(map[string]any{"iat": Now.Unix() + 3600, "exp": Now.Unix() + 7200}), jose.ErrIssuedInFuture)
	add("iat older than max age", "logout+jwt", with(map[string]any{"iat": Now.Unix() - 7200, "exp": Now.Unix() + 60}), oidc.ErrTooOld)
	add("exp as string", "logout+jwt", with(map[string]any{"exp": "1700000100"}), jose.ErrNumericDate)
	// Refused: step 4.
	add("neither sub nor sid", "logout+jwt", with(map[string]any{"sid": nil}), oidc.ErrNoSubOrSID)
	add("empty sub", "logout+jwt", with(map[string]any{"sub": ""}), oidc.ErrNoSubject)
	add("empty sid", "logout+jwt", with(map[string]any{"sid": ""}), oidc.ErrBadSID)
	add("sid too long", "logout+jwt", with(map[string]any{"sid": long}), oidc.ErrBadSID)
	add("sid a number", "logout+jwt", with(map[string]any{"sid": 7}), jose.ErrClaimType)
	// Refused: step 5.
	add("no events", "logout+jwt", with(map[string]any{"events": nil}), oidc.ErrEvents)
	add("wrong event", "logout+jwt", with(map[string]any{"events": map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}}), oidc.ErrEvents)
	add("events an array", "logout+jwt", with(map[string]any{"events": []any{ev}}), oidc.ErrEvents)
	add("events a string", "logout+jwt", with(map[string]any{"events": ev}), oidc.ErrEvents)
	add("event value a string", "logout+jwt", with(map[string]any{"events": map[string]any{ev: ""}}), oidc.ErrEvents)
	add("event value an array", "logout+jwt", with(map[string]any{"events": map[string]any{ev: []any{}}}), oidc.ErrEvents)
	add("event value null", "logout+jwt", with(map[string]any{"events": map[string]any{ev: nil}}), oidc.ErrEvents)
	// Refused: step 6 (an ID token is not a logout token).
	add("with nonce", "logout+jwt", with(map[string]any{"nonce": "n-1"}), oidc.ErrTokenKind)
	add("with empty nonce", "logout+jwt", with(map[string]any{"nonce": ""}), oidc.ErrTokenKind)
	add("an ID token", "JWT", with(map[string]any{"events": nil, "nonce": "n-1", "sub": "usr_alice"}), oidc.ErrEvents)
	// Refused: jti.
	add("no jti", "logout+jwt", with(map[string]any{"jti": nil}), oidc.ErrNoJTI)
	add("empty jti", "logout+jwt", with(map[string]any{"jti": ""}), oidc.ErrNoJTI)
	add("jti too long", "logout+jwt", with(map[string]any{"jti": long}), oidc.ErrNoJTI)
	return cs
}

// Check runs one case through CheckLogoutToken and returns a description of what
// was accepted, or the error kind (jose errors reduced to their sentinel).
func Check(c Case) (string, error) {
	b, err := json.Marshal(c.Claims)
	if err != nil {
		return "", err
	}
	claims, err := jose.DecodeClaims(b)
	if err != nil {
		return "", jose.KindOf(err)
	}
	x := oidc.LogoutTokenCheck{Issuer: Issuer, ClientID: ClientID, MaxAge: MaxAge, Now: Now, Leeway: 30 * time.Second}
	t, err := oidc.CheckLogoutToken(jose.Header{Alg: "RS256", Typ: c.Typ}, claims, x)
	if err != nil {
		return "", jose.KindOf(err)
	}
	return "sub=" + t.Subject + " sid=" + t.SID + " jti=" + t.JTI + " iat=" + t.IssuedAt.UTC().Format(time.RFC3339), nil
}

// Run checks every case and returns one line each: the case, then "ok" and what was
// accepted, or the refusal; a line ends with "[UNEXPECTED ...]" when the outcome is
// not the expected one.
func Run() []string {
	var out []string
	for _, c := range Cases() {
		desc, got := Check(c)
		line := c.Name + ": "
		if got == nil {
			line += "ok " + desc
		} else {
			line += "refused: " + got.Error()
		}
		if got != c.Want {
			want := "acceptance"
			if c.Want != nil {
				want = c.Want.Error()
			}
			line += " [UNEXPECTED, want " + want + "]"
		}
		out = append(out, line)
	}
	return out
}
