package redis

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
)

// bulk and arr build RESP2 replies for the topology tests.
func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func arr(elems ...string) string {
	return "*" + strconv.Itoa(len(elems)) + "\r\n" + strings.Join(elems, "")
}

func intr(n int) string { return ":" + strconv.Itoa(n) + "\r\n" }

// shardsRESP2 is CLUSTER SHARDS as Redis 7.0 sends it over RESP2: one primary and
// one replica per shard (node maps as flat arrays).
func shardsRESP2() string {
	node := func(port, tlsPort int, endpoint, role, health string) string {
		fields := []string{bulk("id"), bulk("0123"), bulk("port"), intr(port)}
		if tlsPort > 0 {
			fields = append(fields, bulk("tls-port"), intr(tlsPort))
		}
		fields = append(fields, bulk("ip"), bulk("10.0.0.9"), bulk("endpoint"), bulk(endpoint), bulk("role"), bulk(role),
			bulk("replication-offset"), intr(42), bulk("health"), bulk(health))
		return arr(fields...)
	}
	return arr(
		arr(bulk("slots"), arr(intr(0), intr(5460), intr(16000), intr(16383)), bulk("nodes"),
			arr(node(7001, 8001, "10.0.0.1", "master", "online"), node(7004, 8004, "10.0.0.4", "replica", "online"))),
		arr(bulk("slots"), arr(intr(5461), intr(15999)), bulk("nodes"),
			arr(node(7005, 0, "?", "replica", "online"), node(7002, 0, "node2.example", "master", "online"))),
		arr(bulk("slots"), arr(), bulk("nodes"), arr(node(7003, 0, "10.0.0.3", "master", "online"))),
	)
}

