package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/pages"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// unauthenticated answers a request with no acceptable credentials: a browser
// navigating to a page is sent to the provider to sign in (asking at once for what
// the request's rule requires of a sign-in: max_age, acr_values); every other
// request (isNavigation) gets 401 with a login_url it can navigate to.
func unauthenticated(m *Middleware, rw http.ResponseWriter, req *http.Request, rule int) {
	if m.undecided != nil && req.Context().Value(undecidedKey) != nil {
		// Several providers and none chosen yet (multi.go).
		m.undecided(rw, req)
		return
	}
	var r *config.Rule
	if rule > 0 {
		r = m.rules[rule]
	}
	if !isNavigation(req) {
		unauthorized(m, rw, req, r, "unauthorized", nil)
		return
	}
	startLogin(m, rw, req, r, false)
}

// unauthorized answers 401 to a request that is not a navigation: WWW-Authenticate
// (Bearer when bearer auth is on, and the Cookie scheme that names the sign-in
// address), and a JSON body with the error, the rule and requirement when a step-up
// is what is missing (f), and login_url: an absolute URL of the sign-in endpoint
// (provider.loginPath) that signs in, as r requires, and comes back to the page
// (loginReturnPath).
func unauthorized(m *Middleware, rw http.ResponseWriter, req *http.Request, r *config.Rule, code string, f *config.Failure) {
	m.met.c.requests[outcome401].Add(1)
	h := rw.Header()
	m.ownHeaders(h)
	login := loginURL(m, req, r)
	if m.opts.Bearer.Enabled && m.opts.Bearer.WWWAuthenticate {
		h.Add("WWW-Authenticate", bearerChallenge("", "", ""))
	}
	challenge := `Cookie realm="gatehouse", cookie-name="` + m.opts.Session.CookieName + `"`
	if login != "" {
		challenge += `, form-action="` + login + `"`
	}
	h.Add("WWW-Authenticate", challenge)
	writeJSONError(rw, http.StatusUnauthorized, code, f, login)
}

// loginURL is the absolute address of the sign-in endpoint for this request (""
// when provider.loginPath is off): rd is where to come back (loginReturnPath), rule
// the index of a rule whose sign-in requirements (maxAuthAge, acr) to ask for. The
// scheme and host are the request's, as for the redirect URI.
func loginURL(m *Middleware, req *http.Request, r *config.Rule) string {
	if m.loginPath == "" {
		return ""
	}
	u := m.loginPath + "?rd=" + url.QueryEscape(loginReturnPath(req))
	if r != nil && (r.Require.MaxAuthAge > 0 || len(r.Require.ACR) > 0) {
		u += "&rule=" + strconv.Itoa(r.Index)
	}
	if origin, ok := requestOrigin(req); ok {
		return origin + u
	}
	return u
}

// loginReturnPath is where a client sent to loginURL comes back: for a request made
// by a page (fetch, XMLHttpRequest, EventSource), that page when its Referer is on
// this host; else the request's own path and query (safeReturnPath).
func loginReturnPath(req *http.Request) string {
	if ref := req.Header.Get("Referer"); ref != "" && !isNavigation(req) {
		if u, err := url.Parse(ref); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host == req.Host && u.User == nil {
			if p := u.RequestURI(); len(p) <= 2048 && reqsafe.IsLocalPath(p) {
				return p
			}
		}
	}
	return safeReturnPath(req)
}

// handleStart is the sign-in endpoint (provider.loginPath, GET or HEAD) that 401
// answers point to: ?rd=/path is where to come back (a local path; anything else
// comes back to /), ?rule=N a rule whose sign-in requirements (maxAuthAge, acr) to
// ask the provider for. A browser whose session already satisfies them goes straight
// back to rd; any other is sent to the provider, with prompt=login when its sign-in
// is too old for the rule.
func handleStart(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		errorPage(m, rw, http.StatusMethodNotAllowed, "The sign-in address only accepts GET.")
		return
	}
	q := req.URL.Query()
	rd := startReturnPath(q.Get("rd"))
	var r *config.Rule
	if n, err := strconv.Atoi(q.Get("rule")); err == nil && n >= 0 && n+1 < m.setRule {
		r = m.rules[n+1]
	}
	now := time.Now()
	promptLogin := false
	if rec, err := readSession(m, req, now); err == nil && !sessionRevoked(m, req.Context(), rec) {
		p := sessionPrincipal(m, rec)
		rule := 0
		if r != nil {
			rule = r.Index + 1
		}
		f, _ := refusal(m, p, req, rule, now.Unix())
		if f == nil || !f.StepUp {
			// Signed in, and a new sign-in would not change the verdict.
			m.ownHeaders(rw.Header())
			rw.Header().Set("Location", rd)
			rw.WriteHeader(http.StatusFound)
			return
		}
		promptLogin = f == r.Require.AuthAgeFailure
	}
	startLoginTo(m, rw, req, returnTarget(m, req, rd), r, promptLogin)
}

