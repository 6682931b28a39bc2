// Package pages renders the HTML pages Gatehouse answers itself: the sign-out
// confirmation, the signed-out page, access denied, sign-in errors and the page that
// continues a sign-in. One small, accessible, responsive style is inlined in each page
// (no external request, so the strict securityHeaders profile's CSP allows it), brandable
// by pages.title, pages.logoURL and pages.accentColor, and the whole page can be
// replaced by an html/template file (pages.templateFile).
//
// Everything a page shows is plain text in a Page, escaped by html/template whichever
// template renders it; templates receive a map of strings and lists of strings (under
// Yaegi, templates cannot call methods of interpreted types). The package does not
// decide what a page says or which status it has: its callers do.
package pages

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Kinds of page, given to templates as .Kind so that a custom template can word each
// its own way.
const (
	KindSignOut         = "signout"           // confirm signing out (a form)
	KindSignedOut       = "signed-out"        // signed out (a link onwards)
	KindSignOutOthers   = "signout-others"    // confirm signing out the other devices (a form)
	KindOthersSignedOut = "others-signed-out" // the other devices are signed out, this one is not
	KindDenied          = "denied"            // signed in, but not allowed (403)
	KindError           = "error"             // sign-in or sign-out failed, bad request, provider down
	KindSignedIn        = "signed-in"         // signed in; the page continues to the target itself
	KindChooser         = "chooser"           // choose the provider to sign in with (links)
)

// DefaultAccent is pages.accentColor's default: contrast 6.7:1 on white.
const DefaultAccent = "#1d4ed8"

// Limits of the options.
const (
	// MaxTitle is the longest pages.title, in bytes.
	MaxTitle        = 100
	maxLogoBytes    = 32 << 10
	maxTemplateFile = 64 << 10
)

// Page is one page to render. Every field is plain text: the renderer escapes it.
type Page struct {
	Kind    string
	Status  int // the HTTP status; shown as "Error N" from 400 up
	Heading string
	// User is who is signed in, shown as "You are signed in as …" ("" : not shown).
	User       string
	Paragraphs []string
	// Lines explain a denial (which rule, which requirement): a list under "Details".
	Lines []string
	// LinkHref and LinkText are a link onwards (a local path or an http(s) URL
	// Gatehouse validated), shown as a button.
	LinkHref, LinkText string
	// FormAction, FormField, FormToken and FormButton are a POST form with one hidden
	// field (the sign-out confirmation).
	FormAction, FormField, FormToken, FormButton string
	// Refresh is the URL the page navigates to at once (a meta refresh).
	Refresh string
	// Choices are links to choose from (the sign-in chooser), each a map with Href
	// (a local path) and Label.
	Choices []map[string]string
}

// Style is the branding of every page.
type Style struct {
	Title   string // shown above the page and in the window title ("" : none)
	LogoURL string // checked by CheckLogo ("" : none)
	Accent  string // checked by CheckAccent
}

// Set renders the pages of one middleware instance: the built-in template or the
// operator's, with one style.
type Set struct {
	tmpl    *template.Template
	builtin *template.Template
	style   Style
	css     string
	// ImgSrc is the CSP source the logo needs ("https://host", "data:"), "" without
	// a logo.
	ImgSrc string
}

// New compiles the pages of an instance. templateText is the content of
// pages.templateFile ("" : the built-in template). A template that does not parse, or
// fails on any kind of page (a misspelled field is an error: every documented field
// is always present), is refused here rather than at a user's request.
func New(style Style, templateText string) (*Set, error) {
	if style.Accent == "" {
		style.Accent = DefaultAccent
	}
	s := &Set{style: style, css: stylesheet(style.Accent), ImgSrc: imgSrc(style.LogoURL)}
	builtin, err := parse(builtinTemplate)
	if err != nil {
		return nil, err
	}
	s.builtin = builtin
	s.tmpl = builtin
	if templateText != "" {
		if len(templateText) > maxTemplateFile {
			return nil, errorString("is larger than " + strconv.Itoa(maxTemplateFile) + " bytes")
		}
		t, err := parse(templateText)
		if err != nil {
			return nil, err
		}
		s.tmpl = t
	}
	for _, p := range samplePages() {
		if _, err := render(s, s.tmpl, p); err != nil {
			return nil, errorString("fails on a " + p.Kind + " page: " + err.Error())
		}
	}
	return s, nil
}

