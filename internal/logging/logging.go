// Package logging writes Gatehouse's log lines the way Traefik operators read them:
// leveled, one line per event, the middleware's name and a stable event name on every
// line, as key=value text or as one JSON object per line (Options.Format). It also
// owns redaction: Logger.ID turns an identifier into a short keyed hash, Logger.Client
// writes a client address (in clear, or hashed when configured), and every message and
// field is scrubbed of anything shaped like a token before it is written, so a token
// passed by mistake still never reaches the log.
//
// Event names are constants (events.go), each documented in docs/OPERATIONS.md; a
// test fails when the code logs an event the document does not list.
package logging

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
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
	// json: one JSON object per line instead of key=value text.
	json bool
	// hashClients: Client hashes addresses (log.hashClientIP) instead of writing them.
	hashClients bool
	mu          sync.Mutex
	out         io.Writer
	scrub       *regexp.Regexp
	now         func() time.Time
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
	return NewLogger(Options{Name: name, Level: level, Out: out, IDKey: idKey})
}

// Options describe a Logger (NewLogger).
type Options struct {
	// Name is the middleware's name, on every line.
	Name string
	// Level is debug, info, warn or error (ParseLevel).
	Level string
	// Format is "json" for one JSON object per line; anything else is key=value text.
	Format string
	// HashClientIP makes Client write keyed hashes instead of addresses.
	HashClientIP bool
	// Out receives the lines (os.Stderr when nil).
	Out io.Writer
	// IDKey keys ID's hashes (see NewKeyed).
	IDKey []byte
}

// NewLogger returns a Logger described by o.
func NewLogger(o Options) *Logger {
	out := o.Out
	if out == nil {
		out = os.Stderr
	}
	return &Logger{
		name:        o.Name,
		level:       ParseLevel(o.Level),
		json:        o.Format == "json",
		hashClients: o.HashClientIP,
		out:         out,
		scrub:       regexp.MustCompile(tokenPattern),
		now:         time.Now,
		idKey:       append([]byte(nil), o.IDKey...),
	}
}

// tokenPattern matches what must never be logged: JWS/JWE compact serialisations
// (base64url JSON headers start with "eyJ"), and the value after Bearer or Basic.
const tokenPattern = `eyJ[A-Za-z0-9_=-]*(\.[A-Za-z0-9_=-]*){1,4}|(?i:(bearer|basic)\s+)[A-Za-z0-9._~+/=-]+`

// Enabled reports whether lines at level are written; use it to skip building
// expensive debug messages.
func (l *Logger) Enabled(level int) bool { return level >= l.level }

// Fields are an event's details: short names (client, user, reason, ...) and values
// (strings, numbers, booleans, errors). Strings and errors are scrubbed like the
// message. Identifiers go through ID, client addresses through Client, first.
type Fields map[string]any

// Debug logs event at debug level.
func (l *Logger) Debug(event, msg string, f Fields) { l.write(LevelDebug, event, msg, f) }

// Info logs event at info level.
func (l *Logger) Info(event, msg string, f Fields) { l.write(LevelInfo, event, msg, f) }

// Warn logs event at warn level.
func (l *Logger) Warn(event, msg string, f Fields) { l.write(LevelWarn, event, msg, f) }

// Error logs event at error level.
func (l *Logger) Error(event, msg string, f Fields) { l.write(LevelError, event, msg, f) }

// Debugf logs a free-form diagnostic line at debug level, as event EventDebug.
func (l *Logger) Debugf(format string, args ...any) {
	if LevelDebug < l.level {
		return
	}
	l.write(LevelDebug, EventDebug, fmt.Sprintf(format, args...), nil)
}

// jsonLine is a line in the json format. (A struct, with exported fields only: under
// Yaegi, encoding/json would also write unexported ones.)
type jsonLine struct {
	Time       string         `json:"time"`
	Level      string         `json:"level"`
	Plugin     string         `json:"plugin"`
	Middleware string         `json:"middleware"`
	Event      string         `json:"event"`
	Msg        string         `json:"msg"`
	Fields     map[string]any `json:"fields,omitempty"`
}

func (l *Logger) write(level int, event, msg string, f Fields) {
	if level < l.level {
		return
	}
	msg = Scrub(l.scrub, msg)
	values := cleanFields(l.scrub, f)
	var line string
	if l.json {
		b, err := json.Marshal(&jsonLine{
			Time: l.now().UTC().Format(time.RFC3339Nano), Level: levelNames[level], Plugin: "gatehouse",
			Middleware: l.name, Event: event, Msg: msg, Fields: values,
		})
		if err != nil {
			return
		}
		line = string(b) + "\n"
	} else {
		line = l.now().UTC().Format(time.RFC3339) + " level=" + levelNames[level] +
			" plugin=gatehouse middleware=" + strconv.Quote(l.name) + " event=" + event +
			" msg=" + strconv.Quote(msg) + textFields(values) + "\n"
	}
	l.mu.Lock()
	_, _ = io.WriteString(l.out, line)
	l.mu.Unlock()
}

// cleanFields returns f with strings and errors scrubbed and every other value that
// JSON does not write as it is turned into scrubbed text; nil for no fields.
func cleanFields(re *regexp.Regexp, f Fields) map[string]any {
	if len(f) == 0 {
		return nil
	}
	out := make(map[string]any, len(f))
	for k, v := range f {
		switch x := v.(type) {
		case string:
			out[k] = Scrub(re, x)
		case error:
			out[k] = Scrub(re, x.Error())
		case bool, int, int64, uint64, float64:
			out[k] = x
		case nil:
			// An absent value (a nil error): no field.
		default:
			out[k] = Scrub(re, fmt.Sprint(x))
		}
	}
	return out
}

// textFields renders fields as " key=value" pairs in key order; values that are not
// plain words are quoted.
func textFields(values map[string]any) string {
	if len(values) == 0 {
		return ""
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := fmt.Sprint(values[k])
		b.WriteString(" ")
		b.WriteString(k)
		b.WriteString("=")
		if v == "" || strings.Trim(v, plainChars) != "" {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// plainChars are the characters of a text field value written without quotes.
const plainChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/@+-[]"

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

// Client returns how a client address is written in the log: as it is (operators
// need it for fail2ban rules and audits), or as ID's keyed hash when
// log.hashClientIP is on.
func (l *Logger) Client(addr string) string {
	if l.hashClients {
		return l.ID(addr)
	}
	return addr
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
