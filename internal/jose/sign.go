package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"math/big"
)

// Signing is what Gatehouse needs to prove its own identity to the provider: a client
// assertion (RFC 7523) for private_key_jwt and client_secret_jwt. Everything else in
// this package verifies.

// SignCompact returns the compact serialisation of a JWS over payload, with the
// protected header header (a JSON object whose alg member must be alg), signed with
// key: an *rsa.PrivateKey for RS256/384/512 and PS256/384/512 (PSS with a salt as long
// as the hash, RFC 7518 3.5), an *ecdsa.PrivateKey on the matching curve for
// ES256/384/512 (r‖s, each the curve's byte length, RFC 7518 3.4), or a []byte secret
// of at least the hash's length for HS256/384/512 (RFC 7518 3.2).
func SignCompact(header, payload []byte, alg string, key any) (string, error) {
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := signInput(input, alg, key)
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// signInput signs the JWS signing input with alg and key.
func signInput(input, alg string, key any) ([]byte, error) {
	if len(alg) == 5 && alg[:2] == "HS" {
		secret, ok := key.([]byte)
		if !ok {
			return nil, newError(ErrInvalidArgument, alg+" needs a []byte secret")
		}
		return signHMAC(input, alg, secret)
	}
	switch algFamily(alg) {
	case 'R':
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, newError(ErrInvalidArgument, alg+" needs an RSA private key")
		}
		h := hashOf(alg)
		if alg[0] == 'P' {
			return rsa.SignPSS(rand.Reader, k, h, digestOf(h, input), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(rand.Reader, k, h, digestOf(h, input))
	case 'E':
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok || k.Curve != curveForAlg(alg) {
			return nil, newError(ErrInvalidArgument, alg+" needs an EC private key on "+curveName(curveForAlg(alg)))
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, digestOf(hashOf(alg), input))
		if err != nil {
			return nil, err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	}
	return nil, newError(ErrAlgNotAllowed, "cannot sign with alg "+quote(alg, 16))
}

// signHMAC computes an HS256/384/512 MAC of input with secret.
func signHMAC(input, alg string, secret []byte) ([]byte, error) {
	var h func() hash.Hash
	switch alg {
	case "HS256":
		h = sha256.New
	case "HS384":
		h = sha512.New384
	case "HS512":
		h = sha512.New
	default:
		return nil, newError(ErrAlgNotAllowed, "cannot sign with alg "+quote(alg, 16))
	}
	mac := hmac.New(h, secret)
	if mac.Size() > len(secret) {
		return nil, newError(ErrInvalidArgument, alg+" needs a secret of at least "+itoa(mac.Size())+" bytes (RFC 7518 3.2)")
	}
	mac.Write([]byte(input))
	return mac.Sum(nil), nil
}

func curveName(c elliptic.Curve) string {
	if c == nil {
		return "a supported curve"
	}
	return c.Params().Name
}

// Thumbprint returns the RFC 7638 JWK thumbprint of an RSA or EC public key: the
// base64url SHA-256 of its required members in lexicographic order, without white
// space. Providers that accept a kid for a client's key often derive it this way.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	var members map[string]string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		members = map[string]string{
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()), "kty": "RSA",
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		x := make([]byte, size)
		y := make([]byte, size)
		k.X.FillBytes(x)
		k.Y.FillBytes(y)
		members = map[string]string{
			"crv": k.Curve.Params().Name, "kty": "EC",
			"x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y),
		}
	default:
		return "", newError(ErrInvalidArgument, "a thumbprint needs an RSA or EC public key")
	}
	// encoding/json writes map keys sorted and without white space: exactly the
	// canonical form RFC 7638 section 3 asks for.
	b, err := json.Marshal(members)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