// startReturnPath is where the sign-in endpoint comes back to for its rd parameter:
// rd when it is a local path no browser reads as another site, else "/".
func startReturnPath(rd string) string {
	if rd == "" || len(rd) > 2048 || !reqsafe.IsLocalPath(rd) {
		return "/"
	}
	return rd
}

// startLogin begins the authorization-code flow for a browser navigating to req,
// which comes back to the same page.
func startLogin(m *Middleware, rw http.ResponseWriter, req *http.Request, r *config.Rule, promptLogin bool) {
	startLoginTo(m, rw, req, returnTarget(m, req, safeReturnPath(req)), r, promptLogin)
}

// startLoginTo begins the authorization-code flow (OIDC Core 3.1.2.1): a login
// transaction of its own (state, nonce, PKCE verifier, return path, and what the
// rule r requires of the sign-in) in a short-lived sealed cookie, and a redirect to
// the provider's authorization endpoint. With r requiring maxAuthAge the request
// carries max_age (and prompt=login when promptLogin: some providers ignore
// max_age), with r requiring acr, acr_values; the callback checks the answer
// against both.
func startLoginTo(m *Middleware, rw http.ResponseWriter, req *http.Request, returnTo string, r *config.Rule, promptLogin bool) {
	meta, err := m.provider.discovery.Metadata(req.Context())
	if err != nil {
		m.met.c.requests[outcome503].Add(1)
		providerUnavailable(m, rw, err)
		return
	}
	redirectURI, ok := redirectURIFor(m, req)
	if !ok {
		m.met.c.requests[outcomeError].Add(1)
		errorPage(m, rw, http.StatusBadRequest, "The request's Host header is not valid.")
		return
	}
	p := &m.opts.Provider
	var maxAge int64
	var acr []string
	if p.MaxAgeSet {
		maxAge = int64(p.MaxAge / time.Second)
	}
	if r != nil {
		if a := r.Require.MaxAuthAgeSeconds; a > 0 && (maxAge == 0 || a < maxAge) {
			maxAge = a
		}
		acr = r.Require.ACR
	}
	h := rw.Header()
	l, err := session.StartStepUpLogin(m.sessions, h, req, returnTo, p.PKCE, maxAge, acr, time.Now())
	if err != nil {
		m.met.c.requests[outcomeError].Add(1)
		m.log.Error(logging.EventLoginStartFailed, "cannot start a login", logging.Fields{"error": err})
		errorPage(m, rw, http.StatusInternalServerError, "Sign-in could not be started.")
		return
	}
	q := url.Values{}
	for k, v := range p.AuthParams {
		q.Set(k, v)
	}
	q.Set("response_type", "code")
	q.Set("client_id", p.ClientID)
	q.Set("redirect_uri", redirectURI)
	q.Set("scope", strings.Join(p.Scopes, " "))
	q.Set("state", l.State)
	q.Set("nonce", l.Nonce)
	if l.Verifier != "" {
		q.Set("code_challenge", session.PKCEChallenge(l.Verifier))
		q.Set("code_challenge_method", "S256")
	}
	if maxAge > 0 || p.MaxAgeSet {
		q.Set("max_age", itoa64(maxAge))
	}
	if len(acr) > 0 {
		q.Set("acr_values", strings.Join(acr, " "))
	}
	if promptLogin {
		q.Set("prompt", "login")
	}
	target := meta.AuthorizationEndpoint
	if strings.Contains(target, "?") {
		target += "&" + q.Encode()
	} else {
		target += "?" + q.Encode()
	}
	m.met.c.requests[outcomeRedirected].Add(1)
	m.ownHeaders(h)
	h.Set("Location", target)
	rw.WriteHeader(http.StatusFound)
}

// redirectURIFor returns the redirect URI for this request: the configured one, or
// the request's scheme and host (requestOrigin) with the callback path.
func redirectURIFor(m *Middleware, req *http.Request) (string, bool) {
	if u := m.opts.Provider.RedirectURL; u != nil {
		return u.String(), true
	}
	origin, ok := requestOrigin(req)
	if !ok {
		return "", false
	}
	return origin + m.callbackPath, true
}

