package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/pages"
	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Sign-out: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), back-channel
// logout (OpenID Connect Back-Channel Logout 1.0) and front-channel logout (OpenID
// Connect Front-Channel Logout 1.0). Every path ends a session the same way: its
// revocation is written to the cache's revocation keyspace first (enforced here at
// once, on the other replicas within 100 ms through Redis, replayed from the outbox
// after a Redis outage), then its server-side record is deleted and the browser's
// cookies cleared. See docs/LOGOUT.md.

const (
	// maxLogoutForm caps the body of an RP-initiated logout POST.
	maxLogoutForm = 16 << 10
	// maxBackchannelBody caps a back-channel logout request body: a logout token is
	// at most jose.DefaultMaxTokenLength bytes, form-encoded.
	maxBackchannelBody = 2*jose.DefaultMaxTokenLength + 1024
	// logoutBodyTimeout bounds how long reading a logout request body may take.
	logoutBodyTimeout = 10 * time.Second
	// maxLogoutTokenAge is the oldest iat a logout token may have. Used jti values
	// are remembered for replayTTL, longer than that, so a token cannot come back
	// after its jti was forgotten.
	maxLogoutTokenAge = 55 * time.Minute
	replayTTL         = time.Hour
	// csrfParam is the form and query parameter carrying the logout CSRF token.
	csrfParam = "csrf"
)

// handleLogout is RP-initiated logout at logout.path. A POST from this site (or a
// POST or GET carrying the session's CSRF token) signs the session out: revoked on
// every replica, server-side record deleted, cookies cleared, refresh token revoked
// at the provider (RFC 7009), then the browser goes to the provider's
// end_session_endpoint. A GET without the token (a link, or a cross-site image tag)
// signs nobody out: it shows a confirmation page whose form carries the token.
func handleLogout(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	m.met.c.requests[outcomeEndpoint].Add(1)
	token, ok := actionToken(m, rw, req, true, "Sign out")
	if !ok {
		return
	}
	now := time.Now()
	rec := currentSession(m, req, now)
	if rec == nil {
		// Nothing to sign out: forget whatever the browser holds.
		session.ClearSession(m.sessions, rw.Header(), req)
		signedOutPage(m, rw, req)
		return
	}
	confirmed := req.Method == http.MethodPost && sameOriginPost(req)
	if !confirmed && req.Method != http.MethodHead && token != "" {
		confirmed = validSessionToken(m, csrfLogout, rec.ID, token)
	}
	if !confirmed {
		logoutConfirmation(m, rw, req, rec)
		return
	}
	signOut(m, rw, req, rec, now)
}

// actionToken returns the CSRF token a session action's request carries: the csrf
// field of a POST form, or with fromQuery the csrf query parameter of a GET. A
// malformed form (400) or another method (405) is answered here, and false returned.
// what names the action for the error pages ("Sign out").
func actionToken(m *Middleware, rw http.ResponseWriter, req *http.Request, fromQuery bool, what string) (string, bool) {
	switch req.Method {
	case http.MethodPost:
		form, ok := readForm(rw, req, maxLogoutForm)
		if !ok {
			errorPage(m, rw, http.StatusBadRequest, what+": the request is malformed.")
			return "", false
		}
		return form.Get(csrfParam), true
	case http.MethodGet, http.MethodHead:
		if fromQuery {
			return req.URL.Query().Get(csrfParam), true
		}
		return "", true
	}
	rw.Header().Set("Allow", "GET, POST")
	errorPage(m, rw, http.StatusMethodNotAllowed, what+": send a POST request.")
	return "", false
}

// currentSession returns the request's usable session, or nil (none, unreadable,
// expired or already revoked).
func currentSession(m *Middleware, req *http.Request, now time.Time) *session.Record {
	rec, err := readSession(m, req, now)
	if err != nil || sessionRevoked(m, req.Context(), rec) {
		return nil
	}
	return rec
}

// sameOriginPost reports whether a POST came from a page of this site. Browsers send
// Sec-Fetch-Site, and Origin on every cross-origin POST (Fetch standard); a request
// with neither did not come from another site's page.
func sameOriginPost(req *http.Request) bool {
	if s := req.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	o := req.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, req.Host)
}

// Purposes of the CSRF tokens bound to a session (sessionToken): a token for one
// action is worthless for the other.
const (
	csrfLogout = "gatehouse logout csrf v1"
	csrfOthers = "gatehouse sign-out-others csrf v1"
)

