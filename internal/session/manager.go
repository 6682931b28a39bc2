package session

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits of the cookie format.
const (
	// MaxChunks is the most cookies one session is split into.
	MaxChunks = 10
	// ChunkValueTarget is the longest value written into one cookie.
	ChunkValueTarget = 3800
	// MaxSetCookieLine bounds name=value plus attributes of every Set-Cookie line
	// written (browsers keep at least 4096 bytes per cookie, RFC 6265 section 6.1).
	MaxSetCookieLine = 4095
	// DefaultMaxLogins is how many login transactions a browser may have open at
	// once before the oldest is dropped.
	DefaultMaxLogins = 4
	// MaxCacheText is the longest value the CacheSealer opens.
	MaxCacheText = 1 << 20
	// memoMaxBytes bounds the memory of opened sessions one Manager remembers.
	memoMaxBytes = 8 << 20
	// expiresAttrLen is len("; Max-Age=") + 10 digits + len("; Expires=") + 29.
	expiresAttrLen = 10 + 10 + 10 + 29
)

// ErrNoSession: the request carries no session cookie.
var ErrNoSession = errors.New("session: no session cookie")

// Manager holds everything one middleware instance needs to read and write its
// session and login cookies: sealers bound to the instance, cookie attributes,
// lifetimes, and a bounded memory of recently opened sessions. Build it once with
// NewManager; it is safe for concurrent use. Per-request operations are plain
// functions taking the Manager (cheaper than methods under Yaegi).
type Manager struct {
	// Session seals the session cookie, Login the login-transaction cookies,
	// CacheSealer values before they reach the shared cache. Each has keys of its own.
	Session     *Sealer
	Login       *Sealer
	CacheSealer *Sealer

	name        string
	chunkNames  []string // chunkNames[i] is name_i, for 1 <= i <= MaxChunks+1; [0] is name
	markers     []string // markers[n] is the chunk-count marker ".n"
	loginPrefix string   // name + "_login_"
	budget      int      // longest value in one cookie
	attrs       string   // session cookie attributes except Max-Age/Expires
	loginAttrs  string   // login cookie attributes except Max-Age/Expires

	lifetime     int64 // seconds
	idle         int64 // seconds; 0: no idle timeout
	reissueAfter int64 // seconds of inactivity after which the cookie is re-issued
	refreshGrace int64 // seconds
	loginTimeout int64 // seconds
	maxLogins    int

	memo sessionMemo
}

// NewManager builds the Manager of one middleware instance from the compiled session
// options. binding identifies the instance (see InstanceBinding). callbackPath is the
// redirect URI's path: login-transaction cookies are scoped to the longest path that
// covers both it and the session cookie's path, so they reach the callback and the
// pages where logins start.
func NewManager(opts *Options, binding, callbackPath string) (*Manager, error) {
	if opts.CookieName == "" {
		return nil, errors.New("session: cookie name is required, got an empty one")
	}
	if opts.Lifetime <= 0 {
		return nil, errors.New("session: lifetime must be positive, got " + opts.Lifetime.String())
	}
	m := &Manager{
		name:         opts.CookieName,
		loginPrefix:  opts.CookieName + "_login_",
		lifetime:     seconds(opts.Lifetime),
		idle:         seconds(opts.IdleTimeout),
		refreshGrace: seconds(opts.RefreshGrace),
		loginTimeout: seconds(opts.LoginTimeout),
		maxLogins:    DefaultMaxLogins,
		memo:         newSessionMemo(memoMaxBytes),
	}
	if m.loginTimeout <= 0 {
		m.loginTimeout = 600
	}
	// Re-issue when a tenth of the idle timeout has passed, but not more often than
	// once a minute unless the idle timeout is so short that a minute is half of it.
	m.reissueAfter = m.idle / 10
	floor := int64(60)
	if m.idle/2 < floor {
		floor = m.idle / 2
	}
	if m.reissueAfter < floor {
		m.reissueAfter = floor
	}

	path := opts.CookiePath
	if path == "" {
		path = "/"
	}
	sameSite := "Lax"
	loginSameSite := "Lax"
	switch opts.SameSite {
	case http.SameSiteStrictMode:
		// The callback is a cross-site navigation from the provider: a Strict login
		// cookie would not be sent to it (RFC 6265bis section 5.5.7.1).
		sameSite = "Strict"
	case http.SameSiteNoneMode:
		sameSite = "None"
		loginSameSite = "None"
	}
	m.attrs = cookieAttrs(path, opts.CookieDomain, opts.HTTPOnly, opts.Secure, sameSite)
	m.loginAttrs = cookieAttrs(commonPath(path, callbackPath), opts.CookieDomain, opts.HTTPOnly, opts.Secure, loginSameSite)

	for i := 0; i <= MaxChunks+1; i++ {
		if i == 0 {
			m.chunkNames = append(m.chunkNames, m.name)
		} else {
			m.chunkNames = append(m.chunkNames, m.name+"_"+strconv.Itoa(i))
		}
		m.markers = append(m.markers, "."+strconv.Itoa(i))
	}
	overhead := len(m.chunkNames[MaxChunks]) + 1 + expiresAttrLen + len(m.attrs)
	if lo := len(m.loginPrefix) + loginIDLen + 1 + expiresAttrLen + len(m.loginAttrs); lo > overhead {
		overhead = lo
	}
	m.budget = ChunkValueTarget
	if MaxSetCookieLine-overhead < m.budget {
		m.budget = MaxSetCookieLine - overhead
	}
	if m.budget < 1024 {
		return nil, errors.New("session: cookie name, path and domain leave " + strconv.Itoa(m.budget) + " bytes per cookie value, expected at least 1024")
	}

	var err error
	if m.Session, err = NewSealer(opts.Keys, PurposeSession, binding, MaxChunks*m.budget); err != nil {
		return nil, err
	}
	if m.Login, err = NewSealer(opts.Keys, PurposeLogin, binding, m.budget); err != nil {
		return nil, err
	}
	if m.CacheSealer, err = NewSealer(opts.Keys, PurposeCache, binding, MaxCacheText); err != nil {
		return nil, err
	}
	return m, nil
}

// CookieName returns the session cookie's name.
func CookieName(m *Manager) string { return m.name }

// ChunkBudget returns the longest value the Manager writes into one cookie.
func ChunkBudget(m *Manager) int { return m.budget }

func seconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

func cookieAttrs(path, domain string, httpOnly, secure bool, sameSite string) string {
	var b strings.Builder
	b.WriteString("; Path=")
	b.WriteString(path)
	if domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(domain)
	}
	if httpOnly {
		b.WriteString("; HttpOnly")
	}
	if secure {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=")
	b.WriteString(sameSite)
	return b.String()
}

// commonPath returns the longest cookie path that path-matches both a and b (RFC 6265
// section 5.1.4): their common prefix cut back to a whole segment.
func commonPath(a, b string) string {
	if b == "" || !strings.HasPrefix(b, "/") {
		return a
	}
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	switch {
	case n == len(a) && (n == len(b) || b[n] == '/' || strings.HasSuffix(a, "/")):
		return a
	case n == len(b) && (a[n] == '/' || strings.HasSuffix(b, "/")):
		return b
	}
	i := strings.LastIndexByte(a[:n], '/')
	if i <= 0 {
		return "/"
	}
	return a[:i]
}
