package testop

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// refreshGrant is an issued refresh token. family ties together every token that
// descends from one authorization code, so reuse detection and revocation can end
// them all (RFC 9700 section 4.14.2, RFC 7009 section 2.1).
type refreshGrant struct {
	clientID string
	username string
	scope    string
	sid      string
	family   string
	authTime time.Time
	acr      string
	issuedAt time.Time
	expires  time.Time
	nonce    string // of the authentication request (RefreshRepeatsNonce)
	used     bool   // rotated out
	revoked  bool
}

// accessGrant is an issued access token; claims is what introspection reports.
type accessGrant struct {
	clientID string
	username string
	scope    string
	family   string
	sid      string
	claims   map[string]any
	issuedAt time.Time
	expires  time.Time
	revoked  bool
	// introspection is merged last into active introspection answers
	// (AccessTokenOptions.IntrospectionClaims).
	introspection map[string]any
}

// serveDiscovery is OpenID Connect Discovery 1.0 section 3, plus the metadata of RFC
// 8414, RFC 9207, RFC 7009, RFC 7662, RFC 7636 and the logout specifications.
func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	m := p.mis()
	ep := p.Endpoints()
	issuer := p.issuer
	if p.opts.MultiTenant {
		issuer = p.IssuerTemplate()
	}
	if m.Has(DiscoveryIssuerMismatch) {
		issuer += "/wrong"
	}
	p.mu.Lock()
	alg := p.signingAlg
	methods := p.authMethods
	p.mu.Unlock()
	if methods == nil {
		methods = acceptedAuthMethods
	}
	algs := []string{alg}
	for _, f := range keyFamilies {
		if f != alg {
			algs = append(algs, f)
		}
	}
	doc := map[string]any{
		"issuer":                                           issuer,
		"authorization_endpoint":                           ep.Authorization,
		"token_endpoint":                                   ep.Token,
		"userinfo_endpoint":                                ep.Userinfo,
		"jwks_uri":                                         ep.JWKS,
		"end_session_endpoint":                             ep.EndSession,
		"revocation_endpoint":                              ep.Revocation,
		"introspection_endpoint":                           ep.Introspection,
		"scopes_supported":                                 []string{"openid", "profile", "email", "offline_access"},
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query"},
		"grant_types_supported":                            []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            algs,
		"token_endpoint_auth_methods_supported":            methods,
		"token_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"revocation_endpoint_auth_methods_supported":       methods,
		"introspection_endpoint_auth_methods_supported":    withoutNone(methods),
		"userinfo_signing_alg_values_supported":            algs,
		"code_challenge_methods_supported":                 []string{"S256"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "acr", "nonce", "sid", "at_hash",
			"email", "email_verified", "name", "preferred_username", "groups", "roles", "realm_access"},
		"prompt_values_supported":                        []string{"none", "login", "consent", "select_account"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"authorization_response_iss_parameter_supported": !m.Has(IssParameterUnsupported),
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"frontchannel_logout_supported":                  true,
		"frontchannel_logout_session_supported":          true,
	}
	if p.opts.AllowPlainPKCE {
		doc["code_challenge_methods_supported"] = []string{"S256", "plain"}
	}
	if len(p.opts.ACRValues) > 0 {
		doc["acr_values_supported"] = p.opts.ACRValues
	}
	if m.Has(NoEndSessionEndpoint) {
		delete(doc, "end_session_endpoint")
	}
	if m.Has(NoRevocationEndpoint) {
		delete(doc, "revocation_endpoint")
		delete(doc, "revocation_endpoint_auth_methods_supported")
	}
	if m.Has(NoIntrospectionEndpoint) {
		delete(doc, "introspection_endpoint")
		delete(doc, "introspection_endpoint_auth_methods_supported")
	}
	if m.Has(NoCodeChallengeMethods) {
		delete(doc, "code_challenge_methods_supported")
	}
	if m.Has(NoUserinfoEndpoint) {
		delete(doc, "userinfo_endpoint")
	}
	if len(methods) == 0 {
		delete(doc, "token_endpoint_auth_methods_supported")
		delete(doc, "revocation_endpoint_auth_methods_supported")
		delete(doc, "introspection_endpoint_auth_methods_supported")
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, doc)
}

