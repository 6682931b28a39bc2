package jose

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// DefaultMaxTokenLength is the length cap ParseCompact applies when given maxLen <= 0.
const DefaultMaxTokenLength = 16384

// MaxKidLength caps the kid header parameter, in bytes.
const MaxKidLength = 256

// KidCharset is every byte a kid may contain. It covers what providers publish —
// base64 and base64url (Keycloak, Entra ID, Auth0, Cognito with "+/="), hex and UUIDs
// (Google, Okta), versioned names ("key-2024:1") and the e-mail-like kids of RFC 7520
// ("bilbo.baggins@hobbiton.example") — and leaves out whitespace, control characters,
// quotes, backslash, '%', '<', '>', '{', '}', '$', ';', '|', '&', '*', '?', '#' and all
// non-ASCII, so a kid can be compared, logged and used as a cache key without escaping
// and injection strings are refused before any lookup.
const KidCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=:@-"

// base64URLAlphabet is RFC 4648 §5 without padding; tokenAlphabet adds the separator.
const (
	base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tokenAlphabet     = base64URLAlphabet + "."
)

// b64 is strict unpadded base64url: non-zero trailing bits are refused. It still
// skips CR and LF, which is why the alphabet is checked before decoding.
var b64 = base64.RawURLEncoding.Strict()

// JWS is a parsed, not yet verified, compact JWS.
type JWS struct {
	Header       Header
	RawHeader    []byte // the decoded protected header (JSON)
	Payload      []byte // the decoded payload
	Signature    []byte // the decoded signature
	SigningInput string // BASE64URL(header) "." BASE64URL(payload), as received

	signingInput []byte // SigningInput as bytes, for hashing without another copy
}

// input returns the signing input as bytes: the copy ParseCompact made, unless the
// caller has changed SigningInput since.
func input(jws *JWS) []byte {
	if jws.signingInput != nil && string(jws.signingInput) == jws.SigningInput {
		return jws.signingInput
	}
	return []byte(jws.SigningInput)
}

// Header holds the protected header parameters Gatehouse reads. jku, x5u, jwk, x5c
// and x5t are deliberately absent: keys come from configuration and the provider's
// key set, never from the token (RFC 8725 3.10).
type Header struct {
	Alg  string   // required; never "none"
	Kid  string   // "" when absent; else 1..MaxKidLength bytes of KidCharset
	Typ  string   // "" when absent
	Cty  string   // "" when absent
	Crit []string // always empty in a parsed token: any crit is rejected
}

// jwsDefinedNames are the header parameters RFC 7515 4.1 defines; listing them in crit
// is an error (RFC 7515 4.1.11 allows recipients to treat it as one; we do).
var jwsDefinedNames = map[string]bool{
	"alg": true, "jku": true, "jwk": true, "kid": true, "x5u": true, "x5c": true,
	"x5t": true, "x5t#S256": true, "typ": true, "cty": true, "crit": true,
}

