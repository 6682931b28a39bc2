package josetest

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// JWKSServer serves key sets for RemoteScenarios and counts requests per path:
//
//	/static/<id>          the issuer set, no Cache-Control
//	/maxage/<n>/<id>      the issuer set, Cache-Control: max-age=<n>
//	/nocache/<id>         the issuer set, Cache-Control: no-cache, max-age=3600
//	/rotate/<id>          1st request {rsa-1}, 2nd {rsa-1, rsa-2}, then {rsa-2}
//	/flaky/<id>           good, 500, not JSON, 100 KiB, no usable key, then good
//	/status/<code>/<id>   that status, no body
//	/slow/<id>            answers after a minute, or when the client gives up
//	/delay/<id>           the issuer set after 200 ms (callers pile up meanwhile)
//	/count/<path>         how many requests /<path> has had (any path counts)
//
// It runs compiled in both the compiled and the Yaegi test runs.
type JWKSServer struct {
	issuer  string
	rotate1 string
	rotate2 string
	rotate3 string

	mu   sync.Mutex
	hits map[string]int
}

// NewJWKSServer builds the server over the fixed keys.
func NewJWKSServer(k *Keys) *JWKSServer {
	rsa1 := RSAJWK(&k.RSA.PublicKey, "rsa-1", "")
	rsa2 := RSAJWK(&k.AttackerRSA.PublicKey, "rsa-2", "")
	return &JWKSServer{
		issuer:  k.IssuerJWKS(),
		rotate1: JWKSOf(rsa1),
		rotate2: JWKSOf(rsa1, rsa2),
		rotate3: JWKSOf(rsa2),
		hits:    map[string]int{},
	}
}

// Hits returns how many requests path has had.
func (s *JWKSServer) Hits(path string) int {
	s.mu.Lock()
	defer func() { s.mu.Unlock() }()
	return s.hits[path]
}

func (s *JWKSServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/count/") {
		_, _ = w.Write([]byte(strconv.Itoa(s.Hits(r.URL.Path[len("/count"):]))))
		return
	}
	s.mu.Lock()
	s.hits[r.URL.Path]++
	n := s.hits[r.URL.Path]
	s.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	switch parts[0] {
	case "static":
		_, _ = w.Write([]byte(s.issuer))
	case "maxage":
		w.Header().Set("Cache-Control", "public, max-age="+parts[1])
		_, _ = w.Write([]byte(s.issuer))
	case "nocache":
		w.Header().Set("Cache-Control", "no-cache, max-age=3600")
		_, _ = w.Write([]byte(s.issuer))
	case "rotate":
		switch n {
		case 1:
			_, _ = w.Write([]byte(s.rotate1))
		case 2:
			_, _ = w.Write([]byte(s.rotate2))
		default:
			_, _ = w.Write([]byte(s.rotate3))
		}
	case "flaky":
		switch n {
		case 2:
			w.WriteHeader(http.StatusInternalServerError)
		case 3:
			_, _ = w.Write([]byte("<html>maintenance</html>"))
		case 4:
			_, _ = w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("x", 100<<10) + `"}`))
		case 5:
			_, _ = w.Write([]byte(`{"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]}`))
		default:
			_, _ = w.Write([]byte(s.issuer))
		}
	case "status":
		code, _ := strconv.Atoi(parts[1])
		w.WriteHeader(code)
	case "slow":
		t := time.NewTimer(time.Minute)
		defer func() { t.Stop() }()
		select {
		case <-t.C:
			_, _ = w.Write([]byte(s.issuer))
		case <-r.Context().Done():
		}
	case "delay":
		time.Sleep(200 * time.Millisecond)
		_, _ = w.Write([]byte(s.issuer))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}
