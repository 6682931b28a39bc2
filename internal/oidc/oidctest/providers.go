package oidctest

import (
	"encoding/json"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
)

// Multi-tenant issuer cases: the template, two allowed tenants and one that is not.
const (
	Template      = "https://login.example.com/{tenantid}/v2.0"
	TenantA       = "11111111-2222-4333-8444-555555555555"
	TenantB       = "66666666-7777-4888-9999-aaaaaaaaaaaa"
	TenantOutside = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
)

func tenantIssuer(tid string) string { return "https://login.example.com/" + tid + "/v2.0" }

// tenantCheck is the access-token check with the template and tenants A and B.
func tenantCheck() *oidc.AccessTokenCheck {
	x := DefaultAccessCheck()
	x.Issuer = Template
	x.Tenants = []string{TenantA, TenantB}
	return &x
}

// tenantToken is a valid access token's payload with iss and, unless tid is "", a
// tid member given verbatim (a JSON value).
func tenantToken(iss, tid string) string {
	extra := `"iss":"` + iss + `","sub":"svc-orders","aud":"` + Audience + `","iat":` + at(-60) + `,"exp":` + at(240) + `,"jti":"j1"`
	if tid != "" {
		extra += `,"tid":` + tid
	}
	return payload(false, extra)
}

// TenantCases are the multi-tenant issuer rules (oidc/tenant.go) as access-token
// cases: a token passes only when its tid is allowed and its iss is the template
// filled with that very tid.
func TenantCases() []AccessCase {
	q := func(s string) string { return `"` + s + `"` }
	return []AccessCase{
		{Name: "tenant A", Payload: tenantToken(tenantIssuer(TenantA), q(TenantA)), Check: tenantCheck()},
		{Name: "tenant B", Payload: tenantToken(tenantIssuer(TenantB), q(TenantB)), Check: tenantCheck()},
		{Name: "tenant not allowed", Payload: tenantToken(tenantIssuer(TenantOutside), q(TenantOutside)), Check: tenantCheck(), Want: oidc.ErrTenant},
		{Name: "iss of tenant B, tid of tenant A", Payload: tenantToken(tenantIssuer(TenantB), q(TenantA)), Check: tenantCheck(), Want: oidc.ErrWrongIssuer},
		{Name: "iss of tenant A, tid not allowed", Payload: tenantToken(tenantIssuer(TenantA), q(TenantOutside)), Check: tenantCheck(), Want: oidc.ErrTenant},
		{Name: "no tid", Payload: tenantToken(tenantIssuer(TenantA), ""), Check: tenantCheck(), Want: oidc.ErrTenant},
		{Name: "tid not a string", Payload: tenantToken(tenantIssuer(TenantA), "42"), Check: tenantCheck(), Want: oidc.ErrTenant},
		{Name: "iss is the template itself", Payload: tenantToken(Template, q(TenantA)), Check: tenantCheck(), Want: oidc.ErrWrongIssuer},
		{Name: "iss with the tid in upper case", Payload: tenantToken(tenantIssuer(strings.ToUpper(TenantB)), q(TenantB)), Check: tenantCheck(), Want: oidc.ErrWrongIssuer},
		{Name: "tid with a path", Payload: tenantToken(tenantIssuer(TenantA+"/x"), q(TenantA+"/x")), Check: tenantCheck(), Want: oidc.ErrTenant},
		{Name: "single-tenant issuer ignores tid", Payload: tenantToken(Issuer, q(TenantOutside))},
	}
}

// UserinfoCase is a userinfo answer checked against an ID token's subject and merged
// beneath its claims (oidc.CheckUserinfo, oidc.MergeUserinfo). Want is the expected
// error (nil: merged; the line then shows the merged claims).
type UserinfoCase struct {
	Name     string
	ID       string // the ID token's claims (JSON)
	Userinfo string // the answer's claims (JSON)
	Signed   bool
	Want     error
}

const idClaims = `{"iss":"` + Issuer + `","sub":"u1","aud":"` + ClientID + `","nonce":"n1","email":"a@example.com","email_verified":true}`

