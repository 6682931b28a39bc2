// Package josetest holds internal/jose's test material as data and runners: the RFC
// 7515 appendix A, RFC 7520 section 4 and RFC 8037 A.4 vectors, the attack catalogue
// of docs/SECURITY.md, claims and key cases, and the remote key-set scenarios. The same
// code runs compiled (internal/jose's tests) and under Yaegi (internal/yaegihost),
// and each runner returns one line per case so the two runs can be compared line by
// line. Plugin code never imports it.
package josetest

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
)

var b64 = base64.RawURLEncoding

// The example keys of the RFCs, private parts included (they are public test keys).
const (
	// RFC 7515 A.2.1: RSA 2048.
	rfc7515RSA = `{"kty":"RSA",
"n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
"e":"AQAB",
"d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
"p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
"q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"}`

	// RFC 7515 A.3.1: EC P-256.
	rfc7515P256 = `{"kty":"EC","crv":"P-256",
"x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
"y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
"d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}`

	// RFC 7515 A.4.1: EC P-521.
	rfc7515P521 = `{"kty":"EC","crv":"P-521",
"x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
"y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2",
"d":"AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C"}`

	// RFC 7515 A.1.1: the HMAC key.
	rfc7515HMAC = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"

	// RFC 8037 A.1: Ed25519.
	rfc8037Ed25519 = `{"kty":"OKP","crv":"Ed25519",
"d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`

	// RFC 7520 3.2: EC P-521.
	rfc7520P521 = `{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521",
"x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
"y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
"d":"AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt"}`

	// RFC 7520 3.4: RSA 2048.
	rfc7520RSA = `{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig",
"n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
"e":"AQAB",
"d":"bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ",
"p":"3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k",
"q":"uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc"}`

	// RFC 7520 3.5: the HMAC key.
	rfc7520HMAC = "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"
)

// Keys is a set of signing keys and their public JWKs (kid set per key).
type Keys struct {
	RSA     *rsa.PrivateKey   // RFC 7515 A.2, kid "rsa-1"
	P256    *ecdsa.PrivateKey // RFC 7515 A.3, kid "ec-256"
	P384    *ecdsa.PrivateKey // fixed scalar, kid "ec-384"
	P521    *ecdsa.PrivateKey // RFC 7515 A.4, kid "ec-521"
	Ed25519 ed25519.PrivateKey
	// The "attacker": the RFC 7520 keys, not in the issuer's key set.
	AttackerRSA  *rsa.PrivateKey
	AttackerP521 *ecdsa.PrivateKey
}

// NewKeys builds the fixed test keys.
func NewKeys() *Keys {
	return &Keys{
		RSA:          rsaKey(rfc7515RSA),
		P256:         ecKey(rfc7515P256),
		P384:         p384Key(),
		P521:         ecKey(rfc7515P521),
		Ed25519:      ed25519.NewKeyFromSeed(mustB64(jwkMember(rfc8037Ed25519, "d"))),
		AttackerRSA:  rsaKey(rfc7520RSA),
		AttackerP521: ecKey(rfc7520P521),
	}
}

// IssuerJWKS is the issuer's key set: one key of each type, each with a kid.
func (k *Keys) IssuerJWKS() string {
	return JWKSOf(
		RSAJWK(&k.RSA.PublicKey, "rsa-1", ""),
		ECJWK(&k.P256.PublicKey, "ec-256", ""),
		ECJWK(&k.P384.PublicKey, "ec-384", ""),
		ECJWK(&k.P521.PublicKey, "ec-521", ""),
		EdJWK(k.Ed25519.Public().(ed25519.PublicKey), "ed-1", ""),
	)
}

// JWKSOf joins JWKs into a JWK Set document.
func JWKSOf(jwks ...string) string {
	return `{"keys":[` + strings.Join(jwks, ",") + `]}`
}

// RSAJWK is the public JWK of pub; kid and alg are left out when "".
func RSAJWK(pub *rsa.PublicKey, kid, alg string) string {
	return jwkJSON(kid, alg, `"kty":"RSA","n":"`+b64.EncodeToString(pub.N.Bytes())+`","e":"`+b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())+`"`)
}

// ECJWK is the public JWK of pub with full-length coordinates.
func ECJWK(pub *ecdsa.PublicKey, kid, alg string) string {
	size := (pub.Curve.Params().BitSize + 7) / 8
	return jwkJSON(kid, alg, `"kty":"EC","crv":"`+pub.Curve.Params().Name+`","x":"`+b64.EncodeToString(pub.X.FillBytes(make([]byte, size)))+`","y":"`+b64.EncodeToString(pub.Y.FillBytes(make([]byte, size)))+`"`)
}

