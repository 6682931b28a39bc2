package auth

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
)

// throttle counts authentication failures per client IP. A client that fails
// Failures times within Window is refused with 429 for Penalty: this keeps the proxy
// from being an oracle for token guessing and from amplifying load on the provider.
// Memory is bounded: at most maxThrottleEntries addresses are tracked.
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

func newThrottle(o config.ThrottleOptions) *throttle {
	return &throttle{opts: o, clients: map[string]*throttleState{}, now: time.Now}
}

// throttled reports whether ip is currently blocked, and for how long still.
func throttled(t *throttle, ip string) (bool, time.Duration) {
	if t == nil || !t.opts.Enabled {
		return false, 0
	}
	t.mu.Lock()
	s := t.clients[ip]
	var left time.Duration
	if s != nil {
		left = s.blockedUntil.Sub(t.now())
	}
	t.mu.Unlock()
	return left > 0, left
}

// recordFailure counts one authentication failure from ip and reports whether the
// client is now blocked.
func recordFailure(t *throttle, ip string) bool {
	if t == nil || !t.opts.Enabled {
		return false
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.clients[ip]
	if s == nil {
		if len(t.clients) >= maxThrottleEntries {
			evictThrottle(t, now)
		}
		s = &throttleState{windowStart: now}
		t.clients[ip] = s
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

// clientIP returns the address a request came from: the connection's peer, unless
// that peer is a trusted proxy, in which case the right-most X-Forwarded-For entry
// that is not itself a trusted proxy (entries left of it could be forged by the
// client).
func clientIP(trusted []netip.Prefix, req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	if len(trusted) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !inPrefixes(trusted, peer.Unmap()) {
		return host
	}
	xff := req.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				// A malformed entry ends the trusted chain: use the last good hop.
				return host
			}
			a = a.Unmap()
			if !inPrefixes(trusted, a) {
				return a.String()
			}
			host = a.String()
		}
	}
	return host
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
