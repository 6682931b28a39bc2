// Package headertpl owns headers.templates: the ${…} syntax that survives Traefik's
// file provider, the Go text/template form kept for those who escape it, and the
// rendering of either over a principal's claims. It also owns the one rule by which
// Gatehouse finds a claim by name (ClaimValue).
//
// Traefik's file provider executes the whole dynamic-configuration file as a Go
// text/template before decoding it, so "{{ .claims.tenant }}" in a file-provider YAML
// is executed by Traefik (and fails: there is no data) instead of reaching Gatehouse.
// "${claims.tenant}" means nothing to Go templates, Traefik's labels or Kubernetes.
//
// The syntax, compiled once by Parse:
//
//	text      = { literal | "$${" | "${" source { "|" filter } "}" }
//	source    = "claims." name | "user" | "email" | "subject" | "groups" | "roles" | "source"
//	filter    = "join" [ ":" separator ] | "first" | "lower"
//
// A "$" not followed by "{" is literal; "$${" is a literal "${". A name is the claim's
// exact name first ("https://example.com/roles", "tenant"), else a dotted path into
// nested objects ("realm_access.roles"). No spaces inside ${…}, except in a separator.
// Values: a string as it is, a number in decimal, a boolean as true or false, an
// array as its scalar elements joined with "," (or join's separator; an element that
// contains the separator, or is empty, is left out so the value never reads as other
// elements), an object or null as nothing. first takes an array's first scalar
// element; lower lower-cases. A value containing "{{" is a Go text/template over
// .claims, .user, .email, .subject, .groups, .roles and .source, as before.
//
// Render is a plain function over a compiled list of parts: under Yaegi that is
// cheaper than text/template's reflection (docs/YAEGI-NOTES.md has the figures).
package headertpl

import (
	"encoding/json"
	"strconv"
	"strings"
	"text/template"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
)

// Sources a part reads.
const (
	srcLiteral = iota
	srcClaim
	srcUser
	srcEmail
	srcSubject
	srcGroups
	srcRoles
	srcSource
)

// Filters.
const (
	filterJoin = iota
	filterFirst
	filterLower
)

// Template is one compiled headers.templates value.
type Template struct {
	parts []part
	// goTmpl is set for a Go template (a value containing "{{"), parts otherwise.
	goTmpl *template.Template
	// claim is set when the template is one claim without filters ("${claims.x}"),
	// the common case, rendered without a call when the claim is a string.
	claim string
}

type part struct {
	src     int
	literal string // srcLiteral: the text; srcClaim: the claim name
	filters []filter
}

type filter struct {
	kind int
	sep  string
}

// Data is what a template reads: the claims as the provider sent them and the
// identity the headers above carry.
type Data struct {
	Claims  map[string]any
	User    string
	Email   string
	Subject string
	Source  string
	Groups  []string
	Roles   []string
}

// Parse compiles text: a Go template when it contains "{{", the ${…} syntax
// otherwise. The error says what is wrong and where, for the option's message.
func Parse(name, text string) (*Template, error) {
	if strings.Contains(text, "{{") {
		t, err := template.New(name).Option("missingkey=zero").Parse(text)
		if err != nil {
			return nil, err
		}
		return &Template{goTmpl: t}, nil
	}
	t := &Template{}
	rest := text
	lit := ""
	for rest != "" {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			lit += rest
			break
		}
		lit += rest[:i]
		rest = rest[i:]
		if strings.HasPrefix(rest, "$${") {
			lit += "${"
			rest = rest[3:]
			continue
		}
		if !strings.HasPrefix(rest, "${") {
			lit += "$"
			rest = rest[1:]
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return nil, errorString("unclosed ${ at " + strconv.Quote(rest))
		}
		p, err := parseExpr(rest[2:end])
		if err != nil {
			return nil, err
		}
		if lit != "" {
			t.parts = append(t.parts, part{src: srcLiteral, literal: lit})
			lit = ""
		}
		t.parts = append(t.parts, p)
		rest = rest[end+1:]
	}
	if lit != "" {
		t.parts = append(t.parts, part{src: srcLiteral, literal: lit})
	}
	if len(t.parts) == 1 && t.parts[0].src == srcClaim && len(t.parts[0].filters) == 0 {
		t.claim = t.parts[0].literal
	}
	return t, nil
}

// sources maps the names of the identity sources to their codes.
var sources = map[string]int{"user": srcUser, "email": srcEmail, "subject": srcSubject, "groups": srcGroups, "roles": srcRoles, "source": srcSource}

