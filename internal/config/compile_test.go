package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testKey = "0123456789abcdef0123456789abcdef-session-key"

// valid returns the smallest configuration that compiles.
func valid() *Config {
	c := Default()
	c.Provider.Issuer = "https://idp.example.com/realms/main"
	c.Provider.ClientID = "gatehouse"
	c.Provider.ClientSecret = "client-secret-value"
	c.Session.Keys = []string{testKey}
	return c
}

func compile(t *testing.T, c *Config) (*Options, error) {
	t.Helper()
	env := Environment{
		Getenv: func(n string) string {
			switch n {
			case "GH_SECRET":
				return "from-env-secret\n"
			case "GH_KEY":
				return testKey
			}
			return ""
		},
		ReadFile: os.ReadFile,
	}
	return Compile(c, env)
}

func TestMinimalConfigurationCompilesWithDefaults(t *testing.T) {
	o, err := compile(t, valid())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Provider.Scopes, ","); got != "openid,profile,email" {
		t.Errorf("scopes = %s", got)
	}
	if !o.Provider.PKCE || o.Provider.ClientAuthMethod != "auto" || o.Provider.UserinfoMerge || o.Provider.AssertionAudience != "endpoint" {
		t.Errorf("pkce %v method %s", o.Provider.PKCE, o.Provider.ClientAuthMethod)
	}
	if o.Provider.DiscoveryURL != "https://idp.example.com/realms/main/.well-known/openid-configuration" {
		t.Errorf("discovery = %s", o.Provider.DiscoveryURL)
	}
	if o.Session.Lifetime != 24*time.Hour || o.Cache.Mode != "memory" || o.Headers.User != "X-Forwarded-User" {
		t.Errorf("defaults: %+v %+v", o.Session, o.Cache)
	}
	if len(o.Bearer.Algorithms) != 10 || o.Bearer.Enabled {
		t.Errorf("bearer defaults: %+v", o.Bearer)
	}
}

func TestListOptionReplacesItsDefaultInsteadOfMerging(t *testing.T) {
	c := valid()
	c.Provider.Scopes = []string{"openid", "groups"}
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Provider.Scopes, ","); got != "openid,groups" {
		t.Fatalf("scopes = %s", got)
	}
	if ListDefaults["provider.scopes"][1] != "profile" {
		t.Fatal("Compile modified the shared list defaults")
	}
}

func TestSecretReferences(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "secret")
	if err := os.WriteFile(f, []byte("from-file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := valid()
	c.Provider.ClientSecret = "env:GH_SECRET"
	c.Session.Keys = []string{"env:GH_KEY", "file:" + f + "-and-more-than-32-bytes"}
	if _, err := compile(t, c); err == nil || !strings.Contains(err.Error(), "session.keys[1]") {
		t.Fatalf("missing file not reported on session.keys[1]: %v", err)
	}
	c.Session.Keys = []string{"env:GH_KEY"}
	c.Bearer.Introspection.ClientSecret = "file:" + f
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Provider.ClientSecret != "from-env-secret" || string(o.Session.Keys[0]) != testKey || o.Bearer.Introspection.ClientSecret != "from-file-secret" {
		t.Fatalf("resolved: %q %q %q", o.Provider.ClientSecret, o.Session.Keys[0], o.Bearer.Introspection.ClientSecret)
	}
}

func TestErrorsNeverEchoSecrets(t *testing.T) {
	c := valid()
	c.Session.Keys = []string{"short-secret-value"}
	c.Cache.Redis.URL = "http://user:hunter2-password@redis:6379"
	_, err := compile(t, c)
	if err == nil {
		t.Fatal("expected an error")
	}
	for _, secret := range []string{"short-secret-value", "hunter2-password"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q echoes a secret", err)
		}
	}
}

