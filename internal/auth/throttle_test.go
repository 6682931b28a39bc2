package auth

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
)

func TestThrottleTripsAndRecovers(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(config.ThrottleOptions{Enabled: true, Failures: 3, Window: time.Minute, Penalty: 30 * time.Second})
	th.now = func() time.Time { return now }
	for i := 0; i < 2; i++ {
		if recordFailure(th, "1.2.3.4") {
			t.Fatalf("blocked after %d failures", i+1)
		}
	}
	if !recordFailure(th, "1.2.3.4") {
		t.Fatal("not blocked after 3 failures")
	}
	if blocked, left := throttled(th, "1.2.3.4"); !blocked || left != 30*time.Second {
		t.Fatalf("blocked=%v left=%v", blocked, left)
	}
	if blocked, _ := throttled(th, "5.6.7.8"); blocked {
		t.Fatal("another client is blocked")
	}
	now = now.Add(31 * time.Second)
	if blocked, _ := throttled(th, "1.2.3.4"); blocked {
		t.Fatal("still blocked after the penalty")
	}
}

func TestThrottleWindowResets(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(config.ThrottleOptions{Enabled: true, Failures: 2, Window: time.Second, Penalty: time.Minute})
	th.now = func() time.Time { return now }
	recordFailure(th, "a")
	now = now.Add(2 * time.Second)
	if recordFailure(th, "a") {
		t.Fatal("failures from an expired window were counted")
	}
}

func TestThrottleMemoryIsBounded(t *testing.T) {
	th := newThrottle(config.ThrottleOptions{Enabled: true, Failures: 100, Window: time.Hour, Penalty: time.Minute})
	for i := 0; i < maxThrottleEntries+5000; i++ {
		recordFailure(th, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
	}
	if len(th.clients) > maxThrottleEntries {
		t.Fatalf("%d entries tracked", len(th.clients))
	}
}

func TestClientIPHonoursOnlyTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"203.0.113.9:5000", "1.1.1.1", nil, "203.0.113.9"},
		{"203.0.113.9:5000", "1.1.1.1", trusted, "203.0.113.9"},
		{"10.0.0.2:5000", "198.51.100.7", trusted, "198.51.100.7"},
		{"10.0.0.2:5000", "6.6.6.6, 198.51.100.7, 10.0.0.5", trusted, "198.51.100.7"},
		{"10.0.0.2:5000", "", trusted, "10.0.0.2"},
		{"10.0.0.2:5000", "garbage, 198.51.100.7", trusted, "198.51.100.7"},
		{"10.0.0.2:5000", "198.51.100.7, garbage", trusted, "10.0.0.2"},
		{"[::ffff:10.0.0.2]:5000", "198.51.100.7", trusted, "198.51.100.7"},
	}
	for _, tc := range cases {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.remote
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientIP(tc.trusted, req); got != tc.want {
			t.Errorf("remote %s xff %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}