func parse(text string) (*template.Template, error) {
	return template.New("page").Option("missingkey=error").Parse(text)
}

// Render returns the HTML of p. When the operator's template fails on it (it passed
// every sample page in New, so this needs data-dependent template logic), the
// built-in template renders it and the error is returned beside the page for the log.
func Render(s *Set, p *Page) ([]byte, error) {
	out, err := render(s, s.tmpl, p)
	if err == nil {
		return out, nil
	}
	fallback, ferr := render(s, s.builtin, p)
	if ferr != nil {
		return nil, ferr
	}
	return fallback, err
}

// render executes t over p's data.
func render(s *Set, t *template.Template, p *Page) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data(s, p)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// data is what templates read: strings and lists of strings only.
func data(s *Set, p *Page) map[string]any {
	title := p.Heading
	if s.style.Title != "" {
		title += " · " + s.style.Title
	}
	status := ""
	if p.Status >= 400 {
		status = "Error " + strconv.Itoa(p.Status)
	}
	return map[string]any{
		"Lang": "en", "Kind": p.Kind, "Status": strconv.Itoa(p.Status), "StatusLine": status,
		"Title": title, "Heading": p.Heading, "Brand": s.style.Title,
		"LogoURL": template.URL(s.style.LogoURL), "Accent": s.style.Accent, "Style": template.CSS(s.css),
		"User": p.User, "Paragraphs": orEmpty(p.Paragraphs), "Lines": orEmpty(p.Lines),
		"LinkHref": p.LinkHref, "LinkText": p.LinkText,
		"FormAction": p.FormAction, "FormField": p.FormField, "FormToken": p.FormToken, "FormButton": p.FormButton,
		"Refresh": refresh(p.Refresh), "Choices": orNone(p.Choices),
	}
}

func orNone(v []map[string]string) []map[string]string {
	if v == nil {
		return []map[string]string{}
	}
	return v
}

func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// refresh is a meta refresh's content for url ("" : none).
func refresh(u string) string {
	if u == "" {
		return ""
	}
	return "0;url=" + u
}

// samplePages is one page of every kind with every field set, for New's check.
func samplePages() []*Page {
	var out []*Page
	for _, k := range []string{KindSignOut, KindSignedOut, KindSignOutOthers, KindOthersSignedOut, KindDenied, KindError, KindSignedIn, KindChooser} {
		out = append(out, &Page{
			Kind: k, Status: 403, Heading: "Heading", User: "user@example.com", Paragraphs: []string{"Paragraph."},
			Lines: []string{"Line."}, LinkHref: "/", LinkText: "Continue", FormAction: "/oauth2/logout",
			FormField: "csrf", FormToken: "token", FormButton: "Sign out", Refresh: "/",
			Choices: []map[string]string{{"Href": "/oauth2/choose?provider=corp&rd=%2F", "Label": "Sign in with Corp"}},
		})
	}
	return out
}

