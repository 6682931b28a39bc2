package testop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// keyFamilies are the key kinds the provider holds, named by the alg their JWK
// advertises. RS256 and PS256 keys are distinct RSA 2048-bit keys, so a JWK's alg is
// always true; RS384/RS512 and PS384/PS512 signatures (wrong-alg tests) use those keys.
var keyFamilies = [...]string{"RS256", "PS256", "ES256", "EdDSA"}

// familyOf maps a signing alg to the key family that can produce it.
func familyOf(alg string) string {
	switch alg {
	case "RS256", "RS384", "RS512":
		return "RS256"
	case "PS256", "PS384", "PS512":
		return "PS256"
	case "ES256":
		return "ES256"
	case "EdDSA":
		return "EdDSA"
	}
	return ""
}

// signingKey is one private key with its RFC 7638 thumbprint as kid.
type signingKey struct {
	kid       string
	alg       string // the family, which is also the JWK's alg
	priv      crypto.Signer
	retiredAt time.Time // zero while current
}

func generateKey(alg string) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		if k := pooledRSAKey(); k != nil {
			priv = k
		} else {
			priv, err = rsa.GenerateKey(rand.Reader, 2048)
		}
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("testop: no key family for alg %q", alg)
	}
	if err != nil {
		return nil, err
	}
	k := &signingKey{alg: alg, priv: priv}
	k.kid = thumbprint(priv.Public())
	return k, nil
}

// generateKeys makes one key per alg, in parallel (RSA generation dominates New).
func generateKeys(algs []string) ([]*signingKey, error) {
	out := make([]*signingKey, len(algs))
	errs := make([]error, len(algs))
	var wg sync.WaitGroup
	for i, alg := range algs {
		wg.Add(1)
		go func(i int, alg string) {
			defer wg.Done()
			out[i], errs[i] = generateKey(alg)
		}(i, alg)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// publicJWK renders the public half as a JWK (RFC 7517/7518 section 6, RFC 8037).
func (k *signingKey) publicJWK() map[string]any {
	m := publicMembers(k.priv.Public())
	m["kid"] = k.kid
	m["use"] = "sig"
	m["alg"] = k.alg
	return m
}

// publicMembers are the required members of a public JWK, which RFC 7638 hashes.
func publicMembers(pub crypto.PublicKey) map[string]any {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "n": b64(p.N.Bytes()), "e": b64(big.NewInt(int64(p.E)).Bytes())}
	case *ecdsa.PublicKey:
		x := make([]byte, 32)
		y := make([]byte, 32)
		p.X.FillBytes(x)
		p.Y.FillBytes(y)
		return map[string]any{"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(p)}
	}
	return map[string]any{}
}

// thumbprint is the RFC 7638 JWK thumbprint: SHA-256 over the required members in
// lexicographic order without whitespace (json.Marshal sorts map keys).
func thumbprint(pub crypto.PublicKey) string {
	b, _ := json.Marshal(publicMembers(pub))
	sum := sha256.Sum256(b)
	return b64(sum[:])
}

// keyring is the provider's keys; the Provider's mutex guards it.
type keyring struct {
	current map[string]*signingKey // family → key signing now, published
	retired []*signingKey          // published, newest first, until dropped
	next    map[string]*signingKey // family → generated but not yet published
}

// find returns the key with kid among current, retired and next keys.
func (kr *keyring) find(kid string) *signingKey {
	for _, k := range kr.current {
		if k.kid == kid {
			return k
		}
	}
	for _, k := range kr.retired {
		if k.kid == kid {
			return k
		}
	}
	for _, k := range kr.next {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

// published lists the keys the JWKS shows: current keys in family order, then
// retired keys newer than ttl (all when ttl is 0).
func (kr *keyring) published(now time.Time, ttl time.Duration) []*signingKey {
	var out []*signingKey
	for _, f := range keyFamilies {
		if k := kr.current[f]; k != nil {
			out = append(out, k)
		}
	}
	for _, k := range kr.retired {
		if ttl > 0 && now.Sub(k.retiredAt) > ttl {
			continue
		}
		out = append(out, k)
	}
	return out
}

// publicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block.
func publicKeyPEM(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
