package config

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/headertpl"
	"github.com/gatehouse-oidc/gatehouse/internal/pages"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Problem is one invalid option: its dotted name as operators write it, and what is
// wrong with it.
type Problem struct {
	Option  string
	Message string
}

// Error lists every invalid option found by Compile, so an operator fixes them in one
// round rather than one per reload.
type Error struct {
	Problems []Problem
}

// Error renders every problem as "option: message", joined by "; ".
func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		parts = append(parts, p.Option+": "+p.Message)
	}
	return "gatehouse: invalid configuration: " + strings.Join(parts, "; ")
}

// Environment is how Compile reads secret references. Getenv and ReadFile default to
// the process environment and file system.
type Environment struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
}

// Compile validates every option of cfg and returns the compiled Options, or an *Error
// naming each invalid option and the form it expects. It never touches the network.
func Compile(cfg *Config, env Environment) (*Options, error) {
	if env.Getenv == nil {
		env.Getenv = defaultGetenv
	}
	if env.ReadFile == nil {
		env.ReadFile = defaultReadFile
	}
	if cfg == nil {
		cfg = Default()
	}
	// Names Traefik would have dropped come first: a misspelled option is the likeliest
	// reason for any other problem.
	c := &checker{env: env, problems: UnknownOptions(cfg)}
	o := &Options{}
	if len(cfg.Providers) > 0 {
		c.providers(cfg, o)
	} else {
		c.provider(&cfg.Provider, &o.Provider)
		c.entryOnly(&cfg.Provider)
	}
	c.session(&cfg.Session, &o.Session)
	c.bearer(&cfg.Bearer, &o.Bearer, &o.Provider)
	c.authorization(&cfg.Authorization, &o.Authorization)
	c.headers(&cfg.Headers, &o.Headers)
	c.logout(&cfg.Logout, &o.Logout)
	o.ExcludedURLs = c.excluded(cfg.ExcludedURLs)
	c.policy(cfg, o)
	c.cache(&cfg.Cache, &o.Cache)
	c.throttle(&cfg.Throttle, &o.Throttle)
	o.TrustedProxies = c.prefixes("trustedProxies", cfg.TrustedProxies)
	c.securityHeaders(&cfg.SecurityHeaders, &o.SecurityHeaders)
	c.log(cfg, o)
	c.endpoint("metrics", &cfg.Metrics, &o.Metrics, o)
	c.endpoint("health", &cfg.Health, &o.Health, o)
	o.Pages = c.pages(&cfg.Pages)
	c.admin(&cfg.Admin, &o.Admin, o)
	c.crossChecks(o)
	if len(c.problems) > 0 {
		return nil, &Error{Problems: c.problems}
	}
	return o, nil
}

type checker struct {
	env      Environment
	problems []Problem
}

func (c *checker) fail(option, message string) {
	c.problems = append(c.problems, Problem{Option: option, Message: message})
}

func (c *checker) provider(in *ProviderConfig, out *ProviderOptions) {
	out.InsecureAllowHTTP = in.InsecureAllowHTTP
	c.issuer(in, out)
	out.ClientID = strings.TrimSpace(in.ClientID)
	switch {
	case out.ClientID == "":
		c.fail("provider.clientID", "is required: the client id registered at the provider")
	case !printable(out.ClientID):
		c.fail("provider.clientID", "must be printable text without control characters")
	}
	c.clientAuth(in, out)
	out.PKCE = in.PKCE
	if out.ClientAuthMethod == "none" && !out.PKCE {
		c.fail("provider.pkce", "must be true for a public client (provider.clientAuthMethod none): RFC 9700 section 2.1.1")
	}
	out.UserinfoMerge = c.oneOf("provider.userinfo", strings.ToLower(strings.TrimSpace(in.Userinfo)), "off", "off", "merge") == "merge"
	out.CheckHostedDomain = in.CheckHostedDomain
	out.Scopes = c.scopes("provider.scopes", withDefault(in.Scopes, "provider.scopes"))
	if len(out.Scopes) > 0 && indexOf(out.Scopes, "openid") < 0 {
		c.fail("provider.scopes", `must include "openid"`)
	}
	out.CallbackPath = c.path("provider.callbackPath", in.CallbackPath, true)
	out.LoginPath = c.optionalPath("provider.loginPath", in.LoginPath)
	if strings.TrimSpace(in.RedirectURL) != "" {
		if u := c.httpURL("provider.redirectURL", in.RedirectURL, true, true); u != nil {
			if u.RawQuery != "" || u.Fragment != "" {
				c.fail("provider.redirectURL", "must not have a query or fragment")
			} else {
				out.RedirectURL = u
				if u.Path == "" {
					u.Path = "/"
				}
				out.CallbackPath = u.Path
			}
		}
	}
	for _, h := range in.AllowedReturnHosts {
		if strings.TrimSpace(h) == "" {
			continue
		}
		p, problem := reqsafe.HostPattern(h)
		if problem != "" {
			c.fail("provider.allowedReturnHosts", problem+", got "+strconv.Quote(h))
			continue
		}
		out.AllowedReturnHosts = append(out.AllowedReturnHosts, p)
	}
	out.AuthParams = map[string]string{}
	reserved := []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "request", "request_uri", "response_mode"}
	for k, v := range in.AuthParams {
		lk := strings.ToLower(strings.TrimSpace(k))
		switch {
		case lk == "" || !isToken(lk):
			c.fail("provider.authParams", "parameter names must be plain tokens, got "+strconv.Quote(k))
		case indexOf(reserved, lk) >= 0:
			c.fail("provider.authParams", strconv.Quote(k)+" is set by Gatehouse itself and cannot be overridden")
		case !printable(v):
			c.fail("provider.authParams", "value of "+strconv.Quote(k)+" must be printable text")
		default:
			out.AuthParams[lk] = v
		}
	}
	if strings.TrimSpace(in.MaxAge) != "" {
		out.MaxAge = c.duration("provider.maxAge", in.MaxAge, 0, 365*24*time.Hour)
		out.MaxAgeSet = true
		if out.AuthParams["max_age"] != "" {
			c.fail("provider.authParams", "max_age is set by provider.maxAge; give it there only")
		}
	}
	out.HMACWithClientSecret = in.HMACWithClientSecret
	allowed := Asymmetric()
	if in.HMACWithClientSecret {
		allowed = append(allowed, "HS256", "HS384", "HS512")
		if out.ClientSecret == "" {
			c.fail("provider.hmacWithClientSecret", "needs provider.clientSecret: HMAC ID tokens are keyed with it")
		} else if len(out.ClientSecret) < 32 {
			c.fail("provider.hmacWithClientSecret", "needs a provider.clientSecret of at least 32 bytes to key HMAC (RFC 7518 3.2)")
		}
	}
	algs := withDefault(in.SigningAlgorithms, "provider.signingAlgorithms")
	if in.HMACWithClientSecret && len(in.SigningAlgorithms) == 0 {
		// Turning HMAC on is enough: the default list gains HS256/384/512. A list
		// given explicitly is taken as it is.
		algs = append(algs, "HS256", "HS384", "HS512")
	}
	out.SigningAlgorithms = c.algorithms("provider.signingAlgorithms", algs, allowed)
	out.ClockSkew = c.duration("provider.clockSkew", in.ClockSkew, 0, 5*time.Minute)
	out.HTTPTimeout = c.duration("provider.httpTimeout", in.HTTPTimeout, time.Second, 2*time.Minute)
	out.JWKSMinRefresh = c.duration("provider.jwksMinRefresh", in.JWKSMinRefresh, time.Second, time.Hour)
	out.JWKSMinCache = c.duration("provider.jwksMinCache", in.JWKSMinCache, time.Second, 7*24*time.Hour)
	out.JWKSMaxCache = c.duration("provider.jwksMaxCache", in.JWKSMaxCache, time.Second, 30*24*time.Hour)
	if out.JWKSMinCache > out.JWKSMaxCache {
		c.fail("provider.jwksMinCache", "must not exceed provider.jwksMaxCache")
	}
	out.CAPEM = c.pemFile("provider.caFile", in.CAFile, true)
	out.UserClaim = c.claimName("provider.userClaim", in.UserClaim)
}

