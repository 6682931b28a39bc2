package wakeup

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSleepEndsAtTheDeadlineOnWakeOrWithTheContext(t *testing.T) {
	w := New()
	start := time.Now()
	Sleep(w, context.Background(), 30*time.Millisecond)
	if d := time.Since(start); d < 30*time.Millisecond || d > 2*time.Second {
		t.Fatalf("deadline: slept %v", d)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		Wake(w)
	}()
	start = time.Now()
	Sleep(w, context.Background(), time.Hour)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("wake: slept %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	start = time.Now()
	Sleep(w, ctx, time.Hour)
	if d := time.Since(start); d > 2*time.Second || ctx.Err() == nil {
		t.Fatalf("context: slept %v", d)
	}
	// A cancelled context ends every later Sleep at once.
	start = time.Now()
	Sleep(w, ctx, time.Hour)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancelled context: slept %v", d)
	}
}

// TestWakeBeforeSleepIsNotLost: a wake-up between two sleeps ends the next one.
func TestWakeBeforeSleepIsNotLost(t *testing.T) {
	w := New()
	Wake(w)
	start := time.Now()
	Sleep(w, context.Background(), time.Hour)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("slept %v", d)
	}
}

// TestManyLoopsSleepIndependently: loops with their own Wakers and contexts each stop
// with their own context, whatever the others do.
func TestManyLoopsSleepIndependently(t *testing.T) {
	const n = 16
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, n)
	rounds := make([]atomic.Int64, n)
	for i := 0; i < n; i++ {
		i := i
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		w := New()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				Sleep(w, ctx, time.Duration(1+i%3)*time.Millisecond)
				rounds[i].Add(1)
			}
		}()
	}
	// Every loop wakes from its own timer, again and again (a fixed 50 ms window
	// was too short for some loops to get the CPU twice on a loaded machine).
	deadline := time.Now().Add(30 * time.Second)
	for i := range rounds {
		for rounds[i].Load() < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("loop %d ran %d rounds in 30 s", i, rounds[i].Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
	for _, c := range cancels {
		c()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a loop did not stop with its context")
	}
}

func TestClearForgetsAPendingWake(t *testing.T) {
	w := New()
	Wake(w)
	Clear(w)
	start := time.Now()
	Sleep(w, context.Background(), 40*time.Millisecond)
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("a cleared wake cut the sleep short: %v", d)
	}
	Wake(w)
	start = time.Now()
	Sleep(w, context.Background(), 5*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a pending wake did not end the sleep: %v", d)
	}
}

func TestGateReleasesWaitersWhenOpenedOrAtTheirDeadline(t *testing.T) {
	g := NewGate()
	start := time.Now()
	if WaitOpen(g, context.Background(), 30*time.Millisecond) {
		t.Fatal("a closed gate reported open")
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > 2*time.Second {
		t.Fatalf("deadline: waited %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start = time.Now()
	if WaitOpen(g, ctx, time.Minute) || time.Since(start) > 2*time.Second {
		t.Fatal("the context's end did not release the waiter")
	}
	var wg sync.WaitGroup
	results := make([]bool, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = WaitOpen(g, context.Background(), time.Minute)
		}(i)
	}
	time.Sleep(20 * time.Millisecond)
	start = time.Now()
	Open(g)
	wg.Wait()
	if time.Since(start) > 2*time.Second {
		t.Fatal("Open did not release the waiters")
	}
	for i, ok := range results {
		if !ok {
			t.Fatalf("waiter %d: not open", i)
		}
	}
	if !WaitOpen(g, context.Background(), 0) {
		t.Fatal("an open gate reported closed")
	}
}
