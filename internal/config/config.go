// Package config owns Gatehouse's configuration model: the Config tree Traefik decodes,
// its defaults, secret references, and the validation that turns it into Options, the
// compiled form the rest of the middleware reads.
//
// Traefik decodes dynamic configuration with mapstructure: field names match
// case-insensitively, json tags are ignored, strings are weakly converted to numbers and
// booleans, "a,b" becomes a slice, and a time.Duration field would fail the whole
// middleware. So every duration here is a string ("90s") parsed in Compile, every size
// an integer, and every field a plain string, bool, int, []string or map[string]string.
//
// Traefik also drops option names that match no field, silently: a misspelled
// "authorisation:" would leave a route open to every signed-in user. Every struct
// here therefore has an Unknown field tagged mapstructure:",remain", which collects
// them, and Compile refuses to start with each one named (UnknownOptions).
//
// The package does not own behaviour: it only says what the options mean and refuses
// options that are malformed.
package config

import "github.com/gatehouse-oidc/gatehouse/internal/cache"

// Config is the whole configuration, grouped as operators think of it.
type Config struct {
	// Provider is the OpenID Provider and this client's registration at it.
	Provider ProviderConfig
	// Providers are several OpenID Providers for one middleware, instead of
	// Provider: each entry takes every provider option, plus id, title, hosts and
	// pathPrefix, which choose it for a request (docs/PROVIDERS.md, "Several
	// providers").
	Providers []ProviderConfig
	// ChooserPath is the endpoint of the sign-in chooser's links, which records
	// the provider a browser chose (used with Providers only).
	ChooserPath string
	// Session is the browser session: cookies, lifetimes, storage.
	Session SessionConfig
	// Bearer admits machine-to-machine requests with Authorization: Bearer tokens.
	Bearer BearerConfig
	// Authorization decides who, once authenticated, may pass.
	Authorization AuthorizationConfig
	// Headers says how the verified identity reaches the backend.
	Headers HeadersConfig
	// Logout configures sign-out endpoints.
	Logout LogoutConfig
	// ExcludedURLs are path prefixes served without authentication.
	ExcludedURLs []string
	// Rules are per-route policies, tried in order; the first that matches a request
	// decides it (docs/POLICIES.md). A request no rule matches is decided by
	// Authorization (the default rule).
	Rules []RuleConfig
	// Cache holds state shared by replicas: memory, Redis, or both.
	Cache CacheConfig
	// Throttle limits authentication failures per client IP.
	Throttle ThrottleConfig
	// TrustedProxies are CIDR ranges whose X-Forwarded-For is believed.
	TrustedProxies []string
	// SecurityHeaders adds response headers to what Gatehouse answers itself.
	SecurityHeaders SecurityHeadersConfig
	// Admin is the operators' revocation API (off unless admin.path is set).
	Admin AdminConfig
	// Pages brands (or replaces) the HTML pages Gatehouse answers itself.
	Pages PagesConfig
	// LogLevel is debug, info, warn or error: the older spelling of Log.Level, still
	// accepted.
	LogLevel string
	// Log says how Gatehouse writes its log: level, format, client addresses.
	Log LogConfig
	// Metrics is the Prometheus endpoint (off unless metrics.path is set).
	Metrics EndpointConfig
	// Health is the health endpoint (off unless health.path is set).
	Health EndpointConfig
	// Unknown collects the options Traefik hands over that match no field here
	// (mapstructure's remain): Compile refuses them, so that a misspelled option
	// cannot switch a check off.
	Unknown map[string]any `mapstructure:",remain"`
}

