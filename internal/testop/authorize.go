package testop

import (
	"context"
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SessionCookieName is the provider's own browser-session cookie. Its Path is the
// issuer path + "/browser", where the authorization, login and end-session endpoints
// live, so a relying party on another port of the same host (cookies ignore ports)
// never receives it on its own paths.
const SessionCookieName = "testop_session"

// browserPath is where the endpoints that read the session cookie live.
const browserPath = "/browser"

// authRequest is a validated authorization request waiting for a login.
type authRequest struct {
	id          string
	clientID    string
	redirectURI string
	scope       string
	state       string
	nonce       string
	challenge   string
	method      string
	maxAge      int    // -1 when absent
	acr         string // the acr this request signs in at (acr_values, Options.ACRValues)
	loginHint   string
	forceLogin  bool
	created     time.Time
}

// authCode is an issued authorization code (RFC 6749 section 4.1.2).
type authCode struct {
	clientID    string
	redirectURI string
	scope       string
	nonce       string
	challenge   string
	method      string
	username    string
	sid         string
	acr         string
	family      string
	authTime    time.Time
	expires     time.Time
	used        bool
}

// opSession is the provider's own browser session.
type opSession struct {
	cookie   string
	sid      string
	username string
	authTime time.Time
	acr      string
	expires  time.Time
	clients  map[string]bool
}

// pendingTTL bounds how long a login form stays usable.
const pendingTTL = 10 * time.Minute

func (p *Provider) sessionLocked(r *http.Request) *opSession {
	ck, err := r.Cookie(SessionCookieName)
	if err != nil {
		return nil
	}
	s := p.sessions[ck.Value]
	if s == nil || !p.now().Before(s.expires) {
		return nil
	}
	if _, ok := p.users[s.username]; !ok {
		return nil
	}
	return s
}

// loginLocked signs username in for ar: the browser's provider session (r's) when
// it is that user's, re-authenticated (same sid, auth_time now, ar's acr) as
// Keycloak and Entra ID do, so that a step-up signs the user out nowhere; else a new
// session.
func (p *Provider) loginLocked(w http.ResponseWriter, r *http.Request, username string, ar *authRequest) *opSession {
	if s := p.sessionLocked(r); s != nil && s.username == username {
		s.authTime = p.now()
		s.acr = ar.acr
		return s
	}
	s := p.newSessionLocked(w, username)
	s.acr = ar.acr
	return s
}

// newSessionLocked starts a provider session for username and sets its cookie.
func (p *Provider) newSessionLocked(w http.ResponseWriter, username string) *opSession {
	now := p.now()
	s := &opSession{
		cookie:   randomToken(32),
		sid:      randomToken(16),
		username: username,
		authTime: now.Add(-p.authAge),
		expires:  now.Add(p.lifetimes.Session),
		clients:  map[string]bool{},
	}
	p.sessions[s.cookie] = s
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookieName,
		Value:    s.cookie,
		Path:     p.opts.IssuerPath + browserPath,
		Expires:  s.expires,
		HttpOnly: true,
		Secure:   p.opts.TLS,
		SameSite: http.SameSiteLaxMode,
	})
	return s
}

