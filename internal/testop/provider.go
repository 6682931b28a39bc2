package testop

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Provider. The zero value is a working provider on a random
// loopback port with the default users and clients.
type Options struct {
	// Addr is the listen address; "127.0.0.1:0" (a random port) when empty. The demo
	// passes a fixed one such as "127.0.0.1:9000". An unspecified host (":9000",
	// "0.0.0.0:9000") listens everywhere but the issuer names 127.0.0.1.
	Addr string
	// IssuerPath is appended to the issuer URL (e.g. "/realms/demo"); every endpoint
	// lives under it.
	IssuerPath string
	// TLS serves HTTPS with a fresh self-signed certificate for 127.0.0.1, ::1 and
	// localhost; CACertPEM and HTTPClient give what a client needs to trust it.
	TLS bool

	// Users replaces DefaultUsers when non-nil.
	Users []User
	// Clients replaces DefaultClients when non-nil.
	Clients []Client

	// AutoLogin answers an authorization request that needs a login by logging in
	// without showing the form: the user named by login_hint when it exists, else
	// AutoLoginUser. SetAutoLogin changes it at runtime.
	AutoLogin bool
	// AutoLoginUser is the user AutoLogin logs in; "alice" when empty.
	AutoLoginUser string

	// SigningAlg signs ID, access and logout tokens: RS256 (default), PS256, ES256 or
	// EdDSA. Keys of all four are generated and published either way.
	SigningAlg string
	// Lifetimes of tokens, codes and provider sessions; zero fields take the defaults
	// listed on Lifetimes.
	Lifetimes Lifetimes
	// JWKSMaxAge is the JWKS response's Cache-Control max-age: 5 minutes when zero;
	// negative sends "Cache-Control: no-cache".
	JWKSMaxAge time.Duration
	// RetiredKeyTTL is how long RotateKeys keeps a replaced key in the JWKS; zero
	// keeps it until DropRetiredKeys.
	RetiredKeyTTL time.Duration

	// RequirePKCE makes code_challenge mandatory for every client (public clients
	// always need it).
	RequirePKCE bool
	// AllowPlainPKCE accepts code_challenge_method=plain (RFC 7636 section 4.2); by
	// default only S256 is accepted and advertised.
	AllowPlainPKCE bool
	// DisableRefreshRotation keeps refresh tokens valid after use and returns no new
	// refresh_token from the refresh grant (as Google does).
	DisableRefreshRotation bool
	// DisableReuseDetection stops treating the reuse of a rotated-out refresh token as
	// theft. With detection on (default), such a reuse fails and revokes every
	// refresh and access token descending from the same login (RFC 9700 section
	// 4.14.2); with it off, the reuse only fails.
	DisableReuseDetection bool
	// EndSessionRevokesTokens makes the end-session endpoint (and EndUserSessions)
	// revoke the refresh and access tokens of the ended session, as Keycloak does.
	// Off by default, so tests can tell an RFC 7009 revocation by the relying party
	// from the logout itself.
	EndSessionRevokesTokens bool

	// MultiTenant makes the provider a multi-tenant one, as Microsoft Entra ID's
	// common endpoints are: discovery's issuer is the template
	// IssuerTemplate() (URL() + "/{tenantid}/v2.0"), and every token carries the tid
	// of its user's tenant (User.Tenant, DefaultTenantID for clients) and that
	// template filled with it as iss (TenantIssuer). Endpoints stay under URL().
	MultiTenant bool
	// UserinfoOnlyClaims are claims (such as "groups") left out of ID tokens and
	// access tokens and served only by userinfo, as providers with large or
	// optional claims do. SetUserinfoOnlyClaims changes them.
	UserinfoOnlyClaims []string
	// SignedUserinfo answers userinfo as a JWT (application/jwt) signed like ID
	// tokens, with iss and aud (OIDC Core 5.3.2). SetSignedUserinfo changes it.
	SignedUserinfo bool
	// TokenEndpointAuthMethods is what discovery advertises as
	// token_endpoint_auth_methods_supported (and for revocation and introspection);
	// nil advertises every method the provider accepts, an empty non-nil list
	// leaves the member out. SetTokenEndpointAuthMethods changes it.
	TokenEndpointAuthMethods []string
	// ACRValues are the authentication context classes the provider supports
	// (advertised as acr_values_supported). An authorization request with
	// acr_values naming one of them is signed in at the first such value — the
	// browser's provider session re-authenticates when it is at another — and the
	// ID token carries it as acr. DefaultACR is the acr of a sign-in that asked for
	// none the provider supports ("": no acr claim).
	ACRValues  []string
	DefaultACR string
	// InitialAuthAge makes every new provider session report an auth_time that long
	// ago, as if the user had signed in earlier (a step-up test's old sign-in); a
	// forced re-authentication (prompt=login, max_age exceeded, another acr) sets
	// it to now. SetInitialAuthAge changes it at runtime.
	InitialAuthAge time.Duration

	// Misbehaviour is the initial set of switches (see SetMisbehaviour).
	Misbehaviour Misbehaviour
	// SlowDelay is how long TokenEndpointSlow holds a token response; 3 s when zero.
	SlowDelay time.Duration
	// RecordLimit is how many recent requests Requests keeps per endpoint; 50 when
	// zero.
	RecordLimit int
	// Now is the provider's clock for every time it issues or checks; time.Now when
	// nil.
	Now func() time.Time
	// HTTPClient sends back-channel logout requests; a client with a 10 s timeout
	// when nil.
	HTTPClient *http.Client
}