// sessionToken returns the CSRF token of session id for purpose: HMAC-SHA256 over
// the instance name and the session id, keyed with a key derived from the session
// key material and the purpose. Only the browser holding the session (and
// Gatehouse) can know it.
func sessionToken(m *Middleware, purpose, id string, keyMaterial []byte) string {
	k := hmac.New(sha256.New, keyMaterial)
	k.Write([]byte(purpose))
	mac := hmac.New(sha256.New, k.Sum(nil))
	mac.Write([]byte(m.name))
	mac.Write([]byte{0})
	mac.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// validSessionToken checks token against session id's token for purpose under every
// configured session key (rotation), in constant time.
func validSessionToken(m *Middleware, purpose, id, token string) bool {
	ok := false
	for _, k := range m.opts.Session.Keys {
		if subtle.ConstantTimeCompare([]byte(sessionToken(m, purpose, id, k)), []byte(token)) == 1 {
			ok = true
		}
	}
	return ok
}

// logoutConfirmation answers a sign-out request that did not prove it came from this
// site: nothing is signed out; a page asks, with a form that carries the token.
func logoutConfirmation(m *Middleware, rw http.ResponseWriter, req *http.Request, rec *session.Record) {
	confirmationPage(m, rw, req, rec, &confirmation{kind: pages.KindSignOut, heading: "Sign out?",
		note: "Signing out ends your session in this application.", action: m.logoutPath, purpose: csrfLogout,
		button: "Sign out", toProvider: true})
}

// confirmation is what a confirmation page asks: its kind of page, heading, a note
// after who is signed in, and the form (action, CSRF purpose, button). toProvider: the
// form's answer may redirect to the provider's end-session endpoint.
type confirmation struct {
	kind, heading, note, action, purpose, button string
	toProvider                                   bool
}

// confirmationPage answers a request for a session action (sign-out, signing out the
// other devices) that did not prove it came from this site: nothing is done; a page
// asks, with a form that carries the session's token for the action. 200 for a GET,
// 403 for a POST.
func confirmationPage(m *Middleware, rw http.ResponseWriter, req *http.Request, rec *session.Record, c *confirmation) {
	h := rw.Header()
	m.ownHeaders(h)
	// Never framed, whatever securityHeaders.profile says: a framed button could be
	// clicked for the user (clickjacking).
	h.Set("X-Frame-Options", "DENY")
	switch {
	case m.opts.SecurityHeaders.Profile == "strict" && c.toProvider:
		h.Set("Content-Security-Policy", signOutFormCSP(m, req.Context()))
	case m.opts.SecurityHeaders.Profile == "strict":
		h.Set("Content-Security-Policy", strictCSP(m.opts.Pages.ImgSrc, "'self'"))
	case h.Get("Content-Security-Policy") == "":
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	}
	status := http.StatusOK
	if req.Method == http.MethodPost {
		status = http.StatusForbidden
	}
	user, _ := trustedIdentity(m.opts.Authorization.RequireVerifiedEmail, rec.User, rec.Subject, rec.Email, rec.EmailVerified)
	writePage(m, rw, status, &pages.Page{
		Kind: c.kind, Status: status, Heading: c.heading, User: user, Paragraphs: []string{c.note},
		FormAction: c.action, FormField: csrfParam, FormToken: sessionToken(m, c.purpose, rec.ID, m.opts.Session.Keys[0]), FormButton: c.button,
	})
}

// signOut ends rec: revoked first (every replica refuses it from now on), its
// server-side record deleted, the cookies cleared, its refresh token revoked at the
// provider, then the browser is sent to the provider's end-session endpoint, or to a
// local signed-out page when the provider has none.
func signOut(m *Middleware, rw http.ResponseWriter, req *http.Request, rec *session.Record, now time.Time) {
	// The browser may go away mid-way; the sign-out must not.
	ctx := context.WithoutCancel(req.Context())
	h := rw.Header()
	err := revokeSessionID(m, ctx, rec, now)
	dropServerSession(m, ctx, rec)
	session.ClearSession(m.sessions, h, req)
	if err != nil {
		logoutNotRecorded(m, logoutRP, rec.Subject, err)
		errorPage(m, rw, http.StatusServiceUnavailable, "Sign-out could not be recorded on every server. Try again in a moment.")
		return
	}
	loggedOut(m, logoutRP, logging.Fields{"user": m.log.ID(rec.Subject), "client": m.log.Client(clientKey(m.opts.TrustedProxies, req))})
	meta, err := m.provider.discovery.Metadata(ctx)
	if err != nil {
		m.log.Warn(logging.EventLogoutLocalOnly, "sign-out: provider metadata unavailable, ending locally", logging.Fields{"error": err})
		signedOutPage(m, rw, req)
		return
	}
	revokeAtProvider(m, ctx, meta, rec)
	if meta.EndSessionEndpoint == "" {
		signedOutPage(m, rw, req)
		return
	}
	target, err := endSessionURL(m, req, meta, rec)
	if err != nil {
		m.log.Error(logging.EventLogoutEndSessionFailed, "sign-out: cannot build the end-session request", logging.Fields{"error": err})
		signedOutPage(m, rw, req)
		return
	}
	m.ownHeaders(h)
	h.Set("Location", target)
	rw.WriteHeader(http.StatusFound)
}

// revokeSessionID writes the revocation of one local session, for at least as long
// as the session could otherwise still be used.
func revokeSessionID(m *Middleware, ctx context.Context, rec *session.Record, now time.Time) error {
	left := time.Unix(rec.CreatedAt, 0).Add(m.opts.Session.Lifetime).Sub(now)
	ttl := left + m.opts.Provider.ClockSkew + time.Minute
	return m.store.Set(ctx, m.ks.revoked, revokedSessionID(rec.ID), []byte(itoa64(now.Unix())), ttl)
}

// revokeAtProvider revokes the session's refresh token (or, without one, its access
// token) at the provider's revocation endpoint (RFC 7009 section 2.1) when
// logout.revokeTokens is on and the provider advertises one. A failure is logged:
// the local session is already revoked.
func revokeAtProvider(m *Middleware, ctx context.Context, meta *oidc.Metadata, rec *session.Record) {
	if !m.opts.Logout.RevokeTokens || meta.RevocationEndpoint == "" {
		return
	}
	tok := rec.RefreshToken
	hint := "refresh_token"
	if tok == "" {
		tok = rec.AccessToken
		hint = "access_token"
	}
	if tok == "" {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, m.opts.Provider.HTTPTimeout)
	defer cancel()
	if err := m.provider.client.Revoke(rctx, oidc.RevocationEndpoint(meta), tok, hint); err != nil {
		m.log.Warn(logging.EventLogoutTokenRevokeFailed, "sign-out: the provider did not revoke the "+hint,
			logging.Fields{"user": m.log.ID(rec.Subject), "token": hint, "error": err})
	}
}

// endSessionURL builds the RP-Initiated Logout 1.0 section 2 request: id_token_hint,
// client_id, post_logout_redirect_uri and state.
func endSessionURL(m *Middleware, req *http.Request, meta *oidc.Metadata, rec *session.Record) (string, error) {
	u, err := url.Parse(meta.EndSessionEndpoint)
	if err != nil {
		return "", errorString("end_session_endpoint is not a URL: " + strconvQuote(meta.EndSessionEndpoint))
	}
	q := u.Query()
	if rec.IDToken != "" {
		q.Set("id_token_hint", rec.IDToken)
	}
	q.Set("client_id", m.opts.Provider.ClientID)
	if target, ok := postLogoutURL(m, req); ok {
		q.Set("post_logout_redirect_uri", target)
	}
	state, err := session.RandomString(16)
	if err != nil {
		return "", err
	}
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// postLogoutURL returns logout.postLogoutRedirectURL as an absolute URL: a path is
// resolved against the request's scheme and host (checked like the redirect URI's),
// an absolute URL is used as configured (validated at start-up). A path that is not
// plainly local (reqsafe.IsLocalPath) is refused, as the login return path would be.
func postLogoutURL(m *Middleware, req *http.Request) (string, bool) {
	p := m.opts.Logout.PostLogoutRedirectURL
	if !strings.HasPrefix(p, "/") {
		return p, p != ""
	}
	if !reqsafe.IsLocalPath(p) {
		return "", false
	}
	origin, ok := requestOrigin(req)
	if !ok {
		return "", false
	}
	return origin + p, true
}

// requestOrigin returns the request's scheme (requestScheme) and host; false for a
// Host header that is not a plain host.
func requestOrigin(req *http.Request) (string, bool) {
	host := req.Host
	if host == "" || len(host) > 255 || strings.ContainsAny(host, "/\\@?#%\"'<> \t\r\n") {
		return "", false
	}
	return requestScheme(req) + "://" + host, true
}

// requestScheme is https when the connection or X-Forwarded-Proto (set by Traefik's
// entry point) says so, else http.
func requestScheme(req *http.Request) string {
	if fp := req.Header.Get("X-Forwarded-Proto"); fp == "https" || fp == "http" {
		return fp
	}
	if req.TLS != nil {
		return "https"
	}
	return "http"
}

// signedOutPage is Gatehouse's signed-out page, served without authentication at
// logout.signedOutPath (the default post-logout landing: a page behind the middleware
// would start a new sign-in at once, and with the provider's session still alive, sign
// the user straight back in), and at the end of a sign-out when the provider has no
// end-session endpoint. It links to the post-logout URL, or to the site's root when
// that URL is this page.
func signedOutPage(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	next := m.opts.Logout.PostLogoutRedirectURL
	if (strings.HasPrefix(next, "/") && !reqsafe.IsLocalPath(next)) || next == m.signedOutPath {
		next = "/"
	}
	showPage(m, rw, http.StatusOK, &pages.Page{
		Kind: pages.KindSignedOut, Status: http.StatusOK, Heading: "Signed out",
		Paragraphs: []string{"You are signed out of this application."}, LinkHref: next, LinkText: "Continue",
	})
}

// readForm reads an application/x-www-form-urlencoded body of at most max bytes
// within logoutBodyTimeout. Another content type yields an empty form; false means
// the body was too large, unreadable or malformed.
func readForm(rw http.ResponseWriter, req *http.Request, max int64) (url.Values, bool) {
	ct, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" || req.Body == nil {
		return url.Values{}, err == nil || req.Header.Get("Content-Type") == ""
	}
	body, ok := readBody(rw, req, max)
	if !ok {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, false
	}
	return form, true
}

// readBody reads at most max bytes of the request body within logoutBodyTimeout: the
// deadline is set on the connection when the server lets a handler do so (the length
// cap holds regardless).
func readBody(rw http.ResponseWriter, req *http.Request, max int64) ([]byte, bool) {
	_ = http.NewResponseController(rw).SetReadDeadline(time.Now().Add(logoutBodyTimeout))
	b, err := io.ReadAll(io.LimitReader(req.Body, max+1))
	if err != nil || int64(len(b)) > max {
		return nil, false
	}
	return b, true
}

// handleBackchannel is OpenID Connect Back-Channel Logout 1.0 at
// logout.backchannelPath: the provider POSTs a logout token (section 2.5). It is
// validated as section 2.6 requires: signature and algorithm as for an ID token, the
// claim rules of oidc.CheckLogoutToken, and its jti not used before on any replica.
// Success revokes the provider session (sid) or, with only sub, every session of the
// subject that signed in before the token's iat, and answers 200; any failure
// answers 400 (section 2.8). Both with Cache-Control: no-store.
//
// Refused requests count against the client's back-channel throttle, and a client
// over it gets 429 — except for a logout token whose signature verifies: junk sent
// from the provider's address (or a shared NAT) must never make Gatehouse refuse the
// provider's own signed logout, which would leave the session alive.
func handleBackchannel(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	m.met.c.requests[outcomeEndpoint].Add(1)
	h := rw.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if req.Method != http.MethodPost {
		m.met.c.logoutFailures[logoutBackchannel].Add(1)
		h.Set("Allow", "POST")
		backchannelError(m, rw, http.StatusMethodNotAllowed, "invalid_request", "expected POST")
		return
	}
	ip := clientKey(m.opts.TrustedProxies, req)
	blocked, left := throttled(m.throttle, purposeBackchannel, ip)
	reason, signed := backchannelLogout(m, rw, req)
	if reason == "" {
		rw.WriteHeader(http.StatusOK)
		return
	}
	m.met.c.logoutFailures[logoutBackchannel].Add(1)
	if blocked && !signed {
		tooManyRequests(m, rw, left)
		return
	}
	m.log.Warn(logging.EventLogoutRefused, "back-channel logout refused", logging.Fields{"kind": logoutKindNames[logoutBackchannel],
		"client": m.log.Client(ip), "reason": reason})
	countFailure(m, purposeBackchannel, throttleBackchannel, ip)
	backchannelError(m, rw, http.StatusBadRequest, "invalid_request", "the logout request was not accepted")
}

// backchannelLogout validates the logout request and performs the logout; it returns
// why it refused, or "" on success, and whether the logout token's signature
// verified.
func backchannelLogout(m *Middleware, rw http.ResponseWriter, req *http.Request) (string, bool) {
	deadline := time.Now().Add(logoutBodyTimeout)
	ct, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" || req.Body == nil {
		return "expected an application/x-www-form-urlencoded body", false
	}
	body, ok := readBody(rw, req, maxBackchannelBody)
	if !ok {
		return "body unreadable or larger than " + strconv.Itoa(maxBackchannelBody) + " bytes", false
	}
	raw, reason := logoutTokenFromBody(body)
	if reason != "" {
		return reason, false
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(req.Context()), deadline.Add(m.opts.Provider.HTTPTimeout))
	defer cancel()
	meta, err := m.provider.discovery.Metadata(ctx)
	if err != nil {
		return "provider metadata unavailable: " + err.Error(), false
	}
	now := time.Now()
	jws, claims, err := verifyJWS(m, ctx, meta, raw, jose.DefaultMaxTokenLength, m.opts.Provider.SigningAlgorithms)
	if err != nil {
		return "logout token: " + err.Error(), false
	}
	return revokeLoggedOut(m, ctx, jws, claims, now), true
}

