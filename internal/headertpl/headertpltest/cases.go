// Package headertpltest holds headers.templates cases as data and plays them, so that
// the compiled tests of headertpl and the Yaegi tests run the same rows and compare
// their lines. It is imported by tests only.
package headertpltest

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/gatehouse-oidc/gatehouse/internal/headertpl"
)

// ClaimsJSON are the claims every case renders over, decoded as sessions decode them
// (numbers as json.Number).
const ClaimsJSON = `{
	"sub": "usr_carol", "tenant": "acme", "email": "Carol@Example.com", "email_verified": true,
	"realm_access": {"roles": ["admin", "user", "a,b", ""]},
	"https://example.com/roles": ["editor", "viewer"],
	"a.b": "exact", "a": {"b": "nested", "c": "deep"},
	"level": 3, "ratio": 0.5, "beta": false, "nothing": null, "object": {"a": 1},
	"groups": ["Engineering", "Admins"], "mixed": ["x", 1, true, {"o": 1}, ["n"]]
}`

// Case is one template and the header value it must render ("" : no header).
type Case struct {
	Name     string
	Template string
	Want     string
}

// Cases render over ClaimsJSON with user carol@example.com, groups g1 and g2.
var Cases = []Case{
	{"claim", "${claims.tenant}", "acme"},
	{"claim-in-text", "tenant=${claims.tenant};sub=${claims.sub}", "tenant=acme;sub=usr_carol"},
	{"go-template", "{{ .claims.tenant }}", "acme"},
	{"go-template-identity", "{{ .user }} {{ .source }}", "carol@example.com session"},
	{"nested-path", "${claims.realm_access.roles}", "admin,user"},
	{"join-default", "${claims.realm_access.roles|join}", "admin,user"},
	{"join-separator", "${claims.realm_access.roles|join:;}", "admin;user;a,b"},
	{"join-space-separator", "${claims.groups|join: }", "Engineering Admins"},
	{"first", "${claims.realm_access.roles|first}", "admin"},
	{"lower", "${claims.email|lower}", "carol@example.com"},
	{"lower-then-join", "${claims.groups|lower|join:+}", "engineering+admins"},
	{"exact-name-with-dots", "${claims.https://example.com/roles|join}", "editor,viewer"},
	{"exact-name-first", "${claims.a.b}", "exact"},
	{"dotted-when-no-exact-name", "${claims.a.c}", "deep"},
	{"number", "${claims.level}", "3"},
	{"fraction", "${claims.ratio}", "0.5"},
	{"boolean", "${claims.beta}", "false"},
	{"null", "${claims.nothing}", ""},
	{"object", "${claims.object}", ""},
	{"missing", "${claims.absent}", ""},
	{"missing-path", "${claims.realm_access.absent.x}", ""},
	{"mixed-array", "${claims.mixed}", "x,1,true"},
	{"identity", "${user}|${email}|${subject}|${source}", "carol@example.com|carol@example.com|usr_carol|session"},
	{"identity-lists", "${groups} ${roles|join:/}", "g1,g2 r1/r2"},
	{"literal-dollar", "cost $5 ${claims.tenant}$", "cost $5 acme$"},
	{"escaped", "$${claims.tenant} is ${claims.tenant}", "${claims.tenant} is acme"},
	{"plain", "static", "static"},
	{"empty", "", ""},
}

// BadTemplates are refused by Parse.
var BadTemplates = []string{
	"${claims.tenant", "${}", "${claims.}", "${tenant}", "${claims.tenant|upper}", "${claims.tenant|join:}",
	"${claims.tenant|join:123456789}", "${ claims.tenant}", "${claims.tenant |join}", "${claims.ten ant}",
	"${user|first|}", "{{ .claims.tenant", "${claims.a$b}", "${claims.tenant|join:\t}",
}

// Run renders every case and tries every bad template; it returns one line per row,
// "name: value" or "bad N: refused/ACCEPTED", for comparison between runtimes.
func Run() []string {
	dec := json.NewDecoder(bytes.NewReader([]byte(ClaimsJSON)))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return []string{"claims: " + err.Error()}
	}
	data := &headertpl.Data{
		Claims: claims, User: "carol@example.com", Email: "carol@example.com", Subject: "usr_carol", Source: "session",
		Groups: []string{"g1", "g2"}, Roles: []string{"r1", "r2"},
	}
	var out []string
	for _, c := range Cases {
		t, err := headertpl.Parse("X-Test", c.Template)
		if err != nil {
			out = append(out, c.Name+": error "+err.Error())
			continue
		}
		out = append(out, c.Name+": "+strconv.Quote(headertpl.Render(t, data)))
	}
	for i, b := range BadTemplates {
		verdict := "refused"
		if _, err := headertpl.Parse("X-Test", b); err == nil {
			verdict = "ACCEPTED"
		}
		out = append(out, "bad "+strconv.Itoa(i)+": "+verdict)
	}
	return out
}

// Want returns the lines Run must return.
func Want() []string {
	var out []string
	for _, c := range Cases {
		out = append(out, c.Name+": "+strconv.Quote(c.Want))
	}
	for i := range BadTemplates {
		out = append(out, "bad "+strconv.Itoa(i)+": refused")
	}
	return out
}

// BenchRender parses text once and renders it n times over ClaimsJSON (for benchmarks
// compiled and under Yaegi); it returns the last value.
func BenchRender(text string, n int) string {
	dec := json.NewDecoder(bytes.NewReader([]byte(ClaimsJSON)))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return err.Error()
	}
	t, err := headertpl.Parse("X-Bench", text)
	if err != nil {
		return err.Error()
	}
	data := &headertpl.Data{Claims: claims, User: "carol@example.com", Source: "session"}
	v := ""
	for i := 0; i < n; i++ {
		v = headertpl.Render(t, data)
	}
	return v
}