// TestEveryInvalidOptionIsNamed is the table of bad configurations: each must fail and
// the error must name the option at fault.
func TestEveryInvalidOptionIsNamed(t *testing.T) {
	cases := []struct {
		option string
		mutate func(c *Config)
	}{
		{"provider.issuer", func(c *Config) { c.Provider.Issuer = "" }},
		{"provider.issuer", func(c *Config) { c.Provider.Issuer = "not a url" }},
		{"provider.issuer", func(c *Config) { c.Provider.Issuer = "http://idp.example.com" }},
		{"provider.issuer", func(c *Config) { c.Provider.Issuer = "https://idp.example.com/?tenant=1" }},
		{"provider.discoveryURL", func(c *Config) { c.Provider.DiscoveryURL = "ftp://idp.example.com/x" }},
		{"provider.clientID", func(c *Config) { c.Provider.ClientID = "" }},
		{"provider.clientSecret", func(c *Config) { c.Provider.ClientSecret = "" }},
		{"provider.clientSecret", func(c *Config) { c.Provider.ClientSecret = "env:GH_UNSET_VARIABLE" }},
		{"provider.clientSecret", func(c *Config) { c.Provider.ClientSecret = "file:relative/path" }},
		{"provider.clientAuthMethod", func(c *Config) { c.Provider.ClientAuthMethod = "private_key_jwt_typo" }},
		{"provider.pkce", func(c *Config) { c.Provider.ClientAuthMethod = "none"; c.Provider.PKCE = false }},
		{"provider.scopes", func(c *Config) { c.Provider.Scopes = []string{"profile", "email"} }},
		{"provider.scopes", func(c *Config) { c.Provider.Scopes = []string{"openid", `bad"scope`} }},
		{"provider.callbackPath", func(c *Config) { c.Provider.CallbackPath = "oauth2/callback" }},
		{"provider.callbackPath", func(c *Config) { c.Provider.CallbackPath = "//evil.example/cb" }},
		{"provider.redirectURL", func(c *Config) { c.Provider.RedirectURL = "https://app.example.com/cb?x=1" }},
		{"provider.authParams", func(c *Config) { c.Provider.AuthParams = map[string]string{"state": "fixed"} }},
		{"provider.maxAge", func(c *Config) { c.Provider.MaxAge = "yesterday" }},
		{"provider.signingAlgorithms", func(c *Config) { c.Provider.SigningAlgorithms = []string{"none"} }},
		{"provider.signingAlgorithms", func(c *Config) { c.Provider.SigningAlgorithms = []string{"HS256"} }},
		{"provider.hmacWithClientSecret", func(c *Config) { c.Provider.HMACWithClientSecret = true; c.Provider.ClientSecret = "short" }},
		{"provider.clockSkew", func(c *Config) { c.Provider.ClockSkew = "1h" }},
		{"provider.httpTimeout", func(c *Config) { c.Provider.HTTPTimeout = "10" }},
		{"provider.jwksMinCache", func(c *Config) { c.Provider.JWKSMinCache = "48h"; c.Provider.JWKSMaxCache = "1h" }},
		{"provider.caFile", func(c *Config) { c.Provider.CAFile = "/nonexistent/ca.pem" }},
		{"provider.userClaim", func(c *Config) { c.Provider.UserClaim = "" }},
		{"session.keys", func(c *Config) { c.Session.Keys = nil }},
		{"session.keys[0]", func(c *Config) { c.Session.Keys = []string{"too-short"} }},
		{"session.cookieName", func(c *Config) { c.Session.CookieName = "bad name;" }},
		{"session.cookieName", func(c *Config) { c.Session.CookieName = "__Host-gh"; c.Session.CookieDomain = "example.com" }},
		{"session.cookieDomain", func(c *Config) { c.Session.CookieDomain = "exa mple.com" }},
		{"session.cookiePath", func(c *Config) { c.Session.CookiePath = "app" }},
		{"session.sameSite", func(c *Config) { c.Session.SameSite = "sometimes" }},
		{"session.sameSite", func(c *Config) { c.Session.SameSite = "none"; c.Session.Secure = false }},
		{"session.lifetime", func(c *Config) { c.Session.Lifetime = "0s" }},
		{"session.idleTimeout", func(c *Config) { c.Session.IdleTimeout = "48h" }},
		{"session.loginTimeout", func(c *Config) { c.Session.LoginTimeout = "5s" }},
		{"session.store", func(c *Config) { c.Session.Store = "database" }},
		{"bearer.audience", func(c *Config) { c.Bearer.Enabled = true }},
		{"bearer.audience", func(c *Config) { c.Bearer.Enabled = true; c.Bearer.Audience = c.Provider.ClientID }},
		{"bearer.identifierClaim", func(c *Config) { c.Bearer.IdentifierClaim = "email" }},
		{"bearer.algorithms", func(c *Config) { c.Bearer.Algorithms = []string{"HS256"} }},
		{"bearer.maxTokenLength", func(c *Config) { c.Bearer.MaxTokenLength = 10 }},
		{"bearer.maxTokenAge", func(c *Config) { c.Bearer.MaxTokenAge = "-1h" }},
		{"bearer.maxIdentifierLen", func(c *Config) { c.Bearer.MaxIdentifierLen = 0 }},
		{"bearer.requiredScopes", func(c *Config) { c.Bearer.RequiredScopes = []string{"a b"} }},
		{"bearer.introspection.endpoint", func(c *Config) { c.Bearer.Introspection.Endpoint = "http://idp.example.com/introspect" }},
		{"bearer.introspection.opaqueTokens", func(c *Config) { c.Bearer.Introspection.OpaqueTokens = true }},
		{"bearer.introspection.clientSecret", func(c *Config) {
			c.Provider.ClientSecret = ""
			c.Provider.ClientAuthMethod = "none"
			c.Bearer.Enabled = true
			c.Bearer.Audience = "api"
			c.Bearer.Introspection.Enabled = true
		}},
		{"bearer.introspection.timeout", func(c *Config) { c.Bearer.Introspection.Timeout = "1ms" }},
		{"authorization.allowedDomains", func(c *Config) { c.Authorization.AllowedDomains = []string{"not a domain"} }},
		{"authorization.rolesClaim", func(c *Config) { c.Authorization.RolesClaim = "  " }},
		{"headers.user", func(c *Config) { c.Headers.User = "X User" }},
		{"headers.email", func(c *Config) { c.Headers.Email = "Authorization" }},
		{"headers.groups", func(c *Config) { c.Headers.Groups = "x-forwarded-user" }},
		{"headers.templates.X-Tenant", func(c *Config) { c.Headers.Templates = map[string]string{"X-Tenant": "{{.claims.tenant"} }},
		{"headers.templates.X-Tenant", func(c *Config) { c.Headers.Templates = map[string]string{"X-Tenant": "${claims.tenant"} }},
		{"headers.templates.X-Roles", func(c *Config) { c.Headers.Templates = map[string]string{"X-Roles": "${claims.roles|upper}"} }},
		{"logout.path", func(c *Config) { c.Logout.Path = "/oauth2/callback" }},
		{"logout.postLogoutRedirectURL", func(c *Config) { c.Logout.PostLogoutRedirectURL = "/\\evil.example" }},
		{"logout.backchannelPath", func(c *Config) { c.Logout.BackchannelPath = "back/channel" }},
		{"logout.othersPath", func(c *Config) { c.Logout.OthersPath = "/oauth2/logout" }},
		{"logout.othersPath", func(c *Config) { c.Logout.OthersPath = "others" }},
		{"admin.path", func(c *Config) { c.Admin.Path = "admin" }},
		{"admin.path", func(c *Config) {
			c.Admin.Path = "/oauth2/admin"
			c.Admin.Audience = "gatehouse-admin"
			c.Admin.RequiredScope = "gatehouse:admin"
			c.Logout.Path = "/oauth2/admin/revoke"
		}},
		{"admin.requiredScope", func(c *Config) {
			c.Admin.Path = "/oauth2/admin"
			c.Admin.Audience = "gatehouse-admin"
		}},
		{"admin.requiredScope", func(c *Config) { c.Admin.RequiredScope = "two words" }},
		{"admin.audience", func(c *Config) {
			c.Admin.Path = "/oauth2/admin"
			c.Admin.RequiredScope = "gatehouse:admin"
		}},
		{"admin.audience", func(c *Config) {
			c.Admin.Path = "/oauth2/admin"
			c.Admin.RequiredScope = "gatehouse:admin"
			c.Admin.Audience = "gatehouse"
		}},
		{"admin.allowedIPs", func(c *Config) { c.Admin.AllowedIPs = []string{"10.0.0.0/40"} }},
		{"excludedURLs", func(c *Config) { c.ExcludedURLs = []string{"health"} }},
		{"excludedURLs", func(c *Config) { c.ExcludedURLs = []string{"/"} }},
		{"excludedURLs", func(c *Config) { c.ExcludedURLs = []string{"/oauth2"} }},
		{"cache.mode", func(c *Config) { c.Cache.Mode = "disk" }},
		{"cache.mode", func(c *Config) { c.Cache.Mode = "hybrid" }},
		{"cache.keyPrefix", func(c *Config) { c.Cache.KeyPrefix = "{gatehouse}" }},
		{"cache.l1MaxEntries", func(c *Config) { c.Cache.L1MaxEntries = 0 }},
		{"cache.l1MaxBytes", func(c *Config) { c.Cache.L1MaxBytes = 1024 }},
		{"cache.outboxSize", func(c *Config) { c.Cache.OutboxSize = -1 }},
		{"cache.probeInterval", func(c *Config) { c.Cache.ProbeInterval = "1ns" }},
		{"cache.redis.url", func(c *Config) { c.Cache.Redis.URL = "http://localhost:6379" }},
		{"cache.redis.url", func(c *Config) { c.Cache.Redis.URL = "redis://localhost:6379/abc" }},
		{"cache.redis.url", func(c *Config) {
			c.Cache.Redis.URL = "redis://localhost:6379"
			c.Cache.Redis.Cluster.Addresses = []string{"a:1"}
		}},
		{"cache.redis.poolSize", func(c *Config) { c.Cache.Redis.PoolSize = 0 }},
		{"cache.redis.dialTimeout", func(c *Config) { c.Cache.Redis.DialTimeout = "forever" }},
		{"cache.redis.maxInFlight", func(c *Config) { c.Cache.Redis.MaxInFlight = 0 }},
		{"cache.redis.maxReplyBytes", func(c *Config) { c.Cache.Redis.MaxReplyBytes = 1 }},
		{"cache.redis.clientName", func(c *Config) { c.Cache.Redis.ClientName = "two words" }},
		{"cache.redis.tls.certFile", func(c *Config) { c.Cache.Redis.TLS.CertFile = "/etc/hostname" }},
		{"cache.redis.sentinel.masterName", func(c *Config) { c.Cache.Redis.Sentinel.Addresses = []string{"s1:26379"} }},
		{"cache.redis.sentinel.addresses", func(c *Config) {
			c.Cache.Redis.Sentinel.MasterName = "mymaster"
			c.Cache.Redis.Sentinel.Addresses = []string{"no-port"}
		}},
		{"cache.redis.cluster.addresses", func(c *Config) { c.Cache.Redis.Cluster.Addresses = []string{"node:99999"} }},
		{"cache.redis.sentinel.masterName", func(c *Config) {
			c.Cache.Redis.Sentinel.MasterName = "my master"
			c.Cache.Redis.Sentinel.Addresses = []string{"s1:26379"}
		}},
		{"cache.redis.tls.enabled", func(c *Config) {
			c.Cache.Redis.Cluster.Addresses = []string{"node:6379"}
			c.Cache.Redis.TLS.ServerName = "redis.example.com"
		}},
		{"throttle.failures", func(c *Config) { c.Throttle.Failures = 0 }},
		{"throttle.window", func(c *Config) { c.Throttle.Window = "" }},
		{"trustedProxies", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }},
		{"securityHeaders.profile", func(c *Config) { c.SecurityHeaders.Profile = "paranoid" }},
		{"logLevel", func(c *Config) { c.LogLevel = "verbose" }},
		{"log.level", func(c *Config) { c.Log.Level = "trace" }},
		{"log.level", func(c *Config) {
			c.Log.Level = "debug"
			c.LogLevel = "warn"
		}},
		{"log.format", func(c *Config) { c.Log.Format = "logfmt" }},
		{"metrics.path", func(c *Config) { c.Metrics.Path = "/oauth2/metrics" }},
		{"metrics.path", func(c *Config) {
			c.Metrics.Path = "/oauth2/../metrics"
			c.Metrics.AllowedIPs = []string{"10.0.0.0/8"}
		}},
		{"metrics.allowedIPs", func(c *Config) {
			c.Metrics.Path = "/oauth2/metrics"
			c.Metrics.AllowedIPs = []string{"10.0.0.0/40"}
		}},
		{"metrics.requiredScope", func(c *Config) {
			c.Metrics.Path = "/oauth2/metrics"
			c.Metrics.RequiredScope = "two scopes"
		}},
		{"metrics.requiredScope", func(c *Config) {
			c.Metrics.Path = "/oauth2/metrics"
			c.Metrics.RequiredScope = "gatehouse:metrics"
		}},
		{"bearer.audience", func(c *Config) {
			c.Health.Path = "/oauth2/health"
			c.Health.RequiredScope = "gatehouse:health"
			c.Bearer.Audience = c.Provider.ClientID
		}},
		{"health.path", func(c *Config) { c.Health.Path = "/oauth2/health" }},
		{"health.path", func(c *Config) {
			c.Health.Path = "/oauth2/logout"
			c.Health.AllowedIPs = []string{"10.0.0.0/8"}
		}},
		{"excludedURLs", func(c *Config) {
			c.Metrics.Path = "/public/metrics"
			c.Metrics.AllowedIPs = []string{"10.0.0.0/8"}
			c.ExcludedURLs = []string{"/public/"}
		}},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d bad configurations", len(cases))
	}
	for _, tc := range cases {
		c := valid()
		tc.mutate(c)
		_, err := compile(t, c)
		if err == nil {
			t.Errorf("%s: bad configuration accepted", tc.option)
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: error is %T, want *Error", tc.option, err)
			continue
		}
		named := false
		for _, p := range ce.Problems {
			if p.Option == tc.option {
				named = true
			}
		}
		if !named || !strings.Contains(err.Error(), tc.option+": ") {
			t.Errorf("error does not name %s: %v", tc.option, err)
		}
	}
}