// revokeLoggedOut applies a logout token whose signature verified: its claims
// (oidc.CheckLogoutToken), its jti used once across replicas, then the revocation.
// It returns why it refused, or "".
func revokeLoggedOut(m *Middleware, ctx context.Context, jws *jose.JWS, claims jose.Claims, now time.Time) string {
	tc, err := oidc.CheckLogoutToken(jws.Header, claims, oidc.LogoutTokenCheck{
		Issuer: m.opts.Provider.Issuer, Tenants: m.opts.Provider.AllowedTenants, ClientID: m.opts.Provider.ClientID,
		MaxAge: maxLogoutTokenAge, Now: now, Leeway: m.opts.Provider.ClockSkew,
	})
	if err != nil {
		return "logout token: " + err.Error()
	}
	// Section 2.6 step 7: a jti is used once, across replicas (SET NX in Redis; this
	// replica's memory while Redis is unreachable).
	replayID := tc.Issuer + "\x00" + tc.JTI
	fresh, err := m.store.SetNX(ctx, m.ks.replay, replayID, []byte("1"), replayTTL)
	if err != nil {
		return "replay check failed: " + err.Error()
	}
	if !fresh {
		return "logout token jti already used"
	}
	if err := revokeFromLogoutToken(m, ctx, tc); err != nil {
		// Let the provider retry with the same token.
		_ = m.store.Delete(ctx, m.ks.replay, replayID)
		return "revocation not recorded: " + err.Error()
	}
	return ""
}