func (c *checker) session(in *SessionConfig, out *session.Options) {
	keys := in.Keys
	if len(keys) == 0 {
		c.fail("session.keys", "at least one key of 32 or more bytes is required (the first seals, all open); give it as env:NAME or file:/path")
	}
	for i, k := range keys {
		opt := "session.keys[" + strconv.Itoa(i) + "]"
		v := c.secret(opt, k)
		switch {
		case v == "" && strings.TrimSpace(k) == "":
			c.fail(opt, "must not be empty")
		case v == "":
			// secret() already reported why.
		case len(v) < 32:
			c.fail(opt, "must be at least 32 bytes of random data, got "+strconv.Itoa(len(v))+" bytes")
		default:
			out.Keys = append(out.Keys, []byte(v))
		}
	}
	out.CookieName = strings.TrimSpace(in.CookieName)
	if out.CookieName == "" || !isToken(out.CookieName) || len(out.CookieName) > 64 {
		c.fail("session.cookieName", "must be a cookie-name token of at most 64 characters, got "+strconv.Quote(in.CookieName))
	}
	out.CookieDomain = strings.ToLower(strings.TrimSpace(in.CookieDomain))
	if out.CookieDomain != "" && !isHostname(strings.TrimPrefix(out.CookieDomain, ".")) {
		c.fail("session.cookieDomain", "must be a domain name such as example.com, got "+strconv.Quote(in.CookieDomain))
	}
	out.CookiePath = c.path("session.cookiePath", in.CookiePath, false)
	out.Secure = in.Secure
	out.HTTPOnly = in.HTTPOnly
	switch strings.ToLower(strings.TrimSpace(in.SameSite)) {
	case "lax", "":
		out.SameSite = http.SameSiteLaxMode
	case "strict":
		out.SameSite = http.SameSiteStrictMode
	case "none":
		out.SameSite = http.SameSiteNoneMode
		if !in.Secure {
			c.fail("session.sameSite", "none requires session.secure true (browsers drop SameSite=None cookies without Secure)")
		}
	default:
		c.fail("session.sameSite", "must be lax, strict or none, got "+strconv.Quote(in.SameSite))
	}
	if strings.HasPrefix(out.CookieName, "__Host-") && (!in.Secure || out.CookieDomain != "" || out.CookiePath != "/") {
		c.fail("session.cookieName", "a __Host- cookie needs session.secure true, session.cookiePath / and no session.cookieDomain")
	}
	if strings.HasPrefix(out.CookieName, "__Secure-") && !in.Secure {
		c.fail("session.cookieName", "a __Secure- cookie needs session.secure true")
	}
	out.Lifetime = c.duration("session.lifetime", in.Lifetime, time.Minute, 365*24*time.Hour)
	out.IdleTimeout = c.duration("session.idleTimeout", in.IdleTimeout, 0, 365*24*time.Hour)
	if out.IdleTimeout > out.Lifetime && out.Lifetime > 0 {
		c.fail("session.idleTimeout", "must not exceed session.lifetime")
	}
	out.RefreshGrace = c.duration("session.refreshGrace", in.RefreshGrace, 0, time.Hour)
	out.LoginTimeout = c.duration("session.loginTimeout", in.LoginTimeout, time.Minute, time.Hour)
	out.Store = c.oneOf("session.store", strings.ToLower(strings.TrimSpace(in.Store)), "cookie", "cookie", "cache")
}

