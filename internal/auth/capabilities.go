package auth

import (
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
)

// The capability report: once per discovered document (oidc.DiscoveryOptions.OnChange,
// never per request), two info lines say what the provider advertises and what
// Gatehouse will use of it, and one warning names each configured option the provider
// cannot honour, so that a mismatch shows at start-up rather than as failed sign-ins.
//
// Warnings are for options whose effect depends on the provider: PKCE, the client
// authentication method and its algorithm, the ID-token algorithms, HMAC ID tokens,
// userinfo and introspection. Logout features the provider does not offer (back- and
// front-channel logout, revocation, end-session) are said in the "will use" line:
// their options are on by default and cost nothing unused.

// reportCapabilities logs the capability report of meta.
func reportCapabilities(m *Middleware, meta *oidc.Metadata) {
	advertised, using, warnings := capabilityReport(m.opts, meta)
	m.log.Info(logging.EventProviderCapabilities, "provider "+meta.Issuer+" advertises: "+advertised, nil)
	m.log.Info(logging.EventProviderCapabilities, "Gatehouse will use: "+using, nil)
	for _, w := range warnings {
		m.log.Warn(logging.EventProviderUnsupported, w, nil)
	}
}

// capabilityReport returns the report's lines for options o and metadata meta.
func capabilityReport(o *config.Options, meta *oidc.Metadata) (string, string, []string) {
	p := &o.Provider
	var warnings []string
	advertised := []string{
		"PKCE " + listOr(meta.CodeChallengeMethodsSupported, "not advertised"),
		"RFC 9207 iss parameter " + yesNo(meta.AuthorizationResponseIssParameterSupported),
		"end-session " + yesNo(meta.EndSessionEndpoint != ""),
		"revocation " + yesNo(meta.RevocationEndpoint != ""),
		"introspection " + yesNo(meta.IntrospectionEndpoint != ""),
		"userinfo " + yesNo(meta.UserinfoEndpoint != ""),
		"back-channel logout " + yesNo(meta.BackchannelLogoutSupported),
		"front-channel logout " + yesNo(meta.FrontchannelLogoutSupported),
		"token endpoint auth methods " + listOr(meta.TokenEndpointAuthMethodsSupported, "not advertised (client_secret_basic)"),
		"token endpoint auth signing algorithms " + listOr(meta.TokenEndpointAuthSigningAlgValuesSupported, "not advertised"),
		"ID token signing algorithms " + listOr(meta.IDTokenSigningAlgValuesSupported, "not advertised"),
	}

	var using []string
	switch {
	case !p.PKCE:
		using = append(using, "PKCE off")
	case meta.CodeChallengeMethodsSupported != nil && !hasString(meta.CodeChallengeMethodsSupported, "S256"):
		using = append(using, "PKCE S256")
		warnings = append(warnings, "provider.pkce: the provider advertises code_challenge_methods_supported "+
			listOr(meta.CodeChallengeMethodsSupported, "")+" without S256; sign-ins fail if it refuses the challenge (turn provider.pkce off only then)")
	default:
		using = append(using, "PKCE S256")
	}
	if meta.AuthorizationResponseIssParameterSupported {
		using = append(using, "iss parameter required")
	} else {
		using = append(using, "iss parameter checked when sent")
	}
	using = append(using, clientAuthReport(o, meta, &warnings)...)

	algs := intersect(p.SigningAlgorithms, meta.IDTokenSigningAlgValuesSupported)
	if meta.IDTokenSigningAlgValuesSupported == nil {
		algs = p.SigningAlgorithms
	}
	if len(algs) == 0 {
		warnings = append(warnings, "provider.signingAlgorithms: none of "+listOr(p.SigningAlgorithms, "")+
			" is among the provider's ID token algorithms "+listOr(meta.IDTokenSigningAlgValuesSupported, "")+"; every ID token will be refused")
	}
	using = append(using, "ID token algorithms "+listOr(algs, "none"))
	if p.HMACWithClientSecret && meta.IDTokenSigningAlgValuesSupported != nil && len(intersect([]string{"HS256", "HS384", "HS512"}, meta.IDTokenSigningAlgValuesSupported)) == 0 {
		warnings = append(warnings, "provider.hmacWithClientSecret: the provider advertises no HS256/384/512 ID token algorithm")
	}

	switch {
	case !p.UserinfoMerge:
		using = append(using, "userinfo not called")
	case meta.UserinfoEndpoint == "":
		using = append(using, "userinfo merge impossible")
		warnings = append(warnings, "provider.userinfo: merge, but the provider advertises no userinfo_endpoint; every sign-in will fail")
	default:
		using = append(using, "userinfo merged at sign-in and refresh")
	}
	if len(p.AllowedTenants) > 0 {
		using = append(using, "tenants "+listOr(p.AllowedTenants, ""))
	}
	using = append(using, logoutReport(o, meta)...)
	if o.Bearer.Introspection.Enabled {
		switch {
		case o.Bearer.Introspection.Endpoint != "":
			using = append(using, "introspection at the configured endpoint")
		case meta.IntrospectionEndpoint != "":
			using = append(using, "introspection at the advertised endpoint")
		default:
			using = append(using, "introspection impossible")
			warnings = append(warnings, "bearer.introspection.enabled: the provider advertises no introspection_endpoint and bearer.introspection.endpoint is not set; every access token will be answered 503")
		}
	}
	return strings.Join(advertised, "; "), strings.Join(using, "; "), warnings
}

