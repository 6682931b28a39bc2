package jose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
)

// TestThumbprintOfRFC7638Example: the RSA key of RFC 7638 section 3.1 has the
// thumbprint the RFC gives.
func TestThumbprintOfRFC7638Example(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	got, err := Thumbprint(pub)
	if err != nil || got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %q, %v", got, err)
	}
}

// TestSignCompactVerifies: what SignCompact signs, Verify (or VerifyHMAC) accepts with
// the public key, for every algorithm client assertions use; a key of the wrong kind
// or an HMAC secret shorter than the hash is refused.
func TestSignCompactVerifies(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(strings.Repeat("s", 32))
	for _, c := range []struct {
		alg  string
		priv any
		pub  *Key
	}{
		{"RS256", rk, &Key{Kty: "RSA", Public: &rk.PublicKey, Bits: 2048}},
		{"PS256", rk, &Key{Kty: "RSA", Public: &rk.PublicKey, Bits: 2048}},
		{"ES256", ek, &Key{Kty: "EC", Crv: "P-256", Public: &ek.PublicKey, Bits: 256}},
		{"HS256", secret, nil},
	} {
		tok, err := SignCompact([]byte(`{"alg":"`+c.alg+`","typ":"JWT"}`), []byte(`{"sub":"x"}`), c.alg, c.priv)
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		jws, err := ParseCompact(tok, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		if c.pub == nil {
			err = VerifyHMAC(jws, secret, []string{c.alg})
		} else {
			_, err = Verify(jws, []*Key{c.pub}, []string{c.alg})
		}
		if err != nil {
			t.Errorf("%s: %v", c.alg, err)
		}
	}
	if _, err := SignCompact([]byte(`{}`), []byte(`{}`), "ES256", rk); err == nil {
		t.Error("ES256 with an RSA key")
	}
	if _, err := SignCompact([]byte(`{}`), []byte(`{}`), "HS256", secret[:16]); err == nil {
		t.Error("HS256 with a 16-byte secret")
	}
	if _, err := SignCompact([]byte(`{}`), []byte(`{}`), "none", nil); err == nil {
		t.Error("alg none signed")
	}
}