func (c *checker) bearer(in *BearerConfig, out *BearerOptions, provider *ProviderOptions) {
	out.Enabled = in.Enabled
	out.Audience = strings.TrimSpace(in.Audience)
	if in.Enabled && out.Audience == "" {
		c.fail("bearer.audience", "is required when bearer.enabled is true: the audience (resource identifier) your access tokens are issued for")
	}
	if out.Audience != "" && !printable(out.Audience) {
		c.fail("bearer.audience", "must be printable text")
	}
	if in.Enabled && out.Audience != "" && out.Audience == provider.ClientID {
		// A token whose only audience is the client id is an ID token (OIDC Core 2),
		// and access tokens are refused when they look like one.
		c.fail("bearer.audience", "must be the API's resource identifier, not provider.clientID: tokens addressed only to the client id are ID tokens and are refused as access tokens")
	}
	out.IdentifierClaim = c.claimName("bearer.identifierClaim", in.IdentifierClaim)
	if strings.EqualFold(out.IdentifierClaim, "email") {
		c.fail("bearer.identifierClaim", "must not be email: an email claim in an access token is not verified and can be spoofed; use sub (default) or another stable identifier")
	}
	out.Algorithms = c.algorithms("bearer.algorithms", withDefault(in.Algorithms, "bearer.algorithms"), Asymmetric())
	out.MaxTokenLength = c.intRange("bearer.maxTokenLength", in.MaxTokenLength, 512, 65536)
	out.MaxTokenAge = c.duration("bearer.maxTokenAge", in.MaxTokenAge, time.Minute, 30*24*time.Hour)
	out.MaxIdentifierLen = c.intRange("bearer.maxIdentifierLen", in.MaxIdentifierLen, 1, 1024)
	out.PreferOverCookie = in.PreferOverCookie
	out.RequiredScopes = c.scopes("bearer.requiredScopes", in.RequiredScopes)
	out.WWWAuthenticate = in.WWWAuthenticate

	ii, io := &in.Introspection, &out.Introspection
	io.Enabled = ii.Enabled
	if u := c.httpURL("bearer.introspection.endpoint", ii.Endpoint, provider.InsecureAllowHTTP, false); u != nil {
		io.Endpoint = u.String()
	}
	io.ClientID = strings.TrimSpace(ii.ClientID)
	if io.ClientID == "" {
		io.ClientID = provider.ClientID
	}
	io.ClientSecret = c.secret("bearer.introspection.clientSecret", ii.ClientSecret)
	io.OwnCredentials = io.ClientSecret != "" || io.ClientID != provider.ClientID
	if io.ClientSecret == "" {
		io.ClientSecret = provider.ClientSecret
	}
	if ii.Enabled && io.ClientSecret == "" && (io.OwnCredentials || provider.ClientKey == nil) {
		c.fail("bearer.introspection.clientSecret", "is required when bearer.introspection.enabled is true (RFC 7662 section 2.1: the caller authenticates); it defaults to provider.clientSecret, which is empty")
	}
	io.OpaqueTokens = ii.OpaqueTokens
	if ii.OpaqueTokens && !ii.Enabled {
		c.fail("bearer.introspection.opaqueTokens", "needs bearer.introspection.enabled true: opaque tokens can only be checked by introspection")
	}
	if ii.Enabled && !in.Enabled {
		c.fail("bearer.introspection.enabled", "needs bearer.enabled true")
	}
	io.MaxCacheTTL = c.duration("bearer.introspection.maxCacheTTL", ii.MaxCacheTTL, 0, 24*time.Hour)
	io.NegativeTTL = c.duration("bearer.introspection.negativeTTL", ii.NegativeTTL, 0, time.Hour)
	io.Timeout = c.duration("bearer.introspection.timeout", ii.Timeout, 100*time.Millisecond, time.Minute)
}

func (c *checker) authorization(in *AuthorizationConfig, out *AuthorizationOptions) {
	// Users compare exactly, email addresses ignoring ASCII case, domains in ASCII
	// (identity.go): never through strings.ToLower, which turns the Kelvin sign into
	// "k" here as it did on the request path.
	out.AllowedUsers = c.users("authorization.allowedUsers", in.AllowedUsers)
	out.AllowedDomains = c.domains("authorization.allowedDomains", in.AllowedDomains)
	out.AllowedRoles = c.names("authorization.allowedRoles", "role", in.AllowedRoles)
	out.AllowedGroups = c.names("authorization.allowedGroups", "group", in.AllowedGroups)
	out.RolesClaim = c.claimName("authorization.rolesClaim", in.RolesClaim)
	out.GroupsClaim = c.claimName("authorization.groupsClaim", in.GroupsClaim)
	out.RequireVerifiedEmail = in.RequireVerifiedEmail
}

func (c *checker) headers(in *HeadersConfig, out *HeadersOptions) {
	seen := map[string]string{}
	name := func(option, v string, optional bool) string {
		v = strings.TrimSpace(v)
		if v == "" {
			if !optional {
				c.fail(option, "must name a header")
			}
			return ""
		}
		if !isToken(v) {
			c.fail(option, "must be a valid header name, got "+strconv.Quote(v))
			return ""
		}
		canon := http.CanonicalHeaderKey(v)
		if reservedHeader(canon) {
			c.fail(option, canon+" is managed by the proxy and cannot carry identity")
			return ""
		}
		if prev, dup := seen[reqsafe.HeaderKey(canon)]; dup {
			c.fail(option, "names the same header as "+prev)
			return ""
		}
		seen[reqsafe.HeaderKey(canon)] = option
		return canon
	}
	out.User = name("headers.user", in.User, false)
	out.Email = name("headers.email", in.Email, true)
	out.Groups = name("headers.groups", in.Groups, true)
	out.Roles = name("headers.roles", in.Roles, true)
	out.AccessToken = name("headers.accessToken", in.AccessToken, true)
	out.Templates = map[string]*headertpl.Template{}
	for k, text := range in.Templates {
		opt := "headers.templates." + k
		h := name(opt, k, false)
		if h == "" {
			continue
		}
		t, err := headertpl.Parse(h, text)
		if err != nil {
			c.fail(opt, "must be text with ${claims.NAME}, ${user}, ${email}, ... optionally filtered by |join, |join:SEPARATOR, |first or |lower "+
				"(e.g. ${claims.realm_access.roles|join}), or a Go template such as {{ .claims.tenant }}: "+err.Error())
			continue
		}
		out.Templates[h] = t
		out.TemplateNames = append(out.TemplateNames, h)
	}
	sort.Strings(out.TemplateNames)
	out.Minimal = in.Minimal
	out.PassAuthorization = in.PassAuthorization
	out.StripCookies = in.StripCookies
	c.stripHeaders(in.StripHeaders, out)
}