// Lifetimes are how long what the provider issues stays valid. Short values (say
// AccessToken and IDToken 2 s) make refresh tests quick.
type Lifetimes struct {
	IDToken      time.Duration // default 5m
	AccessToken  time.Duration // default 5m; also expires_in
	RefreshToken time.Duration // default 1h
	Code         time.Duration // authorization code, default 1m
	Session      time.Duration // provider browser session, default 8h
	LogoutToken  time.Duration // default 2m
}

func (l Lifetimes) withDefaults() Lifetimes {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.IDToken, 5*time.Minute)
	def(&l.AccessToken, 5*time.Minute)
	def(&l.RefreshToken, time.Hour)
	def(&l.Code, time.Minute)
	def(&l.Session, 8*time.Hour)
	def(&l.LogoutToken, 2*time.Minute)
	return l
}

// Hang is a delay for SetDelay that holds requests until the client gives up or the
// provider closes.
const Hang = time.Duration(math.MaxInt64)

// Endpoint names, as Count, Requests, SetDelay and SetFailure take them.
const (
	EPDiscovery    = "discovery"
	EPJWKS         = "jwks"
	EPAuthorize    = "authorize"
	EPLogin        = "login"
	EPToken        = "token"
	EPUserinfo     = "userinfo"
	EPIntrospect   = "introspect"
	EPRevoke       = "revoke"
	EPEndSession   = "end_session"
	EPBackchannel  = "backchannel"  // outgoing logout-token POSTs (counted, not served)
	EPFrontchannel = "frontchannel" // front-channel iframes rendered by end_session
)

// endpointPaths are the paths under the issuer.
var endpointPaths = map[string]string{
	EPDiscovery:  "/.well-known/openid-configuration",
	EPJWKS:       "/jwks",
	EPAuthorize:  browserPath + "/authorize",
	EPLogin:      browserPath + "/login",
	EPToken:      "/token",
	EPUserinfo:   "/userinfo",
	EPIntrospect: "/introspect",
	EPRevoke:     "/revoke",
	EPEndSession: browserPath + "/end-session",
}

// Endpoints are the provider's absolute endpoint URLs.
type Endpoints struct {
	Discovery, JWKS, Authorization, Login, Token, Userinfo, Introspection, Revocation, EndSession string
}

