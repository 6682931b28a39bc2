package pages

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func TestAccentColoursKeepAAContrastWithWhite(t *testing.T) {
	for in, want := range map[string]string{
		"#1d4ed8": "#1d4ed8", "#1D4ED8": "#1d4ed8", " #000 ": "#000000", "#767676": "#767676", "#b00": "#bb0000",
	} {
		if got, problem := CheckAccent(in); got != want || problem != "" {
			t.Errorf("CheckAccent(%q) = %q, %q; want %q", in, got, problem, want)
		}
	}
	for _, light := range []string{"#fff", "#777777", "#ffcc00", "#4a90e2", "#9ca3af"} {
		_, problem := CheckAccent(light)
		m := regexp.MustCompile(`such as (#[0-9a-f]{6})$`).FindStringSubmatch(problem)
		if m == nil || !strings.Contains(problem, "4.5:1") {
			t.Errorf("CheckAccent(%q): %q", light, problem)
			continue
		}
		if _, p := CheckAccent(m[1]); p != "" {
			t.Errorf("the suggestion %s for %s fails itself: %s", m[1], light, p)
		}
	}
	for _, bad := range []string{"", "red", "#12345", "#gggggg", "1d4ed8", "#1d4ed8;}", "rgb(0,0,0)", "#1d4ed8 !important"} {
		if got, problem := CheckAccent(bad); problem == "" {
			t.Errorf("CheckAccent(%q) accepted as %q", bad, got)
		}
	}
}

func TestLogoMustBeHTTPSOrADataImage(t *testing.T) {
	for _, ok := range []string{
		"https://cdn.example.com/logo.svg", "https://cdn.example.com:8443/l.png?v=2",
		"data:image/png;base64,iVBORw0KGgo=", "data:image/svg+xml;base64,PHN2Zy8+",
	} {
		if p := CheckLogo(ok); p != "" {
			t.Errorf("CheckLogo(%q): %s", ok, p)
		}
	}
	for _, bad := range []string{
		"http://cdn.example.com/logo.png", "javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4=",
		"data:image/png,rawbytes", "data:image/png;base64,***", "https://user:pw@cdn.example.com/l.png",
		"https://cdn.example.com/l.png#x", `https://cdn.example.com/l.png"onerror="x`, "//cdn.example.com/l.png", "/logo.png",
		"data:image/png;base64," + strings.Repeat("A", maxLogoBytes),
	} {
		if CheckLogo(bad) == "" {
			t.Errorf("CheckLogo(%.60q) accepted", bad)
		}
	}
	if got := imgSrc("https://cdn.example.com:8443/l.png?v=2"); got != "https://cdn.example.com:8443" {
		t.Errorf("img-src %q", got)
	}
}

// hostile fills every text field of a page with markup that would break out of its
// context if it were not escaped.
func hostile() *Page {
	x := `</p><script>alert(1)</script>"'><img src=x onerror=alert(1)>`
	return &Page{
		Kind: KindDenied, Status: 403, Heading: x, User: x, Paragraphs: []string{x}, Lines: []string{x},
		LinkHref: "javascript:alert(1)", LinkText: x, FormAction: `javascript:alert(1)`, FormField: x, FormToken: x, FormButton: x,
		Refresh: `/"><script>alert(1)</script>`,
	}
}

func TestPagesEscapeEverythingTheyShow(t *testing.T) {
	s, err := New(Style{Title: `Acme <SSO> "&"`, Accent: DefaultAccent}, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(s, hostile())
	if err != nil {
		t.Fatal(err)
	}
	html := string(out)
	for _, bad := range []string{"<script", "<img src=x", `"'>`, "javascript:", "<SSO>"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page contains %q:\n%s", bad, html)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "Acme &lt;SSO&gt;", `href="#ZgotmplZ"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q:\n%s", want, html)
		}
	}
}

func TestBuiltInPageIsAccessibleAndSelfContained(t *testing.T) {
	s, err := New(Style{Title: "Acme", LogoURL: "data:image/svg+xml;base64,PHN2Zy8+", Accent: "#0b5394"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range samplePages() {
		out, err := Render(s, p)
		if err != nil {
			t.Fatal(err)
		}
		html := string(out)
		for _, want := range []string{
			`<html lang="en">`, `<meta name="viewport" content="width=device-width, initial-scale=1">`,
			`<main class="card" aria-labelledby="heading">`, `<h1 id="heading">Heading</h1>`, `<header class="brand">`,
			`<img src="data:image/svg&#43;xml;base64,PHN2Zy8&#43;" alt=""`, "--accent:#0b5394", ":focus-visible{outline:3px solid",
			"<title>Heading · Acme</title>",
		} {
			if !strings.Contains(html, want) {
				t.Errorf("%s page lacks %q", p.Kind, want)
			}
		}
		// No request leaves the page: no external stylesheet, script, font or frame.
		for _, bad := range []string{"<link", "<script", "@import", "url(", "<iframe", "http://", "https://"} {
			if strings.Contains(html, bad) {
				t.Errorf("%s page contains %q", p.Kind, bad)
			}
		}
	}
}

func TestBrokenTemplateFailsNew(t *testing.T) {
	for name, text := range map[string]string{
		"syntax":          `<p>{{.Heading</p>`,
		"misspelled":      `<p>{{.Usr}}</p>`,
		"unknown field":   `<p>{{.Lines.Count}}</p>`,
		"unclosed script": `<script>var x = "{{.User}}`,
		"too large":       strings.Repeat("x", maxTemplateFile+1),
	} {
		if _, err := New(Style{Accent: DefaultAccent}, text); err == nil {
			t.Errorf("%s: template accepted", name)
		}
	}
}

func TestTemplateFailingOnOnePageFallsBackToTheBuiltInOne(t *testing.T) {
	// Every sample page has a user and a line; a real page may have a user and none.
	s, err := New(Style{Accent: DefaultAccent}, `{{if .User}}{{index .Lines 0}}{{end}}<p>{{.Heading}}</p>`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(s, &Page{Kind: KindSignOut, Heading: "Sign out?", User: "alice"})
	if err == nil || !strings.Contains(string(out), `<h1 id="heading">Sign out?</h1>`) {
		t.Fatalf("err %v, page:\n%s", err, out)
	}
}

// TestConfigurationDocListsEveryTemplateField keeps the field list of
// docs/CONFIGURATION.md in step with what templates receive.
func TestConfigurationDocListsEveryTemplateField(t *testing.T) {
	b, err := os.ReadFile("../../docs/CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range data(&Set{}, &Page{}) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !strings.Contains(string(b), "`."+k+"`") {
			t.Errorf("docs/CONFIGURATION.md does not document the template field .%s", k)
		}
	}
}
