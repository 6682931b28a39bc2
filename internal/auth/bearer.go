package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Machine-to-machine authentication: Authorization: Bearer <access token> (RFC 6750).
// docs/BEARER.md has the threat model and the table of hardening rules with their
// tests. The order of a first request with a token:
//
//	throttle → header syntax → PreCheck (length, segments, alg, kid: no network) →
//	verification cache (tokver) or signature (JWKS) → access-token rules → identifier →
//	revocation → introspection (optional) → scopes → principal → forwardAuthorized
//
// Later requests with the same Authorization header are answered from the verdict
// cache (m.verified) while the store's generation has not moved (no revocation
// anywhere since) and the token is still within its lifetime.

// bearerState is the bearer path's configuration and counters (nil when bearer auth
// is off).
type bearerState struct {
	preferOverCookie bool
	challenge        bool
	cookieName       string
	allowed          []string
	maxLen           int
	maxIDLen         int
	idClaim          string
	required         []string
	requiredText     string
	// check is the access-token check without Now, copied per token.
	check oidc.AccessTokenCheck
	// maxAge is bearer.maxTokenAge: a verdict never outlives iat + maxAge.
	maxAge int64
	intro  *introspector

	signatureChecks   atomic.Int64
	sharedHits        atomic.Int64
	introspections    atomic.Int64
	introspectionHits atomic.Int64
	// introspectionShared counts requests that waited for another request's
	// introspection call instead of making their own.
	introspectionShared atomic.Int64
	refused             atomic.Int64
}

// tokenFacts are what a bearer verdict needs to re-check revocation: the token's
// jti and iat. A verified entry with facts is a bearer verdict.
type tokenFacts struct {
	// iss and sub name the token in the revocation keyspace (iss is the configured
	// issuer for an opaque token whose introspection answer has none).
	iss, sub string
	jti      string
	iat      int64
}

// bearerFailure is why a bearer request is refused: the status, the RFC 6750 error
// code and a fixed description for the client (nothing from the token), the reason
// for the debug log, and whether it counts toward the client's throttle.
type bearerFailure struct {
	status int
	code   string
	desc   string
	reason string
	count  bool
}

// Fixed descriptions: the same for every reason of a kind, so the answer is no oracle.
const (
	descRequest     = "expected exactly one Authorization header with one Bearer token"
	descToken       = "the access token is malformed, expired, revoked, or not meant for this service"
	descScope       = "the access token lacks a required scope"
	descUnavailable = "the token cannot be checked right now; retry later"
)

func newBearerState(o *config.Options) (*bearerState, error) {
	b := &bearerState{
		preferOverCookie: o.Bearer.PreferOverCookie,
		challenge:        o.Bearer.WWWAuthenticate,
		cookieName:       o.Session.CookieName,
		allowed:          o.Bearer.Algorithms,
		maxLen:           o.Bearer.MaxTokenLength,
		maxIDLen:         o.Bearer.MaxIdentifierLen,
		idClaim:          o.Bearer.IdentifierClaim,
		required:         o.Bearer.RequiredScopes,
		requiredText:     strings.Join(o.Bearer.RequiredScopes, " "),
		maxAge:           int64(o.Bearer.MaxTokenAge / time.Second),
		check: oidc.AccessTokenCheck{
			Issuer: o.Provider.Issuer, Tenants: o.Provider.AllowedTenants, Audience: o.Bearer.Audience, ClientID: o.Provider.ClientID,
			MaxAge: o.Bearer.MaxTokenAge, Leeway: o.Provider.ClockSkew,
		},
	}
	if o.Bearer.Introspection.Enabled {
		in, err := newIntrospector(o)
		if err != nil {
			return nil, err
		}
		b.intro = in
	}
	return b, nil
}

// bearerFirst reports whether the request is authenticated by its bearer token
// rather than its session cookie. It is asked only for requests with an
// Authorization header (a browser request pays nothing here), and only off the hot
// path. A credential of another scheme (Basic, ...) is not Gatehouse's: such
// requests go the session way. With both a Bearer token and a session cookie, the
// cookie wins unless bearer.preferOverCookie: a header injected into a signed-in
// browser's request must not change who the request runs as. Other cookies do not
// count.
func bearerFirst(m *Middleware, req *http.Request) bool {
	h := req.Header["Authorization"][0]
	if len(h) < 6 || !strings.EqualFold(h[:6], "Bearer") || (len(h) > 6 && h[6] != ' ') {
		return false
	}
	if m.bearer.preferOverCookie || req.Header["Cookie"] == nil {
		return true
	}
	_, hasSession := session.CookieValue(session.CookieHeader(req), m.bearer.cookieName)
	return !hasSession
}

