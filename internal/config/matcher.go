package config

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
)

// Matcher finds the first rule (in order) whose path, methods, hosts and headers
// match a request, and checks that the request's path is canonical, in one call
// into Go's compiled regexp engine: under Yaegi a loop over the rules would cost an
// interpreted iteration and a call per rule on every request. The request is written
// as a subject string
//
//	[method " " host " " header-flags "\n"] path "\n" tail
//
// (the first line only when some rule has methods, hosts or headers; one flag per
// header name some rule tests, "1" when present), and Regexp is
//
//	\A (?: rule0 "\n" . | rule1 "\n" .. | … | canonical-path "\n")
//
// Rule k's alternative matches what rule k matches, on canonical paths only, and
// consumes k+1 characters of the tail, so the match ends k+1 characters into it;
// the last alternative, no rule, consumes none. A path that matches no alternative
// is not canonical: the caller treats it as ambiguous (and checks an encoded slash,
// which the decoded path does not show, itself). Canonical means
// reqsafe.CanonicalPathPattern: a prefix rule's prefix is canonical, and the rest of
// the path must be canonical segments; an exact path is canonical; a pathRegexp
// cannot be combined so, and the rules that have one are listed in Recheck: when one
// of them matches, the caller checks the path (a regular expression could match a
// path that is not canonical). Go's regexp prefers the first alternative that
// matches (leftmost-first, as a backtracking engine would): first-match-wins. A
// canonical path holds no line feed, and the tail holds none, so a rule's path
// pattern matches exactly the path line.
type Matcher struct {
	Regexp *regexp.Regexp
	// Tail is "\n" followed by one character per rule; TailLen its length.
	Tail    string
	TailLen int
	// FirstLine: the subject has the method, host and header-flags line.
	FirstLine bool
	// Headers are the canonical header names whose presence the flags report.
	Headers []string
	// Recheck[i] (by index in the middleware's rules: rule k at k+1): rule k has a
	// pathRegexp, so the path's canonicality is checked when it matches.
	Recheck []bool
}

// newMatcher builds the matcher of rules (the configured rules, in order).
func newMatcher(rules []*Rule) *Matcher {
	m := &Matcher{Tail: "\n" + strings.Repeat("x", len(rules)), Recheck: make([]bool, len(rules)+2)}
	m.TailLen = len(m.Tail)
	for i, r := range rules {
		if r.Methods != "" || r.Hosts != nil || r.HostSuffixes != nil || r.Headers != nil {
			m.FirstLine = true
		}
		for _, h := range r.Headers {
			if indexOf(m.Headers, h) < 0 {
				m.Headers = append(m.Headers, h)
			}
		}
		m.Recheck[i+1] = r.PathKind == PathRegexp
	}
	alts := make([]string, 0, len(rules)+1)
	for i, r := range rules {
		var b strings.Builder
		if m.FirstLine {
			b.WriteString(methodPattern(r) + " " + hostPattern(r) + " ")
			for _, h := range m.Headers {
				if indexOf(r.Headers, h) >= 0 {
					b.WriteString("1")
				} else {
					b.WriteString(".")
				}
			}
			b.WriteString(`\n`)
		}
		b.WriteString(pathPattern(r))
		b.WriteString(`\n.{` + strconv.Itoa(i+1) + `}`)
		alts = append(alts, b.String())
	}
	none := ""
	if m.FirstLine {
		none = `[^\n]*\n`
	}
	alts = append(alts, none+"(?:"+reqsafe.CanonicalPathPattern()+`)\n`)
	m.Regexp = regexp.MustCompile(`\A(?:` + strings.Join(alts, "|") + `)`)
	return m
}

func methodPattern(r *Rule) string {
	if r.Methods == "" {
		return `[^ \n]*`
	}
	var ms []string
	for _, m := range strings.Fields(r.Methods) {
		ms = append(ms, regexp.QuoteMeta(m))
	}
	return "(?:" + strings.Join(ms, "|") + ")"
}

// hostPattern matches r's hosts as the middleware's hostMatches does: ASCII case
// ignored (and only ASCII case: RE2's (?i) would also take the Kelvin sign for k),
// an optional trailing dot and port.
func hostPattern(r *Rule) string {
	if r.Hosts == nil && r.HostSuffixes == nil {
		return `[^ \n]*`
	}
	var hs []string
	for _, h := range r.Hosts {
		hs = append(hs, asciiFold(regexp.QuoteMeta(h)))
	}
	for _, s := range r.HostSuffixes {
		hs = append(hs, `[^ \n:]+`+asciiFold(regexp.QuoteMeta(s)))
	}
	return `(?:` + strings.Join(hs, "|") + `)\.?(?::[0-9]*)?`
}

// asciiFold turns every ASCII letter of a quoted pattern into a class of both cases.
func asciiFold(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' {
			b.WriteString("[" + string(c) + string(c-'a'+'A') + "]")
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pathPattern matches the canonical paths r's path condition matches.
func pathPattern(r *Rule) string {
	switch r.PathKind {
	case PathPrefix:
		// Below the prefix: canonical segments (the pattern of a canonical path
		// without its leading "/"), or for a prefix without a final "/", nothing or
		// "/" and such segments.
		rest := "(?:" + strings.TrimPrefix(reqsafe.CanonicalPathPattern(), "/") + ")"
		if strings.HasSuffix(r.PathPrefix, "/") {
			return regexp.QuoteMeta(r.PathPrefix) + rest
		}
		return regexp.QuoteMeta(r.PathPrefix) + "(?:/" + rest + ")?"
	case PathExact:
		return regexp.QuoteMeta(r.PathExact)
	case PathRegexp:
		// (?m): ^ and $ in the operator's pattern mean the path's start and end.
		return "(?m:" + r.PathSource + ")"
	}
	return "(?:" + reqsafe.CanonicalPathPattern() + ")"
}
