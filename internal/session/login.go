package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sizes of a login transaction's random values.
const (
	stateBytes    = 24 // the state parameter: 32 base64url characters
	stateLen      = (stateBytes*4 + 2) / 3
	loginIDLen    = 12 // leading characters of state naming the cookie (72 bits)
	nonceBytes    = 24 // the ID token nonce
	verifierBytes = 32 // PKCE code_verifier: 43 characters, RFC 7636 section 4.1
)

// Errors of the callback's login-transaction lookup.
var (
	// ErrNoLogin: the state names no login transaction this browser holds (the
	// cookie expired, was already used, or the state is not one of ours).
	ErrNoLogin = errors.New("session: no login transaction for this state")
	// ErrStateMismatch: the transaction named by the state holds another state.
	ErrStateMismatch = errors.New("session: state does not match the login transaction")
)

// Login is one login transaction of the authorization-code flow, sealed into its own
// short-lived cookie <name>_login_<id>, where id is the first 12 characters of State,
// so that logins started in several tabs at once do not overwrite each other. It is a
// plain DTO for encoding/json. CreatedAt is in Unix seconds.
type Login struct {
	State     string `json:"s"`
	Nonce     string `json:"n"`
	Verifier  string `json:"v,omitempty"` // PKCE code_verifier; empty when PKCE is off
	ReturnURL string `json:"r,omitempty"`
	CreatedAt int64  `json:"c"`
	// MaxAge (seconds, 0: none) and ACR are what a step-up login asked the provider
	// for (max_age, acr_values): the callback checks the ID token's auth_time and acr
	// against them.
	MaxAge int64    `json:"ma,omitempty"`
	ACR    []string `json:"acr,omitempty"`
}

// StartLogin creates a login transaction with a fresh random state, nonce and (when
// pkce is set) PKCE verifier, remembering returnURL, and sets its cookie on h for the
// login timeout. When the browser already holds the maximum number of transactions,
// the oldest are expired first (unreadable and expired ones before any other), so
// repeated logins cannot grow the Cookie header without bound. The caller validates
// returnURL; one too long for a cookie gives ErrTooLarge.
func StartLogin(m *Manager, h http.Header, req *http.Request, returnURL string, pkce bool, now time.Time) (*Login, error) {
	return StartStepUpLogin(m, h, req, returnURL, pkce, 0, nil, now)
}

// StartStepUpLogin is StartLogin for a login that asks the provider for a recent
// sign-in (maxAge seconds, 0 for none) or an authentication context class (acr,
// nil for none), which the transaction remembers for the callback to check.
func StartStepUpLogin(m *Manager, h http.Header, req *http.Request, returnURL string, pkce bool, maxAge int64, acr []string, now time.Time) (*Login, error) {
	l := &Login{ReturnURL: returnURL, CreatedAt: now.Unix(), MaxAge: maxAge, ACR: acr}
	var err error
	if l.State, err = RandomString(stateBytes); err != nil {
		return nil, err
	}
	if l.Nonce, err = RandomString(nonceBytes); err != nil {
		return nil, err
	}
	if pkce {
		if l.Verifier, err = RandomString(verifierBytes); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, errors.New("session: encoding login transaction: " + err.Error())
	}
	text, err := Seal(m.Login, b)
	if err != nil {
		return nil, err
	}
	dropOldLogins(m, h, req, now)
	h.Add("Set-Cookie", m.loginPrefix+l.State[:loginIDLen]+"="+text+
		"; Max-Age="+strconv.FormatInt(m.loginTimeout, 10)+
		"; Expires="+now.Add(time.Duration(m.loginTimeout)*time.Second).UTC().Format(http.TimeFormat)+m.loginAttrs)
	return l, nil
}

// dropOldLogins expires the request's login-transaction cookies that cannot be used
// (unreadable or timed out) and, of the rest, the oldest ones beyond maxLogins-1, to
// make room for one more.
func dropOldLogins(m *Manager, h http.Header, req *http.Request, now time.Time) {
	type held struct {
		name    string
		created int64
	}
	var live []held
	for _, c := range req.Cookies() {
		if !strings.HasPrefix(c.Name, m.loginPrefix) {
			continue
		}
		created := int64(-1)
		if pt, err := Open(m.Login, c.Value); err == nil {
			var l Login
			if json.Unmarshal(pt, &l) == nil && now.Unix() < l.CreatedAt+m.loginTimeout {
				created = l.CreatedAt
			}
		}
		if created < 0 {
			h.Add("Set-Cookie", c.Name+"="+expiredAttrs+m.loginAttrs)
			continue
		}
		live = append(live, held{c.Name, created})
	}
	if len(live) < m.maxLogins {
		return
	}
	sort.Slice(live, func(i, j int) bool { return live[i].created < live[j].created })
	for i := 0; i <= len(live)-m.maxLogins; i++ {
		h.Add("Set-Cookie", live[i].name+"="+expiredAttrs+m.loginAttrs)
	}
}

// FinishLogin returns the login transaction the callback's state parameter names and
// expires its cookie whatever the outcome, so a transaction is used at most once. It
// checks that the sealed state equals state (in constant time) and that the login
// timeout has not passed. Errors: ErrNoLogin, ErrStateMismatch, ErrExpired, those of
// Open, ErrMalformed.
func FinishLogin(m *Manager, h http.Header, req *http.Request, state string, now time.Time) (*Login, error) {
	if len(state) != stateLen {
		return nil, ErrNoLogin
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(state); err != nil || strings.ContainsAny(state, "\r\n") {
		return nil, ErrNoLogin
	}
	name := m.loginPrefix + state[:loginIDLen]
	v, ok := CookieValue(CookieHeader(req), name)
	if !ok {
		return nil, ErrNoLogin
	}
	h.Add("Set-Cookie", name+"="+expiredAttrs+m.loginAttrs)
	pt, err := Open(m.Login, v)
	if err != nil {
		return nil, err
	}
	l := &Login{}
	if err := json.Unmarshal(pt, l); err != nil || l.State == "" || l.CreatedAt <= 0 {
		return nil, ErrMalformed
	}
	if subtle.ConstantTimeCompare([]byte(l.State), []byte(state)) != 1 {
		return nil, ErrStateMismatch
	}
	if now.Unix() >= l.CreatedAt+m.loginTimeout {
		return nil, ErrExpired
	}
	return l, nil
}

// PKCEChallenge returns the S256 code_challenge of a code_verifier:
// BASE64URL(SHA256(verifier)) without padding (RFC 7636 section 4.2).
func PKCEChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