// serveAuthorize is the authorization endpoint (OIDC Core 3.1.2, RFC 6749 4.1.1).
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.Form
	w.Header().Set("Cache-Control", "no-store")
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.clients[q.Get("client_id")]
	if c == nil {
		errorPage(w, http.StatusBadRequest, "unknown client_id "+strconv.Quote(q.Get("client_id")))
		return
	}
	redirectURI := q.Get("redirect_uri")
	// An unregistered redirect_uri is never redirected to (RFC 6749 section 4.1.2.1).
	if !c.allowsRedirect(redirectURI) {
		errorPage(w, http.StatusBadRequest, "redirect_uri "+strconv.Quote(redirectURI)+" is not registered for client "+strconv.Quote(c.ID))
		return
	}
	ar := &authRequest{
		id:          randomToken(16),
		clientID:    c.ID,
		redirectURI: redirectURI,
		scope:       q.Get("scope"),
		state:       q.Get("state"),
		nonce:       q.Get("nonce"),
		challenge:   q.Get("code_challenge"),
		method:      q.Get("code_challenge_method"),
		maxAge:      -1,
		loginHint:   q.Get("login_hint"),
		created:     p.now(),
	}
	fail := func(code, desc string) { p.redirectError(w, r, ar, code, desc) }
	switch {
	case q.Get("request") != "" || q.Get("request_uri") != "":
		fail("request_not_supported", "request objects are not supported")
		return
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code, got "+strconv.Quote(q.Get("response_type")))
		return
	case !c.allowsGrant("authorization_code"):
		fail("unauthorized_client", "client may not use the code flow")
		return
	case !hasString(strings.Fields(ar.scope), "openid"):
		fail("invalid_scope", "scope must contain openid, got "+strconv.Quote(ar.scope))
		return
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query":
		fail("invalid_request", "response_mode must be query, got "+strconv.Quote(q.Get("response_mode")))
		return
	}
	if ar.challenge == "" {
		if c.public() || p.opts.RequirePKCE {
			fail("invalid_request", "code_challenge is required (RFC 7636)")
			return
		}
		if ar.method != "" {
			fail("invalid_request", "code_challenge_method without code_challenge")
			return
		}
	} else {
		if ar.method == "" {
			ar.method = "plain" // RFC 7636 section 4.3
		}
		switch {
		case ar.method == "plain" && !p.opts.AllowPlainPKCE:
			fail("invalid_request", "code_challenge_method plain is not allowed, use S256")
			return
		case ar.method != "plain" && ar.method != "S256":
			fail("invalid_request", "code_challenge_method must be S256, got "+strconv.Quote(ar.method))
			return
		case !validVerifier(ar.challenge):
			fail("invalid_request", "code_challenge must be 43 to 128 unreserved characters")
			return
		}
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail("invalid_request", "max_age must be a non-negative integer, got "+strconv.Quote(v))
			return
		}
		ar.maxAge = n
	}
	prompts := strings.Fields(q.Get("prompt"))
	if hasString(prompts, "none") && len(prompts) > 1 {
		fail("invalid_request", "prompt none cannot be combined with other values")
		return
	}
	ar.forceLogin = hasString(prompts, "login") || ar.maxAge == 0
	ar.acr = p.opts.DefaultACR
	for _, v := range strings.Fields(q.Get("acr_values")) {
		if hasString(p.opts.ACRValues, v) {
			ar.acr = v
			break
		}
	}

	s := p.sessionLocked(r)
	now := p.now()
	if s != nil && !ar.forceLogin && (q.Get("acr_values") == "" || s.acr == ar.acr) {
		stale := ar.maxAge >= 0 && now.Sub(s.authTime) > time.Duration(ar.maxAge)*time.Second
		_, hinted := p.users[ar.loginHint]
		otherUser := hinted && ar.loginHint != s.username
		if !stale && !otherUser {
			p.completeLocked(w, r, ar, s)
			return
		}
	}
	if hasString(prompts, "none") {
		fail("login_required", "the user must log in")
		return
	}
	if p.autoLogin {
		name := p.autoLoginUser
		if _, ok := p.users[ar.loginHint]; ok {
			name = ar.loginHint
		}
		if _, ok := p.users[name]; !ok {
			errorPage(w, http.StatusInternalServerError, "auto-login user "+strconv.Quote(name)+" does not exist")
			return
		}
		s = p.loginLocked(w, r, name, ar)
		p.completeLocked(w, r, ar, s)
		return
	}
	p.prunePendingLocked(now)
	p.pending[ar.id] = ar
	loginPage(w, http.StatusOK, p.issuer+browserPath+"/login", ar, "")
}

// validVerifier checks RFC 7636 section 4.1's code_verifier (and challenge) syntax.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			return false
		}
	}
	return true
}

func (p *Provider) prunePendingLocked(now time.Time) {
	for id, ar := range p.pending {
		if now.Sub(ar.created) > pendingTTL {
			delete(p.pending, id)
		}
	}
}

// completeLocked issues a code for ar in session s and redirects back (OIDC Core
// 3.1.2.5, RFC 9207 for iss).
func (p *Provider) completeLocked(w http.ResponseWriter, r *http.Request, ar *authRequest, s *opSession) {
	now := p.now()
	code := randomToken(32)
	p.codes[code] = &authCode{
		clientID: ar.clientID, redirectURI: ar.redirectURI, scope: ar.scope, nonce: ar.nonce,
		challenge: ar.challenge, method: ar.method, username: s.username, sid: s.sid, acr: s.acr,
		family: randomToken(12), authTime: s.authTime, expires: now.Add(p.lifetimes.Code),
	}
	s.clients[ar.clientID] = true
	// With Options.MultiTenant the issuer is the signed-in user's tenant's.
	p.redirectLocked(w, r, ar, url.Values{"code": {code}, "iss": {p.issuerOf(p.users[s.username])}})
}

