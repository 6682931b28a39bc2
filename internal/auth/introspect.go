package auth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
)

// introspector asks the provider's RFC 7662 endpoint about tokens: JWTs after they
// passed every local rule (so a token revoked at the provider stops within
// bearer.introspection.maxCacheTTL), and opaque tokens, which only it can judge.
type introspector struct {
	client   *oidc.Client
	endpoint string // "": from discovery
	timeout  time.Duration
	maxTTL   time.Duration
	negTTL   time.Duration
	opaque   bool
	issuer   string
	tenants  []string
	audience string
	leeway   time.Duration
	maxAge   time.Duration

	// flights are the endpoint calls in progress, by token: concurrent requests
	// carrying one token not yet in the cache share one call (see introspectShared).
	mu      sync.Mutex
	flights map[string]*introFlight
}

// introFlight is one endpoint call that other requests may wait for: done is closed
// once ans and err are set.
type introFlight struct {
	done chan struct{}
	ans  *oidc.Introspection
	err  error
}

var errIntrospectionAborted = errors.New("the introspection call was abandoned")

func newIntrospector(o *config.Options) (*introspector, error) {
	io := &o.Bearer.Introspection
	// Its own HTTP client: the introspection deadline is its own option.
	hc, err := oidc.NewHTTPClient(io.Timeout, o.Provider.CAPEM)
	if err != nil {
		return nil, err
	}
	return &introspector{
		client:   introspectionClient(o, hc),
		endpoint: io.Endpoint, timeout: io.Timeout, maxTTL: io.MaxCacheTTL, negTTL: io.NegativeTTL,
		opaque: io.OpaqueTokens, issuer: o.Provider.Issuer, tenants: o.Provider.AllowedTenants, audience: o.Bearer.Audience,
		leeway: o.Provider.ClockSkew, maxAge: o.Bearer.MaxTokenAge,
		flights: map[string]*introFlight{},
	}, nil
}

// introspectionClient is how Gatehouse authenticates at the introspection endpoint:
// as provider.clientID, the way it does at the token endpoint (a private key
// included); or, with introspection credentials of its own (a resource server's),
// with that secret — by provider.clientAuthMethod when it is a secret method, else by
// what the provider advertises for the endpoint.
func introspectionClient(o *config.Options, hc *http.Client) *oidc.Client {
	io := &o.Bearer.Introspection
	c := &oidc.Client{ClientID: io.ClientID, ClientSecret: io.ClientSecret, AuthMethod: o.Provider.ClientAuthMethod,
		AssertionAudience: o.Provider.AssertionAudience, Issuer: o.Provider.Issuer, HTTP: hc}
	if !io.OwnCredentials {
		c.Key = o.Provider.ClientKey
		return c
	}
	switch c.AuthMethod {
	case oidc.AuthBasic, oidc.AuthPost, oidc.AuthSecretJWT:
	default:
		c.AuthMethod = oidc.AuthAuto
	}
	return c
}

// introspect returns the provider's answer about tok and until when it may be
// relied on (Unix seconds): from the introspect keyspace when any replica asked
// recently, else from the endpoint, within bearer.introspection.timeout. Active
// answers are cached for at most maxCacheTTL and never beyond the token's exp;
// inactive ones for negativeTTL. An endpoint that cannot be reached, answers late,
// answers an error or an answer that is not a strict JSON object with a boolean
// active is "unavailable" (503), never "inactive" (401).
func introspect(m *Middleware, ctx context.Context, tok string, now time.Time) (jose.Claims, int64, *bearerFailure) {
	in := m.bearer.intro
	if v, ok, _ := cache.Lookup(m.store, ctx, m.ks.introspect, tok); ok {
		if p := openBound(m, tok, v); len(p) > 8 {
			until := int64(binary.BigEndian.Uint64(p[:8]))
			if ans, err := jose.DecodeClaims(p[8:]); err == nil && now.Unix() < until {
				m.bearer.introspectionHits.Add(1)
				return activeAnswer(ans, until)
			}
		}
	}
	endpoint, f := introspectionEndpoint(m, in, ctx)
	if f != nil {
		return nil, 0, f
	}
	ans, err := introspectShared(m, in, ctx, endpoint, tok)
	if err != nil {
		return nil, 0, unavailableFailure("introspection: " + err.Error())
	}
	return rememberIntrospection(m, ctx, tok, ans, now)
}

