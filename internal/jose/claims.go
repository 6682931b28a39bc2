package jose

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Claims is a decoded JWT claims set (RFC 7519 4): member names, matched exactly, to
// their raw JSON values. Read it with the *Claim functions (plain functions: the
// cheap form under Yaegi) or the equivalent methods.
type Claims map[string]json.RawMessage

// maxNumericDate is 9999-12-31T23:59:59Z: later dates only come from overflow games.
const maxNumericDate = 253402300799

// DecodeClaims decodes a JWT payload strictly: it must be one UTF-8 JSON object
// whose member names are unique, also when compared ignoring case
// ({"sub":"a","SUB":"b"}, "ſub", "\u0073ub" are all duplicates of "sub").
//
// Case-variant duplicates are rejected for every name, not only the registered ones:
// which claims matter is configurable (groups, roles, header templates), any of them
// may be read by a case-insensitive JSON reader downstream, and no provider sends two
// claims that differ only in case. Nested objects are checked the same way when read
// with ObjectClaim.
func DecodeClaims(payload []byte) (Claims, error) {
	m, err := decodeObject(payload)
	if err != nil {
		return nil, prefixDetail(err, "claims: ")
	}
	return Claims(m), nil
}

// StringClaim returns the string claim name. Absent: ("", false, nil). Present but
// not a string (null included): an ErrClaimType error.
func StringClaim(c Claims, name string) (string, bool, error) {
	raw, ok := c[name]
	if !ok {
		return "", false, nil
	}
	s, ok := jsonString(raw)
	if !ok {
		return "", true, newError(ErrClaimType, "claim "+quote(name, 40)+": expected a string, got "+jsonKind(raw))
	}
	return s, true, nil
}

// BoolClaim returns the boolean claim name (absent: false, false, nil).
func BoolClaim(c Claims, name string) (bool, bool, error) {
	raw, ok := c[name]
	if !ok {
		return false, false, nil
	}
	switch string(raw) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, true, newError(ErrClaimType, "claim "+quote(name, 40)+": expected a boolean, got "+jsonKind(raw))
}

// NumericDateClaim returns the NumericDate claim name (see ParseNumericDate).
func NumericDateClaim(c Claims, name string) (time.Time, bool, error) {
	raw, ok := c[name]
	if !ok {
		return time.Time{}, false, nil
	}
	t, err := ParseNumericDate(raw)
	if err != nil {
		return time.Time{}, true, prefixDetail(err, "claim "+quote(name, 40)+": ")
	}
	return t, true, nil
}

// StringListClaim returns claim name as a list of strings: a JSON array of strings
// (possibly empty), or a single string as a one-element list (providers send a lone
// group either way). null, nested arrays and non-string elements are ErrClaimType.
func StringListClaim(c Claims, name string) ([]string, bool, error) {
	raw, ok := c[name]
	if !ok {
		return nil, false, nil
	}
	if s, ok := jsonString(raw); ok {
		return []string{s}, true, nil
	}
	list, ok := jsonStrings(raw)
	if !ok {
		return nil, true, newError(ErrClaimType, "claim "+quote(name, 40)+": expected a string or an array of strings, got "+jsonKind(raw))
	}
	return list, true, nil
}

// ObjectClaim returns the JSON object claim name, decoded as strictly as
// DecodeClaims (unique names, also ignoring case).
func ObjectClaim(c Claims, name string) (Claims, bool, error) {
	raw, ok := c[name]
	if !ok {
		return nil, false, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, true, newError(ErrClaimType, "claim "+quote(name, 40)+": expected an object, got "+jsonKind(raw))
	}
	m, err := decodeObject(raw)
	if err != nil {
		return nil, true, prefixDetail(err, "claim "+quote(name, 40)+": ")
	}
	return Claims(m), true, nil
}

// AudienceClaim returns the aud claim (see ParseAudience); absent is ErrClaimMissing,
// since every token kind Gatehouse accepts requires one.
func AudienceClaim(c Claims) ([]string, error) {
	raw, ok := c["aud"]
	if !ok {
		return nil, newError(ErrClaimMissing, "expected an aud claim, got none")
	}
	return ParseAudience(raw)
}

