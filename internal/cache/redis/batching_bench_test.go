package redis

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// countingDialer dials addr and counts the system calls the client makes on the
// connections: Write and Read calls.
type countingDialer struct {
	addr   string
	writes atomic.Int64
	reads  atomic.Int64
}

func (d *countingDialer) DialContext(ctx context.Context) (net.Conn, error) {
	nc, err := (&AddrDialer{Addr: d.addr}).DialContext(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: nc, d: d}, nil
}

type countingConn struct {
	net.Conn
	d *countingDialer
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.d.writes.Add(1)
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.d.reads.Add(1)
	return c.Conn.Read(p)
}

// BenchmarkCallersShareWrites measures implicit pipelining: GET from 1, 16 and 64
// goroutines, one command per Do, on 4 connections, and reports how many commands
// leave per Write and arrive per Read (1 for a lone caller; up to the callers per
// connection, or more when they gather on one, under load). BenchmarkRESPThroughput
// gives the throughput next to redis-benchmark's.
func BenchmarkCallersShareWrites(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	for _, callers := range []int{1, 16, 64} {
		callers := callers
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			d := &countingDialer{addr: srv.Addr()}
			c := newTestClient(b, Options{Dialer: d, PoolSize: 4, ReadTimeout: time.Minute})
			waitFor(b, func() bool { return c.Live() == 4 })
			d.writes.Store(0)
			d.reads.Store(0)
			per := b.N/callers + 1
			b.ResetTimer()
			var wg sync.WaitGroup
			for g := 0; g < callers; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						if _, err := c.Do(context.Background(), "GET", "key:__rand_int__"); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			n := float64(per * callers)
			b.ReportMetric(n/float64(d.writes.Load()), "cmds/write")
			b.ReportMetric(n/float64(d.reads.Load()), "cmds/read")
		})
	}
}