// introspectionEndpoint is the endpoint to ask: the configured one, else the one
// discovery advertises, with the authentication methods discovery advertises for it.
// A configured endpoint works without discovery (its methods are then unknown).
func introspectionEndpoint(m *Middleware, in *introspector, ctx context.Context) (oidc.Endpoint, *bearerFailure) {
	meta, err := m.provider.discovery.Metadata(ctx)
	if err != nil {
		if in.endpoint != "" {
			return oidc.Endpoint{URL: in.endpoint}, nil
		}
		return oidc.Endpoint{}, unavailableFailure("discovery: " + err.Error())
	}
	url := in.endpoint
	if url == "" {
		url = meta.IntrospectionEndpoint
	}
	if url == "" {
		return oidc.Endpoint{}, unavailableFailure("the provider advertises no introspection_endpoint; set bearer.introspection.endpoint")
	}
	return oidc.IntrospectionEndpoint(meta, url), nil
}

// introspectShared calls the endpoint about tok, once for all the requests of this
// replica that carry tok at the same time: a burst of calls with a token the cache
// does not know yet (a service starting up, a retry storm, an attacker replaying one
// token) costs the provider one call, not one per request. The others wait for that
// answer, at most bearer.introspection.timeout. The call does not end when the
// request that started it is cancelled, since others may be waiting for it.
func introspectShared(m *Middleware, in *introspector, ctx context.Context, endpoint oidc.Endpoint, tok string) (*oidc.Introspection, error) {
	in.mu.Lock()
	f := in.flights[tok]
	if f != nil {
		in.mu.Unlock()
		m.bearer.introspectionShared.Add(1)
		<-f.done // a plain receive: no select (internal/wakeup explains why)
		return f.ans, f.err
	}
	f = &introFlight{done: make(chan struct{}), err: errIntrospectionAborted}
	in.flights[tok] = f
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		delete(in.flights, tok)
		in.mu.Unlock()
		close(f.done)
	}()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.timeout)
	defer cancel()
	m.bearer.introspections.Add(1)
	ans, err := in.client.Introspect(cctx, endpoint, tok)
	f.ans = ans
	f.err = err
	return ans, err
}

// rememberIntrospection caches an introspection answer and returns it.
func rememberIntrospection(m *Middleware, ctx context.Context, tok string, ans *oidc.Introspection, now time.Time) (jose.Claims, int64, *bearerFailure) {
	in := m.bearer.intro
	raw := jose.Claims(ans.Raw)
	ttl := in.negTTL
	body := []byte(`{"active":false}`)
	if ans.Active {
		ttl = in.maxTTL
		if exp, ok, err := jose.NumericDateClaim(raw, "exp"); err == nil && ok && exp.Sub(now) < ttl {
			ttl = exp.Sub(now)
		}
		b, err := json.Marshal(ans.Raw)
		if err != nil {
			b = nil
		}
		body = b
	}
	until := now.Add(ttl).Unix()
	if ttl >= time.Second && body != nil {
		storeIntrospection(m, ctx, tok, until, body, ttl)
	}
	return activeAnswer(raw, until)
}

func storeIntrospection(m *Middleware, ctx context.Context, tok string, until int64, body []byte, ttl time.Duration) {
	if sealed := sealBound(m, tok, unixHead(until), body); sealed != "" {
		_ = m.store.Set(ctx, m.ks.introspect, tok, []byte(sealed), ttl)
	}
}

// activeAnswer refuses an answer whose active member is not true.
func activeAnswer(ans jose.Claims, until int64) (jose.Claims, int64, *bearerFailure) {
	active, ok, err := jose.BoolClaim(ans, "active")
	if err != nil || !ok || !active {
		return nil, 0, tokenFailure("introspection: token is not active")
	}
	return ans, until, nil
}

// accessTokenTypes are the token_type values of an introspection answer that name an
// access token usable as a bearer token (RFC 7662 2.2, RFC 6749 7.1, RFC 8693 3).
// A refresh token, an ID token or a DPoP-bound token (RFC 9449 7.1) is refused.
var accessTokenTypes = map[string]bool{
	"": true, "bearer": true, "access_token": true, "urn:ietf:params:oauth:token-type:access_token": true,
}

