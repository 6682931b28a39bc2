package session

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Purposes a Sealer can be made for. Each purpose derives its own AES key from the
// configured key material, so a value sealed for one purpose never opens as another.
const (
	PurposeSession = "session" // the session cookie
	PurposeLogin   = "login"   // login-transaction cookies
	PurposeCache   = "cache"   // values sealed before they reach the shared cache (Redis)
)

// Format constants of a sealed value (see the package documentation).
const (
	formatV1          byte = 1
	keyIDLen               = 4
	instanceLen            = 4
	nonceLen               = 12 // 96-bit GCM nonce, NIST SP 800-38D section 8.2.2
	tagLen                 = 16
	headerLen              = 1 + keyIDLen + instanceLen + nonceLen
	minSealedRaw           = headerLen + tagLen
	minSealedText          = (minSealedRaw*4 + 2) / 3
	minKeyMaterial         = 32
	hkdfSalt               = "gatehouse seal v1"
	keyIDInfo              = "gatehouse key id"
	instanceTagInfo        = "gatehouse instance"
	encryptionKeyInfo      = "gatehouse aes-256-gcm "
	logIDInfo              = "gatehouse log identifiers"
)

// Errors returned when a sealed value cannot be opened. They are distinct values made
// with errors.New: compare with ==, never with errors.Is (which panics under Yaegi
// for interpreted error values).
var (
	// ErrMalformed: not a sealed value of a known format (bad base64url, unknown
	// version, too short, inconsistent chunks, undecodable content).
	ErrMalformed = errors.New("session: malformed sealed value")
	// ErrTooLarge: the value is longer than this purpose allows; it was not decoded.
	ErrTooLarge = errors.New("session: sealed value too large")
	// ErrUnknownKey: sealed with a key that is not (or no longer) configured.
	ErrUnknownKey = errors.New("session: sealed with an unknown key")
	// ErrWrongInstance: sealed by another middleware instance with the same keys.
	ErrWrongInstance = errors.New("session: sealed for another middleware instance")
	// ErrTampered: the authentication tag does not verify: the value was altered, or
	// sealed for another purpose.
	ErrTampered = errors.New("session: sealed value failed authentication")
)

// Sealer seals and opens values for one purpose and one middleware instance with
// AES-256-GCM. The first key seals; every key opens. It is safe for concurrent use
// and holds no mutable state.
type Sealer struct {
	purpose string
	maxText int
	keys    []sealKey
	enc     *base64.Encoding
	// sharedID is set when two keys have the same id (a 1 in 2^32 chance, or the
	// same key listed twice): Open then has to try several keys.
	sharedID bool
}

// sealKey is one configured key, ready for one purpose and instance.
type sealKey struct {
	id   []byte // keyIDLen bytes, derived from the key material (not secret-revealing)
	inst []byte // instanceLen bytes, derived from the key material and the binding
	aead cipher.AEAD
	ad   []byte // GCM additional data: version | id | inst | SHA-256(binding)
}

// InstanceBinding joins what identifies one middleware instance into the string a
// Sealer binds into every value it seals. Each part is length-prefixed so that no two
// different tuples give the same binding. Every replica of one middleware computes
// the same binding; two middleware instances never do.
func InstanceBinding(middlewareName, issuer, clientID, cookieName string) string {
	var b strings.Builder
	for _, part := range []string{middlewareName, issuer, clientID, cookieName} {
		b.WriteString(strconv.Itoa(len(part)))
		b.WriteByte(':')
		b.WriteString(part)
		b.WriteByte(';')
	}
	return b.String()
}

