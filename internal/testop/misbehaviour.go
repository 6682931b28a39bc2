package testop

import (
	"fmt"
	"strings"
)

// Misbehaviour is a set of switches that make the provider deviate from the protocol
// (or pick one of its legitimate variants), modelled on the OpenID Foundation's
// relying-party certification tests. Combine switches with |, install them with
// Provider.SetMisbehaviour; the zero value is a well-behaved provider.
//
// Token switches change every JWT the provider mints after they are set: ID tokens
// always, and — for the switches marked "all tokens" — JWT access tokens and logout
// tokens too (client-credentials tokens for the bearer tests, the tokens
// BackchannelLogout sends). Provider.Sign, SignHMAC and SignPayload are raw and ignore
// every switch.
type Misbehaviour uint64

// Token content. "Expected" is what a conforming relying party does with the result.
const (
	// BadSignature flips one bit of the signature (all tokens). Expected: rejected.
	BadSignature Misbehaviour = 1 << iota
	// WrongIssuer sets iss to the issuer + "/wrong" (all tokens). Expected: rejected.
	WrongIssuer
	// WrongAudience sets aud to "wrong-audience" (all tokens). Expected: rejected.
	WrongAudience
	// MissingAudience omits aud (all tokens). Expected: rejected.
	MissingAudience
	// MissingIssuedAt omits iat (all tokens). Expected: rejected.
	MissingIssuedAt
	// MissingSubject omits sub (all tokens). Expected: rejected (a logout token
	// that still carries sid remains valid; use LogoutTokenOptions for those cases).
	MissingSubject
	// WrongNonce puts a nonce the relying party never sent (ID tokens). Expected:
	// rejected.
	WrongNonce
	// MissingNonce omits nonce although one was sent (ID tokens). Expected: rejected.
	MissingNonce
	// BadAtHash puts an at_hash that does not match the access token (ID tokens).
	// Expected: rejected.
	BadAtHash
	// AlgNone signs with "alg":"none" and an empty signature (all tokens). Expected:
	// rejected.
	AlgNone
	// KidAbsentSingleKey omits kid and publishes only the signing key in the JWKS
	// (all tokens). Expected: ACCEPTED (certification test
	// rp-id_token-kid-absent-single-jwks).
	KidAbsentSingleKey
	// KidAbsentMultipleKeys omits kid while the JWKS publishes several keys (all
	// tokens). Expected: rejected, or accepted by trying every key of the token's alg
	// (rp-id_token-kid-absent-multiple-jwks allows either).
	KidAbsentMultipleKeys
	// UnpublishedKey signs with a key not yet in the JWKS, as a provider that rotates
	// before publishing (all tokens). Expected: rejected after at most one JWKS
	// refetch. Provider.RotateKeys publishes that very key, so a later refetch
	// succeeds.
	UnpublishedKey
	// ExpiredToken issues tokens whose exp lies 5 minutes in the past (all tokens).
	// Expected: rejected.
	ExpiredToken
	// IssuedInFuture sets iat (and nbf) one hour ahead (all tokens). Expected:
	// rejected.
	IssuedInFuture
	// MultipleAudiences adds "other-audience" to aud and sets azp to the client id
	// (all tokens). Expected: ACCEPTED (OIDC Core 3.1.3.7 steps 3-5).
	MultipleAudiences
	// MultipleAudiencesNoAzp adds "other-audience" to aud and omits azp (all
	// tokens). Expected: rejected (docs/SECURITY.md: azp required with several audiences).
	MultipleAudiencesNoAzp
	// NoAtHash omits at_hash (ID tokens). Valid for the code flow. Expected: accepted.
	NoAtHash
	// RefreshChangesSubject gives the ID token returned by a refresh a different sub
	// (OIDC Core 12.2 requires the same). Expected: the refresh is rejected.
	RefreshChangesSubject
	// NoIDTokenOnRefresh returns no id_token from the refresh grant (valid; OIDC Core
	// 12.2 makes it optional). Expected: accepted, the old identity kept.
	NoIDTokenOnRefresh
	// UserinfoWrongSubject answers userinfo with a different sub (OIDC Core 5.3.2).
	// Expected: the userinfo response is rejected.
	UserinfoWrongSubject
)

// Authorization response and discovery.
const (
	// NoIssParameter omits the RFC 9207 iss parameter from the authorization response
	// while discovery still advertises it. Expected: rejected.
	NoIssParameter Misbehaviour = 1 << (iota + 21)
	// WrongIssParameter sends iss = the issuer + "/wrong" in the authorization
	// response. Expected: rejected.
	WrongIssParameter
	// IssParameterUnsupported advertises
	// authorization_response_iss_parameter_supported false and sends no iss (valid).
	// Expected: accepted.
	IssParameterUnsupported
	// WrongState answers the authorization request with a state the relying party did
	// not send. Expected: rejected.
	WrongState
	// DiscoveryIssuerMismatch serves discovery metadata whose issuer is the issuer +
	// "/wrong" (OIDC Discovery 4.3). Expected: discovery fails.
	DiscoveryIssuerMismatch
	// NoEndSessionEndpoint leaves end_session_endpoint out of discovery (the endpoint
	// still answers). Expected: the relying party logs out locally.
	NoEndSessionEndpoint
	// NoRevocationEndpoint leaves revocation_endpoint out of discovery.
	NoRevocationEndpoint
	// NoIntrospectionEndpoint leaves introspection_endpoint out of discovery.
	NoIntrospectionEndpoint
	// NoCodeChallengeMethods leaves code_challenge_methods_supported out of discovery.
	NoCodeChallengeMethods
	// RefreshRepeatsNonce puts the authentication request's nonce into the ID tokens
	// of refresh responses too (OIDC Core 12.2 allows it; Keycloak does it). Expected:
	// accepted.
	RefreshRepeatsNonce
)

