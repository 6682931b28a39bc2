package session

import (
	"strings"
	"sync"
)

// sessionMemo remembers what the Manager worked out for recent requests, so that a
// request carrying the same cookies as an earlier one costs one map lookup:
//
//   - byHeader maps an exact Cookie header to the session it carries and to the
//     header without Gatehouse's cookies (what StripCookies forwards);
//   - byText maps a sealed session text to the session, for when other cookies in
//     the header changed.
//
// Both are pure functions of their key and the Manager's keys, so remembering them
// changes no result; the lifetime and idle checks still run on every request. Only
// sessions that opened (authenticated, within their times) are remembered, so a
// client cannot fill the memory without a valid session. When the remembered bytes
// would exceed the budget, both maps are dropped and refilled: bounded, and no
// interpreted loop over entries.
type sessionMemo struct {
	mu       sync.RWMutex
	byHeader map[string]*memoEntry
	byText   map[string]*Record
	bytes    int
	max      int
}

// memoEntry is what a Cookie header resolved to. Never modified once stored.
type memoEntry struct {
	rec      *Record
	stripped string
	deadline int64 // Unix second from which rec has expired or is idle
}

func newSessionMemo(max int) sessionMemo {
	return sessionMemo{byHeader: map[string]*memoEntry{}, byText: map[string]*Record{}, max: max}
}

// remember stores what header and text resolved to. Keys are copied so that the
// memory does not keep whole requests alive.
func remember(m *Manager, header, text string, rec *Record) {
	stripped := StripCookieHeader(m, header)
	cost := len(header) + len(stripped) + len(text) + recordSize(rec) + 512
	if cost > m.memo.max/8 {
		return
	}
	m.memo.mu.Lock()
	if m.memo.bytes+cost > m.memo.max {
		m.memo.byHeader = map[string]*memoEntry{}
		m.memo.byText = map[string]*Record{}
		m.memo.bytes = 0
	}
	if m.memo.byText[text] == nil {
		m.memo.byText[strings.Clone(text)] = rec
	}
	deadline := rec.CreatedAt + m.lifetime
	if m.idle > 0 && rec.LastSeen+m.idle < deadline {
		deadline = rec.LastSeen + m.idle
	}
	m.memo.byHeader[strings.Clone(header)] = &memoEntry{rec: rec, stripped: stripped, deadline: deadline}
	m.memo.bytes += cost
	m.memo.mu.Unlock()
}

// recordSize approximates a record's memory from its largest parts.
func recordSize(r *Record) int {
	n := len(r.AccessToken) + len(r.RefreshToken) + len(r.IDToken) + len(r.Subject) + len(r.Email) + len(r.User)
	for _, g := range r.Groups {
		n += len(g) + 16
	}
	for _, g := range r.Roles {
		n += len(g) + 16
	}
	return n + 64*len(r.Claims)
}