// NewSealer derives this purpose's keys from each entry of keys (raw key material of
// at least 32 bytes; the first seals, all open) and binds binding (see
// InstanceBinding) into every value. Open refuses texts longer than maxText before
// decoding them.
func NewSealer(keys [][]byte, purpose, binding string, maxText int) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("session: at least one key is required, got none")
	}
	if purpose == "" {
		return nil, errors.New("session: a sealing purpose is required, got an empty one")
	}
	if maxText < minSealedText {
		return nil, errors.New("session: maxText must be at least " + strconv.Itoa(minSealedText) + ", got " + strconv.Itoa(maxText))
	}
	bindingHash := sha256.Sum256([]byte(binding))
	s := &Sealer{purpose: purpose, maxText: maxText, enc: base64.RawURLEncoding.Strict()}
	for i, material := range keys {
		if len(material) < minKeyMaterial {
			return nil, errors.New("session: key " + strconv.Itoa(i) + " must be at least 32 bytes, got " + strconv.Itoa(len(material)))
		}
		prk := hkdfExtract([]byte(hkdfSalt), material)
		k := sealKey{
			id:   hkdfExpand(prk, []byte(keyIDInfo))[:keyIDLen],
			inst: hkdfExpand(prk, []byte(instanceTagInfo+"\x00"+binding))[:instanceLen],
		}
		block, err := aes.NewCipher(hkdfExpand(prk, []byte(encryptionKeyInfo+purpose)))
		if err != nil {
			return nil, err
		}
		if k.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
		k.ad = make([]byte, 0, 1+keyIDLen+instanceLen+len(bindingHash))
		k.ad = append(k.ad, formatV1)
		k.ad = append(k.ad, k.id...)
		k.ad = append(k.ad, k.inst...)
		k.ad = append(k.ad, bindingHash[:]...)
		for j := range s.keys {
			if bytes.Equal(s.keys[j].id, k.id) {
				s.sharedID = true
			}
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// MaxText returns the longest sealed text s opens.
func MaxText(s *Sealer) int { return s.maxText }

// SealedLen returns the length of the text Seal produces for n bytes of plaintext.
func SealedLen(n int) int { return ((headerLen+n+tagLen)*4 + 2) / 3 }

// Seal encrypts and authenticates plaintext with the first key and returns unpadded
// base64url text, safe in a cookie value. The nonce is 96 random bits from
// crypto/rand.
func Seal(s *Sealer, plaintext []byte) (string, error) {
	if SealedLen(len(plaintext)) > s.maxText {
		return "", ErrTooLarge
	}
	k := &s.keys[0]
	buf := make([]byte, headerLen, headerLen+len(plaintext)+tagLen)
	buf[0] = formatV1
	copy(buf[1:], k.id)
	copy(buf[1+keyIDLen:], k.inst)
	if _, err := rand.Read(buf[1+keyIDLen+instanceLen : headerLen]); err != nil {
		return "", errors.New("session: reading random nonce: " + err.Error())
	}
	buf = k.aead.Seal(buf, buf[1+keyIDLen+instanceLen:headerLen], plaintext, k.ad)
	return s.enc.EncodeToString(buf), nil
}

// Open authenticates and decrypts a value made by Seal with any of s's keys, for the
// same purpose and instance binding. Texts longer than s allows are refused before
// decoding; base64url is decoded strictly (no padding, no stray bits, no CR/LF).
func Open(s *Sealer, text string) ([]byte, error) {
	if len(text) > s.maxText {
		return nil, ErrTooLarge
	}
	// Go's base64 decoder skips CR and LF even in strict mode; a sealed value never
	// contains them, so their presence is an alteration.
	if len(text) < minSealedText || strings.ContainsAny(text, "\r\n") {
		return nil, ErrMalformed
	}
	raw, err := s.enc.DecodeString(text)
	if err != nil || raw[0] != formatV1 {
		return nil, ErrMalformed
	}
	id := raw[1 : 1+keyIDLen]
	inst := raw[1+keyIDLen : 1+keyIDLen+instanceLen]
	nonce := raw[1+keyIDLen+instanceLen : headerLen]
	result := ErrUnknownKey
	for i := range s.keys {
		k := &s.keys[i]
		if !bytes.Equal(id, k.id) {
			continue
		}
		if !bytes.Equal(inst, k.inst) {
			result = ErrWrongInstance
			continue
		}
		// When keys share an id, every candidate is tried on a copy: a failed
		// in-place Open overwrites its output, which is the ciphertext.
		ct := raw[headerLen:]
		if s.sharedID {
			ct = append([]byte(nil), ct...)
		}
		pt, err := k.aead.Open(ct[:0], nonce, ct, k.ad)
		if err == nil {
			return pt, nil
		}
		result = ErrTampered
	}
	return nil, result
}

// RandomString returns n random bytes from crypto/rand as unpadded base64url text.
func RandomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("session: reading random bytes: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// LogIDKey derives the key of the log's identifier hashes (logging.NewKeyed) from the
// first session key and the instance binding, by HKDF like every other key here:
// every replica of one middleware derives the same key, so its log lines name a user
// or a client address with the same hash; two middlewares, or one whose first session
// key changed, derive unrelated keys. Nobody without the session key can reverse a
// hash by hashing candidates.
func LogIDKey(keys [][]byte, binding string) []byte {
	if len(keys) == 0 {
		return nil
	}
	return hkdfExpand(hkdfExtract([]byte(hkdfSalt), keys[0]), []byte(logIDInfo+"\x00"+binding))
}

// hkdfExtract is HKDF-Extract with SHA-256 (RFC 5869 section 2.2).
func hkdfExtract(salt, ikm []byte) []byte {
	h := hmac.New(sha256.New, salt)
	h.Write(ikm)
	return h.Sum(nil)
}

// hkdfExpand is HKDF-Expand with SHA-256 for one 32-byte block (RFC 5869 section
// 2.3: T(1) = HMAC(PRK, info | 0x01)).
func hkdfExpand(prk, info []byte) []byte {
	h := hmac.New(sha256.New, prk)
	h.Write(info)
	h.Write([]byte{1})
	return h.Sum(nil)
}
