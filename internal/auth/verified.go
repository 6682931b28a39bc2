package auth

import (
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// verifiedCache remembers, per credential (a session cookie's sealed value or a bearer
// token), the principal it opened to and until when that answer holds without doing
// the work again: decrypting, decoding, checking lifetimes, consulting the revocation
// keyspaces. It lives only in this process, holds nothing that is not already in the
// request, and is bounded.
//
// An entry records the cache store's Generation at the time its revocation status was
// checked; when the generation moves (a revocation written here or anywhere, an
// invalidation, tracking lost), the entry is re-checked before use.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[string]*verified
	max     int
}

// verified is one credential's cached verdict.
type verified struct {
	p *principal
	// until is when the cached verdict must be re-derived at the latest: access token
	// expiry minus refresh grace, idle deadline, absolute lifetime, bearer exp.
	until time.Time
	// gen is the store generation at which revocation was last checked.
	gen uint64
	// touchAfter: past it, the session's last-seen time is refreshed (cookie
	// re-issued) so the idle timeout slides.
	touchAfter time.Time
	// session-only details needed when re-checking revocation or refreshing.
	rec       *session.Record
	sessionID string
	sid       string
	subject   string
	issuedAt  time.Time
	// bearer-only details.
	jti string
}

func newVerifiedCache(max int) *verifiedCache {
	if max < 16 {
		max = 16
	}
	return &verifiedCache{entries: map[string]*verified{}, max: max}
}

// lookupVerified returns the cached verdict for credential, or nil.
func lookupVerified(c *verifiedCache, credential string) *verified {
	c.mu.Lock()
	v := c.entries[credential]
	c.mu.Unlock()
	return v
}

// storeVerified caches v for credential. When full, it drops an arbitrary sixteenth
// of the entries: O(1) amortised, no per-entry bookkeeping on the hot path, and a
// flood of distinct credentials cannot grow memory.
func storeVerified(c *verifiedCache, credential string, v *verified) {
	c.mu.Lock()
	if len(c.entries) >= c.max {
		n := c.max / 16
		for k := range c.entries {
			if n <= 0 {
				break
			}
			delete(c.entries, k)
			n--
		}
	}
	c.entries[credential] = v
	c.mu.Unlock()
}

// forgetVerified drops credential's verdict.
func forgetVerified(c *verifiedCache, credential string) {
	c.mu.Lock()
	delete(c.entries, credential)
	c.mu.Unlock()
}
