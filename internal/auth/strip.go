package auth

import (
	"net/http"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
)

// identityHeaders knows every header name through which Gatehouse tells the backend
// who the user is, in normalised form (lower case, "_" and "." read as "-"). A
// client-sent header that normalises to one of them is removed before anything else
// happens, so a backend that folds X_Forwarded_User into X-Forwarded-User (as CGI,
// PHP and some frameworks do) cannot be fooled.
type identityHeaders struct {
	names    map[string]bool
	replacer *strings.Replacer
}

// alwaysStripped are identity headers stripped whatever the configuration, so that
// renaming a header never turns the old name into a spoofing channel.
var alwaysStripped = []string{
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Roles",
	"X-Forwarded-Preferred-Username", "X-Forwarded-Access-Token", "X-Auth-Request-User",
	"X-Auth-Request-Email", "X-Auth-Request-Groups", "X-Auth-Request-Access-Token",
}

func newIdentityHeaders(h *config.HeadersOptions) *identityHeaders {
	ih := &identityHeaders{names: map[string]bool{}, replacer: strings.NewReplacer("_", "-", ".", "-")}
	add := func(name string) {
		if name != "" {
			ih.names[ih.normalize(name)] = true
		}
	}
	for _, n := range alwaysStripped {
		add(n)
	}
	for _, n := range []string{h.User, h.Email, h.Groups, h.Roles, h.AccessToken} {
		add(n)
	}
	for _, n := range h.TemplateNames {
		add(n)
	}
	return ih
}

func (ih *identityHeaders) normalize(name string) string {
	return ih.replacer.Replace(strings.ToLower(name))
}

// stripIdentityHeaders removes every client-sent header that could be read as an
// identity header: a configured or default identity header name, or anything in the
// X-Gatehouse- namespace, compared in normalised form. Inlined into one function
// because it runs on every request (docs/YAEGI-NOTES.md).
func stripIdentityHeaders(ih *identityHeaders, h http.Header) {
	for name := range h {
		n := ih.replacer.Replace(strings.ToLower(name))
		if ih.names[n] || strings.HasPrefix(n, "x-gatehouse-") {
			delete(h, name)
		}
	}
}
