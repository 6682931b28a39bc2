package yaegihost

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// The pages Gatehouse answers itself (internal/pages), compiled and under Yaegi:
// the built-in style with branding, the strict profile's CSP for the logo, the
// operator's html/template replacing every page with the same escaping, and start-up
// refusing a broken template or an accent colour below WCAG AA contrast.

// svgLogo is a small data: logo.
const svgLogo = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA0MCA0MCI+PHJlY3Qgd2lkdGg9IjQwIiBoZWlnaHQ9IjQwIiByeD0iOCIgZmlsbD0iIzBiNTM5NCIvPjwvc3ZnPg=="

// deniedBobConfig signs bob in at a route that only admins may pass.
func deniedBobConfig(op *testop.Provider) map[string]any {
	cfg := rpConfig(op)
	group(cfg, "authorization")["allowedGroups"] = "admins"
	return cfg
}

func TestPagesAreStyledAndBrandedUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "bob"})
		cfg := deniedBobConfig(op)
		cfg["pages"] = map[string]any{"title": "Acme <SSO>", "accentColor": "#0B5394", "logoURL": svgLogo}
		cfg["securityHeaders"] = map[string]any{"profile": "strict"}
		srv := startGatehouse(t, md, cfg, "pages@file")
		const csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'"
		common := []string{`<html lang="en">`, `<meta name="viewport"`, "--accent:#0b5394", `<span>Acme &lt;SSO&gt;</span>`,
			`<img src="data:image/svg&#43;xml;base64,`, `<main class="card" aria-labelledby="heading">`}

		b := newBrowser()
		p := b.get(t, srv.URL+"/app")
		mustContain(t, "denied", p, append(common, "<title>Access denied · Acme &lt;SSO&gt;</title>", `<p class="status">Error 403</p>`,
			"You are signed in as <strong>bob@example.com</strong>.")...)
		if p.status != http.StatusForbidden || p.header.Get("Content-Security-Policy") != csp || p.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("denied: %d, CSP %q, Cache-Control %q", p.status, p.header.Get("Content-Security-Policy"), p.header.Get("Cache-Control"))
		}

		p = b.get(t, srv.URL+"/oauth2/logout")
		mustContain(t, "sign-out confirmation", p, append(common, "<title>Sign out? · Acme &lt;SSO&gt;</title>",
			`<form method="post" action="/oauth2/logout"><input type="hidden" name="csrf" value="`, `id="signout"`)...)
		// Its form is answered by a redirect to the provider's end-session endpoint:
		// browsers check form-action on that redirect too.
		formCSP := "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' " + op.URL() + "; frame-ancestors 'none'"
		if p.status != http.StatusOK || p.header.Get("Content-Security-Policy") != formCSP || p.header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("confirmation: %d, CSP %q", p.status, p.header.Get("Content-Security-Policy"))
		}

		p = b.get(t, srv.URL+"/oauth2/callback?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&code=x")
		mustContain(t, "sign-in error", p, append(common, `<h1 id="heading">Sign-in failed</h1>`, "This sign-in link has expired")...)

		p = newBrowser().get(t, srv.URL+"/oauth2/logout")
		mustContain(t, "signed out", p, append(common, `<h1 id="heading">Signed out</h1>`, `<a id="continue" class="button" href="/">Continue</a>`)...)
	})
}

// customPage is an operator's template using most fields; data-kind makes each
// page recognisable.
const customPage = `<!doctype html><html lang="{{.Lang}}"><head><title>{{.Title}}</title><style>{{.Style}}</style></head>
<body data-kind="{{.Kind}}" data-status="{{.Status}}"><h1>{{.Heading}}</h1>{{if .User}}<p class="who">{{.User}}</p>{{end}}
{{range .Paragraphs}}<p>{{.}}</p>{{end}}{{range .Lines}}<li>{{.}}</li>{{end}}
{{if .FormAction}}<form method="post" action="{{.FormAction}}"><input type="hidden" name="{{.FormField}}" value="{{.FormToken}}"><button>{{.FormButton}}</button></form>{{end}}
{{if .LinkHref}}<a href="{{.LinkHref}}">{{.LinkText}}</a>{{end}}<footer>custom {{.Brand}}</footer></body></html>`