// logoutTokenFromBody returns the single logout_token of a form body.
func logoutTokenFromBody(body []byte) (string, string) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "form body is malformed"
	}
	v := form["logout_token"]
	if len(v) != 1 || v[0] == "" {
		return "", "expected one logout_token parameter, got " + strconv.Itoa(len(v))
	}
	return v[0], ""
}

// revokeFromLogoutToken revokes what a validated logout token names: the provider
// session sid (every local session that signed in within it), or, with only sub,
// every session of the subject that signed in at or before the token's iat.
func revokeFromLogoutToken(m *Middleware, ctx context.Context, tc *oidc.TokenClaims) error {
	ks := m.ks.revoked
	if tc.SID != "" {
		if err := m.store.Set(ctx, ks, revokedSID(tc.Issuer, tc.SID), []byte("1"), ks.MaxTTL); err != nil {
			return err
		}
		loggedOut(m, logoutBackchannel, logging.Fields{"sid": m.log.ID(tc.SID)})
		dropServerSessionOfSID(m, ctx, tc.Issuer, tc.SID)
		return nil
	}
	if _, _, err := revokeSubjectBefore(m, ctx, tc.Issuer, tc.Subject, tc.IssuedAt.Unix()); err != nil {
		return err
	}
	loggedOut(m, logoutBackchannel, logging.Fields{"user": m.log.ID(tc.Subject)})
	return nil
}

