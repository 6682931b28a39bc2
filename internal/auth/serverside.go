package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Server-side sessions (session.store: cache).
//
// The cookie holds only a reference, sealed like any session cookie (AES-256-GCM with
// the instance's session keys, so it cannot be forged or moved to another
// middleware instance):
//
//	'R' 0x01 | key (32 random bytes) | session id
//
// The session record lives in the cache's session keyspace under the session id,
// sealed with a Sealer whose only key is that random key and whose binding is the
// session id. The key exists nowhere but in the browser's cookie: whoever reads the
// cache (Redis) sees ciphertext only, and a record cannot be moved under another id.
// The cookie stays about 120 bytes however large the record (ID token, 200 groups),
// and the record can be deleted at logout, on every replica at once.
//
// Cost: the hot path is unchanged (a verdict per Cookie header). The slow path reads
// the record from the cache (L1, else Redis) and derives the record's key (HKDF)
// before opening it, a few tens of microseconds more than a cookie session under
// Yaegi.

const (
	refVersion = 1
	refKeyLen  = 32
	// maxRefID bounds the session id in a reference (ids are 22 characters).
	maxRefID = 64
	// serverSessionPurpose is the sealing purpose of server-side records.
	serverSessionPurpose = "server-session"
	// sidIndexPrefix starts the session-keyspace id of the index from a provider
	// session (iss, sid) to the session id, used by back-channel logout to delete the
	// record. Session ids are base64url, so they never start with it.
	sidIndexPrefix = "sid\x00"
)

// errNoServerSession: the reference is valid but the record is gone (deleted at
// logout, expired, evicted from a cache without Redis).
var errNoServerSession = errors.New("auth: server-side session not found: signed out, revoked or expired")

// errNotReference: the session cookie opened, but is not a server-side reference.
var errNotReference = errors.New("auth: session cookie: expected a server-side session reference, got another value")

// readSession returns the request's session, from the cookie or (session.store cache)
// from the cache through the cookie's reference. It is only called off the hot path.
func readSession(m *Middleware, req *http.Request, now time.Time) (*session.Record, error) {
	if m.opts.Session.Store != "cache" {
		return session.ReadSession(m.sessions, req, now)
	}
	return readServerSession(m, req, now)
}

// readServerSession follows the cookie's reference to the sealed record in the cache
// and opens it with the reference's key.
func readServerSession(m *Middleware, req *http.Request, now time.Time) (*session.Record, error) {
	_, id, key, err := readReference(m, session.CookieHeader(req))
	if err != nil {
		return nil, err
	}
	v, ok, err := cache.Lookup(m.store, req.Context(), m.ks.session, id)
	if err != nil || !ok {
		return nil, errNoServerSession
	}
	s, err := recordSealer(key, id)
	if err != nil {
		return nil, err
	}
	rec, err := session.OpenRecord(m.sessions, s, string(v), now)
	if err != nil {
		return nil, err
	}
	if rec.ID != id {
		return nil, session.ErrMalformed
	}
	return rec, nil
}

// readReference returns the sealed text of the session cookie and the session id and
// key of the reference it holds.
func readReference(m *Middleware, header string) (string, string, []byte, error) {
	text, err := session.ReadChunked(m.sessions, header)
	if err != nil {
		return "", "", nil, err
	}
	pt, err := session.Open(m.sessions.Session, text)
	if err != nil {
		return "", "", nil, err
	}
	id, key, err := parseReference(pt)
	if err != nil {
		return "", "", nil, err
	}
	return text, id, key, nil
}

// parseReference splits an opened reference into session id and key.
func parseReference(pt []byte) (string, []byte, error) {
	if len(pt) < 2+refKeyLen+1 || len(pt) > 2+refKeyLen+maxRefID || pt[0] != 'R' || pt[1] != refVersion {
		return "", nil, errNotReference
	}
	return string(pt[2+refKeyLen:]), pt[2 : 2+refKeyLen], nil
}

