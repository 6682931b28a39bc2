// Package wakeup lets a background loop sleep until a deadline, a wake-up call or its
// context's end, without a select statement.
//
// Yaegi v0.16.1 builds the case list of a select statement once per statement and
// shares it between every goroutine that executes the statement, each filling in its
// own channels before calling reflect.Select. When several goroutines run the same
// loop at once — the cache maintenance loop of each middleware instance, each Redis
// client's connector, each provider discovery loop, all in Traefik's one interpreter —
// one goroutine ends up waiting on another's timer or context: it may never wake
// again, and does not stop when its own context is cancelled (measured: stores stuck
// degraded after a Redis outage, goroutines left behind after Close). A Waker is one
// loop's own mutex and condition variable; Sleep arms a timer and a context callback
// that wake it, and nothing is shared between loops.
//
// It owns nothing else. Plain functions, not methods: they run on request paths too
// (Wake), where Yaegi's method calls cost four times as much.
package wakeup

import (
	"context"
	"sync"
	"time"
)

// Waker is what one loop sleeps on. The zero value is not usable: call New.
type Waker struct {
	mu    sync.Mutex
	cond  *sync.Cond
	woken bool
}

// New returns a Waker.
func New() *Waker {
	w := &Waker{}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// Wake ends the current Sleep of w at once, or the next one if none is in progress.
// It never blocks on the sleeper and may be called from any goroutine.
func Wake(w *Waker) {
	w.mu.Lock()
	w.woken = true
	w.mu.Unlock()
	w.cond.Broadcast()
}

// Sleep waits until d has passed, Wake(w) is called, or ctx ends, whichever is
// first. The caller checks ctx.Err() afterwards to tell the last case apart.
func Sleep(w *Waker, ctx context.Context, d time.Duration) {
	timer := time.AfterFunc(d, func() { Wake(w) })
	stop := context.AfterFunc(ctx, func() { Wake(w) })
	w.mu.Lock()
	for !w.woken {
		w.cond.Wait()
	}
	w.woken = false
	w.mu.Unlock()
	timer.Stop()
	stop()
}

// Clear forgets a Wake that no Sleep has consumed yet, so the next Sleep lasts its
// full time unless woken again.
func Clear(w *Waker) {
	w.mu.Lock()
	w.woken = false
	w.mu.Unlock()
}

// Gate is a one-way door: goroutines wait at it until it is opened, for at most a
// given time or until their context ends. The zero value is not usable: call NewGate.
type Gate struct {
	mu   sync.Mutex
	cond *sync.Cond
	open bool
}

// NewGate returns a closed Gate.
func NewGate() *Gate {
	g := &Gate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Open opens g for good and releases every waiter.
func Open(g *Gate) {
	g.mu.Lock()
	g.open = true
	g.mu.Unlock()
	g.cond.Broadcast()
}

// WaitOpen waits until g is open, d has passed or ctx ends, and reports whether g is
// open.
func WaitOpen(g *Gate, ctx context.Context, d time.Duration) bool {
	g.mu.Lock()
	if g.open {
		g.mu.Unlock()
		return true
	}
	g.mu.Unlock()
	expired := false
	wake := func() {
		g.mu.Lock()
		expired = true
		g.mu.Unlock()
		g.cond.Broadcast()
	}
	timer := time.AfterFunc(d, wake)
	stop := context.AfterFunc(ctx, wake)
	g.mu.Lock()
	for !g.open && !expired {
		g.cond.Wait()
	}
	open := g.open
	g.mu.Unlock()
	timer.Stop()
	stop()
	return open
}
