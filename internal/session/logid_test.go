package session

import (
	"bytes"
	"testing"
)

// TestLogIDKeyCorrelatesReplicasAndNothingElse: the replicas of one middleware (same
// first key, same binding) derive one key; another middleware name, another first
// key, or no key at all derive others. Later keys (which only open) do not matter.
func TestLogIDKeyCorrelatesReplicasAndNothingElse(t *testing.T) {
	k1 := []byte("0123456789abcdef0123456789abcdef-first")
	k2 := []byte("0123456789abcdef0123456789abcdef-second")
	bind := InstanceBinding("sso@file", "https://idp.example.com", "app", "_gatehouse")
	base := LogIDKey([][]byte{k1}, bind)
	if len(base) != 32 {
		t.Fatalf("key of %d bytes", len(base))
	}
	if !bytes.Equal(base, LogIDKey([][]byte{k1, k2}, bind)) {
		t.Fatal("an opening-only key changed the log key")
	}
	for name, other := range map[string][]byte{
		"other middleware": LogIDKey([][]byte{k1}, InstanceBinding("other@file", "https://idp.example.com", "app", "_gatehouse")),
		"other first key":  LogIDKey([][]byte{k2, k1}, bind),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("%s derives the same log key", name)
		}
	}
	if LogIDKey(nil, bind) != nil {
		t.Fatal("a key from no session key")
	}
}
