package auth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/headertpl"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// principal is who a request authenticated as, whichever way it came: a session
// cookie or a bearer token. Both paths build one and hand it to forwardAuthorized.
//
// Everything a request needs from it is computed once, when the principal is built
// (at login, refresh, or first sight of a bearer token), and then reused by every
// request: the authorization decision and the header values. Under Yaegi per-request
// work is what costs, so the hot path only copies precomputed slices.
type principal struct {
	// Source is "session" or "bearer".
	Source  string
	Subject string
	Issuer  string
	// User is the identifier forwarded in headers.user: the configured user claim
	// (email by default) for sessions, the identifier claim (sub by default) for
	// bearer tokens, when identity.go's rules let it be the identity; else sub; ""
	// when not even sub is usable (then the principal is refused).
	User string
	// Email is the email, only when trusted (verified, unless
	// authorization.requireVerifiedEmail is off); EmailVerified is the claim.
	Email         string
	EmailVerified bool
	Roles         []string
	Groups        []string
	Scopes        []string

	// AuthTime is when the user signed in at the provider (auth_time, Unix seconds;
	// 0 when unknown) and ACR the authentication context class: what maxAuthAge and
	// acr requirements compare.
	AuthTime int64
	ACR      string

	// Allowed is the default rule's decision; DenyReason says why not (for logs).
	Allowed    bool
	DenyReason string
	// until[i] and why[i] are the decision for rule i of m.rules (policy.go):
	// satisfied until that Unix time (0: never, forever: always), and what fails.
	until []int64
	why   []*config.Failure

	// headerNames[i] is set to headerValues[i] on the upstream request.
	headerNames  []string
	headerValues [][]string
}

// newPrincipal builds a principal from verified claims and decides authorization and
// headers once. claims is the decoded claim set of an access token (sessions build
// theirs from the record: sessionPrincipal); user is the identifier claim's value
// (identity.go decides whether it may be the identity); accessToken is forwarded only
// when headers.accessToken is set.
func newPrincipal(m *Middleware, source string, claims map[string]any, user, accessToken string) *principal {
	o := m.opts
	p := &principal{
		Source:        source,
		Subject:       claimString(claims, "sub"),
		Issuer:        claimString(claims, "iss"),
		Email:         claimString(claims, "email"),
		EmailVerified: claimBool(claims, "email_verified"),
		Roles:         forwardableNames(m.log, "role", claimStrings(claims, o.Authorization.RolesClaim)),
		Groups:        forwardableNames(m.log, "group", claimStrings(claims, o.Authorization.GroupsClaim)),
	}
	p.User, p.Email = trustedIdentity(o.Authorization.RequireVerifiedEmail, user, p.Subject, p.Email, p.EmailVerified)
	p.Scopes = strings.Fields(claimString(claims, "scope"))
	if len(p.Scopes) == 0 {
		p.Scopes = claimStrings(claims, "scp")
	}
	p.AuthTime = claimInt(claims, "auth_time")
	p.ACR = claimString(claims, "acr")
	decide(m, p, claims, accessToken)
	return p
}

// decide takes the authorization decisions for a filled-in principal, for the
// default rule and every rule (evaluateRules), and computes its headers when it has
// a usable identity. A principal without a usable user identifier (identity.go) is
// refused whatever the rules.
func decide(m *Middleware, p *principal, claims map[string]any, accessToken string) {
	evaluateRules(m, p, claims)
	if p.User != "" {
		buildHeaders(m.opts, p, claims, accessToken)
	}
}

func intersects(allowed, have []string) bool {
	for _, a := range allowed {
		for _, h := range have {
			if a == h {
				return true
			}
		}
	}
	return false
}

// maxHeaderValue bounds one forwarded header value; larger values are dropped rather
// than truncated (a truncated group list would be a different, wrong identity).
const maxHeaderValue = 8 << 10

