package redis

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// recordingDialer dials addr and wraps each connection so that the test sees every
// Write the client makes on it (through Options.Dialer, the seam Sentinel uses).
type recordingDialer struct {
	addr string

	mu     sync.Mutex
	writes [][]byte // one entry per Write call, in order
	reads  int      // Read calls that returned bytes
	// readBeforeLastWrite is set when a Read returned reply bytes before a later
	// Write: the client waited for a reply between two writes.
	readBeforeLastWrite bool
}

func (d *recordingDialer) DialContext(ctx context.Context) (net.Conn, error) {
	nc, err := (&AddrDialer{Addr: d.addr}).DialContext(ctx)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: nc, d: d}, nil
}

// reset forgets what the handshake wrote and read.
func (d *recordingDialer) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes, d.reads, d.readBeforeLastWrite = nil, 0, false
}

func (d *recordingDialer) snapshot() (writes [][]byte, reads int, interleaved bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([][]byte(nil), d.writes...), d.reads, d.readBeforeLastWrite
}

type recordingConn struct {
	net.Conn
	d *recordingDialer
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.d.mu.Lock()
	c.d.writes = append(c.d.writes, append([]byte(nil), p...))
	if c.d.reads > 0 {
		c.d.readBeforeLastWrite = true
	}
	c.d.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.d.mu.Lock()
		c.d.reads++
		c.d.mu.Unlock()
	}
	return n, err
}

// TestPipelineWritesEveryCommandInOneWriteBeforeReadingAnyReply proves the "one round
// trip" of Client.Pipeline instead of only checking its replies: on a connection
// whose every Write the test records, 100 pipelined commands leave in exactly one
// Write, and no reply is read before that write (the client never waits for a reply
// between commands). A Pipeline that sent its commands one Do at a time would make
// 100 writes, each after the previous reply. Counting writes, not timing, keeps the
// test exact on a loaded machine.
func TestPipelineWritesEveryCommandInOneWriteBeforeReadingAnyReply(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	d := &recordingDialer{addr: srv.Addr()}
	c := newTestClient(t, Options{Dialer: d, PoolSize: 1})
	// The handshake (HELLO) has run; from now on only the pipeline uses the
	// connection (the client sends nothing by itself on an idle connection).
	d.reset()

	const n = 100
	var cmds [][]any
	for i := 0; i < n; i++ {
		cmds = append(cmds, []any{"SET", "rt" + strconv.Itoa(i), i})
	}
	vals, err := c.Pipeline(context.Background(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != n {
		t.Fatalf("%d replies, want %d", len(vals), n)
	}
	for i, v := range vals {
		if v.String() != "OK" {
			t.Fatalf("reply %d: %+v", i, v)
		}
	}

	writes, reads, interleaved := d.snapshot()
	if len(writes) != 1 {
		t.Fatalf("%d commands pipelined in %d writes, want 1 write (one round trip)", n, len(writes))
	}
	if interleaved {
		t.Fatal("a reply was read before the last command was written: more than one round trip")
	}
	if reads == 0 {
		t.Fatal("no reply read through the recorded connection")
	}
	if got := bytes.Count(writes[0], []byte("*3\r\n$3\r\nSET\r\n")); got != n {
		t.Fatalf("the one write holds %d SET commands, want %d", got, n)
	}
	// Every command reached the server (the write was the whole pipeline).
	if v := mustDo(t, c, "GET", "rt"+strconv.Itoa(n-1)); v.String() != strconv.Itoa(n-1) {
		t.Fatalf("last pipelined key: %+v", v)
	}
}
