package auth

import "net/http"

// bearerFirst reports whether the request should be authenticated by its bearer
// token rather than its session cookie.
func bearerFirst(m *Middleware, req *http.Request) bool { return false }

func serveBearer(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	unauthenticated(m, rw, req)
}

func handleLogout(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	errorPage(m, rw, http.StatusNotImplemented, "Logout is not available yet.")
}

func handleBackchannel(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	errorPage(m, rw, http.StatusNotImplemented, "Back-channel logout is not available yet.")
}

func handleFrontchannel(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	errorPage(m, rw, http.StatusNotImplemented, "Front-channel logout is not available yet.")
}