// revokeSubjectBefore records that the subject's sessions (and bearer tokens) issued
// at or before notBefore are revoked, and returns the time recorded and where the
// write is (cache.SetRevocation). The recorded time never moves backwards: an older
// logout token arriving late leaves a later one in place (written again, so that the
// answer says where it is). (Two replicas racing with different times can still leave
// the earlier one, last writer winning in Redis; the next revocation of the subject
// corrects it.)
func revokeSubjectBefore(m *Middleware, ctx context.Context, iss, sub string, notBefore int64) (int64, string, error) {
	ks := m.ks.revoked
	id := revokedSub(iss, sub)
	if v, ok, _ := cache.Lookup(m.store, ctx, ks, id); ok {
		if cur, err := strconv.ParseInt(string(v), 10, 64); err == nil && cur > notBefore {
			notBefore = cur
		}
	}
	state, err := cache.SetRevocation(m.store, ctx, ks, id, []byte(itoa64(notBefore)), ks.MaxTTL)
	return notBefore, state, err
}

// backchannelError writes a JSON error body (RFC 6749 section 5.2 style) with the
// status.
func backchannelError(m *Middleware, rw http.ResponseWriter, status int, code, description string) {
	h := rw.Header()
	h.Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(`{"error":"` + code + `","error_description":"` + description + `"}` + "\n"))
}