// ProviderConfig describes the OpenID Provider and the client registered at it.
type ProviderConfig struct {
	// ID, Title, Hosts and PathPrefix are only used in an entry of Providers: its
	// short name (cookie names, paths), its label on the sign-in chooser, and the
	// hosts and path prefix it serves (EntryOnlyProviderOptions).
	ID         string
	Title      string
	Hosts      []string
	PathPrefix string
	Issuer     string
	// AllowedTenants are the tenants whose tokens a multi-tenant issuer (an Issuer
	// with {tenantid}) accepts.
	AllowedTenants   []string
	DiscoveryURL     string
	ClientID         string
	ClientSecret     string
	ClientAuthMethod string
	// ClientPrivateKey (a secret reference to a PEM key), ClientKeyID,
	// ClientAssertionAlgorithm and ClientAssertionAudience configure
	// private_key_jwt.
	ClientPrivateKey         string
	ClientKeyID              string
	ClientAssertionAlgorithm string
	ClientAssertionAudience  string
	// Userinfo is off or merge: whether the userinfo endpoint's claims join the ID
	// token's at sign-in and refresh.
	Userinfo string
	// CheckHostedDomain requires Google's hd claim to be one of
	// authorization.allowedDomains.
	CheckHostedDomain bool
	Scopes            []string
	CallbackPath      string
	LoginPath         string
	RedirectURL       string
	// AllowedReturnHosts are the hosts (app.example.com, *.example.com, with an
	// optional :port) a central callback (RedirectURL on one host) returns the
	// browser to after sign-in.
	AllowedReturnHosts   []string
	PKCE                 bool
	AuthParams           map[string]string
	MaxAge               string
	SigningAlgorithms    []string
	HMACWithClientSecret bool
	ClockSkew            string
	HTTPTimeout          string
	CAFile               string
	InsecureAllowHTTP    bool
	JWKSMinRefresh       string
	JWKSMinCache         string
	JWKSMaxCache         string
	UserClaim            string
	Unknown              map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// SessionConfig describes browser sessions.
type SessionConfig struct {
	Keys         []string
	CookieName   string
	CookieDomain string
	CookiePath   string
	Secure       bool
	HTTPOnly     bool
	SameSite     string
	Lifetime     string
	IdleTimeout  string
	RefreshGrace string
	LoginTimeout string
	Store        string
	Unknown      map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// BearerConfig describes machine-to-machine bearer-token authentication.
type BearerConfig struct {
	Enabled          bool
	Audience         string
	IdentifierClaim  string
	Algorithms       []string
	MaxTokenLength   int
	MaxTokenAge      string
	MaxIdentifierLen int
	PreferOverCookie bool
	RequiredScopes   []string
	WWWAuthenticate  bool
	Introspection    IntrospectionConfig
	Unknown          map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// IntrospectionConfig describes optional RFC 7662 token introspection.
type IntrospectionConfig struct {
	Enabled      bool
	Endpoint     string
	ClientID     string
	ClientSecret string
	OpaqueTokens bool
	MaxCacheTTL  string
	NegativeTTL  string
	Timeout      string
	Unknown      map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// AuthorizationConfig lists who may pass once authenticated.
type AuthorizationConfig struct {
	AllowedUsers         []string
	AllowedDomains       []string
	AllowedRoles         []string
	AllowedGroups        []string
	RolesClaim           string
	GroupsClaim          string
	RequireVerifiedEmail bool
	// Mode is enforce, or report: every rule's denials (and the default rule's) are
	// logged as "would deny" and the request is let through.
	Mode    string
	Unknown map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// HeadersConfig names the headers that carry the identity to the backend.
type HeadersConfig struct {
	User              string
	Email             string
	Groups            string
	Roles             string
	AccessToken       string
	Templates         map[string]string
	Minimal           bool
	PassAuthorization bool
	StripCookies      bool
	// StripHeaders are more client-sent headers to remove, by name or, ending in
	// "-*", by prefix, on top of the built-in list of identity headers.
	StripHeaders []string
	Unknown      map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// LogoutConfig describes the sign-out endpoints.
type LogoutConfig struct {
	Path                  string
	PostLogoutRedirectURL string
	SignedOutPath         string
	BackchannelPath       string
	FrontchannelPath      string
	RevokeTokens          bool
	// OthersPath is "sign out my other devices": a signed-in user's POST there
	// revokes every other session of theirs. Empty disables it.
	OthersPath string
	Unknown    map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// CacheConfig describes the hybrid cache.
type CacheConfig struct {
	Mode         string
	KeyPrefix    string
	L1MaxEntries int
	L1MaxBytes   int
	// MaxRevocations bounds the revocations kept apart from the L1 (never evicted by
	// its churn, carried across configuration reloads within one Traefik process).
	MaxRevocations int
	OutboxSize     int
	WriteQueue     int
	ProbeInterval  string
	Redis          RedisConfig
	Unknown        map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// RedisConfig describes how to reach Redis.
type RedisConfig struct {
	URL           string
	Username      string
	Password      string
	PoolSize      int
	DialTimeout   string
	ReadTimeout   string
	WriteTimeout  string
	MaxInFlight   int
	MaxReplyBytes int
	ClientName    string
	TLS           RedisTLSConfig
	Sentinel      SentinelConfig
	Cluster       ClusterConfig
	Unknown       map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// RedisTLSConfig describes TLS to Redis (rediss:// URLs, or Enabled for Sentinel and
// Cluster).
type RedisTLSConfig struct {
	Enabled    bool
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string
	Unknown    map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// SentinelConfig describes a Sentinel-managed Redis primary.
type SentinelConfig struct {
	MasterName string
	Addresses  []string
	Username   string
	Password   string
	Unknown    map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// ClusterConfig describes a Redis Cluster.
type ClusterConfig struct {
	Addresses []string
	Unknown   map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// ThrottleConfig limits authentication failures per client IP.
type ThrottleConfig struct {
	Enabled  bool
	Failures int
	Window   string
	Penalty  string
	Unknown  map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// SecurityHeadersConfig chooses the response headers Gatehouse adds.
type SecurityHeadersConfig struct {
	Profile         string
	ApplyToUpstream bool
	Unknown         map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// LogConfig says how Gatehouse writes its log.
type LogConfig struct {
	// Level is debug, info, warn or error; empty: logLevel, else info.
	Level string
	// Format is text (one key=value line per event) or json (one object per line).
	Format string
	// HashClientIP logs client addresses as keyed hashes instead of in clear.
	HashClientIP bool
	Unknown      map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// EndpointConfig is one of Gatehouse's operations endpoints (metrics, health): off
// unless Path is set, and answered only to clients in AllowedIPs and/or presenting a
// bearer token with RequiredScope (both, when both are set); anyone else gets 404.
type EndpointConfig struct {
	Path          string
	AllowedIPs    []string
	RequiredScope string
	Unknown       map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// AdminConfig describes the admin revocation API: POST <path>/revoke, accepting only
// access tokens (JWTs) that carry RequiredScope, optionally only from AllowedIPs.
type AdminConfig struct {
	Path          string
	Audience      string
	RequiredScope string
	AllowedIPs    []string
	Unknown       map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// PagesConfig brands the pages Gatehouse shows itself (sign-out, signed out, access
// denied, sign-in errors), or replaces them with a template.
type PagesConfig struct {
	Title        string
	LogoURL      string
	AccentColor  string
	TemplateFile string
	Unknown      map[string]any `mapstructure:",remain"` // options that match no field: refused
}

// ListDefaults are the defaults of list options, applied by Compile when the operator
// gave none. They cannot live in Default: mapstructure (v1.5, as Traefik uses it)
// decodes a list over a non-empty default element by element, so "openid,groups" over
// [openid profile email] would become [openid groups email].
var ListDefaults = map[string][]string{
	"provider.scopes":            {"openid", "profile", "email"},
	"provider.signingAlgorithms": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"},
	"bearer.algorithms":          {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"},
}

// Default returns a Config with every scalar default filled in. Traefik calls it
// through CreateConfig and decodes the operator's options over it. Lists and maps are
// left nil (see ListDefaults).
func Default() *Config {
	return &Config{
		Provider: ProviderConfig{
			ClientAuthMethod:        "auto",
			ClientAssertionAudience: "endpoint",
			Userinfo:                "off",
			CallbackPath:            "/oauth2/callback",
			LoginPath:               "/oauth2/start",
			PKCE:                    true,
			ClockSkew:               "30s",
			HTTPTimeout:             "10s",
			JWKSMinRefresh:          "30s",
			JWKSMinCache:            "5m",
			JWKSMaxCache:            "24h",
			UserClaim:               "email",
		},
		Session: SessionConfig{
			CookieName:   "_gatehouse",
			CookiePath:   "/",
			Secure:       true,
			HTTPOnly:     true,
			SameSite:     "lax",
			Lifetime:     "24h",
			IdleTimeout:  "1h",
			RefreshGrace: "60s",
			LoginTimeout: "10m",
			Store:        "cookie",
		},
		Bearer: BearerConfig{
			IdentifierClaim:  "sub",
			MaxTokenLength:   8192,
			MaxTokenAge:      "24h",
			MaxIdentifierLen: 256,
			WWWAuthenticate:  true,
			Introspection: IntrospectionConfig{
				MaxCacheTTL: "5m",
				NegativeTTL: "10s",
				Timeout:     "5s",
			},
		},
		Authorization: AuthorizationConfig{
			RolesClaim:           "roles",
			GroupsClaim:          "groups",
			RequireVerifiedEmail: true,
			Mode:                 "enforce",
		},
		Headers: HeadersConfig{
			User:         "X-Forwarded-User",
			Email:        "X-Forwarded-Email",
			Groups:       "X-Forwarded-Groups",
			Roles:        "X-Forwarded-Roles",
			StripCookies: true,
		},
		Logout: LogoutConfig{
			Path:                  "/oauth2/logout",
			PostLogoutRedirectURL: "/oauth2/signed-out",
			SignedOutPath:         "/oauth2/signed-out",
			BackchannelPath:       "/oauth2/backchannel-logout",
			FrontchannelPath:      "/oauth2/frontchannel-logout",
			RevokeTokens:          true,
			OthersPath:            "/oauth2/logout/others",
		},
		Cache: CacheConfig{
			KeyPrefix:      "gatehouse:",
			L1MaxEntries:   100000,
			L1MaxBytes:     64 << 20,
			MaxRevocations: cache.DefaultMaxRevocations,
			OutboxSize:     10000,
			WriteQueue:     10000,
			ProbeInterval:  "1s",
			Redis: RedisConfig{
				PoolSize:      10,
				DialTimeout:   "2s",
				ReadTimeout:   "1s",
				WriteTimeout:  "1s",
				MaxInFlight:   1024,
				MaxReplyBytes: 16 << 20,
				ClientName:    "gatehouse",
			},
		},
		Throttle: ThrottleConfig{
			Enabled:  true,
			Failures: 20,
			Window:   "1m",
			Penalty:  "1m",
		},
		SecurityHeaders: SecurityHeadersConfig{
			Profile: "basic",
		},
		Log: LogConfig{
			Format: "text",
		},
		Pages: PagesConfig{
			AccentColor: "#1d4ed8",
		},
		ChooserPath: "/oauth2/choose",
	}
}