// stripHeaders compiles headers.stripHeaders: header names, and families of names
// given as a prefix ending in "-*" (X-Auth-Request-*), as reqsafe.HeaderKey keys.
// Headers the proxy manages (Cookie, Authorization, X-Forwarded-Proto, ...) cannot be
// stripped: Gatehouse and the backend read them.
func (c *checker) stripHeaders(in []string, out *HeadersOptions) {
	const option = "headers.stripHeaders"
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		name := strings.TrimSuffix(v, "*")
		family := len(name) != len(v)
		key := reqsafe.HeaderKey(name)
		if !isToken(name) || strings.Contains(name, "*") {
			c.fail(option, "entries must be header names, or prefixes ending in -* such as X-Auth-Request-*, got "+strconv.Quote(v))
			continue
		}
		if family && (!strings.HasSuffix(key, "-") || len(key) < 3) {
			c.fail(option, "a prefix must be at least two characters followed by -*, such as X-Auth-Request-*, got "+strconv.Quote(v))
			continue
		}
		if r := strippedReserved(key, family); r != "" {
			c.fail(option, strconv.Quote(v)+" would remove "+r+", which the proxy manages")
			continue
		}
		if family {
			out.StripPrefixes = append(out.StripPrefixes, key)
		} else {
			out.StripNames = append(out.StripNames, key)
		}
	}
}

// strippedReserved returns the first reserved header that key (a name, or with family
// a prefix) would strip, or "".
func strippedReserved(key string, family bool) string {
	for _, r := range reservedHeaders {
		rk := reqsafe.HeaderKey(r)
		if rk == key || (family && strings.HasPrefix(rk, key)) {
			return r
		}
	}
	return ""
}

func (c *checker) logout(in *LogoutConfig, out *LogoutOptions) {
	out.Path = c.path("logout.path", in.Path, true)
	out.BackchannelPath = c.optionalPath("logout.backchannelPath", in.BackchannelPath)
	out.FrontchannelPath = c.optionalPath("logout.frontchannelPath", in.FrontchannelPath)
	out.SignedOutPath = c.optionalPath("logout.signedOutPath", in.SignedOutPath)
	out.RevokeTokens = in.RevokeTokens
	out.OthersPath = c.optionalPath("logout.othersPath", in.OthersPath)
	v := strings.TrimSpace(in.PostLogoutRedirectURL)
	switch {
	case v == "" && out.SignedOutPath != "":
		out.PostLogoutRedirectURL = out.SignedOutPath
	case v == "":
		out.PostLogoutRedirectURL = "/"
	case strings.HasPrefix(v, "/"):
		if !reqsafe.IsLocalPath(v) {
			c.fail("logout.postLogoutRedirectURL", "must be a path on this site (not //host or /\\host), got "+strconv.Quote(v))
		}
		out.PostLogoutRedirectURL = v
	default:
		if u := c.httpURL("logout.postLogoutRedirectURL", v, true, true); u != nil {
			out.PostLogoutRedirectURL = u.String()
		}
	}
}