// returnTarget is where the browser goes back to after signing in, remembered in the
// login transaction: path (a local path: the request's own, safeReturnPath, or the
// sign-in endpoint's rd) on the callback's host, or, with a central callback,
// scheme://host/path when the request's host is one of provider.allowedReturnHosts
// (reqsafe.ReturnHost).
func returnTarget(m *Middleware, req *http.Request, path string) string {
	hosts := m.opts.Provider.AllowedReturnHosts
	if len(hosts) == 0 {
		return path
	}
	scheme := requestScheme(req)
	host, ok := reqsafe.ReturnHost(req.Host, scheme, hosts)
	if !ok {
		m.log.Debugf("sign-in from a host not in provider.allowedReturnHosts: returning to a local path")
		return path
	}
	return scheme + "://" + host + path
}

// checkedReturn checks the return target of a finished login transaction again
// (defence in depth: it was checked when the login started and travelled sealed): a
// local path, or an absolute URL on an allowed return host; "/" otherwise.
func checkedReturn(m *Middleware, target string) string {
	if reqsafe.IsLocalPath(target) {
		return target
	}
	if hosts := m.opts.Provider.AllowedReturnHosts; len(hosts) > 0 && reqsafe.AllowedReturnURL(target, hosts) {
		return target
	}
	return "/"
}