func parseBytes(t testing.TB, s string) Value {
	t.Helper()
	v, err := readReply(bufio.NewReader(strings.NewReader(s)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestClusterShardsAndSlotsRepliesAreRead(t *testing.T) {
	v := parseBytes(t, shardsRESP2())
	got, err := parseShards(v, false, "10.0.0.100")
	if err != nil {
		t.Fatal(err)
	}
	if d := describeRanges(got); d != "0-5460@10.0.0.1:7001 5461-15999@node2.example:7002 16000-16383@10.0.0.1:7001" {
		t.Fatalf("plain: %s", d)
	}
	got, err = parseShards(v, true, "10.0.0.100")
	if err != nil {
		t.Fatal(err)
	}
	if d := describeRanges(got); !strings.Contains(d, "0-5460@10.0.0.1:8001") || !strings.Contains(d, "node2.example:7002") {
		t.Fatalf("TLS ports: %s", d)
	}
	// RESP3: maps.
	m := "*1\r\n%2\r\n+slots\r\n*2\r\n:0\r\n:16383\r\n+nodes\r\n*1\r\n%3\r\n+port\r\n:7001\r\n+ip\r\n+10.0.0.1\r\n+role\r\n+master\r\n"
	if got, err := parseShards(parseBytes(t, m), false, "h"); err != nil || describeRanges(got) != "0-16383@10.0.0.1:7001" {
		t.Fatalf("RESP3: %s %v", describeRanges(got), err)
	}
	// CLUSTER SLOTS: an empty host means the node asked; "?" an unknown endpoint.
	slots := arr(
		arr(intr(0), intr(99), arr(bulk(""), intr(7001), bulk("id1")), arr(bulk("10.0.0.4"), intr(7004), bulk("id4"))),
		arr(intr(100), intr(199), arr(bulk("?"), intr(7002), bulk("id2"))),
		arr(intr(200), intr(16383), arr(bulk("10.0.0.3"), intr(7003), bulk("id3"), arr())),
	)
	got, err = parseSlots(parseBytes(t, slots), "10.0.0.100")
	if err != nil {
		t.Fatal(err)
	}
	if d := describeRanges(got); d != "0-99@10.0.0.100:7001 200-16383@10.0.0.3:7003" {
		t.Fatalf("slots: %s", d)
	}
	for _, bad := range []string{
		arr(arr(intr(0), intr(16384), arr(bulk("h"), intr(1)))), // slot out of range
		arr(arr(intr(10), intr(5), arr(bulk("h"), intr(1)))),    // end before start
		arr(arr(intr(0), intr(5), arr(bulk("h"), intr(0)))),     // port 0
		arr(arr(intr(0), intr(5), arr(bulk("h h"), intr(1)))),   // not a host
		arr(arr(intr(0), intr(5))),                              // no node
		":1\r\n",                                                // not a list
	} {
		if _, err := parseSlots(parseBytes(t, bad), "h"); err == nil {
			t.Errorf("CLUSTER SLOTS %q accepted", bad)
		}
	}
}

func TestRedirectionsAndSentinelMessagesAreRead(t *testing.T) {
	for msg, want := range map[string]string{
		"MOVED 3999 127.0.0.1:6381":      "3999 127.0.0.1:6381",
		"ASK 0 node.example:7000":        "0 node.example:7000",
		"MOVED 16383 [::1]:7000":         "16383 [::1]:7000",
		"MOVED 12 :7002":                 "12 10.0.0.100:7002", // unknown endpoint: the node that answered
		"MOVED 16384 127.0.0.1:6381":     "",
		"MOVED 1 127.0.0.1":              "",
		"MOVED 1 127.0.0.1:0":            "",
		"TRYAGAIN Multiple keys request": "",
		"MOVED x 127.0.0.1:1":            "",
	} {
		slot, addr, ok := parseRedirect(msg, "10.0.0.100")
		got := ""
		if ok {
			got = strconv.Itoa(slot) + " " + addr
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", msg, got, want)
		}
	}
	if a, ok := parseSwitchMaster("mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster"); !ok || a != "127.0.0.1:6380" {
		t.Errorf("switch-master: %q %v", a, ok)
	}
	for _, bad := range []string{"other 127.0.0.1 6379 127.0.0.1 6380", "mymaster 127.0.0.1 6379 127.0.0.1", "mymaster a b c 0"} {
		if _, ok := parseSwitchMaster(bad, "mymaster"); ok {
			t.Errorf("switch-master %q accepted", bad)
		}
	}
	if a, err := parseMasterAddr(parseBytes(t, arr(bulk("10.0.0.5"), bulk("6379")))); err != nil || a != "10.0.0.5:6379" {
		t.Errorf("master addr: %q %v", a, err)
	}
	if _, err := parseMasterAddr(parseBytes(t, "*-1\r\n")); err == nil || !strings.Contains(err.Error(), "unknown master name") {
		t.Errorf("unknown master: %v", err)
	}
	got, err := parseSentinels(parseBytes(t, arr(
		arr(bulk("name"), bulk("x"), bulk("ip"), bulk("10.0.0.7"), bulk("port"), bulk("26379")),
		arr(bulk("ip"), bulk("bad host"), bulk("port"), bulk("26379")),
	)))
	if err != nil || len(got) != 1 || got[0] != "10.0.0.7:26379" {
		t.Errorf("sentinels: %v %v", got, err)
	}
}

// checkRanges fails on a range outside the slots or an address that is not
// host:port with a port from 1 to 65535.
func checkRanges(t *testing.T, rs []slotRange) {
	for _, r := range rs {
		if r.start < 0 || r.end < r.start || r.end >= SlotCount {
			t.Fatalf("range %d-%d", r.start, r.end)
		}
		checkAddr(t, r.addr)
	}
}

func checkAddr(t *testing.T, addr string) {
	h, p, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(p)
	if err != nil || h == "" || perr != nil || n < 1 || n > 65535 {
		t.Fatalf("address %q", addr)
	}
}

// FuzzTopologyReplies: whatever reply a node or a sentinel sends, the map, address
// and sentinel-list readers return valid slot ranges and host:port addresses, or an
// error; they never panic.
func FuzzTopologyReplies(f *testing.F) {
	f.Add([]byte(shardsRESP2()))
	f.Add([]byte(arr(arr(intr(0), intr(16383), arr(bulk("127.0.0.1"), intr(7001), bulk("id"))))))
	f.Add([]byte("%2\r\n+slots\r\n*2\r\n:0\r\n:16383\r\n+nodes\r\n*1\r\n%3\r\n+port\r\n:7001\r\n+ip\r\n+10.0.0.1\r\n+role\r\n+master\r\n"))
	f.Add([]byte(arr(bulk("10.0.0.5"), bulk("6379"))))
	f.Add([]byte(arr(arr(bulk("ip"), bulk("10.0.0.7"), bulk("port"), bulk("26379")))))
	f.Add([]byte("*-1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := readReply(bufio.NewReader(bytes.NewReader(data)), 1<<16)
		if err != nil {
			return
		}
		for _, useTLS := range []bool{false, true} {
			if rs, err := parseShards(v, useTLS, "10.0.0.100"); err == nil {
				checkRanges(t, rs)
			}
		}
		if rs, err := parseSlots(v, "10.0.0.100"); err == nil {
			checkRanges(t, rs)
		}
		if a, err := parseMasterAddr(v); err == nil {
			checkAddr(t, a)
		}
		if list, err := parseSentinels(v); err == nil {
			for _, a := range list {
				checkAddr(t, a)
			}
		}
	})
}

// FuzzRedirectAndSwitchMessages: MOVED/ASK errors and +switch-master payloads give a
// slot within range and a valid address, or are refused.
func FuzzRedirectAndSwitchMessages(f *testing.F) {
	for _, s := range []string{"MOVED 3999 127.0.0.1:6381", "ASK 1 [::1]:7000", "MOVED 2 :7002", "MOVED 99999 h:1",
		"mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster a 1 b 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if slot, addr, ok := parseRedirect(msg, "10.0.0.100"); ok {
			if slot < 0 || slot >= SlotCount {
				t.Fatalf("slot %d", slot)
			}
			checkAddr(t, addr)
		}
		if addr, ok := parseSwitchMaster(msg, "mymaster"); ok {
			checkAddr(t, addr)
		}
	})
}
