package auth

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// provider.userinfo merge: at sign-in and at each refresh — never per request — the
// userinfo endpoint is asked about the user with the fresh access token, its answer
// must be about the ID token's subject, and its claims join the ID token's beneath
// them (oidc.MergeUserinfo). The identity built from the merge (user, email, roles,
// groups, and the claims templates read) is what the session keeps, so requests pay
// nothing for it.

// userinfoIdentity fills rec's identity from the ID token's claims merged with the
// userinfo answer. tc and claims are the ID token just verified; at a refresh without
// one (nil), the session's stored ID token stands in for it.
//
// At sign-in any failure fails the sign-in. At a refresh, an answer about another
// subject (or a signed answer that does not verify) ends the session like a refused
// refresh; an endpoint that cannot be reached or answers an error keeps the identity
// of the last successful call: the new tokens are kept (the refresh token may have
// rotated), and the next refresh asks again.
func userinfoIdentity(m *Middleware, ctx context.Context, meta *oidc.Metadata, accessToken string, rec *session.Record,
	tc *oidc.TokenClaims, claims jose.Claims, previous *session.Record) error {
	if tc == nil {
		tc = previousIDClaims(previous)
		claims = tc.Raw
		if claims == nil {
			claims = subjectClaims(tc)
		}
	}
	ui, refused, err := fetchUserinfo(m, ctx, meta, accessToken, tc.Subject)
	if err != nil {
		if previous == nil || refused {
			return errorString("userinfo: " + err.Error())
		}
		m.log.Warn(logging.EventUserinfoFailed, "userinfo failed at refresh, keeping the identity of the last successful call",
			logging.Fields{"user": m.log.ID(rec.Subject), "error": err})
		return nil
	}
	fillIdentity(m, rec, tc, oidc.MergeUserinfo(claims, ui))
	return nil
}

// subjectClaims are the claims of a session that keeps no ID token: its iss and sub.
func subjectClaims(tc *oidc.TokenClaims) jose.Claims {
	iss, _ := json.Marshal(tc.Issuer)
	sub, _ := json.Marshal(tc.Subject)
	return jose.Claims{"iss": iss, "sub": sub}
}

// fetchUserinfo asks the userinfo endpoint with accessToken (within
// provider.httpTimeout, the answer capped at oidc.MaxUserinfoBytes) and returns its
// claims once they are known to be about sub (OIDC Core 5.3.2). A signed answer
// (application/jwt) is verified like an ID token: the provider's keys,
// provider.signingAlgorithms, and iss and aud when present. refused says the
// answer came but may not be used (another subject, a bad signature), as opposed to
// no usable answer at all.
func fetchUserinfo(m *Middleware, ctx context.Context, meta *oidc.Metadata, accessToken, sub string) (jose.Claims, bool, error) {
	if meta.UserinfoEndpoint == "" {
		return nil, false, errorString("the provider advertises no userinfo_endpoint")
	}
	p := &m.opts.Provider
	uctx, cancel := context.WithTimeout(ctx, p.HTTPTimeout)
	defer cancel()
	ans, err := m.provider.client.Userinfo(uctx, meta.UserinfoEndpoint, accessToken)
	if err != nil {
		return nil, false, err
	}
	claims := ans.Claims
	signed := ans.JWT != ""
	if signed {
		_, c, err := verifyJWS(m, uctx, meta, ans.JWT, oidc.MaxUserinfoBytes, p.SigningAlgorithms)
		if err != nil {
			return nil, true, errorString("signed answer: " + err.Error())
		}
		claims = c
	}
	if err := oidc.CheckUserinfo(claims, oidc.UserinfoCheck{Subject: sub, Signed: signed, Issuer: p.Issuer, ClientID: p.ClientID, Tenants: p.AllowedTenants}); err != nil {
		return nil, true, err
	}
	return claims, false, nil
}
