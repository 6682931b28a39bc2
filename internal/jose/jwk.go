package jose

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"strings"
)

// RSA modulus bounds: RFC 7518 3.3 requires 2048 bits or more; the upper bound keeps
// one verification (which an attacker can trigger with a kid-less token) cheap.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// MaxKeys caps the usable keys taken from one key set; later keys are skipped.
const MaxKeys = 100

// Key is a public key usable for signature verification, from a JWK (RFC 7517 4).
// ParseJWK only returns keys that are: use absent or "sig", key_ops absent or
// containing "verify", alg absent or a signature algorithm that fits the key.
type Key struct {
	Kid    string
	Kty    string   // "RSA", "EC" or "OKP"
	Alg    string   // "" when the JWK has none; else the only alg this key verifies
	Use    string   // "" or "sig"
	KeyOps []string // nil when the JWK has none
	Crv    string   // "P-256", "P-384", "P-521" or "Ed25519"; "" for RSA
	Bits   int      // modulus or curve size
	// Public is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey
}

// privateMembers are the JWK members that carry private or symmetric key material
// (RFC 7518 6.2.2, 6.3.2, 6.4; RFC 8037 2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ParseJWK parses one JSON Web Key and checks it is a public key Gatehouse can
// verify with:
//
//   - RSA: n of 2048..8192 bits and odd, without the ROCA fingerprint (roca.go),
//     e odd and in [3, 2^31-1];
//   - EC: crv P-256, P-384 or P-521, x and y each exactly the coordinate length
//     (RFC 7518 6.2.1.2), forming a point on that curve;
//   - OKP: crv Ed25519, x of 32 bytes (RFC 8037 2);
//   - no private or symmetric material; oct keys are refused (an HMAC secret never
//     comes from a key set);
//   - use, key_ops and alg, when present, permit signature verification, and alg fits
//     the key type and curve.
//
// Names are matched exactly and must be unique (also ignoring case). x5c, x5u, x5t
// and any other members are ignored: nothing here fetches or trusts a certificate.
func ParseJWK(b []byte) (*Key, error) {
	m, err := decodeObject(b)
	if err != nil {
		return nil, prefixDetail(err, "JWK: ")
	}
	return parseJWKMembers(m)
}

func parseJWKMembers(m map[string]json.RawMessage) (*Key, error) {
	k := &Key{}
	var ok bool
	if k.Kty, ok = memberString(m, "kty"); !ok || k.Kty == "" {
		return nil, newError(ErrJWKInvalid, "expected kty to be a non-empty string, got "+memberKind(m, "kty"))
	}
	for _, name := range []string{"kid", "alg", "use"} {
		raw, present := m[name]
		if !present {
			continue
		}
		s, ok := jsonString(raw)
		if !ok {
			return nil, newError(ErrJWKInvalid, "expected "+name+" to be a string, got "+jsonKind(raw))
		}
		switch name {
		case "kid":
			k.Kid = s
		case "alg":
			k.Alg = s
		case "use":
			k.Use = s
		}
	}
	if raw, present := m["key_ops"]; present {
		ops, ok := jsonStrings(raw)
		if !ok {
			return nil, newError(ErrJWKInvalid, "expected key_ops to be an array of strings, got "+jsonKind(raw))
		}
		seen := make(map[string]bool, len(ops))
		for _, op := range ops {
			if seen[op] {
				return nil, newError(ErrJWKInvalid, "expected unique key_ops (RFC 7517 4.3), got "+quote(op, 20)+" twice")
			}
			seen[op] = true
		}
		k.KeyOps = ops
	}
	for _, name := range privateMembers {
		if _, present := m[name]; present {
			return nil, newError(ErrJWKPrivate, "expected a public key, got member "+quote(name, 4))
		}
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, newError(ErrJWKNotForVerify, "expected use \"sig\", got "+quote(k.Use, 20))
	}
	if k.KeyOps != nil && !hasString(k.KeyOps, "verify") {
		return nil, newError(ErrJWKNotForVerify, "expected key_ops to contain \"verify\", got "+itoa(len(k.KeyOps))+" other operations")
	}
	var err error
	switch k.Kty {
	case "RSA":
		err = parseRSA(k, m)
	case "EC":
		err = parseEC(k, m)
	case "OKP":
		err = parseOKP(k, m)
	case "oct":
		return nil, newError(ErrJWKUnsupported, "expected kty RSA, EC or OKP, got \"oct\" (HMAC secrets never come from a key set)")
	default:
		return nil, newError(ErrJWKUnsupported, "expected kty RSA, EC or OKP, got "+quote(k.Kty, 16))
	}
	if err != nil {
		return nil, err
	}
	if k.Alg != "" {
		if !isAsymmetricAlg(k.Alg) {
			return nil, newError(ErrJWKNotForVerify, "expected a signature alg, got "+quote(k.Alg, 16))
		}
		if !keyFits(k, k.Alg) {
			return nil, newError(ErrJWKInvalid, "expected alg to fit the key, got "+k.Alg+" for a "+k.Kty+" "+k.Crv+" key")
		}
	}
	return k, nil
}