func (c *checker) excluded(in []string) []string {
	var out []string
	for _, p := range in {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !reqsafe.ValidPrefix(p) {
			c.fail("excludedURLs", "entries must be canonical path prefixes starting with /, such as /health or /public/ "+
				"(printable ASCII; no ;, \\, %, ?, #, //, . or .. segments), got "+strconv.Quote(p))
			continue
		}
		if p == "/" {
			c.fail("excludedURLs", `"/" would exclude every URL; remove the middleware from the router instead`)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (c *checker) cache(in *CacheConfig, out *cache.Options) {
	r, ro := &in.Redis, &out.Redis
	ro.URL = c.secret("cache.redis.url", r.URL)
	if ro.URL != "" {
		c.redisURL(ro.URL)
	}
	ro.Username = strings.TrimSpace(r.Username)
	ro.Password = c.secret("cache.redis.password", r.Password)
	ro.PoolSize = c.intRange("cache.redis.poolSize", r.PoolSize, 1, 1024)
	ro.DialTimeout = c.duration("cache.redis.dialTimeout", r.DialTimeout, 10*time.Millisecond, time.Minute)
	ro.ReadTimeout = c.duration("cache.redis.readTimeout", r.ReadTimeout, 10*time.Millisecond, time.Minute)
	ro.WriteTimeout = c.duration("cache.redis.writeTimeout", r.WriteTimeout, 10*time.Millisecond, time.Minute)
	ro.MaxInFlight = c.intRange("cache.redis.maxInFlight", r.MaxInFlight, 1, 1<<20)
	ro.MaxReplyBytes = c.intRange("cache.redis.maxReplyBytes", r.MaxReplyBytes, 1024, 512<<20)
	ro.ClientName = strings.TrimSpace(r.ClientName)
	if ro.ClientName != "" && (!isToken(ro.ClientName) || len(ro.ClientName) > 64) {
		c.fail("cache.redis.clientName", "must be a single word of at most 64 characters without spaces, got "+strconv.Quote(r.ClientName))
	}
	ro.TLSCAPEM = c.pemFile("cache.redis.tls.caFile", r.TLS.CAFile, true)
	ro.TLSCertPEM = c.pemFile("cache.redis.tls.certFile", r.TLS.CertFile, false)
	ro.TLSKeyPEM = c.pemFile("cache.redis.tls.keyFile", r.TLS.KeyFile, false)
	if (ro.TLSCertPEM == nil) != (ro.TLSKeyPEM == nil) {
		c.fail("cache.redis.tls.certFile", "cache.redis.tls.certFile and cache.redis.tls.keyFile must be given together")
	} else if ro.TLSCertPEM != nil {
		if _, err := tls.X509KeyPair(ro.TLSCertPEM, ro.TLSKeyPEM); err != nil {
			c.fail("cache.redis.tls.keyFile", "does not match cache.redis.tls.certFile: "+err.Error())
		}
	}
	ro.TLSServerName = strings.TrimSpace(r.TLS.ServerName)
	if ro.TLSServerName != "" && !isHostname(ro.TLSServerName) {
		c.fail("cache.redis.tls.serverName", "must be a host name, got "+strconv.Quote(r.TLS.ServerName))
	}
	ro.TLSEnabled = r.TLS.Enabled || strings.HasPrefix(strings.ToLower(ro.URL), "rediss://")
	if !ro.TLSEnabled && (ro.TLSCAPEM != nil || ro.TLSCertPEM != nil || ro.TLSServerName != "") {
		c.fail("cache.redis.tls.enabled", "cache.redis.tls.caFile, certFile and serverName need TLS: set cache.redis.tls.enabled: true or use a rediss:// URL")
	}
	ro.Sentinel.MasterName = strings.TrimSpace(r.Sentinel.MasterName)
	if strings.ContainsAny(ro.Sentinel.MasterName, " \t\r\n") || len(ro.Sentinel.MasterName) > 128 {
		c.fail("cache.redis.sentinel.masterName", "must be the single-word name the sentinels monitor the primary under, such as mymaster, got "+strconv.Quote(r.Sentinel.MasterName))
	}
	ro.Sentinel.Addresses = c.hostPorts("cache.redis.sentinel.addresses", r.Sentinel.Addresses)
	ro.Sentinel.Username = strings.TrimSpace(r.Sentinel.Username)
	ro.Sentinel.Password = c.secret("cache.redis.sentinel.password", r.Sentinel.Password)
	if (ro.Sentinel.MasterName == "") != (len(ro.Sentinel.Addresses) == 0) {
		c.fail("cache.redis.sentinel.masterName", "cache.redis.sentinel.masterName and cache.redis.sentinel.addresses must be given together")
	}
	ro.Cluster.Addresses = c.hostPorts("cache.redis.cluster.addresses", r.Cluster.Addresses)
	sources := 0
	for _, set := range []bool{ro.URL != "", len(ro.Sentinel.Addresses) > 0, len(ro.Cluster.Addresses) > 0} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		c.fail("cache.redis.url", "give only one of cache.redis.url, cache.redis.sentinel.addresses and cache.redis.cluster.addresses")
	}

	mode := strings.ToLower(strings.TrimSpace(in.Mode))
	switch mode {
	case "":
		mode = "memory"
		if sources > 0 {
			mode = "hybrid"
		}
	case "memory":
	case "redis", "hybrid":
		if sources == 0 {
			c.fail("cache.mode", mode+" needs cache.redis.url, cache.redis.sentinel or cache.redis.cluster")
		}
	default:
		c.fail("cache.mode", "must be memory, redis or hybrid, got "+strconv.Quote(in.Mode))
	}
	out.Mode = mode
	out.KeyPrefix = in.KeyPrefix
	if len(out.KeyPrefix) > 64 || !reqsafe.IsPrintableASCII(out.KeyPrefix) || strings.ContainsAny(out.KeyPrefix, " {}") {
		c.fail("cache.keyPrefix", "must be at most 64 characters without spaces or braces, such as gatehouse:, got "+strconv.Quote(in.KeyPrefix))
	}
	out.L1MaxEntries = c.intRange("cache.l1MaxEntries", in.L1MaxEntries, 16, 100000000)
	out.L1MaxBytes = c.intRange("cache.l1MaxBytes", in.L1MaxBytes, 64<<10, 1<<40)
	out.MaxRevocations = c.intRange("cache.maxRevocations", in.MaxRevocations, 16, 100000000)
	out.OutboxSize = c.intRange("cache.outboxSize", in.OutboxSize, 1, 10000000)
	out.WriteQueue = c.intRange("cache.writeQueue", in.WriteQueue, 1, 10000000)
	out.ProbeInterval = c.duration("cache.probeInterval", in.ProbeInterval, 50*time.Millisecond, time.Minute)
}

func (c *checker) redisURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		c.fail("cache.redis.url", "must be redis://[user:password@]host:port[/db] or rediss://…, and could not be parsed")
		return
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		c.fail("cache.redis.url", "scheme must be redis or rediss, got "+strconv.Quote(u.Scheme))
		return
	}
	if u.Host != "" {
		if _, _, err := net.SplitHostPort(u.Host); err != nil && !strings.Contains(err.Error(), "missing port") {
			c.fail("cache.redis.url", "host must be host or host:port, got "+strconv.Quote(u.Host))
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 || n > 1<<20 {
			c.fail("cache.redis.url", "database must be a number such as /0, got "+strconv.Quote(u.Path))
		}
	}
}

func (c *checker) throttle(in *ThrottleConfig, out *ThrottleOptions) {
	out.Enabled = in.Enabled
	out.Failures = c.intRange("throttle.failures", in.Failures, 1, 1000000)
	out.Window = c.duration("throttle.window", in.Window, time.Second, 24*time.Hour)
	out.Penalty = c.duration("throttle.penalty", in.Penalty, time.Second, 24*time.Hour)
}

func (c *checker) securityHeaders(in *SecurityHeadersConfig, out *SecurityHeadersOptions) {
	out.Profile = c.oneOf("securityHeaders.profile", strings.ToLower(strings.TrimSpace(in.Profile)), "basic", "off", "basic", "strict")
	out.ApplyToUpstream = in.ApplyToUpstream
}

// log compiles log.* and the older logLevel: log.level wins, and both given with
// different values is refused (which one was meant is not clear).
func (c *checker) log(cfg *Config, o *Options) {
	legacy := c.oneOf("logLevel", strings.ToLower(strings.TrimSpace(cfg.LogLevel)), "", "debug", "info", "warn", "error")
	level := c.oneOf("log.level", strings.ToLower(strings.TrimSpace(cfg.Log.Level)), "", "debug", "info", "warn", "error")
	if level != "" && legacy != "" && level != legacy {
		c.fail("log.level", "is "+level+" but logLevel (its older spelling) is "+legacy+"; give only one")
	}
	switch {
	case level != "":
		o.LogLevel = level
	case legacy != "":
		o.LogLevel = legacy
	default:
		o.LogLevel = "info"
	}
	o.Log.Format = c.oneOf("log.format", strings.ToLower(strings.TrimSpace(cfg.Log.Format)), "text", "text", "json")
	o.Log.HashClientIP = cfg.Log.HashClientIP
}

// endpoint compiles an operations endpoint (metrics, health). An endpoint that is on
// must say who may read it: it tells how many users sign in and whether the provider
// and Redis are reachable, which is nobody else's business. A required scope is
// checked on a token verified as bearer tokens are (bearer.*), so it needs
// bearer.audience, with bearer auth for ordinary requests on or off.
func (c *checker) endpoint(group string, in *EndpointConfig, out *EndpointOptions, o *Options) {
	out.Path = c.optionalPath(group+".path", in.Path)
	out.AllowedIPs = c.prefixes(group+".allowedIPs", in.AllowedIPs)
	scope := strings.TrimSpace(in.RequiredScope)
	if scope != "" && !isScopeToken(scope) {
		c.fail(group+".requiredScope", "must be one RFC 6749 scope token without spaces or quotes, such as gatehouse:metrics, got "+strconv.Quote(in.RequiredScope))
		scope = ""
	}
	out.RequiredScope = scope
	if out.Path != "" && len(out.AllowedIPs) == 0 && scope == "" {
		c.fail(group+".path", "needs "+group+".allowedIPs or "+group+".requiredScope (or both): the endpoint is never public")
	}
	switch {
	case scope == "" || o.Bearer.Enabled:
		// bearer() checked bearer.audience already.
	case o.Bearer.Audience == "":
		c.fail(group+".requiredScope", "needs bearer.audience: the token is verified as a bearer token for that audience (bearer.enabled may stay false)")
	case o.Bearer.Audience == o.Provider.ClientID:
		c.fail("bearer.audience", "must be the API's resource identifier, not provider.clientID: tokens addressed only to the client id are ID tokens and are refused as access tokens")
	}
}

// admin compiles the admin revocation API's options. o holds the compiled bearer and
// provider options it falls back on and is checked against.
func (c *checker) admin(in *AdminConfig, out *AdminOptions, o *Options) {
	out.Path = c.optionalPath("admin.path", in.Path)
	if out.Path == "/" {
		c.fail("admin.path", `must be a path of its own such as /oauth2/admin, got "/"`)
		out.Path = ""
	}
	if out.Path != "" {
		out.RevokePath = strings.TrimSuffix(out.Path, "/") + "/revoke"
	}
	out.Audience = strings.TrimSpace(in.Audience)
	if out.Audience != "" && !printable(out.Audience) {
		c.fail("admin.audience", "must be printable text")
	}
	if out.Audience == "" {
		out.Audience = o.Bearer.Audience
	}
	scopes := c.scopes("admin.requiredScope", []string{in.RequiredScope})
	if len(scopes) == 1 {
		out.RequiredScope = scopes[0]
	}
	out.AllowedIPs = c.prefixes("admin.allowedIPs", in.AllowedIPs)
	if out.Path == "" {
		return
	}
	if out.RequiredScope == "" && strings.TrimSpace(in.RequiredScope) == "" {
		c.fail("admin.requiredScope", "is required when admin.path is set: the scope (such as gatehouse:admin) an access token needs to use the admin API")
	}
	switch {
	case out.Audience == "":
		c.fail("admin.audience", "is required when admin.path is set (it defaults to bearer.audience, which is empty): the audience of the access tokens that may use the admin API")
	case out.Audience == o.Provider.ClientID:
		c.fail("admin.audience", "must not be provider.clientID: tokens addressed only to the client id are ID tokens and are refused as access tokens")
	}
}

// pages compiles the pages' style and, with pages.templateFile, the operator's
// template: a template that does not parse or fails on any page stops the start.
func (c *checker) pages(in *PagesConfig) *pages.Set {
	style := pages.Style{Title: strings.TrimSpace(in.Title), LogoURL: strings.TrimSpace(in.LogoURL)}
	ok := true
	if len(style.Title) > pages.MaxTitle || !printable(style.Title) {
		c.fail("pages.title", "must be printable text without control or bidi characters, at most "+strconv.Itoa(pages.MaxTitle)+" bytes")
		ok = false
	}
	if style.LogoURL != "" {
		if p := pages.CheckLogo(style.LogoURL); p != "" {
			c.fail("pages.logoURL", p)
			ok = false
		}
	}
	accent := strings.TrimSpace(in.AccentColor)
	if accent == "" {
		accent = pages.DefaultAccent
	}
	normalised, problem := pages.CheckAccent(accent)
	if problem != "" {
		c.fail("pages.accentColor", problem+", got "+strconv.Quote(in.AccentColor))
		ok = false
	}
	style.Accent = normalised
	text := ""
	if path := strings.TrimSpace(in.TemplateFile); path != "" {
		if !strings.HasPrefix(path, "/") {
			c.fail("pages.templateFile", "must be an absolute path to an html/template file, got "+strconv.Quote(path))
			return nil
		}
		b, err := c.env.ReadFile(path)
		if err != nil {
			c.fail("pages.templateFile", "cannot read "+path+": "+err.Error())
			return nil
		}
		if len(b) == 0 {
			c.fail("pages.templateFile", path+" is empty")
			return nil
		}
		text = string(b)
	}
	if !ok {
		return nil
	}
	set, err := pages.New(style, text)
	if err != nil {
		c.fail("pages.templateFile", "must be an html/template over the documented fields: "+err.Error())
		return nil
	}
	return set
}

// crossChecks are rules between groups: endpoint paths must be distinct and not
// excluded from authentication; the hosted-domain check needs domains to check.
func (c *checker) crossChecks(o *Options) {
	c.entryChecks(o, func(c *checker, o *Options) {
		if o.Provider.CheckHostedDomain && len(o.Authorization.AllowedDomains) == 0 {
			c.fail("provider.checkHostedDomain", "needs authorization.allowedDomains: the Google Workspace domains (hd) whose accounts may sign in")
		}
		c.returnHosts(o)
	})
	type ownPath struct{ option, path string }
	paths := []ownPath{
		{"provider.callbackPath", o.Provider.CallbackPath},
		{"provider.loginPath", o.Provider.LoginPath},
		{"logout.path", o.Logout.Path},
		{"logout.backchannelPath", o.Logout.BackchannelPath},
		{"logout.frontchannelPath", o.Logout.FrontchannelPath},
		{"logout.signedOutPath", o.Logout.SignedOutPath},
		{"metrics.path", o.Metrics.Path},
		{"health.path", o.Health.Path},
		{"logout.othersPath", o.Logout.OthersPath},
		{"admin.path", o.Admin.RevokePath},
	}
	if len(o.Providers) > 0 {
		// Every entry has its own callback; the sign-in start endpoint is shared
		// (the request's provider is chosen as for any other request).
		paths[0] = ownPath{"chooserPath", o.ChooserPath}
		paths[1].option = "providers[0].loginPath"
		for i, e := range o.Providers {
			name := "providers[" + strconv.Itoa(i) + "]"
			paths = append(paths, ownPath{name + ".callbackPath", e.Provider.CallbackPath})
			if e.Provider.LoginPath != o.Provider.LoginPath {
				c.fail(name+".loginPath", "must be the same in every entry ("+o.Provider.LoginPath+"): the sign-in start endpoint is shared, and chooses the provider as any request does")
			}
		}
	}
	for i, a := range paths {
		if a.path == "" {
			continue
		}
		for _, b := range paths[:i] {
			if b.path == a.path {
				c.fail(a.option, "must differ from "+b.option+" ("+a.path+")")
			}
		}
		for _, ex := range o.ExcludedURLs {
			if reqsafe.HasPathPrefix(a.path, ex) {
				c.fail("excludedURLs", strconv.Quote(ex)+" covers "+a.option+" "+a.path+"; Gatehouse's own endpoints cannot be excluded")
			}
		}
	}
}

// returnHosts checks that a central callback can work: the login-transaction cookie
// set on a host of provider.allowedReturnHosts must reach the callback's host, and
// the session cookie set there must reach the host the browser returns to, or the
// browser loops between them. Both are Domain cookies of session.cookieDomain.
func (c *checker) returnHosts(o *Options) {
	hosts := o.Provider.AllowedReturnHosts
	if len(hosts) == 0 {
		return
	}
	redirect := o.Provider.RedirectURL
	if redirect == nil {
		c.fail("provider.allowedReturnHosts", "needs provider.redirectURL, the central callback: without it every host has its own callback and the browser returns to a local path")
		return
	}
	domain := o.Session.CookieDomain
	if domain == "" {
		c.fail("provider.allowedReturnHosts", "needs session.cookieDomain covering them and "+redirect.Hostname()+
			" (e.g. .example.com): the session cookie written at the callback would not reach the other hosts, and the browser would loop back to sign-in")
		return
	}
	if !reqsafe.DomainCovers(domain, strings.ToLower(redirect.Hostname())) {
		c.fail("provider.redirectURL", "host "+redirect.Hostname()+" is not under session.cookieDomain "+domain+
			": the login cookie set on the hosts of provider.allowedReturnHosts would not reach the callback")
	}
	for _, h := range hosts {
		if !reqsafe.DomainCovers(domain, h) {
			if h[0] == '.' {
				h = "*" + h
			}
			c.fail("provider.allowedReturnHosts", strconv.Quote(h)+" is not under session.cookieDomain "+domain+
				": the session cookie written at the callback would not reach it, and the browser would loop back to sign-in")
		}
	}
}

// reservedHeaders are managed by the proxy: they can neither carry identity nor be
// stripped.
var reservedHeaders = []string{"Host", "Cookie", "Set-Cookie", "Authorization", "Content-Length", "Content-Type", "Transfer-Encoding",
	"Connection", "Upgrade", "Te", "Trailer", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Real-Ip", "Forwarded"}

func reservedHeader(canon string) bool {
	return indexOf(reservedHeaders, canon) >= 0
}

// ---- field helpers ----

func (c *checker) oneOf(option, v, def string, allowed ...string) string {
	if v == "" {
		return def
	}
	if indexOf(allowed, v) < 0 {
		c.fail(option, "must be one of "+strings.Join(allowed, ", ")+", got "+strconv.Quote(v))
		return def
	}
	return v
}

func (c *checker) duration(option, v string, min, max time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		c.fail(option, "must be a duration such as \"90s\" or \"12h\", got an empty value")
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		c.fail(option, "must be a duration such as \"90s\" or \"12h\", got "+strconv.Quote(v))
		return 0
	}
	if d < min || d > max {
		c.fail(option, "must be between "+min.String()+" and "+max.String()+", got "+v)
		return 0
	}
	return d
}

func (c *checker) intRange(option string, v, min, max int) int {
	if v < min || v > max {
		c.fail(option, "must be an integer between "+strconv.Itoa(min)+" and "+strconv.Itoa(max)+", got "+strconv.Itoa(v))
	}
	return v
}

func (c *checker) httpURL(option, v string, allowHTTP, required bool) *url.URL {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			c.fail(option, "is required: an absolute https:// URL")
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		c.fail(option, "must be an absolute https:// URL without credentials, got "+strconv.Quote(v))
		return nil
	}
	if u.Scheme == "http" && !allowHTTP && !isLoopback(u.Hostname()) {
		c.fail(option, "must use https (http is accepted for loopback hosts, or with provider.insecureAllowHTTP), got "+strconv.Quote(v))
		return nil
	}
	return u
}