// parseExpr compiles what lies between "${" and "}".
func parseExpr(expr string) (part, error) {
	fields := strings.Split(expr, "|")
	head := fields[0]
	var p part
	if strings.HasPrefix(head, "claims.") && len(head) > len("claims.") {
		p.src = srcClaim
		p.literal = head[len("claims."):]
	} else if src, ok := sources[head]; ok {
		p.src = src
	} else {
		return p, errorString("${" + expr + "}: expected claims.NAME, user, email, subject, groups, roles or source, got " + strconv.Quote(head))
	}
	if strings.ContainsAny(head, " \t\r\n\x00{$") {
		return p, errorString("${" + expr + "}: no spaces or braces in a name")
	}
	for _, f := range fields[1:] {
		switch {
		case f == "join":
			p.filters = append(p.filters, filter{kind: filterJoin, sep: ","})
		case strings.HasPrefix(f, "join:"):
			sep := f[len("join:"):]
			if sep == "" || len(sep) > 8 || strings.ContainsAny(sep, "{$") || !reqsafe.IsPrintableASCII(sep) {
				return p, errorString("${" + expr + "}: join's separator must be 1 to 8 printable characters other than { and $, got " + strconv.Quote(sep))
			}
			p.filters = append(p.filters, filter{kind: filterJoin, sep: sep})
		case f == "first":
			p.filters = append(p.filters, filter{kind: filterFirst})
		case f == "lower":
			p.filters = append(p.filters, filter{kind: filterLower})
		default:
			return p, errorString("${" + expr + "}: unknown filter " + strconv.Quote(f) + "; expected join, join:SEPARATOR, first or lower")
		}
	}
	return p, nil
}

// Render returns t's value for d; "" when it is empty or a Go template fails. The
// caller checks the result is safe for a header. (Short functions with few locals:
// under Yaegi every local of a function is allocated on each call.)
func Render(t *Template, d *Data) string {
	if s, ok := d.Claims[t.claim].(string); ok && t.claim != "" {
		return s
	}
	if t.goTmpl != nil {
		return renderGo(t.goTmpl, d)
	}
	if len(t.parts) == 1 {
		return renderPart(&t.parts[0], d)
	}
	return renderParts(t.parts, d)
}

// renderParts concatenates the parts' texts.
func renderParts(parts []part, d *Data) string {
	var b strings.Builder
	for i := range parts {
		b.WriteString(renderPart(&parts[i], d))
	}
	return b.String()
}

// renderPart returns one part's text.
func renderPart(p *part, d *Data) string {
	if p.src == srcLiteral {
		return p.literal
	}
	v := partValue(p, d)
	if len(p.filters) == 0 {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return filtered(v, p.filters)
}

// partValue returns the value a part reads.
func partValue(p *part, d *Data) any {
	switch p.src {
	case srcClaim:
		v, _ := ClaimValue(d.Claims, p.literal)
		return v
	case srcUser:
		return d.User
	case srcEmail:
		return d.Email
	case srcSubject:
		return d.Subject
	case srcSource:
		return d.Source
	case srcGroups:
		return d.Groups
	}
	return d.Roles
}

// filtered applies filters left to right; a list not joined by one is joined with
// "," at the end (so a value without filters is a scalar's text or a joined list).
func filtered(v any, filters []filter) string {
	for _, f := range filters {
		switch f.kind {
		case filterJoin:
			v = joined(v, f.sep)
		case filterFirst:
			v = first(v)
		case filterLower:
			v = lowered(v)
		}
	}
	return joined(v, ",")
}

// joined returns a scalar's text, or an array's scalar elements joined with sep
// (elements that are empty or contain sep left out).
func joined(v any, sep string) string {
	var list []string
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if s, ok := ScalarText(e); ok {
				list = append(list, s)
			}
		}
	case []string:
		list = v
	default:
		s, _ := ScalarText(v)
		return s
	}
	var b strings.Builder
	for _, s := range list {
		if s == "" || strings.Contains(s, sep) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	return b.String()
}

// first returns an array's first scalar element, or v itself.
func first(v any) any {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if s, ok := ScalarText(e); ok {
				return s
			}
		}
		return ""
	case []string:
		if len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return v
}

// lowered lower-cases a scalar, or every element of an array.
func lowered(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := ScalarText(e); ok {
				out = append(out, strings.ToLower(s))
			}
		}
		return out
	case []string:
		out := make([]string, 0, len(v))
		for _, s := range v {
			out = append(out, strings.ToLower(s))
		}
		return out
	}
	s, _ := ScalarText(v)
	return strings.ToLower(s)
}

// ScalarText is the text of a single claim value: a string, a number (as sent), a
// boolean; false for objects, lists and null. (The policy's claim conditions compare
// the same text the header templates write.)
func ScalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// renderGo executes a Go template over the same data, as a map (html and text
// templates cannot call methods of interpreted types under Yaegi).
func renderGo(t *template.Template, d *Data) string {
	data := map[string]any{
		"claims": d.Claims, "user": d.User, "email": d.Email, "subject": d.Subject,
		"groups": d.Groups, "roles": d.Roles, "source": d.Source,
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return ""
	}
	return b.String()
}

// ClaimValue finds name in claims: the whole name first (URL-like claim names such
// as "https://example.com/roles" contain dots), then as a dotted path into nested
// objects ("realm_access.roles"). Every claim Gatehouse reads by a configured name
// is found this way.
func ClaimValue(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	if !strings.Contains(name, ".") {
		return nil, false
	}
	return claimPath(claims, name)
}

// claimPath follows a dotted path into nested objects (a function of its own, so
// that finding a claim by its exact name pays nothing for the walk's locals).
func claimPath(claims map[string]any, name string) (any, bool) {
	var cur any = claims
	for _, seg := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

type errorString string

func (e errorString) Error() string { return string(e) }
