package jose

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// decodeObject reads one JSON object whose member names are unique, also when
// compared case-insensitively, and returns its members by exact name.
//
// Why: encoding/json keeps the last of two equal names and matches struct fields
// case-insensitively, so {"sub":"alice","SUB":"admin"} means different things to
// different readers (RFC 7515 5.2 and RFC 7519 4 make duplicate names invalid; RFC 8725
// 3.2 asks for strict parsing). Names are compared folded (foldName), which equates
// at least what encoding/json's field matching equates — Unicode simple folding, so
// "ſ" goes with "s" and the Kelvin sign with "k" — after escapes are decoded
// ("\u0061lg" is "alg").
//
// Nested objects are not checked here; readers that descend into one (ObjectClaim)
// check it with this function too.
//
// Cost: under Yaegi a token-by-token json.Decoder walk costs ~2.5 µs per member, so
// documents without backslashes take a fast path of a few compiled calls (see
// uniqueNamesFast); anything else, and anything the fast path does not clear, is read
// member by member, which is also what produces the error naming the duplicate.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, newError(ErrJSON, "expected UTF-8 (RFC 8259 8.1), got invalid UTF-8")
	}
	// The fast path needs compact JSON. Most issuers send it, so Compact only runs
	// when there is insignificant space to remove.
	c := b
	if bytes.ContainsAny(b, " \t\r\n") {
		c = compactJSON(b)
	}
	if len(c) > 0 && c[0] == '{' && bytes.IndexByte(c, '\\') < 0 {
		var m map[string]json.RawMessage
		// Unmarshal validates the whole input (one value, valid JSON) before decoding.
		if json.Unmarshal(c, &m) == nil && uniqueNamesFast(c, m) {
			return m, nil
		}
	}
	return decodeObjectSlow(b, c)
}

// compactJSON returns b without insignificant space, or b itself when b is not valid
// JSON (decodeObjectSlow then says why).
func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b))
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// uniqueNamesFast reports whether the compact, backslash-free, valid UTF-8 JSON
// object c, decoded into m, has unique names, also under folding. Without a backslash
// a decoded name is byte-for-byte its raw text and RawMessage values are the raw
// bytes, so:
//
//   - an exact duplicate collapses two members into one map entry, and the entries
//     then account for fewer bytes than c: {"k1":v1,"k2":v2} is 1 + Σ(len(k)+len(v)+4);
//   - folding the NUL-joined names at once folds each name (folding is per rune and
//     never makes or removes a NUL, which raw JSON names cannot contain), so a repeat
//     among the folded parts is a case-variant duplicate.
//
// A few compiled calls and one short loop, instead of ~2.5 µs per member for a
// json.Decoder walk under Yaegi. false means "not proven": the slow path decides.
func uniqueNamesFast(c []byte, m map[string]json.RawMessage) bool {
	if len(m) == 0 {
		return len(c) == 2
	}
	total := 1
	names := ""
	for k, v := range m {
		total += len(k) + len(v) + 4
		names += "\x00" + k
	}
	if total != len(c) {
		return false
	}
	folded := strings.Split(foldName(names), "\x00")
	seen := make(map[string]bool, len(folded))
	for _, f := range folded[1:] {
		if seen[f] {
			return false
		}
		seen[f] = true
	}
	return true
}

// decodeObjectSlow reads b (c is b compacted, or b) member by member: the path for
// documents with escapes, for what the fast path did not clear, and for every error.
func decodeObjectSlow(b, c []byte) (map[string]json.RawMessage, error) {
	var v json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, newError(ErrJSON, "expected a JSON object, got invalid JSON ("+err.Error()+")")
	}
	if len(c) == 0 || c[0] != '{' {
		return nil, newError(ErrJSON, "expected a JSON object, got "+jsonKind(c))
	}
	dec := json.NewDecoder(bytes.NewReader(c))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, newError(ErrJSON, "expected a JSON object, got "+err.Error())
	}
	m := make(map[string]json.RawMessage)
	seen := make(map[string]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, newError(ErrJSON, "expected a member name, got "+err.Error())
		}
		name, _ := tok.(string)
		f := foldName(name)
		if prev, dup := seen[f]; dup {
			if prev == name {
				return nil, newError(ErrDuplicateName, "expected unique member names, got "+quote(name, 40)+" twice")
			}
			return nil, newError(ErrDuplicateName, "expected unique member names, got "+quote(prev, 40)+" and "+quote(name, 40)+", equal ignoring case")
		}
		seen[f] = name
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, newError(ErrJSON, "expected a member value, got "+err.Error())
		}
		m[name] = raw
	}
	return m, nil
}

// foldName maps names that differ only in case to one string: ToLower∘ToUpper per
// rune. Every Unicode simple-fold orbit (what encoding/json and bytes.EqualFold treat
// as equal) lands in one class, checked over every rune by
// TestFoldNameCoversEncodingJSONMatching; the classes are slightly wider ("İ" and
// "ı" join "i"), which only refuses more.
func foldName(s string) string {
	return strings.ToLower(strings.ToUpper(s))
}

// jsonKind names the JSON type of the compact value c, for error details.
func jsonKind(c []byte) string {
	if len(c) == 0 {
		return "nothing"
	}
	switch c[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonString returns the string value of the JSON value raw (as decoded by
// decodeObject: valid, without surrounding space).
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		// Valid JSON without escapes: the bytes between the quotes are the value.
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonStrings decodes raw as an array of strings; null or non-string elements fail.
func jsonStrings(raw json.RawMessage) ([]string, bool) {
	if len(raw) < 2 || raw[0] != '[' {
		return nil, false
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	// encoding/json reads a null element as "" without error; look closer only when
	// "null" occurs at all.
	if bytes.Contains(raw, []byte("null")) {
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return nil, false
		}
		for _, e := range elems {
			if len(e) == 0 || e[0] != '"' {
				return nil, false
			}
		}
	}
	return list, true
}
