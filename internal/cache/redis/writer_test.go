package redis_test

import (
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/cachetest"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// The connection writer's scenarios, compiled; internal/yaegihost runs the same
// functions under Yaegi (resp_writer_test.go there). Each is described where it is
// written, in internal/cache/cachetest/writer.go.

// TestAbandonedCallIsNeverWrittenAndItsReplyGoesToNobody: a call abandoned while
// queued behind a write the paused server cannot take is cut out of the write, and a
// written one's reply is read and dropped; the callers after them get their own
// replies, in order.
func TestAbandonedCallIsNeverWrittenAndItsReplyGoesToNobody(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	if e := cachetest.CancelledCallerIsDropped(srv.Addr(), srv.Pause, srv.Resume); e != "" {
		t.Fatal(e)
	}
}

// TestCallersAbandoningAtEveryStageNeverGetAnotherCallsReply: 64 goroutines on 4
// connections, an INCR under a deadline of 0-200 µs between each SET and GET.
func TestCallersAbandoningAtEveryStageNeverGetAnotherCallsReply(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	each := 500
	if testing.Short() {
		each = 100
	}
	e, abandoned, answered := cachetest.CancellationsAmidConcurrentCallers(srv.Addr(), 4, 64, each)
	t.Logf("%d INCRs abandoned, %d answered", abandoned, answered)
	if e != "" {
		t.Fatal(e)
	}
	if abandoned == 0 {
		t.Fatal("no INCR was abandoned: the scenario did not exercise cancellation")
	}
}

// TestFullConnectionRefusesAtOnceWithErrInFlightLimit: maxInFlight per connection,
// the pool passing over a full connection, ErrInFlightLimit when all are full.
func TestFullConnectionRefusesAtOnceWithErrInFlightLimit(t *testing.T) {
	sink := redistest.StartStalled(t, redistest.StallSink)
	if e := cachetest.FullConnectionRefusesAtOnce(sink.Addr()); e != "" {
		t.Fatal(e)
	}
}

// TestStalledServerHoldsNoCallerPastItsDeadline: a write blocked by a server that
// reads nothing holds no caller past its context, and a server that never answers
// fails every call after ReadTimeout; Close ends every goroutine.
func TestStalledServerHoldsNoCallerPastItsDeadline(t *testing.T) {
	silent := redistest.StartStalled(t, redistest.StallSilent)
	sink := redistest.StartStalled(t, redistest.StallSink)
	if e := cachetest.StalledServerFreesEveryCaller(silent.Addr(), sink.Addr()); e != "" {
		t.Fatal(e)
	}
}

// TestConnectReturnsWhenItsContextEnds: Connect does not wait past its context for the
// connector's dial to a server that never answers the handshake, nor in its own dial.
func TestConnectReturnsWhenItsContextEnds(t *testing.T) {
	srv := redistest.StartStalled(t, redistest.StallSilent)
	hangUp := func() { srv.SetMode(redistest.StallHangUp) }
	stall := func() { srv.SetMode(redistest.StallSilent) }
	if e := cachetest.ConnectHonoursItsContext(srv.Addr(), srv.Accepted, hangUp, stall); e != "" {
		t.Fatal(e)
	}
}
