// Package oidctest holds the token-rule cases of internal/oidc as data, so the same
// cases run compiled (internal/oidc's tests) and under Yaegi (internal/yaegihost),
// and the two runs must print identical lines. It owns no rule itself; plugin code
// never imports it.
package oidctest

import (
	"strconv"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
)

// Fixed values of the cases.
const (
	Now      = 1700000000 // 2023-11-14T22:13:20Z
	Issuer   = "https://idp.example.com"
	ClientID = "gatehouse"
	Audience = "gatehouse-api"
)

// AccessCase is one access-token check: a typ header, a claims payload (JSON), and
// the sentinel error expected (nil: accepted). Check, when not nil, replaces the
// default AccessTokenCheck.
type AccessCase struct {
	Name    string
	Typ     string
	Payload string
	Want    error
	Check   *oidc.AccessTokenCheck
}

// DefaultAccessCheck is the check every case uses unless it brings its own: issuer,
// audience gatehouse-api, client gatehouse, 24 h maximum age, 30 s leeway.
func DefaultAccessCheck() oidc.AccessTokenCheck {
	return oidc.AccessTokenCheck{Issuer: Issuer, Audience: Audience, ClientID: ClientID,
		MaxAge: 24 * time.Hour, Now: time.Unix(Now, 0), Leeway: 30 * time.Second}
}

// payload builds a claims object from the defaults of a client-credentials token,
// with extra members appended verbatim (later duplicates are not allowed by the
// strict reader, so cases replace members by leaving them out of base).
func payload(base bool, extra string) string {
	p := ""
	if base {
		p = `"iss":"` + Issuer + `","sub":"svc-orders","aud":"` + Audience + `","iat":` + strconv.Itoa(Now-60) +
			`,"exp":` + strconv.Itoa(Now+240) + `,"jti":"j1","client_id":"svc-orders","scope":"orders.read"`
	}
	if extra != "" {
		if p != "" {
			p += ","
		}
		p += extra
	}
	return "{" + p + "}"
}

// reg are the registered claims of a valid token without aud, iat or exp, for cases
// that set those themselves.
func reg(extra string) string {
	return payload(false, `"iss":"`+Issuer+`","sub":"svc-orders","jti":"j1",`+extra)
}

func at(offset int) string { return strconv.Itoa(Now + offset) }

