package auth

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
)

// throttle counts authentication failures per client and per purpose. A client that
// fails Failures times within Window at one purpose is refused with 429 for Penalty
// at that purpose only: this keeps the proxy from being an oracle for token guessing
// and from amplifying load on the provider, without letting failures of one kind
// (junk bearer tokens, junk logout requests) lock a client out of another (signing
// in). A client is an IPv4 address or an IPv6 /64 (clientKey). Memory is bounded: at
// most maxThrottleEntries (purpose, client) pairs are tracked.
type throttle struct {
	opts    config.ThrottleOptions
	mu      sync.Mutex
	clients map[string]*throttleState
	now     func() time.Time
}

type throttleState struct {
	windowStart  time.Time
	failures     int
	blockedUntil time.Time
}

const maxThrottleEntries = 100000

// Throttle purposes: each has its own counter per client. A purpose is the prefix of
// the counter's key.
const (
	// purposeCallback counts sign-in callbacks that named a login transaction this
	// browser holds and still failed (a callback without one cannot guess anything,
	// and another site can make a victim's browser send any number of them).
	purposeCallback = "callback "
	// purposeBearer counts refused bearer credentials.
	purposeBearer = "bearer "
	// purposeBackchannel counts refused back-channel logout requests. A logout token
	// whose signature verifies is never refused by the throttle (handleBackchannel).
	purposeBackchannel = "backchannel "
	// purposeEndpoint counts tokens refused at the operations endpoints (ops.go).
	purposeEndpoint = "endpoint "
	// purposeAdmin counts requests to the admin API refused for their credential
	// (admin.go); a tripped client is refused without its token being looked at.
	purposeAdmin = "admin "
)

func newThrottle(o config.ThrottleOptions) *throttle {
	return &throttle{opts: o, clients: map[string]*throttleState{}, now: time.Now}
}

// throttled reports whether client is currently blocked for purpose, and for how long
// still.
func throttled(t *throttle, purpose, client string) (bool, time.Duration) {
	if t == nil || !t.opts.Enabled {
		return false, 0
	}
	key := purpose + client
	t.mu.Lock()
	s := t.clients[key]
	var left time.Duration
	if s != nil {
		left = s.blockedUntil.Sub(t.now())
	}
	t.mu.Unlock()
	return left > 0, left
}

// recordFailure counts one failure of client at purpose and reports whether the
// client is now blocked for it.
func recordFailure(t *throttle, purpose, client string) bool {
	if t == nil || !t.opts.Enabled {
		return false
	}
	key := purpose + client
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.clients[key]
	if s == nil {
		if len(t.clients) >= maxThrottleEntries {
			evictThrottle(t, now)
		}
		s = &throttleState{windowStart: now}
		t.clients[key] = s
	}
	if now.Sub(s.windowStart) > t.opts.Window {
		s.windowStart, s.failures = now, 0
	}
	s.failures++
	if s.failures >= t.opts.Failures {
		s.blockedUntil = now.Add(t.opts.Penalty)
		s.windowStart, s.failures = now, 0
		return true
	}
	return false
}

// countFailure records one failure of client at purpose (metric: the same purpose's
// index in metrics.go) and, when that blocks the client, counts and logs it; it reports whether it did.
func countFailure(m *Middleware, purpose string, metric int, client string) bool {
	if recordFailure(m.throttle, purpose, client) {
		m.met.c.throttled[metric].Add(1)
		m.log.Warn(logging.EventThrottleBlocked, "client blocked after repeated failures", logging.Fields{
			"client": m.log.Client(client), "purpose": throttleNames[metric], "seconds": int64(m.opts.Throttle.Penalty / time.Second)})
		return true
	}
	return false
}

// evictThrottle drops expired entries, and if none expired, an arbitrary tenth of
// them: a flood of spoofed addresses must not grow memory without bound.
func evictThrottle(t *throttle, now time.Time) {
	for ip, s := range t.clients {
		if now.Sub(s.windowStart) > t.opts.Window && now.After(s.blockedUntil) {
			delete(t.clients, ip)
		}
	}
	if len(t.clients) < maxThrottleEntries*9/10 {
		return
	}
	n := len(t.clients) / 10
	for ip := range t.clients {
		if n <= 0 {
			break
		}
		delete(t.clients, ip)
		n--
	}
}

// tooManyRequests answers 429 with Retry-After in whole seconds (RFC 9110 10.2.3).
func tooManyRequests(m *Middleware, rw http.ResponseWriter, left time.Duration) {
	h := rw.Header()
	m.ownHeaders(h)
	secs := int(left / time.Second)
	if left%time.Second != 0 {
		secs++
	}
	if secs < 1 {
		secs = 1
	}
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(http.StatusTooManyRequests)
	_, _ = rw.Write([]byte("gatehouse: too many failed attempts; retry later\n"))
}

// clientKey returns whom a request is counted against: the client's IPv4 address, or
// the /64 of its IPv6 address (one subscriber's network: a client holding a /64
// could otherwise present 2^64 fresh addresses). The client is the connection's
// peer, unless that peer is a trusted proxy: then the right-most X-Forwarded-For entry
// that is not itself a trusted proxy (entries left of it could be forged by the
// client). Entries are read as proxies write them, with or without a port (Azure
// Application Gateway sends "203.0.113.7:4711", others "[2001:db8::7]:443"); an entry
// that is no address at all ends the trusted chain at the last good hop.
func clientKey(trusted []netip.Prefix, req *http.Request) string {
	peer, ok := clientAddr(trusted, req)
	if !ok {
		// Not an IP connection (a Unix socket, a test): counted as it is.
		return req.RemoteAddr
	}
	if peer.Is4() {
		return peer.String()
	}
	return netip.PrefixFrom(peer, 64).Masked().String()
}

// clientAddr returns the client's address as clientKey finds it (the connection's
// peer, or the X-Forwarded-For hop trusted proxies vouch for), whole; false when the
// connection is not an IP one.
func clientAddr(trusted []netip.Prefix, req *http.Request) (netip.Addr, bool) {
	peer, ok := parseHop(req.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if len(trusted) > 0 && inPrefixes(trusted, peer) {
		peer = forwardedClient(trusted, req.Header.Values("X-Forwarded-For"), peer)
	}
	return peer, true
}

// forwardedClient walks X-Forwarded-For from the right, starting from the trusted
// peer, and returns the first hop that is not a trusted proxy (or the last good one).
func forwardedClient(trusted []netip.Prefix, xff []string, peer netip.Addr) netip.Addr {
	hop := peer
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parseHop(parts[j])
			if !ok {
				return hop
			}
			if !inPrefixes(trusted, a) {
				return a
			}
			hop = a
		}
	}
	return hop
}

// parseHop reads one address as proxies write it: "203.0.113.7",
// "203.0.113.7:4711", "2001:db8::7", "[2001:db8::7]" or "[2001:db8::7]:443", with
// surrounding spaces; an IPv4-mapped IPv6 address is read as IPv4, a zone is dropped.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		a, err = parseHopWithPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

// parseHopWithPort reads "ip:port", "[ipv6]:port" and "[ipv6]".
func parseHopWithPort(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), nil
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		return netip.ParseAddr(s[1 : len(s)-1])
	}
	return netip.Addr{}, errorString("not an address")
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
