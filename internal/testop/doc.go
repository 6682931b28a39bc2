// Package testop is a real OpenID Provider for Gatehouse's tests and `make demo`. It
// owns the provider side of every protocol Gatehouse speaks — discovery, JWKS, the
// authorization-code flow with PKCE, the token endpoint (code, refresh with rotation,
// client credentials), userinfo, introspection (RFC 7662), revocation (RFC 7009),
// RP-initiated, back-channel and front-channel logout — over real HTTP on a loopback
// port, with its own JWS signing (RS256, PS256, ES256, EdDSA, HS*, none) on the
// standard library. It also owns switches that make it misbehave like the OpenID
// relying-party certification tests, counters of what it was asked, and helpers that
// mint arbitrary tokens. It does not own anything of the relying party: plugin code
// never imports it (it is compiled only, and outside yaegilint's reach).
//
// # Starting one
//
//	p, err := testop.New(testop.Options{AutoLogin: true})
//	if err != nil { t.Fatal(err) }
//	defer p.Close()
//	issuer := p.URL() // "http://127.0.0.1:<port>" — provider.issuer for the plugin
//
// The demo passes Options{Addr: "127.0.0.1:9000"}. The provider prints nothing by
// itself. Options.TLS serves HTTPS with a self-signed certificate; CACertPEM is the
// plugin's provider.caFile.
//
// # Endpoints (under p.URL(); Endpoints() returns them)
//
//	/.well-known/openid-configuration   discovery          counter "discovery"
//	/jwks                               JWKS               counter "jwks"
//	/browser/authorize                  authorization      counter "authorize"
//	/browser/login                      login form POST    counter "login"
//	/browser/end-session                end-session        counter "end_session"
//	/token                              token              counters "token", "token:<grant_type>"
//	/userinfo                           userinfo           counter "userinfo"
//	/introspect                         introspection      counter "introspect"
//	/revoke                             revocation         counter "revoke"
//
// Outgoing logout tokens count as "backchannel"; front-channel iframes the
// end-session page renders count as "frontchannel". Count, Counts, Requests (the last
// Options.RecordLimit requests per endpoint with their merged query and form, and
// headers) and ResetCounts serve assertions such as "zero JWKS fetches" or "the refresh
// token was revoked".
//
// The browser endpoints live under /browser so that the provider's session cookie
// (SessionCookieName, Path /browser) never reaches a relying party on another port of
// 127.0.0.1 (cookies ignore ports).
//
// # Default users (DefaultUsers; Options.Users replaces them)
//
//	username  password         email                  verified  groups                 roles
//	alice     alice-password   alice@example.com      yes       engineering, admins    admin, user
//	bob       bob-password     bob@example.com        yes       sales                  user
//	carol     carol-password   carol@example.net      NO        sales                  user
//	dave      dave-password    dave@partner.example   yes       (none)                 (none)
//	grace     grace-password   grace@example.com      yes       group-000..group-199   user
//	mallory   mallory-password alice@example.com      NO        sales                  user
//	eve       eve-password     eve@example.net        yes       (none; upn "alice@example.com")
//	kate      kate-password    kate@example.com       yes       (none)                 (none)
//	\u212Aate kelvin-password  kelvin@example.com     yes       (none; Kelvin sign, sub usr_kelvin)
//	sam       sam-password     sam@example.com        yes       "sales,admins", " admins", staff
//	                                                                         user, "admin,auditor"
//
// sub is "usr_" + username. ID tokens, user access tokens and userinfo carry sub,
// preferred_username, email, email_verified, name, groups, roles and Keycloak's nested
// realm_access.roles (claims with empty values are omitted). User.Claims adds or
// removes more.
//
// # Default clients (DefaultClients; Options.Clients replaces them)
//
//	client_id       secret                     kind
//	gatehouse       gatehouse-client-secret    confidential browser client (code, refresh)
//	gatehouse-public (none)                    public browser client, PKCE required
//	svc-orders      svc-orders-secret          client_credentials, aud gatehouse-api,
//	                                           scopes orders.read orders.write, roles orders-service
//	svc-reports     svc-reports-secret         client_credentials, aud [gatehouse-api reports-api],
//	                                           scope reports.read, roles reporter
//	gatehouse-rs    gatehouse-rs-secret        resource server: introspection and revocation
//
// Both browser clients accept any redirect and post-logout redirect URI on
// http(s)://127.0.0.1:<port> and http(s)://localhost:<port> (a test convenience; see
// Client.RedirectURIPrefixes). Exact URIs can be added at runtime with AddRedirectURI
// and AddPostLogoutRedirectURI; SetLogoutURIs registers a client's back-channel and
// front-channel logout URIs; AddClient and AddUser register or replace whole entries.
// The constants DefaultClientID, DefaultClientSecret, PublicClientID,
// MachineClientID, MachineClientSecret, MultiAudienceClientID,
// MultiAudienceClientSecret, IntrospectionClientID, IntrospectionClientSecret and
// DefaultAudience name them.
//
// # Behaviour
//
// Authorization: client_id and the exact (or prefix-registered) redirect_uri are
// checked first and a failure is an error page, never a redirect; then
// response_type=code, scope containing openid, PKCE (S256; plain only with
// Options.AllowPlainPKCE; mandatory for public clients and with Options.RequirePKCE),
// max_age, prompt (none, login) and acr_values. A browser with a live provider session
// is answered at once (same sid and auth_time); otherwise the login form is shown, or
// with AutoLogin the login_hint user (when it exists) or AutoLoginUser ("alice") is
// logged in without a form. login_hint naming another user than the session's re-logs
// in. A forced re-authentication of the session's own user (prompt=login, max_age
// exceeded, acr_values the session is not at) keeps the provider session and its sid
// and moves auth_time to now, as Keycloak and Entra ID do. Options.ACRValues lists the
// acr values supported (acr_values_supported): a request naming one signs in at the
// first it names, and the ID token carries acr; Options.DefaultACR is the acr of other
// sign-ins. Options.InitialAuthAge (SetInitialAuthAge) dates a new session's
// auth_time back. The answer is 302 to redirect_uri with code, state and iss (RFC 9207).
//
// Login form fields: request (hidden), username, password; the submit button has id
// "login".
//
// Token endpoint (and introspection and revocation): client_secret_basic (id and
// secret form-encoded, RFC 6749 2.3.1), client_secret_post, client_secret_jwt (an HS256
// assertion keyed with the secret), private_key_jwt (an assertion signed by one of
// Client.AssertionKeys; NewClientKey makes a pair), or none for public clients.
// Assertions are verified for real (clientauth.go): signature, iss = sub = the client,
// aud per Client.AssertionAudience (the issuer, the token endpoint, or the endpoint
// called), exp in the future and at most 10 minutes ahead, iat not in the future, and a
// jti never used before. Discovery advertises every accepted method unless
// Options.TokenEndpointAuthMethods (SetTokenEndpointAuthMethods) says otherwise. Codes are one-time (a second
// redemption revokes what the first produced), bound to client, redirect_uri and
// PKCE. Refresh tokens rotate (the old one dies) and reuse of a rotated-out token
// revokes the whole grant; Options.DisableRefreshRotation and DisableReuseDetection
// (or SetRefreshPolicy) change that. A refreshed ID token keeps iss, sub, aud,
// auth_time and sid and has no nonce. client_credentials takes scope and audience (or
// resource, RFC 8707) and answers an RFC 9068 at+jwt access token with iss, sub (the
// client id), aud, exp, iat, jti, client_id, azp, scope and the client's roles; Client
// fields AccessTokenType, AccessTokenClaims and OpaqueAccessTokens produce variants.
// Every access token (JWT or opaque) is registered: introspection reports its claims,
// userinfo accepts user tokens, revocation ends it.
//
// Userinfo: Options.UserinfoOnlyClaims (SetUserinfoOnlyClaims) keeps claims such as
// groups out of every token and in userinfo only; Options.SignedUserinfo
// (SetSignedUserinfo) answers application/jwt signed like ID tokens, with iss and aud.
//
// Multi-tenant (Options.MultiTenant), as Microsoft Entra ID's common endpoints:
// discovery's issuer is IssuerTemplate() (URL()+"/{tenantid}/v2.0"); every token
// carries its user's tenant (User.Tenant, DefaultTenantID when empty; SecondTenantID is
// another) as tid and TenantIssuer(tid) as iss, and so do the iss parameter and
// front-channel logout. Endpoints stay under URL().
//
// Lifetimes (Options.Lifetimes, SetLifetimes): ID token 5m, access token 5m,
// refresh token 1h, code 1m, provider session 8h, logout token 2m.
//
// Keys: one RS256 and one PS256 RSA-2048 key, one P-256 key, one Ed25519 key, each with
// its RFC 7638 thumbprint as kid, all published. RSA keys are assembled from a
// built-in pool of primes (rsapool.go), so New takes milliseconds; no two keys in a
// process share a modulus, so providers never accept each other's tokens. Options.SigningAlg (SetSigningAlg)
// picks which signs; JWKS Cache-Control max-age is 5m (Options.JWKSMaxAge,
// SetJWKSMaxAge). RotateKeys makes new current keys and keeps the old ones published
// until DropRetiredKeys or Options.RetiredKeyTTL.
//
// End-session: id_token_hint must carry one of the provider's signatures (expired is
// fine) and its issuer; post_logout_redirect_uri must be registered for the hint's
// audience or client_id; state is echoed. The provider session ends, every
// participating client with a BackchannelLogoutURI receives a logout token, and a
// FrontchannelLogoutURI is framed on a signed-out page (which then continues to the
// post-logout URI); without front-channel clients the answer is a 302. Tokens stay
// valid unless Options.EndSessionRevokesTokens. EndUserSessions does the same for all
// sessions of a user, as an administrator would; RevokeUserTokens revokes all of a
// user's tokens.
//
// # Test helpers
//
//	p.ClientCredentials(ctx, id, secret, audience, scope)  real token request
//	p.IssueIDToken(IDTokenOptions{...})                     as the endpoint would, switches applied
//	p.IssueAccessToken(AccessTokenOptions{...})             registered, switches applied;
//	                                                        IntrospectionClaims vary its introspection answer
//	p.LogoutToken(LogoutTokenOptions{...})                  crafted, switches ignored
//	p.BackchannelLogout(ctx, url, user, sid)                valid logout token POSTed, switches applied
//	p.SendLogoutToken(ctx, url, token)                      any token POSTed
//	p.FrontchannelLogoutURL(rpURL, sid)                     rpURL?iss=…&sid=…
//	p.Sign / SignPayload / SignHMAC                         raw JWS, any header (alg none, HS*, kid absent…)
//	p.Verify(token), ParseUnverified(token)                 inspect what was issued
//	p.SessionIDs(user), p.TokenActive(tok), p.ActiveRefreshTokens(user)
//	p.SetDelay(endpoint, d), p.SetFailure(endpoint, status) slow (Hang: until the client gives up) or failing endpoints
//
// # Misbehaviour switches
//
// SetMisbehaviour installs a set (combine with |; 0 restores); it is goroutine-safe
// and takes effect on the next request. ParseMisbehaviour reads names. "Expected" is
// what a conforming relying party does.
//
//	switch                  effect                                           expected
//	BadSignature            one signature bit flipped (all tokens)           reject
//	WrongIssuer             iss = issuer+"/wrong" (all tokens)               reject
//	WrongAudience           aud = "wrong-audience" (all tokens)              reject
//	MissingAudience         no aud (all tokens)                              reject
//	MissingIssuedAt         no iat (all tokens)                              reject
//	MissingSubject          no sub (all tokens)                              reject
//	WrongNonce              a nonce the RP never sent (ID token)             reject
//	MissingNonce            no nonce (ID token)                              reject
//	BadAtHash               at_hash of another value (ID token)              reject
//	AlgNone                 alg none, empty signature (all tokens)           reject
//	KidAbsentSingleKey      no kid; JWKS shows only the signing key          ACCEPT
//	KidAbsentMultipleKeys   no kid; JWKS shows several keys                  reject (or try each key)
//	UnpublishedKey          signed by a key not yet in the JWKS              reject; RotateKeys publishes it
//	ExpiredToken            exp 5 minutes ago (all tokens)                   reject
//	IssuedInFuture          iat and nbf one hour ahead (all tokens)          reject
//	MultipleAudiences       aud + "other-audience", azp = client (all)       ACCEPT
//	MultipleAudiencesNoAzp  aud + "other-audience", no azp (all tokens)      reject (access tokens with client_id: ACCEPT)
//	NoAtHash                no at_hash (ID token)                            ACCEPT
//	RefreshChangesSubject   refreshed ID token has another sub               reject the refresh
//	NoIDTokenOnRefresh      refresh answers without id_token                 ACCEPT, keep identity
//	RefreshRepeatsNonce     refreshed ID token repeats the original nonce    ACCEPT
//	UserinfoWrongSubject    userinfo sub differs from the ID token's         reject userinfo
//	TenantIssuerMismatch    iss names another tenant than tid (MultiTenant)  reject
//	NoIssParameter          no iss in the authorization response             reject (iss is advertised)
//	WrongIssParameter       iss = issuer+"/wrong" in the response            reject
//	IssParameterUnsupported discovery says false, no iss sent                ACCEPT
//	WrongState              a state the RP never sent                        reject
//	DiscoveryIssuerMismatch discovery issuer = issuer+"/wrong"               discovery fails
//	NoEndSessionEndpoint    end_session_endpoint not advertised              local logout
//	NoRevocationEndpoint    revocation_endpoint not advertised               no revocation call
//	NoIntrospectionEndpoint introspection_endpoint not advertised
//	NoCodeChallengeMethods  code_challenge_methods_supported not advertised
//	NoUserinfoEndpoint      userinfo_endpoint not advertised
//	JWKSFailing             JWKS answers 500
//	TokenEndpointFailing    token endpoint answers 500 server_error
//	TokenEndpointSlow       token answers held Options.SlowDelay (3s)
//	IntrospectionFailing    introspection answers 500
//	IntrospectionHangs      introspection held until the client gives up
//	DiscoveryFailing        discovery answers 503
//	UserinfoFailing         userinfo answers 500
//
// "All tokens" means ID tokens, JWT access tokens (client credentials included) and
// the logout tokens BackchannelLogout and end-session send; the other token switches
// touch ID tokens only. Sign, SignPayload, SignHMAC and LogoutToken ignore every switch.
package testop
