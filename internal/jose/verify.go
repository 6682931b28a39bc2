package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"strings"
)

// Verify checks the signature of jws against keys with the algorithms in allowed (the
// configured allow-list), and returns the key that verified it. The token's alg must
// be in allowed and fit the key (RSA for RS*/PS*, EC on the matching curve for ES*,
// Ed25519 for EdDSA, and the key's own alg, use and key_ops must permit it); the header
// only selects among keys, it never widens what is accepted (RFC 8725 3.1).
//
// "none" in any casing is refused whatever allowed says. HS256/384/512 are refused
// here: an HMAC is only checked by VerifyHMAC with an explicitly configured secret,
// so a token MACed with a public key (the RS256→HS256 confusion) never verifies.
//
// Keys are tried in order; ECDSA and EdDSA signature lengths and ECDSA r, s ranges are
// checked once, before any key is tried.
func Verify(jws *JWS, keys []*Key, allowed []string) (*Key, error) {
	if jws == nil {
		return nil, newError(ErrInvalidArgument, "expected a parsed JWS, got nil")
	}
	alg := jws.Header.Alg
	if strings.EqualFold(alg, "none") {
		return nil, newError(ErrAlgNone, "got alg "+quote(alg, 8))
	}
	if err := checkAllowed(alg, allowed); err != nil {
		return nil, err
	}
	sig := jws.Signature
	if len(sig) == 0 {
		return nil, newError(ErrSignatureEmpty, "expected a signature, got none")
	}
	in := input(jws)
	var (
		hash   crypto.Hash
		digest []byte
		curve  elliptic.Curve
		pss    bool
	)
	switch alg {
	case "RS256", "PS256", "ES256":
		d := sha256.Sum256(in)
		hash, digest = crypto.SHA256, d[:]
	case "RS384", "PS384", "ES384":
		d := sha512.Sum384(in)
		hash, digest = crypto.SHA384, d[:]
	case "RS512", "PS512", "ES512":
		d := sha512.Sum512(in)
		hash, digest = crypto.SHA512, d[:]
	case "EdDSA":
		if len(sig) != ed25519.SignatureSize {
			return nil, newError(ErrSignatureLength, "EdDSA: expected 64 bytes, got "+itoa(len(sig)))
		}
	case "HS256", "HS384", "HS512":
		return nil, newError(ErrHMACNotAllowed, "got alg "+alg+"; HMAC is verified only with a configured secret, never with a key set")
	default:
		return nil, newError(ErrAlgUnsupported, "expected one of RS256/384/512, PS256/384/512, ES256/384/512, EdDSA, got "+quote(alg, 16))
	}
	var r, s *big.Int
	switch alg[0] {
	case 'E':
		if alg != "EdDSA" {
			curve = curveForAlg(alg)
			var err error
			if r, s, err = ecdsaSignature(alg, curve, sig); err != nil {
				return nil, err
			}
		}
	case 'P':
		pss = true
	}
	fitting := 0
	for _, k := range keys {
		if k == nil || !keyFits(k, alg) {
			continue
		}
		fitting++
		switch pub := k.Public.(type) {
		case *rsa.PublicKey:
			if pub.N == nil || pub.N.BitLen() < minRSABits || pub.N.BitLen() > maxRSABits {
				continue
			}
			var err error
			if pss {
				err = rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash})
			} else {
				err = rsa.VerifyPKCS1v15(pub, hash, digest, sig)
			}
			if err == nil {
				return k, nil
			}
		case *ecdsa.PublicKey:
			if pub.Curve == curve && ecdsa.Verify(pub, digest, r, s) {
				return k, nil
			}
		case ed25519.PublicKey:
			if len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, in, sig) {
				return k, nil
			}
		}
	}
	if fitting == 0 {
		return nil, newError(ErrNoKey, "expected a key for alg "+alg+" among "+itoa(len(keys))+", got none that fits")
	}
	return nil, newError(ErrSignature, "alg "+alg+": no key of "+itoa(fitting)+" verified the signature")
}

