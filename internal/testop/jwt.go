package testop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"
)

// maxTokenLen caps what ParseUnverified and Verify accept, so untrusted input (an
// id_token_hint) cannot make the provider decode megabytes.
const maxTokenLen = 64 << 10

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// hashFor returns the hash an alg signs with (RFC 7518 section 3.1), also used for
// at_hash (OIDC Core 3.1.3.6; EdDSA with Ed25519 uses SHA-512 per the OpenID errata).
func hashFor(alg string) (crypto.Hash, bool) {
	switch alg {
	case "RS256", "PS256", "ES256", "HS256":
		return crypto.SHA256, true
	case "RS384", "PS384", "ES384", "HS384":
		return crypto.SHA384, true
	case "RS512", "PS512", "ES512", "HS512", "EdDSA":
		return crypto.SHA512, true
	}
	return 0, false
}

func newHash(h crypto.Hash) hash.Hash {
	switch h {
	case crypto.SHA384:
		return sha512.New384()
	case crypto.SHA512:
		return sha512.New()
	}
	return sha256.New()
}

// halfHash is the at_hash / c_hash construction: the left half of the hash of the
// ASCII value, base64url encoded (OIDC Core 3.1.3.6).
func halfHash(alg, value string) string {
	h, ok := hashFor(alg)
	if !ok {
		h = crypto.SHA256
	}
	d := newHash(h)
	d.Write([]byte(value))
	sum := d.Sum(nil)
	return b64(sum[:len(sum)/2])
}

// signCompact builds a JWS compact serialization of payload under header, signing
// with key (a crypto.Signer of ours, or []byte for HS*). It fails only on an alg the
// key cannot produce.
func signCompact(header map[string]any, payload []byte, key any) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("testop: header does not marshal: %w", err)
	}
	alg, _ := header["alg"].(string)
	input := b64(hb) + "." + b64(payload)
	sig, err := rawSign(alg, []byte(input), key)
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func rawSign(alg string, input []byte, key any) ([]byte, error) {
	if strings.EqualFold(alg, "none") {
		return nil, nil
	}
	h, ok := hashFor(alg)
	if !ok {
		return nil, fmt.Errorf("testop: cannot sign alg %q, expected RS/PS/HS 256/384/512, ES256, EdDSA or none", alg)
	}
	var digest []byte
	if alg != "EdDSA" && !strings.HasPrefix(alg, "HS") {
		d := newHash(h)
		d.Write(input)
		digest = d.Sum(nil)
	}
	switch {
	case strings.HasPrefix(alg, "HS"):
		k, ok := key.([]byte)
		if !ok {
			return nil, fmt.Errorf("testop: alg %s needs an HMAC key", alg)
		}
		m := hmac.New(func() hash.Hash { return newHash(h) }, k)
		m.Write(input)
		return m.Sum(nil), nil
	case strings.HasPrefix(alg, "RS"):
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("testop: alg %s needs an RSA key", alg)
		}
		return rsa.SignPKCS1v15(rand.Reader, k, h, digest)
	case strings.HasPrefix(alg, "PS"):
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("testop: alg %s needs an RSA key", alg)
		}
		return rsa.SignPSS(rand.Reader, k, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case alg == "ES256":
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("testop: alg %s needs a P-256 key", alg)
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return nil, err
		}
		// JWS ECDSA signatures are r||s, each left-padded to the curve size
		// (RFC 7518 section 3.4), not ASN.1.
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out, nil
	case alg == "EdDSA":
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("testop: alg %s needs an Ed25519 key", alg)
		}
		return ed25519.Sign(k, input), nil
	}
	return nil, fmt.Errorf("testop: cannot sign alg %q", alg)
}

// verifySignature checks sig over input with pub for alg.
func verifySignature(alg string, input, sig []byte, pub crypto.PublicKey) error {
	h, ok := hashFor(alg)
	if !ok || strings.HasPrefix(alg, "HS") {
		return fmt.Errorf("testop: alg %q is not an asymmetric alg this provider signs with", alg)
	}
	var digest []byte
	if alg != "EdDSA" {
		d := newHash(h)
		d.Write(input)
		digest = d.Sum(nil)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if strings.HasPrefix(alg, "RS") {
			return rsa.VerifyPKCS1v15(k, h, digest, sig)
		}
		if strings.HasPrefix(alg, "PS") {
			return rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
	case *ecdsa.PublicKey:
		if alg == "ES256" && len(sig) == 64 {
			r := new(big.Int).SetBytes(sig[:32])
			s := new(big.Int).SetBytes(sig[32:])
			if ecdsa.Verify(k, digest, r, s) {
				return nil
			}
			return errors.New("testop: ECDSA signature does not verify")
		}
	case ed25519.PublicKey:
		if alg == "EdDSA" {
			if ed25519.Verify(k, input, sig) {
				return nil
			}
			return errors.New("testop: Ed25519 signature does not verify")
		}
	}
	return fmt.Errorf("testop: alg %q does not fit key type %T", alg, pub)
}

// splitCompact returns the three decoded parts of a JWS compact serialization.
func splitCompact(token string) (header, payload, sig []byte, input string, err error) {
	if len(token) > maxTokenLen {
		return nil, nil, nil, "", fmt.Errorf("testop: token of %d bytes exceeds %d", len(token), maxTokenLen)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, nil, "", fmt.Errorf("testop: token has %d segments, expected 3", len(parts))
	}
	if header, err = base64.RawURLEncoding.DecodeString(parts[0]); err != nil {
		return nil, nil, nil, "", fmt.Errorf("testop: header is not base64url: %w", err)
	}
	if payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
		return nil, nil, nil, "", fmt.Errorf("testop: payload is not base64url: %w", err)
	}
	if sig, err = base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		return nil, nil, nil, "", fmt.Errorf("testop: signature is not base64url: %w", err)
	}
	return header, payload, sig, parts[0] + "." + parts[1], nil
}

// ParseUnverified decodes a JWT's header and claims without checking anything, for
// tests that inspect what the provider issued (numbers come back as float64, as
// encoding/json decodes them into any).
func ParseUnverified(token string) (header, claims map[string]any, err error) {
	hb, pb, _, _, err := splitCompact(token)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(hb, &header); err != nil || header == nil {
		return nil, nil, fmt.Errorf("testop: header is not a JSON object")
	}
	if err := json.Unmarshal(pb, &claims); err != nil || claims == nil {
		return nil, nil, fmt.Errorf("testop: payload is not a JSON object")
	}
	return header, claims, nil
}