// Endpoint failures. Provider.SetFailure and Provider.SetDelay do the same for any
// endpoint; these are shorthands for the common cases.
const (
	// JWKSFailing answers the JWKS endpoint with 500.
	JWKSFailing Misbehaviour = 1 << (iota + 40)
	// TokenEndpointFailing answers the token endpoint with 500 {"error":"server_error"}.
	TokenEndpointFailing
	// TokenEndpointSlow delays every token response by Options.SlowDelay.
	TokenEndpointSlow
	// IntrospectionFailing answers the introspection endpoint with 500.
	IntrospectionFailing
	// IntrospectionHangs holds introspection requests until the client gives up or the
	// provider closes.
	IntrospectionHangs
	// DiscoveryFailing answers the discovery endpoint with 503.
	DiscoveryFailing
)

// allTokenFlags are the switches that also apply to access and logout tokens.
const allTokenFlags = BadSignature | WrongIssuer | WrongAudience | MissingAudience |
	MissingIssuedAt | MissingSubject | AlgNone | KidAbsentSingleKey |
	KidAbsentMultipleKeys | UnpublishedKey | ExpiredToken | IssuedInFuture |
	MultipleAudiences | MultipleAudiencesNoAzp

type namedSwitch struct {
	m    Misbehaviour
	name string
}

// switchNames lists every switch in declaration order with its stable name.
func switchNames() []namedSwitch {
	return []namedSwitch{
		{BadSignature, "BadSignature"},
		{WrongIssuer, "WrongIssuer"},
		{WrongAudience, "WrongAudience"},
		{MissingAudience, "MissingAudience"},
		{MissingIssuedAt, "MissingIssuedAt"},
		{MissingSubject, "MissingSubject"},
		{WrongNonce, "WrongNonce"},
		{MissingNonce, "MissingNonce"},
		{BadAtHash, "BadAtHash"},
		{AlgNone, "AlgNone"},
		{KidAbsentSingleKey, "KidAbsentSingleKey"},
		{KidAbsentMultipleKeys, "KidAbsentMultipleKeys"},
		{UnpublishedKey, "UnpublishedKey"},
		{ExpiredToken, "ExpiredToken"},
		{IssuedInFuture, "IssuedInFuture"},
		{MultipleAudiences, "MultipleAudiences"},
		{MultipleAudiencesNoAzp, "MultipleAudiencesNoAzp"},
		{NoAtHash, "NoAtHash"},
		{RefreshChangesSubject, "RefreshChangesSubject"},
		{NoIDTokenOnRefresh, "NoIDTokenOnRefresh"},
		{UserinfoWrongSubject, "UserinfoWrongSubject"},
		{NoIssParameter, "NoIssParameter"},
		{WrongIssParameter, "WrongIssParameter"},
		{IssParameterUnsupported, "IssParameterUnsupported"},
		{WrongState, "WrongState"},
		{DiscoveryIssuerMismatch, "DiscoveryIssuerMismatch"},
		{NoEndSessionEndpoint, "NoEndSessionEndpoint"},
		{NoRevocationEndpoint, "NoRevocationEndpoint"},
		{NoIntrospectionEndpoint, "NoIntrospectionEndpoint"},
		{NoCodeChallengeMethods, "NoCodeChallengeMethods"},
		{RefreshRepeatsNonce, "RefreshRepeatsNonce"},
		{JWKSFailing, "JWKSFailing"},
		{TokenEndpointFailing, "TokenEndpointFailing"},
		{TokenEndpointSlow, "TokenEndpointSlow"},
		{IntrospectionFailing, "IntrospectionFailing"},
		{IntrospectionHangs, "IntrospectionHangs"},
		{DiscoveryFailing, "DiscoveryFailing"},
	}
}

// Misbehaviours returns every single switch in declaration order, for table tests.
func Misbehaviours() []Misbehaviour {
	all := switchNames()
	out := make([]Misbehaviour, len(all))
	for i, s := range all {
		out[i] = s.m
	}
	return out
}

// Has reports whether every switch of x is set in m.
func (m Misbehaviour) Has(x Misbehaviour) bool { return x != 0 && m&x == x }

// String names the switches, joined with "|"; "none" for the zero value.
func (m Misbehaviour) String() string {
	if m == 0 {
		return "none"
	}
	var parts []string
	rest := m
	for _, s := range switchNames() {
		if m&s.m != 0 {
			parts = append(parts, s.name)
			rest &^= s.m
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint64(rest)))
	}
	return strings.Join(parts, "|")
}

// ParseMisbehaviour reads switch names (as String prints them) separated by "|", ","
// or spaces, case-insensitively; "" and "none" give the zero value. The demo uses it
// to take switches from the environment.
func ParseMisbehaviour(s string) (Misbehaviour, error) {
	var m Misbehaviour
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' || r == ' ' })
	for _, f := range fields {
		if strings.EqualFold(f, "none") {
			continue
		}
		found := false
		for _, sw := range switchNames() {
			if strings.EqualFold(sw.name, f) {
				m |= sw.m
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("testop: unknown misbehaviour %q, expected one of the names of Misbehaviours()", f)
		}
	}
	return m, nil
}