// VerifyHMAC checks an HS256/384/512 token against secret, the explicitly configured
// shared secret (OIDC Core 10.1: the client secret's UTF-8 octets). alg must be in
// allowed. The secret must be at least as long as the hash output (RFC 7518 3.2).
func VerifyHMAC(jws *JWS, secret []byte, allowed []string) error {
	if jws == nil {
		return newError(ErrInvalidArgument, "expected a parsed JWS, got nil")
	}
	alg := jws.Header.Alg
	if strings.EqualFold(alg, "none") {
		return newError(ErrAlgNone, "got alg "+quote(alg, 8))
	}
	if err := checkAllowed(alg, allowed); err != nil {
		return err
	}
	in := input(jws)
	var mac []byte
	switch alg {
	case "HS256":
		if err := checkSecret(secret, sha256.Size); err != nil {
			return err
		}
		h := hmac.New(sha256.New, secret)
		h.Write(in)
		mac = h.Sum(nil)
	case "HS384":
		if err := checkSecret(secret, sha512.Size384); err != nil {
			return err
		}
		h := hmac.New(sha512.New384, secret)
		h.Write(in)
		mac = h.Sum(nil)
	case "HS512":
		if err := checkSecret(secret, sha512.Size); err != nil {
			return err
		}
		h := hmac.New(sha512.New, secret)
		h.Write(in)
		mac = h.Sum(nil)
	default:
		return newError(ErrAlgUnsupported, "expected HS256, HS384 or HS512, got "+quote(alg, 16))
	}
	if len(jws.Signature) != len(mac) {
		return newError(ErrSignatureLength, alg+": expected "+itoa(len(mac))+" bytes, got "+itoa(len(jws.Signature)))
	}
	if !hmac.Equal(mac, jws.Signature) {
		return newError(ErrSignature, alg+": the MAC does not match")
	}
	return nil
}

func checkSecret(secret []byte, min int) error {
	if len(secret) == 0 {
		return newError(ErrHMACSecret, "expected a configured secret, got none")
	}
	if len(secret) < min {
		return newError(ErrHMACSecret, "expected at least "+itoa(min)+" bytes (RFC 7518 3.2), got "+itoa(len(secret)))
	}
	return nil
}

// checkAllowed requires alg to be in allowed, exactly.
func checkAllowed(alg string, allowed []string) error {
	for _, a := range allowed {
		if a == alg {
			return nil
		}
	}
	return newError(ErrAlgNotAllowed, "expected one of ["+strings.Join(allowed, " ")+"], got "+quote(alg, 16))
}

// ecdsaSignature splits an ES* signature into r and s: exactly twice the curve's
// byte length (RFC 7518 3.4; an ASN.1 DER signature is refused), each in [1, n-1] —
// the zero signature ("psychic signatures", CVE-2022-21449) and values ≥ n are refused
// before any verification.
func ecdsaSignature(alg string, curve elliptic.Curve, sig []byte) (*big.Int, *big.Int, error) {
	size := (curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return nil, nil, newError(ErrSignatureLength, alg+": expected "+itoa(2*size)+" bytes (r‖s), got "+itoa(len(sig)))
	}
	r := new(big.Int).SetBytes(sig[:size])
	s := new(big.Int).SetBytes(sig[size:])
	n := curve.Params().N
	if r.Sign() == 0 || s.Sign() == 0 {
		return nil, nil, newError(ErrSignatureRange, alg+": expected 0 < r, s < n, got a zero value")
	}
	if r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return nil, nil, newError(ErrSignatureRange, alg+": expected 0 < r, s < n, got a value ≥ n")
	}
	return r, s, nil
}

// curveForAlg returns the curve an ES* alg requires (RFC 7518 3.4).
func curveForAlg(alg string) elliptic.Curve {
	switch alg {
	case "ES256":
		return elliptic.P256()
	case "ES384":
		return elliptic.P384()
	case "ES512":
		return elliptic.P521()
	}
	return nil
}

// keyFits reports whether k may verify alg: key type and curve fit, and the key's own
// alg, use and key_ops do not exclude it (RFC 7517 4.2-4.4).
func keyFits(k *Key, alg string) bool {
	if k.Alg != "" && k.Alg != alg {
		return false
	}
	if k.Use != "" && k.Use != "sig" {
		return false
	}
	if k.KeyOps != nil && !hasString(k.KeyOps, "verify") {
		return false
	}
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return k.Kty == "RSA"
	case "ES256":
		return k.Kty == "EC" && k.Crv == "P-256"
	case "ES384":
		return k.Kty == "EC" && k.Crv == "P-384"
	case "ES512":
		return k.Kty == "EC" && k.Crv == "P-521"
	case "EdDSA":
		return k.Kty == "OKP" && k.Crv == "Ed25519"
	}
	return false
}

func hasString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
