package oidc

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// TokenClaims are the validated registered claims of a token, plus every claim in
// Raw for what the caller needs beyond them (groups, roles, email, templates).
type TokenClaims struct {
	Issuer   string
	Subject  string
	Audience []string
	AZP      string
	Expiry   time.Time
	IssuedAt time.Time
	AuthTime time.Time
	Nonce    string
	SID      string
	JTI      string
	Scope    string
	Raw      jose.Claims
}

// Sentinel errors of the token rules. Callers compare with ==; messages are stable.
var (
	ErrWrongIssuer   = errors.New("oidc: iss does not match the configured issuer")
	ErrTenant        = errors.New("oidc: tid is missing or not an allowed tenant")
	ErrWrongAudience = errors.New("oidc: aud does not contain the expected audience")
	ErrWrongAZP      = errors.New("oidc: azp must equal the client id")
	ErrNoAZP         = errors.New("oidc: a token with several audiences must name its client in azp or client_id")
	ErrNoSubject     = errors.New("oidc: sub is missing or invalid")
	ErrNonce         = errors.New("oidc: nonce does not match the login transaction")
	ErrATHash        = errors.New("oidc: at_hash does not match the access token")
	ErrAuthTime      = errors.New("oidc: auth_time is missing or older than max_age")
	ErrTokenKind     = errors.New("oidc: token is of the wrong kind for this use")
	ErrRefreshedID   = errors.New("oidc: refreshed ID token changed iss, sub, aud or auth_time")
	ErrEvents        = errors.New("oidc: logout token lacks the back-channel logout event")
	ErrNoSubOrSID    = errors.New("oidc: logout token has neither sub nor sid")
	ErrBadSID        = errors.New("oidc: sid must be a non-empty string of at most 255 bytes")
	ErrNoJTI         = errors.New("oidc: token has no jti, or one longer than 255 bytes")
	ErrTooOld        = errors.New("oidc: iat is older than the allowed maximum age")
	ErrTypeHeader    = errors.New("oidc: typ header does not fit this kind of token")
)

// BackchannelLogoutEvent is the event a logout token must carry (BCL 1.0 2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// registered reads the registered claims every kind shares, with strict types.
// StoredIDTokenClaims reads the claims of an ID token this relying party verified
// earlier and kept (in a sealed session): the reference a refreshed ID token is
// compared with (OIDC Core 12.2). It checks no signature — the token was verified
// when it was stored — only that it parses.
func StoredIDTokenClaims(raw string) (*TokenClaims, error) {
	jws, err := jose.ParseCompact(raw, 0)
	if err != nil {
		return nil, err
	}
	c, err := jose.DecodeClaims(jws.Payload)
	if err != nil {
		return nil, err
	}
	return registered(c)
}

