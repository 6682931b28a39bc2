package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// serveSession authenticates a request by its session cookie and forwards it. It
// returns false, having written nothing but perhaps cookie-clearing headers, when the
// request has no usable session: the caller then sends the browser to sign in.
//
// The hot path — the same Cookie header seen before, no revocation anywhere since
// (the store's generation unchanged), nothing due, the rule satisfied — is one map
// lookup, one atomic load and a clock read before forwarding. Everything else is in
// serveSessionSlow. rule is the request's rule (forwardAuthorized).
func serveSession(m *Middleware, rw http.ResponseWriter, req *http.Request, rule int) bool {
	hs := req.Header["Cookie"]
	if len(hs) == 1 {
		c := m.verified
		c.mu.Lock()
		v := c.entries[hs[0]]
		c.sessionLookups++
		c.mu.Unlock()
		// (v.gen is never 0: verdicts are stored only at a known generation; and a
		// bearer verdict's sessionDeadline is 0, see verified.)
		if v != nil && v.gen == m.gen.Load() && time.Since(m.base) < v.sessionDeadline && v.p.until[rule] == forever {
			// forwardAuthorized, inlined with the cookie stripping precomputed.
			hdr := req.Header
			if m.stripAuthorization {
				delete(hdr, "Authorization")
			}
			if m.stripCookies {
				if v.upstreamCookie == nil {
					delete(hdr, "Cookie")
				} else {
					hdr["Cookie"] = v.upstreamCookie
				}
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
	return serveSessionSlow(m, rw, req, rule)
}

// serveSessionSlow opens the session cookie, checks revocation, refreshes or
// re-issues when due, and remembers the verdict for the hot path.
func serveSessionSlow(m *Middleware, rw http.ResponseWriter, req *http.Request, rule int) bool {
	if decidedByVerdict(m, rw, req, rule) {
		return true
	}
	now := time.Now()
	if len(req.Header["Cookie"]) == 1 {
		// serveSession looked this Cookie header up and counted it as served.
		m.verified.sessionMisses.Add(1)
	}
	gen := cache.GenerationOf(m.store)
	rec, err := readSession(m, req, now)
	if err != nil {
		if err != session.ErrNoSession {
			sessionUnusable(m, rw, req, err)
			observeAuth(m, credSession, now)
		}
		return false
	}
	if sessionRevoked(m, req.Context(), rec) {
		m.log.Info(logging.EventSessionRevoked, "refused a revoked session", logging.Fields{"user": m.log.ID(rec.Subject)})
		dropServerSession(m, req.Context(), rec)
		session.ClearSession(m.sessions, rw.Header(), req)
		observeAuth(m, credSession, now)
		return false
	}
	if claimsMissing(m, rec) {
		// Signed in before the rules read claims this session did not keep: sign in
		// again (at once, for a browser with a provider session) rather than refuse.
		m.log.Debug(logging.EventSessionRefused, "session lacks the claims the rules read: signing in again", logging.Fields{"user": m.log.ID(rec.Subject)})
		return false
	}
	if rec.RefreshToken != "" && session.NeedsRefresh(m.sessions, rec, now) {
		return serveRefreshing(m, rw, req, rec, now, rule)
	}
	if session.ShouldReissue(m.sessions, rec, now) {
		rec.LastSeen = now.Unix() // rec is this request's own copy
		if err := writeSession(m, req.Context(), rw.Header(), req, rec, now); err != nil {
			m.log.Warn(logging.EventSessionWriteFailed, "cannot re-issue the session cookie", logging.Fields{"error": err, "during": "reissue"})
		}
		// The browser will send a new cookie: nothing to remember for this one.
		p := sessionPrincipal(m, rec)
		observeAuth(m, credSession, now)
		forwardAuthorized(m, rw, req, p, rule)
		return true
	}
	v := &verified{p: sessionPrincipal(m, rec), rec: rec, gen: gen, until: session.NextCheck(m.sessions, rec)}
	v.sessionDeadline = time.Unix(v.until, 0).Sub(m.base)
	if hs := req.Header["Cookie"]; len(hs) == 1 && gen != 0 {
		if up := session.StripCookieHeader(m.sessions, hs[0]); up != "" {
			v.upstreamCookie = []string{up}
		}
		storeVerified(m.verified, hs[0], v)
	}
	observeAuth(m, credSession, now)
	forwardAuthorized(m, rw, req, v.p, rule)
	return true
}

// claimsMissing reports whether rec was signed in before the rules read the claims
// they read now: the session keeps only the claims the rules of its time named
// (fillIdentity), recorded in its ClaimSet ("*": every claim, for header templates).
func claimsMissing(m *Middleware, rec *session.Record) bool {
	want := m.opts.Policy.ClaimSet
	return want != "" && rec.ClaimSet != want && rec.ClaimSet != "*"
}

// decidedByVerdict answers a request whose session the hot path vouched for but
// whose rule it does not let in outright (a denial, a step-up, report mode):
// forwardAuthorized decides, without opening the cookie again.
func decidedByVerdict(m *Middleware, rw http.ResponseWriter, req *http.Request, rule int) bool {
	hs := req.Header["Cookie"]
	if len(hs) != 1 {
		return false
	}
	v := lookupVerified(m.verified, hs[0])
	if v == nil || v.bearer != nil || v.gen == 0 || v.gen != m.gen.Load() || time.Now().Unix() >= v.until {
		return false
	}
	forwardAuthorized(m, rw, req, v.p, rule)
	return true
}

// sessionUnusable handles a cookie that did not open (tampered, from another instance,
// expired, idle): it is cleared so the browser stops sending it.
func sessionUnusable(m *Middleware, rw http.ResponseWriter, req *http.Request, err error) {
	m.log.Debug(logging.EventSessionRefused, "session cookie refused", logging.Fields{"error": err})
	session.ClearSession(m.sessions, rw.Header(), req)
}

// sessionRevoked consults the revocation keyspace: this session by id, the provider
// session by sid, the subject for sessions started before a not-before time, the
// user's "sign out my other devices" (others.go); and
// the floor below which the cache had to drop revocations for room (a session that
// existed then may be one of them). An unverifiable answer (Redis down, no local
// knowledge) counts as not revoked and is not cached (the generation is 0 then).
func sessionRevoked(m *Middleware, ctx context.Context, rec *session.Record) bool {
	if beforeRevocationFloor(m, rec.CreatedAt) {
		return true
	}
	ks := m.ks.revoked
	if _, ok, _ := cache.Lookup(m.store, ctx, ks, revokedSessionID(rec.ID)); ok {
		return true
	}
	if rec.SID != "" {
		if _, ok, _ := cache.Lookup(m.store, ctx, ks, revokedSID(rec.Issuer, rec.SID)); ok {
			return true
		}
	}
	if v, ok, _ := cache.Lookup(m.store, ctx, ks, revokedSub(rec.Issuer, rec.Subject)); ok {
		if notBefore, err := strconv.ParseInt(string(v), 10, 64); err == nil && rec.LoginTime <= notBefore {
			return true
		}
	}
	// Checked whether or not logout.othersPath is on now: it may have been before.
	if v, ok, _ := cache.Lookup(m.store, ctx, ks, revokedOthers(rec.Issuer, rec.Subject)); ok && othersRevoked(v, rec) {
		return true
	}
	return false
}

// beforeRevocationFloor reports whether what began at Unix time t (a session's
// creation, a token's iat) must be refused because the cache had to drop, for room,
// a revocation learnt after it (cache.RevocationFloor), allowing provider.clockSkew
// for a session or token minted by another replica.
func beforeRevocationFloor(m *Middleware, t int64) bool {
	floor := cache.RevocationFloor(m.store, time.Now())
	return floor != 0 && t <= floor+int64(m.opts.Provider.ClockSkew/time.Second)
}

// startAfterRevocationFloor moves a new session's start past the revocation floor
// when one is in force, so that the session is not refused as one that may have
// existed when a dropped revocation was learnt (times are whole seconds and allow for
// clock skew, so a session started here in the same second, or within the skew,
// would be). Its absolute lifetime ends that much later: at most
// provider.clockSkew and a second. Its login time, which subject revocations compare,
// is not moved.
func startAfterRevocationFloor(m *Middleware, rec *session.Record) {
	floor := cache.RevocationFloor(m.store, time.Now())
	if floor == 0 {
		return
	}
	if first := floor + int64(m.opts.Provider.ClockSkew/time.Second) + 1; rec.CreatedAt < first {
		rec.CreatedAt = first
	}
}

// Revocation ids. The issuer is part of provider-scoped ids.
func revokedSessionID(id string) string    { return "session:" + id }
func revokedSID(iss, sid string) string    { return "sid:" + iss + "\x00" + sid }
func revokedSub(iss, sub string) string    { return "sub:" + iss + "\x00" + sub }
func revokedJTI(iss, jti string) string    { return "jti:" + iss + "\x00" + jti }
func revokedOthers(iss, sub string) string { return "others:" + iss + "\x00" + sub }

// sessionPrincipal builds the principal of a session record, applying today's
// identity rules (identity.go) to what the record holds.
func sessionPrincipal(m *Middleware, rec *session.Record) *principal {
	p := &principal{
		Source: "session", Subject: rec.Subject, Issuer: rec.Issuer, EmailVerified: rec.EmailVerified,
		Roles:    forwardableNames(m.log, "role", rec.Roles),
		Groups:   forwardableNames(m.log, "group", rec.Groups),
		AuthTime: rec.AuthTime, ACR: rec.ACR,
	}
	p.User, p.Email = trustedIdentity(m.opts.Authorization.RequireVerifiedEmail, rec.User, rec.Subject, rec.Email, rec.EmailVerified)
	decide(m, p, rec.Claims, rec.AccessToken)
	return p
}

// writeSession stores the session for the browser: sealed into the cookie, or (with
// session.store cache) sealed into the cache with only a reference in the cookie
// (serverside.go).
func writeSession(m *Middleware, ctx context.Context, h http.Header, req *http.Request, rec *session.Record, now time.Time) error {
	if m.opts.Session.Store == "cache" {
		return writeServerSession(m, ctx, h, req, rec, now)
	}
	return session.WriteSession(m.sessions, h, req, rec, now)
}

// serveRefreshing refreshes a session whose access token is due, then forwards. A
// refused refresh ends the session; a provider that cannot be reached is tolerated
// while the access token is still valid.
func serveRefreshing(m *Middleware, rw http.ResponseWriter, req *http.Request, rec *session.Record, now time.Time, rule int) bool {
	nrec, err := refreshOnce(m, req.Context(), rec, now)
	if err != nil {
		if isRefusedGrant(err) || now.Unix() >= rec.TokenExpiry+int64(m.opts.Provider.ClockSkew/time.Second)+300 {
			m.met.c.refreshes[resultRejected].Add(1)
			m.log.Info(logging.EventRefreshEnded, "refresh failed, ending the session", logging.Fields{"user": m.log.ID(rec.Subject), "error": err})
			session.ClearSession(m.sessions, rw.Header(), req)
			observeAuth(m, credSession, now)
			return false
		}
		m.met.c.refreshes[resultFailed].Add(1)
		m.log.Warn(logging.EventRefreshFailed, "refresh failed, serving the current session", logging.Fields{"user": m.log.ID(rec.Subject), "error": err})
		p := sessionPrincipal(m, rec)
		observeAuth(m, credSession, now)
		forwardAuthorized(m, rw, req, p, rule)
		return true
	}
	if err := writeSession(m, req.Context(), rw.Header(), req, nrec, now); err != nil {
		m.log.Error(logging.EventSessionWriteFailed, "cannot write the refreshed session", logging.Fields{"error": err, "during": "refresh"})
	}
	p := sessionPrincipal(m, nrec)
	observeAuth(m, credSession, now)
	forwardAuthorized(m, rw, req, p, rule)
	return true
}

// decodeClaimValues turns verified claims into plain values for templates and
// authorization (numbers stay json.Number).
func decodeClaimValues(c jose.Claims) map[string]any {
	out := make(map[string]any, len(c))
	for k, raw := range c {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			out[k] = v
		}
	}
	return out
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.Quote(s)
}
