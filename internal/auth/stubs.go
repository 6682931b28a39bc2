package auth

import "net/http"

func handleLogout(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	errorPage(m, rw, http.StatusNotImplemented, "Logout is not available yet.")
}

func handleBackchannel(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	errorPage(m, rw, http.StatusNotImplemented, "Back-channel logout is not available yet.")
}

func handleFrontchannel(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	errorPage(m, rw, http.StatusNotImplemented, "Front-channel logout is not available yet.")
}