func (c *checker) path(option, v string, required bool) string {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			c.fail(option, "is required: a path such as /oauth2/callback")
		}
		return ""
	}
	if !reqsafe.IsLocalPath(v) || strings.ContainsAny(v, "?#%") || strings.Contains(v, "/../") || strings.HasSuffix(v, "/..") || strings.Contains(v, "/./") {
		c.fail(option, "must be a clean absolute path such as /oauth2/callback, got "+strconv.Quote(v))
		return ""
	}
	return v
}

func (c *checker) optionalPath(option, v string) string {
	return c.path(option, v, false)
}

// secret resolves env:NAME and file:/path references. Its errors never include the
// secret itself.
func (c *checker) secret(option, v string) string {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "env:"):
		name := strings.TrimPrefix(v, "env:")
		if !isEnvName(name) {
			c.fail(option, "env: must be followed by an environment variable name such as env:GATEHOUSE_SECRET")
			return ""
		}
		val := c.env.Getenv(name)
		if val == "" {
			c.fail(option, "environment variable "+name+" is not set or empty")
			return ""
		}
		return strings.TrimRight(val, "\r\n")
	case strings.HasPrefix(v, "file:"):
		p := strings.TrimPrefix(v, "file:")
		if !strings.HasPrefix(p, "/") {
			c.fail(option, "file: must be followed by an absolute path such as file:/run/secrets/gatehouse, got "+strconv.Quote(v))
			return ""
		}
		b, err := c.env.ReadFile(p)
		if err != nil {
			c.fail(option, "cannot read "+p+": "+err.Error())
			return ""
		}
		if len(b) > 64<<10 {
			c.fail(option, p+" is larger than 64 KiB")
			return ""
		}
		val := strings.TrimRight(string(b), "\r\n")
		if val == "" {
			c.fail(option, p+" is empty")
		}
		return val
	}
	return v
}

