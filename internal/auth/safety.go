package auth

import (
	"net/http"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
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
// written to logs: at most maxLen bytes, none of the delimiters , ; = that backends
// use to split header values, and an identifier by config.IdentifierProblem's rules
// (valid UTF-8; no control, bidi, invisible or normalising characters such as the
// Kelvin sign, which strings.ToLower turns into "k").
func sanitizeIdentifier(id string, maxLen int) (string, bool) {
	if len(id) > maxLen || strings.ContainsAny(id, ",;=") || config.IdentifierProblem(id) != "" {
		return "", false
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