// RecordedRequest is one request an endpoint received, for assertions.
type RecordedRequest struct {
	Endpoint string
	Method   string
	// Form is the query and (for POST) the form body, merged.
	Form url.Values
	// Header is a copy of the request headers (Authorization included).
	Header http.Header
	At     time.Time
}

// Provider is a running OpenID Provider. All methods are safe for concurrent use.
type Provider struct {
	opts      Options
	issuer    string
	now       func() time.Time
	server    *http.Server
	listener  net.Listener
	caPEM     []byte
	client    *http.Client
	outClient *http.Client

	closing   chan struct{}
	closeOnce sync.Once
	serveDone chan struct{}
	bgCtx     context.Context
	bgCancel  context.CancelFunc

	misbehaviour atomic.Uint64

	mu            sync.Mutex
	idle          *sync.Cond // signalled on p.mu when inflight drops to zero
	inflight      int        // handlers running, so Close can wait for them
	shut          bool
	users         map[string]*User
	userOrder     []string
	clients       map[string]*Client
	keys          keyring
	signingAlg    string
	lifetimes     Lifetimes
	autoLogin     bool
	autoLoginUser string
	authAge       time.Duration
	rotate        bool
	detectReuse   bool
	jwksMaxAge    time.Duration
	delays        map[string]time.Duration
	failures      map[string]int
	counts        map[string]int
	records       map[string][]RecordedRequest
	pending       map[string]*authRequest
	codes         map[string]*authCode
	refresh       map[string]*refreshGrant
	access        map[string]*accessGrant
	sessions      map[string]*opSession
	// userinfoOnly, signedUserinfo and authMethods are Options.UserinfoOnlyClaims,
	// SignedUserinfo and TokenEndpointAuthMethods, changeable at runtime.
	userinfoOnly   []string
	signedUserinfo bool
	authMethods    []string
	// assertionJTIs are the jti of client assertions already used, until their exp
	// (RFC 7523 section 3 item 7: a replayed assertion is refused).
	assertionJTIs map[string]time.Time
}

