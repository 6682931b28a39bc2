package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/pages"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Several providers in one middleware (providers:). Each entry is a Middleware of its
// own, built from the same options with its provider, its own session cookie
// (<session.cookieName>_<id>), callback path and back- and front-channel logout paths
// (<path>/<id>): its sessions, login transactions, cached tokens and revocations are
// sealed and keyed with its own instance binding (issuer, client id, cookie name), so
// nothing one entry issued opens or passes at another. multi only picks the entry
// that handles a request:
//
//  1. an entry's own endpoint (callback, back- and front-channel logout): that entry;
//  2. the entries serving the request's host (hosts), else those without hosts;
//     among them, those whose pathPrefix covers the path (the longest), else those
//     without one: one left, it is chosen;
//  3. a bearer token (bearer auth on): the entry whose issuer is its iss claim
//     (unverified: it only picks who verifies it); a token of no entry is refused;
//  4. the entry whose session cookie the browser carries;
//  5. the entry the browser chose on the sign-in chooser (a short-lived cookie);
//  6. else the first candidate serves what needs no sign-in (excluded URLs, rules
//     that allow, the logout, signed-out and operations endpoints); what needs one
//     gets the chooser page (a browser navigation) or 401 (undecided).
type multi struct {
	subs    []*Middleware
	entries []config.ProviderEntry
	// own maps every entry's own endpoint paths to its index + 1.
	own map[string]int
	// chooserPath records a choice; choiceCookie carries it; loginPath is the
	// shared sign-in start endpoint, which shows the chooser when nothing chose.
	chooserPath, choiceCookie, loginPath string
	// cookieNames are the entries' session cookie names.
	cookieNames          []string
	anyHosts, anyPrefix  bool
	bearerOn, stripCooks bool
	opts                 *config.Options
}

// newMulti builds one instance per entry of providers and the dispatcher over them.
func newMulti(ctx context.Context, next http.Handler, opts *config.Options, name string) (http.Handler, error) {
	d := &multi{
		entries: opts.Providers, own: map[string]int{}, loginPath: opts.Provider.LoginPath,
		chooserPath: opts.ChooserPath, choiceCookie: opts.Session.CookieName + "-provider",
		bearerOn: opts.Bearer.Enabled, stripCooks: opts.Headers.StripCookies, opts: opts,
	}
	metricsKey := session.InstanceBinding(name, "", "", opts.Session.CookieName)
	for i := range opts.Providers {
		e := &opts.Providers[i]
		o := entryOptions(opts, e)
		m, err := build(ctx, next, o, name, name+"/"+e.ID, metricsKey)
		if err != nil {
			return nil, errorString("gatehouse: providers[" + strconv.Itoa(i) + "]: " + err.Error())
		}
		m.undecided = func(rw http.ResponseWriter, req *http.Request) {
			cands, _ := req.Context().Value(undecidedKey).([]int)
			undecided(d, rw, req, cands)
		}
		d.subs = append(d.subs, m)
		d.cookieNames = append(d.cookieNames, o.Session.CookieName)
		for _, p := range []string{o.Provider.CallbackPath, o.Logout.BackchannelPath, o.Logout.FrontchannelPath} {
			if p != "" {
				d.own[p] = i + 1
			}
		}
		d.anyHosts = d.anyHosts || len(e.Hosts) > 0
		d.anyPrefix = d.anyPrefix || e.PathPrefix != ""
	}
	return d, nil
}

// entryOptions are the options of one entry's instance: its provider, its own cookie
// and logout paths, and introspection with its client unless introspection has
// credentials of its own.
func entryOptions(opts *config.Options, e *config.ProviderEntry) *config.Options {
	o := *opts
	o.Provider = e.Provider
	o.Providers = nil
	o.Session.CookieName = opts.Session.CookieName + "_" + e.ID
	if o.Logout.BackchannelPath != "" {
		o.Logout.BackchannelPath += "/" + e.ID
	}
	if o.Logout.FrontchannelPath != "" {
		o.Logout.FrontchannelPath += "/" + e.ID
	}
	if !o.Bearer.Introspection.OwnCredentials {
		o.Bearer.Introspection.ClientID = e.Provider.ClientID
		o.Bearer.Introspection.ClientSecret = e.Provider.ClientSecret
	}
	return &o
}