func (c *checker) pemFile(option, path string, certificates bool) []byte {
	path = strings.TrimSpace(path)
	if path == "" {
		return nil
	}
	if !strings.HasPrefix(path, "/") {
		c.fail(option, "must be an absolute path to a PEM file, got "+strconv.Quote(path))
		return nil
	}
	b, err := c.env.ReadFile(path)
	if err != nil {
		c.fail(option, "cannot read "+path+": "+err.Error())
		return nil
	}
	if certificates && !x509.NewCertPool().AppendCertsFromPEM(b) {
		c.fail(option, path+" holds no PEM certificate")
		return nil
	}
	return b
}

func (c *checker) scopes(option string, in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !isScopeToken(s) {
			c.fail(option, "scopes must be RFC 6749 scope tokens without spaces or quotes, got "+strconv.Quote(s))
			continue
		}
		if indexOf(out, s) < 0 {
			out = append(out, s)
		}
	}
	return out
}

func (c *checker) algorithms(option string, in, allowed []string) []string {
	var out []string
	for _, a := range in {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if indexOf(allowed, a) < 0 {
			c.fail(option, strconv.Quote(a)+" is not allowed; choose among "+strings.Join(allowed, ", "))
			continue
		}
		if indexOf(out, a) < 0 {
			out = append(out, a)
		}
	}
	if len(out) == 0 && len(in) > 0 {
		c.fail(option, "must list at least one algorithm")
	}
	return out
}