// serveJWKS is the key set (RFC 7517 section 5) with a Cache-Control max-age.
func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	m := p.mis()
	p.mu.Lock()
	var keys []map[string]any
	if m.Has(KidAbsentSingleKey) {
		keys = append(keys, p.keys.current[familyOf(p.signingAlg)].publicJWK())
	} else {
		for _, k := range p.keys.published(p.now(), p.opts.RetiredKeyTTL) {
			keys = append(keys, k.publicJWK())
		}
	}
	maxAge := p.jwksMaxAge
	p.mu.Unlock()
	if maxAge < 0 {
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// acceptedAuthMethods are the client authentication methods the provider accepts
// (and advertises unless Options.TokenEndpointAuthMethods says otherwise).
var acceptedAuthMethods = []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"}

// assertionAlgs are the algorithms of client assertions the provider verifies.
var assertionAlgs = []string{"RS256", "PS256", "ES256", "HS256"}

func withoutNone(methods []string) []string {
	var out []string
	for _, m := range methods {
		if m != "none" {
			out = append(out, m)
		}
	}
	return out
}

// authenticateClient checks client authentication (RFC 6749 section 2.3.1, OIDC Core
// 9): HTTP Basic with form-encoded id and secret, client_id and client_secret in the
// body, a JWT client assertion (client_secret_jwt, private_key_jwt: RFC 7523,
// checkAssertion), or — for a public client when allowPublic — client_id alone. On
// failure it answers and returns nil. endpoint names the endpoint called (an EP*
// name), whose URL an assertion's aud may be.
func (p *Provider) authenticateClient(w http.ResponseWriter, r *http.Request, allowPublic bool, endpoint string) *Client {
	form := r.PostForm
	user, pass, basic := r.BasicAuth()
	var id, secret, method string
	switch {
	case basic:
		if form.Get("client_secret") != "" || form.Get("client_assertion") != "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "more than one client authentication method")
			return nil
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			p.clientAuthFailed(w, true, "client credentials in Authorization are not form-encoded")
			return nil
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			p.clientAuthFailed(w, true, "client_id in the body differs from the one in Authorization")
			return nil
		}
		method = "client_secret_basic"
	case form.Get("client_assertion") != "" || form.Get("client_assertion_type") != "":
		if form.Get("client_secret") != "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "more than one client authentication method")
			return nil
		}
		return p.assertionClient(w, r, endpoint)
	case form.Get("client_secret") != "":
		id, secret, method = form.Get("client_id"), form.Get("client_secret"), "client_secret_post"
	default:
		id, method = form.Get("client_id"), "none"
	}
	p.mu.Lock()
	c := p.clients[id]
	p.mu.Unlock()
	switch {
	case c == nil:
		p.clientAuthFailed(w, basic, "unknown client "+strconv.Quote(id))
		return nil
	case method == "none":
		if !c.public() || !allowPublic {
			p.clientAuthFailed(w, basic, "client "+strconv.Quote(id)+" must authenticate")
			return nil
		}
		return c
	case c.public() || c.Secret == "":
		p.clientAuthFailed(w, basic, "client "+strconv.Quote(id)+" has no secret")
		return nil
	case c.AuthMethod != "" && c.AuthMethod != method:
		p.clientAuthFailed(w, basic, "client "+strconv.Quote(id)+" must use "+c.AuthMethod+", used "+method)
		return nil
	}
	// Compare digests so the comparison time does not depend on the secret length.
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(c.Secret))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		p.clientAuthFailed(w, basic, "wrong secret for client "+strconv.Quote(id))
		return nil
	}
	return c
}

