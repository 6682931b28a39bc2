package yaegihost

import (
	"context"
	"io"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
)

// The RESP connection writer's scenarios (internal/cache/cachetest/writer.go) with the
// client interpreted, as Traefik runs it; internal/cache/redis runs them compiled.
// Concurrent callers getting their own replies under Yaegi is
// TestRESPClientUnderYaegiMatchesEveryReplyToItsRequest.

func TestAbandonedCallUnderYaegiIsNeverWrittenAndItsReplyGoesToNobody(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	if e := call(yfunc(t, "CancelledCallerIsDropped"), srv.Addr(), srv.Pause, srv.Resume)[0].String(); e != "" {
		t.Fatal(e)
	}
}

func TestCallersAbandoningUnderYaegiNeverGetAnotherCallsReply(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	out := call(yfunc(t, "CancellationsAmidConcurrentCallers"), srv.Addr(), 4, 32, 300)
	e, abandoned, answered := out[0].String(), out[1].Int(), out[2].Int()
	t.Logf("under Yaegi: %d INCRs abandoned, %d answered", abandoned, answered)
	if e != "" {
		t.Fatal(e)
	}
	if abandoned == 0 {
		t.Fatal("no INCR was abandoned: the scenario did not exercise cancellation")
	}
}

func TestFullConnectionUnderYaegiRefusesAtOnceWithErrInFlightLimit(t *testing.T) {
	sink := redistest.StartStalled(t, redistest.StallSink)
	if e := call(yfunc(t, "FullConnectionRefusesAtOnce"), sink.Addr())[0].String(); e != "" {
		t.Fatal(e)
	}
}

func TestStalledServerUnderYaegiHoldsNoCallerPastItsDeadline(t *testing.T) {
	silent := redistest.StartStalled(t, redistest.StallSilent)
	sink := redistest.StartStalled(t, redistest.StallSink)
	if e := call(yfunc(t, "StalledServerFreesEveryCaller"), silent.Addr(), sink.Addr())[0].String(); e != "" {
		t.Fatal(e)
	}
}

func TestConnectUnderYaegiReturnsWhenItsContextEnds(t *testing.T) {
	srv := redistest.StartStalled(t, redistest.StallSilent)
	hangUp := func() { srv.SetMode(redistest.StallHangUp) }
	stall := func() { srv.SetMode(redistest.StallSilent) }
	if e := call(yfunc(t, "ConnectHonoursItsContext"), srv.Addr(), srv.Accepted, hangUp, stall)[0].String(); e != "" {
		t.Fatal(e)
	}
}

// TestErrorCodeOfADeadlineUnderYaegiIsEmptyNotAPanic: under Yaegi, asserting
// context.DeadlineExceeded (an empty struct) to an interpreted type panics; the
// client's error classifiers answer it without asserting. Before, a handshake that
// passed its dial deadline panicked in helloUnsupported (found by
// TestConnectUnderYaegiReturnsWhenItsContextEnds).
func TestErrorCodeOfADeadlineUnderYaegiIsEmptyNotAPanic(t *testing.T) {
	yfunc(t, "EmptyLoop") // loads internal/cache/redis into the interpreter
	h := host(t)
	if err := h.Import("context", "strconv", "github.com/gatehouse-oidc/gatehouse/internal/cache/redis"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Eval(`func classifyRedisError(err error) string {
		return redis.ErrorCode(err) + "/" + strconv.FormatBool(redis.IsServerError(err))
	}`); err != nil {
		t.Fatal(err)
	}
	f, err := h.Eval("classifyRedisError")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []error{context.DeadlineExceeded, context.Canceled, io.EOF} {
		if got := call(f, e)[0].String(); got != "/false" {
			t.Errorf("%v: %q, want \"/false\"", e, got)
		}
	}
}
