package redis

import (
	"errors"
	"testing"
)

// TestCloseOfAFailedSubscriptionStillReportsTheLoss: a subscription whose connection
// failed (markLost ran on the connection's goroutine) and that its owner closes — it
// saw Alive turn false — before that goroutine reached Lost still calls Lost, so the
// owner drops what it cached under the subscription's guarantee. A subscription
// closed before anything failed does not call Lost.
func TestCloseOfAFailedSubscriptionStillReportsTheLoss(t *testing.T) {
	lost := 0
	h := TrackingHandler{Invalidate: func([][]byte, bool) {}, Lost: func(error) { lost++ }}
	failed := errors.New("connection reset")

	tr := newTracking(h)
	if !markLost(tr) {
		t.Fatal("the first failure is not the first end")
	}
	if tr.Alive() {
		t.Fatal("alive after a failure")
	}
	tr.Close() // the owner saw Alive() == false and closes it
	reportLost(tr, failed)
	if lost != 1 {
		t.Fatalf("Lost called %d times for a failed subscription closed by its owner", lost)
	}

	lost = 0
	tr = newTracking(h)
	tr.Close()
	trackingLost(tr, ErrClosed) // the connections closing because of Close
	if lost != 0 {
		t.Fatalf("Lost called %d times for a subscription ended by Close", lost)
	}

	lost = 0
	tr = newTracking(h)
	trackingLost(tr, failed)
	trackingLost(tr, failed) // a second connection of the subscription failing
	if lost != 1 {
		t.Fatalf("Lost called %d times for one failure", lost)
	}
}