// handleCallback finishes the authorization-code flow: the login transaction named by
// state, the RFC 9207 iss parameter, the code exchange with the PKCE verifier, the ID
// token (OIDC Core 3.1.3.7), then a session and a redirect back to where the browser
// started. Every failure ends at an error page; nothing is forwarded.
//
// Only callbacks whose state names a login transaction this browser holds are
// throttled and counted as failures: without one nothing can be guessed, and any
// site can make a victim's browser send such callbacks (<img src=/oauth2/callback>)
// to lock the victim, and everyone behind the same address, out of signing in.
func handleCallback(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	c := &m.met.c
	c.requests[outcomeEndpoint].Add(1)
	if req.Method != http.MethodGet {
		c.loginFailures[loginBadRequest].Add(1)
		errorPage(m, rw, http.StatusMethodNotAllowed, "The sign-in callback only accepts GET.")
		return
	}
	ip := clientKey(m.opts.TrustedProxies, req)
	now := time.Now()
	q := req.URL.Query()
	h := rw.Header()
	l, err := session.FinishLogin(m.sessions, h, req, q.Get("state"), now)
	if err == session.ErrNoLogin {
		c.loginFailures[loginNoTransaction].Add(1)
		m.log.Info(logging.EventLoginNoTransaction, "sign-in callback names no login transaction of this browser (not counted by the throttle)",
			logging.Fields{"client": m.log.Client(ip)})
		errorPage(m, rw, http.StatusUnauthorized, staleLoginMessage)
		return
	}
	if blocked, left := throttled(m.throttle, purposeCallback, ip); blocked {
		c.loginFailures[loginThrottled].Add(1)
		tooManyRequests(m, rw, left)
		return
	}
	if err != nil {
		callbackFailed(m, rw, ip, loginTransaction, "login transaction: "+err.Error(), staleLoginMessage)
		return
	}
	if e := q.Get("error"); e != "" {
		callbackFailed(m, rw, ip, loginProviderError, "provider returned error "+strconvQuote(e),
			"The identity provider did not sign you in ("+e+").")
		return
	}
	meta, err := m.provider.discovery.Metadata(req.Context())
	if err != nil {
		c.loginFailures[loginProviderUnavailable].Add(1)
		providerUnavailable(m, rw, err)
		return
	}
	// RFC 9207 section 2.4: compare iss when present; require it when advertised. A
	// multi-tenant issuer's iss names an allowed tenant, and the ID token's (below).
	iss, hasIss := q["iss"]
	if hasIss {
		if _, ok := oidc.IssuerTenant(iss[0], m.opts.Provider.Issuer, m.opts.Provider.AllowedTenants); len(iss) != 1 || !ok {
			callbackFailed(m, rw, ip, loginIssuer, "authorization response iss does not match the issuer", "The sign-in response came from the wrong identity provider.")
			return
		}
	} else if meta.AuthorizationResponseIssParameterSupported {
		callbackFailed(m, rw, ip, loginIssuer, "authorization response lacks the iss parameter the provider advertises", "The sign-in response is incomplete.")
		return
	}
	code := q.Get("code")
	if code == "" {
		callbackFailed(m, rw, ip, loginNoCode, "authorization response has no code", "The sign-in response is incomplete.")
		return
	}
	redirectURI, ok := redirectURIFor(m, req)
	if !ok {
		c.loginFailures[loginBadRequest].Add(1)
		errorPage(m, rw, http.StatusBadRequest, "The request's Host header is not valid.")
		return
	}
	ctx := req.Context()
	tok, err := m.provider.client.Exchange(ctx, oidc.TokenEndpoint(meta), code, redirectURI, l.Verifier)
	if err != nil {
		callbackFailed(m, rw, ip, loginExchange, "code exchange: "+err.Error(), "The identity provider did not accept the sign-in.")
		return
	}
	// The ID token was issued during the exchange: its iat is checked against a clock
	// read after it, not before (with clockSkew 0 it could be "in the future").
	now = time.Now()
	rec, err := newSessionRecord(m, ctx, meta, tok, l, nil, now)
	if err == errHostedDomain {
		m.met.c.loginFailures[loginHostedDomain].Add(1)
		m.log.Info(logging.EventLoginFailed, "sign-in refused: hosted domain not allowed", logging.Fields{"client": m.log.Client(ip), "kind": loginFailureNames[loginHostedDomain], "reason": err.Error()})
		errorPage(m, rw, http.StatusForbidden, "This application only accepts accounts of its organisation. Sign in with your organisation's account.")
		return
	}
	if err == errACR {
		callbackFailed(m, rw, ip, loginACR, "ID token acr is not one of the acr_values requested", "The identity provider did not sign you in at the level this page requires.")
		return
	}
	if err != nil {
		callbackFailed(m, rw, ip, loginIDToken, "ID token rejected: "+err.Error(), "The identity provider's answer could not be verified.")
		return
	}
	if hasIss && rec.Issuer != iss[0] {
		callbackFailed(m, rw, ip, loginIssuer, "authorization response iss names another issuer than the ID token", "The sign-in response came from the wrong identity provider.")
		return
	}
	keepSessionID(m, req, rec, now)
	if err := writeSession(m, ctx, h, req, rec, now); err != nil {
		c.loginFailures[loginSessionStore].Add(1)
		m.log.Error(logging.EventSessionWriteFailed, "cannot write the session", logging.Fields{"error": err, "during": "login"})
		errorPage(m, rw, http.StatusInternalServerError, "The session could not be stored.")
		return
	}
	c.logins.Add(1)
	m.log.Info(logging.EventLoginSucceeded, "signed in", logging.Fields{"user": m.log.ID(rec.Subject), "client": m.log.Client(ip)})
	returnTo := checkedReturn(m, l.ReturnURL)
	m.ownHeaders(h)
	if m.opts.Session.SameSite == http.SameSiteStrictMode {
		// A navigation that began at the provider is cross-site all the way through its
		// redirects, so a Strict cookie would not be sent to returnTo and the browser
		// would loop back to sign-in. A page that navigates itself is same-site.
		showPage(m, rw, http.StatusOK, &pages.Page{
			Kind: pages.KindSignedIn, Status: http.StatusOK, Heading: "Signed in", Paragraphs: []string{"You are signed in."},
			LinkHref: returnTo, LinkText: "Continue", Refresh: returnTo,
		})
		return
	}
	h.Set("Location", returnTo)
	rw.WriteHeader(http.StatusFound)
}

// errACR: the ID token of a login that asked for acr_values carries another acr. (A
// sentinel made with errors.New: under Yaegi, == on an interpreted error type fails.)
var errACR = errors.New("auth: the ID token's acr is not one of the acr_values requested")

// keepSessionID gives a new sign-in's record the id of the session the browser
// already holds, when that session is valid and of the same user (a step-up, or a
// sign-in started again in another tab): the session is upgraded, not replaced, so a
// logout or revocation of it still reaches the upgraded one, and nothing of the old
// one — its provider session (sid) included — is revoked.
func keepSessionID(m *Middleware, req *http.Request, rec *session.Record, now time.Time) {
	old, err := readSession(m, req, now)
	if err != nil || old.Subject != rec.Subject || old.Issuer != rec.Issuer || sessionRevoked(m, req.Context(), old) {
		return
	}
	rec.ID = old.ID
}

