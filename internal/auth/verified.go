package auth

import (
	"encoding/json"
	"sync"
	"sync/atomic"
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
	// sessionDeadline and bearerDeadline are until as an offset from
	// Middleware.base, for the hot paths (time.Since on a monotonic base costs less
	// than time.Now().Unix() under Yaegi). Each is set only for its kind of verdict
	// and zero for the other, and time.Since(base) is never negative: a hot path's
	// `time.Since(m.base) < v.xxxDeadline` also tells it that the entry is of its
	// kind, so neither serves the other's entries without a test of its own
	// (TestBearerVerdictsAndSessionVerdictsDoNotMix).
	sessionDeadline, bearerDeadline time.Duration
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
	// size is what the entry counts against the cache's bytes (verifiedSize), set
	// when it is stored.
	size int
}

// evictBatch is the most entries one store evicts for room: the work done under the
// mutex every request takes stays small and fixed. A verdict that does not fit after
// that is not remembered (the request is served all the same; the next one that
// finds room caches it), so the bounds hold at every moment.
const evictBatch = 16

func newVerifiedCache(maxEntries, maxBytes int) *verifiedCache {
	if maxEntries < 16 {
		maxEntries = 16
	}
	return &verifiedCache{entries: map[string]*verified{}, max: maxEntries, maxBytes: maxBytes}
}

// lookupVerified returns the cached verdict for credential, or nil.
func lookupVerified(c *verifiedCache, credential string) *verified {
	c.mu.Lock()
	v := c.entries[credential]
	c.mu.Unlock()
	return v
}

// storeVerified caches v for credential, within the cache's bounds on entries and
// bytes (keys and values, estimated once here, outside the mutex). When full it drops
// at most evictBatch arbitrary entries (the map's iteration order): O(1), no
// per-entry bookkeeping on the hot path, and a flood of distinct credentials cannot
// grow memory.
func storeVerified(c *verifiedCache, credential string, v *verified) {
	size := verifiedSize(credential, v)
	v.size = size
	c.mu.Lock()
	if old := c.entries[credential]; old != nil {
		delete(c.entries, credential)
		c.bytes -= old.size
	}
	if size > c.maxBytes {
		c.mu.Unlock()
		return
	}
	if len(c.entries) >= c.max || c.bytes+size > c.maxBytes {
		n := evictBatch
		for k, e := range c.entries {
			delete(c.entries, k)
			c.bytes -= e.size
			n--
			if n == 0 || (len(c.entries) < c.max && c.bytes+size <= c.maxBytes) {
				break
			}
		}
	}
	if len(c.entries) < c.max && c.bytes+size <= c.maxBytes {
		c.entries[credential] = v
		c.bytes += size
	}
	c.mu.Unlock()
}

// forgetVerified drops credential's verdict.
func forgetVerified(c *verifiedCache, credential string) {
	c.mu.Lock()
	if old := c.entries[credential]; old != nil {
		delete(c.entries, credential)
		c.bytes -= old.size
	}
	c.mu.Unlock()
}

// verifiedBytes returns the cache's entries and the bytes they count.
func verifiedBytes(c *verifiedCache) (int, int) {
	c.mu.Lock()
	n, b := len(c.entries), c.bytes
	c.mu.Unlock()
	return n, b
}

// Estimates of the memory behind an entry, beyond the bytes of its strings: a map
// slot and the verified struct; a principal, a session record, a bearer token's
// facts; a string or slice header with its allocation's rounding; one claim's map
// slot. They are upper estimates for 64-bit Go, so that the counted bytes bound the
// heap the cache holds (TestVerifiedCacheFloodStaysWithinItsBytes measures it).
const (
	entryOverhead     = 192
	principalOverhead = 320
	recordOverhead    = 320
	factsOverhead     = 96
	stringOverhead    = 24
	claimOverhead     = 64
)

// verifiedSize estimates the bytes v holds under the key credential: the key, the
// principal (its names, the rules' decisions, the forwarded header values), the
// session record (tokens and claims), the upstream Cookie header, the bearer facts.
// Objects an entry shares with another (a principal reused by a fresher verdict of
// the same token) are counted in each: the estimate errs on the side of the bound.
func verifiedSize(credential string, v *verified) int {
	n := entryOverhead + len(credential)
	if p := v.p; p != nil {
		n += principalOverhead + len(p.Source) + len(p.Subject) + len(p.Issuer) + len(p.User) + len(p.Email) + len(p.ACR) + len(p.DenyReason)
		n += stringsSize(p.Roles) + stringsSize(p.Groups) + stringsSize(p.Scopes)
		n += 16 * (len(p.until) + len(p.why))
		n += stringsSize(p.headerNames)
		for _, vs := range p.headerValues {
			n += stringOverhead + stringsSize(vs)
		}
	}
	if r := v.rec; r != nil {
		n += recordOverhead + len(r.ID) + len(r.Subject) + len(r.Issuer) + len(r.SID) + len(r.User) + len(r.Email)
		n += len(r.AccessToken) + len(r.RefreshToken) + len(r.IDToken) + len(r.ACR) + len(r.ClaimSet)
		n += stringsSize(r.Roles) + stringsSize(r.Groups) + claimsSize(r.Claims)
	}
	n += stringsSize(v.upstreamCookie)
	if f := v.bearer; f != nil {
		n += factsOverhead + len(f.iss) + len(f.sub) + len(f.jti)
	}
	return n
}

func stringsSize(ss []string) int {
	n := stringOverhead
	for _, s := range ss {
		n += stringOverhead + len(s)
	}
	return n
}

// claimsSize estimates a decoded JSON claim set.
func claimsSize(claims map[string]any) int {
	n := claimOverhead
	for k, v := range claims {
		n += claimOverhead + len(k) + claimValueSize(v)
	}
	return n
}

func claimValueSize(v any) int {
	switch v := v.(type) {
	case string:
		return stringOverhead + len(v)
	case json.Number:
		return stringOverhead + len(v)
	case []any:
		n := stringOverhead
		for _, e := range v {
			n += claimOverhead + claimValueSize(e)
		}
		return n
	case map[string]any:
		return claimsSize(v)
	}
	return claimOverhead
}