func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, code, desc string) {
	p.redirectLocked(w, r, ar, url.Values{"error": {code}, "error_description": {desc}})
}

// redirectLocked sends the browser to ar.redirectURI with params, state and iss
// added to the query the redirect URI already has.
func (p *Provider) redirectLocked(w http.ResponseWriter, r *http.Request, ar *authRequest, params url.Values) {
	u, err := url.Parse(ar.redirectURI)
	if err != nil {
		errorPage(w, http.StatusBadRequest, "redirect_uri does not parse")
		return
	}
	m := p.mis()
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	state := ar.state
	if m.Has(WrongState) {
		state = "wrong-" + randomToken(12)
	}
	if state != "" {
		q.Set("state", state)
	}
	iss := params.Get("iss")
	if iss == "" {
		iss = p.issuer
	}
	switch {
	case m.Has(IssParameterUnsupported) || m.Has(NoIssParameter):
		q.Del("iss")
	case m.Has(WrongIssParameter):
		q.Set("iss", p.issuer+"/wrong")
	default:
		q.Set("iss", iss)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// serveLogin takes the login form (fields request, username, password).
func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.prunePendingLocked(now)
	ar := p.pending[r.PostForm.Get("request")]
	if ar == nil {
		errorPage(w, http.StatusBadRequest, "the login request is unknown or expired; start again from the application")
		return
	}
	name := r.PostForm.Get("username")
	u := p.users[name]
	if u == nil || subtle.ConstantTimeCompare([]byte(u.Password), []byte(r.PostForm.Get("password"))) != 1 {
		ar.loginHint = name
		loginPage(w, http.StatusUnauthorized, p.issuer+browserPath+"/login", ar, "Unknown user or wrong password.")
		return
	}
	delete(p.pending, ar.id)
	s := p.loginLocked(w, r, name, ar)
	p.completeLocked(w, r, ar, s)
}

// SessionIDs returns the sid of every live provider session of username.
func (p *Provider) SessionIDs(username string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	now := p.now()
	for _, s := range p.sessions {
		if s.username == username && now.Before(s.expires) {
			out = append(out, s.sid)
		}
	}
	sort.Strings(out)
	return out
}

// EndUserSessions ends every provider session of username, as an administrator
// would, and sends a logout token to the back-channel URI of every client that took
// part in one (waiting for the answers). It returns the ended sids.
func (p *Provider) EndUserSessions(ctx context.Context, username string) []string {
	p.mu.Lock()
	var ended []*opSession
	for _, s := range p.sessions {
		if s.username == username {
			ended = append(ended, s)
		}
	}
	p.endSessionsLocked(ended)
	p.mu.Unlock()
	p.notifyBackchannel(ctx, ended)
	var sids []string
	for _, s := range ended {
		sids = append(sids, s.sid)
	}
	sort.Strings(sids)
	return sids
}

func (p *Provider) endSessionsLocked(list []*opSession) {
	for _, s := range list {
		delete(p.sessions, s.cookie)
		if p.opts.EndSessionRevokesTokens {
			for _, g := range p.refresh {
				if g.sid == s.sid {
					p.revokeFamilyLocked(g.family)
				}
			}
			for _, g := range p.access {
				if g.sid == s.sid {
					g.revoked = true
				}
			}
		}
	}
}

// serveEndSession is RP-Initiated Logout 1.0: it validates id_token_hint and
// post_logout_redirect_uri, ends the provider session, notifies the clients that
// registered logout URIs, and returns the browser.
func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	f := r.Form
	clientID := f.Get("client_id")
	var hintSid string
	if hint := f.Get("id_token_hint"); hint != "" {
		// Section 2: the hint may be expired; it must be one of ours.
		_, claims, err := p.Verify(hint)
		if err != nil {
			errorPage(w, http.StatusBadRequest, "id_token_hint is not an ID token of this provider: "+err.Error())
			return
		}
		if iss, _ := claims["iss"].(string); !p.knownIssuer(iss) {
			errorPage(w, http.StatusBadRequest, "id_token_hint was issued by "+strconv.Quote(iss)+", expected "+strconv.Quote(p.issuer))
			return
		}
		aud := audList(claims["aud"])
		if clientID != "" && !hasString(aud, clientID) {
			errorPage(w, http.StatusBadRequest, "client_id "+strconv.Quote(clientID)+" is not an audience of id_token_hint")
			return
		}
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
		}
		hintSid, _ = claims["sid"].(string)
	}
	plr := f.Get("post_logout_redirect_uri")
	p.mu.Lock()
	c := p.clients[clientID]
	if clientID != "" && c == nil {
		p.mu.Unlock()
		errorPage(w, http.StatusBadRequest, "unknown client_id "+strconv.Quote(clientID))
		return
	}
	if plr != "" && (c == nil || !c.allowsPostLogout(plr)) {
		p.mu.Unlock()
		errorPage(w, http.StatusBadRequest, "post_logout_redirect_uri "+strconv.Quote(plr)+" is not registered for client "+strconv.Quote(clientID))
		return
	}
	var ended []*opSession
	if s := p.sessionLocked(r); s != nil {
		ended = append(ended, s)
	}
	if hintSid != "" {
		for _, s := range p.sessions {
			if s.sid == hintSid && (len(ended) == 0 || ended[0] != s) {
				ended = append(ended, s)
			}
		}
	}
	p.endSessionsLocked(ended)
	var frames []string
	for _, s := range ended {
		for _, id := range sortedKeys(s.clients) {
			if cl := p.clients[id]; cl != nil && cl.FrontchannelLogoutURI != "" {
				frames = append(frames, frontchannelURL(cl.FrontchannelLogoutURI, p.issuerOf(p.users[s.username]), s.sid))
				p.countLocked(EPFrontchannel)
			}
		}
	}
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookieName, Value: "", Path: p.opts.IssuerPath + browserPath,
		MaxAge: -1, HttpOnly: true, Secure: p.opts.TLS, SameSite: http.SameSiteLaxMode})
	p.notifyBackchannel(r.Context(), ended)

	next := ""
	if plr != "" {
		u, err := url.Parse(plr)
		if err == nil {
			if st := f.Get("state"); st != "" {
				q := u.Query()
				q.Set("state", st)
				u.RawQuery = q.Encode()
			}
			next = u.String()
		}
	}
	if len(frames) > 0 {
		signedOutPage(w, frames, next)
		return
	}
	if next != "" {
		http.Redirect(w, r, next, http.StatusFound)
		return
	}
	signedOutPage(w, nil, "")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var pages = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · testop</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.3rem 0}p.err{color:#b00}</style>
</head><body>
<h1>Sign in</h1>
<p>to continue to <b>{{.Client}}</b></p>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="request" value="{{.Request}}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" value="{{.Username}}" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit" id="login">Sign in</button>
</form>
</body></html>
{{define "out"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out · testop</title>
{{if .Next}}<meta http-equiv="refresh" content="{{if .Frames}}2{{else}}0{{end}};url={{.Next}}">{{end}}
</head><body>
<h1>You are signed out</h1>
{{range .Frames}}<iframe src="{{.}}" style="display:none" title="front-channel logout"></iframe>
{{end}}
{{if .Next}}<p><a id="continue" href="{{.Next}}">Continue</a></p>{{end}}
</body></html>{{end}}
{{define "error"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Error · testop</title></head>
<body><h1>Request refused</h1><p id="error">{{.}}</p></body></html>{{end}}`))

func loginPage(w http.ResponseWriter, status int, action string, ar *authRequest, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "login", map[string]any{
		"Action": action, "Request": ar.id, "Client": ar.clientID, "Username": ar.loginHint, "Error": msg,
	})
}

func signedOutPage(w http.ResponseWriter, frames []string, next string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	var fr []template.URL
	for _, f := range frames {
		fr = append(fr, template.URL(f))
	}
	_ = pages.ExecuteTemplate(w, "out", map[string]any{"Frames": fr, "Next": next})
}

// errorPage answers a request the provider refuses without redirecting (unknown
// client, unregistered redirect URI, bad id_token_hint).
func errorPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "error", msg)
}
