package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
)

// fullMetadata is a provider that advertises everything Gatehouse can use.
func fullMetadata() *oidc.Metadata {
	return &oidc.Metadata{
		Issuer: "https://idp.example.com", TokenEndpoint: "https://idp.example.com/token", UserinfoEndpoint: "https://idp.example.com/userinfo",
		RevocationEndpoint: "https://idp.example.com/revoke", IntrospectionEndpoint: "https://idp.example.com/introspect",
		EndSessionEndpoint: "https://idp.example.com/logout", CodeChallengeMethodsSupported: []string{"S256"},
		IDTokenSigningAlgValuesSupported:           []string{"RS256", "ES256", "HS256"},
		TokenEndpointAuthMethodsSupported:          []string{"client_secret_basic", "private_key_jwt", "client_secret_jwt"},
		TokenEndpointAuthSigningAlgValuesSupported: []string{"RS256", "ES256", "HS256"},
		AuthorizationResponseIssParameterSupported: true, BackchannelLogoutSupported: true, FrontchannelLogoutSupported: true,
	}
}

// TestCapabilityReportWarnsForEachOptionTheProviderCannotHonour: each configured
// option whose counterpart the provider does not advertise gets one warning naming
// it; a provider that advertises everything gets none, and the report says which
// client authentication and algorithms will be used.
func TestCapabilityReportWarnsForEachOptionTheProviderCannotHonour(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := oidc.NewAssertionKey(ec, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	base := func() *config.Options {
		o := &config.Options{}
		o.Provider = config.ProviderOptions{Issuer: "https://idp.example.com", ClientID: "c", ClientSecret: "s", ClientAuthMethod: "auto",
			PKCE: true, SigningAlgorithms: []string{"RS256", "ES256"}}
		o.Logout.RevokeTokens = true
		return o
	}
	for _, c := range []struct {
		name   string
		opts   func(o *config.Options)
		meta   func(m *oidc.Metadata)
		warned []string
		using  string
	}{
		{name: "everything advertised", using: "client authentication at the token endpoint: client_secret_basic;"},
		{name: "PKCE without S256", meta: func(m *oidc.Metadata) { m.CodeChallengeMethodsSupported = []string{"plain"} }, warned: []string{"provider.pkce:"}},
		{name: "PKCE not advertised at all", meta: func(m *oidc.Metadata) { m.CodeChallengeMethodsSupported = nil }, using: "PKCE S256;"},
		{name: "a configured method not advertised", opts: func(o *config.Options) { o.Provider.ClientAuthMethod = "client_secret_post" },
			warned: []string{"provider.clientAuthMethod:"}},
		{name: "auto with nothing usable", opts: func(o *config.Options) { o.Provider.ClientSecret = ""; o.Provider.ClientKey = key },
			meta: func(m *oidc.Metadata) { m.TokenEndpointAuthMethodsSupported = []string{"client_secret_basic"} }, warned: []string{"provider.clientAuthMethod:"}},
		{name: "a key with its algorithm", opts: func(o *config.Options) { o.Provider.ClientKey = key },
			using: "client authentication at the token endpoint: private_key_jwt (ES256)"},
		{name: "an assertion algorithm not advertised", opts: func(o *config.Options) { o.Provider.ClientKey = key },
			meta: func(m *oidc.Metadata) { m.TokenEndpointAuthSigningAlgValuesSupported = []string{"RS256"} }, warned: []string{"provider.clientAssertionAlgorithm:"}},
		{name: "client_secret_jwt without HS256", opts: func(o *config.Options) { o.Provider.ClientAuthMethod = "client_secret_jwt" },
			meta: func(m *oidc.Metadata) { m.TokenEndpointAuthSigningAlgValuesSupported = []string{"RS256"} }, warned: []string{"provider.clientAuthMethod:"}},
		{name: "no ID token algorithm in common", opts: func(o *config.Options) { o.Provider.SigningAlgorithms = []string{"PS512"} },
			warned: []string{"provider.signingAlgorithms:"}},
		{name: "HMAC ID tokens not advertised", opts: func(o *config.Options) { o.Provider.HMACWithClientSecret = true },
			meta: func(m *oidc.Metadata) { m.IDTokenSigningAlgValuesSupported = []string{"RS256"} }, warned: []string{"provider.hmacWithClientSecret:"}},
		{name: "userinfo without endpoint", opts: func(o *config.Options) { o.Provider.UserinfoMerge = true },
			meta: func(m *oidc.Metadata) { m.UserinfoEndpoint = "" }, warned: []string{"provider.userinfo:"}},
		{name: "introspection without endpoint", opts: func(o *config.Options) { o.Bearer.Introspection.Enabled = true },
			meta: func(m *oidc.Metadata) { m.IntrospectionEndpoint = "" }, warned: []string{"bearer.introspection.enabled:"}},
		{name: "introspection at a configured endpoint", opts: func(o *config.Options) {
			o.Bearer.Introspection.Enabled = true
			o.Bearer.Introspection.Endpoint = "https://rs.example.com/introspect"
		}, meta: func(m *oidc.Metadata) { m.IntrospectionEndpoint = "" }, using: "introspection at the configured endpoint"},
		{name: "no logout features", meta: func(m *oidc.Metadata) {
			m.EndSessionEndpoint, m.RevocationEndpoint = "", ""
		}, opts: func(o *config.Options) { o.Logout.BackchannelPath = "/bc" }, using: "logout local only (no end_session_endpoint); tokens not revoked at sign-out (no revocation_endpoint); back-channel logout at /bc"},
	} {
		o := base()
		if c.opts != nil {
			c.opts(o)
		}
		m := fullMetadata()
		if c.meta != nil {
			c.meta(m)
		}
		_, using, warnings := capabilityReport(o, m)
		if len(warnings) != len(c.warned) {
			t.Errorf("%s: warnings %q, expected one for each of %v", c.name, warnings, c.warned)
			continue
		}
		for i, w := range c.warned {
			if !strings.HasPrefix(warnings[i], w) {
				t.Errorf("%s: warning %q, expected one naming %s", c.name, warnings[i], w)
			}
		}
		if !strings.Contains(using, c.using) {
			t.Errorf("%s: %q lacks %q", c.name, using, c.using)
		}
	}
}