// CheckAccent normalises pages.accentColor (#rgb or #rrggbb) to lower-case #rrggbb
// and checks it keeps the pages at WCAG 2.1 AA: the accent colours link text and the
// focus ring on white and is the background of white button text, so its contrast
// with white must be at least 4.5:1. A colour that is too light is refused with the
// darkest-kept variant of its hue that passes, as a suggestion.
func CheckAccent(c string) (string, string) {
	c = strings.ToLower(strings.TrimSpace(c))
	if len(c) == 4 && c[0] == '#' {
		c = "#" + c[1:2] + c[1:2] + c[2:3] + c[2:3] + c[3:4] + c[3:4]
	}
	if len(c) != 7 || c[0] != '#' || strings.Trim(c[1:], "0123456789abcdef") != "" {
		return "", "must be a colour as #rgb or #rrggbb, such as #1d4ed8"
	}
	r, g, b := channel(c[1:3]), channel(c[3:5]), channel(c[5:7])
	ratio := contrastWithWhite(r, g, b)
	if ratio >= 4.5 {
		return c, ""
	}
	return "", "has a contrast of " + strconv.FormatFloat(ratio, 'f', 1, 64) + ":1 with white; links, the focus ring and white button text need 4.5:1 (WCAG 2.1 AA): use a darker colour such as " + darkened(r, g, b)
}

func channel(hex string) float64 {
	n, _ := strconv.ParseUint(hex, 16, 8)
	return float64(n)
}

// contrastWithWhite is the WCAG 2.1 contrast ratio of an sRGB colour against white.
func contrastWithWhite(r, g, b float64) float64 {
	return 1.05 / (luminance(r, g, b) + 0.05)
}

// luminance is WCAG 2.1's relative luminance.
func luminance(r, g, b float64) float64 {
	return 0.2126*linear(r) + 0.7152*linear(g) + 0.0722*linear(b)
}

func linear(v float64) float64 {
	v /= 255
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

// darkened scales a colour towards black until its contrast with white reaches 4.5:1.
func darkened(r, g, b float64) string {
	for f := 1.0; f > 0; f -= 0.01 {
		if contrastWithWhite(r*f, g*f, b*f) >= 4.5 {
			return hexColour(r*f, g*f, b*f)
		}
	}
	return "#000000"
}

func hexColour(r, g, b float64) string {
	const digits = "0123456789abcdef"
	out := []byte{'#'}
	for _, v := range []float64{r, g, b} {
		n := int(v) // truncated: never lighter than the colour checked
		out = append(out, digits[n>>4], digits[n&15])
	}
	return string(out)
}

// CheckLogo checks pages.logoURL: an https URL (without credentials or fragment),
// or a data: URL of a PNG, GIF, JPEG, WebP or SVG image in base64 of at most 32 KiB.
// Other schemes are refused: http would be mixed content and leak to the network,
// javascript: and the like are not images.
func CheckLogo(u string) string {
	u = strings.TrimSpace(u)
	if strings.HasPrefix(u, "data:") {
		return checkDataLogo(u)
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.Host == "" || p.User != nil || p.Fragment != "" || strings.ContainsAny(u, " \t\r\n\"'<>\\") {
		return "must be an https:// URL or a data:image/…;base64 URL, got " + strconv.Quote(u)
	}
	return ""
}

func checkDataLogo(u string) string {
	if len(u) > maxLogoBytes {
		return "a data: logo must be at most " + strconv.Itoa(maxLogoBytes) + " bytes"
	}
	for _, t := range []string{"image/png", "image/gif", "image/jpeg", "image/webp", "image/svg+xml"} {
		prefix := "data:" + t + ";base64,"
		if strings.HasPrefix(u, prefix) {
			if _, err := base64.StdEncoding.Strict().DecodeString(u[len(prefix):]); err != nil {
				return "a data: logo must be valid base64"
			}
			return ""
		}
	}
	return "a data: logo must be data:image/png, gif, jpeg, webp or svg+xml;base64,…"
}

// imgSrc is the CSP img-src source the logo needs.
func imgSrc(logo string) string {
	if logo == "" {
		return ""
	}
	if strings.HasPrefix(logo, "data:") {
		return "data:"
	}
	p, _ := url.Parse(logo)
	return "https://" + p.Host
}

type errorString string

func (e errorString) Error() string { return string(e) }
