package reqsafe

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// pathChars are the bytes a canonical path is made of: printable ASCII except
//
//   - '\' — a separator to IIS, Windows file servers and WHATWG URL parsers (Node);
//   - ';' — servlet containers (Tomcat, Jetty, Spring) cut every segment at it, so
//     "/public/..;/admin" is "/admin" to them;
//   - '%' — one left after decoding was double-encoded: a backend that decodes again
//     (or reads IIS's %u form) sees other bytes;
//   - '?', '#' — a backend that decodes and parses again cuts the path there;
//   - '"', '*', '<', '>', '|' — wildcards and reserved characters of Windows names.
//
// Control characters, DEL and every byte of a non-ASCII character are absent too: NUL
// ends a path in C-based servers, and backends that map Unicode to ASCII (Windows
// "best fit" code pages, NFKC normalisation) read look-alikes such as U+FF0E and
// U+2215 as '.' and '/'.
const pathChars = " !$&'()+,-./0123456789:=@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{}~"

// CanonicalPath returns the path of u and true when every common backend reads it as
// the same sequence of segments that Gatehouse sees, so that it may be matched against
// path rules; else "" and false. A canonical path
//
//   - starts with "/" (the empty path of an absolute-form request line "GET
//     http://host HTTP/1.1", and "*", are not canonical);
//   - holds only pathChars after percent-decoding (no ';', '\', '%', NUL, non-ASCII…);
//   - has no empty segment ("//": nginx's merge_slashes, Windows), no segment that
//     starts with a space, starts with "..", or is made of dots and spaces only ("."
//     and ".." to everyone; "...", ". ", ".. " to Windows, which drops trailing dots
//     and spaces from names; "..::$INDEX_ALLOCATION" to NTFS);
//   - had no encoded slash in the request line ("/public%2Fx" is one segment to a
//     backend that keeps %2F encoded, two to Gatehouse).
//
// Contract for path rules (excludedURLs; any rule matched on paths): a rule that lets
// a request through with less checking must not match a path that is not canonical;
// a rule that refuses requests must treat a path that is not canonical as matching
// (or refuse the request), never as missing the rule. Matching is on the decoded path
// and case-sensitive: on a case-insensitive backend "/PUBLIC/x" is "/public/x", but it
// never matches the exclusion "/public/", which only errs towards authenticating.
func CanonicalPath(u *url.URL) (string, bool) {
	p := u.Path
	if p == "" || p[0] != '/' || strings.Trim(p, pathChars) != "" {
		return "", false
	}
	if strings.Contains(p, "//") || strings.Contains(p, "/ ") {
		return "", false
	}
	if strings.Contains(p, "/.") && hasDotSegment(p) {
		return "", false
	}
	if u.RawPath != "" && (strings.Contains(u.RawPath, "%2f") || strings.Contains(u.RawPath, "%2F")) {
		return "", false
	}
	return p, true
}

// hasDotSegment reports whether p has a segment some backend reads as "." or "..":
// one that starts with "..", or is made of dots and spaces only.
func hasDotSegment(p string) bool {
	if strings.Contains(p, "/..") {
		return true
	}
	rest := p
	for {
		i := strings.Index(rest, "/.")
		if i < 0 {
			return false
		}
		seg := rest[i+1:]
		if j := strings.IndexByte(seg, '/'); j >= 0 {
			seg = seg[:j]
		}
		if strings.TrimRight(seg, ". ") == "" {
			return true
		}
		rest = rest[i+2:]
	}
}

// HasPathPrefix reports whether p is prefix or lies below it on a segment boundary:
// "/public" covers "/public" and "/public/x" but not "/publicity"; "/public/" covers
// only what lies below it. It compares bytes: p must be canonical (CanonicalPath).
func HasPathPrefix(p, prefix string) bool {
	return strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || prefix[len(prefix)-1] == '/' || p[len(prefix)] == '/')
}

