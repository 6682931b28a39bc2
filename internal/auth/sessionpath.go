package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// serveSession authenticates a request by its session cookie and forwards it. It
// returns false, having written nothing but perhaps cookie-clearing headers, when the
// request has no usable session: the caller then sends the browser to sign in.
//
// The hot path — a session seen before, no revocation since, no refresh due — is a
// memoised cookie read, one atomic load and a map lookup before forwarding.
func serveSession(m *Middleware, rw http.ResponseWriter, req *http.Request) bool {
	now := time.Now()
	rec, err := session.ReadSession(m.sessions, req, now)
	if err != nil {
		if err != session.ErrNoSession {
			sessionUnusable(m, rw, req, err)
		}
		return false
	}
	gen := cache.GenerationOf(m.store)
	v := lookupVerified(m.verified, rec.ID)
	if v == nil || v.rec != rec || gen == 0 || v.gen != gen {
		if v = verifySession(m, req.Context(), rec, gen); v == nil {
			session.ClearSession(m.sessions, rw.Header(), req)
			return false
		}
	}
	if rec.RefreshToken != "" && session.NeedsRefresh(m.sessions, rec, now) {
		return serveRefreshing(m, rw, req, rec, now)
	}
	if session.ShouldReissue(m.sessions, rec, now) {
		touched := *rec
		touched.LastSeen = now.Unix()
		if err := writeSession(m, req.Context(), rw.Header(), req, &touched, now); err != nil {
			m.log.Warnf("cannot re-issue the session cookie: %v", err)
		}
	}
	forwardAuthorized(m, rw, req, v.p)
	return true
}

// sessionUnusable handles a cookie that did not open (tampered, from another instance,
// expired, idle): it is cleared so the browser stops sending it.
func sessionUnusable(m *Middleware, rw http.ResponseWriter, req *http.Request, err error) {
	m.log.Debugf("session cookie refused: %v", err)
	session.ClearSession(m.sessions, rw.Header(), req)
}

// verifySession checks a session against the revocation keyspace and, if it stands,
// builds its principal and remembers it at generation gen. It returns nil for a
// revoked session.
func verifySession(m *Middleware, ctx context.Context, rec *session.Record, gen uint64) *verified {
	if sessionRevoked(m, ctx, rec) {
		m.log.Infof("refused revoked session of %s", logging.ID(rec.Subject))
		forgetVerified(m.verified, rec.ID)
		return nil
	}
	v := &verified{p: sessionPrincipal(m.opts, rec), rec: rec, gen: gen, sessionID: rec.ID, sid: rec.SID, subject: rec.Subject}
	storeVerified(m.verified, rec.ID, v)
	return v
}

// sessionRevoked consults the revocation keyspace: this session by id, the provider
// session by sid, and the subject for sessions started before a not-before time. An
// unverifiable answer (Redis down, no local knowledge) counts as not revoked and is
// not cached (the generation is 0 then).
func sessionRevoked(m *Middleware, ctx context.Context, rec *session.Record) bool {
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
	return false
}

// Revocation ids. The issuer is part of provider-scoped ids.
func revokedSessionID(id string) string { return "session:" + id }
func revokedSID(iss, sid string) string { return "sid:" + iss + "\x00" + sid }
func revokedSub(iss, sub string) string { return "sub:" + iss + "\x00" + sub }
func revokedJTI(iss, jti string) string { return "jti:" + iss + "\x00" + jti }

// sessionPrincipal builds the principal of a session record.
func sessionPrincipal(o *config.Options, rec *session.Record) *principal {
	p := &principal{
		Source: "session", Subject: rec.Subject, Issuer: rec.Issuer, User: rec.User,
		Email: rec.Email, EmailVerified: rec.EmailVerified, Roles: rec.Roles, Groups: rec.Groups,
	}
	if p.User == "" {
		p.User = p.Subject
	}
	decide(o, p, rec.Claims, rec.AccessToken)
	return p
}

// writeSession stores the session for the browser: sealed into the cookie, or (with
// session.store cache) sealed into the cache with only a reference in the cookie.
func writeSession(m *Middleware, ctx context.Context, h http.Header, req *http.Request, rec *session.Record, now time.Time) error {
	return session.WriteSession(m.sessions, h, req, rec, now)
}

// serveRefreshing refreshes a session whose access token is due, then forwards. A
// refused refresh ends the session; a provider that cannot be reached is tolerated
// while the access token is still valid.
func serveRefreshing(m *Middleware, rw http.ResponseWriter, req *http.Request, rec *session.Record, now time.Time) bool {
	nrec, err := refreshOnce(m, req.Context(), rec, now)
	if err != nil {
		if isRefusedGrant(err) || now.Unix() >= rec.TokenExpiry+int64(m.opts.Provider.ClockSkew/time.Second)+300 {
			m.log.Infof("refresh failed for %s, ending the session: %v", logging.ID(rec.Subject), err)
			forgetVerified(m.verified, rec.ID)
			session.ClearSession(m.sessions, rw.Header(), req)
			return false
		}
		m.log.Warnf("refresh failed for %s, serving the current session: %v", logging.ID(rec.Subject), err)
		v := lookupVerified(m.verified, rec.ID)
		if v == nil {
			return false
		}
		forwardAuthorized(m, rw, req, v.p)
		return true
	}
	if err := writeSession(m, req.Context(), rw.Header(), req, nrec, now); err != nil {
		m.log.Errorf("cannot write the refreshed session: %v", err)
	}
	v := &verified{p: sessionPrincipal(m.opts, nrec), rec: nrec, gen: 0, sessionID: nrec.ID, sid: nrec.SID, subject: nrec.Subject}
	forwardAuthorized(m, rw, req, v.p)
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
