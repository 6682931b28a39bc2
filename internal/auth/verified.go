package auth

import (
	"sync"
	"sync/atomic"

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
	mu       sync.Mutex
	entries  map[string]*verified
	max      int
	bytes    int
	maxBytes int
	// sessionLookups and bearerLookups count the hot paths' lookups, under mu (which
	// they hold anyway: an atomic add there would cost the hot path under Yaegi);
	// sessionMisses and bearerMisses count those that went on to the slow path. The
	// difference is the requests the hot paths served (metrics.go).
	sessionLookups, bearerLookups int64
	sessionMisses, bearerMisses   atomic.Int64
}

// verified is one credential's cached verdict.
type verified struct {
	p *principal
	// until (Unix seconds) is when the cached verdict must be re-derived at the
	// latest: refresh due, cookie re-issue due, idle or absolute end, bearer exp.
	until int64
	// gen is the store generation at which revocation was last checked.
	gen uint64
	// rec is the session (nil for bearer tokens).
	rec *session.Record
	// upstreamCookie is the request's Cookie header without Gatehouse's cookies
	// (nil: remove the header), computed once for the credential's header.
	upstreamCookie []string
	// bearer is set for a bearer token's verdict (keyed by its Authorization header)
	// and nil for a session's: neither path may use the other's entries.
	bearer *tokenFacts
}

// maxVerifiedBytes bounds the memory of credentials kept as keys (a chunked session's
// Cookie header can be tens of kilobytes).
const maxVerifiedBytes = 32 << 20

func newVerifiedCache(max int) *verifiedCache {
	if max < 16 {
		max = 16
	}
	return &verifiedCache{entries: map[string]*verified{}, max: max, maxBytes: maxVerifiedBytes}
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
	if len(c.entries) >= c.max || c.bytes+len(credential) > c.maxBytes {
		n := len(c.entries)/16 + 1
		for k := range c.entries {
			if n <= 0 && len(c.entries) < c.max && c.bytes+len(credential) <= c.maxBytes {
				break
			}
			delete(c.entries, k)
			c.bytes -= len(k)
			n--
		}
	}
	if _, had := c.entries[credential]; !had {
		c.bytes += len(credential)
	}
	c.entries[credential] = v
	c.mu.Unlock()
}

// forgetVerified drops credential's verdict.
func forgetVerified(c *verifiedCache, credential string) {
	c.mu.Lock()
	if _, had := c.entries[credential]; had {
		delete(c.entries, credential)
		c.bytes -= len(credential)
	}
	c.mu.Unlock()
}
