package auth

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
)

// The admin revocation API (admin.path, off by default): an incident responder
// revokes a user everywhere at once.
//
//	POST <admin.path>/revoke   Authorization: Bearer <access token>
//	{"sub": "<subject>"}       every session and access token of the subject issued
//	                           until now (plus provider.clockSkew) is refused
//	{"sid": "<provider sid>"}  every session signed in within that provider session
//
// The revocation is written to the shared revocation keyspace, exactly as a
// back-channel logout writes it: enforced here at once, by every replica sharing the
// Redis within the invalidation delay, and replayed from the outbox if Redis cannot
// take it now. The answer says which ("state": confirmed, queued, local), and is an
// error when the write could not be kept for replay.
//
// Only an access token (a JWT verified like a bearer token: signature with the
// provider's keys and bearer.algorithms, iss, admin.audience, exp/nbf/iat,
// bearer.maxTokenAge, not revoked) that carries admin.requiredScope, from an address
// in admin.allowedIPs when that is set, is let in. Everyone else gets the 404 any
// unknown path would get: the API is not advertised, not even to a holder of a valid
// token without the scope, which would otherwise learn the scope's name; the reason
// is in the log (admin.refused). docs/OPERATIONS.md has the operator's side.

const (
	// maxAdminBody caps an admin request body.
	maxAdminBody = 4 << 10
	// adminWriteTimeout bounds how long a revocation waits for Redis before it is
	// kept in the outbox instead.
	adminWriteTimeout = 5 * time.Second
	// maxAdminID bounds a sub or sid (OpenID Connect Core 2: sub at most 255 ASCII
	// characters).
	maxAdminID = 255
)

// adminState is the admin API's compiled configuration (nil when admin.path is
// unset).
type adminState struct {
	allowed []netip.Prefix
	scope   string
	maxLen  int
	algs    []string
	// check is the access-token check without Now.
	check oidc.AccessTokenCheck
}

func newAdminState(o *config.Options) *adminState {
	if o.Admin.RevokePath == "" {
		return nil
	}
	return &adminState{
		allowed: o.Admin.AllowedIPs,
		scope:   o.Admin.RequiredScope,
		maxLen:  o.Bearer.MaxTokenLength,
		algs:    o.Bearer.Algorithms,
		check: oidc.AccessTokenCheck{
			Issuer: o.Provider.Issuer, Audience: o.Admin.Audience, ClientID: o.Provider.ClientID,
			MaxAge: o.Bearer.MaxTokenAge, Leeway: o.Provider.ClockSkew,
		},
	}
}

// adminIdentity is who called the admin API: the access token's sub and the client
// it was issued to (azp, else client_id).
type adminIdentity struct {
	sub, client string
}

// handleAdminRevoke serves POST <admin.path>/revoke. The address is checked first
// (nothing else is looked at from elsewhere), then the throttle, then the token; an
// authorised caller gets 405 for another method and 400 for a malformed body.
func handleAdminRevoke(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	a := m.admin
	addr, isIP := clientAddr(m.opts.TrustedProxies, req)
	client := clientForLog(m, req)
	if len(a.allowed) > 0 && (!isIP || !inPrefixes(a.allowed, addr)) {
		adminRefused(m, rw, client, "address not in admin.allowedIPs")
		return
	}
	key := clientKey(m.opts.TrustedProxies, req)
	if blocked, _ := throttled(m.throttle, purposeAdmin, key); blocked {
		// Refused unseen and unlogged: the line that tripped the throttle said so.
		adminNotFound(m, rw)
		return
	}
	now := time.Now()
	who, reason := verifyAdmin(m, req.Context(), req, now)
	if who == nil {
		if countFailure(m, purposeAdmin, throttleAdmin, key) {
			reason += "; client throttled for throttle.penalty"
		}
		adminRefused(m, rw, client, reason)
		return
	}
	if req.Method != http.MethodPost {
		rw.Header().Set("Allow", "POST")
		adminBadRequest(m, rw, http.StatusMethodNotAllowed, who, client, "expected POST")
		return
	}
	field, value, problem := readAdminRequest(rw, req)
	if problem != "" {
		adminBadRequest(m, rw, http.StatusBadRequest, who, client, problem)
		return
	}
	adminRevoke(m, rw, req, who, client, field, value, now)
}

// verifyAdmin returns who presents the request's access token, or nil and why the
// token does not open the admin API.
func verifyAdmin(m *Middleware, ctx context.Context, req *http.Request, now time.Time) (*adminIdentity, string) {
	a := m.admin
	hs := req.Header["Authorization"]
	if len(hs) == 0 {
		return nil, "no access token"
	}
	tok, problem := parseBearerHeader(hs)
	if problem != "" {
		return nil, "malformed Authorization header"
	}
	// What needs no network first: a junk token costs no discovery or key lookup.
	if _, err := jose.PreCheck(tok, a.maxLen, a.algs); err != nil {
		return nil, "access token: " + err.Error()
	}
	meta, err := m.provider.discovery.Metadata(ctx)
	if err != nil {
		return nil, "provider metadata unavailable: " + err.Error()
	}
	jws, claims, err := verifyJWS(m, ctx, meta, tok, a.maxLen, a.algs)
	if err != nil {
		return nil, "access token: " + err.Error()
	}
	x := a.check
	x.Now = now
	t, err := oidc.CheckAccessToken(jws.Header, claims, x)
	if err != nil {
		return nil, "access token rules: " + err.Error()
	}
	if f := bearerRevoked(m, ctx, &tokenFacts{iss: t.Issuer, sub: t.Subject, jti: t.JTI, iat: t.IssuedAt.Unix()}); f != nil {
		return nil, "access token: " + f.reason
	}
	if !hasString(tokenScopes(claims), a.scope) {
		return nil, "insufficient_scope: the access token lacks " + strconv.Quote(a.scope)
	}
	client := t.AZP
	if client == "" {
		client, _, _ = jose.StringClaim(claims, "client_id")
	}
	return &adminIdentity{sub: t.Subject, client: client}, ""
}