// handleFrontchannel is OpenID Connect Front-Channel Logout 1.0 at
// logout.frontchannelPath: the provider's signed-out page frames it with iss and sid
// (section 2, frontchannel_logout_session_required). When they name the browser's
// session, that session and the provider session are revoked and the cookies
// cleared; otherwise nothing is. The response may be framed by the provider (no
// X-Frame-Options, no frame-ancestors) and is never cached.
func handleFrontchannel(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	m.met.c.requests[outcomeEndpoint].Add(1)
	h := rw.Header()
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/html; charset=utf-8")
	if m.opts.SecurityHeaders.Profile != "off" {
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if m.opts.SecurityHeaders.Profile == "strict" {
			h.Set("Content-Security-Policy", "default-src 'none'")
		}
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		h.Set("Allow", "GET")
		rw.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	q := req.URL.Query()
	iss := q.Get("iss")
	sid := q.Get("sid")
	if _, ok := oidc.IssuerTenant(iss, m.opts.Provider.Issuer, m.opts.Provider.AllowedTenants); !ok || sid == "" || len(q["iss"]) != 1 || len(q["sid"]) != 1 {
		rw.WriteHeader(http.StatusBadRequest)
		_, _ = rw.Write([]byte("<!doctype html><meta charset=utf-8><title>Sign-out</title><p>Not a front-channel logout request of this application's provider.</p>\n"))
		return
	}
	now := time.Now()
	rec := currentSession(m, req, now)
	if rec == nil || rec.Issuer != iss || rec.SID == "" || subtle.ConstantTimeCompare([]byte(rec.SID), []byte(sid)) != 1 {
		rw.WriteHeader(http.StatusOK)
		_, _ = rw.Write([]byte("<!doctype html><meta charset=utf-8><title>Sign-out</title><p>No session of this provider session here.</p>\n"))
		return
	}
	ctx := context.WithoutCancel(req.Context())
	err := revokeSessionID(m, ctx, rec, now)
	if err == nil {
		err = m.store.Set(ctx, m.ks.revoked, revokedSID(iss, sid), []byte("1"), m.ks.revoked.MaxTTL)
	}
	dropServerSession(m, ctx, rec)
	session.ClearSession(m.sessions, h, req)
	if err != nil {
		logoutNotRecorded(m, logoutFrontchannel, rec.Subject, err)
		rw.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	loggedOut(m, logoutFrontchannel, logging.Fields{"user": m.log.ID(rec.Subject), "sid": m.log.ID(sid)})
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write([]byte("<!doctype html><meta charset=utf-8><title>Signed out</title><p>Signed out.</p>\n"))
}

// loggedOut counts and logs a sign-out of kind (logoutRP, ...) with fields f.
func loggedOut(m *Middleware, kind int, f logging.Fields) {
	m.met.c.logouts[kind].Add(1)
	f["kind"] = logoutKindNames[kind]
	m.log.Info(logging.EventLogoutSucceeded, "signed out", f)
}

// logoutNotRecorded counts and logs a sign-out whose revocation could not be
// recorded for every replica (the session is still refused on this one).
func logoutNotRecorded(m *Middleware, kind int, subject string, err error) {
	m.met.c.logoutFailures[kind].Add(1)
	m.log.Error(logging.EventLogoutNotRecorded, "sign-out not recorded for every replica",
		logging.Fields{"kind": logoutKindNames[kind], "user": m.log.ID(subject), "error": err})
}