// newSessionRecord verifies the ID token of a token response and builds the session
// record from it. l is the login transaction (nil for a refresh): its nonce, and the
// max_age and acr_values it asked for (a step-up), which auth_time and acr must
// satisfy. previous is the record being refreshed (nil at login): a refreshed ID
// token must keep iss, sub and aud (OIDC Core 12.2), and a refresh without one keeps
// the previous identity. With provider.userinfo merge, the userinfo answer joins the
// ID token's claims (userinfoIdentity).
func newSessionRecord(m *Middleware, ctx context.Context, meta *oidc.Metadata, tok *oidc.TokenResponse, l *session.Login, previous *session.Record, now time.Time) (*session.Record, error) {
	var rec *session.Record
	if previous == nil {
		r, err := session.NewRecord(now)
		if err != nil {
			return nil, err
		}
		startAfterRevocationFloor(m, r)
		rec = r
	} else {
		copied := *previous
		rec = &copied
	}
	if tok.IDToken == "" && previous == nil {
		return nil, errorString("token response has no id_token")
	}
	var tc *oidc.TokenClaims
	var claims jose.Claims
	if tok.IDToken != "" {
		t, c, err := checkedIDToken(m, ctx, meta, tok, l, previous, now)
		if err != nil {
			return nil, err
		}
		tc = t
		claims = c
	}
	if m.opts.Provider.UserinfoMerge {
		if err := userinfoIdentity(m, ctx, meta, tok.AccessToken, rec, tc, claims, previous); err != nil {
			return nil, err
		}
	} else if tc != nil {
		fillIdentity(m, rec, tc, claims)
	}
	if tc != nil {
		if l != nil && len(l.ACR) > 0 && indexOf(l.ACR, rec.ACR) < 0 {
			return nil, errACR
		}
		if rec.User == "" {
			return nil, errorString("the ID token's sub " + config.IdentifierProblem(tc.Subject) + ": no usable user identifier")
		}
		rec.IDToken = tok.IDToken
		if previous == nil && !tc.IssuedAt.IsZero() {
			// Back-channel logout by sub revokes sessions that signed in before the
			// logout token's iat: both times on the provider's clock (logout.go).
			rec.LoginTime = tc.IssuedAt.Unix()
		}
	}
	rec.AccessToken = ""
	if m.opts.Headers.AccessToken != "" {
		rec.AccessToken = tok.AccessToken
	}
	if tok.RefreshToken != "" {
		rec.RefreshToken = tok.RefreshToken
	}
	rec.TokenExpiry = 0
	if d := tok.Lifetime(); d > 0 {
		rec.TokenExpiry = now.Add(d).Unix()
	}
	return rec, nil
}

// checkedIDToken verifies a token response's ID token: signature, the claim rules of
// OIDC Core 3.1.3.7 (with the nonce and max_age of the login transaction l, nil at a
// refresh; and 12.2 against previous, at a refresh), and Google's hd when
// provider.checkHostedDomain is on.
func checkedIDToken(m *Middleware, ctx context.Context, meta *oidc.Metadata, tok *oidc.TokenResponse, l *session.Login, previous *session.Record, now time.Time) (*oidc.TokenClaims, jose.Claims, error) {
	p := &m.opts.Provider
	jws, claims, err := verifyJWS(m, ctx, meta, tok.IDToken, jose.DefaultMaxTokenLength, p.SigningAlgorithms)
	if err != nil {
		return nil, nil, err
	}
	check := oidc.IDTokenCheck{
		Issuer: p.Issuer, Tenants: p.AllowedTenants, ClientID: p.ClientID,
		AccessToken: tok.AccessToken, MaxAge: p.MaxAge, MaxAgeSet: p.MaxAgeSet && previous == nil,
		Now: now, Leeway: p.ClockSkew,
	}
	if l != nil {
		check.Nonce = l.Nonce
		if l.MaxAge > 0 {
			// OIDC Core 3.1.3.7 step 13, for the max_age this login sent.
			check.MaxAge = time.Duration(l.MaxAge) * time.Second
			check.MaxAgeSet = true
		}
	}
	if previous != nil {
		check.Previous = previousIDClaims(previous)
	}
	tc, err := oidc.CheckIDToken(jws.Header, claims, jws.Header.Alg, check)
	if err != nil {
		return nil, nil, err
	}
	if p.CheckHostedDomain && !hostedDomainAllowed(m, claims) {
		return nil, nil, errHostedDomain
	}
	return tc, claims, nil
}

