package redis

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options configure a Client. The zero value of each field means its default.
type Options struct {
	// Addr is host:port of the server ("127.0.0.1:6379"). Ignored when Dialer is set.
	Addr string
	// TLS, when not nil, wraps every connection in TLS with this configuration
	// (rediss:// URLs). Ignored when Dialer is set.
	TLS *tls.Config
	// Username and Password authenticate the connection (HELLO AUTH, or AUTH on RESP2
	// servers). An empty Username means the default user.
	Username string
	Password string
	// DB is selected with SELECT on every connection when not 0.
	DB int
	// ClientName is set with HELLO SETNAME / CLIENT SETNAME when not empty.
	ClientName string
	// PoolSize is the number of multiplexed connections (default 4).
	PoolSize int
	// DialTimeout bounds connecting and the handshake (default 2 s).
	DialTimeout time.Duration
	// ReadTimeout bounds the wait for the next reply while requests are pending (the
	// deadline is moved at most every quarter of it, so a stalled connection is given
	// up after 3/4 to all of ReadTimeout); then the connection is closed and every
	// pending request fails (default 1 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds each write to the socket (default 1 s).
	WriteTimeout time.Duration
	// MaxInFlight caps the commands one connection holds queued or awaiting replies
	// (default 1024). A call that would exceed it goes to another connection of the
	// pool; when every connection is full it fails at once with ErrInFlightLimit
	// rather than waiting behind a slow or stalled server. A call larger than the cap
	// (a long pipeline) is still taken by a connection with nothing in flight.
	MaxInFlight int
	// MaxReplyBytes caps one reply (default 16 MiB): a larger reply closes the
	// connection with ErrReplyTooLarge.
	MaxReplyBytes int
	// Protocol forces the protocol version: 2 never sends HELLO; 0 or 3 tries HELLO 3
	// and falls back to RESP2 when the server does not know it.
	Protocol int
	// MinBackoff and MaxBackoff bound the reconnection delay, which doubles from
	// MinBackoff up to MaxBackoff with jitter (defaults 10 ms and 1 s).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Dialer, when set, opens the network connections instead of dialling Addr: the
	// seam through which a Sentinel resolver or a Cluster router supplies the node to
	// talk to. The handshake (HELLO, AUTH, SELECT, SETNAME) stays the client's.
	Dialer Dialer

	// primaryOnly makes the handshake refuse a server whose ROLE is not master
	// (set by NewSentinelClient).
	primaryOnly bool
}

// Dialer opens one network connection to the Redis server a client should use.
// DialContext must honour ctx's deadline.
type Dialer interface {
	DialContext(ctx context.Context) (net.Conn, error)
}

// AddrDialer dials a fixed address, with TLS when TLS is not nil. It is the dialer a
// Client uses when Options.Dialer is nil.
type AddrDialer struct {
	Addr string
	TLS  *tls.Config
}

// DialContext connects to d.Addr and, with TLS, completes the TLS handshake within
// ctx's deadline.
func (d *AddrDialer) DialContext(ctx context.Context) (net.Conn, error) {
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", d.Addr)
	if err != nil {
		return nil, err
	}
	if d.TLS == nil {
		return nc, nil
	}
	tc := tls.Client(nc, d.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return tc, nil
}

func (o *Options) withDefaults() Options {
	out := *o
	if out.PoolSize <= 0 {
		out.PoolSize = 4
	}
	if out.DialTimeout <= 0 {
		out.DialTimeout = 2 * time.Second
	}
	if out.ReadTimeout <= 0 {
		out.ReadTimeout = time.Second
	}
	if out.WriteTimeout <= 0 {
		out.WriteTimeout = time.Second
	}
	if out.MaxInFlight <= 0 {
		out.MaxInFlight = 1024
	}
	if out.MaxReplyBytes <= 0 {
		out.MaxReplyBytes = 16 << 20
	}
	if out.MinBackoff <= 0 {
		out.MinBackoff = 10 * time.Millisecond
	}
	if out.MaxBackoff < out.MinBackoff {
		out.MaxBackoff = time.Second
		if out.MaxBackoff < out.MinBackoff {
			out.MaxBackoff = out.MinBackoff
		}
	}
	if out.Dialer == nil {
		out.Dialer = &AddrDialer{Addr: out.Addr, TLS: out.TLS}
	}
	return out
}

// URL is what ParseURL finds in a redis:// or rediss:// URL.
type URL struct {
	Addr     string // host:port; port 6379 when the URL has none
	Host     string // the host alone, the default TLS server name
	TLS      bool   // rediss://
	Username string
	Password string
	DB       int
}

// ParseURL parses redis://[user:password@]host[:port][/db] and the same with rediss://
// (TLS). User and password are percent-decoded. It accepts no query string or fragment,
// so that an option it would silently ignore cannot be given. Errors name what was
// expected and what was got, but never quote the password.
func ParseURL(raw string) (URL, error) {
	var out URL
	u, err := url.Parse(raw)
	if err != nil {
		return out, urlErr("a URL such as redis://host:6379/0", "text that does not parse as a URL")
	}
	switch u.Scheme {
	case "redis":
	case "rediss":
		out.TLS = true
	default:
		return out, urlErr("scheme redis or rediss", strconv.Quote(u.Scheme))
	}
	if u.Opaque != "" {
		return out, urlErr("redis://host:port", "an opaque URL (missing //)")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return out, urlErr("no query string or fragment", "\"?"+u.RawQuery+"#"+u.Fragment+"\"")
	}
	if u.User != nil {
		out.Username = u.User.Username()
		out.Password, _ = u.User.Password()
	}
	host := u.Hostname()
	if host == "" {
		return out, urlErr("a host", "none")
	}
	if !validHost(host) {
		return out, urlErr("a host name or IP address", strconv.Quote(host))
	}
	port := u.Port()
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return out, urlErr("a port number after ':'", "nothing")
		}
		port = "6379"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return out, urlErr("a port from 1 to 65535", strconv.Quote(port))
	}
	out.Host = host
	out.Addr = net.JoinHostPort(host, port)
	switch p := strings.TrimPrefix(u.Path, "/"); {
	case p == "":
	case strings.HasPrefix(u.Path, "/"):
		db, err := strconv.Atoi(p)
		if err != nil || db < 0 || db > 1<<20 || strconv.Itoa(db) != p {
			return out, urlErr("a database number such as /0", strconv.Quote(u.Path))
		}
		out.DB = db
	default:
		return out, urlErr("a path of the form /db", strconv.Quote(u.Path))
	}
	return out, nil
}

// hostChars are the characters of a host name or IPv4 address.
const hostChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"

// validHost accepts a host name, an IPv4 address or an IPv6 address (Hostname has
// removed its brackets). strings.Trim with the allowed characters as cutset checks
// every byte in compiled code.
func validHost(host string) bool {
	if strings.Contains(host, ":") {
		ip := net.ParseIP(host)
		return ip != nil && ip.To4() == nil
	}
	return len(host) <= 253 && strings.Trim(host, hostChars) == ""
}

func urlErr(expected, got string) error {
	return urlError("redis: URL: expected " + expected + ", got " + got)
}

type urlError string

func (e urlError) Error() string { return string(e) }
