package config

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Identifiers: the user identifier Gatehouse forwards and matches (provider.userClaim,
// bearer.identifierClaim, sub), the email it trusts, and the entries of
// authorization.allowedUsers and allowedDomains. The rules are here, in one place,
// because configuration validation and the request path must agree on them.
//
// Gatehouse compares identifiers exactly, except that email addresses compare ignoring
// ASCII case (FoldEmail). It never applies Unicode case folding or normalisation: with
// strings.ToLower the Kelvin sign in "\u212Aate" becomes "k", and an account named so
// passed allowedUsers: [kate]. Exact comparison alone is not enough, though: the
// backend behind Gatehouse may normalise (NFC, NFKC), case-fold (Python's casefold,
// ICU) or compare with an accent- and case-insensitive collation (MySQL's default),
// and would then take one user for another. So an identifier that holds a character
// such a step turns into a different one is refused outright (IdentifierProblem).

// IdentifierProblem says why s cannot serve as an identifier, or returns "" when it
// can. s is refused when it:
//
//   - is empty, not valid UTF-8, or begins or ends with a space (HTTP trims header
//     values, so "alice " would reach the backend as "alice");
//   - holds a control, format (bidi controls, zero-width characters, the soft
//     hyphen), private-use or unassigned character, a line or paragraph separator,
//     or a space other than U+0020 (no-break and typographic spaces normalise to a
//     space);
//   - holds a character that Unicode normalisation (NFC or NFKC) changes: compatibility
//     characters such as fullwidth forms (U+FF21 "Ａ"), mathematical alphanumerics,
//     ligatures, superscripts, enclosed and letterlike symbols (U+212A, the Kelvin
//     sign), and canonical singletons (U+212B, the Angstrom sign);
//   - holds a character that case mapping or full case folding turns into ASCII:
//     U+0130 "İ", U+0131 "ı", U+017F "ſ", U+00DF "ß" and U+1E9E "ẞ" (which fold to
//     "ss"), besides those above;
//   - holds an invisible character that Unicode lets renderers ignore (variation
//     selectors, the combining grapheme joiner, Hangul fillers, the Braille blank);
//   - holds a combining mark at its start or right after an ASCII character: a
//     decomposed accent ("e" + U+0301), which NFC merges with the precomposed letter.
//
// Letters of other scripts that merely look like Latin ones (Cyrillic "а") are not
// refused: no normalisation merges them, so exact comparison keeps them apart.
func IdentifierProblem(s string) string {
	if s == "" {
		return "is empty"
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return "begins or ends with a space"
	}
	prevASCII := true
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			prevASCII = true
			continue
		}
		if r < 0x80 || !unicode.IsGraphic(r) {
			return "holds a control, format or unassigned character (" + codePoint(r) + ")"
		}
		if unicode.Is(unicode.Zs, r) {
			return "holds a space other than U+0020 (" + codePoint(r) + ")"
		}
		if unicode.Is(confusableRunes, r) {
			return "holds " + codePoint(r) + ", which Unicode normalisation or case folding turns into another character, or which is invisible"
		}
		if prevASCII && unicode.Is(unicode.M, r) {
			return "holds a combining mark (" + codePoint(r) + ") at its start or after an ASCII character (a decomposed letter)"
		}
		prevASCII = false
	}
	return ""
}

// IsEmail reports whether s has the shape of an email address: a non-empty local
// part, an "@", a non-empty domain. Whatever claim it came from, an identifier of
// this shape is treated as an email address (see the package's identity rules in
// internal/auth).
func IsEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// FoldEmail returns the form in which email addresses are compared: ASCII letters
// lowered, in the local part and the domain, and nothing else changed. Domains are
// case-insensitive (RFC 5321 section 2.4); local parts may be case-sensitive by the
// letter of that section, but no mainstream provider has two mailboxes that differ
// only in case, and operators write allowedUsers in any case. Non-ASCII letters are
// never folded (IdentifierProblem refuses the ones that fold onto ASCII).
func FoldEmail(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// codePoint formats r as U+XXXX.
func codePoint(r rune) string {
	h := strings.ToUpper(strconv.FormatInt(int64(r), 16))
	for len(h) < 4 {
		h = "0" + h
	}
	return "U+" + h
}