// TestLogLevelTakesEitherSpelling: log.level and the older logLevel both set the
// level (equal values may both be given), info when neither is.
func TestLogLevelTakesEitherSpelling(t *testing.T) {
	for _, tc := range []struct{ level, legacy, want string }{
		{"", "", "info"}, {"debug", "", "debug"}, {"", "warn", "warn"}, {"error", "error", "error"}, {"WARN", "", "warn"},
	} {
		c := valid()
		c.Log.Level = tc.level
		c.LogLevel = tc.legacy
		o, err := compile(t, c)
		if err != nil || o.LogLevel != tc.want {
			t.Errorf("log.level %q, logLevel %q: level %q, error %v; want %q", tc.level, tc.legacy, o.LogLevel, err, tc.want)
		}
	}
}

// TestOperationsEndpointsCompileTheirRules: a path with addresses, a scope verified
// through bearer.audience with bearer auth off, and both; the log format and client
// hashing are carried over.
func TestOperationsEndpointsCompileTheirRules(t *testing.T) {
	c := valid()
	c.Metrics.Path = "/oauth2/metrics"
	c.Metrics.AllowedIPs = []string{"10.0.0.0/8", "192.0.2.7"}
	c.Health.Path = "/oauth2/health"
	c.Health.RequiredScope = "gatehouse:health"
	c.Bearer.Audience = "https://api.example.com"
	c.Log.Format = "JSON"
	c.Log.HashClientIP = true
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Metrics.Path != "/oauth2/metrics" || len(o.Metrics.AllowedIPs) != 2 || o.Metrics.AllowedIPs[1].String() != "192.0.2.7/32" || o.Metrics.RequiredScope != "" {
		t.Fatalf("metrics: %+v", o.Metrics)
	}
	if o.Health.Path != "/oauth2/health" || o.Health.RequiredScope != "gatehouse:health" || o.Health.AllowedIPs != nil || o.Bearer.Enabled {
		t.Fatalf("health: %+v", o.Health)
	}
	if o.Log.Format != "json" || !o.Log.HashClientIP {
		t.Fatalf("log: %+v", o.Log)
	}
	if d, _ := compile(t, valid()); d.Metrics.Path != "" || d.Health.Path != "" || d.Log.Format != "text" || d.Log.HashClientIP {
		t.Fatalf("defaults: metrics %+v health %+v log %+v", d.Metrics, d.Health, d.Log)
	}
}