// ParseNumericDate parses a NumericDate (RFC 7519 2): a JSON number of seconds since
// the epoch, integer or fractional. Refused: strings ("1700000000"), null, booleans,
// negative numbers, hexadecimal or other non-JSON forms, values that overflow, and
// anything after 9999-12-31T23:59:59Z. Fractions are kept to the nanosecond that
// float64 allows; the result is in UTC.
func ParseNumericDate(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' || !json.Valid(raw) {
		return time.Time{}, newError(ErrNumericDate, "expected a non-negative JSON number, got "+jsonKind(raw))
	}
	if !bytes.ContainsAny(raw, ".eE") {
		sec, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || sec > maxNumericDate {
			return time.Time{}, newError(ErrNumericDate, "expected at most "+strconv.Itoa(maxNumericDate)+" (9999-12-31), got a larger integer")
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f > maxNumericDate {
		return time.Time{}, newError(ErrNumericDate, "expected at most "+strconv.Itoa(maxNumericDate)+" (9999-12-31), got a larger number")
	}
	sec := math.Floor(f)
	nsec := math.Round((f - sec) * 1e9)
	if nsec >= 1e9 {
		sec, nsec = sec+1, nsec-1e9
	}
	return time.Unix(int64(sec), int64(nsec)).UTC(), nil
}

// ParseAudience parses aud (RFC 7519 4.1.3): a non-empty string, or a non-empty array
// of non-empty strings. null, [], nested arrays, numbers and empty strings are
// ErrAudience.
func ParseAudience(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if s, ok := jsonString(raw); ok {
		if s == "" {
			return nil, newError(ErrAudience, "expected a non-empty audience, got \"\"")
		}
		return []string{s}, nil
	}
	list, ok := jsonStrings(raw)
	if !ok {
		return nil, newError(ErrAudience, "expected a string or an array of strings, got "+jsonKind(raw))
	}
	if len(list) == 0 {
		return nil, newError(ErrAudience, "expected at least one audience, got []")
	}
	for _, a := range list {
		if a == "" {
			return nil, newError(ErrAudience, "expected non-empty audiences, got \"\"")
		}
	}
	return list, nil
}

// CheckTimes applies the time claims (RFC 7519 4.1.4-4.1.6) at now, with leeway for
// clock skew (negative counts as zero): exp is required and now must be before
// exp+leeway; nbf, when present, must be at most now+leeway; iat, when present (and
// required if requireIAT), must not be after now+leeway.
func CheckTimes(c Claims, now time.Time, leeway time.Duration, requireIAT bool) error {
	if leeway < 0 {
		leeway = 0
	}
	exp, ok, err := NumericDateClaim(c, "exp")
	if err != nil {
		return err
	}
	if !ok {
		return newError(ErrClaimMissing, "expected an exp claim, got none")
	}
	if !now.Before(exp.Add(leeway)) {
		return newError(ErrExpired, "expected now before exp "+stamp(exp)+" + leeway "+leeway.String()+", got now "+stamp(now))
	}
	nbf, ok, err := NumericDateClaim(c, "nbf")
	if err != nil {
		return err
	}
	if ok && now.Add(leeway).Before(nbf) {
		return newError(ErrNotYetValid, "expected nbf "+stamp(nbf)+" at or before now + leeway "+leeway.String()+", got now "+stamp(now))
	}
	iat, ok, err := NumericDateClaim(c, "iat")
	if err != nil {
		return err
	}
	if !ok && requireIAT {
		return newError(ErrClaimMissing, "expected an iat claim, got none")
	}
	if ok && iat.After(now.Add(leeway)) {
		return newError(ErrIssuedInFuture, "expected iat "+stamp(iat)+" at or before now + leeway "+leeway.String()+", got now "+stamp(now))
	}
	return nil
}

func stamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// TypMatches reports whether a typ header value names the media type want (RFC 7515
// 4.1.9): compared ignoring case, with "application/" implied when the value has no
// '/'. So "at+jwt", "AT+JWT" and "application/at+jwt" all match "at+jwt" (RFC 9068
// 2.1), and "logout+jwt" matches "application/logout+jwt" (OIDC Back-Channel Logout
// 2.4). An empty typ matches nothing.
func TypMatches(typ, want string) bool {
	if typ == "" || want == "" {
		return false
	}
	return mediaType(typ) == mediaType(want)
}

func mediaType(s string) string {
	s = strings.ToLower(s)
	if strings.IndexByte(s, '/') < 0 {
		return "application/" + s
	}
	return s
}

// String is StringClaim(c, name).
func (c Claims) String(name string) (string, bool, error) { return StringClaim(c, name) }

// Bool is BoolClaim(c, name).
func (c Claims) Bool(name string) (bool, bool, error) { return BoolClaim(c, name) }

// NumericDate is NumericDateClaim(c, name).
func (c Claims) NumericDate(name string) (time.Time, bool, error) { return NumericDateClaim(c, name) }

// StringList is StringListClaim(c, name).
func (c Claims) StringList(name string) ([]string, bool, error) { return StringListClaim(c, name) }

// Object is ObjectClaim(c, name).
func (c Claims) Object(name string) (Claims, bool, error) { return ObjectClaim(c, name) }

// Audience is AudienceClaim(c).
func (c Claims) Audience() ([]string, error) { return AudienceClaim(c) }