// clientAuthReport says how the client authenticates at each endpoint it calls, and
// warns when the provider does not advertise that method or its algorithm.
func clientAuthReport(o *config.Options, meta *oidc.Metadata, warnings *[]string) []string {
	p := &o.Provider
	c := &oidc.Client{ClientID: p.ClientID, ClientSecret: p.ClientSecret, AuthMethod: p.ClientAuthMethod, Key: p.ClientKey}
	token := oidc.TokenEndpoint(meta)
	method := oidc.AuthMethodFor(c, token)
	out := []string{"client authentication at the token endpoint: " + method + assertionAlgText(c, method, token)}
	if token.AuthMethods != nil && !hasString(token.AuthMethods, method) {
		if p.ClientAuthMethod == oidc.AuthAuto {
			*warnings = append(*warnings, "provider.clientAuthMethod: auto found none of the methods the configured credentials allow among the advertised "+
				listOr(token.AuthMethods, "")+"; trying "+method+".")
		} else {
			*warnings = append(*warnings, "provider.clientAuthMethod: the token endpoint's advertised methods "+
				listOr(token.AuthMethods, "")+" do not include "+method+"; token requests may be refused")
		}
	}
	if alg := assertionAlg(c, method, token); alg != "" && token.SigningAlgs != nil && !hasString(token.SigningAlgs, alg) {
		option := "provider.clientAssertionAlgorithm"
		if method == oidc.AuthSecretJWT {
			option = "provider.clientAuthMethod"
		}
		*warnings = append(*warnings, option+": client assertions are signed "+alg+", which is not among the advertised token_endpoint_auth_signing_alg_values_supported "+
			listOr(token.SigningAlgs, ""))
	}
	if meta.RevocationEndpoint != "" && o.Logout.RevokeTokens {
		e := oidc.RevocationEndpoint(meta)
		if m := oidc.AuthMethodFor(c, e); m != method {
			out = append(out, "at the revocation endpoint: "+m)
		}
	}
	return out
}

// assertionAlg is the algorithm of the client's assertions with method ("" for the
// methods without one).
func assertionAlg(c *oidc.Client, method string, e oidc.Endpoint) string {
	switch method {
	case oidc.AuthSecretJWT:
		return "HS256"
	case oidc.AuthPrivateKeyJWT:
		if c.Key != nil {
			return oidc.AssertionAlg(c.Key, e)
		}
	}
	return ""
}

func assertionAlgText(c *oidc.Client, method string, e oidc.Endpoint) string {
	if alg := assertionAlg(c, method, e); alg != "" {
		return " (" + alg + ")"
	}
	return ""
}

// logoutReport says which sign-out features will work with this provider.
func logoutReport(o *config.Options, meta *oidc.Metadata) []string {
	var out []string
	if meta.EndSessionEndpoint != "" {
		out = append(out, "RP-initiated logout at end_session_endpoint")
	} else {
		out = append(out, "logout local only (no end_session_endpoint)")
	}
	switch {
	case !o.Logout.RevokeTokens:
		out = append(out, "tokens not revoked at sign-out (logout.revokeTokens off)")
	case meta.RevocationEndpoint == "":
		out = append(out, "tokens not revoked at sign-out (no revocation_endpoint)")
	default:
		out = append(out, "tokens revoked at sign-out")
	}
	if o.Logout.BackchannelPath != "" {
		if meta.BackchannelLogoutSupported {
			out = append(out, "back-channel logout at "+o.Logout.BackchannelPath)
		} else {
			out = append(out, "back-channel logout at "+o.Logout.BackchannelPath+" (not offered by the provider)")
		}
	}
	if o.Logout.FrontchannelPath != "" {
		if meta.FrontchannelLogoutSupported {
			out = append(out, "front-channel logout at "+o.Logout.FrontchannelPath)
		} else {
			out = append(out, "front-channel logout at "+o.Logout.FrontchannelPath+" (not offered by the provider)")
		}
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// listOr renders a list as [a, b, c], or none when it is nil. (Never a space right
// after a word "basic": the logger redacts what follows "basic" or "bearer" as a
// credential.)
func listOr(l []string, none string) string {
	if l == nil {
		return none
	}
	return "[" + strings.Join(l, ", ") + "]"
}

// intersect returns the members of a that are in b, in a's order.
func intersect(a, b []string) []string {
	var out []string
	for _, v := range a {
		if hasString(b, v) {
			out = append(out, v)
		}
	}
	return out
}