// ParseCompact parses a JWS in compact serialization (RFC 7515 7.1) without verifying
// it. In order, and before any key is looked up:
//
//   - at most maxLen bytes (DefaultMaxTokenLength when maxLen <= 0), checked before
//     anything else looks at the token;
//   - only base64url characters and '.', so padding, '+', '/', whitespace, CR and LF
//     are refused before the decoder (which skips CR and LF) sees them;
//   - exactly three non-empty segments (five is a JWE and gets ErrJWE);
//   - strict unpadded base64url in each segment;
//   - a header that is a JSON object with unique names (also ignoring case), a string
//     alg other than "none", no enc (JWE), no b64:false, no crit, and a kid (if
//     any) of 1..MaxKidLength bytes of KidCharset.
func ParseCompact(token string, maxLen int) (*JWS, error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxTokenLength
	}
	if len(token) > maxLen {
		return nil, newError(ErrTokenTooLarge, "expected at most "+itoa(maxLen)+" bytes, got "+itoa(len(token)))
	}
	if token == "" {
		return nil, newError(ErrMalformed, "expected a compact JWS, got an empty string")
	}
	if strings.Trim(token, tokenAlphabet) != "" {
		return nil, newError(ErrBase64, "expected only base64url characters and '.', got "+badCharClass(token))
	}
	dots := strings.Count(token, ".")
	if dots == 4 {
		return nil, newError(ErrJWE, "expected a JWS (3 segments), got 5 segments (a JWE)")
	}
	if dots != 2 {
		return nil, newError(ErrSegments, "expected 3 segments, got "+itoa(dots+1))
	}
	i := strings.IndexByte(token, '.')
	j := i + 1 + strings.IndexByte(token[i+1:], '.')
	if i == 0 {
		return nil, newError(ErrMalformed, "expected a header segment, got an empty one")
	}
	if j == i+1 {
		// An empty payload is a detached payload (RFC 7515 appendix F); JWTs have none.
		return nil, newError(ErrMalformed, "expected a payload segment, got an empty one")
	}
	if j == len(token)-1 {
		return nil, newError(ErrSignatureEmpty, "expected a signature segment, got an empty one (unsecured JWS)")
	}
	// One copy of the token and one buffer for the three decoded segments.
	tb := []byte(token)
	hl, pl := b64.DecodedLen(i), b64.DecodedLen(j-i-1)
	buf := make([]byte, hl+pl+b64.DecodedLen(len(token)-j-1))
	hn, err := b64.Decode(buf[:hl], tb[:i])
	if err != nil {
		return nil, newError(ErrBase64, "header: expected strict unpadded base64url, got "+err.Error())
	}
	pn, err := b64.Decode(buf[hl:hl+pl], tb[i+1:j])
	if err != nil {
		return nil, newError(ErrBase64, "payload: expected strict unpadded base64url, got "+err.Error())
	}
	sn, err := b64.Decode(buf[hl+pl:], tb[j+1:])
	if err != nil {
		return nil, newError(ErrBase64, "signature: expected strict unpadded base64url, got "+err.Error())
	}
	rawHeader := buf[:hn:hn]
	h, err := parseHeader(rawHeader)
	if err != nil {
		return nil, err
	}
	return &JWS{Header: h, RawHeader: rawHeader, Payload: buf[hl : hl+pn : hl+pn], Signature: buf[hl+pl : hl+pl+sn : hl+pl+sn],
		SigningInput: token[:j], signingInput: tb[:j:j]}, nil
}

// PreCheck is ParseCompact followed by the algorithm allow-list: every check a
// caller can make before looking up a key or fetching a key set. allowed is the
// configured list; the token's alg must be in it exactly (alg values are
// case-sensitive, RFC 7515 4.1.1).
func PreCheck(token string, maxLen int, allowed []string) (*JWS, error) {
	jws, err := ParseCompact(token, maxLen)
	if err != nil {
		return nil, err
	}
	if err := checkAllowed(jws.Header.Alg, allowed); err != nil {
		return nil, err
	}
	return jws, nil
}

// badCharClass describes the first kind of non-base64url character in s (error path
// only).
func badCharClass(s string) string {
	switch {
	case strings.ContainsAny(s, "\r\n"):
		return "CR or LF"
	case strings.ContainsAny(s, " \t\v\f"):
		return "whitespace"
	case strings.ContainsRune(s, '='):
		return "padding '='"
	case strings.ContainsAny(s, "+/"):
		return "'+' or '/' (standard base64)"
	}
	return "another character"
}

