package session

import (
	"net/http"
	"time"
)

// Options configures a Manager: the session options of the middleware's
// configuration as internal/config compiles them (config.SessionConfig).
type Options struct {
	Keys         [][]byte // key material; the first seals, all open
	CookieName   string
	CookieDomain string
	CookiePath   string
	Secure       bool
	HTTPOnly     bool
	SameSite     http.SameSite
	Lifetime     time.Duration
	IdleTimeout  time.Duration // 0: no idle timeout
	RefreshGrace time.Duration
	LoginTimeout time.Duration
	Store        string // "cookie" or "cache"
}
