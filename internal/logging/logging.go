// Package logging writes Gatehouse's log lines the way Traefik operators read them:
// leveled, one line per event, the middleware's name on every line. It also owns
// redaction: Logger.ID turns an identifier into a short keyed hash, and every line is
// scrubbed of anything shaped like a token before it is written, so a token passed by
// mistake still never reaches the log.
package logging

import (
	"crypto/hmac"
	"crypto/rand"
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
	// idKey keys ID's hashes (HMAC-SHA256): without it, a hash cannot be reversed by
	// hashing candidate values (every IPv4 address, a list of common emails).
	idKey []byte
	// seen holds the keys FirstTime has reported, at most maxSeen of them.
	seen map[string]bool
}

// maxSeen bounds FirstTime's memory; maxSeenKey bounds one key.
const (
	maxSeen    = 256
	maxSeenKey = 256
)

// New returns a Logger for the middleware called name, writing lines at level and
// above to out (os.Stderr when nil: Traefik passes the process's streams through).
// Its ID hashes are keyed with a random key of its own: they correlate lines of this
// Logger only. NewKeyed makes hashes that correlate across replicas.
func New(name, level string, out io.Writer) *Logger {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		// No randomness: hash with a key nobody else has either, this Logger's address
		// and start time (crypto/rand does not fail on supported systems).
		key = []byte(fmt.Sprintf("%p %d", &key, time.Now().UnixNano()))
	}
	return NewKeyed(name, level, out, key)
}

// NewKeyed is New with the key of ID's hashes given: every Logger with the same
// idKey names an identifier with the same hash, and nobody without the key can tell
// which identifier a hash stands for. The middleware derives idKey from its session
// key and its instance binding (session.LogIDKey), so the replicas of one middleware
// correlate and two middlewares do not.
func NewKeyed(name, level string, out io.Writer, idKey []byte) *Logger {
	if out == nil {
		out = os.Stderr
	}
	return &Logger{
		name:  name,
		level: ParseLevel(level),
		out:   out,
		scrub: regexp.MustCompile(tokenPattern),
		now:   time.Now,
		idKey: append([]byte(nil), idKey...),
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

// FirstTime reports whether key is new to this Logger, for a message that must be
// written once per key rather than once per request (a group name refused on every
// request of its users). Memory is bounded: keys are cut at 256 bytes, and after 256
// of them the Logger forgets them all and starts over, so a key is logged again only
// after 256 others were.
func (l *Logger) FirstTime(key string) bool {
	if len(key) > maxSeenKey {
		key = key[:maxSeenKey]
	}
	l.mu.Lock()
	seen := l.seen[key]
	if !seen {
		if l.seen == nil || len(l.seen) >= maxSeen {
			l.seen = make(map[string]bool)
		}
		l.seen[key] = true
	}
	l.mu.Unlock()
	return !seen
}

// ID returns a short, stable name for an identifier (a subject, a session id, a
// client IP) so log lines can be correlated without revealing it: "h:" and the first
// 48 bits of HMAC-SHA256 under the Logger's key, in hex. An unkeyed hash of an IPv4
// address or a common email is reversed by hashing every candidate; a keyed one is
// not, unless the key (derived from the session keys) is known.
func (l *Logger) ID(s string) string {
	mac := hmac.New(sha256.New, l.idKey)
	_, _ = io.WriteString(mac, s)
	return "h:" + hex.EncodeToString(mac.Sum(nil)[:6])
}
