package redis

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		raw  string
		want URL
	}{
		{"redis://localhost", URL{Addr: "localhost:6379", Host: "localhost"}},
		{"redis://127.0.0.1:7000/3", URL{Addr: "127.0.0.1:7000", Host: "127.0.0.1", DB: 3}},
		{"rediss://cache.example.com:6380/0", URL{Addr: "cache.example.com:6380", Host: "cache.example.com", TLS: true}},
		{"redis://:s%40cret@h:1", URL{Addr: "h:1", Host: "h", Password: "s@cret"}},
		{"redis://alice:pw@h:1/15", URL{Addr: "h:1", Host: "h", Username: "alice", Password: "pw", DB: 15}},
		{"redis://[::1]:6390", URL{Addr: "[::1]:6390", Host: "::1"}},
		{"redis://h:1/", URL{Addr: "h:1", Host: "h"}},
	}
	for _, tc := range cases {
		got, err := ParseURL(tc.raw)
		if err != nil {
			t.Errorf("%s: %v", tc.raw, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %+v want %+v", tc.raw, got, tc.want)
		}
	}
}

func TestParseURLRejectsWhatItWouldMisread(t *testing.T) {
	for raw, wantInErr := range map[string]string{
		"http://h:1":           `scheme redis or rediss, got "http"`,
		"redis:h:1":            "opaque",
		"redis://":             "a host",
		"redis://h:0":          "port from 1 to 65535",
		"redis://h:99999":      "port from 1 to 65535",
		"redis://h:":           "a port number",
		"redis://h:1/x":        "database number",
		"redis://h:1/-1":       "database number",
		"redis://h:1/01":       "database number",
		"redis://h:1/1/2":      "database number",
		"redis://h:1?db=2":     "no query string",
		"redis://h:1#x":        "no query string",
		"redis://u:hunter2@:1": "a host",
		"redis://h%20x:1":      "",
	} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Errorf("%s accepted", raw)
			continue
		}
		if !strings.Contains(err.Error(), wantInErr) {
			t.Errorf("%s: error %q does not say %q", raw, err, wantInErr)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error quotes the password: %v", raw, err)
		}
	}
}

// FuzzParseURL: ParseURL never panics, never accepts what it cannot dial (the address
// splits into a host and a port from 1 to 65535, the database is not negative), and
// never puts the password in an error.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://localhost:6379/0", "rediss://u:p@h:1/2", "redis://[::1]:1", "redis://:pw@h", "redis://h:1?x",
		"redis://h:65536", "redis:///0", "redis://%zz@h", "redis://h:1/99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseURL(raw)
		if err != nil {
			if pu, perr := url.Parse(raw); perr == nil && pu.User != nil {
				if pw, _ := pu.User.Password(); len(pw) >= 6 && strings.Contains(err.Error(), pw) {
					t.Fatalf("%q: error quotes the password: %v", raw, err)
				}
			}
			return
		}
		host, port, err := net.SplitHostPort(u.Addr)
		if err != nil || host == "" || host != u.Host {
			t.Fatalf("%q: address %q does not split into the host %q: %v", raw, u.Addr, u.Host, err)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			t.Fatalf("%q: port %q", raw, port)
		}
		if u.DB < 0 {
			t.Fatalf("%q: db %d", raw, u.DB)
		}
	})
}
