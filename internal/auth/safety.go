package auth

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
)

// safeReturnPath returns where to send the browser after login: the path and query
// it asked for, when that is unambiguously a path on this site, else "/". A request
// line like "//evil.example/x" or "/\evil.example" would otherwise become a
// Location header that browsers read as another origin (RFC 9700 section 4.11).
func safeReturnPath(req *http.Request) string {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return "/"
	}
	p := req.URL.RequestURI()
	if len(p) > 2048 || !reqsafe.IsLocalPath(p) {
		return "/"
	}
	return p
}

// sanitizeIdentifier checks an identifier that will be forwarded in a header and
// written to logs: not empty, at most maxLen bytes, valid UTF-8, no control
// characters, no bidi overrides or isolates (which make logs and UIs display
// something else), and none of the delimiters , ; = that backends use to split
// header values.
func sanitizeIdentifier(id string, maxLen int) (string, bool) {
	if id == "" || len(id) > maxLen || !utf8.ValidString(id) {
		return "", false
	}
	if strings.ContainsAny(id, ",;=\x7f\u0085\u2028\u2029\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff") {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 {
			return "", false
		}
	}
	return id, true
}

// bearerChallenge builds an RFC 6750 section 3 WWW-Authenticate value. Descriptions
// are fixed strings chosen by Gatehouse: nothing from the token is echoed.
func bearerChallenge(errCode, description, scope string) string {
	v := `Bearer realm="gatehouse"`
	if errCode != "" {
		v += `, error="` + errCode + `"`
	}
	if description != "" {
		v += `, error_description="` + description + `"`
	}
	if scope != "" {
		v += `, scope="` + scope + `"`
	}
	return v
}