// errHostedDomain: provider.checkHostedDomain is on and the ID token's hd is missing
// or not one of authorization.allowedDomains.
var errHostedDomain = errors.New("the ID token's hd (Google Workspace domain) is missing or not in authorization.allowedDomains")

// hostedDomainAllowed reports whether Google's hd claim (the Workspace domain of the
// account; absent for consumer accounts) is one of authorization.allowedDomains.
func hostedDomainAllowed(m *Middleware, claims jose.Claims) bool {
	hd, _, err := jose.StringClaim(claims, "hd")
	if err != nil || hd == "" {
		return false
	}
	return hasString(m.opts.Authorization.AllowedDomains, config.FoldEmail(hd))
}

// previousIDClaims is what a refreshed ID token is compared with: the claims of the
// session's current ID token (its aud, auth_time and nonce, OIDC Core 12.2), or,
// when the session holds none, only its issuer and subject.
func previousIDClaims(previous *session.Record) *oidc.TokenClaims {
	if previous.IDToken != "" {
		if tc, err := oidc.StoredIDTokenClaims(previous.IDToken); err == nil {
			return tc
		}
	}
	return &oidc.TokenClaims{Issuer: previous.Issuer, Subject: previous.Subject}
}

// fillIdentity copies the verified identity into the record: subject, issuer,
// provider session id, the user identifier, email, roles, groups, and (only when
// header templates need them) the claims.
func fillIdentity(m *Middleware, rec *session.Record, tc *oidc.TokenClaims, claims jose.Claims) {
	all := decodeClaimValues(claims)
	rec.Subject = tc.Subject
	rec.Issuer = tc.Issuer
	if tc.SID != "" {
		rec.SID = tc.SID
	}
	rec.Email = claimString(all, "email")
	rec.EmailVerified = claimBool(all, "email_verified")
	// The record keeps the identity the rules allow (identity.go), so Gatehouse's
	// own pages never show an unverified address as who is signed in; the email
	// claim and its flag are kept as sent and judged when the principal is built.
	rec.User, _ = trustedIdentity(m.opts.Authorization.RequireVerifiedEmail, claimString(all, m.opts.Provider.UserClaim), tc.Subject, rec.Email, rec.EmailVerified)
	rec.Roles = claimStrings(all, m.opts.Authorization.RolesClaim)
	rec.Groups = claimStrings(all, m.opts.Authorization.GroupsClaim)
	rec.AuthTime = 0
	if !tc.AuthTime.IsZero() {
		rec.AuthTime = tc.AuthTime.Unix()
	}
	rec.ACR = claimString(all, "acr")
	rec.Claims = nil
	rec.ClaimSet = ""
	if len(m.opts.Headers.TemplateNames) > 0 {
		for _, k := range []string{"aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "auth_time", "jti", "azp"} {
			delete(all, k)
		}
		rec.Claims = all
		rec.ClaimSet = "*"
	} else if names := m.opts.Policy.ClaimNames; len(names) > 0 {
		// Only the claims the rules read: every byte is sent with every request.
		kept := make(map[string]any, len(names))
		for _, n := range names {
			if v, ok := all[n]; ok {
				kept[n] = v
			}
		}
		rec.Claims = kept
		rec.ClaimSet = m.opts.Policy.ClaimSet
	}
}

// staleLoginMessage is shown for a callback without a usable login transaction.
const staleLoginMessage = "This sign-in link has expired or was already used. Go back to the page you wanted and try again."

// callbackFailed logs why a callback failed (kind: one of the login* reasons of
// metrics.go; reason: the details), counts it against the client, and shows the user
// what to do. The log line carries no token, code or state.
func callbackFailed(m *Middleware, rw http.ResponseWriter, ip string, kind int, reason, userMessage string) {
	m.met.c.loginFailures[kind].Add(1)
	m.log.Warn(logging.EventLoginFailed, "sign-in failed", logging.Fields{"client": m.log.Client(ip), "kind": loginFailureNames[kind], "reason": reason})
	countFailure(m, purposeCallback, throttleCallback, ip)
	errorPage(m, rw, http.StatusUnauthorized, userMessage)
}

// providerUnavailable answers 503 when discovery (or the provider) cannot be reached.
func providerUnavailable(m *Middleware, rw http.ResponseWriter, err error) {
	m.log.Warn(logging.EventProviderUnavailable, "identity provider unavailable", logging.Fields{"error": err})
	rw.Header().Set("Retry-After", "5")
	errorPage(m, rw, http.StatusServiceUnavailable, "The identity provider cannot be reached right now. Try again in a moment.")
}