// New starts a provider. It returns once the listener is bound, so URL is usable at
// once. Close stops it.
func New(opts Options) (*Provider, error) {
	p := &Provider{
		opts:          opts,
		now:           opts.Now,
		users:         map[string]*User{},
		clients:       map[string]*Client{},
		signingAlg:    opts.SigningAlg,
		lifetimes:     opts.Lifetimes.withDefaults(),
		autoLogin:     opts.AutoLogin,
		autoLoginUser: opts.AutoLoginUser,
		authAge:       opts.InitialAuthAge,
		rotate:        !opts.DisableRefreshRotation,
		detectReuse:   !opts.DisableReuseDetection,
		jwksMaxAge:    opts.JWKSMaxAge,
		delays:        map[string]time.Duration{},
		failures:      map[string]int{},
		counts:        map[string]int{},
		records:       map[string][]RecordedRequest{},
		pending:       map[string]*authRequest{},
		codes:         map[string]*authCode{},
		refresh:       map[string]*refreshGrant{},
		access:        map[string]*accessGrant{},
		sessions:      map[string]*opSession{},
		assertionJTIs: map[string]time.Time{},
		userinfoOnly:  append([]string(nil), opts.UserinfoOnlyClaims...),
		authMethods:   copyList(opts.TokenEndpointAuthMethods),
		closing:       make(chan struct{}),
		serveDone:     make(chan struct{}),
	}
	p.idle = sync.NewCond(&p.mu)
	p.signedUserinfo = opts.SignedUserinfo
	if p.now == nil {
		p.now = time.Now
	}
	if p.signingAlg == "" {
		p.signingAlg = "RS256"
	}
	if !validSigningAlg(p.signingAlg) {
		return nil, fmt.Errorf("testop: SigningAlg must be RS256, PS256, ES256 or EdDSA, got %q", opts.SigningAlg)
	}
	if p.autoLoginUser == "" {
		p.autoLoginUser = "alice"
	}
	if p.jwksMaxAge == 0 {
		p.jwksMaxAge = 5 * time.Minute
	}
	if p.opts.SlowDelay <= 0 {
		p.opts.SlowDelay = 3 * time.Second
	}
	if p.opts.RecordLimit <= 0 {
		p.opts.RecordLimit = 50
	}
	if opts.IssuerPath != "" && (!strings.HasPrefix(opts.IssuerPath, "/") || strings.HasSuffix(opts.IssuerPath, "/") ||
		strings.ContainsAny(opts.IssuerPath, "?#")) {
		return nil, fmt.Errorf("testop: IssuerPath must start with / and have no trailing /, query or fragment, got %q", opts.IssuerPath)
	}
	users := opts.Users
	if users == nil {
		users = DefaultUsers()
	}
	for _, u := range users {
		if err := p.AddUser(u); err != nil {
			return nil, err
		}
	}
	clients := opts.Clients
	if clients == nil {
		clients = DefaultClients()
	}
	for _, c := range clients {
		if err := p.AddClient(c); err != nil {
			return nil, err
		}
	}

	keys, err := generateKeys(keyFamilies[:])
	if err != nil {
		return nil, err
	}
	p.keys.current = map[string]*signingKey{}
	p.keys.next = map[string]*signingKey{}
	for _, k := range keys {
		p.keys.current[k.alg] = k
	}
	p.misbehaviour.Store(uint64(opts.Misbehaviour))

	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testop: listen on %s: %w", addr, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	hostport := tcp.String()
	if tcp.IP.IsUnspecified() {
		hostport = net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	scheme := "http"
	var tlsConf *tls.Config
	if opts.TLS {
		cert, caPEM, err := selfSignedCert(p.now())
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		p.caPEM = caPEM
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, tlsConf)
		scheme = "https"
	}
	p.issuer = scheme + "://" + hostport + opts.IssuerPath
	p.client = p.newHTTPClient()
	p.outClient = opts.HTTPClient
	if p.outClient == nil {
		p.outClient = &http.Client{Timeout: 10 * time.Second}
	}
	p.bgCtx, p.bgCancel = context.WithCancel(context.Background())

	mux := http.NewServeMux()
	prefix := opts.IssuerPath
	mux.Handle(prefix+endpointPaths[EPDiscovery], p.endpoint(EPDiscovery, p.serveDiscovery, http.MethodGet))
	mux.Handle(prefix+endpointPaths[EPJWKS], p.endpoint(EPJWKS, p.serveJWKS, http.MethodGet))
	mux.Handle(prefix+endpointPaths[EPAuthorize], p.endpoint(EPAuthorize, p.serveAuthorize, http.MethodGet, http.MethodPost))
	mux.Handle(prefix+endpointPaths[EPLogin], p.endpoint(EPLogin, p.serveLogin, http.MethodPost))
	mux.Handle(prefix+endpointPaths[EPToken], p.endpoint(EPToken, p.serveToken, http.MethodPost))
	mux.Handle(prefix+endpointPaths[EPUserinfo], p.endpoint(EPUserinfo, p.serveUserinfo, http.MethodGet, http.MethodPost))
	mux.Handle(prefix+endpointPaths[EPIntrospect], p.endpoint(EPIntrospect, p.serveIntrospect, http.MethodPost))
	mux.Handle(prefix+endpointPaths[EPRevoke], p.endpoint(EPRevoke, p.serveRevoke, http.MethodPost))
	mux.Handle(prefix+endpointPaths[EPEndSession], p.endpoint(EPEndSession, p.serveEndSession, http.MethodGet, http.MethodPost))
	p.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// The provider prints nothing by itself (TLS handshake noise included).
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.listener = ln
	go func() {
		defer close(p.serveDone)
		_ = p.server.Serve(ln)
	}()
	return p, nil
}

func validSigningAlg(alg string) bool {
	return alg == "RS256" || alg == "PS256" || alg == "ES256" || alg == "EdDSA"
}

