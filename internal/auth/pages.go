package auth

import (
	"net/http"

	"github.com/gatehouse-oidc/gatehouse/internal/pages"
)

// Gatehouse's own HTML pages, rendered by internal/pages in the instance's style (or
// the operator's template). Every field of a pages.Page is plain text: the renderer
// escapes it. A new page is a pages.Page and a call of showPage.

// showPage answers with a page: the headers of every own response, then the page.
func showPage(m *Middleware, rw http.ResponseWriter, status int, pg *pages.Page) {
	m.ownHeaders(rw.Header())
	writePage(m, rw, status, pg)
}

// writePage renders pg and writes it with status; the caller has set the other
// headers. With the strict profile and a logo, the page's CSP also allows the logo's
// source (img-src). A failing operator template is logged and the built-in page shown.
func writePage(m *Middleware, rw http.ResponseWriter, status int, pg *pages.Page) {
	h := rw.Header()
	if m.pageCSP != "" {
		h.Set("Content-Security-Policy", m.pageCSP)
	}
	body, err := pages.Render(m.opts.Pages, pg)
	if err != nil {
		m.log.Errorf("pages.templateFile failed on a %s page, the built-in page was shown: %v", pg.Kind, err)
	}
	if body == nil {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(http.StatusInternalServerError)
		_, _ = rw.Write([]byte("gatehouse: internal error\n"))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	_, _ = rw.Write(body)
}

// pageCSP is the Content-Security-Policy of the pages: the strict profile's, with
// the logo's source allowed when there is a logo; "" when the profile's own applies.
func pageCSP(profile, imgSrc string) string {
	if profile != "strict" || imgSrc == "" {
		return ""
	}
	return "default-src 'none'; style-src 'unsafe-inline'; img-src " + imgSrc + "; form-action 'self'; frame-ancestors 'none'"
}

// errorPage shows a failure (sign-in, sign-out, a bad request, the provider down)
// with a heading for the status and a message in plain words.
func errorPage(m *Middleware, rw http.ResponseWriter, status int, message string) {
	showPage(m, rw, status, &pages.Page{Kind: pages.KindError, Status: status, Heading: errorHeading(status), Paragraphs: []string{message}})
}

// errorHeading is an error page's heading: what went wrong, in words.
func errorHeading(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "Sign-in failed"
	case http.StatusForbidden:
		return "Access denied"
	case http.StatusInternalServerError:
		return "Something went wrong"
	case http.StatusServiceUnavailable:
		return "Temporarily unavailable"
	}
	return http.StatusText(status)
}

// deniedPage is the 403 page of a signed-in user the rules do not let in: who they
// are signed in as and, in lines, why (which rule, which requirement; never another
// user's claims, never tokens).
func deniedPage(m *Middleware, rw http.ResponseWriter, user string, lines []string) {
	showPage(m, rw, http.StatusForbidden, &pages.Page{
		Kind: pages.KindDenied, Status: http.StatusForbidden, Heading: "Access denied", User: user,
		Paragraphs: []string{"This application does not allow you in. Ask its owner for access, or sign in as someone else."},
		Lines:      lines,
	})
}
