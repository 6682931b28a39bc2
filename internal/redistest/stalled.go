package redistest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// What a Stalled server does with the connections it accepts.
const (
	// StallSink reads and discards everything and never answers: writes succeed,
	// replies never come (a Redis stuck in a long command, or a black hole behind a
	// proxy that still reads).
	StallSink = iota
	// StallSilent never reads and never answers: once the socket buffers are full,
	// writes block (a frozen host).
	StallSilent
	// StallHangUp closes each connection as soon as it is accepted: a dial succeeds
	// and the handshake fails.
	StallHangUp
)

// Stalled is a TCP server that accepts connections and never answers them: a Redis
// server that has stopped responding. It speaks no protocol at all, so it mocks
// nothing; a client that needs no handshake reply (RESP2 without password, name or
// database: nothing is sent before the first command) connects to it, and one that
// sends HELLO waits for ever.
type Stalled struct {
	ln       net.Listener
	mode     atomic.Int32
	accepted atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// StartStalled listens on a free loopback port in mode (StallSink, StallSilent or
// StallHangUp) until the test ends.
func StartStalled(t testing.TB, mode int) *Stalled {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Stalled{ln: ln}
	s.mode.Store(int32(mode))
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.stop)
	return s
}

// Addr is the server's host:port.
func (s *Stalled) Addr() string { return s.ln.Addr().String() }

// Accepted counts the connections accepted so far.
func (s *Stalled) Accepted() int { return int(s.accepted.Load()) }

// SetMode changes what the server does with the connections it accepts from now on.
func (s *Stalled) SetMode(mode int) { s.mode.Store(int32(mode)) }

func (s *Stalled) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		switch s.mode.Load() {
		case StallHangUp:
			_ = nc.Close()
			continue
		case StallSink:
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				_, _ = io.Copy(io.Discard, nc)
			}()
		}
		s.mu.Lock()
		s.conns = append(s.conns, nc)
		s.mu.Unlock()
	}
}

func (s *Stalled) stop() {
	_ = s.ln.Close()
	s.mu.Lock()
	for _, nc := range s.conns {
		_ = nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
