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
	// Small functions, errors built elsewhere: under Yaegi a call allocates a slot
	// for every temporary of the function it enters, error branches included.
	if jws == nil || len(jws.Signature) == 0 || strings.EqualFold(jws.Header.Alg, "none") || !algAllowed(jws.Header.Alg, allowed) {
		return nil, errVerifyInput(jws, allowed)
	}
	switch algFamily(jws.Header.Alg) {
	case 'R':
		return verifyRSA(jws, keys)
	case 'E':
		return verifyECDSA(jws, keys)
	case 'O':
		return verifyEdDSA(jws, keys)
	}
	return nil, errVerifyAlg(jws.Header.Alg)
}

// algFamily is 'R' for RS*/PS*, 'E' for ES*, 'O' for EdDSA (an OKP key), 0 for
// anything else, including HMAC.
func algFamily(alg string) byte {
	if len(alg) != 5 {
		return 0
	}
	if alg == "EdDSA" {
		return 'O'
	}
	bits := alg[2:]
	if bits != "256" && bits != "384" && bits != "512" {
		return 0
	}
	if alg[:2] == "RS" || alg[:2] == "PS" {
		return 'R'
	}
	if alg[:2] == "ES" {
		return 'E'
	}
	return 0
}

// errVerifyInput says which of Verify's first checks failed, in order.
func errVerifyInput(jws *JWS, allowed []string) error {
	if jws == nil {
		return newError(ErrInvalidArgument, "expected a parsed JWS, got nil")
	}
	if strings.EqualFold(jws.Header.Alg, "none") {
		return newError(ErrAlgNone, "got alg "+quote(jws.Header.Alg, 8))
	}
	if !algAllowed(jws.Header.Alg, allowed) {
		return errNotAllowed(jws.Header.Alg, allowed)
	}
	return newError(ErrSignatureEmpty, "expected a signature, got none")
}

// errVerifyAlg explains an allowed alg that Verify does not do.
func errVerifyAlg(alg string) error {
	switch alg {
	case "HS256", "HS384", "HS512":
		return newError(ErrHMACNotAllowed, "got alg "+alg+"; HMAC is verified only with a configured secret, never with a key set")
	}
	return newError(ErrAlgUnsupported, "expected one of RS256/384/512, PS256/384/512, ES256/384/512, EdDSA, got "+quote(alg, 16))
}

// verifyRSA checks RS* (RSASSA-PKCS1-v1_5, RFC 7518 3.3) and PS* (RSASSA-PSS with
// MGF1 and a salt as long as the hash, RFC 7518 3.5).
func verifyRSA(jws *JWS, keys []*Key) (*Key, error) {
	alg := jws.Header.Alg
	hash := hashOf(alg)
	digest := digestOf(hash, jws.SigningInput)
	fitting := 0
	for _, k := range keys {
		if k == nil || !keyFits(k, alg) {
			continue
		}
		fitting++
		pub, ok := k.Public.(*rsa.PublicKey)
		if !ok || pub.N == nil || pub.N.BitLen() < minRSABits || pub.N.BitLen() > maxRSABits {
			continue
		}
		var err error
		if alg[0] == 'P' {
			err = rsa.VerifyPSS(pub, hash, digest, jws.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			err = rsa.VerifyPKCS1v15(pub, hash, digest, jws.Signature)
		}
		if err == nil {
			return k, nil
		}
	}
	return nil, errNotVerified(alg, len(keys), fitting)
}

// verifyECDSA checks ES256/384/512 (RFC 7518 3.4). The signature's length and the
// range of r and s are checked once, before any key is tried.
func verifyECDSA(jws *JWS, keys []*Key) (*Key, error) {
	alg := jws.Header.Alg
	curve := curveForAlg(alg)
	r, s := ecdsaRS(curve, jws.Signature)
	if r == nil {
		return nil, errECDSASignature(alg, curve, jws.Signature)
	}
	digest := digestOf(hashOf(alg), jws.SigningInput)
	fitting := 0
	for _, k := range keys {
		if k == nil || !keyFits(k, alg) {
			continue
		}
		fitting++
		pub, ok := k.Public.(*ecdsa.PublicKey)
		if ok && pub.Curve == curve && ecdsa.Verify(pub, digest, r, s) {
			return k, nil
		}
	}
	return nil, errNotVerified(alg, len(keys), fitting)
}

// verifyEdDSA checks EdDSA with Ed25519 (RFC 8037 3.1).
func verifyEdDSA(jws *JWS, keys []*Key) (*Key, error) {
	if len(jws.Signature) != ed25519.SignatureSize {
		return nil, newError(ErrSignatureLength, "EdDSA: expected 64 bytes, got "+itoa(len(jws.Signature)))
	}
	in := []byte(jws.SigningInput)
	fitting := 0
	for _, k := range keys {
		if k == nil || !keyFits(k, "EdDSA") {
			continue
		}
		fitting++
		pub, ok := k.Public.(ed25519.PublicKey)
		if ok && len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, in, jws.Signature) {
			return k, nil
		}
	}
	return nil, errNotVerified("EdDSA", len(keys), fitting)
}