func registered(c jose.Claims) (*TokenClaims, error) {
	t := &TokenClaims{Raw: c}
	err := stringClaims(c, t)
	if err != nil {
		return nil, err
	}
	if raw, ok := c["aud"]; ok {
		if t.Audience, err = jose.ParseAudience(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := c["exp"]; ok {
		if t.Expiry, err = jose.ParseNumericDate(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := c["iat"]; ok {
		if t.IssuedAt, err = jose.ParseNumericDate(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := c["auth_time"]; ok {
		if t.AuthTime, err = jose.ParseNumericDate(raw); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// stringClaims fills t's string claims from c. Plain calls in a row: under Yaegi a
// closure call or a method call per claim costs several times as much.
func stringClaims(c jose.Claims, t *TokenClaims) error {
	v, _, err := jose.StringClaim(c, "iss")
	if err != nil {
		return err
	}
	t.Issuer = v
	if v, _, err = jose.StringClaim(c, "sub"); err != nil {
		return err
	}
	t.Subject = v
	if v, _, err = jose.StringClaim(c, "azp"); err != nil {
		return err
	}
	t.AZP = v
	if v, _, err = jose.StringClaim(c, "nonce"); err != nil {
		return err
	}
	t.Nonce = v
	if v, _, err = jose.StringClaim(c, "sid"); err != nil {
		return err
	}
	t.SID = v
	if v, _, err = jose.StringClaim(c, "jti"); err != nil {
		return err
	}
	t.JTI = v
	if v, _, err = jose.StringClaim(c, "scope"); err != nil {
		return err
	}
	t.Scope = v
	return nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func validSubject(sub string) bool {
	return sub != "" && len(sub) <= 255
}

// IDTokenCheck is what an ID token must match (OIDC Core 3.1.3.7 and 12.2).
type IDTokenCheck struct {
	Issuer, ClientID string
	// Tenants, when not nil, makes Issuer a multi-tenant template (tenant.go).
	Tenants []string
	// Nonce, when set, must equal the token's nonce (it is set for the code flow).
	Nonce string
	// AccessToken, when set and the token has at_hash, must hash to it (3.1.3.8).
	AccessToken string
	// MaxAge, when MaxAgeSet, bounds auth_time (3.1.3.7 step 13).
	MaxAge    time.Duration
	MaxAgeSet bool
	// Previous, for a refreshed ID token, is the session's earlier one (12.2).
	Previous *TokenClaims
	Now      time.Time
	Leeway   time.Duration
}

// CheckIDToken applies the claim rules of OIDC Core 3.1.3.7 to a token whose
// signature has already been verified with alg (steps 6-8 happen in the verifier).
func CheckIDToken(h jose.Header, c jose.Claims, alg string, x IDTokenCheck) (*TokenClaims, error) {
	// Explicit typing: an ID token is typ JWT or untyped; access and logout tokens
	// carry their own media types and never substitute for one (RFC 8725 3.11).
	if h.Typ != "" && !jose.TypMatches(h.Typ, "JWT") {
		return nil, ErrTypeHeader
	}
	t, err := registered(c)
	if err != nil {
		return nil, err
	}
	if _, isLogout := c["events"]; isLogout {
		return nil, ErrTokenKind
	}
	if err := checkIssuer(c, t.Issuer, x.Issuer, x.Tenants); err != nil { // step 2
		return nil, err
	}
	if !contains(t.Audience, x.ClientID) { // step 3
		return nil, ErrWrongAudience
	}
	if (len(t.Audience) > 1 || t.AZP != "") && t.AZP != x.ClientID { // steps 4-5
		return nil, ErrWrongAZP
	}
	if err := jose.CheckTimes(c, x.Now, x.Leeway, true); err != nil { // steps 9-10
		return nil, err
	}
	if !validSubject(t.Subject) {
		return nil, ErrNoSubject
	}
	if x.Nonce != "" && subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(x.Nonce)) != 1 { // step 11
		return nil, ErrNonce
	}
	if x.MaxAgeSet { // step 13
		if t.AuthTime.IsZero() || x.Now.Sub(t.AuthTime) > x.MaxAge+x.Leeway {
			return nil, ErrAuthTime
		}
	}
	if _, has := c["at_hash"]; has && x.AccessToken != "" {
		want, _, err := c.String("at_hash")
		if err != nil || !checkATHash(alg, x.AccessToken, want) {
			return nil, ErrATHash
		}
	}
	if p := x.Previous; p != nil {
		// 12.2: same iss and sub, same aud (when the earlier token is known: nil
		// Audience means it is not, and steps 3-5 above still hold), auth_time
		// unchanged when present; a nonce, if both carry one, must be the original.
		if t.Issuer != p.Issuer || t.Subject != p.Subject || (p.Audience != nil && !sameSet(t.Audience, p.Audience)) {
			return nil, ErrRefreshedID
		}
		if !t.AuthTime.IsZero() && !p.AuthTime.IsZero() && !t.AuthTime.Equal(p.AuthTime) {
			return nil, ErrRefreshedID
		}
		if t.Nonce != "" && p.Nonce != "" && t.Nonce != p.Nonce {
			return nil, ErrNonce
		}
	}
	return t, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !contains(b, v) {
			return false
		}
	}
	return true
}

// checkATHash verifies OIDC Core 3.1.3.8: base64url of the left half of the hash of
// the access token, with the hash of the ID token's alg (SHA-512 for EdDSA, as the
// Ed25519 signature uses it).
func checkATHash(alg, accessToken, atHash string) bool {
	var h hash.Hash
	switch {
	case strings.HasSuffix(alg, "256"):
		h = sha256.New()
	case strings.HasSuffix(alg, "384"):
		h = sha512.New384()
	case strings.HasSuffix(alg, "512") || alg == "EdDSA":
		h = sha512.New()
	default:
		return false
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	want := base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	return subtle.ConstantTimeCompare([]byte(want), []byte(atHash)) == 1
}

// LogoutTokenCheck is what a logout token must match (BCL 1.0 section 2.6).
type LogoutTokenCheck struct {
	Issuer, ClientID string
	// Tenants, when not nil, makes Issuer a multi-tenant template (tenant.go).
	Tenants []string
	// MaxAge, when positive, bounds the age of iat. The caller remembers used jti
	// values for at least this long, so an older token cannot be replayed after its
	// jti was forgotten.
	MaxAge time.Duration
	Now    time.Time
	Leeway time.Duration
}

// maxSIDLen bounds a logout token's sid (it becomes a revocation id).
const maxSIDLen = 255

// CheckLogoutToken applies OpenID Back-Channel Logout 1.0 section 2.6 steps 3 to 6 to
// a logout token whose signature the caller has verified with the ID-token algorithms
// (step 2). The caller also checks that jti was not used before (step 7), across
// replicas. The steps, in the specification's order:
//
//   - typ, when present, is logout+jwt (section 2.4; JWT is tolerated for providers
//     predating the media type); any other type is another kind of token;
//   - step 3: iss, aud (and azp) and the times as for an ID token (OIDC Core 3.1.3.7):
//     iss equals the issuer (tenant.go for a template), aud contains the client id, azp (required with several
//     audiences) equals the client id, exp in the future, iat present and not in the
//     future, and iat no older than MaxAge;
//   - step 4: sub, sid, or both, each a non-empty string when present;
//   - step 5: events is a JSON object whose back-channel logout member is a JSON
//     object;
//   - step 6: no nonce claim at all, so an ID token can never be taken for one;
//   - section 2.4: jti is present (the replay check needs it).
func CheckLogoutToken(h jose.Header, c jose.Claims, x LogoutTokenCheck) (*TokenClaims, error) {
	if h.Typ != "" && !jose.TypMatches(h.Typ, "logout+jwt") && !jose.TypMatches(h.Typ, "JWT") {
		return nil, ErrTypeHeader
	}
	t, err := registered(c)
	if err != nil {
		return nil, err
	}
	if err := checkIssuer(c, t.Issuer, x.Issuer, x.Tenants); err != nil {
		return nil, err
	}
	if !contains(t.Audience, x.ClientID) {
		return nil, ErrWrongAudience
	}
	if (len(t.Audience) > 1 || t.AZP != "") && t.AZP != x.ClientID {
		return nil, ErrWrongAZP
	}
	if err := jose.CheckTimes(c, x.Now, x.Leeway, true); err != nil {
		return nil, err
	}
	if x.MaxAge > 0 && x.Now.Sub(t.IssuedAt) > x.MaxAge+x.Leeway {
		return nil, ErrTooOld
	}
	_, hasSub := c["sub"]
	_, hasSID := c["sid"]
	if !hasSub && !hasSID {
		return nil, ErrNoSubOrSID
	}
	if hasSub && !validSubject(t.Subject) {
		return nil, ErrNoSubject
	}
	if hasSID && (t.SID == "" || len(t.SID) > maxSIDLen) {
		return nil, ErrBadSID
	}
	events, has, err := jose.ObjectClaim(c, "events")
	if err != nil || !has {
		return nil, ErrEvents
	}
	if _, has, err := jose.ObjectClaim(events, BackchannelLogoutEvent); err != nil || !has {
		return nil, ErrEvents
	}
	if _, has := c["nonce"]; has {
		return nil, ErrTokenKind
	}
	if t.JTI == "" || len(t.JTI) > 255 {
		return nil, ErrNoJTI
	}
	return t, nil
}

// AccessTokenCheck is what a bearer access token must match (RFC 9068 section 4
// and the hardening table in docs/BEARER.md).
type AccessTokenCheck struct {
	// Issuer is the configured issuer, compared exactly; with Tenants not nil, a
	// multi-tenant template (tenant.go).
	Issuer  string
	Tenants []string
	// Audience is the resource audience (bearer.audience) the token must name.
	Audience string
	// ClientID is Gatehouse's own client id: a token addressed to it alone is an ID
	// token, whatever else it looks like.
	ClientID string
	// MaxAge bounds how long ago iat may be (0: no bound).
	MaxAge time.Duration
	Now    time.Time
	Leeway time.Duration
}

// CheckAccessToken applies the access-token rules to a token whose signature has
// already been verified, in this order (each step one error):
//
//  1. explicit typing (RFC 9068 2.1, RFC 8725 3.11): typ absent, JWT or at+jwt;
//  2. the registered claims have their JSON types;
//  3. token kind: no nonce (an ID token of the code flow), no events (a logout or
//     security-event token), token_use, when present, is "access" (Cognito);
//  4. iss equals the configured issuer exactly (or the template filled with the
//     token's own tid, an allowed tenant);
//  5. an audience made only of Gatehouse's client id is an ID token (ErrTokenKind);
//     otherwise aud must contain the configured resource audience;
//  6. several audiences need the client the token was issued to named, in azp (OIDC
//     Core 2) or client_id (RFC 9068 2.2, which JWT access tokens carry instead);
//     azp and client_id, when both are present, must agree;
//  7. exp, nbf and iat (required, not in the future) with leeway;
//  8. iat no older than MaxAge;
//  9. sub present and at most 255 bytes.
func CheckAccessToken(h jose.Header, c jose.Claims, x AccessTokenCheck) (*TokenClaims, error) {
	if h.Typ != "" && !jose.TypMatches(h.Typ, "at+jwt") && !jose.TypMatches(h.Typ, "JWT") {
		return nil, ErrTypeHeader
	}
	t, err := registered(c)
	if err != nil {
		return nil, err
	}
	if err := accessTokenKind(c, t, x.ClientID); err != nil {
		return nil, err
	}
	if err := checkIssuer(c, t.Issuer, x.Issuer, x.Tenants); err != nil {
		return nil, err
	}
	if !contains(t.Audience, x.Audience) {
		return nil, ErrWrongAudience
	}
	if err := accessTokenAZP(c, t); err != nil {
		return nil, err
	}
	if err := jose.CheckTimes(c, x.Now, x.Leeway, true); err != nil {
		return nil, err
	}
	if x.MaxAge > 0 && x.Now.Sub(t.IssuedAt) > x.MaxAge+x.Leeway {
		return nil, ErrTooOld
	}
	if !validSubject(t.Subject) {
		return nil, ErrNoSubject
	}
	return t, nil
}

// accessTokenKind refuses ID tokens and logout tokens presented as access tokens.
func accessTokenKind(c jose.Claims, t *TokenClaims, clientID string) error {
	if _, has := c["nonce"]; has {
		return ErrTokenKind
	}
	if _, has := c["events"]; has {
		return ErrTokenKind
	}
	if raw, has := c["token_use"]; has {
		if use, ok := jsonString(raw); !ok || use != "access" {
			return ErrTokenKind
		}
	}
	// An ID token's audience is the client it was issued to (OIDC Core 2); a token
	// whose every audience is Gatehouse's own client id, with no resource audience,
	// is one, even without nonce (refreshed ID tokens carry none).
	if clientID != "" && len(t.Audience) > 0 {
		onlyClient := true
		for _, a := range t.Audience {
			if a != clientID {
				onlyClient = false
			}
		}
		if onlyClient {
			return ErrTokenKind
		}
	}
	return nil
}

// accessTokenAZP applies the authorized-party rules: with several audiences the
// token must say which client it was issued to — azp, or client_id, the claim RFC
// 9068 gives JWT access tokens for it (zitadel/oidc's carry client_id and no azp) —
// and azp and client_id must not contradict each other.
func accessTokenAZP(c jose.Claims, t *TokenClaims) error {
	clientID := ""
	if raw, has := c["client_id"]; has {
		v, ok := jsonString(raw)
		if !ok {
			return ErrWrongAZP
		}
		clientID = v
	}
	if len(t.Audience) > 1 && t.AZP == "" && clientID == "" {
		return ErrNoAZP
	}
	if t.AZP != "" && clientID != "" && t.AZP != clientID {
		return ErrWrongAZP
	}
	return nil
}

// jsonString decodes a JSON string member.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