// serveBearer authenticates a request with an Authorization header by its bearer
// token and forwards it, or answers 401/403/429/503, and returns true; it returns
// false, having written nothing, when the request is not bearer-first (bearerFirst)
// and goes the session way.
//
// The hot path — the same Authorization header seen before, no session cookie to
// compete with it (no Cookie header, or noSessionCookie: bearer.preferOverCookie, or
// a Cookie header without the session cookie's name), its verdict taken at the store's
// current generation (no revocation anywhere since), the token still within its
// lifetime — is one map lookup, one atomic load and a clock read before forwarding,
// like serveSession's. A verdict is only ever stored for a Bearer credential that
// passed bearerFirst, so a hit needs no second look at the header. Everything else
// is in serveBearerSlow.
func serveBearer(m *Middleware, rw http.ResponseWriter, req *http.Request, rule int) bool {
	hdr := req.Header
	hs := hdr["Authorization"]
	if len(hs) == 1 && (hdr["Cookie"] == nil || noSessionCookie(m, hdr)) {
		c := m.verified
		c.mu.Lock()
		v := c.entries[hs[0]]
		c.bearerLookups++
		c.mu.Unlock()
		// (gen 0 is never stored; a session verdict's bearerDeadline is 0, see
		// verified.)
		if v != nil && v.gen == m.gen.Load() && time.Since(m.base) < v.bearerDeadline && v.p.until[rule] == forever {
			// forwardAuthorized, inlined.
			if m.stripAuthorization {
				delete(hdr, "Authorization")
			}
			if m.bearerHotStripsCookies && hdr["Cookie"] != nil {
				session.StripCookies(m.sessions, req)
			}
			p := v.p
			for i, name := range p.headerNames {
				hdr[name] = p.headerValues[i]
			}
			if m.upstreamSecurityHeaders != nil {
				setUpstreamSecurityHeaders(m, rw)
			}
			m.next.ServeHTTP(rw, req)
			return true
		}
	}
	return serveBearerSlow(m, rw, req, rule)
}

// noSessionCookie is serveBearer's test that a request's Cookie header cannot
// compete with its bearer token: bearer.preferOverCookie, or one Cookie header line
// in which the session cookie's name does not occur at all (an SPA's own cookies
// beside its token; then there is nothing of Gatehouse's to strip either). Any
// occurrence of the name, even inside another cookie's name or value, leaves the
// request to bearerFirst's exact parse, so the hot path never serves a request that
// bearerFirst would send the session way. A call of its own: its temporaries cost
// only requests that carry cookies.
func noSessionCookie(m *Middleware, hdr http.Header) bool {
	cs := hdr["Cookie"]
	return m.bearer.preferOverCookie || len(cs) == 1 && !strings.Contains(cs[0], m.bearer.cookieName)
}

// serveBearerSlow runs the checks the hot path could not vouch for and remembers
// the verdict.
func serveBearerSlow(m *Middleware, rw http.ResponseWriter, req *http.Request, rule int) bool {
	if len(req.Header["Authorization"]) == 1 && (req.Header["Cookie"] == nil || noSessionCookie(m, req.Header)) {
		// serveBearer looked this Authorization header up and counted it as served.
		m.verified.bearerMisses.Add(1)
	}
	if !bearerFirst(m, req) {
		return false
	}
	serveBearerChecked(m, rw, req, rule)
	return true
}