// EdJWK is the public JWK of an Ed25519 key.
func EdJWK(pub ed25519.PublicKey, kid, alg string) string {
	return jwkJSON(kid, alg, `"kty":"OKP","crv":"Ed25519","x":"`+b64.EncodeToString(pub)+`"`)
}

func jwkJSON(kid, alg, members string) string {
	s := "{" + members
	if kid != "" {
		s += `,"kid":"` + kid + `"`
	}
	if alg != "" {
		s += `,"alg":"` + alg + `"`
	}
	return s + "}"
}

// Sign returns a compact JWS of the header and payload JSON texts exactly as given
// (so duplicate names survive), signed with key for alg: *rsa.PrivateKey (RS*, PS*),
// *ecdsa.PrivateKey (ES*, r‖s), ed25519.PrivateKey (EdDSA) or []byte (HS*).
func Sign(alg string, key interface{}, header, payload string) string {
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	return input + "." + b64.EncodeToString(SignBytes(alg, key, input))
}

// SignDigest is the hash of a signing input for alg's hash size.
func SignDigest(alg, input string) []byte {
	switch alg[len(alg)-3:] {
	case "384":
		d := sha512.Sum384([]byte(input))
		return d[:]
	case "512":
		d := sha512.Sum512([]byte(input))
		return d[:]
	}
	d := sha256.Sum256([]byte(input))
	return d[:]
}

// SignBytes signs a signing input.
func SignBytes(alg string, key interface{}, input string) []byte {
	var digest []byte
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		d := sha256.Sum256([]byte(input))
		digest, h = d[:], crypto.SHA256
	case "384":
		d := sha512.Sum384([]byte(input))
		digest, h = d[:], crypto.SHA384
	case "512":
		d := sha512.Sum512([]byte(input))
		digest, h = d[:], crypto.SHA512
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		var sig []byte
		var err error
		if alg[0] == 'P' {
			sig, err = rsa.SignPSS(rand.Reader, k, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, h, digest)
		}
		if err != nil {
			panic(err)
		}
		return sig
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			panic(err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	case ed25519.PrivateKey:
		return ed25519.Sign(k, []byte(input))
	case []byte:
		var m []byte
		switch alg {
		case "HS256":
			mac := hmac.New(sha256.New, k)
			mac.Write([]byte(input))
			m = mac.Sum(nil)
		case "HS384":
			mac := hmac.New(sha512.New384, k)
			mac.Write([]byte(input))
			m = mac.Sum(nil)
		default:
			mac := hmac.New(sha512.New, k)
			mac.Write([]byte(input))
			m = mac.Sum(nil)
		}
		return m
	}
	panic("josetest: unsupported key type")
}

func rsaKey(jwk string) *rsa.PrivateKey {
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: mustInt(jwkMember(jwk, "n")), E: int(mustInt(jwkMember(jwk, "e")).Int64())},
		D:         mustInt(jwkMember(jwk, "d")),
		Primes:    []*big.Int{mustInt(jwkMember(jwk, "p")), mustInt(jwkMember(jwk, "q"))},
	}
	k.Precompute()
	if err := k.Validate(); err != nil {
		panic(err)
	}
	return k
}

func ecKey(jwk string) *ecdsa.PrivateKey {
	var curve elliptic.Curve
	switch jwkMember(jwk, "crv") {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	default:
		curve = elliptic.P521()
	}
	return &ecdsa.PrivateKey{
		PublicKey: ecdsa.PublicKey{Curve: curve, X: mustInt(jwkMember(jwk, "x")), Y: mustInt(jwkMember(jwk, "y"))},
		D:         mustInt(jwkMember(jwk, "d")),
	}
}

// p384Key derives a P-384 key from a fixed scalar (no RFC gives one).
func p384Key() *ecdsa.PrivateKey {
	d := sha512.Sum384([]byte("gatehouse josetest P-384 issuer key"))
	priv, err := ecdh.P384().NewPrivateKey(d[:])
	if err != nil {
		panic(err)
	}
	pt := priv.PublicKey().Bytes() // 0x04 ‖ x ‖ y
	return &ecdsa.PrivateKey{
		PublicKey: ecdsa.PublicKey{Curve: elliptic.P384(), X: new(big.Int).SetBytes(pt[1:49]), Y: new(big.Int).SetBytes(pt[49:])},
		D:         new(big.Int).SetBytes(d[:]),
	}
}

func jwkMember(jwk, name string) string {
	var m map[string]string
	if err := json.Unmarshal([]byte(jwk), &m); err != nil {
		panic(err)
	}
	return m[name]
}

func mustB64(s string) []byte {
	b, err := b64.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func mustInt(s string) *big.Int { return new(big.Int).SetBytes(mustB64(s)) }
