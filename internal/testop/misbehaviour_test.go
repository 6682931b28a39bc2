package testop

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// idTokenUnder runs a code flow with m set and validates the ID token with the test
// relying party (JWKS fetched while m is still set).
func idTokenUnder(t *testing.T, p *Provider, m Misbehaviour) (map[string]any, map[string]any, error) {
	t.Helper()
	p.SetMisbehaviour(m)
	defer p.SetMisbehaviour(0)
	rp := newRP(t, p)
	f := rp.login()
	if f.status != 200 {
		t.Fatalf("token endpoint: %d %v", f.status, f.tokens)
	}
	tok := str(f.tokens, "id_token")
	hdr, _, _ := ParseUnverified(tok)
	claims, err := rp.validateIDToken(tok, f.req.nonce, str(f.tokens, "access_token"))
	return hdr, claims, err
}

func expectErr(t *testing.T, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Errorf("relying party said %v, expected a %v failure", got, want)
	}
}

// accessTokenUnder mints a client-credentials token with m set and verifies it.
func accessTokenUnder(t *testing.T, p *Provider, m Misbehaviour) (map[string]any, map[string]any, error) {
	t.Helper()
	p.SetMisbehaviour(m)
	defer p.SetMisbehaviour(0)
	tr, err := p.ClientCredentials(context.Background(), MachineClientID, MachineClientSecret, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return verifyWith(tr.AccessToken, newRP(t, p).jwks())
}

func TestEveryMisbehaviourDoesWhatItClaims(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, SlowDelay: 300 * time.Millisecond})
	discovery := func(t *testing.T, m Misbehaviour) map[string]any {
		p.SetMisbehaviour(m)
		defer p.SetMisbehaviour(0)
		return newRP(t, p).discover()
	}
	callback := func(t *testing.T, m Misbehaviour) (url.Values, *authReq) {
		p.SetMisbehaviour(m)
		defer p.SetMisbehaviour(0)
		rp := newRP(t, p)
		ar := rp.newAuthReq()
		return rp.callback(rp.authorize(ar.params)), ar
	}
	status := func(t *testing.T, m Misbehaviour, req *http.Request) int {
		p.SetMisbehaviour(m)
		defer p.SetMisbehaviour(0)
		resp, err := p.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	post := func(u string, form url.Values, id, secret string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		return req
	}
	ccForm := url.Values{"grant_type": {"client_credentials"}}

	checks := map[Misbehaviour]func(*testing.T){
		BadSignature: func(t *testing.T) {
			_, _, err := idTokenUnder(t, p, BadSignature)
			expectErr(t, err, errSignature)
			_, _, err = accessTokenUnder(t, p, BadSignature)
			expectErr(t, err, errSignature)
		},
		WrongIssuer: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, WrongIssuer)
			expectErr(t, err, errIss)
			if c["iss"] != p.URL()+"/wrong" {
				t.Errorf("iss %v", c["iss"])
			}
			if _, c, _ := accessTokenUnder(t, p, WrongIssuer); c["iss"] != p.URL()+"/wrong" {
				t.Errorf("access token iss %v", c["iss"])
			}
		},
		WrongAudience: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, WrongAudience)
			expectErr(t, err, errAud)
			if c["aud"] != "wrong-audience" {
				t.Errorf("aud %v", c["aud"])
			}
		},
		MissingAudience: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, MissingAudience)
			expectErr(t, err, errAud)
			if _, ok := c["aud"]; ok {
				t.Error("aud present")
			}
			if _, c, _ := accessTokenUnder(t, p, MissingAudience); c["aud"] != nil {
				t.Error("access token aud present")
			}
		},
		MissingIssuedAt: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, MissingIssuedAt)
			expectErr(t, err, errIat)
			if _, ok := c["iat"]; ok {
				t.Error("iat present")
			}
		},
		MissingSubject: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, MissingSubject)
			expectErr(t, err, errSub)
			if _, ok := c["sub"]; ok {
				t.Error("sub present")
			}
		},
		WrongNonce: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, WrongNonce)
			expectErr(t, err, errNonce)
			if c["nonce"] == nil {
				t.Error("nonce absent")
			}
			if _, c, _ := accessTokenUnder(t, p, WrongNonce); c["nonce"] != nil {
				t.Error("an ID-token switch changed an access token")
			}
		},
		MissingNonce: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, MissingNonce)
			expectErr(t, err, errNonce)
			if _, ok := c["nonce"]; ok {
				t.Error("nonce present")
			}
		},
		BadAtHash: func(t *testing.T) {
			_, _, err := idTokenUnder(t, p, BadAtHash)
			expectErr(t, err, errAtHash)
		},
		AlgNone: func(t *testing.T) {
			h, _, err := idTokenUnder(t, p, AlgNone)
			expectErr(t, err, errAlg)
			if h["alg"] != "none" || h["kid"] != nil {
				t.Errorf("header %v", h)
			}
			p.SetMisbehaviour(AlgNone)
			tr, _ := p.ClientCredentials(context.Background(), MachineClientID, MachineClientSecret, "", "")
			p.SetMisbehaviour(0)
			if !strings.HasSuffix(tr.AccessToken, ".") {
				t.Errorf("alg none access token has a signature: %s", tr.AccessToken)
			}
		},
		KidAbsentSingleKey: func(t *testing.T) {
			p.SetMisbehaviour(KidAbsentSingleKey)
			n := len(newRP(t, p).jwks())
			p.SetMisbehaviour(0)
			if n != 1 {
				t.Errorf("JWKS has %d keys, expected 1", n)
			}
			h, _, err := idTokenUnder(t, p, KidAbsentSingleKey)
			if err != nil || h["kid"] != nil {
				t.Errorf("kid absent with one key: %v (header %v), expected acceptance", err, h)
			}
		},
		KidAbsentMultipleKeys: func(t *testing.T) {
			h, _, err := idTokenUnder(t, p, KidAbsentMultipleKeys)
			expectErr(t, err, errKid)
			if h["kid"] != nil || len(newRP(t, p).jwks()) < 2 {
				t.Errorf("header %v", h)
			}
		},
		UnpublishedKey: func(t *testing.T) {
			next, err := p.UnpublishedKeyID()
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := idTokenUnder(t, p, UnpublishedKey)
			expectErr(t, err, errKid)
			if h["kid"] != next {
				t.Errorf("kid %v, expected the unpublished %s", h["kid"], next)
			}
			p.SetMisbehaviour(UnpublishedKey)
			rp := newRP(t, p)
			f := rp.login()
			p.SetMisbehaviour(0)
			if err := p.RotateKeys(); err != nil {
				t.Fatal(err)
			}
			if p.SigningKeyID() != next {
				t.Errorf("RotateKeys made %s current, expected %s", p.SigningKeyID(), next)
			}
			if _, err := rp.validateIDToken(str(f.tokens, "id_token"), f.req.nonce, ""); err != nil {
				t.Errorf("after RotateKeys the token still fails: %v", err)
			}
		},
		ExpiredToken: func(t *testing.T) {
			_, _, err := idTokenUnder(t, p, ExpiredToken)
			expectErr(t, err, errExp)
		},
		IssuedInFuture: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, IssuedInFuture)
			expectErr(t, err, errIat)
			if c["nbf"] == nil {
				t.Error("nbf absent")
			}
		},
		MultipleAudiences: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, MultipleAudiences)
			if err != nil || len(audList(c["aud"])) != 2 || c["azp"] != DefaultClientID {
				t.Errorf("%v aud %v azp %v", err, c["aud"], c["azp"])
			}
		},
		MultipleAudiencesNoAzp: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, MultipleAudiencesNoAzp)
			expectErr(t, err, errAzp)
			if c["azp"] != nil {
				t.Error("azp present")
			}
			if _, c, _ := accessTokenUnder(t, p, MultipleAudiencesNoAzp); len(audList(c["aud"])) != 2 || c["azp"] != nil {
				t.Errorf("access token aud %v azp %v", c["aud"], c["azp"])
			}
		},
		NoAtHash: func(t *testing.T) {
			_, c, err := idTokenUnder(t, p, NoAtHash)
			if err != nil || c["at_hash"] != nil {
				t.Errorf("%v at_hash %v", err, c["at_hash"])
			}
		},
		RefreshChangesSubject: func(t *testing.T) {
			rp := newRP(t, p)
			f := rp.login()
			p.SetMisbehaviour(RefreshChangesSubject)
			_, tok := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(f.tokens, "refresh_token")}})
			p.SetMisbehaviour(0)
			_, c1, _ := ParseUnverified(str(f.tokens, "id_token"))
			_, c2, _ := ParseUnverified(str(tok, "id_token"))
			if c2["sub"] == nil || c2["sub"] == c1["sub"] {
				t.Errorf("refreshed sub %v, first %v", c2["sub"], c1["sub"])
			}
		},
		NoIDTokenOnRefresh: func(t *testing.T) {
			rp := newRP(t, p)
			f := rp.login()
			p.SetMisbehaviour(NoIDTokenOnRefresh)
			st, tok := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(f.tokens, "refresh_token")}})
			p.SetMisbehaviour(0)
			if st != 200 || tok["id_token"] != nil || str(tok, "access_token") == "" {
				t.Errorf("%d %v", st, tok)
			}
		},
		RefreshRepeatsNonce: func(t *testing.T) {
			rp := newRP(t, p)
			f := rp.login()
			_, plain := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(f.tokens, "refresh_token")}})
			p.SetMisbehaviour(RefreshRepeatsNonce)
			_, tok := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(plain, "refresh_token")}})
			p.SetMisbehaviour(0)
			_, c0, _ := ParseUnverified(str(f.tokens, "id_token"))
			_, c1, _ := ParseUnverified(str(plain, "id_token"))
			_, c2, _ := ParseUnverified(str(tok, "id_token"))
			if c0["nonce"] == nil || c1["nonce"] != nil || c2["nonce"] != c0["nonce"] {
				t.Errorf("nonce at login %v, plain refresh %v, repeated %v", c0["nonce"], c1["nonce"], c2["nonce"])
			}
		},
		UserinfoWrongSubject: func(t *testing.T) {
			rp := newRP(t, p)
			f := rp.login()
			p.SetMisbehaviour(UserinfoWrongSubject)
			req, _ := http.NewRequest(http.MethodGet, p.Endpoints().Userinfo, nil)
			req.Header.Set("Authorization", "Bearer "+str(f.tokens, "access_token"))
			_, ui := rp.do(req)
			p.SetMisbehaviour(0)
			_, c, _ := ParseUnverified(str(f.tokens, "id_token"))
			if ui["sub"] == nil || ui["sub"] == c["sub"] {
				t.Errorf("userinfo sub %v, ID token sub %v", ui["sub"], c["sub"])
			}
		},
		NoUserinfoEndpoint: func(t *testing.T) {
			d := discovery(t, NoUserinfoEndpoint)
			if _, ok := d["userinfo_endpoint"]; ok || d["token_endpoint"] == nil {
				t.Errorf("discovery %v", d)
			}
		},
		TenantIssuerMismatch: func(t *testing.T) {
			mt := newProvider(t, Options{MultiTenant: true})
			if err := mt.AddUser(User{Username: "tess", Tenant: SecondTenantID}); err != nil {
				t.Fatal(err)
			}
			for user, own := range map[string]string{"alice": DefaultTenantID, "tess": SecondTenantID} {
				mt.SetMisbehaviour(0)
				good, _ := mt.IssueIDToken(IDTokenOptions{User: user})
				mt.SetMisbehaviour(TenantIssuerMismatch)
				bad, _ := mt.IssueIDToken(IDTokenOptions{User: user})
				at, _ := mt.IssueAccessToken(AccessTokenOptions{User: user})
				_, g, _ := ParseUnverified(good)
				_, b, _ := ParseUnverified(bad)
				_, a, _ := ParseUnverified(at)
				if g["tid"] != own || g["iss"] != mt.TenantIssuer(own) {
					t.Errorf("%s: well-behaved tid %v iss %v", user, g["tid"], g["iss"])
				}
				if b["tid"] != own || b["iss"] == mt.TenantIssuer(own) || a["iss"] == mt.TenantIssuer(own) ||
					(b["iss"] != mt.TenantIssuer(DefaultTenantID) && b["iss"] != mt.TenantIssuer(SecondTenantID)) {
					t.Errorf("%s: mismatched tid %v iss %v, access token iss %v", user, b["tid"], b["iss"], a["iss"])
				}
			}
			mt.SetMisbehaviour(0)
		},
		NoIssParameter: func(t *testing.T) {
			cb, _ := callback(t, NoIssParameter)
			if _, ok := cb["iss"]; ok || cb.Get("code") == "" {
				t.Errorf("callback %v", cb)
			}
			if discovery(t, NoIssParameter)["authorization_response_iss_parameter_supported"] != true {
				t.Error("discovery stopped advertising iss")
			}
		},
		WrongIssParameter: func(t *testing.T) {
			if cb, _ := callback(t, WrongIssParameter); cb.Get("iss") != p.URL()+"/wrong" {
				t.Errorf("iss %q", cb.Get("iss"))
			}
		},
		IssParameterUnsupported: func(t *testing.T) {
			cb, _ := callback(t, IssParameterUnsupported)
			if _, ok := cb["iss"]; ok {
				t.Errorf("callback %v", cb)
			}
			if discovery(t, IssParameterUnsupported)["authorization_response_iss_parameter_supported"] != false {
				t.Error("discovery still advertises iss")
			}
		},
		WrongState: func(t *testing.T) {
			if cb, ar := callback(t, WrongState); cb.Get("state") == ar.state || cb.Get("state") == "" {
				t.Errorf("state %q", cb.Get("state"))
			}
		},
		DiscoveryIssuerMismatch: func(t *testing.T) {
			if d := discovery(t, DiscoveryIssuerMismatch); d["issuer"] != p.URL()+"/wrong" {
				t.Errorf("issuer %v", d["issuer"])
			}
		},
		NoEndSessionEndpoint: func(t *testing.T) {
			if d := discovery(t, NoEndSessionEndpoint); d["end_session_endpoint"] != nil || d["token_endpoint"] == nil {
				t.Errorf("end_session_endpoint %v", d["end_session_endpoint"])
			}
		},
		NoRevocationEndpoint: func(t *testing.T) {
			if d := discovery(t, NoRevocationEndpoint); d["revocation_endpoint"] != nil {
				t.Errorf("revocation_endpoint %v", d["revocation_endpoint"])
			}
		},
		NoIntrospectionEndpoint: func(t *testing.T) {
			if d := discovery(t, NoIntrospectionEndpoint); d["introspection_endpoint"] != nil {
				t.Errorf("introspection_endpoint %v", d["introspection_endpoint"])
			}
		},
		NoCodeChallengeMethods: func(t *testing.T) {
			if d := discovery(t, NoCodeChallengeMethods); d["code_challenge_methods_supported"] != nil {
				t.Errorf("code_challenge_methods_supported %v", d["code_challenge_methods_supported"])
			}
		},
		JWKSFailing: func(t *testing.T) {
			before := p.Count(EPJWKS)
			req, _ := http.NewRequest(http.MethodGet, p.Endpoints().JWKS, nil)
			if st := status(t, JWKSFailing, req); st != 500 {
				t.Errorf("status %d", st)
			}
			if p.Count(EPJWKS) != before+1 {
				t.Error("failed JWKS request not counted")
			}
		},
		TokenEndpointFailing: func(t *testing.T) {
			if st := status(t, TokenEndpointFailing, post(p.Endpoints().Token, ccForm, MachineClientID, MachineClientSecret)); st != 500 {
				t.Errorf("status %d", st)
			}
		},
		TokenEndpointSlow: func(t *testing.T) {
			p.SetMisbehaviour(TokenEndpointSlow)
			defer p.SetMisbehaviour(0)
			impatient := &http.Client{Timeout: 100 * time.Millisecond}
			if resp, err := impatient.Do(post(p.Endpoints().Token, ccForm, MachineClientID, MachineClientSecret)); err == nil {
				resp.Body.Close()
				t.Error("slow token endpoint answered within 100ms")
			}
			start := time.Now()
			resp, err := p.HTTPClient().Do(post(p.Endpoints().Token, ccForm, MachineClientID, MachineClientSecret))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v", err)
			}
			resp.Body.Close()
			if time.Since(start) < 300*time.Millisecond {
				t.Errorf("answered after %v, expected at least SlowDelay", time.Since(start))
			}
		},
		IntrospectionFailing: func(t *testing.T) {
			if st := status(t, IntrospectionFailing, post(p.Endpoints().Introspection, url.Values{"token": {"x"}}, IntrospectionClientID, IntrospectionClientSecret)); st != 500 {
				t.Errorf("status %d", st)
			}
		},
		IntrospectionHangs: func(t *testing.T) {
			p.SetMisbehaviour(IntrospectionHangs)
			defer p.SetMisbehaviour(0)
			impatient := &http.Client{Timeout: 100 * time.Millisecond}
			if resp, err := impatient.Do(post(p.Endpoints().Introspection, url.Values{"token": {"x"}}, IntrospectionClientID, IntrospectionClientSecret)); err == nil {
				resp.Body.Close()
				t.Error("hanging introspection answered")
			}
		},
		UserinfoFailing: func(t *testing.T) {
			f := newRP(t, p).login()
			req, _ := http.NewRequest(http.MethodGet, p.Endpoints().Userinfo, nil)
			req.Header.Set("Authorization", "Bearer "+str(f.tokens, "access_token"))
			if st := status(t, UserinfoFailing, req); st != 500 {
				t.Errorf("status %d", st)
			}
		},
		DiscoveryFailing: func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, p.Endpoints().Discovery, nil)
			if st := status(t, DiscoveryFailing, req); st != 503 {
				t.Errorf("status %d", st)
			}
		},
	}
	for _, m := range Misbehaviours() {
		check, ok := checks[m]
		if !ok {
			t.Errorf("switch %v has no check", m)
			continue
		}
		t.Run(m.String(), check)
	}
	// With every switch off again, the flow is clean.
	if _, _, err := idTokenUnder(t, p, 0); err != nil {
		t.Errorf("after the switches: %v", err)
	}
}