// UserinfoCases are the userinfo rules: OIDC Core 5.3.2's sub check, the signed
// answer's iss and aud, and the merge (ID token wins, protocol claims never taken,
// an address and its verification flag from one source).
func UserinfoCases() []UserinfoCase {
	noEmail := `{"iss":"` + Issuer + `","sub":"u1","aud":"` + ClientID + `"}`
	flagOnly := `{"iss":"` + Issuer + `","sub":"u1","aud":"` + ClientID + `","email_verified":true}`
	return []UserinfoCase{
		{Name: "groups only in userinfo", ID: idClaims, Userinfo: `{"sub":"u1","groups":["admins","staff"],"roles":["admin"]}`},
		{Name: "ID token wins on conflicts", ID: idClaims, Userinfo: `{"sub":"u1","email":"other@example.com","email_verified":false,"name":"Ui"}`},
		{Name: "email and its flag both from userinfo", ID: noEmail, Userinfo: `{"sub":"u1","email":"u@example.com","email_verified":true}`},
		{Name: "the ID token's flag never verifies userinfo's email", ID: flagOnly, Userinfo: `{"sub":"u1","email":"u@example.com"}`},
		{Name: "email_verified only in userinfo, for the ID token's address", ID: `{"sub":"u1","email":"a@example.com"}`, Userinfo: `{"sub":"u1","email":"a@example.com","email_verified":true}`},
		{Name: "email_verified only in userinfo, for another address", ID: `{"sub":"u1","email":"a@example.com"}`, Userinfo: `{"sub":"u1","email":"b@example.com","email_verified":true}`},
		{Name: "email_verified only in userinfo, for the address in another case", ID: `{"sub":"u1","email":"a@example.com"}`, Userinfo: `{"sub":"u1","email":"A@example.com","email_verified":true}`},
		{Name: "protocol claims not taken", ID: noEmail, Userinfo: `{"sub":"u1","iss":"https://evil.example","aud":"x","nonce":"n2","tid":"t","sid":"s","exp":1,"groups":["g"]}`},
		{Name: "another subject", ID: idClaims, Userinfo: `{"sub":"u2","groups":["admins"]}`, Want: oidc.ErrUserinfoSubject},
		{Name: "no subject", ID: idClaims, Userinfo: `{"groups":["admins"]}`, Want: oidc.ErrUserinfoSubject},
		{Name: "subject not a string", ID: idClaims, Userinfo: `{"sub":1}`, Want: oidc.ErrUserinfoSubject},
		{Name: "subject differing in case", ID: idClaims, Userinfo: `{"sub":"U1"}`, Want: oidc.ErrUserinfoSubject},
		{Name: "signed with iss and aud", ID: idClaims, Userinfo: `{"sub":"u1","iss":"` + Issuer + `","aud":"` + ClientID + `","groups":["g"]}`, Signed: true},
		{Name: "signed by another issuer", ID: idClaims, Userinfo: `{"sub":"u1","iss":"https://evil.example"}`, Signed: true, Want: oidc.ErrWrongIssuer},
		{Name: "signed for another client", ID: idClaims, Userinfo: `{"sub":"u1","aud":["other"]}`, Signed: true, Want: oidc.ErrWrongAudience},
	}
}

// CheckUserinfo runs one userinfo case and returns its outcome text and error.
func CheckUserinfo(c UserinfoCase) (string, error) {
	id, err := jose.DecodeClaims([]byte(c.ID))
	if err != nil {
		return "decode ID: " + err.Error(), err
	}
	ui, err := jose.DecodeClaims([]byte(c.Userinfo))
	if err != nil {
		return "decode userinfo: " + err.Error(), err
	}
	sub, _, _ := jose.StringClaim(id, "sub")
	if err := oidc.CheckUserinfo(ui, oidc.UserinfoCheck{Subject: sub, Signed: c.Signed, Issuer: Issuer, ClientID: ClientID}); err != nil {
		return err.Error(), err
	}
	b, err := json.Marshal(oidc.MergeUserinfo(id, ui))
	if err != nil {
		return "encode: " + err.Error(), err
	}
	return "merged " + string(b), nil
}