// TestAdminAPIIsOffByDefaultAndTakesTheBearerAudience: no admin path unless one is
// given; given one, the revoke endpoint lies below it, the audience defaults to
// bearer.audience, and allowedIPs are compiled as prefixes.
func TestAdminAPIIsOffByDefaultAndTakesTheBearerAudience(t *testing.T) {
	o, err := compile(t, valid())
	if err != nil {
		t.Fatal(err)
	}
	if o.Admin.Path != "" || o.Admin.RevokePath != "" {
		t.Fatalf("admin API on by default: %+v", o.Admin)
	}
	if o.Logout.OthersPath != "/oauth2/logout/others" {
		t.Fatalf("logout.othersPath = %q", o.Logout.OthersPath)
	}
	c := valid()
	c.Bearer.Enabled = true
	c.Bearer.Audience = "https://api.example.com"
	c.Admin.Path = "/oauth2/admin/"
	c.Admin.RequiredScope = "gatehouse:admin"
	c.Admin.AllowedIPs = []string{"10.1.2.3/8", "2001:db8::1"}
	o, err = compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Admin.RevokePath != "/oauth2/admin/revoke" || o.Admin.Audience != "https://api.example.com" || o.Admin.RequiredScope != "gatehouse:admin" {
		t.Fatalf("admin options: %+v", o.Admin)
	}
	if len(o.Admin.AllowedIPs) != 2 || o.Admin.AllowedIPs[0].String() != "10.0.0.0/8" || o.Admin.AllowedIPs[1].String() != "2001:db8::1/128" {
		t.Fatalf("admin.allowedIPs: %v", o.Admin.AllowedIPs)
	}
	c.Admin.Audience = "gatehouse-admin"
	if o, err = compile(t, c); err != nil || o.Admin.Audience != "gatehouse-admin" {
		t.Fatalf("admin.audience: %v %+v", err, o)
	}
}

