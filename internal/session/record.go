package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Errors of a session that opened but may no longer be used.
var (
	// ErrExpired: the absolute lifetime (or a login transaction's timeout) is over.
	ErrExpired = errors.New("session: expired")
	// ErrIdle: no request renewed the session within the idle timeout.
	ErrIdle = errors.New("session: idle timeout")
)

// Record is the session as it is sealed into the cookie (or, with server-side
// sessions, into the cache). It is a plain data-transfer object for encoding/json:
// exported fields only and no custom marshalling, both of which Yaegi mishandles.
// Names are short because every byte is sent with every request. Times are Unix
// seconds.
//
// Keep only what is used: the ID token only when it is sent as id_token_hint at
// logout, the access token only when it is forwarded or needed for refresh, and in
// Claims only the claims header templates and rules read. Records returned by ReadSession may
// be shared with other requests: replace fields, never modify a slice or map in
// place.
type Record struct {
	ID            string         `json:"id"`            // random session id, 128 bits
	Subject       string         `json:"sub"`           // the ID token's sub
	Issuer        string         `json:"iss,omitempty"` // the ID token's iss
	SID           string         `json:"sid,omitempty"` // the ID token's sid, for logout
	User          string         `json:"u,omitempty"`
	Email         string         `json:"em,omitempty"`
	EmailVerified bool           `json:"ev,omitempty"`
	Roles         []string       `json:"ro,omitempty"`
	Groups        []string       `json:"gr,omitempty"`
	Claims        map[string]any `json:"cl,omitempty"` // numbers decode as json.Number
	AccessToken   string         `json:"at,omitempty"`
	RefreshToken  string         `json:"rt,omitempty"`
	IDToken       string         `json:"it,omitempty"`
	TokenExpiry   int64          `json:"te,omitempty"`  // access token expiry
	CreatedAt     int64          `json:"ca"`            // start of the absolute lifetime
	LastSeen      int64          `json:"ls"`            // start of the idle timeout
	LoginTime     int64          `json:"lt"`            // when the user signed in (revocation by sub before T)
	AuthTime      int64          `json:"au,omitempty"`  // the ID token's auth_time (0: not sent)
	ACR           string         `json:"acr,omitempty"` // the ID token's acr
	// ClaimSet names the claims kept in Claims for the rules (config.PolicyOptions'
	// ClaimSet, or "*" when every claim is kept): a session whose set differs from
	// what today's rules read is signed in again.
	ClaimSet string `json:"cs,omitempty"`
}

// NewRecord returns a record with a fresh random id and every time set to now.
func NewRecord(now time.Time) (*Record, error) {
	id, err := RandomString(16)
	if err != nil {
		return nil, err
	}
	t := now.Unix()
	return &Record{ID: id, CreatedAt: t, LastSeen: t, LoginTime: t}, nil
}

// SealRecord encodes rec as JSON and seals it with s.
func SealRecord(s *Sealer, rec *Record) (string, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return "", errors.New("session: encoding record: " + err.Error())
	}
	return Seal(s, b)
}

// OpenRecord opens a value made by SealRecord with s and checks it against m's
// absolute lifetime and idle timeout at now. Errors: those of Open, ErrMalformed,
// ErrExpired, ErrIdle.
func OpenRecord(m *Manager, s *Sealer, text string, now time.Time) (*Record, error) {
	pt, err := Open(s, text)
	if err != nil {
		return nil, err
	}
	rec, err := decodeRecord(pt)
	if err != nil {
		return nil, err
	}
	if err := CheckTimes(m, rec, now); err != nil {
		return nil, err
	}
	return rec, nil
}

func decodeRecord(pt []byte) (*Record, error) {
	rec := &Record{}
	dec := json.NewDecoder(bytes.NewReader(pt))
	dec.UseNumber()
	if err := dec.Decode(rec); err != nil || rec.ID == "" || rec.CreatedAt <= 0 {
		return nil, ErrMalformed
	}
	return rec, nil
}

// CheckTimes returns ErrExpired when rec's absolute lifetime is over at now, ErrIdle
// when its idle timeout is, else nil.
func CheckTimes(m *Manager, rec *Record, now time.Time) error {
	t := now.Unix()
	if t >= rec.CreatedAt+m.lifetime {
		return ErrExpired
	}
	if m.idle > 0 && t >= rec.LastSeen+m.idle {
		return ErrIdle
	}
	return nil
}

