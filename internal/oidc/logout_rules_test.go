package oidc_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc/logouttest"
)

// TestCheckLogoutTokenAppliesBackchannelLogoutRules runs the catalogue of valid and
// broken logout tokens (BCL 1.0 section 2.6): each must be accepted or refused with
// exactly the expected error kind.
func TestCheckLogoutTokenAppliesBackchannelLogoutRules(t *testing.T) {
	cases := logouttest.Cases()
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	accepted := 0
	for _, c := range cases {
		desc, got := logouttest.Check(c)
		if got != c.Want {
			t.Errorf("%s: got %v, want %v", c.Name, got, c.Want)
		}
		if got == nil {
			accepted++
			if !strings.Contains(desc, "jti=jti-1") {
				t.Errorf("%s: accepted as %q", c.Name, desc)
			}
		}
	}
	if accepted == 0 || accepted == len(cases) {
		t.Fatalf("%d of %d accepted", accepted, len(cases))
	}
	for _, line := range logouttest.Run() {
		if strings.Contains(line, "[UNEXPECTED") {
			t.Error(line)
		}
	}
}

// TestCheckLogoutTokenReturnsTheClaimsTheCallerActsOn: sub, sid, jti and iat come
// back as the token states them.
func TestCheckLogoutTokenReturnsTheClaimsTheCallerActsOn(t *testing.T) {
	now := time.Unix(1700000000, 0)
	claims := mustClaims(t, map[string]any{
		"iss": "https://idp.example.com", "aud": []string{"gatehouse"}, "iat": now.Unix() - 5, "exp": now.Unix() + 60,
		"jti": "j-42", "sub": "usr_bob", "sid": "op-session-7",
		"events": map[string]any{oidc.BackchannelLogoutEvent: map[string]any{}},
	})
	tc, err := oidc.CheckLogoutToken(jose.Header{Alg: "ES256", Typ: "logout+jwt"}, claims,
		oidc.LogoutTokenCheck{Issuer: "https://idp.example.com", ClientID: "gatehouse", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if tc.Subject != "usr_bob" || tc.SID != "op-session-7" || tc.JTI != "j-42" || tc.IssuedAt.Unix() != now.Unix()-5 {
		t.Fatalf("%+v", tc)
	}
}

// TestCheckLogoutTokenLeewayAppliesToExpiry: a token expired by less than the leeway
// is accepted, one expired by more is not (OIDC Core 3.1.3.7 step 9 with clock skew).
func TestCheckLogoutTokenLeewayAppliesToExpiry(t *testing.T) {
	now := time.Unix(1700000000, 0)
	mk := func(exp int64) jose.Claims {
		return mustClaims(t, map[string]any{
			"iss": "https://idp.example.com", "aud": "gatehouse", "iat": now.Unix() - 100, "exp": exp, "jti": "j", "sid": "s",
			"events": map[string]any{oidc.BackchannelLogoutEvent: map[string]any{}},
		})
	}
	x := oidc.LogoutTokenCheck{Issuer: "https://idp.example.com", ClientID: "gatehouse", Now: now, Leeway: 30 * time.Second}
	if _, err := oidc.CheckLogoutToken(jose.Header{Alg: "RS256"}, mk(now.Unix()-10), x); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	if _, err := oidc.CheckLogoutToken(jose.Header{Alg: "RS256"}, mk(now.Unix()-31), x); jose.KindOf(err) != jose.ErrExpired {
		t.Fatalf("beyond leeway: %v", err)
	}
}

func mustClaims(t testing.TB, m map[string]any) jose.Claims {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := jose.DecodeClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzCheckLogoutToken: whatever the claims and typ, CheckLogoutToken does not panic,
// and what it accepts meets every rule of BCL 1.0 section 2.6.
func FuzzCheckLogoutToken(f *testing.F) {
	for _, c := range logouttest.Cases() {
		b, _ := json.Marshal(c.Claims)
		f.Add(c.Typ, string(b))
	}
	f.Add("logout+jwt", `{"iss":"https://idp.example.com","aud":"gatehouse","iat":1699999990,"exp":1700000100,"jti":"x","sid":"s","events":{"http://schemas.openid.net/event/backchannel-logout":{}},"SID":"t"}`)
	f.Fuzz(func(t *testing.T, typ, payload string) {
		claims, err := jose.DecodeClaims([]byte(payload))
		if err != nil {
			return
		}
		x := oidc.LogoutTokenCheck{Issuer: logouttest.Issuer, ClientID: logouttest.ClientID, MaxAge: time.Hour, Now: logouttest.Now, Leeway: 30 * time.Second}
		tc, err := oidc.CheckLogoutToken(jose.Header{Alg: "RS256", Typ: typ}, claims, x)
		if err != nil {
			return
		}
		if tc.Issuer != logouttest.Issuer || tc.JTI == "" || (tc.Subject == "" && tc.SID == "") {
			t.Fatalf("accepted %+v", tc)
		}
		if _, has := claims["nonce"]; has {
			t.Fatal("accepted a token with a nonce")
		}
		found := false
		for _, a := range tc.Audience {
			found = found || a == logouttest.ClientID
		}
		if !found {
			t.Fatalf("accepted aud %v", tc.Audience)
		}
		if !tc.Expiry.After(logouttest.Now.Add(-30*time.Second)) || tc.IssuedAt.IsZero() || tc.IssuedAt.After(logouttest.Now.Add(30*time.Second)) {
			t.Fatalf("accepted times exp %v iat %v", tc.Expiry, tc.IssuedAt)
		}
		var ev map[string]json.RawMessage
		if json.Unmarshal(claims["events"], &ev) != nil || len(ev[oidc.BackchannelLogoutEvent]) == 0 || ev[oidc.BackchannelLogoutEvent][0] != '{' {
			t.Fatalf("accepted events %s", claims["events"])
		}
	})
}