// newReference builds the plaintext of a reference.
func newReference(id string, key []byte) []byte {
	ref := make([]byte, 0, 2+len(key)+len(id))
	ref = append(ref, 'R', refVersion)
	ref = append(ref, key...)
	return append(ref, id...)
}

// recordSealer is the sealer of one server-side record: its key is the reference's
// random key (HKDF-derived per purpose by session.NewSealer) and its binding the
// session id.
func recordSealer(key []byte, id string) (*session.Sealer, error) {
	return session.NewSealer([][]byte{key}, serverSessionPurpose, id, session.MaxCacheText)
}

// writeServerSession seals rec into the cache under its id and sets the reference
// cookie. A request that already holds a reference to rec keeps its key and cookie
// text (the Max-Age is renewed); any other reference the request carries (an earlier
// session of this browser) has its record deleted.
func writeServerSession(m *Middleware, ctx context.Context, h http.Header, req *http.Request, rec *session.Record, now time.Time) error {
	maxAge := session.CookieMaxAge(m.sessions, rec, now)
	if maxAge <= 0 {
		return session.ErrExpired
	}
	text, id, key, err := readReference(m, session.CookieHeader(req))
	if err != nil || id != rec.ID {
		if err == nil {
			_ = m.store.Delete(ctx, m.ks.session, id)
		}
		text = ""
		key = make([]byte, refKeyLen)
		if _, err := rand.Read(key); err != nil {
			return errors.New("auth: reading random session key: " + err.Error())
		}
	}
	s, err := recordSealer(key, rec.ID)
	if err != nil {
		return err
	}
	sealed, err := session.SealRecord(s, rec)
	if err != nil {
		return err
	}
	ttl := time.Duration(maxAge) * time.Second
	if err := m.store.Set(ctx, m.ks.session, rec.ID, []byte(sealed), ttl); err != nil {
		return err
	}
	if text == "" {
		if rec.SID != "" {
			// Back-channel logout names the provider session: remember which record it
			// is, so that the record can be deleted then.
			_ = m.store.Set(ctx, m.ks.session, sidIndexPrefix+rec.Issuer+"\x00"+rec.SID, []byte(rec.ID), m.opts.Session.Lifetime)
		}
		if text, err = session.Seal(m.sessions.Session, newReference(rec.ID, key)); err != nil {
			return err
		}
	}
	return session.WriteChunked(m.sessions, h, req, text, maxAge, now)
}

// dropServerSession deletes rec's server-side record (session.store cache), so a
// signed-out or revoked session's tokens are gone from the cache on every replica.
func dropServerSession(m *Middleware, ctx context.Context, rec *session.Record) {
	if m.opts.Session.Store != "cache" {
		return
	}
	if err := m.store.Delete(ctx, m.ks.session, rec.ID); err != nil {
		m.log.Warn(logging.EventSessionDeleteFailed, "cannot delete a server-side session", logging.Fields{"error": err})
	}
	if rec.SID != "" {
		idx := sidIndexPrefix + rec.Issuer + "\x00" + rec.SID
		if v, ok, _ := cache.Lookup(m.store, ctx, m.ks.session, idx); ok && string(v) == rec.ID {
			_ = m.store.Delete(ctx, m.ks.session, idx)
		}
	}
}

// dropServerSessionOfSID deletes the server-side record of the provider session
// (iss, sid), found through the index writeServerSession keeps.
func dropServerSessionOfSID(m *Middleware, ctx context.Context, iss, sid string) {
	if m.opts.Session.Store != "cache" {
		return
	}
	idx := sidIndexPrefix + iss + "\x00" + sid
	v, ok, err := cache.Lookup(m.store, ctx, m.ks.session, idx)
	if err != nil || !ok {
		return
	}
	_ = m.store.Delete(ctx, m.ks.session, string(v))
	_ = m.store.Delete(ctx, m.ks.session, idx)
}