// serveBearerChecked is serveBearerSlow for a request that is bearer-first. A token
// this instance verified before, still within its verdict's lifetime, only has its
// revocation status checked again (the generation moved, or a Cookie header naming
// the session cookie kept the request off the hot path); it keeps working for a
// client that is throttled. Any other credential from a throttled client gets 429
// before any work is done for it.
func serveBearerChecked(m *Middleware, rw http.ResponseWriter, req *http.Request, rule int) {
	hs := req.Header["Authorization"]
	tok, problem := parseBearerHeader(hs)
	// The generation is read before any revocation lookup whose answer is cached.
	gen := cache.GenerationOf(m.store)
	now := time.Now()
	ctx := req.Context()
	if problem == "" {
		if v := lookupVerified(m.verified, hs[0]); v != nil && v.bearer != nil && now.Unix() < v.until {
			reuseBearerVerdict(m, rw, req, v, gen, now, rule)
			return
		}
	}
	ip := clientKey(m.opts.TrustedProxies, req)
	if blocked, left := throttled(m.throttle, purposeBearer, ip); blocked {
		m.met.c.requests[outcome429].Add(1)
		observeAuth(m, credBearer, now)
		tooManyRequests(m, rw, left)
		return
	}
	if problem != "" {
		observeAuth(m, credBearer, now)
		bearerRefused(m, rw, ip, &bearerFailure{status: http.StatusUnauthorized, code: "invalid_request", desc: descRequest, reason: problem, count: true})
		return
	}
	v, f := verifyBearer(m, ctx, tok, now)
	observeAuth(m, credBearer, now)
	if f != nil {
		bearerRefused(m, rw, ip, f)
		return
	}
	if gen != 0 {
		v.gen = gen
		storeVerified(m.verified, hs[0], v)
	}
	forwardAuthorized(m, rw, req, v.p, rule)
}

// reuseBearerVerdict serves a token verified before: its revocation status is
// checked again and the verdict remembered at generation gen.
func reuseBearerVerdict(m *Middleware, rw http.ResponseWriter, req *http.Request, v *verified, gen uint64, start time.Time, rule int) {
	hs := req.Header["Authorization"]
	if f := bearerRevoked(m, req.Context(), v.bearer); f != nil {
		forgetVerified(m.verified, hs[0])
		observeAuth(m, credBearer, start)
		bearerRefused(m, rw, clientKey(m.opts.TrustedProxies, req), f)
		return
	}
	m.met.c.bearer[levelL1].Add(1)
	if gen != 0 && v.gen != gen {
		storeVerified(m.verified, hs[0], &verified{p: v.p, until: v.until, gen: gen, bearer: v.bearer, bearerDeadline: v.bearerDeadline})
	}
	observeAuth(m, credBearer, start)
	forwardAuthorized(m, rw, req, v.p, rule)
}

// b64tokenChars are the characters of an RFC 6750 section 2.1 b64token (before its
// trailing '=' padding).
const b64tokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"

// parseBearerHeader extracts the token of `Authorization: Bearer <b64token>` (RFC
// 6750 section 2.1; the scheme is case-insensitive, RFC 9110 11.1). It returns the
// token, or "" and what is wrong: several Authorization headers, another scheme, no
// token, or characters outside b64token (a second credential, whitespace, quotes).
func parseBearerHeader(hs []string) (string, string) {
	if len(hs) != 1 {
		return "", "expected one Authorization header, got " + strconv.Itoa(len(hs))
	}
	h := hs[0]
	if len(h) < 6 || !strings.EqualFold(h[:6], "Bearer") {
		return "", "expected the Bearer scheme"
	}
	tok := strings.TrimLeft(h[6:], " ")
	if len(tok) == len(h)-6 || tok == "" {
		return "", "expected a token after the Bearer scheme"
	}
	body := strings.TrimRight(tok, "=")
	if body == "" || strings.Trim(body, b64tokenChars) != "" {
		return "", "expected a b64token (RFC 6750 2.1), got other characters"
	}
	return tok, ""
}

// verifyBearer checks a token never seen (or no longer vouched for) by this
// instance, and returns its verdict (gen unset) or why it is refused.
func verifyBearer(m *Middleware, ctx context.Context, tok string, now time.Time) (*verified, *bearerFailure) {
	b := m.bearer
	if b.intro != nil && b.intro.opaque && strings.Count(tok, ".") != 2 {
		return verifyOpaque(m, ctx, tok, now)
	}
	// Everything that needs no network first: length, segments, base64url, header,
	// alg in the asymmetric allow-list, kid length and charset.
	jws, err := jose.PreCheck(tok, b.maxLen, b.allowed)
	if err != nil {
		return nil, tokenFailure("precheck: " + err.Error())
	}
	payload, shared, f := verifiedPayload(m, ctx, tok, jws)
	if f != nil {
		return nil, f
	}
	claims, err := jose.DecodeClaims(payload)
	if err != nil {
		return nil, tokenFailure("claims: " + err.Error())
	}
	x := b.check
	x.Now = now
	t, err := oidc.CheckAccessToken(jws.Header, claims, x)
	if err != nil {
		return nil, tokenFailure("access token rules: " + err.Error())
	}
	if !shared {
		// Only now, with every rule passed, may other replicas skip the signature.
		rememberVerified(m, ctx, tok, payload, t.Expiry, now)
	}
	until := t.Expiry.Unix()
	if b.maxAge > 0 && t.IssuedAt.Unix()+b.maxAge < until {
		until = t.IssuedAt.Unix() + b.maxAge
	}
	facts := &tokenFacts{jti: t.JTI, iat: t.IssuedAt.Unix()}
	return finishBearer(m, ctx, tok, claims, payload, facts, until, now, b.intro != nil)
}