// AccessCases are the access-token rules of docs/BEARER.md, one case per rule and
// its boundary.
func AccessCases() []AccessCase {
	times := `"iat":` + at(-60) + `,"exp":` + at(240)
	aud := `"aud":"` + Audience + `",`
	return []AccessCase{
		{Name: "client credentials at+jwt", Typ: "at+jwt", Payload: payload(true, "")},
		{Name: "typ application/at+jwt", Typ: "application/at+jwt", Payload: payload(true, "")},
		{Name: "typ JWT", Typ: "JWT", Payload: payload(true, "")},
		{Name: "no typ", Payload: payload(true, "")},
		{Name: "typ logout+jwt", Typ: "logout+jwt", Payload: payload(true, ""), Want: oidc.ErrTypeHeader},
		{Name: "typ secevent+jwt", Typ: "secevent+jwt", Payload: payload(true, ""), Want: oidc.ErrTypeHeader},
		{Name: "typ id_token+jwt", Typ: "id_token+jwt", Payload: payload(true, ""), Want: oidc.ErrTypeHeader},

		// Token kind.
		{Name: "nonce marks an ID token", Typ: "JWT", Payload: payload(true, `"nonce":"n-1"`), Want: oidc.ErrTokenKind},
		{Name: "empty nonce still marks an ID token", Payload: payload(true, `"nonce":""`), Want: oidc.ErrTokenKind},
		{Name: "events marks a logout token", Payload: payload(true, `"events":{"http://schemas.openid.net/event/backchannel-logout":{}}`), Want: oidc.ErrTokenKind},
		{Name: "token_use id", Payload: payload(true, `"token_use":"id"`), Want: oidc.ErrTokenKind},
		{Name: "token_use access", Payload: payload(true, `"token_use":"access"`)},
		{Name: "token_use not a string", Payload: payload(true, `"token_use":1`), Want: oidc.ErrTokenKind},
		{Name: "audience only the client id (ID token)", Payload: reg(`"aud":"gatehouse",` + times), Want: oidc.ErrTokenKind},
		{Name: "audience list of only the client id", Payload: reg(`"aud":["gatehouse","gatehouse"],"azp":"gatehouse",` + times), Want: oidc.ErrTokenKind},
		{Name: "client id and resource audience with azp", Payload: reg(`"aud":["gatehouse","gatehouse-api"],"azp":"gatehouse",` + times)},

		// Issuer and audience.
		{Name: "issuer with trailing slash", Payload: payload(false, `"iss":"`+Issuer+`/","sub":"s",`+aud+times), Want: oidc.ErrWrongIssuer},
		{Name: "issuer in another case", Payload: payload(false, `"iss":"https://IDP.example.com","sub":"s",`+aud+times), Want: oidc.ErrWrongIssuer},
		{Name: "no issuer", Payload: payload(false, `"sub":"s",`+aud+times), Want: oidc.ErrWrongIssuer},
		{Name: "wrong audience", Payload: reg(`"aud":"other-api",` + times), Want: oidc.ErrWrongAudience},
		{Name: "no audience", Payload: reg(times), Want: oidc.ErrWrongAudience},
		{Name: "audience as a list", Payload: reg(`"aud":["gatehouse-api"],` + times)},
		{Name: "empty audience list", Payload: reg(`"aud":[],` + times), Want: jose.ErrAudience},
		{Name: "audience of another type", Payload: reg(`"aud":1,` + times), Want: jose.ErrAudience},

		// Authorized party.
		{Name: "several audiences with azp", Payload: reg(`"aud":["gatehouse-api","reports-api"],"azp":"svc-reports","client_id":"svc-reports",` + times)},
		{Name: "several audiences, client_id without azp (RFC 9068)", Payload: reg(`"aud":["gatehouse-api","reports-api"],"client_id":"svc-reports",` + times)},
		{Name: "several audiences without azp or client_id", Payload: reg(`"aud":["gatehouse-api","reports-api"],` + times), Want: oidc.ErrNoAZP},
		{Name: "azp contradicting client_id", Payload: reg(`"aud":["gatehouse-api","reports-api"],"azp":"svc-orders","client_id":"svc-reports",` + times), Want: oidc.ErrWrongAZP},
		{Name: "one audience, azp contradicting client_id", Payload: reg(aud + `"azp":"svc-orders","client_id":"svc-reports",` + times), Want: oidc.ErrWrongAZP},
		{Name: "client_id not a string", Payload: reg(aud + `"client_id":7,` + times), Want: oidc.ErrWrongAZP},
		{Name: "several audiences, azp without client_id", Payload: reg(`"aud":["gatehouse-api","reports-api"],"azp":"svc-reports",` + times)},

		// Times.
		{Name: "expired", Payload: reg(aud + `"iat":` + at(-600) + `,"exp":` + at(-31)), Want: jose.ErrExpired},
		{Name: "expired within leeway", Payload: reg(aud + `"iat":` + at(-600) + `,"exp":` + at(-29))},
		{Name: "no exp", Payload: reg(aud + `"iat":` + at(-60)), Want: jose.ErrClaimMissing},
		{Name: "nbf in the future", Payload: reg(aud + times + `,"nbf":` + at(120)), Want: jose.ErrNotYetValid},
		{Name: "no iat", Payload: reg(aud + `"exp":` + at(240)), Want: jose.ErrClaimMissing},
		{Name: "iat in the future", Payload: reg(aud + `"iat":` + at(3600) + `,"exp":` + at(7200)), Want: jose.ErrIssuedInFuture},
		{Name: "iat in the future within leeway", Payload: reg(aud + `"iat":` + at(20) + `,"exp":` + at(240))},
		{Name: "iat older than the maximum age", Payload: reg(aud + `"iat":` + at(-24*3600-31) + `,"exp":` + at(240)), Want: oidc.ErrTooOld},
		{Name: "iat at the maximum age", Payload: reg(aud + `"iat":` + at(-24*3600) + `,"exp":` + at(240))},
		{Name: "iat far in the past, no maximum age", Payload: reg(aud + `"iat":` + at(-90*24*3600) + `,"exp":` + at(240)),
			Check: &oidc.AccessTokenCheck{Issuer: Issuer, Audience: Audience, ClientID: ClientID, Now: time.Unix(Now, 0)}},
		{Name: "exp not a number", Payload: reg(aud + `"iat":` + at(-60) + `,"exp":"soon"`), Want: jose.ErrNumericDate},

		// Subject and claim types.
		{Name: "no sub", Payload: payload(false, `"iss":"`+Issuer+`",`+aud+times), Want: oidc.ErrNoSubject},
		{Name: "sub too long", Payload: payload(false, `"iss":"`+Issuer+`","sub":"`+long(256)+`",`+aud+times), Want: oidc.ErrNoSubject},
		{Name: "sub of 255 bytes", Payload: payload(false, `"iss":"`+Issuer+`","sub":"`+long(255)+`",`+aud+times)},
		{Name: "sub not a string", Payload: payload(false, `"iss":"`+Issuer+`","sub":42,`+aud+times), Want: jose.ErrClaimType},
		{Name: "scope not a string", Payload: payload(false, `"iss":"`+Issuer+`","sub":"s","scope":["a"],`+aud+times), Want: jose.ErrClaimType},
	}
}

func long(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

// CheckAccess runs one case and returns its outcome text and error.
func CheckAccess(c AccessCase) (string, error) {
	cl, err := jose.DecodeClaims([]byte(c.Payload))
	if err != nil {
		return "decode: " + err.Error(), err
	}
	x := DefaultAccessCheck()
	if c.Check != nil {
		x = *c.Check
	}
	t, err := oidc.CheckAccessToken(jose.Header{Alg: "RS256", Typ: c.Typ}, cl, x)
	if err != nil {
		return err.Error(), err
	}
	if len(t.Subject) > 32 {
		return "ok sub of " + strconv.Itoa(len(t.Subject)) + " bytes", nil
	}
	return "ok sub " + t.Subject, nil
}

// Run checks every case and returns one line per case: name, outcome, and whether
// the outcome is the expected one ("[as expected]" or "[UNEXPECTED: ...]").
func Run() []string {
	var out []string
	for _, c := range AccessCases() {
		o, err := CheckAccess(c)
		out = append(out, "access/"+c.Name+": "+o+judge(err, c.Want))
	}
	for _, c := range TenantCases() {
		o, err := CheckAccess(c)
		out = append(out, "tenant/"+c.Name+": "+o+judge(err, c.Want))
	}
	for _, c := range UserinfoCases() {
		o, err := CheckUserinfo(c)
		out = append(out, "userinfo/"+c.Name+": "+o+judge(err, c.Want))
	}
	return out
}

// judge compares an outcome with the expected sentinel; jose errors are compared by
// kind (errors.Is does not work under Yaegi).
func judge(err, want error) string {
	if jose.KindOf(err) == want {
		return " [as expected]"
	}
	w := "accepted"
	if want != nil {
		w = want.Error()
	}
	return " [UNEXPECTED: want " + w + "]"
}
