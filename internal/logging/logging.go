// Package logging writes Gatehouse's log lines the way Traefik operators read them:
// leveled, one line per event, the middleware's name on every line. It also owns
// redaction: ID turns an identifier into a short hash, and every line is scrubbed of
// anything shaped like a token before it is written, so a token passed by mistake
// still never reaches the log.
package logging

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Levels, from most to least verbose.
const (
	LevelDebug = 0
	LevelInfo  = 1
	LevelWarn  = 2
	LevelError = 3
)

// ParseLevel maps debug, info, warn and error to a level; anything else is info.
func ParseLevel(s string) int {
	switch s {
	case "debug":
		return LevelDebug
	case "warn":
		return LevelWarn
	case "error":
		return LevelError
	}
	return LevelInfo
}

var levelNames = [...]string{"debug", "info", "warn", "error"}

// Logger writes leveled lines for one middleware instance. It is safe for concurrent
// use. The zero value is not usable; call New.
type Logger struct {
	name  string
	level int
	mu    sync.Mutex
	out   io.Writer
	scrub *regexp.Regexp
	now   func() time.Time
}

// New returns a Logger for the middleware called name, writing lines at level and
// above to out (os.Stderr when nil: Traefik passes the process's streams through).
func New(name, level string, out io.Writer) *Logger {
	if out == nil {
		out = os.Stderr
	}
	return &Logger{
		name:  name,
		level: ParseLevel(level),
		out:   out,
		scrub: regexp.MustCompile(tokenPattern),
		now:   time.Now,
	}
}

// tokenPattern matches what must never be logged: JWS/JWE compact serialisations
// (base64url JSON headers start with "eyJ"), and the value after Bearer or Basic.
const tokenPattern = `eyJ[A-Za-z0-9_=-]*(\.[A-Za-z0-9_=-]*){1,4}|(?i:(bearer|basic)\s+)[A-Za-z0-9._~+/=-]+`

// Enabled reports whether lines at level are written; use it to skip building
// expensive debug messages.
func (l *Logger) Enabled(level int) bool { return level >= l.level }

// Debugf logs at debug level.
func (l *Logger) Debugf(format string, args ...any) { l.logf(LevelDebug, format, args) }

// Infof logs at info level.
func (l *Logger) Infof(format string, args ...any) { l.logf(LevelInfo, format, args) }

// Warnf logs at warn level.
func (l *Logger) Warnf(format string, args ...any) { l.logf(LevelWarn, format, args) }

// Errorf logs at error level.
func (l *Logger) Errorf(format string, args ...any) { l.logf(LevelError, format, args) }

func (l *Logger) logf(level int, format string, args []any) {
	if level < l.level {
		return
	}
	msg := Scrub(l.scrub, fmt.Sprintf(format, args...))
	line := l.now().UTC().Format(time.RFC3339) + " level=" + levelNames[level] +
		" plugin=gatehouse middleware=" + strconv.Quote(l.name) + " msg=" + strconv.Quote(msg) + "\n"
	l.mu.Lock()
	_, _ = io.WriteString(l.out, line)
	l.mu.Unlock()
}

// Scrub replaces anything re matches with "[redacted]".
func Scrub(re *regexp.Regexp, s string) string {
	return re.ReplaceAllString(s, "[redacted]")
}

// ID returns a short, stable, non-reversible name for an identifier (a subject, a
// session id, a client IP) so log lines can be correlated without revealing it.
func ID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "h:" + hex.EncodeToString(sum[:6])
}
