package jose

import (
	"context"
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
	// Under Yaegi a call allocates a slot for every temporary of the function, error
	// branches included, so error details are built by the err* functions below and
	// this function keeps only what a valid token needs.
	if maxLen <= 0 {
		maxLen = DefaultMaxTokenLength
	}
	if len(token) > maxLen || token == "" || strings.Trim(token, tokenAlphabet) != "" {
		return nil, errCompact(token, maxLen)
	}
	parts := strings.SplitN(token, ".", 6)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, errSegments(token, parts)
	}
	header, err1 := b64.DecodeString(parts[0])
	payload, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errSegmentBase64(err1, err2, err3)
	}
	jws := &JWS{RawHeader: header, Payload: payload, Signature: sig, SigningInput: token[:len(parts[0])+1+len(parts[1])]}
	// parseHeader fills jws.Header in place: under Yaegi returning a struct by value
	// is costly.
	if err := parseHeader(header, &jws.Header); err != nil {
		return nil, err
	}
	return jws, nil
}

// errCompact says why a token failed the size or alphabet check, in that order.
func errCompact(token string, maxLen int) error {
	if len(token) > maxLen {
		return newError(ErrTokenTooLarge, "expected at most "+itoa(maxLen)+" bytes, got "+itoa(len(token)))
	}
	if token == "" {
		return newError(ErrMalformed, "expected a compact JWS, got an empty string")
	}
	return newError(ErrBase64, "expected only base64url characters and '.', got "+badCharClass(token))
}

// errSegments says why the segments are wrong.
func errSegments(token string, parts []string) error {
	switch {
	case len(parts) == 5:
		return newError(ErrJWE, "expected a JWS (3 segments), got 5 segments (a JWE)")
	case len(parts) != 3:
		return newError(ErrSegments, "expected 3 segments, got "+itoa(strings.Count(token, ".")+1))
	case parts[0] == "":
		return newError(ErrMalformed, "expected a header segment, got an empty one")
	case parts[1] == "":
		// An empty payload is a detached payload (RFC 7515 appendix F); JWTs have none.
		return newError(ErrMalformed, "expected a payload segment, got an empty one")
	}
	return newError(ErrSignatureEmpty, "expected a signature segment, got an empty one (unsecured JWS)")
}

// errSegmentBase64 reports the first segment that is not strict base64url.
func errSegmentBase64(header, payload, sig error) error {
	if header != nil {
		return newError(ErrBase64, "header: expected strict unpadded base64url, got "+header.Error())
	}
	if payload != nil {
		return newError(ErrBase64, "payload: expected strict unpadded base64url, got "+payload.Error())
	}
	return newError(ErrBase64, "signature: expected strict unpadded base64url, got "+sig.Error())
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

// headerFields receives the header parameters Gatehouse reads, in one json.Unmarshal
// (under Yaegi one compiled call is far cheaper than a getter call per parameter).
// encoding/json matches names ignoring case; parseHeader only trusts a field whose
// exact name decodeObject found.
type headerFields struct {
	Alg *string `json:"alg"`
	Kid *string `json:"kid"`
	Typ *string `json:"typ"`
	Cty *string `json:"cty"`
}

// parseHeader reads the protected header (RFC 7515 4) into h.
func parseHeader(b []byte, h *Header) error {
	m, err := decodeObject(b)
	if err != nil {
		return prefixDetail(err, "header: ")
	}
	var f headerFields
	if err := json.Unmarshal(b, &f); err != nil {
		return errHeaderTypes(err)
	}
	// decodeObject refused names that fold together, so each field was filled by at
	// most one member: its exact name when m has it, else a case variant, which is an
	// unknown parameter and ignored. (A case variant of these four names with a
	// non-string value fails the Unmarshal above: stricter than needed, never looser.)
	_, ok := m["alg"]
	if !ok || f.Alg == nil || *f.Alg == "" || strings.EqualFold(*f.Alg, "none") {
		return errHeaderAlg(m, f.Alg)
	}
	h.Alg = *f.Alg
	if _, ok := m["kid"]; ok {
		if f.Kid == nil || !kidOK(*f.Kid) {
			return errKid(f.Kid)
		}
		h.Kid = *f.Kid
	}
	if _, ok := m["typ"]; ok {
		if f.Typ == nil {
			return newError(ErrHeader, "expected typ to be a string, got null")
		}
		h.Typ = *f.Typ
	}
	if _, ok := m["cty"]; ok {
		if f.Cty == nil {
			return newError(ErrHeader, "expected cty to be a string, got null")
		}
		h.Cty = *f.Cty
	}
	// enc (a JWE), b64 (RFC 7797) and crit (RFC 7515 4.1.11) are rare: one look for
	// all three.
	_, hasEnc := m["enc"]
	_, hasB64 := m["b64"]
	_, hasCrit := m["crit"]
	if hasEnc || hasB64 || hasCrit {
		return checkRareParams(m)
	}
	return nil
}

// errHeaderTypes explains a json.Unmarshal failure of the header fields.
func errHeaderTypes(err error) error {
	te, ok := err.(*json.UnmarshalTypeError)
	if !ok {
		return newError(ErrHeader, "expected a JSON object, got "+err.Error())
	}
	if te.Field == "kid" {
		return newError(ErrKid, "expected kid to be a string, got a JSON "+te.Value)
	}
	return newError(ErrHeader, "expected "+quote(te.Field, 16)+" to be a string, got a JSON "+te.Value)
}

// errHeaderAlg explains a missing, empty or "none" alg.
func errHeaderAlg(m map[string]json.RawMessage, alg *string) error {
	if _, ok := m["alg"]; !ok || alg == nil || *alg == "" {
		return newError(ErrHeader, "expected alg to be a non-empty string, got "+memberKind(m, "alg"))
	}
	return newError(ErrAlgNone, "got alg "+quote(*alg, 8)+" (RFC 8725 3.1)")
}

// checkRareParams refuses enc (a JWE), b64:false (RFC 7797) and any crit.
func checkRareParams(m map[string]json.RawMessage) error {
	if _, ok := m["enc"]; ok {
		return newError(ErrJWE, "expected a JWS header, got an enc parameter (a JWE)")
	}
	if raw, ok := m["b64"]; ok {
		// b64:false means the payload is not base64url-encoded; we never accept that.
		// b64:true is the default meaning.
		if string(raw) == "false" {
			return newError(ErrB64, "expected an encoded payload, got b64:false (RFC 7797)")
		}
		if string(raw) != "true" {
			return newError(ErrHeader, "expected b64 to be a boolean, got "+jsonKind(raw))
		}
	}
	if raw, ok := m["crit"]; ok {
		return checkCrit(raw, m)
	}
	return nil
}

// kidOK reports whether kid is 1..MaxKidLength bytes of KidCharset.
func kidOK(kid string) bool {
	return kid != "" && len(kid) <= MaxKidLength && strings.Trim(kid, KidCharset) == ""
}

// errKid explains why kid (nil: JSON null) failed kidOK.
func errKid(kid *string) error {
	if kid == nil {
		return newError(ErrKid, "expected kid to be a string, got null")
	}
	return checkKid(*kid)
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
	if err == context.DeadlineExceeded { // see KindOf
		return err
	}
	if e, ok := err.(*Error); ok {
		return &Error{Kind: e.Kind, Detail: prefix + e.Detail}
	}
	return err
}