// errNotVerified: no key fit, or none of the fitting ones verified.
func errNotVerified(alg string, keys, fitting int) error {
	if fitting == 0 {
		return newError(ErrNoKey, "expected a key for alg "+alg+" among "+itoa(keys)+", got none that fits")
	}
	return newError(ErrSignature, "alg "+alg+": no key of "+itoa(fitting)+" verified the signature")
}

// hashOf is the hash of an RS*, PS* or ES* alg.
func hashOf(alg string) crypto.Hash {
	switch alg[2:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

// digestOf hashes the signing input. One small function per hash: under Yaegi every
// array temporary of a function is allocated on each call.
func digestOf(hash crypto.Hash, input string) []byte {
	if hash == crypto.SHA256 {
		return sum256(input)
	}
	if hash == crypto.SHA384 {
		return sum384(input)
	}
	return sum512(input)
}

func sum256(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func sum384(s string) []byte {
	d := sha512.Sum384([]byte(s))
	return d[:]
}

func sum512(s string) []byte {
	d := sha512.Sum512([]byte(s))
	return d[:]
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
	in := []byte(jws.SigningInput)
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

// algAllowed reports whether alg is in allowed, exactly (alg values are
// case-sensitive, RFC 7515 4.1.1).
func algAllowed(alg string, allowed []string) bool {
	for _, a := range allowed {
		if a == alg {
			return true
		}
	}
	return false
}

// checkAllowed requires alg to be in allowed.
func checkAllowed(alg string, allowed []string) error {
	if algAllowed(alg, allowed) {
		return nil
	}
	return errNotAllowed(alg, allowed)
}

func errNotAllowed(alg string, allowed []string) error {
	return newError(ErrAlgNotAllowed, "expected one of ["+strings.Join(allowed, " ")+"], got "+quote(alg, 16))
}

// ecdsaRS splits an ES* signature into r and s: exactly twice the curve's byte
// length (RFC 7518 3.4; an ASN.1 DER signature is refused), each in [1, n-1] — the
// zero signature ("psychic signatures", CVE-2022-21449) and values ≥ n are refused
// before any verification. It returns nil, nil when the signature is unusable.
func ecdsaRS(curve elliptic.Curve, sig []byte) (*big.Int, *big.Int) {
	size := (curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return nil, nil
	}
	r := new(big.Int).SetBytes(sig[:size])
	s := new(big.Int).SetBytes(sig[size:])
	n := curve.Params().N
	if r.Sign() == 0 || s.Sign() == 0 || r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return nil, nil
	}
	return r, s
}

// errECDSASignature says why ecdsaRS refused sig.
func errECDSASignature(alg string, curve elliptic.Curve, sig []byte) error {
	size := (curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return newError(ErrSignatureLength, alg+": expected "+itoa(2*size)+" bytes (r‖s), got "+itoa(len(sig)))
	}
	r := new(big.Int).SetBytes(sig[:size])
	s := new(big.Int).SetBytes(sig[size:])
	if r.Sign() == 0 || s.Sign() == 0 {
		return newError(ErrSignatureRange, alg+": expected 0 < r, s < n, got a zero value")
	}
	return newError(ErrSignatureRange, alg+": expected 0 < r, s < n, got a value ≥ n")
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