// URL is the issuer: scheme, host, port and IssuerPath, without a trailing slash.
// With Options.MultiTenant it is where the endpoints live, and the issuer of tokens
// is TenantIssuer(tid).
func (p *Provider) URL() string { return p.issuer }

// Tenant ids of Options.MultiTenant: users without a Tenant, and clients, belong to
// DefaultTenantID; SecondTenantID is another tenant of the same provider.
const (
	DefaultTenantID = "6b1f3c2a-0d4e-4b7f-9a51-2c8e7d3f1a90"
	SecondTenantID  = "d2a7e9c4-5b13-4f68-8e0a-7c9b1f2d3e45"
)

// IssuerTemplate is the issuer discovery advertises with Options.MultiTenant:
// URL() + "/{tenantid}/v2.0", the shape of Microsoft Entra ID's.
func (p *Provider) IssuerTemplate() string { return p.issuer + "/{tenantid}/v2.0" }

// TenantIssuer is the iss of tenant tid's tokens with Options.MultiTenant.
func (p *Provider) TenantIssuer(tid string) string { return p.issuer + "/" + tid + "/v2.0" }

// tenantOf is u's tenant (DefaultTenantID for nil or no Tenant).
func tenantOf(u *User) string {
	if u == nil || u.Tenant == "" {
		return DefaultTenantID
	}
	return u.Tenant
}

// stampIssuer sets the iss of a token about u (nil: a client), and with
// Options.MultiTenant its tid.
func (p *Provider) stampIssuer(claims map[string]any, u *User) {
	if !p.opts.MultiTenant {
		claims["iss"] = p.issuer
		return
	}
	tid := tenantOf(u)
	claims["tid"] = tid
	claims["iss"] = p.TenantIssuer(tid)
}

// issuerOf is the iss of tokens about u (nil: a client).
func (p *Provider) issuerOf(u *User) string {
	if !p.opts.MultiTenant {
		return p.issuer
	}
	return p.TenantIssuer(tenantOf(u))
}

// knownIssuer reports whether iss is an issuer of this provider's tokens.
func (p *Provider) knownIssuer(iss string) bool {
	if !p.opts.MultiTenant {
		return iss == p.issuer
	}
	tid := strings.TrimSuffix(strings.TrimPrefix(iss, p.issuer+"/"), "/v2.0")
	return tid != "" && !strings.Contains(tid, "/") && iss == p.TenantIssuer(tid)
}

// SetUserinfoOnlyClaims replaces Options.UserinfoOnlyClaims for tokens issued from
// now on.
func (p *Provider) SetUserinfoOnlyClaims(names ...string) {
	p.mu.Lock()
	p.userinfoOnly = append([]string(nil), names...)
	p.mu.Unlock()
}

// SetSignedUserinfo turns signed (application/jwt) userinfo answers on or off.
func (p *Provider) SetSignedUserinfo(on bool) {
	p.mu.Lock()
	p.signedUserinfo = on
	p.mu.Unlock()
}

// SetTokenEndpointAuthMethods replaces Options.TokenEndpointAuthMethods (what
// discovery advertises; nil: every method accepted).
func (p *Provider) SetTokenEndpointAuthMethods(methods []string) {
	p.mu.Lock()
	p.authMethods = copyList(methods)
	p.mu.Unlock()
}

// copyList copies l, keeping nil and empty apart.
func copyList(l []string) []string {
	if l == nil {
		return nil
	}
	return append([]string{}, l...)
}

// Endpoints returns the absolute URL of every endpoint (what discovery advertises
// when no switch hides one).
func (p *Provider) Endpoints() Endpoints {
	return Endpoints{
		Discovery:     p.issuer + endpointPaths[EPDiscovery],
		JWKS:          p.issuer + endpointPaths[EPJWKS],
		Authorization: p.issuer + endpointPaths[EPAuthorize],
		Login:         p.issuer + endpointPaths[EPLogin],
		Token:         p.issuer + endpointPaths[EPToken],
		Userinfo:      p.issuer + endpointPaths[EPUserinfo],
		Introspection: p.issuer + endpointPaths[EPIntrospect],
		Revocation:    p.issuer + endpointPaths[EPRevoke],
		EndSession:    p.issuer + endpointPaths[EPEndSession],
	}
}