// ShouldReissue reports whether the session cookie should be written again to move
// LastSeen forward: only when there is an idle timeout and a tenth of it (at least a
// minute, at most half of it) has passed since LastSeen, so cookies are not re-sent
// on every request.
func ShouldReissue(m *Manager, rec *Record, now time.Time) bool {
	return m.idle > 0 && now.Unix()-rec.LastSeen >= m.reissueAfter
}

// NeedsRefresh reports whether the access token expires within the refresh grace
// period at now (false when the record has no token expiry).
func NeedsRefresh(m *Manager, rec *Record, now time.Time) bool {
	return rec.TokenExpiry > 0 && now.Unix()+m.refreshGrace >= rec.TokenExpiry
}

// CookieMaxAge returns how many seconds the browser should keep rec's cookie: until
// the absolute lifetime or the idle timeout ends, whichever is first.
func CookieMaxAge(m *Manager, rec *Record, now time.Time) int64 {
	end := rec.CreatedAt + m.lifetime
	if m.idle > 0 && rec.LastSeen+m.idle < end {
		end = rec.LastSeen + m.idle
	}
	return end - now.Unix()
}

// ReadSession returns the session the request's cookies carry, checked against the
// absolute lifetime and idle timeout at now. A Cookie header (or a sealed session)
// seen recently is answered from the Manager's memory without decoding or
// decrypting it again; the time checks run every time. The returned record is a
// copy whose slices and maps are shared: see Record. Errors: ErrNoSession,
// ErrChunks, those of OpenRecord.
func ReadSession(m *Manager, req *http.Request, now time.Time) (*Record, error) {
	// Under Yaegi a function's frame costs an allocation per local and temporary,
	// taken or not, and every call costs more than the work done here: the fast
	// path has few of either, and everything rare is in another function.
	hs := req.Header["Cookie"]
	if len(hs) != 1 {
		return readSessionSlow(m, CookieHeader(req), now)
	}
	m.memo.mu.RLock()
	e := m.memo.byHeader[hs[0]]
	m.memo.mu.RUnlock()
	if e == nil {
		return readSessionSlow(m, hs[0], now)
	}
	if now.Unix() >= e.deadline {
		return nil, CheckTimes(m, e.rec, now)
	}
	rec := *e.rec
	return &rec, nil
}

// readSessionSlow reads a Cookie header the Manager does not remember: chunks
// reassembled, the sealed text looked up or opened, the times checked, the result
// remembered.
func readSessionSlow(m *Manager, header string, now time.Time) (*Record, error) {
	text, err := ReadChunked(m, header)
	if err != nil {
		return nil, err
	}
	m.memo.mu.RLock()
	known := m.memo.byText[text]
	m.memo.mu.RUnlock()
	if known == nil {
		pt, err := Open(m.Session, text)
		if err != nil {
			return nil, err
		}
		if known, err = decodeRecord(pt); err != nil {
			return nil, err
		}
	}
	if err := CheckTimes(m, known, now); err != nil {
		return nil, err
	}
	remember(m, header, text, known)
	rec := *known
	return &rec, nil
}

// WriteSession seals rec and sets it as the session cookie on h (chunked when large),
// with a browser lifetime that ends with the session's; stale chunks the request
// carries are expired. It refuses a record whose lifetime is already over.
func WriteSession(m *Manager, h http.Header, req *http.Request, rec *Record, now time.Time) error {
	maxAge := CookieMaxAge(m, rec, now)
	if maxAge <= 0 {
		return ErrExpired
	}
	text, err := SealRecord(m.Session, rec)
	if err != nil {
		return err
	}
	return WriteChunked(m, h, req, text, maxAge, now)
}

// ClearSession expires the session cookie and every chunk of it the request carries.
func ClearSession(m *Manager, h http.Header, req *http.Request) {
	ClearChunked(m, h, req)
}

// NextCheck returns the Unix time at which something about rec must next be done or
// checked: the absolute lifetime or the idle timeout ends, the cookie is due for
// re-issue, or (when rec has a refresh token) the refresh grace period starts. Until
// then a caller that has seen rec may reuse its verdict without reading it again.
func NextCheck(m *Manager, rec *Record) int64 {
	t := rec.CreatedAt + m.lifetime
	if m.idle > 0 {
		if r := rec.LastSeen + m.reissueAfter; r < t {
			t = r
		}
		if e := rec.LastSeen + m.idle; e < t {
			t = e
		}
	}
	if rec.RefreshToken != "" && rec.TokenExpiry > 0 {
		if r := rec.TokenExpiry - m.refreshGrace; r < t {
			t = r
		}
	}
	return t
}
