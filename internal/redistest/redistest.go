// Package redistest starts and stops real redis-server processes for tests: on a free
// loopback port (never 6379), without persistence (--save "" --appendonly no), with an
// optional password, ACL users, TLS (a CA made by the test, server and client
// certificates), renamed commands (to simulate a server without HELLO), and the faults
// the cache must survive: pause (SIGSTOP/SIGCONT), kill and restart on the same port,
// CLIENT KILL, FLUSHALL. It has its own minimal RESP2 client for administration, so
// tests never check the client under test with itself.
//
// It is test-only code: the plugin never imports it (yaegilint skips it), so it may use
// os/exec and syscall.
package redistest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is the redis-server executable the helper runs.
const Binary = "redis-server"

// SentinelBinary is the redis-sentinel executable (Debian's redis-sentinel package).
const SentinelBinary = "redis-sentinel"

// Options describe the server to start.
type Options struct {
	// Password is the default user's password (requirepass); admin commands use it.
	Password string
	// Users are ACL rules, one user per entry, as for ACL SETUSER without the
	// command name: "alice on >secret ~* +@all".
	Users []string
	// TLS serves TLS only (the plain port is off), with a CA, server and client
	// certificate generated for the test.
	TLS bool
	// TLSClientAuth requires clients to present a certificate signed by the CA.
	TLSClientAuth bool
	// RenameHello removes the HELLO command, as on a Redis older than 6.
	RenameHello bool
	// Args are extra redis-server arguments.
	Args []string

	// Sentinel runs redis-sentinel instead of redis-server, with this configuration
	// (written once to sentinel.conf in the server's directory, which the sentinel
	// then rewrites as it learns; a restart keeps what it learnt).
	Sentinel string
	// ClusterNodeTimeout, when not zero, starts the server as a cluster node
	// (cluster-enabled, its own nodes.conf, cluster-node-timeout) on a port whose
	// cluster bus port (port + 10000) is free too.
	ClusterNodeTimeout time.Duration
	// TLSFrom, with TLS, reuses another server's CA and certificates instead of
	// making new ones, so that nodes of one deployment trust each other.
	TLSFrom *Server
}

// Server is one running (or paused, or killed) redis-server.
type Server struct {
	// Host is always 127.0.0.1.
	Host string
	// Port is the TCP port the server listens on (its TLS port when TLS is on).
	Port int
	// CAPEM, ClientCertPEM and ClientKeyPEM are the TLS material (nil without TLS);
	// CAFile, ClientCertFile and ClientKeyFile hold the same in files.
	CAPEM, ClientCertPEM, ClientKeyPEM    []byte
	CAFile, ClientCertFile, ClientKeyFile string
	// ServerName is a DNS name in the server certificate ("redis.test").
	ServerName string

	opts Options
	dir  string
	tb   testing.TB

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *bytes.Buffer
	paused bool
}