// verifiedPayload returns the token's payload once its signature is known good:
// from the shared verification cache when any replica verified this exact token
// before, else by checking the signature with the provider's keys.
func verifiedPayload(m *Middleware, ctx context.Context, tok string, jws *jose.JWS) ([]byte, bool, *bearerFailure) {
	if v, ok, _ := cache.Lookup(m.store, ctx, m.ks.tokver, tok); ok {
		if p := openBound(m, tok, v); p != nil {
			m.bearer.sharedHits.Add(1)
			return p, true, nil
		}
	}
	meta, err := m.provider.discovery.Metadata(ctx)
	if err != nil {
		return nil, false, unavailableFailure("discovery: " + err.Error())
	}
	ks := keySet(m, meta)
	keys, err := ks.KeysFor(ctx, jws.Header.Kid, jws.Header.Alg)
	if err != nil {
		if k := jose.KindOf(err); k == jose.ErrJWKSUnavailable || k == jose.ErrJWKSFetch {
			return nil, false, unavailableFailure("key set: " + err.Error())
		}
		return nil, false, tokenFailure("key lookup: " + err.Error())
	}
	m.bearer.signatureChecks.Add(1)
	if _, err := jose.VerifyKeySet(ctx, ks, jws, keys, m.bearer.allowed); err != nil {
		return nil, false, tokenFailure("signature: " + err.Error())
	}
	return jws.Payload, false, nil
}

// rememberVerified stores a verified token's payload in the tokver keyspace for at
// most its remaining lifetime, sealed and bound to the token (see sealBound).
func rememberVerified(m *Middleware, ctx context.Context, tok string, payload []byte, exp, now time.Time) {
	ttl := exp.Sub(now)
	if ttl < time.Second {
		return
	}
	if sealed := sealBound(m, tok, nil, payload); sealed != "" {
		_ = m.store.Set(ctx, m.ks.tokver, tok, []byte(sealed), ttl)
	}
}

// finishBearer applies what JWT and opaque tokens share once their claims are known
// good: the identifier, revocation, introspection (JWTs, when on), required scopes;
// then builds the principal.
//
// introspectJWT says whether the token is a JWT that introspection must confirm
// (an opaque token's claims already are the introspection answer).
func finishBearer(m *Middleware, ctx context.Context, tok string, claims jose.Claims, payload []byte, facts *tokenFacts, until int64, now time.Time, introspectJWT bool) (*verified, *bearerFailure) {
	b := m.bearer
	raw, _, err := jose.StringClaim(claims, b.idClaim)
	if err != nil || raw == "" {
		return nil, tokenFailure("identifier claim " + strconv.Quote(b.idClaim) + " missing or not a string")
	}
	id, ok := sanitizeIdentifier(raw, b.maxIDLen)
	if !ok {
		return nil, tokenFailure("identifier claim " + strconv.Quote(b.idClaim) + " is too long or holds control, bidi or delimiter characters")
	}
	iss, _, _ := jose.StringClaim(claims, "iss")
	if iss == "" {
		iss = m.opts.Provider.Issuer
	}
	sub, _, _ := jose.StringClaim(claims, "sub")
	facts.iss = iss
	facts.sub = sub
	if f := bearerRevoked(m, ctx, facts); f != nil {
		return nil, f
	}
	if introspectJWT {
		ans, introUntil, f := introspect(m, ctx, tok, now)
		if f != nil {
			return nil, f
		}
		if f := checkIntrospectedJWT(m, ans, claims, now); f != nil {
			return nil, f
		}
		if introUntil < until {
			until = introUntil
		}
	}
	if f := missingScope(b, claims); f != nil {
		return nil, f
	}
	p := newPrincipal(m, "bearer", claimValues(payload, claims), id, tok)
	v := &verified{p: p, until: until, bearer: facts}
	v.bearerDeadline = time.Unix(until, 0).Sub(m.base)
	return v, nil
}

