package auth

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/pages"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// "Sign out my other devices" (logout.othersPath): a signed-in user ends every other
// session of theirs and keeps the one they are using.
//
// It needs no list of the user's sessions, whatever the session store: one revocation
// per user, "others:<iss> <sub>" → "<T> <id>", refuses every session of the subject
// that signed in at or before T (its login time, on the provider's clock, as for a
// revocation by subject; T is now plus provider.clockSkew) except the session whose
// id is <id>. The current session is re-issued under that new id — a new cookie, and
// with session.store cache a new record under a new key, the old one deleted — so a
// copy of the current cookie taken earlier (the reason one signs out other devices)
// is signed out with the rest. The revocation is one bounded value per user, written
// like every revocation (Redis, or the outbox while Redis is down), and enforced by
// every replica within the invalidation delay. A user with 10 000 sessions costs no
// more than one with two; other sessions' server-side records are deleted when they
// are next presented (and refused), or expire with their lifetime. The user's access
// tokens (bearer path) are not touched: they are not sessions of this site.
//
// The request is CSRF-safe like sign-out: a POST from a page of this site
// (Sec-Fetch-Site, Origin), or one carrying the session's token for this purpose; a
// GET only shows a page whose form carries the token.

// handleSignOutOthers serves logout.othersPath.
func handleSignOutOthers(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	// Only a POST acts: a GET carrying the token shows the confirmation page too.
	token, ok := actionToken(m, rw, req, false, "Sign out other devices")
	if !ok {
		return
	}
	now := time.Now()
	rec := currentSession(m, req, now)
	if rec == nil {
		othersAnswer(m, rw, req, http.StatusUnauthorized, "not_signed_in", "You are not signed in.")
		return
	}
	confirmed := req.Method == http.MethodPost && (sameOriginPost(req) || (token != "" && validSessionToken(m, csrfOthers, rec.ID, token)))
	if !confirmed {
		othersConfirmation(m, rw, req, rec)
		return
	}
	signOutOthers(m, rw, req, rec, now)
}

// signOutOthers writes the user's "others" revocation naming a new id for the current
// session, then re-issues the current session under that id. The session is re-issued
// even when the write failed: a revocation that could not be kept for replay is still
// enforced by this replica, and must not sign the user out here.
func signOutOthers(m *Middleware, rw http.ResponseWriter, req *http.Request, rec *session.Record, now time.Time) {
	ctx := context.WithoutCancel(req.Context())
	id, err := session.RandomString(16)
	if err != nil {
		errorPage(m, rw, http.StatusInternalServerError, "Your other devices could not be signed out. Try again in a moment.")
		return
	}
	wctx, cancel := context.WithTimeout(ctx, adminWriteTimeout)
	notBefore, state, werr := revokeOthers(m, wctx, rec, id, now.Unix()+int64(m.opts.Provider.ClockSkew/time.Second))
	cancel()
	kept := *rec // rec may be shared with other requests: change a copy
	kept.ID = id
	fields := map[string]string{"user": m.log.ID(rec.Subject), "client": clientForLog(m, req), "not_before": itoa64(notBefore)}
	if err := writeSession(m, ctx, rw.Header(), req, &kept, now); err != nil {
		// The old id is revoked with the others: this browser must sign in again.
		m.log.Error(logging.EventSessionWriteFailed, "cannot re-issue the session after signing out the other devices",
			logging.Fields{"user": fields["user"], "error": err, "during": "sign out others"})
		session.ClearSession(m.sessions, rw.Header(), req)
		othersAnswer(m, rw, req, http.StatusInternalServerError, "session_not_kept",
			"Your other devices are signed out, but this session could not be kept: sign in again.")
		return
	}
	if werr != nil {
		fields["error"] = werr.Error()
		logEvent(m, logging.LevelError, logging.EventSessionRevokeOthersFailed, "other sessions not signed out on every replica", fields)
		othersAnswer(m, rw, req, http.StatusServiceUnavailable, "temporarily_unavailable",
			"Your other devices could not be signed out on every server. Try again in a moment.")
		return
	}
	fields["state"] = state
	logEvent(m, logging.LevelInfo, logging.EventSessionRevokeOthers, "signed out the user's other sessions", fields)
	msg := "Your other devices are signed out. This one stays signed in."
	if state == cache.WriteQueued {
		msg += " Some servers will learn of it in a moment."
	}
	othersAnswer(m, rw, req, http.StatusOK, state, msg)
}

// revokeOthers records that every session of rec's user that signed in at or before
// notBefore, except session keep, is revoked, and returns the time recorded and where
// the write is (cache.SetRevocation). The time never moves backwards (a replica whose
// clock is ahead may have recorded a later one): only the session kept changes.
func revokeOthers(m *Middleware, ctx context.Context, rec *session.Record, keep string, notBefore int64) (int64, string, error) {
	ks := m.ks.revoked
	key := revokedOthers(rec.Issuer, rec.Subject)
	if v, ok, _ := cache.Lookup(m.store, ctx, ks, key); ok {
		if i := bytes.IndexByte(v, ' '); i > 0 {
			if cur, err := strconv.ParseInt(string(v[:i]), 10, 64); err == nil && cur > notBefore {
				notBefore = cur
			}
		}
	}
	state, err := cache.SetRevocation(m.store, ctx, ks, key, []byte(itoa64(notBefore)+" "+keep), ks.MaxTTL)
	return notBefore, state, err
}

// othersRevoked reports whether the "others" revocation v ("<T> <id>") refuses rec:
// signed in at or before T, and not the session it keeps.
func othersRevoked(v []byte, rec *session.Record) bool {
	i := bytes.IndexByte(v, ' ')
	if i <= 0 {
		return false
	}
	notBefore, err := strconv.ParseInt(string(v[:i]), 10, 64)
	return err == nil && rec.LoginTime <= notBefore && string(v[i+1:]) != rec.ID
}

// othersConfirmation answers a request that did not prove it came from this site: a
// page asking, with a form that carries the token.
func othersConfirmation(m *Middleware, rw http.ResponseWriter, req *http.Request, rec *session.Record) {
	confirmationPage(m, rw, req, rec, &confirmation{kind: pages.KindSignOutOthers, heading: "Sign out your other devices?",
		note:   "Every other browser or device signed in as you will be signed out; this one stays signed in.",
		action: m.othersPath, purpose: csrfOthers, button: "Sign out other devices"})
}

// othersAnswer ends the request: JSON for API clients ({"revoked":"other_sessions",
// "state":…} when status is 200, else {"error": what, "error_description": msg}), a
// page for browsers. what is the state on success, the error code otherwise.
func othersAnswer(m *Middleware, rw http.ResponseWriter, req *http.Request, status int, what, msg string) {
	if !fromPage(req) {
		v := map[string]any{"revoked": "other_sessions", "state": what}
		if status != http.StatusOK {
			v = map[string]any{"error": what, "error_description": msg}
		}
		adminJSON(m, rw, status, v)
		return
	}
	if status != http.StatusOK {
		errorPage(m, rw, status, msg)
		return
	}
	showPage(m, rw, status, &pages.Page{Kind: pages.KindOthersSignedOut, Status: status, Heading: "Other devices signed out",
		Paragraphs: []string{msg}, LinkHref: "/", LinkText: "Continue"})
}
