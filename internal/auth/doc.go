// Package auth is the middleware itself: it routes Gatehouse's own endpoints, lets
// excluded URLs through, authenticates browsers (session cookie) and machines (bearer
// token) into one principal, applies the authorization rules and forwards the verified
// identity to the backend. Configuration arrives already compiled (internal/config):
// ServeHTTP only reads.
package auth