// CACertPEM is the PEM certificate to trust with Options.TLS (the plugin's
// provider.caFile); nil without TLS.
func (p *Provider) CACertPEM() []byte { return append([]byte(nil), p.caPEM...) }

// HTTPClient returns a client that trusts the provider's certificate (a plain client
// without TLS), with a 10 s timeout and no cookie jar.
func (p *Provider) HTTPClient() *http.Client { return p.client }

// Close stops the server, releases requests held by SetDelay, cancels the
// back-channel requests end-session is sending, and returns once no handler runs. It
// is safe to call twice.
func (p *Provider) Close() {
	p.closeOnce.Do(func() {
		close(p.closing)
		p.bgCancel()
		_ = p.server.Close()
		<-p.serveDone
		// Held handlers were released by p.closing; wait for them to return so
		// nothing of the provider runs after Close.
		p.mu.Lock()
		p.shut = true
		for p.inflight > 0 {
			p.idle.Wait()
		}
		p.mu.Unlock()
	})
}

// SetMisbehaviour replaces the active switches with m (0 restores correct behaviour).
func (p *Provider) SetMisbehaviour(m Misbehaviour) { p.misbehaviour.Store(uint64(m)) }

// Misbehaviour returns the active switches.
func (p *Provider) Misbehaviour() Misbehaviour { return Misbehaviour(p.misbehaviour.Load()) }

func (p *Provider) mis() Misbehaviour { return Misbehaviour(p.misbehaviour.Load()) }

// SetAutoLogin turns the automatic login on as username, or off when username is "".
// It does not end existing provider sessions: a browser already signed in at the
// provider stays signed in as its user.
func (p *Provider) SetAutoLogin(username string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.autoLogin = username != ""
	if username != "" {
		p.autoLoginUser = username
	}
}

// SetInitialAuthAge sets Options.InitialAuthAge for provider sessions started from
// now on.
func (p *Provider) SetInitialAuthAge(d time.Duration) {
	p.mu.Lock()
	p.authAge = d
	p.mu.Unlock()
}

// SetSigningAlg changes the alg of tokens minted from now on (RS256, PS256, ES256 or
// EdDSA).
func (p *Provider) SetSigningAlg(alg string) error {
	if !validSigningAlg(alg) {
		return fmt.Errorf("testop: signing alg must be RS256, PS256, ES256 or EdDSA, got %q", alg)
	}
	p.mu.Lock()
	p.signingAlg = alg
	p.mu.Unlock()
	return nil
}

// SetLifetimes replaces the lifetimes of what is issued from now on; zero fields take
// the defaults.
func (p *Provider) SetLifetimes(l Lifetimes) {
	p.mu.Lock()
	p.lifetimes = l.withDefaults()
	p.mu.Unlock()
}

// SetRefreshPolicy turns refresh-token rotation and reuse detection on or off (see
// Options.DisableRefreshRotation and DisableReuseDetection).
func (p *Provider) SetRefreshPolicy(rotate, detectReuse bool) {
	p.mu.Lock()
	p.rotate, p.detectReuse = rotate, detectReuse
	p.mu.Unlock()
}

// SetJWKSMaxAge changes the JWKS Cache-Control max-age (negative: no-cache; zero: 5m).
func (p *Provider) SetJWKSMaxAge(d time.Duration) {
	if d == 0 {
		d = 5 * time.Minute
	}
	p.mu.Lock()
	p.jwksMaxAge = d
	p.mu.Unlock()
}

// SetDelay holds every later request to endpoint (an EP* name) for d before it is
// answered (0 removes the delay, Hang holds until the client gives up). A held
// request is released early when the client disconnects or the provider closes.
func (p *Provider) SetDelay(endpoint string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d <= 0 {
		delete(p.delays, endpoint)
		return
	}
	p.delays[endpoint] = d
}

