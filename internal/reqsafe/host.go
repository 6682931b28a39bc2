package reqsafe

import (
	"strconv"
	"strings"
)

// Return hosts: with a central callback (one redirect URI for several hosts), the
// browser is sent back after sign-in to the host it started on only when that host is
// in provider.allowedReturnHosts. A pattern is
//
//   - an exact host name, "app.example.com", matching that host on its scheme's
//     default port (443 for https, 80 for http) only;
//   - a wildcard, "*.example.com", matching every host one or more labels below
//     example.com ("a.example.com", "a.b.example.com"), never example.com itself;
//   - either of them with a port, "app.example.com:8443", "*.example.com:8443",
//     matching that port only.
//
// Host names are ASCII (an internationalised name in its xn-- form), compared in
// lower case. Everything else is refused, in patterns and in request hosts alike:
// userinfo ("evil.com@example.com"), backslashes, percent-encoding, whitespace and
// control characters, non-ASCII look-alikes (U+212A KELVIN SIGN lower-cases to "k"),
// empty labels and trailing dots, IP-literal brackets, and in patterns a bare "*",
// a wildcard over a single label ("*.com") or an all-numeric last label.

// HostPattern compiles one provider.allowedReturnHosts entry. It returns the form
// ReturnHost matches against ("app.example.com", ".example.com" for "*.example.com",
// either with ":port") and "", or "" and what is wrong with the entry.
func HostPattern(p string) (string, string) {
	p = strings.TrimSpace(p)
	wildcard := strings.HasPrefix(p, "*.")
	rest := p
	if wildcard {
		rest = p[2:]
	}
	if strings.Contains(rest, "*") {
		return "", "a wildcard is only allowed as the whole first label, as in *.example.com"
	}
	if !isASCII(rest) {
		return "", "must be ASCII: give an internationalised name in its xn-- form"
	}
	name, port, ok := splitHostPort(strings.ToLower(rest))
	if !ok {
		return "", "the port must be a number between 1 and 65535 without leading zeros"
	}
	if port == "80" || port == "443" {
		return "", "leave out the default port " + port + ": a host without a port matches its scheme's default port"
	}
	if !isDNSName(name) {
		return "", "must be a host name such as app.example.com or *.example.com, optionally with :port"
	}
	if wildcard {
		last := name[strings.LastIndexByte(name, '.')+1:]
		if !strings.Contains(name, ".") || strings.Trim(last, "0123456789") == "" {
			return "", "a wildcard must cover a domain of at least two labels, such as *.example.com"
		}
		name = "." + name
	}
	if port != "" {
		name += ":" + port
	}
	return name, ""
}

// ReturnHost reports whether host (a request's Host header, as sent) is allowed by
// patterns (compiled by HostPattern) for a request made over scheme ("http" or
// "https"), and returns it normalised: lower case, the scheme's default port removed.
func ReturnHost(host, scheme string, patterns []string) (string, bool) {
	if len(host) > 261 || !isASCII(host) {
		return "", false
	}
	name, port, ok := splitHostPort(strings.ToLower(host))
	if !ok || !isDNSName(name) {
		return "", false
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	norm := name
	if port != "" {
		norm += ":" + port
	}
	for _, p := range patterns {
		if p == norm {
			return norm, true
		}
		if p[0] != '.' {
			continue
		}
		pn, pp, _ := splitHostPort(p)
		if pp == port && strings.HasSuffix(name, pn) {
			// name is a valid DNS name, so what precedes pn is one or more whole
			// labels: "evilexample.com" does not end in ".example.com".
			return norm, true
		}
	}
	return "", false
}

// AllowedReturnURL reports whether u, a return target Gatehouse built as
// scheme://host/path (an http or https origin and a local path), still names a host
// patterns allow. It is checked again when the target is used, after it travelled in
// the sealed login cookie.
func AllowedReturnURL(u string, patterns []string) bool {
	scheme := ""
	if strings.HasPrefix(u, "https://") {
		scheme = "https"
	} else if strings.HasPrefix(u, "http://") {
		scheme = "http"
	}
	if scheme == "" {
		return false
	}
	rest := u[len(scheme)+3:]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return false
	}
	host, ok := ReturnHost(rest[:i], scheme, patterns)
	return ok && host == rest[:i] && IsLocalPath(rest[i:])
}

// DomainCovers reports whether a cookie with Domain=domain ("example.com" or
// ".example.com") is sent to the hosts a compiled HostPattern names (RFC 6265 section
// 5.1.3: the host equals the domain or ends in "."+domain).
func DomainCovers(domain, pattern string) bool {
	domain = strings.TrimPrefix(strings.ToLower(domain), ".")
	name, _, _ := splitHostPort(pattern)
	name = strings.TrimPrefix(name, ".")
	return domain != "" && (name == domain || strings.HasSuffix(name, "."+domain))
}

// splitHostPort splits "name[:port]". ok is false for a port that is not a decimal
// number from 1 to 65535 written without leading zeros.
func splitHostPort(h string) (string, string, bool) {
	i := strings.LastIndexByte(h, ':')
	if i < 0 {
		return h, "", true
	}
	port := h[i+1:]
	if port == "" || len(port) > 5 || port[0] == '0' || strings.Trim(port, "0123456789") != "" {
		return "", "", false
	}
	if n, err := strconv.Atoi(port); err != nil || n > 65535 {
		return "", "", false
	}
	return h[:i], port, true
}

// IsHostName reports whether s is an ASCII host name of letters (either case),
// digits and hyphens, as isDNSName defines it.
func IsHostName(s string) bool {
	return isASCII(s) && isDNSName(strings.ToLower(s))
}

// isDNSName reports whether s (lower case) is a host name of letters, digits and
// hyphens: labels of 1 to 63 characters, neither starting nor ending with '-', at
// most 253 characters, no trailing dot.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") != "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	return true
}

// isASCII reports whether s holds only printable ASCII other than space.
func isASCII(s string) bool {
	return IsPrintableASCII(s) && !strings.Contains(s, " ")
}

// IsPrintableASCII reports whether s holds only printable ASCII (space to '~').
func IsPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