// buildHeaders computes the upstream identity headers once.
func buildHeaders(o *config.Options, p *principal, claims map[string]any, accessToken string) {
	h := &o.Headers
	add := func(name, value string) {
		if name == "" || value == "" {
			return
		}
		if len(value) > maxHeaderValue || !safeHeaderValue(value) {
			return
		}
		p.headerNames = append(p.headerNames, name)
		p.headerValues = append(p.headerValues, []string{value})
	}
	add(h.User, p.User)
	if h.Minimal {
		return
	}
	add(h.Email, p.Email)
	add(h.Groups, strings.Join(p.Groups, ","))
	add(h.Roles, strings.Join(p.Roles, ","))
	add(h.AccessToken, accessToken)
	if len(h.TemplateNames) > 0 {
		data := &headertpl.Data{
			Claims: claims, User: p.User, Email: p.Email, Subject: p.Subject,
			Groups: p.Groups, Roles: p.Roles, Source: p.Source,
		}
		for _, name := range h.TemplateNames {
			add(name, strings.TrimSpace(headertpl.Render(h.Templates[name], data)))
		}
	}
}

// safeHeaderValue refuses control characters but tab (CR/LF would split headers) and
// bidi overrides (which make logs and UIs lie about the value). One compiled scan:
// under Yaegi a loop over the bytes would cost about 0.1 µs per byte.
func safeHeaderValue(v string) bool {
	return !strings.ContainsAny(v, unsafeInHeaderValue)
}

// unsafeInHeaderValue is every C0 control but tab, DEL, and the bidi controls.
const unsafeInHeaderValue = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x0b\x0c\x0d\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f" +
	"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

// ---- claim access ----

// claimValue finds a claim by a configured name (headertpl.ClaimValue: the exact
// name first, then a dotted path into nested objects).
func claimValue(claims map[string]any, name string) (any, bool) {
	return headertpl.ClaimValue(claims, name)
}

func claimString(claims map[string]any, name string) string {
	v, _ := claimValue(claims, name)
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// claimInt reads a numeric claim (NumericDate and the like) as an integer; 0 when
// absent or not an integer.
func claimInt(claims map[string]any, name string) int64 {
	v, _ := claimValue(claims, name)
	switch v := v.(type) {
	case json.Number:
		n, _ := v.Int64()
		return n
	case float64:
		return int64(v)
	}
	return 0
}

// claimBool accepts true and "true" (some providers, e.g. Cognito, send strings).
func claimBool(claims map[string]any, name string) bool {
	v, _ := claimValue(claims, name)
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// claimStrings reads a list claim: an array of strings, or a single string (a
// space- or comma-separated string is NOT split: a group named "a,b" stays one, and
// forwardableNames then drops it).
func claimStrings(claims map[string]any, name string) []string {
	v, _ := claimValue(claims, name)
	switch v := v.(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return append([]string(nil), v...)
	}
	return nil
}

// forwardAuthorized is the single exit for authenticated requests, whichever way they
// authenticated: refuse the principal if the rules deny it, otherwise put its identity
// on the request and call the backend. The writer is never wrapped, so streaming,
// WebSockets and HTTP/2 push keep working.
//
// rule is the index in m.rules of the rule the request matched (0: the default
// rule), or a set of them (policy.go).
func forwardAuthorized(m *Middleware, rw http.ResponseWriter, req *http.Request, p *principal, rule int) {
	if p.until[rule] != forever && !policyAllows(m, rw, req, p, rule) {
		return
	}
	hdr := req.Header
	// Gatehouse owns Authorization only when bearer auth is on; then the credential
	// it verified is not passed on unless headers.passAuthorization says so.
	if m.stripAuthorization {
		delete(hdr, "Authorization")
	}
	if m.stripCookies {
		session.StripCookies(m.sessions, req)
	}
	for i, name := range p.headerNames {
		hdr[name] = p.headerValues[i]
	}
	if m.upstreamSecurityHeaders != nil {
		setUpstreamSecurityHeaders(m, rw)
	}
	if p.Source == "bearer" {
		m.met.c.requests[outcomeBearer].Add(1)
	} else {
		m.met.c.requests[outcomeSession].Add(1)
	}
	m.next.ServeHTTP(rw, req)
}

// setUpstreamSecurityHeaders sets the securityHeaders profile on a response the
// backend is about to write.
func setUpstreamSecurityHeaders(m *Middleware, rw http.ResponseWriter) {
	out := rw.Header()
	for i, name := range m.upstreamSecurityHeaders {
		if _, set := out[name]; !set {
			out[name] = m.upstreamSecurityValues[i]
		}
	}
}
