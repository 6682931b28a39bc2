package session

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

const b64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func newTestSealer(t testing.TB, purpose, binding string, keys ...string) *Sealer {
	t.Helper()
	var raw [][]byte
	for _, k := range keys {
		raw = append(raw, []byte(k))
	}
	s, err := NewSealer(raw, purpose, binding, MaxCacheText)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// RFC 5869 appendix A.1: the first 32 bytes of the OKM are T(1).
func TestHKDFMatchesRFC5869TestCase1(t *testing.T) {
	ikm, _ := hex.DecodeString("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")
	salt, _ := hex.DecodeString("000102030405060708090a0b0c")
	info, _ := hex.DecodeString("f0f1f2f3f4f5f6f7f8f9")
	prk := hkdfExtract(salt, ikm)
	if got := hex.EncodeToString(prk); got != "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5" {
		t.Fatalf("PRK %s", got)
	}
	if got := hex.EncodeToString(hkdfExpand(prk, info)); got != "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf" {
		t.Fatalf("OKM %s", got)
	}
}

func TestSealedValueRoundTripsAndIsCookieSafe(t *testing.T) {
	s := newTestSealer(t, PurposeSession, testBinding("a"), testKeyA)
	for _, pt := range [][]byte{{}, []byte("x"), []byte(strings.Repeat("session data ", 500))} {
		text, err := Seal(s, pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(text) != SealedLen(len(pt)) {
			t.Errorf("len %d, SealedLen says %d", len(text), SealedLen(len(pt)))
		}
		if strings.Trim(text, b64URLAlphabet) != "" {
			t.Fatalf("sealed text has characters outside base64url: %q", text)
		}
		got, err := Open(s, text)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip: %q, %v", got, err)
		}
	}
}

func TestSealingTwiceGivesDifferentTexts(t *testing.T) {
	s := newTestSealer(t, PurposeSession, testBinding("a"), testKeyA)
	a, _ := Seal(s, []byte("same"))
	b, _ := Seal(s, []byte("same"))
	if a == b || a[:9] != b[:9] {
		// Same version, key id and instance tag (first 9 bytes = 12 characters), new nonce.
		t.Fatalf("nonce reuse or unstable header:\n%s\n%s", a, b)
	}
}

func TestTamperingWithAnyByteIsRejected(t *testing.T) {
	s := newTestSealer(t, PurposeSession, testBinding("a"), testKeyA)
	text, err := Seal(s, []byte(`{"id":"abc","sub":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	// Every character replaced by every other base64url character.
	for i := 0; i < len(text); i++ {
		for _, c := range b64URLAlphabet {
			if byte(c) == text[i] {
				continue
			}
			bad := text[:i] + string(c) + text[i+1:]
			if _, err := Open(s, bad); err == nil {
				t.Fatalf("character %d changed to %c accepted", i, c)
			}
		}
	}
	// Every bit of every decoded byte flipped.
	raw, _ := s.enc.DecodeString(text)
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			if _, err := Open(s, s.enc.EncodeToString(b)); err == nil {
				t.Fatalf("byte %d bit %d flipped accepted", i, bit)
			}
		}
	}
	// Truncated, extended, padded, or with line breaks (which Go's decoder skips).
	for name, bad := range map[string]string{
		"truncated": text[:len(text)-1], "extended": text + "A", "padded": text + "==",
		"newline": text[:10] + "\n" + text[10:], "carriage return": text[:10] + "\r" + text[10:],
		"empty": "", "standard base64": strings.NewReplacer("-", "+", "_", "/").Replace(text) + "+/",
		"space": text[:10] + " " + text[10:], "header only": text[:minSealedText-1],
	} {
		if _, err := Open(s, bad); err == nil {
			t.Errorf("%s value accepted", name)
		}
	}
}

func TestTamperedCiphertextReportsErrTampered(t *testing.T) {
	s := newTestSealer(t, PurposeSession, testBinding("a"), testKeyA)
	text, _ := Seal(s, []byte("hello"))
	raw, _ := s.enc.DecodeString(text)
	raw[len(raw)-1] ^= 1
	if _, err := Open(s, s.enc.EncodeToString(raw)); err != ErrTampered {
		t.Fatalf("got %v, want ErrTampered", err)
	}
	raw[len(raw)-1] ^= 1
	raw[0] = 2
	if _, err := Open(s, s.enc.EncodeToString(raw)); err != ErrMalformed {
		t.Fatalf("unknown version: got %v, want ErrMalformed", err)
	}
}

func TestValueFromAnotherInstanceIsRejected(t *testing.T) {
	a := newTestSealer(t, PurposeSession, testBinding("a@file"), testKeyA)
	b := newTestSealer(t, PurposeSession, testBinding("b@file"), testKeyA)
	text, _ := Seal(a, []byte("alice"))
	if _, err := Open(b, text); err != ErrWrongInstance {
		t.Fatalf("got %v, want ErrWrongInstance", err)
	}
	// A forged instance tag does not help: the binding is in the GCM additional data.
	raw, _ := a.enc.DecodeString(text)
	copy(raw[1+keyIDLen:], b.keys[0].inst)
	if _, err := Open(b, a.enc.EncodeToString(raw)); err != ErrTampered {
		t.Fatalf("forged instance tag: got %v, want ErrTampered", err)
	}
	// The same binding on another replica opens it.
	replica := newTestSealer(t, PurposeSession, testBinding("a@file"), testKeyA)
	if got, err := Open(replica, text); err != nil || string(got) != "alice" {
		t.Fatalf("replica: %q %v", got, err)
	}
}

func TestInstanceBindingIsUnambiguous(t *testing.T) {
	if InstanceBinding("a", "b", "c", "d") == InstanceBinding("a", "b", "c", "d ") ||
		InstanceBinding("ab", "", "c", "d") == InstanceBinding("a", "b", "c", "d") ||
		InstanceBinding("a;", "b", "c", "d") == InstanceBinding("a", ";b", "c", "d") {
		t.Fatal("different tuples give the same binding")
	}
}

func TestKeyRotationOpensOldValuesAndRejectsRemovedKeys(t *testing.T) {
	bind := testBinding("a")
	before := newTestSealer(t, PurposeSession, bind, testKeyA)
	old, _ := Seal(before, []byte("sealed before rotation"))

	rotated := newTestSealer(t, PurposeSession, bind, testKeyB, testKeyA)
	if got, err := Open(rotated, old); err != nil || string(got) != "sealed before rotation" {
		t.Fatalf("old value after rotation: %q %v", got, err)
	}
	fresh, _ := Seal(rotated, []byte("sealed after rotation"))
	if fresh[:7] == old[:7] {
		t.Fatal("the new first key did not seal (same key id)")
	}
	if _, err := Open(before, fresh); err != ErrUnknownKey {
		t.Fatalf("new value at a replica without the new key: %v", err)
	}

	removed := newTestSealer(t, PurposeSession, bind, testKeyB)
	if _, err := Open(removed, old); err != ErrUnknownKey {
		t.Fatalf("value sealed with a removed key: got %v, want ErrUnknownKey", err)
	}
	if got, err := Open(removed, fresh); err != nil || string(got) != "sealed after rotation" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestSameKeyListedTwiceStillOpens(t *testing.T) {
	s := newTestSealer(t, PurposeSession, testBinding("a"), testKeyA, testKeyA)
	text, _ := Seal(s, []byte("x"))
	raw, _ := s.enc.DecodeString(text)
	raw[len(raw)-1] ^= 1
	if _, err := Open(s, s.enc.EncodeToString(raw)); err != ErrTampered {
		t.Fatalf("tampered with duplicate keys: %v", err)
	}
	if got, err := Open(s, text); err != nil || string(got) != "x" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestPurposesDoNotOpenEachOther(t *testing.T) {
	bind := testBinding("a")
	sealers := map[string]*Sealer{}
	for _, p := range []string{PurposeSession, PurposeLogin, PurposeCache} {
		sealers[p] = newTestSealer(t, p, bind, testKeyA)
	}
	for p, s := range sealers {
		text, _ := Seal(s, []byte("for "+p))
		for q, other := range sealers {
			_, err := Open(other, text)
			if p == q && err != nil {
				t.Errorf("%s does not open its own value: %v", p, err)
			}
			if p != q && err != ErrTampered {
				t.Errorf("%s value opened as %s: %v", p, q, err)
			}
		}
	}
}

func TestOversizedValueIsRefusedBeforeDecoding(t *testing.T) {
	s, err := NewSealer([][]byte{[]byte(testKeyA)}, PurposeLogin, "b", 200)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Seal(s, make([]byte, 200)); err != ErrTooLarge {
		t.Fatalf("seal: %v", err)
	}
	if _, err := Open(s, strings.Repeat("!", 201)); err != ErrTooLarge {
		t.Fatalf("open: %v (must fail on length before looking at the characters)", err)
	}
	if _, err := Open(s, strings.Repeat("!", 60)); err != ErrMalformed {
		t.Fatalf("open: %v", err)
	}
}

func TestSealerRejectsShortKeysAndMissingParameters(t *testing.T) {
	for name, f := range map[string]func() error{
		"short key":  func() error { _, err := NewSealer([][]byte{[]byte("short")}, PurposeSession, "b", 1000); return err },
		"no keys":    func() error { _, err := NewSealer(nil, PurposeSession, "b", 1000); return err },
		"no purpose": func() error { _, err := NewSealer([][]byte{[]byte(testKeyA)}, "", "b", 1000); return err },
		"tiny max":   func() error { _, err := NewSealer([][]byte{[]byte(testKeyA)}, PurposeSession, "b", 10); return err },
	} {
		if err := f(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
