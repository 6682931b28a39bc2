package reqsafetest

// ReturnHostPatterns are the provider.allowedReturnHosts every HostCase is matched
// against.
var ReturnHostPatterns = []string{"example.com", "*.apps.example.com", "admin.example.com:8443"}

// HostCase is one Host header a sign-in may start from, and where the browser may be
// returned after signing in at a central callback.
type HostCase struct {
	// Name is the row's name and its subtest's name.
	Name string
	// Host is the Host header, byte for byte.
	Host string
	// Scheme is the scheme the request arrived with ("https": X-Forwarded-Proto).
	Scheme string
	// Want is the normalised host the browser returns to; "" when the host is not
	// allowed and the browser stays on the callback's host (a local path).
	Want string
}

// HostCases is the open-redirect battery for return hosts: the hosts that are let
// through first, then every trick that must not be.
var HostCases = []HostCase{
	{Name: "exact", Host: "example.com", Scheme: "https", Want: "example.com"},
	{Name: "upper-case", Host: "EXAMPLE.com", Scheme: "https", Want: "example.com"},
	{Name: "https-default-port", Host: "example.com:443", Scheme: "https", Want: "example.com"},
	{Name: "http-default-port", Host: "example.com:80", Scheme: "http", Want: "example.com"},
	{Name: "wildcard-one-label", Host: "a.apps.example.com", Scheme: "https", Want: "a.apps.example.com"},
	{Name: "wildcard-two-labels", Host: "a.b.apps.example.com", Scheme: "https", Want: "a.b.apps.example.com"},
	{Name: "wildcard-upper-case", Host: "Team.APPS.example.com", Scheme: "https", Want: "team.apps.example.com"},
	{Name: "wildcard-punycode-label", Host: "xn--bcher-kva.apps.example.com", Scheme: "https", Want: "xn--bcher-kva.apps.example.com"},
	{Name: "pattern-port", Host: "admin.example.com:8443", Scheme: "https", Want: "admin.example.com:8443"},

	{Name: "other-site", Host: "evil.com", Scheme: "https"},
	{Name: "allowed-name-as-subdomain", Host: "example.com.evil.com", Scheme: "https"},
	{Name: "allowed-name-as-suffix", Host: "evilexample.com", Scheme: "https"},
	{Name: "wildcard-suffix-lookalike", Host: "evilapps.example.com", Scheme: "https"},
	{Name: "wildcard-apex", Host: "apps.example.com", Scheme: "https"},
	{Name: "unlisted-subdomain", Host: "www.example.com", Scheme: "https"},
	{Name: "other-port", Host: "example.com:8080", Scheme: "https"},
	{Name: "https-port-over-http", Host: "example.com:443", Scheme: "http"},
	{Name: "pattern-port-missing", Host: "admin.example.com", Scheme: "https"},
	{Name: "userinfo", Host: "evil.com@example.com", Scheme: "https"},
	{Name: "userinfo-reversed", Host: "example.com@evil.com", Scheme: "https"},
	{Name: "backslash-userinfo", Host: `evil.com\@example.com`, Scheme: "https"},
	{Name: "backslash", Host: `example.com\evil.com`, Scheme: "https"},
	{Name: "slash", Host: "example.com/evil.com", Scheme: "https"},
	{Name: "scheme-relative", Host: "//evil", Scheme: "https"},
	{Name: "scheme-without-slashes", Host: "https:evil", Scheme: "https"},
	{Name: "encoded-dot", Host: "example.com%2eevil.com", Scheme: "https"},
	{Name: "encoded-at", Host: "evil.com%40example.com", Scheme: "https"},
	{Name: "encoded-letter", Host: "%65xample.com", Scheme: "https"},
	{Name: "nul", Host: "example.com\x00.evil.com", Scheme: "https"},
	{Name: "space", Host: "example.com evil.com", Scheme: "https"},
	{Name: "trailing-dot", Host: "example.com.", Scheme: "https"},
	{Name: "leading-dot", Host: ".example.com", Scheme: "https"},
	{Name: "empty-label", Host: "a..apps.example.com", Scheme: "https"},
	{Name: "hyphen-label", Host: "-a.apps.example.com", Scheme: "https"},
	{Name: "cyrillic-lookalike", Host: "ex\u0430mple.com", Scheme: "https"},
	{Name: "kelvin-sign", Host: "\u212a.apps.example.com", Scheme: "https"},
	{Name: "fullwidth-dot", Host: "example\uff0ecom", Scheme: "https"},
	{Name: "punycode-lookalike", Host: "xn--exmple-cua.com", Scheme: "https"},
	{Name: "ipv6-literal", Host: "[::1]", Scheme: "https"},
	{Name: "empty", Host: "", Scheme: "https"},
	{Name: "empty-port", Host: "example.com:", Scheme: "https"},
	{Name: "zero-padded-port", Host: "admin.example.com:08443", Scheme: "https"},
	{Name: "port-out-of-range", Host: "admin.example.com:108443", Scheme: "https"},
	{Name: "two-ports", Host: "example.com:443:443", Scheme: "https"},
}

// BadHostPatterns are allowedReturnHosts entries the configuration refuses.
var BadHostPatterns = []string{
	"*", "*.com", "*.", "*example.com", "a.*.example.com", "*.*.example.com", "https://example.com", "example.com/",
	"user@example.com", `example.com\`, "ex\u0430mple.com", "b\u00fccher.example.com", "example.com.", ".example.com",
	"example.com:0", "example.com:443", "*.example.com:80", "example.com:65536", "[::1]", "", "exa mple.com",
	"*.10.0.0.1", "%65xample.com",
}
