package cache

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestL1EvictsLeastRecentlyUsedByCount(t *testing.T) {
	c := NewL1(3, 1<<20)
	for _, k := range []string{"a", "b", "c"} {
		c.Set(k, []byte(k), time.Minute)
	}
	c.Get("a") // a is now the most recently used; b the least
	c.Set("d", []byte("d"), time.Minute)
	if _, ok := c.Get("b"); ok {
		t.Fatal("b should have been evicted")
	}
	for _, k := range []string{"a", "c", "d"} {
		if v, ok := c.Get(k); !ok || string(v) != k {
			t.Fatalf("%s missing", k)
		}
	}
	if s := c.Stats(); s.Evictions != 1 || s.Entries != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestL1BoundsBytesOfKeysAndValues(t *testing.T) {
	c := NewL1(1000, 100)
	for i := 0; i < 10; i++ {
		c.Set("key"+strconv.Itoa(i), make([]byte, 16), time.Minute) // 20 bytes each
	}
	s := c.Stats()
	if s.Bytes > 100 || s.Entries != 5 {
		t.Fatalf("bytes %d entries %d, want <= 100 and 5", s.Bytes, s.Entries)
	}
	if _, ok := c.Get("key9"); !ok {
		t.Fatal("newest entry evicted")
	}
	// Replacing a value re-accounts its size; an entry larger than the budget is not
	// kept (and removes the old value).
	c.Set("key9", make([]byte, 200), time.Minute)
	if _, ok := c.Get("key9"); ok {
		t.Fatal("oversized entry kept")
	}
	if s := c.Stats(); s.Bytes != 80 || s.Entries != 4 {
		t.Fatalf("after oversize: %+v", s)
	}
	c.Purge()
	if s := c.Stats(); s.Bytes != 0 || s.Entries != 0 {
		t.Fatalf("after purge: %+v", s)
	}
}

func TestL1ExpiresEntriesWithoutAGoroutinePerEntry(t *testing.T) {
	c := NewL1(100, 1<<20)
	c.Set("short", []byte("x"), 20*time.Millisecond)
	c.Set("long", []byte("y"), time.Hour)
	c.Set("forever", []byte("z"), 0)
	if d, ok := c.TTL("short"); !ok || d <= 0 || d > 20*time.Millisecond {
		t.Fatalf("TTL %v %v", d, ok)
	}
	if c.SetNX("short", []byte("other"), time.Hour) {
		t.Fatal("SetNX succeeded on a live entry")
	}
	if v, _ := c.Get("short"); string(v) != "x" {
		t.Fatalf("SetNX overwrote a live entry: %q", v)
	}
	time.Sleep(30 * time.Millisecond)
	if _, ok := c.Get("short"); ok {
		t.Fatal("expired entry returned")
	}
	c.Set("short2", []byte("x"), 10*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if n := c.SweepExpired(10); n != 1 {
		t.Fatalf("sweep removed %d, want 1", n)
	}
	if !c.SetNX("short2", []byte("again"), time.Hour) {
		t.Fatal("SetNX refused on an expired key")
	}
	if c.Len() != 3 { // long, forever, short2 (short went when read after expiry)
		t.Fatalf("len %d", c.Len())
	}
	if _, ok := c.Get("forever"); !ok {
		t.Fatal("entry without TTL lost")
	}
	if s := c.Stats(); s.Expired != 2 {
		t.Fatalf("expired %d", s.Expired)
	}
}

func TestL1IsSafeForConcurrentUse(t *testing.T) {
	c := NewL1(500, 1<<16)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		g := g
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				k := strconv.Itoa((g*7919 + i) % 1000)
				switch i % 4 {
				case 0:
					c.Set(k, []byte(k), time.Minute)
				case 1:
					if v, ok := c.Get(k); ok && string(v) != k {
						t.Errorf("key %s has %s", k, v)
					}
				case 2:
					c.Delete(k)
				case 3:
					c.SweepExpired(8)
				}
			}
		}()
	}
	wg.Wait()
	s := c.Stats()
	if s.Entries > 500 || s.Bytes > 1<<16 {
		t.Fatalf("bounds broken: %+v", s)
	}
	// The list and the map agree.
	n := 0
	var b int64
	for e := c.head; e != nil; e = e.next {
		n++
		b += int64(len(e.key) + len(e.value))
		if c.items[e.key] != e {
			t.Fatal("list entry not in map")
		}
	}
	if n != len(c.items) || b != c.bytes {
		t.Fatalf("list %d entries %d bytes, map %d entries, accounted %d bytes", n, b, len(c.items), c.bytes)
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "revoked:" + strconv.Itoa(i) + ":0123456789abcdef0123456789abcdef"
	}
	return keys
}

// BenchmarkL1Get: a hit, compiled (BenchmarkYaegiL1Get in internal/yaegihost is the
// same under the interpreter).
func BenchmarkL1Get(b *testing.B) {
	c := NewL1(100000, 64<<20)
	keys := benchKeys(1024)
	for _, k := range keys {
		c.Set(k, []byte("v"), time.Hour)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := c.Get(keys[i&1023]); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkL1Set(b *testing.B) {
	c := NewL1(100000, 64<<20)
	keys := benchKeys(1024)
	v := []byte("value")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Set(keys[i&1023], v, time.Hour)
	}
}

func BenchmarkL1GetParallel(b *testing.B) {
	c := NewL1(100000, 64<<20)
	keys := benchKeys(1024)
	for _, k := range keys {
		c.Set(k, []byte("v"), time.Hour)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Get(keys[i&1023])
			i++
		}
	})
}

func TestL1SweepsExpiredEntriesAsItIsWritten(t *testing.T) {
	c := NewL1(1000, 1<<20)
	for i := 0; i < 100; i++ {
		c.Set("old"+strconv.Itoa(i), []byte("x"), time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	for i := 0; i < 1000; i++ {
		c.Set("new"+strconv.Itoa(i%10), []byte("y"), time.Hour)
	}
	if s := c.Stats(); s.Expired == 0 || s.Entries > 100 {
		t.Fatalf("no expired entry swept by writes alone: %+v", s)
	}
}