func TestPagesTemplateFileReplacesEveryPageUnderYaegi(t *testing.T) {
	file := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(file, []byte(customPage), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "bob"})
		cfg := deniedBobConfig(op)
		cfg["pages"] = map[string]any{"templateFile": file, "title": `<b>Acme</b>`}
		srv := startGatehouse(t, md, cfg, "custom@file")
		b := newBrowser()
		p := b.get(t, srv.URL+"/app")
		mustContain(t, "denied", p, `data-kind="denied" data-status="403"`, `<p class="who">bob@example.com</p>`,
			"<footer>custom &lt;b&gt;Acme&lt;/b&gt;</footer>", "<title>Access denied · &lt;b&gt;Acme&lt;/b&gt;</title>", ".card{")
		p = b.get(t, srv.URL+"/oauth2/logout")
		mustContain(t, "confirmation", p, `data-kind="signout"`, `<button>Sign out</button>`)
		// The operator's form signs out: its token is the session's.
		m := regexp.MustCompile(`name="csrf" value="([A-Za-z0-9_-]+)"`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no token in the custom form:\n%s", p.body)
		}
		resp, _ := b.post(t, srv.URL+"/oauth2/logout", url.Values{"csrf": {m[1]}}, "Sec-Fetch-Site", "cross-site")
		if resp.StatusCode != http.StatusFound || !sessionCleared(resp) {
			t.Fatalf("signing out with the custom form's token: %d", resp.StatusCode)
		}
		p = newBrowser().get(t, srv.URL+"/oauth2/logout")
		mustContain(t, "signed out", p, `data-kind="signed-out"`, `<a href="/">Continue</a>`)
		p = newBrowser().get(t, srv.URL+"/oauth2/callback?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&code=x")
		mustContain(t, "error", p, `data-kind="error" data-status="401"`, "<h1>Sign-in failed</h1>")
	})
}

// TestBrokenPagesOptionsFailNewNamingTheOption: a template that would fail at a
// user's request, and a colour that would fail WCAG AA, stop the start instead.
func TestBrokenPagesOptionsFailNewNamingTheOption(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		pages  map[string]any
		option string
	}{
		{map[string]any{"templateFile": write("syntax.html", "<p>{{.Heading</p>")}, "pages.templateFile"},
		{map[string]any{"templateFile": write("typo.html", "<p>{{.Usr}}</p>")}, "pages.templateFile"},
		{map[string]any{"templateFile": write("script.html", `<script>var u = "{{.User}}`)}, "pages.templateFile"},
		{map[string]any{"templateFile": filepath.Join(dir, "missing.html")}, "pages.templateFile"},
		{map[string]any{"templateFile": "relative/page.html"}, "pages.templateFile"},
		{map[string]any{"accentColor": "#ffcc00"}, "pages.accentColor"},
		{map[string]any{"accentColor": "yellow"}, "pages.accentColor"},
		{map[string]any{"logoURL": "http://cdn.example.com/logo.png"}, "pages.logoURL"},
		{map[string]any{"logoURL": "javascript:alert(1)"}, "pages.logoURL"},
		{map[string]any{"title": "Acme\u202eOSS"}, "pages.title"},
		{map[string]any{"titel": "Acme"}, "pages.titel"},
	}
	forEachRuntime(t, func(t *testing.T, md string) {
		for _, c := range cases {
			cfg := baseConfig()
			cfg["pages"] = c.pages
			if err := buildError(t, md, cfg); !strings.Contains(err, c.option+": ") {
				t.Errorf("%v: %q", c.pages, err)
			}
		}
	})
}