func isAsymmetricAlg(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		return true
	}
	return false
}

func parseRSA(k *Key, m map[string]json.RawMessage) error {
	nb, err := memberBytes(m, "n")
	if err != nil {
		return err
	}
	eb, err := memberBytes(m, "e")
	if err != nil {
		return err
	}
	n := new(big.Int).SetBytes(nb)
	bits := n.BitLen()
	if bits < minRSABits {
		return newError(ErrKeyTooSmall, "expected at least "+itoa(minRSABits)+" bits (RFC 7518 3.3), got "+itoa(bits))
	}
	if bits > maxRSABits {
		return newError(ErrJWKUnsupported, "expected at most "+itoa(maxRSABits)+" bits, got "+itoa(bits))
	}
	if n.Bit(0) == 0 {
		return newError(ErrJWKInvalid, "expected an odd modulus, got an even one")
	}
	if hasROCAFingerprint(n) {
		return newError(ErrWeakKey, "expected an RSA modulus without the ROCA fingerprint (CVE-2017-15361: made by Infineon RSALib, factorable), got one with it")
	}
	e := new(big.Int).SetBytes(eb)
	if e.BitLen() > 31 || e.Int64() < 3 || e.Bit(0) == 0 {
		return newError(ErrJWKInvalid, "expected an odd exponent in [3, 2^31-1], got a "+itoa(e.BitLen())+"-bit value")
	}
	k.Bits = bits
	k.Public = &rsa.PublicKey{N: n, E: int(e.Int64())}
	return nil
}

func parseEC(k *Key, m map[string]json.RawMessage) error {
	crv, ok := memberString(m, "crv")
	if !ok {
		return newError(ErrJWKInvalid, "expected crv to be a string, got "+memberKind(m, "crv"))
	}
	var (
		curve elliptic.Curve
		check ecdh.Curve
	)
	switch crv {
	case "P-256":
		curve = elliptic.P256()
		check = ecdh.P256()
	case "P-384":
		curve = elliptic.P384()
		check = ecdh.P384()
	case "P-521":
		curve = elliptic.P521()
		check = ecdh.P521()
	default:
		return newError(ErrJWKUnsupported, "expected crv P-256, P-384 or P-521, got "+quote(crv, 16))
	}
	size := (curve.Params().BitSize + 7) / 8
	x, err := memberBytes(m, "x")
	if err != nil {
		return err
	}
	y, err := memberBytes(m, "y")
	if err != nil {
		return err
	}
	if len(x) != size || len(y) != size {
		return newError(ErrJWKInvalid, crv+": expected x and y of "+itoa(size)+" bytes (RFC 7518 6.2.1.2), got "+itoa(len(x))+" and "+itoa(len(y)))
	}
	// crypto/ecdh checks the uncompressed point is canonical (coordinates < p), not the
	// point at infinity, and on the curve: the invalid-curve attack needs a point that
	// is not.
	point := make([]byte, 0, 1+2*size)
	point = append(point, 4)
	point = append(point, x...)
	point = append(point, y...)
	if _, err := check.NewPublicKey(point); err != nil {
		return newError(ErrPointNotOnCurve, crv+": expected a point on the curve, got one that is not")
	}
	k.Crv = crv
	k.Bits = curve.Params().BitSize
	k.Public = &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	return nil
}

func parseOKP(k *Key, m map[string]json.RawMessage) error {
	crv, ok := memberString(m, "crv")
	if !ok {
		return newError(ErrJWKInvalid, "expected crv to be a string, got "+memberKind(m, "crv"))
	}
	if crv != "Ed25519" {
		return newError(ErrJWKUnsupported, "expected crv Ed25519, got "+quote(crv, 16))
	}
	x, err := memberBytes(m, "x")
	if err != nil {
		return err
	}
	if len(x) != ed25519.PublicKeySize {
		return newError(ErrJWKInvalid, "Ed25519: expected x of 32 bytes (RFC 8037 2), got "+itoa(len(x)))
	}
	k.Crv = crv
	k.Bits = 256
	k.Public = ed25519.PublicKey(x)
	return nil
}

// memberString returns member name of m as a string.
func memberString(m map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := m[name]
	if !ok {
		return "", false
	}
	return jsonString(raw)
}