// MatchesPrefix reports whether u's path is canonical and lies under one of prefixes
// (HasPathPrefix). It is the check for rules that let a request through: a path that
// is not canonical matches none of them. The prefix test comes first, so a request
// under no prefix costs one strings.HasPrefix per prefix.
func MatchesPrefix(u *url.URL, prefixes []string) bool {
	p := u.Path
	for _, prefix := range prefixes {
		// HasPathPrefix, written out: under Yaegi a call per prefix would cost more
		// than the comparison on every request.
		if strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || prefix[len(prefix)-1] == '/' || p[len(prefix)] == '/') {
			_, ok := CanonicalPath(u)
			return ok
		}
	}
	return false
}

// PrefixPattern is MatchesPrefix as one anchored RE2 expression over the decoded
// path of a URL without RawPath, for prefixes that are each a ValidPrefix: it
// matches exactly the canonical paths under one of them
// (TestPrefixPatternAgreesWithMatchesPrefix), so that a caller checks both in one
// call into the compiled regexp engine. A URL with a RawPath (an encoded slash, or
// any other escaping Go would not choose) still goes to MatchesPrefix. Below a
// prefix come canonical segments; after a prefix without a final "/", nothing or
// "/" and such segments.
func PrefixPattern(prefixes []string) string {
	if len(prefixes) == 0 {
		return `[^\x00-\x{10FFFF}]` // matches nothing, as MatchesPrefix
	}
	rest := "(?:" + strings.TrimPrefix(CanonicalPathPattern(), "/") + ")"
	alts := make([]string, 0, len(prefixes))
	for _, p := range prefixes {
		if strings.HasSuffix(p, "/") {
			alts = append(alts, regexp.QuoteMeta(p)+rest)
			continue
		}
		alts = append(alts, regexp.QuoteMeta(p)+"(?:/"+rest+")?")
	}
	return `\A(?:` + strings.Join(alts, "|") + `)\z`
}

// ValidPrefix reports whether prefix may be a path rule's prefix: a canonical path,
// as CanonicalPath defines it, given in decoded form.
func ValidPrefix(prefix string) bool {
	_, ok := CanonicalPath(&url.URL{Path: prefix})
	return ok
}

// unsafeInLocalPath are the bytes a local path never holds: whitespace and control
// characters (browsers drop tabs and newlines, so "/\t/evil" is "//evil"), DEL, and
// '\' (browsers read "/\evil" as "//evil").
const unsafeInLocalPath = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f \x7f\\"

// IsLocalPath reports whether p, a path with an optional query as it would appear in
// a Location header, is a path on this site that no browser reads as another origin:
// one leading "/", valid UTF-8, no whitespace, control character or backslash, and
// no encoded slash, backslash or whitespace right after the leading "/" ("/%2F%2Fevil"
// is harmless to browsers, but a backend that decodes before redirecting is fooled).
func IsLocalPath(p string) bool {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, unsafeInLocalPath) || !utf8.ValidString(p) {
		return false
	}
	if len(p) >= 4 && p[1] == '%' {
		switch strings.ToLower(p[1:4]) {
		case "%2f", "%5c", "%09", "%0a", "%0d", "%20":
			return false
		}
	}
	return true
}

// CanonicalPathPattern is CanonicalPath as an RE2 expression over a decoded path,
// for a request whose URL has no RawPath (no encoded slash then): it matches exactly
// the paths CanonicalPath accepts (TestCanonicalPathPatternAgreesWithCanonicalPath).
// It lets a caller check canonicality and more in one call into the compiled regexp
// engine. A path is "/", or segments each behind a "/" with an optional trailing
// "/"; a segment is made of pathChars but "/", and starts with a character that is
// neither "." nor " ", or with "." and then such a character, or with "." and
// spaces followed, after more dots and spaces, by such a character.
func CanonicalPathPattern() string {
	seg := pathClass("/")
	first := pathClass("/. ")
	dotOrSpace := `[ .]`
	segment := `(?:` + first + seg + `*|\.` + first + seg + `*|\. ` + dotOrSpace + `*` + first + seg + `*)`
	return `/(?:` + segment + `(?:/` + segment + `)*/?)?`
}

// pathClass is an RE2 class of pathChars without the bytes of except.
func pathClass(except string) string {
	b := []byte("[")
	for i := 0; i < len(pathChars); i++ {
		c := pathChars[i]
		if strings.IndexByte(except, c) >= 0 {
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ') {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(append(b, ']'))
}
