// Keys: keyspace names and classes, the Redis key of a digest, the L1 key of a
// Redis key, TTL bounds.

package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

func classFlags(c Class) uint8 {
	switch c {
	case Revocation:
		return flagRevocation
	case Local:
		return flagLocal
	}
	return 0
}

// clampTTL applies the keyspace's TTL rules.
func clampTTL(ks *Keyspace, ttl time.Duration) (time.Duration, bool) {
	if ttl <= 0 {
		if ks.MaxTTL <= 0 {
			return 0, false
		}
		return ks.MaxTTL, true
	}
	if ks.MaxTTL > 0 && ttl > ks.MaxTTL {
		ttl = ks.MaxTTL
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond // Redis's PX resolution
	}
	return ttl, true
}

// nameChars are the characters of a keyspace name: printable ASCII without space and
// braces (a {hash tag} is the store's to add, for Cluster).
const nameChars = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz|~"

// validKeyspace checks a keyspace once it leaves the fast path. (strings.Trim with
// the allowed characters as cutset checks every byte in compiled code.)
func validKeyspace(ks *Keyspace) bool {
	return ks != nil && ks.Name != "" && len(ks.Name) <= 64 && ks.Class >= Revocation && ks.Class <= Local &&
		strings.Trim(ks.Name, nameChars) == ""
}

// noteKeyspace records a keyspace's class by name, so that an invalidation message
// (which carries only the Redis key) can tell whether it concerns revocations.
func noteKeyspace(s *store, ks *Keyspace) {
	s.ksMu.Lock()
	if old, ok := s.classes[ks.Name]; !ok || (old != Revocation && ks.Class == Revocation) {
		s.classes[ks.Name] = ks.Class
	}
	s.ksMu.Unlock()
}

// classOf returns the class recorded for a keyspace name.
func classOf(s *store, name string) (Class, bool) {
	s.ksMu.Lock()
	c, ok := s.classes[name]
	s.ksMu.Unlock()
	return c, ok
}

// redisKey is the Redis key of a digest in ks: KeyPrefix + Name + ":" + hex, with
// RevocationTag after KeyPrefix for a Revocation keyspace in cluster mode.
func redisKey(s *store, ks *Keyspace, sum []byte) string {
	if ks.Class == Revocation {
		return s.revPrefix + ks.Name + ":" + hex.EncodeToString(sum)
	}
	return s.prefix + ks.Name + ":" + hex.EncodeToString(sum)
}

// l1KeyOf maps a Redis key back to its L1 key: prefix + name + ":" + hex(sum) (with
// the revocation tag after the prefix in cluster mode) becomes name + ":" + sum. ok
// is false for keys that are not ours.
func l1KeyOf(s *store, rk string) (string, string, bool) {
	if !strings.HasPrefix(rk, s.prefix) {
		return "", "", false
	}
	rest := rk[len(s.prefix):]
	if len(s.revPrefix) > len(s.prefix) && strings.HasPrefix(rest, RevocationTag) {
		rest = rest[len(RevocationTag):]
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 || len(rest)-i-1 != 2*sha256.Size {
		return "", "", false
	}
	raw, err := hex.DecodeString(rest[i+1:])
	if err != nil {
		return "", "", false
	}
	return rest[:i] + ":" + string(raw), rest[:i], true
}

func hexString(s string) string { return hex.EncodeToString([]byte(s)) }