func memberKind(m map[string]json.RawMessage, name string) string {
	raw, ok := m[name]
	if !ok {
		return "none"
	}
	return jsonKind(raw)
}

// memberBytes decodes member name of m, a strict unpadded base64url string.
func memberBytes(m map[string]json.RawMessage, name string) ([]byte, error) {
	s, ok := memberString(m, name)
	if !ok {
		return nil, newError(ErrJWKInvalid, "expected "+name+" to be a base64url string, got "+memberKind(m, name))
	}
	b, err := decodeB64(s)
	if err != nil || len(b) == 0 {
		return nil, newError(ErrJWKInvalid, "expected "+name+" to be non-empty strict unpadded base64url, got something else")
	}
	return b, nil
}

// decodeB64 is strict unpadded base64url with the alphabet checked first.
func decodeB64(s string) ([]byte, error) {
	if strings.Trim(s, base64URLAlphabet) != "" {
		return nil, newError(ErrBase64, "expected base64url characters only")
	}
	return b64.DecodeString(s)
}

// KeySet is a parsed JWK Set (RFC 7517 5): the usable keys in document order, and the
// entries that were skipped with the reason. Order is deterministic: Candidates and
// Verify try keys in the order the provider listed them; keys sharing a kid are all
// kept, in that order, and each is only used for the algorithms it fits.
type KeySet struct {
	Keys    []*Key
	Skipped []SkippedKey
}

// SkippedKey is a key-set entry that cannot be used, with why.
type SkippedKey struct {
	Index  int    // position in the "keys" array
	Kid    string // "" when absent or unreadable
	Reason string // the error text
	// Kind is the error's sentinel (KindOf): ErrWeakKey for a key with the ROCA
	// fingerprint, ErrJWKNotForVerify for an encryption key, ...
	Kind error
}

// ParseJWKS parses a JWK Set document. Entries that are unusable (unsupported type,
// encryption keys, weak keys (small, or with the ROCA fingerprint), malformed keys,
// private material, beyond MaxKeys) are
// skipped and reported in Skipped; the set is an error only when the document is
// malformed or no entry is usable.
func ParseJWKS(b []byte) (*KeySet, error) {
	m, err := decodeObject(b)
	if err != nil {
		return nil, prefixDetail(err, "JWKS: ")
	}
	raw, ok := m["keys"]
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return nil, newError(ErrJSON, "JWKS: expected a \"keys\" array, got "+memberKind(m, "keys"))
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, newError(ErrJSON, "JWKS: expected a \"keys\" array, got "+err.Error())
	}
	set := &KeySet{}
	for i, e := range entries {
		em, err := decodeObject(e)
		var k *Key
		if err == nil {
			k, err = parseJWKMembers(em)
		}
		if err == nil && len(set.Keys) >= MaxKeys {
			err = newError(ErrJWKUnsupported, "expected at most "+itoa(MaxKeys)+" usable keys, got more")
		}
		if err != nil {
			kid := ""
			if em != nil {
				kid, _ = memberString(em, "kid")
				if checkKid(kid) != nil {
					kid = ""
				}
			}
			set.Skipped = append(set.Skipped, SkippedKey{Index: i, Kid: kid, Reason: err.Error(), Kind: KindOf(err)})
			continue
		}
		set.Keys = append(set.Keys, k)
	}
	if len(set.Keys) == 0 {
		detail := "0 of " + itoa(len(entries)) + " keys usable"
		if len(set.Skipped) > 0 {
			detail += "; first: " + set.Skipped[0].Reason
		}
		return nil, newError(ErrNoUsableKeys, detail)
	}
	return set, nil
}

// Candidates returns the keys that may verify a token with this kid and alg, in
// document order. A non-empty kid selects only keys with exactly that kid (kid is a
// map key, never trusted for anything else); an empty kid selects every key. Among
// those, only keys that fit alg are returned (key type, curve, and the key's own
// alg, use and key_ops).
func (s *KeySet) Candidates(kid, alg string) []*Key {
	return candidates(s, kid, alg)
}

func candidates(s *KeySet, kid, alg string) []*Key {
	if s == nil {
		return nil
	}
	var out []*Key
	for _, k := range s.Keys {
		if kid != "" && k.Kid != kid {
			continue
		}
		if keyFits(k, alg) {
			out = append(out, k)
		}
	}
	return out
}

// hasKid reports whether s has a key with this kid (any type).
func hasKid(s *KeySet, kid string) bool {
	if s == nil {
		return false
	}
	for _, k := range s.Keys {
		if k.Kid == kid {
			return true
		}
	}
	return false
}
