package session

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrChunks: the chunk cookies do not agree with the count marker (one missing or
// empty, one beyond the count, a bad marker, or a value too large to split).
var ErrChunks = errors.New("session: inconsistent session cookie chunks")

// expiredAttrs deletes a cookie (RFC 6265 section 3.1: an Expires in the past).
const expiredAttrs = "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"

// CookieHeader returns the request's cookies as one Cookie header value. HTTP/2
// clients may send several cookie header fields (RFC 9113 section 8.2.3); they are
// joined the way the specification says to.
func CookieHeader(req *http.Request) string {
	hs := req.Header["Cookie"]
	if len(hs) == 1 {
		return hs[0]
	}
	if len(hs) == 0 {
		return ""
	}
	return strings.Join(hs, "; ")
}

// CookieValue returns the value of the first cookie called name in a Cookie header
// (browsers send the most specific path first, RFC 6265 section 5.4), and whether
// there was one. Only whole cookie names match: "x_name=" is not "name=".
func CookieValue(header, name string) (string, bool) {
	from := 0
	for {
		i := strings.Index(header[from:], name)
		if i < 0 {
			return "", false
		}
		i += from
		end := i + len(name)
		from = end
		if end >= len(header) || header[end] != '=' {
			continue
		}
		if i > 0 {
			before := strings.TrimRight(header[:i], " \t")
			if before != "" && before[len(before)-1] != ';' {
				continue
			}
		}
		v := header[end+1:]
		if j := strings.IndexByte(v, ';'); j >= 0 {
			v = v[:j]
		}
		return strings.TrimRight(v, " \t"), true
	}
}

// ReadChunked returns the session cookie's value from a Cookie header, reassembled
// from its chunks when it was split. It refuses a missing or empty chunk, a chunk
// numbered beyond the count marker, and a malformed marker with ErrChunks, and a
// request without the cookie with ErrNoSession.
func ReadChunked(m *Manager, header string) (string, error) {
	v, ok := CookieValue(header, m.name)
	if !ok {
		return "", ErrNoSession
	}
	if !strings.HasPrefix(v, ".") {
		if _, extra := CookieValue(header, m.chunkNames[1]); extra {
			return "", ErrChunks
		}
		return v, nil
	}
	n, err := strconv.Atoi(v[1:])
	if err != nil || n < 2 || n > MaxChunks || m.markers[n] != v {
		return "", ErrChunks
	}
	if _, extra := CookieValue(header, m.chunkNames[n+1]); extra {
		return "", ErrChunks
	}
	var chunks [MaxChunks]string
	total := 0
	for i := 1; i <= n; i++ {
		c, ok := CookieValue(header, m.chunkNames[i])
		total += len(c)
		if !ok || c == "" || total > MaxChunks*m.budget {
			return "", ErrChunks
		}
		chunks[i-1] = c
	}
	// One allocation of the exact size.
	return strings.Join(chunks[:n], ""), nil
}

// WriteChunked sets value as the session cookie on h, split into chunks of at most
// ChunkBudget bytes when it does not fit one cookie, with a browser lifetime of
// maxAge seconds. Chunk cookies the request carries that the new value does not use
// are expired, so no stale chunk of an earlier, larger session survives.
func WriteChunked(m *Manager, h http.Header, req *http.Request, value string, maxAge int64, now time.Time) error {
	// A sealed value is base64url; anything that is not a plain cookie-octet run
	// (RFC 6265 section 4.1.1) would split or corrupt the Set-Cookie line.
	if value == "" || strings.HasPrefix(value, ".") || strings.ContainsAny(value, " \t\r\n\";,\\") {
		return errors.New("session: a cookie value must be non-empty cookie-octets not starting with '.', got " + strconv.Quote(value))
	}
	n := 1
	if len(value) > m.budget {
		n = (len(value) + m.budget - 1) / m.budget
	}
	if n > MaxChunks {
		return ErrTooLarge
	}
	tail := "; Max-Age=" + strconv.FormatInt(maxAge, 10) + "; Expires=" + now.Add(time.Duration(maxAge)*time.Second).UTC().Format(http.TimeFormat) + m.attrs
	if n == 1 {
		h.Add("Set-Cookie", m.name+"="+value+tail)
	} else {
		h.Add("Set-Cookie", m.name+"="+m.markers[n]+tail)
		for i := 1; i <= n; i++ {
			end := i * m.budget
			if end > len(value) {
				end = len(value)
			}
			h.Add("Set-Cookie", m.chunkNames[i]+"="+value[(i-1)*m.budget:end]+tail)
		}
	}
	if n == 1 {
		n = 0 // no chunk is in use
	}
	expireChunks(m, h, req, n)
	return nil
}

// ClearChunked expires the session cookie and every chunk of it the request carries,
// whether or not the set is consistent.
func ClearChunked(m *Manager, h http.Header, req *http.Request) {
	h.Add("Set-Cookie", m.name+"="+expiredAttrs+m.attrs)
	expireChunks(m, h, req, 0)
}

// expireChunks expires every chunk cookie of the request (name_<digits>) except
// name_1 to name_keep.
func expireChunks(m *Manager, h http.Header, req *http.Request, keep int) {
	for _, c := range req.Cookies() {
		if len(c.Name) <= len(m.name)+1 || !strings.HasPrefix(c.Name, m.name) || c.Name[len(m.name)] != '_' {
			continue
		}
		digits := c.Name[len(m.name)+1:]
		if strings.Trim(digits, "0123456789") != "" {
			continue
		}
		if i, err := strconv.Atoi(digits); err == nil && i >= 1 && i <= keep && strconv.Itoa(i) == digits {
			continue
		}
		h.Add("Set-Cookie", c.Name+"="+expiredAttrs+m.attrs)
	}
}

// StripCookies removes Gatehouse's cookies (the session cookie, its chunks and the
// login-transaction cookies) from the request before it is forwarded, leaving every
// other cookie byte for byte and in order. The Cookie header is deleted when nothing
// else is left. A header ReadSession has just read is answered from the Manager's
// memory. Call it last, just before forwarding: WriteSession, ClearSession and
// StartLogin look at the request's cookies to expire stale ones.
func StripCookies(m *Manager, req *http.Request) {
	hs := req.Header["Cookie"]
	if len(hs) != 1 {
		stripCookiesSlow(m, req, hs, nil)
		return
	}
	if !strings.Contains(hs[0], m.name) {
		// Every cookie of Gatehouse's is named after the session cookie: a header
		// without that name (a public page's analytics cookies) has none.
		return
	}
	m.memo.mu.RLock()
	e := m.memo.byHeader[hs[0]]
	m.memo.mu.RUnlock()
	if e == nil || e.stripped == "" {
		stripCookiesSlow(m, req, hs, e)
		return
	}
	if len(e.stripped) != len(hs[0]) {
		req.Header["Cookie"] = []string{e.stripped}
	}
}

// stripCookiesSlow strips headers the Manager does not remember and several Cookie
// header lines, and deletes a remembered header that has nothing left (e).
func stripCookiesSlow(m *Manager, req *http.Request, hs []string, e *memoEntry) {
	if len(hs) == 0 {
		return
	}
	if e != nil {
		delete(req.Header, "Cookie")
		return
	}
	kept := make([]string, 0, len(hs))
	for _, h := range hs {
		if v := StripCookieHeader(m, h); v != "" {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		delete(req.Header, "Cookie")
	} else {
		req.Header["Cookie"] = kept
	}
}

// StripCookieHeader returns a Cookie header value without Gatehouse's cookies.
// Cookies are separated by ';' (RFC 6265 section 4.2.1); the kept ones are copied
// unchanged with their separators. Only the cookies whose name contains the session
// cookie's name are visited, so a header without them costs one search.
func StripCookieHeader(m *Manager, header string) string {
	i := strings.Index(header, m.name)
	if i < 0 {
		return header
	}
	var out strings.Builder
	stripped := false
	keptFrom := 0 // header[keptFrom:] has not been copied or dropped yet
	searched := 0 // header[searched:i] holds no match: the segment start is there
	for i >= 0 {
		segStart := searched + strings.LastIndexByte(header[searched:i], ';') + 1
		segEnd := len(header)
		if j := strings.IndexByte(header[i:], ';'); j >= 0 {
			segEnd = i + j
		}
		seg := header[segStart:segEnd]
		if eq := strings.IndexByte(seg, '='); eq >= 0 {
			seg = seg[:eq]
		}
		if isOwnCookie(m, strings.TrimSpace(seg)) {
			stripped = true
			if segStart-1 > keptFrom {
				appendCookies(&out, header[keptFrom:segStart-1])
			}
			keptFrom = segEnd + 1
		}
		if segEnd >= len(header) {
			break
		}
		searched = segEnd
		i = strings.Index(header[segEnd:], m.name)
		if i >= 0 {
			i += segEnd
		}
	}
	if !stripped {
		return header
	}
	if keptFrom < len(header) {
		appendCookies(&out, header[keptFrom:])
	}
	return out.String()
}

// appendCookies appends a run of kept cookies: after a ';' when something precedes
// it, else without the whitespace that followed the dropped separator.
func appendCookies(out *strings.Builder, run string) {
	if out.Len() == 0 {
		out.WriteString(strings.TrimLeft(run, " \t"))
		return
	}
	out.WriteByte(';')
	out.WriteString(run)
}

// isOwnCookie reports whether a cookie name is the session cookie, one of its chunks
// (name_<digits>) or a login-transaction cookie (name_login_<id>).
func isOwnCookie(m *Manager, name string) bool {
	if name == m.name {
		return true
	}
	if len(name) <= len(m.name)+1 || !strings.HasPrefix(name, m.name) || name[len(m.name)] != '_' {
		return false
	}
	rest := name[len(m.name)+1:]
	return strings.Trim(rest, "0123456789") == "" || strings.HasPrefix(name, m.loginPrefix)
}