// claimValues decodes the claims for the principal (numbers stay json.Number): the
// whole payload in one decoder call when there is one — it already passed the strict
// reader, so its names are unique — else claim by claim.
func claimValues(payload []byte, claims jose.Claims) map[string]any {
	if payload != nil {
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		var out map[string]any
		if dec.Decode(&out) == nil && out != nil {
			return out
		}
	}
	return decodeClaimValues(claims)
}

// bearerRevoked consults the revocation keyspace for the token's jti and for its
// subject (revoked for tokens issued at or before the stored time), and the cache's
// revocation floor (a token issued by then may be one whose revocation the cache had
// to drop for room; a token without iat counts as issued at 0). Like
// sessionRevoked, an unverifiable answer counts as not revoked and is not cached
// (the generation is 0 then).
func bearerRevoked(m *Middleware, ctx context.Context, facts *tokenFacts) *bearerFailure {
	if beforeRevocationFloor(m, facts.iat) {
		return tokenFailure("issued before revocations had to be dropped for room (cache.maxRevocations)")
	}
	ks := m.ks.revoked
	if facts.jti != "" {
		if _, ok, _ := cache.Lookup(m.store, ctx, ks, revokedJTI(facts.iss, facts.jti)); ok {
			return tokenFailure("token id revoked")
		}
	}
	if facts.sub != "" {
		if v, ok, _ := cache.Lookup(m.store, ctx, ks, revokedSub(facts.iss, facts.sub)); ok {
			if notBefore, err := strconv.ParseInt(string(v), 10, 64); err == nil && facts.iat <= notBefore {
				return tokenFailure("subject revoked for tokens issued until " + string(v))
			}
		}
	}
	return nil
}

// tokenScopes returns the token's scopes: the space-separated scope claim (RFC 9068
// 2.2.3, RFC 8693 4.2), else an scp claim as a string or a list (Entra ID, Okta).
func tokenScopes(claims jose.Claims) []string {
	if s, ok, _ := jose.StringClaim(claims, "scope"); ok {
		return strings.Fields(s)
	}
	if s, ok, _ := jose.StringClaim(claims, "scp"); ok {
		return strings.Fields(s)
	}
	l, _, _ := jose.StringListClaim(claims, "scp")
	return l
}

// missingScope answers 403 insufficient_scope (RFC 6750 3.1) when a required scope
// is absent.
func missingScope(b *bearerState, claims jose.Claims) *bearerFailure {
	if len(b.required) == 0 {
		return nil
	}
	have := tokenScopes(claims)
	for _, want := range b.required {
		found := false
		for _, s := range have {
			if s == want {
				found = true
			}
		}
		if !found {
			return &bearerFailure{status: http.StatusForbidden, code: "insufficient_scope", desc: descScope,
				reason: "scope " + strconv.Quote(want) + " missing"}
		}
	}
	return nil
}

func tokenFailure(reason string) *bearerFailure {
	return &bearerFailure{status: http.StatusUnauthorized, code: "invalid_token", desc: descToken, reason: reason, count: true}
}

func unavailableFailure(reason string) *bearerFailure {
	return &bearerFailure{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: descUnavailable, reason: reason}
}

// bearerRefused answers a refused bearer request: 401 invalid_request/invalid_token,
// 403 insufficient_scope (RFC 6750 3.1) with a WWW-Authenticate challenge when
// bearer.wwwAuthenticate is on, or 503 when the provider could not be asked. The
// reason goes to the debug log (503s to the warning log); the token never does.
func bearerRefused(m *Middleware, rw http.ResponseWriter, ip string, f *bearerFailure) {
	m.bearer.refused.Add(1)
	countRefusal(m, f)
	if f.status == http.StatusServiceUnavailable {
		// (Never "bearer <word>" in a message: the logger redacts what follows "bearer".)
		m.log.Warn(logging.EventBearerUnavailable, "access token not checked, provider unavailable",
			logging.Fields{"client": m.log.Client(ip), "reason": f.reason})
	} else if m.log.Enabled(logging.LevelDebug) {
		m.log.Debug(logging.EventBearerRefused, "access token refused",
			logging.Fields{"client": m.log.Client(ip), "error": f.code, "reason": f.reason})
	}
	if f.count {
		countFailure(m, purposeBearer, throttleBearer, ip)
	}
	h := rw.Header()
	m.ownHeaders(h)
	if f.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	} else if m.bearer.challenge {
		scope := ""
		if f.code == "insufficient_scope" {
			scope = m.bearer.requiredText
		}
		h.Set("WWW-Authenticate", bearerChallenge(f.code, f.desc, scope))
	}
	h.Set("Content-Type", "application/json")
	rw.WriteHeader(f.status)
	_, _ = rw.Write([]byte(`{"error":"` + f.code + `","error_description":"` + f.desc + `"}` + "\n"))
}

