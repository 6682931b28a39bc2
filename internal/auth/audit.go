package auth

import (
	"net/http"

	"github.com/gatehouse-oidc/gatehouse/internal/logging"
)

// logEvent writes one audited event: its stable name (an Event constant of
// internal/logging, documented in docs/OPERATIONS.md), a message, and its fields.
// Identifiers that are not the operator's own (a revoked subject, a provider session)
// are passed through m.log.ID by the caller; the line is scrubbed of anything
// token-shaped like every other.
func logEvent(m *Middleware, level int, event, msg string, fields map[string]string) {
	if !m.log.Enabled(level) {
		return
	}
	f := make(logging.Fields, len(fields))
	for k, v := range fields {
		f[k] = v
	}
	if level >= logging.LevelError {
		m.log.Error(event, msg, f)
	} else if level == logging.LevelWarn {
		m.log.Warn(event, msg, f)
	} else {
		m.log.Info(event, msg, f)
	}
}

// clientForLog is the client's address for an audit line, whole (not the IPv6 /64 the
// throttle counts): the connection's peer, or through trustedProxies the
// X-Forwarded-For hop clientAddr finds; in clear unless log.hashClientIP.
func clientForLog(m *Middleware, req *http.Request) string {
	if a, ok := clientAddr(m.opts.TrustedProxies, req); ok {
		return m.log.Client(a.String())
	}
	return m.log.Client(req.RemoteAddr)
}