// Choices that are not an entry's index.
const (
	noChoice     = -1 // several candidates, nothing chose one
	unknownIssue = -2 // a bearer token of no candidate's issuer
	badPath      = -3 // a path that is not canonical while entries are chosen by path
)

// ServeHTTP hands the request to the entry that handles it (see multi).
func (d *multi) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	defer func() {
		if r := recover(); r != nil {
			recovered(d.subs[0], rw, req, r)
		}
	}()
	if i := d.own[req.URL.Path]; i != 0 {
		d.subs[i-1].ServeHTTP(rw, req)
		return
	}
	if req.URL.Path == d.chooserPath {
		serveChoose(d, rw, req)
		return
	}
	cands := candidates(d, req)
	i := noChoice
	if len(cands) == 1 {
		i = cands[0]
	} else if len(cands) > 1 {
		i = choose(d, req, cands)
	}
	switch {
	case i == badPath:
		errorPage(d.subs[0], rw, http.StatusBadRequest, "This address is not in canonical form.")
		return
	case i == unknownIssue:
		bearerRefused(d.subs[cands[0]], rw, clientKey(d.opts.TrustedProxies, req), tokenFailure("issuer of no configured provider"))
		return
	case len(cands) == 0:
		// Only entries with hosts, none of them this request's: no provider signs in
		// here, so there is nothing to offer (a 401 would point to a sign-in that
		// cannot choose a provider either).
		d.subs[0].met.c.requests[outcomeError].Add(1)
		errorPage(d.subs[0], rw, http.StatusNotFound, "No sign-in is configured for this host.")
		return
	case i == noChoice && req.URL.Path == d.loginPath:
		undecided(d, rw, req, cands)
		return
	case i == noChoice:
		// Nothing chose an entry: the first candidate serves what needs no sign-in
		// (excluded URLs, rules that allow, the logout, signed-out and operations
		// endpoints); where it would send the browser to sign in, undecided answers
		// instead (unauthenticated).
		i = cands[0]
		req = req.WithContext(context.WithValue(req.Context(), undecidedKey, cands))
	}
	if d.stripCooks && req.Header["Cookie"] != nil {
		stripOthers(d, req, i)
	}
	d.subs[i].ServeHTTP(rw, req)
}

// undecidedKey is the context key under which a request no entry was chosen for
// carries its candidates ([]int). (A pointer: it compares by identity, and no other
// package can make it.)
var undecidedKey = new(int)

// undecided answers a request that needs a sign-in when nothing chose the entry: a
// browser navigation gets the sign-in chooser, anything else 401.
func undecided(d *multi, rw http.ResponseWriter, req *http.Request, cands []int) {
	if isNavigation(req) {
		chooserPage(d, rw, req, cands)
		return
	}
	unauthorized(d.subs[cands[0]], rw, req, nil, "unauthorized", nil)
}

// candidates are the entries that may handle req by its host and path (the indices;
// [badPath] for a path that is not canonical when an entry has a pathPrefix: which
// resource it names depends on the backend).
func candidates(d *multi, req *http.Request) []int {
	var out []int
	if d.anyHosts {
		scheme := requestScheme(req)
		for i := range d.entries {
			if len(d.entries[i].Hosts) > 0 {
				if _, ok := reqsafe.ReturnHost(req.Host, scheme, d.entries[i].Hosts); ok {
					out = append(out, i)
				}
			}
		}
	}
	if len(out) == 0 {
		for i := range d.entries {
			if len(d.entries[i].Hosts) == 0 {
				out = append(out, i)
			}
		}
	}
	if !d.anyPrefix || len(out) == 0 {
		return out
	}
	if _, ok := reqsafe.CanonicalPath(req.URL); !ok {
		return []int{badPath}
	}
	var under, without []int
	longest := 0
	for _, i := range out {
		p := d.entries[i].PathPrefix
		switch {
		case p == "":
			without = append(without, i)
		case reqsafe.HasPathPrefix(req.URL.Path, p) && len(p) > longest:
			under = []int{i}
			longest = len(p)
		case reqsafe.HasPathPrefix(req.URL.Path, p) && len(p) == longest:
			under = append(under, i)
		}
	}
	if len(under) > 0 {
		return under
	}
	return without
}

