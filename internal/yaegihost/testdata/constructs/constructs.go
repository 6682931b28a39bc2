// Package constructs is a Traefik plugin whose ServeHTTP is one Go construct and a
// call of next, chosen by Config.Construct. Loaded under the same host as Gatehouse
// and timed against the pass-through floor (BenchmarkYaegiConstructsAgainstFloor),
// it measures what each construct a cached request must run costs under Yaegi, and
// what the smallest cached-session handler built from them costs ("minimal-session").
package constructs

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config names the construct, and the Cookie header "minimal-session" vouches for.
type Config struct {
	Construct string
	Cookie    string
}

// CreateConfig returns the floor.
func CreateConfig() *Config { return &Config{Construct: "floor"} }

// state is what the constructs read: the shapes Gatehouse's hot path reads.
type state struct {
	next      http.Handler
	mu        sync.Mutex
	verdicts  map[string]*verdict
	common    map[string]bool
	endpoints map[string]int
	gen       atomic.Uint64
	base      time.Time
	off       bool
}

type verdict struct {
	gen      uint64
	deadline time.Duration
	names    []string
	values   [][]string
}

// New returns the handler of cfg.Construct.
func New(_ context.Context, next http.Handler, cfg *Config, _ string) (http.Handler, error) {
	s := &state{
		next:      next,
		verdicts:  map[string]*verdict{},
		common:    map[string]bool{"Accept": true, "Accept-Encoding": true, "Cookie": true, "User-Agent": true},
		endpoints: map[string]int{"/oauth2/callback": 1, "/oauth2/logout": 2},
		base:      time.Now(),
	}
	s.gen.Store(1)
	s.verdicts[cfg.Cookie] = &verdict{gen: 1, deadline: 24 * time.Hour,
		names: []string{"X-Forwarded-User"}, values: [][]string{{"alice@example.com"}}}
	switch cfg.Construct {
	case "floor":
		return floor{s}, nil
	case "call":
		return call{s}, nil
	case "compiled-call":
		return compiledCall{s}, nil
	case "atomic-load":
		return atomicLoad{s}, nil
	case "clock":
		return clock{s}, nil
	case "map-lookup":
		return mapLookup{s}, nil
	case "header-range":
		return headerRange{s}, nil
	case "defer-recover":
		return deferRecover{s}, nil
	case "dead-branch":
		return deadBranch{s}, nil
	case "minimal-session":
		return minimalSession{s}, nil
	}
	return nil, fmt.Errorf("construct: unknown %q", cfg.Construct)
}

// floor calls next: the same as the pass-through plugin.
type floor struct{ s *state }

func (h floor) ServeHTTP(rw http.ResponseWriter, req *http.Request) { h.s.next.ServeHTTP(rw, req) }

// call calls an interpreted function that does nothing.
type call struct{ s *state }

func (h call) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	nothing(h.s, rw, req)
	h.s.next.ServeHTTP(rw, req)
}

func nothing(*state, http.ResponseWriter, *http.Request) {}

// compiledCall takes and releases a mutex: two calls of compiled methods.
type compiledCall struct{ s *state }

func (h compiledCall) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	h.s.mu.Lock()
	h.s.mu.Unlock()
	h.s.next.ServeHTTP(rw, req)
}

// atomicLoad compares an atomic counter (a cache generation).
type atomicLoad struct{ s *state }

func (h atomicLoad) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if h.s.gen.Load() != 0 {
		h.s.next.ServeHTTP(rw, req)
	}
}

// clock reads the monotonic clock (an expiry check).
type clock struct{ s *state }

func (h clock) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if time.Since(h.s.base) >= 0 {
		h.s.next.ServeHTTP(rw, req)
	}
}

// mapLookup looks the path up in a map (an own-endpoint check).
type mapLookup struct{ s *state }

func (h mapLookup) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if h.s.endpoints[req.URL.Path] == 0 {
		h.s.next.ServeHTTP(rw, req)
	}
}

// headerRange visits every request header with a map lookup (identity-header
// stripping's common case: no header to strip).
type headerRange struct{ s *state }

func (h headerRange) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	for name := range req.Header {
		if !h.s.common[name] {
			delete(req.Header, name)
		}
	}
	h.s.next.ServeHTTP(rw, req)
}

// deferRecover defers a closure that recovers (answering 500 on a panic).
type deferRecover struct{ s *state }

func (h deferRecover) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	defer func() {
		if r := recover(); r != nil {
			rw.WriteHeader(http.StatusInternalServerError)
		}
	}()
	h.s.next.ServeHTTP(rw, req)
}

// deadBranch holds statements that never run: Yaegi allocates their temporaries
// on every call all the same.
type deadBranch struct{ s *state }

func (h deadBranch) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if h.s.off {
		p := req.URL.Path + "/"
		q := p + req.Method
		n := len(q) * 2
		rw.Header().Set("X-Never", q)
		h.s.endpoints[p] = n
	}
	h.s.next.ServeHTTP(rw, req)
}

// minimalSession is the least a cached session request must run: recover panics,
// strip forged identity headers, let own endpoints through, find the verdict of the
// Cookie header under a lock, check its cache generation and expiry, remove the
// session cookie, set the identity headers, call next.
type minimalSession struct{ s *state }

func (h minimalSession) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	defer func() {
		if r := recover(); r != nil {
			rw.WriteHeader(http.StatusInternalServerError)
		}
	}()
	s := h.s
	hdr := req.Header
	for name := range hdr {
		if !s.common[name] {
			delete(hdr, name)
		}
	}
	if s.endpoints[req.URL.Path] != 0 {
		rw.WriteHeader(http.StatusNotFound)
		return
	}
	if cs := hdr["Cookie"]; len(cs) == 1 {
		s.mu.Lock()
		v := s.verdicts[cs[0]]
		s.mu.Unlock()
		if v != nil && v.gen == s.gen.Load() && time.Since(s.base) < v.deadline {
			delete(hdr, "Cookie")
			for i, name := range v.names {
				hdr[name] = v.values[i]
			}
			s.next.ServeHTTP(rw, req)
			return
		}
	}
	rw.WriteHeader(http.StatusUnauthorized)
}
