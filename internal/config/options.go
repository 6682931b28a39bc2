package config

import (
	"net/netip"
	"net/url"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/headertpl"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/pages"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Options is the validated, compiled configuration: durations parsed, secrets
// resolved, lists defaulted and normalised. The middleware reads it and never
// re-validates.
type Options struct {
	// Provider is the provider, or with Providers the first entry's (for the
	// options that are the same for all of them).
	Provider ProviderOptions
	// Providers are the entries of providers (nil with a single provider).
	Providers []ProviderEntry
	// ChooserPath is chooserPath ("" with a single provider).
	ChooserPath     string
	Session         session.Options
	Bearer          BearerOptions
	Authorization   AuthorizationOptions
	Headers         HeadersOptions
	Logout          LogoutOptions
	ExcludedURLs    []string
	Policy          PolicyOptions
	Cache           cache.Options
	Throttle        ThrottleOptions
	TrustedProxies  []netip.Prefix
	SecurityHeaders SecurityHeadersOptions
	Admin           AdminOptions
	// Pages renders the HTML pages Gatehouse answers itself, in the configured style
	// or template.
	Pages *pages.Set
	// LogLevel is log.level, else logLevel, else info.
	LogLevel string
	Log      LogOptions
	Metrics  EndpointOptions
	Health   EndpointOptions
}

// LogOptions is the compiled LogConfig (its level is Options.LogLevel).
type LogOptions struct {
	Format       string // "text" or "json"
	HashClientIP bool
}

// EndpointOptions is a compiled EndpointConfig; Path "" means the endpoint is off.
type EndpointOptions struct {
	Path          string
	AllowedIPs    []netip.Prefix
	RequiredScope string
}

// ProviderOptions is the compiled ProviderConfig.
type ProviderOptions struct {
	// Issuer is the issuer, or a multi-tenant template when AllowedTenants is not
	// nil (oidc.IsIssuerTemplate).
	Issuer            string
	AllowedTenants    []string
	DiscoveryURL      string
	ClientID          string
	ClientSecret      string
	ClientAuthMethod  string             // auto, client_secret_basic, _post, _jwt, private_key_jwt or none
	ClientKey         *oidc.AssertionKey // nil without provider.clientPrivateKey
	AssertionAudience string             // oidc.AssertionAudienceEndpoint or oidc.AssertionAudienceIssuer
	UserinfoMerge     bool
	CheckHostedDomain bool
	Scopes            []string
	CallbackPath      string
	LoginPath         string   // "" when disabled
	RedirectURL       *url.URL // nil: built from the request's scheme and host
	// AllowedReturnHosts are provider.allowedReturnHosts compiled by
	// reqsafe.HostPattern ("app.example.com", ".example.com" for a wildcard).
	AllowedReturnHosts   []string
	PKCE                 bool
	AuthParams           map[string]string
	MaxAge               time.Duration
	MaxAgeSet            bool
	SigningAlgorithms    []string
	HMACWithClientSecret bool
	ClockSkew            time.Duration
	HTTPTimeout          time.Duration
	CAPEM                []byte
	InsecureAllowHTTP    bool
	JWKSMinRefresh       time.Duration
	JWKSMinCache         time.Duration
	JWKSMaxCache         time.Duration
	UserClaim            string
}

// BearerOptions is the compiled BearerConfig.
type BearerOptions struct {
	Enabled          bool
	Audience         string
	IdentifierClaim  string
	Algorithms       []string
	MaxTokenLength   int
	MaxTokenAge      time.Duration
	MaxIdentifierLen int
	PreferOverCookie bool
	RequiredScopes   []string
	WWWAuthenticate  bool
	Introspection    IntrospectionOptions
}

// IntrospectionOptions is the compiled IntrospectionConfig.
type IntrospectionOptions struct {
	Enabled      bool
	Endpoint     string // "": from discovery
	ClientID     string
	ClientSecret string
	// OwnCredentials: the client id or secret are introspection's own (a resource
	// server's), not provider.clientID's, so provider.clientPrivateKey does not
	// apply.
	OwnCredentials bool
	OpaqueTokens   bool
	MaxCacheTTL    time.Duration
	NegativeTTL    time.Duration
	Timeout        time.Duration
}

// AuthorizationOptions is the compiled AuthorizationConfig; users and domains are
// lower-cased.
type AuthorizationOptions struct {
	AllowedUsers         []string
	AllowedDomains       []string
	AllowedRoles         []string
	AllowedGroups        []string
	RolesClaim           string
	GroupsClaim          string
	RequireVerifiedEmail bool
}

// HeadersOptions is the compiled HeadersConfig; names are canonical MIME header keys.
type HeadersOptions struct {
	User              string
	Email             string
	Groups            string
	Roles             string
	AccessToken       string
	TemplateNames     []string // sorted
	Templates         map[string]*headertpl.Template
	Minimal           bool
	PassAuthorization bool
	StripCookies      bool
	// StripNames and StripPrefixes are headers.stripHeaders as reqsafe.HeaderKey keys:
	// whole names, and prefixes (each ending in "-") of the families given with "-*".
	StripNames    []string
	StripPrefixes []string
}

// LogoutOptions is the compiled LogoutConfig.
type LogoutOptions struct {
	Path                  string
	PostLogoutRedirectURL string
	SignedOutPath         string // Gatehouse's own signed-out page ("" when disabled)
	BackchannelPath       string
	FrontchannelPath      string
	RevokeTokens          bool
	OthersPath            string // "": disabled
}

// AdminOptions is the compiled AdminConfig.
type AdminOptions struct {
	// Path is admin.path ("": the API is off); RevokePath is Path + "/revoke".
	Path       string
	RevokePath string
	// Audience is admin.audience, or bearer.audience when that is empty.
	Audience      string
	RequiredScope string
	AllowedIPs    []netip.Prefix
}

// ThrottleOptions is the compiled ThrottleConfig.
type ThrottleOptions struct {
	Enabled  bool
	Failures int
	Window   time.Duration
	Penalty  time.Duration
}

// SecurityHeadersOptions is the compiled SecurityHeadersConfig.
type SecurityHeadersOptions struct {
	Profile         string
	ApplyToUpstream bool
}

// Asymmetric lists the JWS algorithms Gatehouse can verify with a provider's public
// keys. HMAC algorithms are not in it: they are allowed for ID tokens only when
// provider.hmacWithClientSecret is on, and never for bearer tokens.
func Asymmetric() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}
