package yaegihost

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// A single-page application behind Gatehouse, driven as a browser's fetch, CORS
// preflight, WebSocket and EventSource would drive it, compiled and under Yaegi:
// requests that are not page navigations get 401 with a login_url, never a 302 to
// the provider they could not follow; signed in, upgrades and streams pass through
// the middleware untouched.

// spaBackend answers CORS preflights, upgrades WebSockets (echoing one text frame
// back) and streams server-sent events (the second event only after the test read
// the first, through next), and echoes everything else.
func spaBackend(next chan struct{}) http.Handler {
	echo := echoBackend()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodOptions:
			if r.Header.Get("Cookie") != "" || r.Header.Get("Authorization") != "" {
				http.Error(w, "a preflight arrived with credentials", http.StatusTeapot)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.WriteHeader(http.StatusNoContent)
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			serveWebSocketEcho(w, r)
		case r.Header.Get("Accept") == "text/event-stream":
			w.Header().Set("Content-Type", "text/event-stream")
			fl := w.(http.Flusher)
			_, _ = io.WriteString(w, "data: one "+r.Header.Get("X-Forwarded-User")+"\n\n")
			fl.Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
			_, _ = io.WriteString(w, "data: two\n\n")
			fl.Flush()
		default:
			echo.ServeHTTP(w, r)
		}
	})
}

// serveWebSocketEcho completes the RFC 6455 handshake through the Hijacker (only a
// writer Gatehouse did not wrap has one), reads one small masked text frame and
// echoes its payload, prefixed with the forwarded user, unmasked.
func serveWebSocketEcho(w http.ResponseWriter, r *http.Request) {
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	_ = rw.Flush()
	head := make([]byte, 6)
	if _, err := io.ReadFull(rw, head); err != nil {
		return
	}
	payload := make([]byte, head[1]&0x7f)
	if _, err := io.ReadFull(rw, payload); err != nil {
		return
	}
	for i := range payload {
		payload[i] ^= head[2+i%4]
	}
	reply := append([]byte(r.Header.Get("X-Forwarded-User")+": "), payload...)
	_, _ = rw.Write(append([]byte{0x81, byte(len(reply))}, reply...))
	_ = rw.Flush()
}

// webSocketEcho opens a WebSocket to base+path with the header pairs, sends text and
// returns the handshake's status and the echoed text ("" when not upgraded).
func webSocketEcho(t *testing.T, base, path, text string, hdr ...string) (int, string) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: " + base + "\r\n" +
		"Sec-Fetch-Mode: websocket\r\nSec-Fetch-Dest: empty\r\n"
	for i := 0; i+1 < len(hdr); i += 2 {
		req += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return resp.StatusCode, ""
	}
	mask := []byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(text))}
	frame = append(frame, mask...)
	for i := 0; i < len(text); i++ {
		frame = append(frame, text[i]^mask[i%4])
	}
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 2)
	if _, err := io.ReadFull(br, head); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, head[1]&0x7f)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(payload)
}

// TestSinglePageAppGets401sAndItsStreamsPassUnderYaegi: an SPA's requests without a
// session — fetch (Sec-Fetch-Mode cors, Accept */*), a POST, a WebSocket upgrade,
// an EventSource — get 401 with WWW-Authenticate and a login_url back to the page
// (its Referer), never a redirect; a CORS preflight reaches the backend without
// credentials under a rule with preflight: allow and gets 401 elsewhere; a page
// navigation still goes to the provider. Signed in, the WebSocket is upgraded and
// echoes, and server-sent events arrive one by one (the writer is not wrapped).
func TestSinglePageAppGets401sAndItsStreamsPassUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		cfg["rules"] = []any{rule("name", "api", "path", "/api/", "preflight", "allow")}
		next := make(chan struct{}, 1)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		srv := httptest.NewServer(md.build(t, ctx, spaBackend(next), cfg, "spa@file"))
		t.Cleanup(srv.Close)
		page := srv.URL + "/app/dashboard?tab=2"

		// Without a session.
		resp, body := getAPI(t, srv.URL+"/api/items", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Accept", "*/*",
			"Origin", srv.URL, "Referer", page)
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("fetch: %d %s", resp.StatusCode, body)
		}
		if got["error"] != "unauthorized" || got["login_url"] != srv.URL+"/oauth2/start?rd=%2Fapp%2Fdashboard%3Ftab%3D2" {
			t.Fatalf("fetch: %v", got)
		}
		challenges := strings.Join(resp.Header.Values("WWW-Authenticate"), " | ")
		if !strings.Contains(challenges, `Cookie realm="gatehouse"`) || !strings.Contains(challenges, `form-action="`+got["login_url"]+`"`) {
			t.Fatalf("WWW-Authenticate: %s", challenges)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/app/form", strings.NewReader("a=1"))
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		if resp, _ := doRequest(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a POST without a session: %d, want 401 (never redirect a POST)", resp.StatusCode)
		}
		if status, _ := webSocketEcho(t, srv.URL, "/api/socket", "hi"); status != http.StatusUnauthorized {
			t.Fatalf("WebSocket upgrade without a session: %d", status)
		}
		resp, _ = getAPI(t, srv.URL+"/api/events", "Accept", "text/event-stream")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("EventSource without a session: %d", resp.StatusCode)
		}
		preflight := func(path string) int {
			req, _ := http.NewRequest(http.MethodOptions, srv.URL+path, nil)
			req.Header.Set("Origin", "https://spa.example.com")
			req.Header.Set("Access-Control-Request-Method", "DELETE")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
			resp, _ := doRequest(t, req)
			return resp.StatusCode
		}
		if s := preflight("/api/items/7"); s != http.StatusNoContent {
			t.Fatalf("preflight under preflight: allow: %d", s)
		}
		if s := preflight("/app/items/7"); s != http.StatusUnauthorized {
			t.Fatalf("preflight elsewhere: %d, want 401", s)
		}
		nav := newBrowser().once(t, page, "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", "text/html")
		if nav.StatusCode != http.StatusFound || !strings.HasPrefix(nav.Header.Get("Location"), op.URL()) {
			t.Fatalf("a page navigation: %d %q", nav.StatusCode, nav.Header.Get("Location"))
		}

		// Following login_url signs in and comes back to the page.
		br := newBrowser()
		mustContain(t, "login_url", br.get(t, got["login_url"]), "backend /app/dashboard")
		cookie := cookieHeader(t, br, srv.URL)
		status, echoed := webSocketEcho(t, srv.URL, "/api/socket", "hi", "Cookie", cookie)
		if status != http.StatusSwitchingProtocols || echoed != "alice@example.com: hi" {
			t.Fatalf("WebSocket signed in: %d %q", status, echoed)
		}
		req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Cookie", cookie)
		sse, err := http.DefaultClient.Do(req)
		if err != nil || sse.StatusCode != http.StatusOK {
			t.Fatalf("EventSource signed in: %v %v", sse, err)
		}
		defer func() { _ = sse.Body.Close() }()
		lines := bufio.NewReader(sse.Body)
		first, _ := lines.ReadString('\n')
		if first != "data: one alice@example.com\n" {
			t.Fatalf("first event %q", first)
		}
		next <- struct{}{} // the second event is sent only now: the first was streamed
		_, _ = lines.ReadString('\n')
		if second, _ := lines.ReadString('\n'); second != "data: two\n" {
			t.Fatalf("second event %q", second)
		}
	})
}
