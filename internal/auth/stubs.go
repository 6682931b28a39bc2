package auth

import "net/http"

// bearerFirst reports whether the request should be authenticated by its bearer
// token rather than its session cookie.
func bearerFirst(m *Middleware, req *http.Request) bool { return false }

func serveBearer(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	unauthenticated(m, rw, req)
}
