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
		if recordFailure(th, purposeBearer, "1.2.3.4") {
			t.Fatalf("blocked after %d failures", i+1)
		}
	}
	if !recordFailure(th, purposeBearer, "1.2.3.4") {
		t.Fatal("not blocked after 3 failures")
	}
	if blocked, left := throttled(th, purposeBearer, "1.2.3.4"); !blocked || left != 30*time.Second {
		t.Fatalf("blocked=%v left=%v", blocked, left)
	}
	if blocked, _ := throttled(th, purposeBearer, "5.6.7.8"); blocked {
		t.Fatal("another client is blocked")
	}
	now = now.Add(31 * time.Second)
	if blocked, _ := throttled(th, purposeBearer, "1.2.3.4"); blocked {
		t.Fatal("still blocked after the penalty")
	}
}

// TestFailuresOfOnePurposeDoNotThrottleAnother: junk bearer tokens or junk logout
// requests from an address never lock it out of signing in, and the reverse.
func TestFailuresOfOnePurposeDoNotThrottleAnother(t *testing.T) {
	th := newThrottle(config.ThrottleOptions{Enabled: true, Failures: 2, Window: time.Minute, Penalty: time.Minute})
	purposes := []string{purposeCallback, purposeBearer, purposeBackchannel}
	for i, tripped := range purposes {
		client := "192.0.2." + string(rune('1'+i))
		recordFailure(th, tripped, client)
		if !recordFailure(th, tripped, client) {
			t.Fatalf("%q: not blocked after 2 failures", tripped)
		}
		for _, other := range purposes {
			blocked, _ := throttled(th, other, client)
			if blocked != (other == tripped) {
				t.Errorf("after %q failures, %q blocked = %v", tripped, other, blocked)
			}
		}
	}
}

func TestThrottleWindowResets(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(config.ThrottleOptions{Enabled: true, Failures: 2, Window: time.Second, Penalty: time.Minute})
	th.now = func() time.Time { return now }
	recordFailure(th, purposeBearer, "a")
	now = now.Add(2 * time.Second)
	if recordFailure(th, purposeBearer, "a") {
		t.Fatal("failures from an expired window were counted")
	}
}

func TestThrottleMemoryIsBounded(t *testing.T) {
	th := newThrottle(config.ThrottleOptions{Enabled: true, Failures: 100, Window: time.Hour, Penalty: time.Minute})
	for i := 0; i < maxThrottleEntries+5000; i++ {
		recordFailure(th, purposeBearer, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
	}
	if len(th.clients) > maxThrottleEntries {
		t.Fatalf("%d entries tracked", len(th.clients))
	}
}

// TestClientKeyHonoursOnlyTrustedProxiesAndReadsPortsAndIPv6Networks: the client is the
// connection's peer unless a trusted proxy forwarded the request; X-Forwarded-For
// entries with a port (Azure Application Gateway) are read, not mistaken for garbage
// that would count every client as the proxy; IPv6 clients are counted per /64.
func TestClientKeyHonoursOnlyTrustedProxiesAndReadsPortsAndIPv6Networks(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
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
		{"10.0.0.2:5000", "198.51.100.7, 10.0.0.9, garbage", trusted, "10.0.0.2"},
		{"[::ffff:10.0.0.2]:5000", "198.51.100.7", trusted, "198.51.100.7"},
		// Azure Application Gateway appends the client with its port.
		{"10.0.0.2:5000", "198.51.100.7:4711", trusted, "198.51.100.7"},
		{"10.0.0.2:5000", "6.6.6.6, 198.51.100.7:4711", trusted, "198.51.100.7"},
		{"10.0.0.2:5000", "198.51.100.7:4711, 10.0.0.5:80", trusted, "198.51.100.7"},
		{"10.0.0.2:5000", " 198.51.100.7:4711 ", trusted, "198.51.100.7"},
		// IPv6, with and without brackets and port, counted per /64.
		{"10.0.0.2:5000", "[2001:db8:1:2::7]:443", trusted, "2001:db8:1:2::/64"},
		{"10.0.0.2:5000", "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]", trusted, "2001:db8:1:2::/64"},
		{"10.0.0.2:5000", "2001:db8:1:2::7", trusted, "2001:db8:1:2::/64"},
		{"10.0.0.2:5000", "fe80::1%eth0", trusted, "fe80::/64"},
		{"[2001:db8:1:3::7]:5000", "", nil, "2001:db8:1:3::/64"},
		{"[fd00::1]:5000", "[2001:db8:1:4::1]:1", trusted, "2001:db8:1:4::/64"},
		{"[fd00::1]:5000", "::ffff:198.51.100.7", trusted, "198.51.100.7"},
		{"@", "198.51.100.7", trusted, "@"},
	}
	for _, tc := range cases {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.remote
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientKey(tc.trusted, req); got != tc.want {
			t.Errorf("remote %s xff %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}
