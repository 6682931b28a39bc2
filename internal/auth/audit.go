package auth

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/logging"
)

// logEvent writes one audited event: its stable name (an Event constant of
// internal/logging, documented in docs/OPERATIONS.md), a message, and its fields in
// name order. Identifiers that are not the operator's own (a revoked subject, a
// provider session) are passed through m.log.ID by the caller; the line is scrubbed
// of anything token-shaped like every other.
func logEvent(m *Middleware, level int, event, msg string, fields map[string]string) {
	if !m.log.Enabled(level) {
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("event=")
	b.WriteString(event)
	b.WriteString(" ")
	b.WriteString(msg)
	for _, k := range keys {
		b.WriteString(" ")
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(logValue(fields[k]))
	}
	line := b.String()
	if level >= logging.LevelError {
		m.log.Errorf("%s", line)
	} else if level == logging.LevelWarn {
		m.log.Warnf("%s", line)
	} else {
		m.log.Infof("%s", line)
	}
}

// logValue writes a field's value bare when it is a plain word, quoted otherwise.
func logValue(v string) string {
	if v != "" && strings.Trim(v, plainLogChars) == "" {
		return v
	}
	return strconv.Quote(v)
}

// plainLogChars are the characters of a field value written without quotes.
const plainLogChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/@+-[]"

// clientForLog is the client's address for an audit line, in clear (audits and
// fail2ban need it): the connection's peer, or through trustedProxies the
// X-Forwarded-For hop clientAddr finds.
func clientForLog(m *Middleware, req *http.Request) string {
	if a, ok := clientAddr(m.opts.TrustedProxies, req); ok {
		return a.String()
	}
	return req.RemoteAddr
}
