// Package wakeuptest holds the scenario internal/yaegihost runs in the plugin's
// interpreter (and compiled) to check internal/wakeup: many loops sleeping at the same
// Sleep call are woken and stopped by their own Waker and context only. It only uses
// what plugin code may use, and plugin code never imports it.
package wakeuptest

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/wakeup"
)

// Scenario runs n loops sleeping on their own Wakers at the same Sleep call. Woken
// all at once, 300 times, each wakes every time; woken one by one, waking loop i ends
// loop i's sleep and no other's; cancelling the even loops' contexts ends those loops
// and no others. It returns "ok" or what went wrong.
func Scenario(n int) string {
	type loop struct {
		w      *wakeup.Waker
		ctx    context.Context
		cancel context.CancelFunc
		rounds atomic.Int64
		exited atomic.Bool
	}
	loops := make([]*loop, n)
	for i := 0; i < n; i++ {
		l := &loop{w: wakeup.New()}
		l.ctx, l.cancel = context.WithCancel(context.Background())
		loops[i] = l
	}
	for i := 0; i < n; i++ {
		l := loops[i]
		go func() {
			for l.ctx.Err() == nil {
				wakeup.Sleep(l.w, l.ctx, time.Hour)
				l.rounds.Add(1)
			}
			l.exited.Store(true)
		}()
	}
	time.Sleep(50 * time.Millisecond)
	problems := ""
	// A loop that is not woken stays asleep for good (an hour): the deadline only
	// needs to outlast a loaded machine.
	waitFor := func(cond func() bool) bool {
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(time.Millisecond)
		}
		return true
	}
	// Every loop woken at once, many times: they all enter Sleep together.
	for r := int64(1); r <= 300 && problems == ""; r++ {
		for i := 0; i < n; i++ {
			wakeup.Wake(loops[i].w)
		}
		round := r
		for i := 0; i < n; i++ {
			l := loops[i]
			if !waitFor(func() bool { return l.rounds.Load() >= round }) {
				problems += "round " + strconv.FormatInt(r, 10) + ": loop " + strconv.Itoa(i) + " not woken; "
			}
		}
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < n; i++ {
		loops[i].rounds.Store(0)
	}
	for i := 0; i < n; i++ {
		l := loops[i]
		wakeup.Wake(l.w)
		if !waitFor(func() bool { return l.rounds.Load() == 1 }) {
			problems += "loop " + strconv.Itoa(i) + " not woken; "
		}
		time.Sleep(2 * time.Millisecond)
		for j := 0; j < n; j++ {
			want := int64(0)
			if j <= i {
				want = 1
			}
			if got := loops[j].rounds.Load(); got != want {
				problems += "after waking " + strconv.Itoa(i) + ", loop " + strconv.Itoa(j) + " ran " + strconv.FormatInt(got, 10) + " rounds; "
			}
		}
	}
	for i := 0; i < n; i += 2 {
		loops[i].cancel()
	}
	for i := 0; i < n; i += 2 {
		l := loops[i]
		if !waitFor(func() bool { return l.exited.Load() }) {
			problems += "loop " + strconv.Itoa(i) + " did not stop with its context; "
		}
	}
	time.Sleep(20 * time.Millisecond)
	for i := 1; i < n; i += 2 {
		if loops[i].exited.Load() {
			problems += "loop " + strconv.Itoa(i) + " stopped with another loop's context; "
		}
		loops[i].cancel()
	}
	if problems == "" {
		return "ok"
	}
	return problems
}