// checkIntrospectedCommon checks what an answer says about any token: its type, its
// issuer (exact, when given), its audience (when given; required when requireAud),
// its lifetime (exp, nbf, iat when given, with leeway), and required scopes.
func checkIntrospectedCommon(m *Middleware, ans jose.Claims, now time.Time, requireAud bool) *bearerFailure {
	in := m.bearer.intro
	typ, _, err := jose.StringClaim(ans, "token_type")
	if err != nil || !accessTokenTypes[strings.ToLower(typ)] {
		return tokenFailure("introspection: token_type " + strconv.Quote(typ) + " is not an access token")
	}
	if iss, ok, err := jose.StringClaim(ans, "iss"); err != nil || (ok && !issuerOK(iss, in)) {
		return tokenFailure("introspection: iss is not the configured issuer")
	}
	if _, has := ans["aud"]; has || requireAud {
		aud, err := jose.AudienceClaim(ans)
		if err != nil || !hasString(aud, in.audience) {
			return tokenFailure("introspection: aud does not contain " + strconv.Quote(in.audience))
		}
	}
	late := now.Add(in.leeway)
	if exp, ok, err := jose.NumericDateClaim(ans, "exp"); err != nil || (ok && !now.Before(exp.Add(in.leeway))) {
		return tokenFailure("introspection: exp passed or malformed")
	}
	if nbf, ok, err := jose.NumericDateClaim(ans, "nbf"); err != nil || (ok && late.Before(nbf)) {
		return tokenFailure("introspection: nbf in the future or malformed")
	}
	iat, ok, err := jose.NumericDateClaim(ans, "iat")
	if err != nil || (ok && (iat.After(late) || (in.maxAge > 0 && now.Sub(iat) > in.maxAge+in.leeway))) {
		return tokenFailure("introspection: iat in the future, too old, or malformed")
	}
	if _, has := ans["scope"]; has {
		return missingScope(m.bearer, ans)
	}
	return nil
}

// checkIntrospectedJWT checks an answer about a JWT that passed every local rule: it
// must be active (done), agree on the issuer, audience and subject, and be within
// its lifetime.
func checkIntrospectedJWT(m *Middleware, ans, claims jose.Claims, now time.Time) *bearerFailure {
	if f := checkIntrospectedCommon(m, ans, now, false); f != nil {
		return f
	}
	if sub, ok, err := jose.StringClaim(ans, "sub"); err != nil || ok {
		jwtSub, _, _ := jose.StringClaim(claims, "sub")
		if err != nil || sub != jwtSub {
			return tokenFailure("introspection: sub differs from the token's")
		}
	}
	return nil
}

// verifyOpaque checks a token that is not a JWT by introspection alone: the answer
// must be active, name the configured audience, and pass the lifetime rules; its
// members are the token's claims.
func verifyOpaque(m *Middleware, ctx context.Context, tok string, now time.Time) (*verified, *bearerFailure) {
	if len(tok) > m.bearer.maxLen {
		return nil, tokenFailure("opaque token longer than bearer.maxTokenLength")
	}
	ans, until, f := introspect(m, ctx, tok, now)
	if f != nil {
		return nil, f
	}
	m.met.c.bearer[levelIntrospected].Add(1)
	if f := checkIntrospectedCommon(m, ans, now, true); f != nil {
		return nil, f
	}
	jti, _, _ := jose.StringClaim(ans, "jti")
	facts := &tokenFacts{jti: jti}
	if iat, ok, _ := jose.NumericDateClaim(ans, "iat"); ok {
		facts.iat = iat.Unix()
		if end := facts.iat + m.bearer.maxAge; m.bearer.maxAge > 0 && end < until {
			until = end
		}
	}
	if exp, ok, _ := jose.NumericDateClaim(ans, "exp"); ok && exp.Unix() < until {
		until = exp.Unix()
	}
	return finishBearer(m, ctx, tok, ans, nil, facts, until, now, false)
}

func hasString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// issuerOK reports whether an introspection answer's iss is the configured issuer
// (or, for a multi-tenant template, the template filled with an allowed tenant).
func issuerOK(iss string, in *introspector) bool {
	_, ok := oidc.IssuerTenant(iss, in.issuer, in.tenants)
	return ok
}
