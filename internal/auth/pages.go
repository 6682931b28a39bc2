package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/pages"
)

// Gatehouse's own HTML pages, rendered by internal/pages in the instance's style (or
// the operator's template). Every field of a pages.Page is plain text: the renderer
// escapes it. A new page is a pages.Page and a call of showPage.

// showPage answers with a page: the headers of every own response (with the strict
// profile and a logo, a CSP that also allows the logo's source), then the page.
func showPage(m *Middleware, rw http.ResponseWriter, status int, pg *pages.Page) {
	h := rw.Header()
	m.ownHeaders(h)
	if m.pageCSP != "" {
		h.Set("Content-Security-Policy", m.pageCSP)
	}
	writePage(m, rw, status, pg)
}

// writePage renders pg and writes it with status; the caller has set the other
// headers. A failing operator template is logged and the built-in page shown.
func writePage(m *Middleware, rw http.ResponseWriter, status int, pg *pages.Page) {
	h := rw.Header()
	body, err := pages.Render(m.opts.Pages, pg)
	if err != nil {
		m.log.Error(logging.EventPageTemplateFailed, "pages.templateFile failed on a page, the built-in page was shown",
			logging.Fields{"kind": pg.Kind, "error": err})
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
	return strictCSP(imgSrc, "'self'")
}

// strictCSP is the strict profile's Content-Security-Policy with img-src (when not
// "") and form-action sources.
func strictCSP(imgSrc, formAction string) string {
	img := ""
	if imgSrc != "" {
		img = "; img-src " + imgSrc
	}
	return "default-src 'none'; style-src 'unsafe-inline'" + img + "; form-action " + formAction + "; frame-ancestors 'none'"
}

// signOutFormCSP is the strict profile's CSP for the sign-out confirmation. Its form
// is answered by a redirect to the provider's end_session_endpoint, which may redirect
// on to logout.postLogoutRedirectURL, and browsers check form-action on every redirect
// of a form's submission (CSP 3): both origins must be allowed besides 'self', or the
// browser stops on a blank page after signing out.
func signOutFormCSP(m *Middleware, ctx context.Context) string {
	sources := "'self'"
	if meta, err := m.provider.discovery.Metadata(ctx); err == nil {
		sources += cspOrigin(meta.EndSessionEndpoint)
	}
	sources += cspOrigin(m.opts.Logout.PostLogoutRedirectURL)
	return strictCSP(m.opts.Pages.ImgSrc, sources)
}

// cspOrigin returns " scheme://host" of an absolute http(s) URL whose host can be
// written in a CSP source as it is, else "".
func cspOrigin(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" ||
		strings.Trim(strings.ToLower(p.Host), "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") != "" {
		return ""
	}
	return " " + p.Scheme + "://" + p.Host
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
		Paragraphs: []string{"This application does not allow you in. Ask its owner for access, or sign out and sign in as someone else."},
		Lines:      lines, LinkHref: m.logoutPath, LinkText: "Sign out",
	})
}