// choose picks among several candidates: by a bearer token's issuer, the session
// cookie the browser carries, or the chooser's cookie.
func choose(d *multi, req *http.Request, cands []int) int {
	if d.bearerOn {
		if a := req.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			iss := unverifiedIssuer(strings.TrimSpace(a[7:]), d.opts.Bearer.MaxTokenLength)
			for _, i := range cands {
				if _, ok := oidc.IssuerTenant(iss, d.entries[i].Provider.Issuer, d.entries[i].Provider.AllowedTenants); ok && iss != "" {
					return i
				}
			}
			return unknownIssue
		}
	}
	header := session.CookieHeader(req)
	if header == "" {
		return noChoice
	}
	for _, i := range cands {
		if _, ok := session.CookieValue(header, d.cookieNames[i]); ok {
			return i
		}
	}
	if id, ok := session.CookieValue(header, d.choiceCookie); ok {
		for _, i := range cands {
			if d.entries[i].ID == id {
				return i
			}
		}
	}
	return noChoice
}

// unverifiedIssuer is the iss claim of a JWT, read without verifying anything: it
// only decides which entry verifies the token. "" when raw is not a JWT.
func unverifiedIssuer(raw string, maxLen int) string {
	if len(raw) > maxLen || strings.Count(raw, ".") != 2 {
		return ""
	}
	payload := raw[strings.IndexByte(raw, '.')+1 : strings.LastIndexByte(raw, '.')]
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Iss
}

// stripOthers removes from req the session cookies of every entry but i, and the
// chooser's cookie: the backend never receives Gatehouse's cookies.
func stripOthers(d *multi, req *http.Request, i int) {
	for j, m := range d.subs {
		if j != i {
			session.StripCookies(m.sessions, req)
		}
	}
	hs := req.Header["Cookie"]
	for k, h := range hs {
		if _, ok := session.CookieValue(h, d.choiceCookie); !ok {
			continue
		}
		var kept []string
		for _, c := range strings.Split(h, ";") {
			if n := strings.TrimSpace(c); n != d.choiceCookie && !strings.HasPrefix(n, d.choiceCookie+"=") {
				kept = append(kept, strings.TrimSpace(c))
			}
		}
		hs[k] = strings.Join(kept, "; ")
	}
}

// chooserPage lets a browser choose how to sign in: one link per candidate, to the
// chooser endpoint, which records the choice and comes back here.
func chooserPage(d *multi, rw http.ResponseWriter, req *http.Request, cands []int) {
	rd := url.QueryEscape(safeReturnPath(req))
	pg := &pages.Page{Kind: pages.KindChooser, Status: http.StatusOK, Heading: "Sign in",
		Paragraphs: []string{"Choose how to sign in."}}
	for _, i := range cands {
		e := &d.entries[i]
		pg.Choices = append(pg.Choices, map[string]string{
			"Href": d.chooserPath + "?provider=" + url.QueryEscape(e.ID) + "&rd=" + rd, "Label": "Sign in with " + e.Title})
	}
	showPage(d.subs[cands[0]], rw, http.StatusOK, pg)
}

// serveChoose records the provider a browser chose (GET <chooserPath>?provider=ID&rd=/path)
// in a short-lived cookie and sends it back to rd, a local path.
func serveChoose(d *multi, rw http.ResponseWriter, req *http.Request) {
	m := d.subs[0]
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		m.ownHeaders(rw.Header())
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := req.URL.Query()
	id, rd := q.Get("provider"), q.Get("rd")
	if rd == "" {
		rd = "/"
	}
	known := false
	for i := range d.entries {
		known = known || d.entries[i].ID == id
	}
	if !known || len(rd) > 2048 || !reqsafe.IsLocalPath(rd) {
		errorPage(m, rw, http.StatusBadRequest, "This sign-in link is not valid: choose again from the page you came from.")
		return
	}
	s := &d.opts.Session
	http.SetCookie(rw, &http.Cookie{Name: d.choiceCookie, Value: id, Path: s.CookiePath, Domain: s.CookieDomain,
		MaxAge: int(s.LoginTimeout.Seconds()), Secure: s.Secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	m.ownHeaders(rw.Header())
	http.Redirect(rw, req, rd, http.StatusSeeOther)
}