func (c *checker) claimName(option, v string) string {
	v = strings.TrimSpace(v)
	if v == "" || !printable(v) || len(v) > 256 {
		c.fail(option, "must name a claim, such as sub, email or realm_access.roles, got "+strconv.Quote(v))
		return ""
	}
	return v
}

// names checks group or role names: a name with a comma could never be forwarded
// (the groups and roles headers are comma-separated, and such names are dropped from
// them), so it could never match either.
func (c *checker) names(option, kind string, in []string) []string {
	out := c.plainList(option, in)
	for _, v := range out {
		if strings.IndexByte(v, ',') >= 0 {
			c.fail(option, "a "+kind+" name cannot contain a comma (the forwarded list is comma-separated, so Gatehouse drops such names), got "+strconv.Quote(v))
		}
	}
	return out
}

func (c *checker) plainList(option string, in []string) []string {
	var out []string
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !printable(v) {
			c.fail(option, "entries must be printable text, got "+strconv.Quote(v))
			continue
		}
		out = append(out, v)
	}
	return out
}

func (c *checker) hostPorts(option string, in []string) []string {
	var out []string
	for _, a := range in {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			c.fail(option, "entries must be host:port, got "+strconv.Quote(a))
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			c.fail(option, "port must be 1-65535, got "+strconv.Quote(a))
			continue
		}
		out = append(out, a)
	}
	return out
}

func (c *checker) prefixes(option string, in []string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				c.fail(option, "entries must be IP addresses or CIDR ranges such as 10.0.0.0/8, got "+strconv.Quote(v))
				continue
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			c.fail(option, "entries must be IP addresses or CIDR ranges such as 10.0.0.0/8, got "+strconv.Quote(v))
			continue
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out
}

func withDefault(v []string, option string) []string {
	if len(v) > 0 {
		return v
	}
	d := ListDefaults[option]
	out := make([]string, len(d))
	copy(out, d)
	return out
}

func indexOf(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return -1
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 token (header names, cookie names).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0 {
			continue
		}
		return false
	}
	return true
}

func isScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b == 0x22 || b == 0x5c || b > 0x7e {
			return false
		}
	}
	return true
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b == '_' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || (i > 0 && b >= '0' && b <= '9')) {
			return false
		}
	}
	return true
}

// isHostname reports whether s is an ASCII host name (reqsafe.IsHostName).
func isHostname(s string) bool {
	return reqsafe.IsHostName(s)
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
