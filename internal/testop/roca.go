package testop

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"sync"
)

// A key with the ROCA fingerprint (CVE-2017-15361), made the way Infineon's RSALib
// made them: each prime is p = k·M + (65537^a mod M), M the product of the first
// 126 primes (the primorial RSALib used for 2048-bit keys; Nemec et al., ACM CCS
// 2017, table 1), k and a random. The key signs like any other; a relying party
// that checks the fingerprint refuses it. Generating the primes takes a fraction of a
// second, so one key serves the whole process (it is refused by design, so sharing
// it between providers cannot make one accept another's tokens).

var (
	rocaOnce sync.Once
	rocaKey  *rsa.PrivateKey
	rocaErr  error
)

// ROCAKey returns the process's RSA-2048 key with the ROCA structure.
func ROCAKey() (*rsa.PrivateKey, error) {
	rocaOnce.Do(func() { rocaKey, rocaErr = newROCAKey() })
	return rocaKey, rocaErr
}

func newROCAKey() (*rsa.PrivateKey, error) {
	m := big.NewInt(1)
	for p, n := int64(2), 0; n < 126; p++ {
		if big.NewInt(p).ProbablyPrime(1) {
			m.Mul(m, big.NewInt(p))
			n++
		}
	}
	for tries := 0; tries < 100; tries++ {
		p, err := rocaPrime(m)
		if err != nil {
			return nil, err
		}
		q, err := rocaPrime(m)
		if err != nil {
			return nil, err
		}
		e := big.NewInt(65537)
		one := big.NewInt(1)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil || p.Cmp(q) == 0 {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537}, D: d, Primes: []*big.Int{p, q}}
		if k.N.BitLen() != 2048 || k.Validate() != nil {
			continue
		}
		k.Precompute()
		return k, nil
	}
	return nil, errors.New("testop: no ROCA-structured key in 100 tries")
}

// rocaPrime returns a 1024-bit prime k·m + (65537^a mod m) whose top two bits are
// set (so that the product of two is 2048 bits).
func rocaPrime(m *big.Int) (*big.Int, error) {
	g := big.NewInt(65537)
	lo := new(big.Int).Lsh(big.NewInt(3), 1022) // 0b11 << 1022
	for {
		a, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
		if err != nil {
			return nil, err
		}
		k, err := rand.Int(rand.Reader, new(big.Int).Div(new(big.Int).Lsh(big.NewInt(1), 1024), m))
		if err != nil {
			return nil, err
		}
		p := new(big.Int).Mul(k, m)
		p.Add(p, new(big.Int).Exp(g, a, m))
		if p.BitLen() == 1024 && p.Cmp(lo) >= 0 && p.ProbablyPrime(20) {
			return p, nil
		}
	}
}

// UseROCAKey makes a key with the ROCA fingerprint (ROCAKey) the current RS256 key:
// it signs RS256 tokens from now on and is published, and the key it replaces stays
// published as retired. It returns the new key's kid.
func (p *Provider) UseROCAKey() (string, error) {
	priv, err := ROCAKey()
	if err != nil {
		return "", err
	}
	k := &signingKey{alg: "RS256", priv: priv, kid: thumbprint(priv.Public())}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.keys.current["RS256"]; old != nil {
		old.retiredAt = p.now()
		p.keys.retired = append([]*signingKey{old}, p.keys.retired...)
	}
	p.keys.current["RS256"] = k
	return k.kid, nil
}