func TestMisbehaviourNamesAreDistinctAndRoundTrip(t *testing.T) {
	var all Misbehaviour
	for _, m := range Misbehaviours() {
		if m == 0 || m&(m-1) != 0 || all&m != 0 {
			t.Errorf("switch %v is not a distinct single bit", m)
		}
		all |= m
		back, err := ParseMisbehaviour(m.String())
		if err != nil || back != m {
			t.Errorf("ParseMisbehaviour(%q) = %v, %v", m.String(), back, err)
		}
	}
	if got, _ := ParseMisbehaviour("badsignature, WrongIssuer|alGnone"); got != BadSignature|WrongIssuer|AlgNone {
		t.Errorf("parsed %v", got)
	}
	if (BadSignature|WrongIssuer).String() != "BadSignature|WrongIssuer" || Misbehaviour(0).String() != "none" {
		t.Errorf("String %q", (BadSignature | WrongIssuer).String())
	}
	if _, err := ParseMisbehaviour("NoSuchThing"); err == nil {
		t.Error("unknown name accepted")
	}
	if m, err := ParseMisbehaviour(""); m != 0 || err != nil {
		t.Errorf("empty: %v %v", m, err)
	}
	if !(BadSignature | AlgNone).Has(AlgNone) || BadSignature.Has(AlgNone) || BadSignature.Has(0) {
		t.Error("Has")
	}
}
