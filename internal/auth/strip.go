package auth

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
)

// identityHeaders knows every header a client must not send to the backend because
// the backend could read it as an identity: the headers Gatehouse sets, the identity
// headers of the common authentication proxies (strippedNames, strippedFamilies) and
// headers.stripHeaders, all as reqsafe.HeaderKey keys. A client-sent header whose key
// is one of them, or starts with one of the family prefixes, is removed before
// anything else happens, so a backend that folds X_Forwarded_User into
// X-Forwarded-User (as CGI, PHP and some frameworks do) cannot be fooled either.
type identityHeaders struct {
	names map[string]bool
	// prefixes are the families' prefixes, each ending in "-". A name is looked up
	// once per '-' it holds, however many families there are.
	prefixes map[string]bool
	// common holds the names of commonHeaders that are not stripped, as Go's
	// server spells them (canonical, over HTTP/1 and HTTP/2 alike): read on every
	// request without synchronisation, since it never changes after
	// newIdentityHeaders; under Yaegi one map lookup that answers true costs far less
	// than the calls that normalise a name, and an atomic load of a learnt set costs
	// as much as a few lookups. Every other name goes to stripSlow.
	common map[string]bool
	// kept caches, per header name as received that is not common, that it is not
	// stripped: header names repeat from request to request. stripped holds the
	// stripped names' verdicts. Both are immutable maps replaced whole (copy on
	// write) under mu, read with one atomic load.
	kept     atomic.Value // map[string]bool
	stripped atomic.Value // map[string]bool
	mu       sync.Mutex
}

// maxVerdicts bounds each verdict cache; names beyond it are normalised every time.
const maxVerdicts = 512

// strippedNames are identity headers stripped whatever the configuration: the
// headers Gatehouse sets by default (so that renaming one never turns the old name
// into a spoofing channel) and those other authentication proxies and platforms set
// for their backends, which a backend behind Gatehouse may still trust. The list is
// documented in docs/SECURITY.md ("Paths and forwarding"); a test keeps them in step.
var strippedNames = []string{
	// Gatehouse's defaults; also oauth2-proxy's, traefik-forward-auth's (X-Forwarded-User).
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Roles",
	"X-Forwarded-Preferred-Username", "X-Forwarded-Access-Token",
	// oauth2-proxy (legacy).
	"Gap-Auth",
	// Authelia, Authentik's proxy outpost, Apache and nginx auth modules, Kubernetes'
	// authenticating proxy.
	"Remote-User", "Remote-Groups", "Remote-Name", "Remote-Email",
	"X-Remote-User", "X-Remote-Group", "X-Remote-Groups", "X-Remote-Name", "X-Remote-Email",
	// Keycloak Gatekeeper / Louketo.
	"X-Auth-Username", "X-Auth-Userid", "X-Auth-Subject", "X-Auth-Email", "X-Auth-Roles", "X-Auth-Groups",
	// Google IAP's signed assertion (its unsigned identity is a family below).
	"X-Goog-Iap-Jwt-Assertion",
	// Azure App Service authentication (Easy Auth).
	"X-Ms-Client-Principal",
}

// commonHeaders are request headers browsers, HTTP clients and Traefik itself send,
// whose verdict needs no synchronisation (identityHeaders.common); a name here that
// the configuration strips (headers.stripHeaders) is left out of the set and goes
// the slow way.
var commonHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control", "Connection",
	"Content-Length", "Content-Type", "Cookie", "Dnt", "If-Modified-Since", "If-None-Match", "Origin",
	"Pragma", "Priority", "Referer", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform",
	"Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Traceparent", "Tracestate",
	"Upgrade-Insecure-Requests", "User-Agent", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port",
	"X-Forwarded-Proto", "X-Forwarded-Server", "X-Real-Ip", "X-Requested-With",
}