// countRefusal counts a refused bearer request by its error code and status.
func countRefusal(m *Middleware, f *bearerFailure) {
	c := &m.met.c
	switch f.code {
	case "invalid_request":
		c.refusals[refusalRequest].Add(1)
	case "insufficient_scope":
		c.refusals[refusalScope].Add(1)
	case "temporarily_unavailable":
		c.refusals[refusalUnavailable].Add(1)
	default:
		c.refusals[refusalToken].Add(1)
	}
	switch f.status {
	case http.StatusForbidden:
		c.requests[outcome403].Add(1)
	case http.StatusServiceUnavailable:
		c.requests[outcome503].Add(1)
	default:
		c.requests[outcome401].Add(1)
	}
}

// sealBound seals payload (after an 8-byte big-endian Unix time, when head is set)
// for the shared cache, prefixed with the SHA-256 of tok inside the seal. The store
// already keys values by a hash of the token; the hash inside the seal also stops
// someone who can write Redis from copying a good token's value under another
// token's key. "" when sealing fails.
func sealBound(m *Middleware, tok string, head []byte, payload []byte) string {
	sum := sha256.Sum256([]byte(tok))
	plain := make([]byte, 0, len(sum)+len(head)+len(payload))
	plain = append(plain, sum[:]...)
	plain = append(plain, head...)
	plain = append(plain, payload...)
	sealed, err := session.Seal(m.sessions.CacheSealer, plain)
	if err != nil {
		return ""
	}
	return sealed
}

// openBound opens a value sealBound made for tok, or returns nil.
func openBound(m *Middleware, tok string, v []byte) []byte {
	plain, err := session.Open(m.sessions.CacheSealer, string(v))
	if err != nil || len(plain) < sha256.Size {
		return nil
	}
	sum := sha256.Sum256([]byte(tok))
	if string(plain[:sha256.Size]) != string(sum[:]) {
		return nil
	}
	return plain[sha256.Size:]
}

// unixHead encodes t for sealBound's head.
func unixHead(t int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(t))
	return b
}

// BearerStats are the bearer path's counters, for metrics and tests.
type BearerStats struct {
	// SignatureChecks counts tokens whose signature this instance checked.
	SignatureChecks int64
	// SharedVerifications counts tokens accepted from the shared verification cache
	// (verified by this or another replica): no signature check, no key set.
	SharedVerifications int64
	// Introspections counts calls to the introspection endpoint; IntrospectionHits
	// answers taken from the introspect keyspace instead; IntrospectionsShared
	// requests that waited for a call another request of this replica made with the
	// same token.
	Introspections       int64
	IntrospectionHits    int64
	IntrospectionsShared int64
	// Refused counts refused bearer requests (401, 403 insufficient_scope, 503).
	Refused int64
}

// BearerStats returns the bearer path's counters (zero when bearer auth is off).
func (m *Middleware) BearerStats() BearerStats {
	var s BearerStats
	if b := m.bearer; b != nil {
		s.SignatureChecks = b.signatureChecks.Load()
		s.SharedVerifications = b.sharedHits.Load()
		s.Introspections = b.introspections.Load()
		s.IntrospectionHits = b.introspectionHits.Load()
		s.IntrospectionsShared = b.introspectionShared.Load()
		s.Refused = b.refused.Load()
	}
	return s
}

// RevokeBearerToken revokes one bearer token by its issuer and jti on every replica
// sharing this instance's cache, until the token's exp at the latest (pass its exp;
// the revocation keyspace's bound applies). It is the operator's and the tests' way
// to stop one token at once; a subject's tokens are revoked by back-channel logout.
func (m *Middleware) RevokeBearerToken(ctx context.Context, issuer, jti string, until time.Time) error {
	if jti == "" {
		return errorString("gatehouse: RevokeBearerToken: expected a jti, got an empty one")
	}
	ttl := time.Until(until)
	if ttl < time.Second {
		ttl = time.Second
	}
	err := m.store.Set(ctx, m.ks.revoked, revokedJTI(issuer, jti), []byte("1"), ttl)
	m.log.Info(logging.EventTokenRevoked, "access token revoked", logging.Fields{"jti": m.log.ID(jti), "error": err})
	return err
}
