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
	v, ok := jsonString(raw)
	if !ok {
		return "", true, errClaimType(name, "a string", raw)
	}
	return v, true, nil
}

// errClaimType: claim name is not what the reader expected.
func errClaimType(name, expected string, raw json.RawMessage) error {
	return newError(ErrClaimType, "claim "+quote(name, 40)+": expected "+expected+", got "+jsonKind(raw))
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
	return false, true, errClaimType(name, "a boolean", raw)
}

// NumericDateClaim returns the NumericDate claim name (see ParseNumericDate).
func NumericDateClaim(c Claims, name string) (time.Time, bool, error) {
	raw, ok := c[name]
	if !ok {
		return time.Time{}, false, nil
	}
	t, err := ParseNumericDate(raw)
	if err != nil {
		return time.Time{}, true, errClaim(name, err)
	}
	return t, true, nil
}

// errClaim prefixes err's detail with the claim's name.
func errClaim(name string, err error) error {
	return prefixDetail(err, "claim "+quote(name, 40)+": ")
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
		return nil, true, errClaimType(name, "a string or an array of strings", raw)
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
		return nil, true, errClaimType(name, "an object", raw)
	}
	m, err := decodeObject(raw)
	if err != nil {
		return nil, true, errClaim(name, err)
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
	if bytes.ContainsAny(raw, ".eE") {
		return parseFractionalDate(raw)
	}
	sec, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || sec > maxNumericDate {
		return time.Time{}, errDateTooLarge()
	}
	return time.Unix(sec, 0).UTC(), nil
}

// parseFractionalDate reads a NumericDate with a fraction or an exponent.
func parseFractionalDate(raw json.RawMessage) (time.Time, error) {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f > maxNumericDate {
		return time.Time{}, errDateTooLarge()
	}
	sec := math.Floor(f)
	nsec := math.Round((f - sec) * 1e9)
	if nsec >= 1e9 {
		sec++
		nsec -= 1e9
	}
	return time.Unix(int64(sec), int64(nsec)).UTC(), nil
}

func errDateTooLarge() error {
	return newError(ErrNumericDate, "expected at most "+strconv.Itoa(maxNumericDate)+" (9999-12-31), got a larger number")
}

// ParseAudience parses aud (RFC 7519 4.1.3): a non-empty string, or a non-empty array
// of non-empty strings. null, [], nested arrays, numbers and empty strings are
// ErrAudience.
func ParseAudience(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if one, ok := jsonString(raw); ok && one != "" {
		return []string{one}, nil
	}
	list, ok := jsonStrings(raw)
	if !ok || len(list) == 0 || hasString(list, "") {
		return nil, errAudience(raw)
	}
	return list, nil
}

// errAudience says why ParseAudience refused raw.
func errAudience(raw json.RawMessage) error {
	if one, ok := jsonString(raw); ok && one == "" {
		return newError(ErrAudience, "expected a non-empty audience, got \"\"")
	}
	list, ok := jsonStrings(raw)
	if !ok {
		return newError(ErrAudience, "expected a string or an array of strings, got "+jsonKind(raw))
	}
	if len(list) == 0 {
		return newError(ErrAudience, "expected at least one audience, got []")
	}
	return newError(ErrAudience, "expected non-empty audiences, got \"\"")
}

// CheckTimes applies the time claims (RFC 7519 4.1.4-4.1.6) at now, with leeway for
// clock skew (negative counts as zero): exp is required and now must be before
// exp+leeway; nbf, when present, must be at most now+leeway; iat, when present (and
// required if requireIAT), must not be after now+leeway.
func CheckTimes(c Claims, now time.Time, leeway time.Duration, requireIAT bool) error {
	if leeway < 0 {
		leeway = 0
	}
	late := now.Add(leeway)
	exp, hasExp, err := NumericDateClaim(c, "exp")
	if err != nil || !hasExp || !now.Before(exp.Add(leeway)) {
		return errExp(err, exp, now, leeway)
	}
	nbf, hasNbf, err := NumericDateClaim(c, "nbf")
	if err != nil || (hasNbf && late.Before(nbf)) {
		return errTimeClaim(err, ErrNotYetValid, "nbf", nbf, now, leeway)
	}
	iat, hasIat, err := NumericDateClaim(c, "iat")
	if err != nil || (!hasIat && requireIAT) || (hasIat && iat.After(late)) {
		if err == nil && !hasIat {
			return newError(ErrClaimMissing, "expected an iat claim, got none")
		}
		return errTimeClaim(err, ErrIssuedInFuture, "iat", iat, now, leeway)
	}
	return nil
}

// errExp: exp malformed, missing, or not after now (with leeway).
func errExp(err error, exp, now time.Time, leeway time.Duration) error {
	if err != nil {
		return err
	}
	if exp.IsZero() {
		return newError(ErrClaimMissing, "expected an exp claim, got none")
	}
	return newError(ErrExpired, "expected now before exp "+stamp(exp)+" + leeway "+leeway.String()+", got now "+stamp(now))
}

// errTimeClaim: nbf or iat malformed or in the future.
func errTimeClaim(err, kind error, name string, t, now time.Time, leeway time.Duration) error {
	if err != nil {
		return err
	}
	return newError(kind, "expected "+name+" "+stamp(t)+" at or before now + leeway "+leeway.String()+", got now "+stamp(now))
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
