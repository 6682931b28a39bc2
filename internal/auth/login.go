package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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

// unauthenticated answers a request with no acceptable credentials: API clients get
// 401, browsers are sent to the provider to sign in.
func unauthenticated(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	if wantsJSON(req) {
		m.met.c.requests[outcome401].Add(1)
		h := rw.Header()
		m.ownHeaders(h)
		if m.opts.Bearer.Enabled && m.opts.Bearer.WWWAuthenticate {
			h.Set("WWW-Authenticate", bearerChallenge("", "", ""))
		}
		h.Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusUnauthorized)
		_, _ = rw.Write([]byte(`{"error":"unauthorized","error_description":"authentication required"}` + "\n"))
		return
	}
	startLogin(m, rw, req)
}

// startLogin begins the authorization-code flow (OIDC Core 3.1.2.1): a login
// transaction of its own (state, nonce, PKCE verifier, return path) in a short-lived
// sealed cookie, and a redirect to the provider's authorization endpoint.
func startLogin(m *Middleware, rw http.ResponseWriter, req *http.Request) {
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
	h := rw.Header()
	l, err := session.StartLogin(m.sessions, h, req, returnTarget(m, req), m.opts.Provider.PKCE, time.Now())
	if err != nil {
		m.met.c.requests[outcomeError].Add(1)
		m.log.Error(logging.EventLoginStartFailed, "cannot start a login", logging.Fields{"error": err})
		errorPage(m, rw, http.StatusInternalServerError, "Sign-in could not be started.")
		return
	}
	p := &m.opts.Provider
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
	if p.MaxAgeSet {
		q.Set("max_age", itoa64(int64(p.MaxAge/time.Second)))
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
// login transaction: the request's path (safeReturnPath) on the callback's host, or,
// with a central callback, scheme://host/path when the request's host is one of
// provider.allowedReturnHosts (reqsafe.ReturnHost).
func returnTarget(m *Middleware, req *http.Request) string {
	path := safeReturnPath(req)
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
	rec, err := newSessionRecord(m, ctx, meta, tok, l.Nonce, nil, now)
	if err == errHostedDomain {
		m.met.c.loginFailures[loginHostedDomain].Add(1)
		m.log.Info(logging.EventLoginFailed, "sign-in refused: hosted domain not allowed", logging.Fields{"client": m.log.Client(ip), "kind": loginFailureNames[loginHostedDomain], "reason": err.Error()})
		errorPage(m, rw, http.StatusForbidden, "This application only accepts accounts of its organisation. Sign in with your organisation's account.")
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

// newSessionRecord verifies the ID token of a token response and builds the session
// record from it. previous is the record being refreshed (nil at login): a refreshed
// ID token must keep iss, sub and aud (OIDC Core 12.2), and a refresh without one keeps
// the previous identity. With provider.userinfo merge, the userinfo answer joins the
// ID token's claims (userinfoIdentity).
func newSessionRecord(m *Middleware, ctx context.Context, meta *oidc.Metadata, tok *oidc.TokenResponse, nonce string, previous *session.Record, now time.Time) (*session.Record, error) {
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
		t, c, err := checkedIDToken(m, ctx, meta, tok, nonce, previous, now)
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
// OIDC Core 3.1.3.7 (and 12.2 against previous, at a refresh), and Google's hd when
// provider.checkHostedDomain is on.
func checkedIDToken(m *Middleware, ctx context.Context, meta *oidc.Metadata, tok *oidc.TokenResponse, nonce string, previous *session.Record, now time.Time) (*oidc.TokenClaims, jose.Claims, error) {
	p := &m.opts.Provider
	jws, claims, err := verifyJWS(m, ctx, meta, tok.IDToken, jose.DefaultMaxTokenLength, p.SigningAlgorithms)
	if err != nil {
		return nil, nil, err
	}
	check := oidc.IDTokenCheck{
		Issuer: p.Issuer, Tenants: p.AllowedTenants, ClientID: p.ClientID, Nonce: nonce,
		AccessToken: tok.AccessToken, MaxAge: p.MaxAge, MaxAgeSet: p.MaxAgeSet && previous == nil,
		Now: now, Leeway: p.ClockSkew,
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
	rec.Claims = nil
	if len(m.opts.Headers.TemplateNames) > 0 {
		for _, k := range []string{"aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "auth_time", "jti", "azp"} {
			delete(all, k)
		}
		rec.Claims = all
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