func TestRedirectURLSetsTheCallbackPath(t *testing.T) {
	c := valid()
	c.Provider.RedirectURL = "https://app.example.com/auth/cb"
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Provider.CallbackPath != "/auth/cb" || o.Provider.RedirectURL.Host != "app.example.com" {
		t.Fatalf("%+v", o.Provider)
	}
}

func TestCacheModeFollowsRedisConfiguration(t *testing.T) {
	c := valid()
	c.Cache.Redis.URL = "redis://localhost:6379/2"
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Cache.Mode != "hybrid" {
		t.Fatalf("mode = %s", o.Cache.Mode)
	}
}

// TestStripHeadersCompilesNamesAndFamilies: names and "-*" prefixes become
// reqsafe.HeaderKey keys; what the proxy manages cannot be stripped.
func TestStripHeadersCompilesNamesAndFamilies(t *testing.T) {
	c := valid()
	c.Headers.StripHeaders = []string{"X-Legacy-User", " x_team_* ", "", "Remote-Role"}
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Headers.StripNames, ",") != "x-legacy-user,remote-role" || strings.Join(o.Headers.StripPrefixes, ",") != "x-team-" {
		t.Fatalf("names %v, prefixes %v", o.Headers.StripNames, o.Headers.StripPrefixes)
	}
	for _, bad := range []string{"X-Forwarded-*", "X_Forwarded_Proto", "Cookie", "authorization", "X*", "*", "-*", "X User", "X-*-User", "X-Team*"} {
		c := valid()
		c.Headers.StripHeaders = []string{bad}
		if _, err := compile(t, c); err == nil || !strings.Contains(err.Error(), "headers.stripHeaders: ") {
			t.Errorf("headers.stripHeaders %q: %v", bad, err)
		}
	}
}

// TestExcludedURLsMustBeCanonical: an exclusion that no canonical request path could
// match is a mistake, refused at start-up with the form expected.
func TestExcludedURLsMustBeCanonical(t *testing.T) {
	for _, bad := range []string{"health", "/public;x/", "/public/../admin", "//public", "/public/%2F", "/caf\u00e9/", "/a\\b", "/a?b", "/."} {
		c := valid()
		c.ExcludedURLs = []string{bad}
		if _, err := compile(t, c); err == nil || !strings.Contains(err.Error(), "excludedURLs: entries must be canonical") {
			t.Errorf("excludedURLs %q: %v", bad, err)
		}
	}
	c := valid()
	c.ExcludedURLs = []string{"/health", "/.well-known/", "/v1/items:batchGet"}
	if _, err := compile(t, c); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultHasNoListValues(t *testing.T) {
	// mapstructure merges decoded lists into non-empty defaults element by element.
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			name := path + v.Type().Field(i).Name
			switch f.Kind() {
			case reflect.Struct:
				walk(f, name+".")
			case reflect.Slice, reflect.Map:
				if f.Len() != 0 {
					t.Errorf("%s has a non-empty default", name)
				}
			}
		}
	}
	walk(reflect.ValueOf(*Default()), "")
}