// strippedFamilies are prefixes (ending in "-*") whose every header is stripped.
var strippedFamilies = []string{
	"X-Gatehouse-*",               // Gatehouse's own namespace
	"X-Auth-Request-*",            // oauth2-proxy: -User, -Email, -Groups, -Preferred-Username, -Access-Token
	"X-Pomerium-*",                // Pomerium: X-Pomerium-Claim-*, X-Pomerium-Jwt-Assertion
	"Cf-Access-*",                 // Cloudflare Access: Cf-Access-Authenticated-User-Email, Cf-Access-Jwt-Assertion
	"X-Goog-Authenticated-User-*", // Google IAP: -Email, -Id
	"X-Amzn-Oidc-*",               // AWS ALB: -Accesstoken, -Identity, -Data
	"X-Ms-Client-Principal-*",     // Azure App Service: -Name, -Id, -Idp
	"X-Ms-Token-*",                // Azure App Service: X-Ms-Token-Aad-Access-Token, ...
	"X-Authentik-*",               // Authentik: -Username, -Groups, -Email, -Jwt, ...
	"X-Vouch-*",                   // Vouch Proxy: X-Vouch-User, X-Vouch-Idp-Claims-*
	"X-Webauth-*",                 // Grafana's and Gitea's auth proxy mode: X-Webauth-User, ...
	"X-Remote-Extra-*",            // Kubernetes' authenticating proxy
	"Tailscale-User-*",            // Tailscale Serve: -Login, -Name, -Profile-Pic
}

func newIdentityHeaders(h *config.HeadersOptions) *identityHeaders {
	ih := &identityHeaders{names: map[string]bool{}, prefixes: map[string]bool{}}
	for _, n := range strippedNames {
		ih.names[reqsafe.HeaderKey(n)] = true
	}
	for _, f := range strippedFamilies {
		ih.prefixes[reqsafe.HeaderKey(strings.TrimSuffix(f, "*"))] = true
	}
	for _, n := range []string{h.User, h.Email, h.Groups, h.Roles, h.AccessToken} {
		if n != "" {
			ih.names[reqsafe.HeaderKey(n)] = true
		}
	}
	for _, n := range h.TemplateNames {
		ih.names[reqsafe.HeaderKey(n)] = true
	}
	for _, k := range h.StripNames {
		ih.names[k] = true
	}
	for _, k := range h.StripPrefixes {
		ih.prefixes[k] = true
	}
	ih.common = map[string]bool{}
	for _, n := range commonHeaders {
		if !isStripped(ih, reqsafe.HeaderKey(n)) {
			ih.common[n] = true
		}
	}
	ih.kept.Store(map[string]bool{})
	ih.stripped.Store(map[string]bool{})
	return ih
}

// Every client-sent header that could be read as an identity header (see
// identityHeaders) is removed by a loop at the top of ServeHTTP, inlined there since
// it runs on every request: a common name costs one map lookup (see
// identityHeaders.common) and the loop has no other temporaries (under Yaegi each
// one is allocated per request, and so is a call's frame). Every other name goes to
// stripSlow.

// stripSlow decides a header name that is not common: it keeps it when it is known
// to be kept, removes the header when the name is stripped, and remembers the
// verdict of a name never seen.
func stripSlow(ih *identityHeaders, h http.Header, name string) {
	if ih.kept.Load().(map[string]bool)[name] {
		return
	}
	if ih.stripped.Load().(map[string]bool)[name] {
		delete(h, name)
		return
	}
	strip := isStripped(ih, reqsafe.HeaderKey(name))
	if strip {
		delete(h, name)
		rememberVerdict(&ih.stripped, &ih.mu, name)
		return
	}
	rememberVerdict(&ih.kept, &ih.mu, name)
}

// rememberVerdict adds name to the copy-on-write set v (up to maxVerdicts names).
func rememberVerdict(v *atomic.Value, mu *sync.Mutex, name string) {
	mu.Lock()
	old := v.Load().(map[string]bool)
	if len(old) < maxVerdicts {
		next := make(map[string]bool, len(old)+1)
		for k := range old {
			next[k] = true
		}
		next[name] = true
		v.Store(next)
	}
	mu.Unlock()
}

// isStripped reports whether the header key k is a stripped name or starts with a
// stripped family's prefix: one map lookup for the name, one per '-' in it.
func isStripped(ih *identityHeaders, k string) bool {
	if ih.names[k] {
		return true
	}
	for i := strings.IndexByte(k, '-'); i >= 0; {
		if ih.prefixes[k[:i+1]] {
			return true
		}
		j := strings.IndexByte(k[i+1:], '-')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}
