// Package reqsafetest holds the request-path attack matrix of docs/SECURITY.md
// ("Paths and forwarding") as data, so that the compiled unit tests of reqsafe and the
// scenario tests under Yaegi play the same rows. It is imported by tests only.
package reqsafetest

// Exclusions are the excludedURLs every row is matched against.
var Exclusions = []string{"/health", "/public/", "/.well-known/"}

// PathCase is one request target and what must become of it.
type PathCase struct {
	// Name is the row's name in docs/SECURITY.md and its subtest's name.
	Name string
	// Target is the request target, byte for byte as it is sent on the request line.
	Target string
	// Reading is how a backend reads the target, for the documentation.
	Reading string
	// Excluded: the request is let through without authentication. Every other row
	// must be authenticated (401 for an API client) and never reach the backend.
	Excluded bool
	// Rejected: Go's HTTP server (Traefik's) answers 400 before any middleware runs.
	Rejected bool
}

// PathCases is the matrix. Rows that are let through are first; then every
// normalisation Gatehouse defends against.
var PathCases = []PathCase{
	{Name: "exact-prefix", Target: "/health", Reading: "the excluded path itself", Excluded: true},
	{Name: "below-prefix", Target: "/health/live", Reading: "below /health on a segment boundary", Excluded: true},
	{Name: "below-slash-prefix", Target: "/public/app.css", Reading: "below /public/", Excluded: true},
	{Name: "dot-leading-name", Target: "/.well-known/openid-configuration", Reading: "a name that starts with a dot is not a dot segment", Excluded: true},
	{Name: "query", Target: "/public/app.css?v=1", Reading: "the query is not part of the path", Excluded: true},
	{Name: "parentheses", Target: "/public/a(1).css", Reading: "sub-delimiters that need no encoding", Excluded: true},
	{Name: "encoded-space", Target: "/public/my%20file.pdf", Reading: "a space inside a name", Excluded: true},
	{Name: "encoded-letter", Target: "/public/%61pp.css", Reading: "an unreserved character encoded: /public/app.css to everyone", Excluded: true},
	{Name: "absolute-form", Target: "http://example.com/public/app.css", Reading: "absolute-form request line (RFC 9112 3.2.2): the path is /public/app.css", Excluded: true},

	{Name: "prefix-lookalike", Target: "/healthz", Reading: "not on a segment boundary of /health"},
	{Name: "slash-prefix-itself", Target: "/public", Reading: "/public/ covers only what lies below it"},
	{Name: "dot-dot", Target: "/public/../admin", Reading: "/admin to everyone (RFC 3986 5.2.4, Go's path.Clean, nginx)"},
	{Name: "dot-dot-at-end", Target: "/health/..", Reading: "/ to everyone"},
	{Name: "dot", Target: "/public/./app.css", Reading: "harmless, but not canonical"},
	{Name: "servlet-dot-dot-semicolon", Target: "/health/..;/admin", Reading: "Tomcat, Jetty, Spring cut each segment at ';': /health/../admin, so /admin"},
	{Name: "servlet-path-parameter", Target: "/public;jsessionid=x/app.css", Reading: "a servlet path parameter: any ';' makes a path ambiguous"},
	{Name: "servlet-encoded-semicolon", Target: "/public/..%3B/admin", Reading: "';' encoded: decoded by Gatehouse and by servlet containers alike"},
	{Name: "encoded-dot-dot", Target: "/public/%2e%2e/admin", Reading: "/admin after decoding (every backend that decodes before resolving)"},
	{Name: "mixed-encoded-dot-dot", Target: "/public/.%2E/admin", Reading: "the same, half encoded"},
	{Name: "double-encoded-dot-dot", Target: "/public/%252e%252e/admin", Reading: "/admin to a backend that decodes twice (IIS, some frameworks)"},
	{Name: "encoded-slash", Target: "/public%2Fadmin", Reading: "one segment public%2Fadmin to nginx, Apache and servlets, two to Gatehouse"},
	{Name: "encoded-slash-dot-dot", Target: "/public/..%2Fadmin", Reading: "/admin to a backend that decodes %2F (Node's serve-static, Go's path.Clean after decoding)"},
	{Name: "backslash", Target: `/public/..\admin`, Reading: "IIS, Windows file servers and WHATWG parsers (Node) read '\\' as '/': /admin"},
	{Name: "encoded-backslash", Target: "/public/..%5Cadmin", Reading: "the same, encoded"},
	{Name: "iis-percent-u", Target: "/public/%u002e%u002e/admin", Reading: "IIS reads %u002e as '.': Go's server refuses the escape with 400", Rejected: true},
	{Name: "iis-double-encoded-percent-u", Target: "/public/%25u002e%25u002e/admin", Reading: "%u002e after one decoding: IIS decoding again reads /admin"},
	{Name: "nul-byte", Target: "/public/app.css%00/../../admin", Reading: "C-based servers end the path at NUL"},
	{Name: "control-character", Target: "/public/%0d%0aX-Injected:%201", Reading: "CR LF in a path: header injection in backends that log or redirect it"},
	{Name: "overlong-utf8-dot", Target: "/public/%c0%ae%c0%ae/admin", Reading: "overlong UTF-8 for '.', read as '.' by old decoders (IIS 4/5, some Java)"},
	{Name: "overlong-utf8-slash", Target: "/public/..%c0%afadmin", Reading: "overlong UTF-8 for '/'"},
	{Name: "fullwidth-dot", Target: "/public/%ef%bc%8e%ef%bc%8e/admin", Reading: "U+FF0E is '.' after NFKC normalisation or a Windows best-fit code page"},
	{Name: "division-slash", Target: "/public/..%e2%88%95admin", Reading: "U+2215 is '/' in Windows best-fit mappings"},
	{Name: "nginx-merge-slashes", Target: "/public//../admin", Reading: "nginx merge_slashes on: /public/../admin, so /admin; off: /public/admin"},
	{Name: "empty-segment", Target: "/public//app.css", Reading: "harmless, but not canonical"},
	{Name: "windows-trailing-space", Target: "/public/..%20/admin", Reading: "Windows drops trailing spaces from names: /public/../admin"},
	{Name: "windows-trailing-dot", Target: "/public/.../admin", Reading: "Windows drops trailing dots from names: ... is .."},
	{Name: "windows-space-segment", Target: "/public/%20/app.css", Reading: "a name made of a space is empty to Windows"},
	{Name: "windows-space-after-prefix", Target: "/public%20/app.css", Reading: "/public/app.css to Windows; not below /public/ to Gatehouse, which only errs towards authenticating"},
	{Name: "ntfs-stream-dot-dot", Target: "/public/..::$INDEX_ALLOCATION/admin", Reading: "NTFS reads ..::$INDEX_ALLOCATION as the directory .."},
	{Name: "windows-wildcard", Target: "/public/%3C%3E", Reading: "'<' and '>' are wildcards to Windows file APIs"},
	{Name: "case-insensitive-backend", Target: "/PUBLIC/app.css", Reading: "/public/app.css to IIS and case-insensitive file systems; Gatehouse matches case-sensitively, so this authenticates"},
	{Name: "case-insensitive-dot-dot", Target: "/Public/../admin", Reading: "leaving the excluded directory needs a dot segment, whatever the case"},
	{Name: "fragment-on-request-line", Target: "/public/x#/../../admin", Reading: "a backend that parses the path again cuts it at '#', one that does not resolves the dot segments"},
	{Name: "encoded-question-mark", Target: "/public/%3F/../admin", Reading: "a backend that decodes and parses again cuts the path at '?'"},
	{Name: "empty-path", Target: "http://example.com", Reading: "absolute-form without a path: URL.Path is empty"},
	{Name: "asterisk-form", Target: "*", Reading: "the asterisk form (RFC 9112 3.2.4) names no path"},
}