func (p *Provider) clientAuthFailed(w http.ResponseWriter, basic bool, desc string) {
	if basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="testop"`)
	}
	writeOAuthError(w, http.StatusUnauthorized, "invalid_client", desc)
}

// serveToken is the token endpoint (RFC 6749 sections 4.1.3, 4.4, 6).
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	c := p.authenticateClient(w, r, true, EPToken)
	if c == nil {
		return
	}
	switch g := r.PostForm.Get("grant_type"); g {
	case "authorization_code":
		p.grantCode(w, r, c)
	case "refresh_token":
		p.grantRefresh(w, r, c)
	case "client_credentials":
		p.grantClientCredentials(w, r, c)
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+strconv.Quote(g)+" is not supported")
	}
}

func (p *Provider) grantCode(w http.ResponseWriter, r *http.Request, c *Client) {
	form := r.PostForm
	if !c.allowsGrant("authorization_code") {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "client may not use authorization_code")
		return
	}
	p.mu.Lock()
	ac := p.codes[form.Get("code")]
	var problem string
	switch {
	case ac == nil:
		problem = "unknown authorization code"
	case ac.used:
		// RFC 6749 section 4.1.2: a code used twice revokes what it produced.
		p.revokeFamilyLocked(ac.family)
		problem = "authorization code already used"
	case !p.now().Before(ac.expires):
		problem = "authorization code expired"
	case ac.clientID != c.ID:
		problem = "authorization code was issued to another client"
	case form.Get("redirect_uri") != ac.redirectURI:
		problem = "redirect_uri " + strconv.Quote(form.Get("redirect_uri")) + " differs from the authorization request's"
	default:
		problem = checkPKCE(ac.challenge, ac.method, form.Get("code_verifier"))
	}
	if ac != nil {
		ac.used = true
	}
	var u *User
	if problem == "" {
		if u = p.users[ac.username]; u == nil {
			problem = "user no longer exists"
		}
	}
	lt := p.lifetimes
	p.mu.Unlock()
	if problem != "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", problem)
		return
	}
	p.respondTokens(w, c, u, ac.scope, ac.family, ac.sid, ac.nonce, ac.authTime, ac.acr, lt, false)
}

// checkPKCE verifies code_verifier against the stored challenge (RFC 7636 section
// 4.6); a verifier without a challenge is refused too (RFC 9700 section 2.1.1).
func checkPKCE(challenge, method, verifier string) string {
	if challenge == "" {
		if verifier != "" {
			return "code_verifier sent but the authorization request had no code_challenge"
		}
		return ""
	}
	if verifier == "" {
		return "code_verifier is required"
	}
	if !validVerifier(verifier) {
		return "code_verifier must be 43 to 128 unreserved characters"
	}
	got := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		got = b64(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) != 1 {
		return "code_verifier does not match code_challenge"
	}
	return ""
}

// respondTokens issues access, refresh and ID tokens and answers the token request.
func (p *Provider) respondTokens(w http.ResponseWriter, c *Client, u *User, scope, family, sid, nonce string, authTime time.Time, acr string, lt Lifetimes, refreshed bool) {
	m := p.mis()
	access, err := p.issueAccess(c, u, defaultAudience(c), scope, family, sid, lt.AccessToken, nil, nil)
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	resp := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(lt.AccessToken / time.Second),
		"scope":        scope,
	}
	p.mu.Lock()
	rotate := p.rotate
	p.mu.Unlock()
	if c.allowsGrant("refresh_token") && (!refreshed || rotate) {
		rt := "rt_" + randomToken(32)
		now := p.now()
		p.mu.Lock()
		p.refresh[tokenKey(rt)] = &refreshGrant{clientID: c.ID, username: u.Username, scope: scope, sid: sid,
			family: family, authTime: authTime, acr: acr, issuedAt: now, expires: now.Add(lt.RefreshToken), nonce: nonce}
		p.mu.Unlock()
		resp["refresh_token"] = rt
	}
	if !refreshed || !m.Has(NoIDTokenOnRefresh) {
		idNonce := nonce
		if refreshed && !m.Has(RefreshRepeatsNonce) {
			idNonce = "" // OIDC Core 12.2: a refreshed ID token should carry none
		}
		claims := p.idTokenClaims(u, c, idNonce, sid, authTime, access, lt.IDToken)
		if acr != "" {
			claims["acr"] = acr
		}
		if refreshed && m.Has(RefreshChangesSubject) {
			claims["sub"] = "changed-" + u.Subject
		}
		id, _, err := p.mint(kindID, map[string]any{"typ": "JWT"}, claims, c.ID, m)
		if err != nil {
			writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		resp["id_token"] = id
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) grantRefresh(w http.ResponseWriter, r *http.Request, c *Client) {
	form := r.PostForm
	if !c.allowsGrant("refresh_token") {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "client may not use refresh_token")
		return
	}
	p.mu.Lock()
	g := p.refresh[tokenKey(form.Get("refresh_token"))]
	var problem string
	switch {
	case g == nil:
		problem = "unknown refresh token"
	case g.clientID != c.ID:
		problem = "refresh token was issued to another client"
	case g.revoked:
		problem = "refresh token revoked"
	case g.used && p.detectReuse:
		p.revokeFamilyLocked(g.family)
		problem = "refresh token already used; every token of this grant is revoked"
	case g.used:
		problem = "refresh token already used"
	case !p.now().Before(g.expires):
		problem = "refresh token expired"
	}
	scope := ""
	var u *User
	if problem == "" {
		scope = g.scope
		if req := form.Get("scope"); req != "" {
			// RFC 6749 section 6: a refresh may narrow the scope, never widen it.
			for _, s := range strings.Fields(req) {
				if !hasString(strings.Fields(g.scope), s) {
					problem = "scope " + strconv.Quote(s) + " was not granted"
				}
			}
			scope = req
		}
		if u = p.users[g.username]; u == nil {
			problem = "user no longer exists"
		}
	}
	if problem == "" && p.rotate {
		g.used = true
	}
	lt := p.lifetimes
	p.mu.Unlock()
	if problem != "" {
		code := "invalid_grant"
		if strings.HasPrefix(problem, "scope ") {
			code = "invalid_scope"
		}
		writeOAuthError(w, http.StatusBadRequest, code, problem)
		return
	}
	p.respondTokens(w, c, u, scope, g.family, g.sid, g.nonce, g.authTime, g.acr, lt, true)
}

func (p *Provider) grantClientCredentials(w http.ResponseWriter, r *http.Request, c *Client) {
	form := r.PostForm
	if !c.allowsGrant("client_credentials") {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "client may not use client_credentials")
		return
	}
	scopes := strings.Fields(form.Get("scope"))
	for _, s := range scopes {
		if len(c.Scopes) > 0 && !hasString(c.Scopes, s) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "scope "+strconv.Quote(s)+" is not allowed for client "+strconv.Quote(c.ID))
			return
		}
	}
	if len(scopes) == 0 {
		scopes = c.Scopes
	}
	aud := append(append([]string(nil), form["audience"]...), form["resource"]...)
	for _, a := range aud {
		if len(c.Audiences) > 0 && !hasString(c.Audiences, a) {
			// RFC 8707 section 2: an audience the client may not have.
			writeOAuthError(w, http.StatusBadRequest, "invalid_target", "audience "+strconv.Quote(a)+" is not allowed for client "+strconv.Quote(c.ID))
			return
		}
	}
	if len(aud) == 0 {
		aud = defaultAudience(c)
	}
	p.mu.Lock()
	ttl := p.lifetimes.AccessToken
	p.mu.Unlock()
	scope := strings.Join(scopes, " ")
	tok, err := p.issueAccess(c, nil, aud, scope, "", "", ttl, nil, nil)
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	resp := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl / time.Second)}
	if scope != "" {
		resp["scope"] = scope
	}
	writeJSON(w, http.StatusOK, resp)
}

// revokeFamilyLocked revokes every refresh and access token of one grant.
func (p *Provider) revokeFamilyLocked(family string) {
	if family == "" {
		return
	}
	for _, g := range p.refresh {
		if g.family == family {
			g.revoked = true
		}
	}
	for _, g := range p.access {
		if g.family == family {
			g.revoked = true
		}
	}
}

// bearerToken reads the access token of a userinfo request (RFC 6750 section 2).
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if r.Method == http.MethodPost {
		return r.PostForm.Get("access_token")
	}
	return ""
}

// activeAccessLocked returns the grant of a live access token, or nil.
func (p *Provider) activeAccessLocked(tok string) *accessGrant {
	g := p.access[tokenKey(tok)]
	if g == nil || g.revoked || !p.now().Before(g.expires) {
		return nil
	}
	return g
}

// serveUserinfo is OIDC Core 5.3.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	tok := bearerToken(r)
	p.mu.Lock()
	g := p.activeAccessLocked(tok)
	var u *User
	if g != nil {
		u = p.users[g.username]
	}
	var claims map[string]any
	if u != nil {
		claims = userClaims(u)
	}
	p.mu.Unlock()
	if claims == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="unknown, expired or revoked access token, or one without a user"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "unknown, expired or revoked access token, or one without a user")
		return
	}
	if p.mis().Has(UserinfoWrongSubject) {
		claims["sub"] = "other-" + u.Subject
	}
	p.mu.Lock()
	signed := p.signedUserinfo
	p.mu.Unlock()
	if !signed {
		writeJSON(w, http.StatusOK, claims)
		return
	}
	// OIDC Core 5.3.2: a signed answer carries iss and aud.
	p.stampIssuer(claims, u)
	claims["aud"] = g.clientID
	tok, _, err := p.mint(kindUserinfo, map[string]any{"typ": "JWT"}, claims, g.clientID, 0)
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(tok))
}

// serveIntrospect is RFC 7662: any authenticated confidential client may ask.
func (p *Provider) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	if p.authenticateClient(w, r, false, EPIntrospect) == nil {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	resp := map[string]any{"active": false}
	p.mu.Lock()
	now := p.now()
	if g := p.activeAccessLocked(tok); g != nil {
		for k, v := range g.claims {
			resp[k] = v
		}
		resp["active"] = true
		resp["token_type"] = "Bearer"
		if g.username != "" {
			resp["username"] = g.username
		}
		mergeClaims(resp, g.introspection)
	} else if g := p.refresh[tokenKey(tok)]; g != nil && !g.revoked && !(g.used && p.rotate) && now.Before(g.expires) {
		resp = map[string]any{
			"active": true, "token_type": "refresh_token", "client_id": g.clientID, "scope": g.scope,
			"iss": p.issuer, "iat": g.issuedAt.Unix(), "exp": g.expires.Unix(), "sid": g.sid,
		}
		if u := p.users[g.username]; u != nil {
			resp["sub"] = u.Subject
			resp["username"] = u.Username
			resp["iss"] = p.issuerOf(u)
		}
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// serveRevoke is RFC 7009: unknown tokens answer 200 (section 2.2); a refresh token
// takes the access tokens of its grant with it (section 2.1).
func (p *Provider) serveRevoke(w http.ResponseWriter, r *http.Request) {
	c := p.authenticateClient(w, r, true, EPRevoke)
	if c == nil {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	key := tokenKey(tok)
	p.mu.Lock()
	defer p.mu.Unlock()
	if g := p.refresh[key]; g != nil {
		if g.clientID != c.ID {
			writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "token was issued to another client")
			return
		}
		g.revoked = true
		p.revokeFamilyLocked(g.family)
	} else if g := p.access[key]; g != nil {
		if g.clientID != c.ID {
			writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "token was issued to another client")
			return
		}
		g.revoked = true
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// TokenActive reports whether tok (an access or refresh token the provider issued)
// is still usable: known, not revoked, not rotated out, not expired.
func (p *Provider) TokenActive(tok string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.activeAccessLocked(tok) != nil {
		return true
	}
	g := p.refresh[tokenKey(tok)]
	return g != nil && !g.revoked && !(g.used && p.rotate) && p.now().Before(g.expires)
}

// ActiveRefreshTokens counts the usable refresh tokens of username (all clients), so
// a test can see a relying party's logout revoke one it never saw.
func (p *Provider) ActiveRefreshTokens(username string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	now := p.now()
	for _, g := range p.refresh {
		if g.username == username && !g.revoked && !(g.used && p.rotate) && now.Before(g.expires) {
			n++
		}
	}
	return n
}

// RevokeUserTokens revokes every refresh and access token of username, as an
// administrator would at the provider.
func (p *Provider) RevokeUserTokens(username string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.refresh {
		if g.username == username {
			g.revoked = true
		}
	}
	for _, g := range p.access {
		if g.username == username {
			g.revoked = true
		}
	}
}