// SetFailure makes endpoint (an EP* name) answer every later request with status and
// an OAuth-style JSON error body ({"error":"server_error"} for 5xx,
// "temporarily_unavailable" for 503); status 0 restores it. The request is still
// counted and recorded.
func (p *Provider) SetFailure(endpoint string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == 0 {
		delete(p.failures, endpoint)
		return
	}
	p.failures[endpoint] = status
}

// Count returns how many requests endpoint received since New or ResetCounts. Names
// are the EP* constants, plus "token:<grant_type>" (authorization_code,
// refresh_token, client_credentials, or "unsupported") for the token endpoint, and
// "backchannel" for logout tokens the provider sent.
func (p *Provider) Count(endpoint string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[endpoint]
}

// Counts returns a copy of every counter.
func (p *Provider) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// ResetCounts zeroes every counter and forgets recorded requests.
func (p *Provider) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
	p.records = map[string][]RecordedRequest{}
}

// Requests returns the last Options.RecordLimit requests endpoint received, oldest
// first (for "token", all grants together; for "backchannel", the logout tokens sent,
// in Form["logout_token"]).
func (p *Provider) Requests(endpoint string) []RecordedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	src := p.records[endpoint]
	out := make([]RecordedRequest, len(src))
	for i, rr := range src {
		out[i] = rr
		out[i].Form = copyValues(rr.Form)
		out[i].Header = rr.Header.Clone()
	}
	return out
}

func (p *Provider) countLocked(name string) { p.counts[name]++ }

func (p *Provider) recordLocked(rr RecordedRequest) {
	list := append(p.records[rr.Endpoint], rr)
	if len(list) > p.opts.RecordLimit {
		list = append([]RecordedRequest(nil), list[len(list)-p.opts.RecordLimit:]...)
	}
	p.records[rr.Endpoint] = list
}

func copyValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// maxBody caps request bodies (forms) the provider reads.
const maxBody = 64 << 10

// endpoint wraps a handler with what every endpoint does first: method check, capped
// form parsing, counting and recording, then the configured delay and failure.
func (p *Provider) endpoint(name string, h http.HandlerFunc, methods ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		parseErr := r.ParseForm()
		p.mu.Lock()
		if p.shut {
			p.mu.Unlock()
			writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "testop: provider closed")
			return
		}
		p.inflight++
		defer func() {
			p.mu.Lock()
			p.inflight--
			if p.inflight == 0 {
				p.idle.Broadcast()
			}
			p.mu.Unlock()
		}()
		p.countLocked(name)
		if name == EPToken {
			g := r.PostForm.Get("grant_type")
			switch g {
			case "authorization_code", "refresh_token", "client_credentials":
			default:
				g = "unsupported"
			}
			p.countLocked(name + ":" + g)
		}
		p.recordLocked(RecordedRequest{Endpoint: name, Method: r.Method, Form: copyValues(r.Form), Header: r.Header.Clone(), At: p.now()})
		delay := p.delays[name]
		status := p.failures[name]
		p.mu.Unlock()

		m := p.mis()
		switch name {
		case EPToken:
			if m.Has(TokenEndpointSlow) && delay < p.opts.SlowDelay {
				delay = p.opts.SlowDelay
			}
			if m.Has(TokenEndpointFailing) {
				status = http.StatusInternalServerError
			}
		case EPJWKS:
			if m.Has(JWKSFailing) {
				status = http.StatusInternalServerError
			}
		case EPIntrospect:
			if m.Has(IntrospectionHangs) {
				delay = Hang
			}
			if m.Has(IntrospectionFailing) {
				status = http.StatusInternalServerError
			}
		case EPDiscovery:
			if m.Has(DiscoveryFailing) {
				status = http.StatusServiceUnavailable
			}
		case EPUserinfo:
			if m.Has(UserinfoFailing) {
				status = http.StatusInternalServerError
			}
		}
		if delay > 0 && !p.wait(r.Context(), delay) {
			return
		}
		if status != 0 {
			code := "server_error"
			if status == http.StatusServiceUnavailable {
				code = "temporarily_unavailable"
			}
			writeOAuthError(w, status, code, "testop: "+name+" endpoint set to fail")
			return
		}
		if !hasString(methods, r.Method) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "method "+r.Method+" not allowed")
			return
		}
		if parseErr != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed or oversized request: "+parseErr.Error())
			return
		}
		h(w, r)
	})
}