// readAdminRequest reads the body of a revocation: one JSON object (application/json,
// at most maxAdminBody bytes, unique member names) with exactly one member, "sub" or
// "sid", a string of 1 to maxAdminID characters without control characters. It
// returns the member's name and value, or what is wrong.
func readAdminRequest(rw http.ResponseWriter, req *http.Request) (string, string, string) {
	ct, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" || req.Body == nil {
		return "", "", "expected an application/json body"
	}
	body, ok := readBody(rw, req, maxAdminBody)
	if !ok {
		return "", "", "body unreadable or larger than " + strconv.Itoa(maxAdminBody) + " bytes"
	}
	members, err := jose.DecodeClaims(body)
	if err != nil {
		return "", "", "expected one JSON object with unique member names"
	}
	field := "sub"
	if _, ok := members["sid"]; ok {
		field = "sid"
	}
	if _, ok := members[field]; !ok || len(members) != 1 {
		return "", "", `expected exactly one member, "sub" or "sid"`
	}
	v, _, err := jose.StringClaim(members, field)
	if err != nil || !plainID(v) {
		return "", "", field + ": expected a string of 1 to " + strconv.Itoa(maxAdminID) + " characters without control characters"
	}
	return field, v, ""
}

// plainID reports whether s can be a sub or sid: 1 to maxAdminID bytes, no control
// characters.
func plainID(s string) bool {
	if s == "" || len(s) > maxAdminID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// adminRevoke writes the revocation, logs it (admin.revoke) and answers with what was
// revoked and where the revocation is: 200 when Redis confirmed it (or there is no
// Redis: state local), 202 when it waits in the outbox, 503 when it could not be kept.
func adminRevoke(m *Middleware, rw http.ResponseWriter, req *http.Request, who *adminIdentity, client, field, value string, now time.Time) {
	// The caller may go away mid-way; the revocation must not.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), adminWriteTimeout)
	defer cancel()
	iss := m.opts.Provider.Issuer
	answer := map[string]any{"iss": iss}
	fields := map[string]string{"admin": who.sub, "admin_client": who.client, "client": client, "target": field, field: m.log.ID(value)}
	var state string
	var err error
	if field == "sub" {
		// Sessions and tokens are compared by their login time or iat, on the
		// provider's clock: allow for its skew against this one, so that nothing
		// issued before now escapes (what is issued within the skew after now is
		// refused too).
		var notBefore int64
		notBefore, state, err = revokeSubjectBefore(m, ctx, iss, value, now.Unix()+int64(m.opts.Provider.ClockSkew/time.Second))
		answer["revoked"] = "subject"
		answer["notBefore"] = notBefore
		fields["not_before"] = itoa64(notBefore)
	} else {
		ks := m.ks.revoked
		state, err = cache.SetRevocation(m.store, ctx, ks, revokedSID(iss, value), []byte("1"), ks.MaxTTL)
		answer["revoked"] = "provider_session"
		if err == nil {
			dropServerSessionOfSID(m, ctx, iss, value)
		}
	}
	answer[field] = value
	if err != nil {
		fields["error"] = err.Error()
		logEvent(m, logging.LevelError, logging.EventAdminRevokeFailed, "revocation not recorded for every replica; this replica enforces it", fields)
		adminJSON(m, rw, http.StatusServiceUnavailable, map[string]any{"error": "temporarily_unavailable",
			"error_description": "the revocation could not be kept for every replica (Redis unreachable and cache.outboxSize reached); this replica enforces it; retry"})
		return
	}
	fields["state"] = state
	logEvent(m, logging.LevelInfo, logging.EventAdminRevoke, "revoked by an operator", fields)
	answer["state"] = state
	status := http.StatusOK
	if state == cache.WriteQueued {
		status = http.StatusAccepted
	}
	adminJSON(m, rw, status, answer)
}

// adminRefused answers a request that did not prove it may use the admin API with
// 404, and logs why (admin.refused).
func adminRefused(m *Middleware, rw http.ResponseWriter, client, reason string) {
	logEvent(m, logging.LevelWarn, logging.EventAdminRefused, "admin API request refused", map[string]string{"client": client, "reason": reason})
	adminNotFound(m, rw)
}

// adminNotFound is net/http's 404, as for a path nothing serves.
func adminNotFound(m *Middleware, rw http.ResponseWriter) {
	h := rw.Header()
	m.ownHeaders(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(http.StatusNotFound)
	_, _ = rw.Write([]byte("404 page not found\n"))
}

// adminBadRequest answers an authorised caller's malformed request (405 or 400) with
// an RFC 6749 style JSON error, and logs it.
func adminBadRequest(m *Middleware, rw http.ResponseWriter, status int, who *adminIdentity, client, problem string) {
	logEvent(m, logging.LevelWarn, logging.EventAdminRefused, "admin API request malformed",
		map[string]string{"admin": who.sub, "admin_client": who.client, "client": client, "reason": problem})
	adminJSON(m, rw, status, map[string]any{"error": "invalid_request", "error_description": problem})
}

// adminJSON writes v as the JSON answer with status.
func adminJSON(m *Middleware, rw http.ResponseWriter, status int, v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error"}`)
	}
	h := rw.Header()
	m.ownHeaders(h)
	h.Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(append(b, '\n'))
}
