package session

import (
	"net/http"
	"testing"
)

// benchCookies is the Cookie header of a browser with a typical session (chunked:
// marker and two chunks) between a few site cookies.
func benchCookies(b *testing.B, m *Manager) (string, *Record) {
	b.Helper()
	rec := typicalRecord(b)
	h := http.Header{}
	if err := WriteSession(m, h, requestWithCookies(""), rec, testNow); err != nil {
		b.Fatal(err)
	}
	return "_ga=GA1.1.1234567890.1700000000; theme=dark; " + cookieHeaderFrom(b, h) + "; lang=en-GB", rec
}

func BenchmarkSealOpenTypicalSession(b *testing.B) {
	m := newTestManager(b, testOptions(b, testKeyA), "bench")
	rec := typicalRecord(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		text, err := SealRecord(m.Session, rec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := OpenRecord(m, m.Session, text, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenTypicalSession(b *testing.B) {
	m := newTestManager(b, testOptions(b, testKeyA), "bench")
	text, err := SealRecord(m.Session, typicalRecord(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := OpenRecord(m, m.Session, text, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadSessionRemembered is the per-request path: chunks reassembled from
// the Cookie header, the session found in the Manager's memory, times checked.
func BenchmarkReadSessionRemembered(b *testing.B) {
	m := newTestManager(b, testOptions(b, testKeyA), "bench")
	header, _ := benchCookies(b, m)
	req := requestWithCookies(header)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadSession(m, req, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStripCookieHeader(b *testing.B) {
	m := newTestManager(b, testOptions(b, testKeyA), "bench")
	header, _ := benchCookies(b, m)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if StripCookieHeader(m, header) != "_ga=GA1.1.1234567890.1700000000; theme=dark; lang=en-GB" {
			b.Fatal("wrong result")
		}
	}
}

func BenchmarkStripCookieHeaderWithoutGatehouseCookies(b *testing.B) {
	m := newTestManager(b, testOptions(b, testKeyA), "bench")
	header := "_ga=GA1.1.1234567890.1700000000; theme=dark; lang=en-GB; csrftoken=abcdef0123456789"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if StripCookieHeader(m, header) != header {
			b.Fatal("changed")
		}
	}
}