// wait sleeps d; it returns false when the client went away or the provider closed
// first.
func (p *Provider) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-p.closing:
		return false
	}
}

// writeJSON answers v as JSON with Cache-Control: no-store (RFC 6749 section 5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "testop: response does not marshal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// AddUser registers u, replacing a user of the same Username.
func (p *Provider) AddUser(u User) error {
	cu, err := copyUser(u)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.users[cu.Username]; !ok {
		p.userOrder = append(p.userOrder, cu.Username)
	}
	p.users[cu.Username] = &cu
	return nil
}

// User returns a copy of the user named username.
func (p *Provider) User(username string) (User, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.users[username]
	if !ok {
		return User{}, false
	}
	cu, _ := copyUser(*u)
	return cu, true
}

// Users returns copies of every user, in registration order.
func (p *Provider) Users() []User {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]User, 0, len(p.userOrder))
	for _, name := range p.userOrder {
		cu, _ := copyUser(*p.users[name])
		out = append(out, cu)
	}
	return out
}

// AddClient registers c, replacing a client with the same ID (tests use it to add a
// back-channel logout URI once their relying party listens).
func (p *Provider) AddClient(c Client) error {
	cc, err := copyClient(c)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[cc.ID] = &cc
	return nil
}

// Client returns a copy of the client with id.
func (p *Provider) Client(id string) (Client, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.clients[id]
	if !ok {
		return Client{}, false
	}
	cc, _ := copyClient(*c)
	return cc, true
}

// AddRedirectURI registers one more exact redirect URI for clientID.
func (p *Provider) AddRedirectURI(clientID, uri string) error {
	return p.updateClient(clientID, func(c *Client) { c.RedirectURIs = append(c.RedirectURIs, uri) })
}

// AddPostLogoutRedirectURI registers one more exact post-logout redirect URI.
func (p *Provider) AddPostLogoutRedirectURI(clientID, uri string) error {
	return p.updateClient(clientID, func(c *Client) { c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, uri) })
}

// SetLogoutURIs sets the back-channel and front-channel logout URIs of clientID
// ("" clears one).
func (p *Provider) SetLogoutURIs(clientID, backchannel, frontchannel string) error {
	return p.updateClient(clientID, func(c *Client) {
		c.BackchannelLogoutURI = backchannel
		c.FrontchannelLogoutURI = frontchannel
	})
}

func (p *Provider) updateClient(id string, f func(*Client)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.clients[id]
	if !ok {
		return fmt.Errorf("testop: no client %q", id)
	}
	cc := *c
	cc.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	cc.PostLogoutRedirectURIs = append([]string(nil), c.PostLogoutRedirectURIs...)
	f(&cc)
	p.clients[id] = &cc
	return nil
}

// defaultClientLocked is the client logout tokens and minted ID tokens go to when
// the caller names none: DefaultClientID when registered, else the first (by id)
// confidential client allowed the code flow.
func (p *Provider) defaultClientLocked() *Client {
	if c, ok := p.clients[DefaultClientID]; ok {
		return c
	}
	ids := make([]string, 0, len(p.clients))
	for id := range p.clients {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if c := p.clients[id]; c.allowsGrant("authorization_code") {
			return c
		}
	}
	return nil
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("testop: crypto/rand failed: " + err.Error())
	}
	return b64(b)
}

// tokenKey is the map key for a stored token: its SHA-256, so maps never hold the
// raw value twice.
func tokenKey(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}