// Start runs a redis-server for the test and stops it in t.Cleanup. It fails the test
// when redis-server is missing: make test installs it (.ci/deps.sh).
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary
	if opts.Sentinel != "" {
		bin = SentinelBinary
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("redistest: %s not found in PATH (make deps installs it): %v", bin, err)
	}
	s := &Server{Host: "127.0.0.1", opts: opts, dir: t.TempDir(), tb: t, ServerName: "redis.test"}
	if opts.TLS && opts.TLSFrom != nil {
		if err := s.copyTLS(opts.TLSFrom); err != nil {
			t.Fatalf("redistest: TLS material: %v", err)
		}
	} else if opts.TLS {
		if err := s.makeTLS(); err != nil {
			t.Fatalf("redistest: TLS material: %v", err)
		}
	}
	if opts.Sentinel != "" {
		if err := os.WriteFile(filepath.Join(s.dir, "sentinel.conf"), []byte(opts.Sentinel), 0o600); err != nil {
			t.Fatalf("redistest: sentinel.conf: %v", err)
		}
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if opts.ClusterNodeTimeout > 0 {
			port, err = freeClusterPort()
		}
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		s.Port = port
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: could not start redis-server: %v", lastErr)
	return nil
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// URL is the server's redis:// (or rediss://) URL with the default user's password.
func (s *Server) URL() string {
	scheme := "redis"
	if s.opts.TLS {
		scheme = "rediss"
	}
	auth := ""
	if s.opts.Password != "" {
		auth = ":" + s.opts.Password + "@"
	}
	return scheme + "://" + auth + s.Addr()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	if port == 6379 {
		return freePort()
	}
	return port, nil
}

// freeClusterPort returns a free port below 55536 whose cluster bus port (+10000) is
// free too.
func freeClusterPort() (int, error) {
	for i := 0; i < 50; i++ {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		if port+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port, nil
	}
	return 0, errors.New("redistest: no free port pair for a cluster node")
}

func (s *Server) args() []string {
	if s.opts.Sentinel != "" {
		a := []string{filepath.Join(s.dir, "sentinel.conf"), "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
			"--dir", s.dir, "--daemonize", "no", "--logfile", "", "--loglevel", "notice"}
		if s.opts.Password != "" {
			a = append(a, "--requirepass", s.opts.Password)
		}
		return append(a, s.opts.Args...)
	}
	a := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--logfile", "", "--loglevel", "notice", "--databases", "16"}
	if s.opts.ClusterNodeTimeout > 0 {
		a = append(a, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(s.dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.FormatInt(s.opts.ClusterNodeTimeout.Milliseconds(), 10))
		if s.opts.TLS {
			a = append(a, "--tls-cluster", "yes", "--tls-replication", "yes")
		}
	}
	if s.opts.TLS {
		a = append(a, "--port", "0", "--tls-port", strconv.Itoa(s.Port),
			"--tls-cert-file", filepath.Join(s.dir, "server.crt"), "--tls-key-file", filepath.Join(s.dir, "server.key"),
			"--tls-ca-cert-file", s.CAFile)
		if s.opts.TLSClientAuth {
			a = append(a, "--tls-auth-clients", "yes")
		} else {
			a = append(a, "--tls-auth-clients", "no")
		}
	} else {
		a = append(a, "--port", strconv.Itoa(s.Port))
	}
	if s.opts.Password != "" {
		a = append(a, "--requirepass", s.opts.Password)
	}
	for _, u := range s.opts.Users {
		a = append(a, "--user")
		a = append(a, strings.Fields(u)...)
	}
	if s.opts.RenameHello {
		a = append(a, "--rename-command", "HELLO", "")
	}
	return append(a, s.opts.Args...)
}

func (s *Server) start() error {
	bin := Binary
	if s.opts.Sentinel != "" {
		bin = SentinelBinary
	}
	cmd := exec.Command(bin, s.args()...)
	log := &bytes.Buffer{}
	cmd.Stdout = &lockedWriter{w: log, mu: &s.mu}
	cmd.Stderr = cmd.Stdout
	// Kill the server if the test binary dies (a timeout panic) so no orphan keeps
	// the port.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.log, s.paused = cmd, exited, log, false
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited at start-up:\n%s", s.Log())
		default:
		}
		if _, err := s.Do("PING"); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server not ready after 10 s: %v\n%s", err, s.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Log returns what the server has logged so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

// Pid is the server's process id (0 when not running).
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		s.tb.Fatalf("redistest: signal %v: server not running", sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// Pause stops the server process (SIGSTOP): connections stay open, nothing answers.
func (s *Server) Pause() {
	s.signal(syscall.SIGSTOP)
	s.mu.Lock()
	s.paused = true
	s.mu.Unlock()
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() {
	s.signal(syscall.SIGCONT)
	s.mu.Lock()
	s.paused = false
	s.mu.Unlock()
}

// Kill ends the server at once (SIGKILL) and waits for it to exit. Its data is gone:
// the server runs without persistence.
func (s *Server) Kill() { s.kill() }

func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Restart starts a killed server again on the same port with the same options.
func (s *Server) Restart() {
	s.tb.Helper()
	s.kill()
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: restart on port %d: %v", s.Port, err)
}

// Stop kills the server (resuming it first if paused); t.Cleanup calls it.
func (s *Server) Stop() { s.kill() }

// Do runs one command on a fresh administrative connection (authenticated as the
// default user) and returns the reply: string for simple and bulk strings, int64 for
// integers, []any for arrays, nil for nulls, and an error for error replies or
// transport failures. It never waits more than 5 s.
func (s *Server) Do(args ...string) (any, error) {
	var out any
	err := s.withConn(func(nc net.Conn, r *bufio.Reader) error {
		var err error
		out, err = roundTrip(nc, r, args)
		return err
	})
	return out, err
}

// withConn runs f on a fresh authenticated administrative connection with a 5 s
// deadline.
func (s *Server) withConn(f func(net.Conn, *bufio.Reader) error) error {
	var nc net.Conn
	var err error
	d := &net.Dialer{Timeout: 2 * time.Second}
	if s.opts.TLS {
		cfg, cerr := s.TLSConfig()
		if cerr != nil {
			return cerr
		}
		nc, err = tls.DialWithDialer(d, "tcp", s.Addr(), cfg)
	} else {
		nc, err = d.Dial("tcp", s.Addr())
	}
	if err != nil {
		return err
	}
	defer func() { _ = nc.Close() }()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(nc)
	if s.opts.Password != "" {
		if _, err := roundTrip(nc, r, []string{"AUTH", s.opts.Password}); err != nil {
			return err
		}
	}
	return f(nc, r)
}

// Pipeline sends several commands in one write on one administrative connection, so
// the server runs them back to back, and returns their replies (an error reply as a
// ServerError value in the slice).
func (s *Server) Pipeline(cmds ...[]string) ([]any, error) {
	var out []any
	err := s.withConn(func(nc net.Conn, r *bufio.Reader) error {
		var b bytes.Buffer
		for _, args := range cmds {
			writeCommand(&b, args)
		}
		if _, err := nc.Write(b.Bytes()); err != nil {
			return err
		}
		for range cmds {
			v, err := readReply(r)
			if se, ok := err.(ServerError); ok {
				v, err = se, nil
			}
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// MustDo is Do that fails the test on error.
func (s *Server) MustDo(args ...string) any {
	s.tb.Helper()
	v, err := s.Do(args...)
	if err != nil {
		s.tb.Fatalf("redistest: %s: %v", strings.Join(args, " "), err)
	}
	return v
}

// ServerError is an error reply.
type ServerError string

func (e ServerError) Error() string { return string(e) }

func roundTrip(w io.Writer, r *bufio.Reader, args []string) (any, error) {
	var b bytes.Buffer
	writeCommand(&b, args)
	if _, err := w.Write(b.Bytes()); err != nil {
		return nil, err
	}
	return readReply(r)
}

func writeCommand(b *bytes.Buffer, args []string) {
	fmt.Fprintf(b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(b, "$%d\r\n%s\r\n", len(a), a)
	}
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redistest: empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, ServerError(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			v, err := readReply(r)
			if err != nil {
				if se, ok := err.(ServerError); ok {
					out[i] = se
					continue
				}
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("redistest: unexpected reply %q", line)
}

// CommandStats returns INFO commandstats as calls per command, lower case
// ("get", "set", "client|tracking").
func (s *Server) CommandStats() map[string]int64 {
	s.tb.Helper()
	info, _ := s.MustDo("INFO", "commandstats").(string)
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "cmdstat_")
		if !ok {
			continue
		}
		name, fields, _ := strings.Cut(rest, ":")
		for _, f := range strings.Split(fields, ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[name] = n
			}
		}
	}
	return out
}

// ResetStats clears INFO commandstats (CONFIG RESETSTAT).
func (s *Server) ResetStats() { s.MustDo("CONFIG", "RESETSTAT") }

// FlushAll runs FLUSHALL.
func (s *Server) FlushAll() { s.MustDo("FLUSHALL") }

// ClientKill runs CLIENT KILL with the given filters (for example "USER", "alice" or
// "SKIPME", "yes") and returns how many connections were closed.
func (s *Server) ClientKill(filters ...string) int64 {
	s.tb.Helper()
	n, _ := s.MustDo(append([]string{"CLIENT", "KILL"}, filters...)...).(int64)
	return n
}

// Clients returns CLIENT LIST, one map of fields per connection (the administrative
// connection asking is left out).
func (s *Server) Clients() []map[string]string {
	s.tb.Helper()
	list, _ := s.MustDo("CLIENT", "LIST").(string)
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		if line == "" {
			continue
		}
		m := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			m[k] = v
		}
		if m["cmd"] == "client|list" {
			continue
		}
		out = append(out, m)
	}
	return out
}

// TLSConfig is a client configuration trusting the test CA and presenting the test
// client certificate.
func (s *Server) TLSConfig() (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		return nil, errors.New("redistest: bad CA PEM")
	}
	cert, err := tls.X509KeyPair(s.ClientCertPEM, s.ClientKeyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: s.ServerName, MinVersion: tls.VersionTLS12}, nil
}

// copyTLS takes another server's TLS material (same CA, server and client
// certificates) into this server's directory.
func (s *Server) copyTLS(from *Server) error {
	s.CAPEM, s.ClientCertPEM, s.ClientKeyPEM = from.CAPEM, from.ClientCertPEM, from.ClientKeyPEM
	s.CAFile = filepath.Join(s.dir, "ca.crt")
	s.ClientCertFile = filepath.Join(s.dir, "client.crt")
	s.ClientKeyFile = filepath.Join(s.dir, "client.key")
	for _, name := range []string{"ca.crt", "server.crt", "server.key", "client.crt", "client.key"} {
		b, err := os.ReadFile(filepath.Join(from.dir, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(s.dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// makeTLS writes a CA, a server certificate (127.0.0.1, localhost, redis.test) and a
// client certificate into the server's directory.
func (s *Server) makeTLS() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage []x509.ExtKeyUsage, server bool) (certPEM, keyPEM []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage,
		}
		if server {
			tmpl.DNSNames = []string{"localhost", s.ServerName}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
	}
	// Cluster nodes present their server certificate as clients of each other's
	// cluster bus, which always verifies it: the server certificate serves both.
	srvCert, srvKey, err := leaf(2, "redis.test", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, true)
	if err != nil {
		return err
	}
	cliCert, cliKey, err := leaf(3, "gatehouse-test-client", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false)
	if err != nil {
		return err
	}
	s.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.ClientCertPEM, s.ClientKeyPEM = cliCert, cliKey
	s.CAFile = filepath.Join(s.dir, "ca.crt")
	s.ClientCertFile = filepath.Join(s.dir, "client.crt")
	s.ClientKeyFile = filepath.Join(s.dir, "client.key")
	for name, b := range map[string][]byte{
		s.CAFile: s.CAPEM, filepath.Join(s.dir, "server.crt"): srvCert, filepath.Join(s.dir, "server.key"): srvKey,
		s.ClientCertFile: cliCert, s.ClientKeyFile: cliKey,
	} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Benchmark runs redis-benchmark against the server for one test ("get" or "set")
// with clients connections, pipeline commands per round trip and requests requests
// in all, and returns its requests per second. It speaks RESP3 (-3) unless the server
// has no HELLO, as the client under test does, and uses one fixed key (no -r:
// "key:__rand_int__" literally) that it first sets to a 3-byte value (-d 3, the
// default payload), so that GET reads the same value the client's benchmarks read.
func (s *Server) Benchmark(test string, clients, pipeline, requests int) (float64, error) {
	if _, err := s.Do("SET", "key:__rand_int__", "xxx"); err != nil {
		return 0, err
	}
	args := []string{"-h", s.Host, "-p", strconv.Itoa(s.Port), "-c", strconv.Itoa(clients), "-P", strconv.Itoa(pipeline),
		"-n", strconv.Itoa(requests), "-d", "3", "-t", test, "--csv"}
	if !s.opts.RenameHello {
		args = append(args, "-3")
	}
	if s.opts.Password != "" {
		args = append(args, "-a", s.opts.Password)
	}
	out, err := exec.Command("redis-benchmark", args...).Output()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark %s: %v", strings.Join(args, " "), err)
	}
	// "test","rps",... then "SET","123456.79",...
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 || !strings.EqualFold(strings.Trim(f[0], `"`), test) {
			continue
		}
		return strconv.ParseFloat(strings.Trim(f[1], `"`), 64)
	}
	return 0, fmt.Errorf("redis-benchmark: no result for %s in %q", test, out)
}

// SameLoad is the redis-benchmark configuration that puts the same load on the
// server as a client with pool connections serving callers goroutines that each send
// depth commands per call: as many connections as the client uses (min(callers,
// pool)), each with as many commands in flight as the client can have on one
// (callers*depth spread over them), so that both batch as much per write and per read,
// and the server does the same number of system calls per command. redis-benchmark
// with one connection per caller (-c callers -P depth) would instead measure what a
// client without multiplexing gets.
func SameLoad(callers, depth, pool int) (clients, pipeline int) {
	clients = callers
	if clients > pool {
		clients = pool
	}
	pipeline = (callers*depth + clients - 1) / clients
	return clients, pipeline
}

// ReferenceRequests is how many requests Benchmark should send for a configuration so
// that redis-benchmark runs for about a second on a small machine (long enough for a
// stable figure).
func ReferenceRequests(clients, pipeline int) int {
	n := 40000 * pipeline
	if clients > 1 {
		n *= 4
	}
	return n
}
