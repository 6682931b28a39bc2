package auth

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

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
	// verdicts caches, per header name as received, whether it is stripped: header
	// names repeat from request to request, and under Yaegi a map lookup costs far
	// less than the calls that normalise a name. It is an immutable map replaced
	// whole (copy on write) under mu, read with one atomic load.
	verdicts atomic.Value // map[string]bool
	mu       sync.Mutex
}

// maxVerdicts bounds the verdict cache; names beyond it are normalised every time.
const maxVerdicts = 512

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
	ih.verdicts.Store(map[string]bool{})
	return ih
}

func (ih *identityHeaders) normalize(name string) string {
	return ih.replacer.Replace(strings.ToLower(name))
}

// stripIdentityHeaders removes every client-sent header that could be read as an
// identity header: a configured or default identity header name, or anything in the
// X-Gatehouse- namespace, compared in normalised form. It runs on every request:
// known names cost one map lookup each (see identityHeaders.verdicts).
func stripIdentityHeaders(ih *identityHeaders, h http.Header) {
	verdicts := ih.verdicts.Load().(map[string]bool)
	for name := range h {
		strip, known := verdicts[name]
		if !known {
			strip = learnVerdict(ih, name)
		}
		if strip {
			delete(h, name)
		}
	}
}

// learnVerdict decides whether a header name is stripped and remembers it.
func learnVerdict(ih *identityHeaders, name string) bool {
	n := ih.replacer.Replace(strings.ToLower(name))
	strip := ih.names[n] || strings.HasPrefix(n, "x-gatehouse-")
	ih.mu.Lock()
	old := ih.verdicts.Load().(map[string]bool)
	if len(old) < maxVerdicts {
		next := make(map[string]bool, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		next[name] = strip
		ih.verdicts.Store(next)
	}
	ih.mu.Unlock()
	return strip
}