// parseHeader reads the protected header (RFC 7515 4).
func parseHeader(b []byte) (Header, error) {
	var h Header
	m, err := decodeObject(b)
	if err != nil {
		return h, prefixDetail(err, "header: ")
	}
	raw, ok := m["alg"]
	if !ok {
		return h, newError(ErrHeader, "expected an alg parameter, got none")
	}
	if h.Alg, ok = jsonString(raw); !ok || h.Alg == "" {
		return h, newError(ErrHeader, "expected alg to be a non-empty string, got "+jsonKind(raw))
	}
	if strings.EqualFold(h.Alg, "none") {
		return h, newError(ErrAlgNone, "got alg "+quote(h.Alg, 8)+" (RFC 8725 3.1)")
	}
	if _, ok := m["enc"]; ok {
		return h, newError(ErrJWE, "expected a JWS header, got an enc parameter (a JWE)")
	}
	if raw, ok := m["kid"]; ok {
		if h.Kid, ok = jsonString(raw); !ok {
			return h, newError(ErrKid, "expected kid to be a string, got "+jsonKind(raw))
		}
		if err := checkKid(h.Kid); err != nil {
			return h, err
		}
	}
	if raw, ok := m["typ"]; ok {
		if h.Typ, ok = jsonString(raw); !ok {
			return h, newError(ErrHeader, "expected typ to be a string, got "+jsonKind(raw))
		}
	}
	if raw, ok := m["cty"]; ok {
		if h.Cty, ok = jsonString(raw); !ok {
			return h, newError(ErrHeader, "expected cty to be a string, got "+jsonKind(raw))
		}
	}
	if raw, ok := m["b64"]; ok {
		// RFC 7797: b64:false means the payload is not base64url-encoded; we never
		// accept that. b64:true is the default meaning.
		if string(raw) != "true" {
			if string(raw) == "false" {
				return h, newError(ErrB64, "expected an encoded payload, got b64:false (RFC 7797)")
			}
			return h, newError(ErrHeader, "expected b64 to be a boolean, got "+jsonKind(raw))
		}
	}
	if raw, ok := m["crit"]; ok {
		return h, checkCrit(raw, m)
	}
	return h, nil
}

// checkKid applies MaxKidLength and KidCharset (a kid is only ever a map key).
func checkKid(kid string) error {
	if kid == "" {
		return newError(ErrKid, "expected 1 to "+itoa(MaxKidLength)+" bytes, got an empty kid")
	}
	if len(kid) > MaxKidLength {
		return newError(ErrKid, "expected at most "+itoa(MaxKidLength)+" bytes, got "+itoa(len(kid)))
	}
	if strings.Trim(kid, KidCharset) != "" {
		return newError(ErrKid, "expected only [A-Za-z0-9._~+/=:@-], got other characters in a "+itoa(len(kid))+"-byte kid")
	}
	return nil
}

// checkCrit handles crit (RFC 7515 4.1.11). This implementation understands no
// extension, so every well-formed crit is rejected too, with the reason the RFC gives.
func checkCrit(raw json.RawMessage, m map[string]json.RawMessage) error {
	names, ok := jsonStrings(raw)
	if !ok {
		return newError(ErrCrit, "expected crit to be an array of strings, got "+jsonKind(raw))
	}
	if len(names) == 0 {
		return newError(ErrCrit, "expected a non-empty crit list, got [] (RFC 7515 4.1.11)")
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		switch {
		case n == "":
			return newError(ErrCrit, "expected extension names, got an empty name")
		case seen[n]:
			return newError(ErrCrit, "expected unique names, got "+quote(n, 40)+" twice")
		case jwsDefinedNames[n]:
			return newError(ErrCrit, "expected extension names, got "+quote(n, 40)+", defined by RFC 7515")
		}
		seen[n] = true
		if _, present := m[n]; !present {
			return newError(ErrCrit, "expected "+quote(n, 40)+" to be present as crit lists it, got it absent")
		}
	}
	return newError(ErrCrit, "expected no critical extensions, got "+quote(names[0], 40)+", which is not understood")
}

// prefixDetail returns err with prefix added to its detail.
func prefixDetail(err error, prefix string) error {
	if e, ok := err.(*Error); ok {
		return &Error{Kind: e.Kind, Detail: prefix + e.Detail}
	}
	return err
}
