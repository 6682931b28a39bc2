package config

import (
	"strings"
	"testing"
)

// identifierCases are identifiers and whether IdentifierProblem accepts them.
var identifierCases = []struct {
	id string
	ok bool
}{
	{"alice", true},
	{"alice@example.com", true},
	{"Alice Example", true},
	{"o'brien", true},
	{"jos\u00e9", true},                // precomposed é
	{"\u7528\u6237", true},             // CJK
	{"\u043a\u0430\u0442\u044f", true}, // Cyrillic: no normalisation makes it Latin
	{"\u0915\u093f\u0924", true},       // Devanagari with a vowel sign after a letter
	{"", false},
	{"\xff\xfe", false},
	{" alice", false},
	{"alice ", false},
	{"al\tice", false},
	{"al\x00ice", false},
	{"al\x7fice", false},
	{"al\u0085ice", false},     // C1 control
	{"\u212Aate", false},       // Kelvin sign: ToLower gives "k"
	{"\u212Bsa", false},        // Angstrom sign: NFC gives Å
	{"\uff4bate", false},       // fullwidth k
	{"\U0001d55cate", false},   // mathematical double-struck k
	{"\u00b2fa", false},        // superscript two
	{"\ufb01le", false},        // fi ligature
	{"stra\u00dfe", false},     // ß case-folds to "ss"
	{"\u017Fam", false},        // long s: ToUpper gives "S"
	{"\u0131van", false},       // dotless i: ToUpper gives "I"
	{"\u0130van", false},       // dotted I: ToLower gives "i"
	{"kat\u0065\u0301", false}, // e + combining acute: NFC gives é
	{"\u0301kate", false},      // leading combining mark
	{"ka\u200bte", false},      // zero-width space
	{"ka\u00adte", false},      // soft hyphen
	{"ka\u202ete", false},      // right-to-left override
	{"ka\u00a0te", false},      // no-break space
	{"ka\u3000te", false},      // ideographic space
	{"ka\u2028te", false},      // line separator
	{"kate\ufe0f", false},      // variation selector
	{"ka\u3164te", false},      // Hangul filler
	{"ka\u2800te", false},      // Braille blank
	{"kate\U000e0041", false},  // tag character
	{"ka\ue000te", false},      // private use
	{"ka\U0001fffete", false},  // unassigned
}

func TestIdentifierProblemRefusesWhatNormalisesIntoAnotherIdentifier(t *testing.T) {
	for _, c := range identifierCases {
		problem := IdentifierProblem(c.id)
		if (problem == "") != c.ok {
			t.Errorf("%+q: problem %q, want ok=%v", c.id, problem, c.ok)
		}
	}
}

func TestFoldEmailFoldsASCIIOnly(t *testing.T) {
	for in, want := range map[string]string{
		"Alice@Example.COM":  "alice@example.com",
		"alice@example.com":  "alice@example.com",
		"\u212Aate@EXAMPLE":  "\u212Aate@example", // never Unicode folding
		"J\u00c9R\u00d4ME@x": "j\u00c9r\u00d4me@x",
	} {
		if got := FoldEmail(in); got != want {
			t.Errorf("FoldEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestKelvinSignInAllowedUsersIsRefusedAtStart: configuration goes through the same
// rules; strings.ToLower used to turn this entry into "kate".
func TestKelvinSignInAllowedUsersIsRefusedAtStart(t *testing.T) {
	c := valid()
	c.Authorization.AllowedUsers = []string{"\u212Aate"}
	_, err := compile(t, c)
	if err == nil || !strings.Contains(err.Error(), "authorization.allowedUsers") || !strings.Contains(err.Error(), "U+212A") {
		t.Fatalf("err = %v", err)
	}
	c = valid()
	c.Authorization.AllowedDomains = []string{"\u212Aexample.com"}
	if _, err := compile(t, c); err == nil || !strings.Contains(err.Error(), "authorization.allowedDomains") {
		t.Fatalf("a Kelvin-sign domain compiled: %v", err)
	}
}

func TestAllowedUsersCompareExactlyAndEmailsIgnoringASCIICase(t *testing.T) {
	c := valid()
	c.Authorization.AllowedUsers = []string{"Kate", "Alice@Example.COM"}
	c.Authorization.AllowedDomains = []string{"@Example.ORG"}
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Authorization.AllowedUsers, " "); got != "Kate alice@example.com" {
		t.Errorf("allowedUsers compiled to %q", got)
	}
	if got := strings.Join(o.Authorization.AllowedDomains, " "); got != "example.org" {
		t.Errorf("allowedDomains compiled to %q", got)
	}
	for _, bad := range []string{"alice@", "@example.com", "ali ce\u200b"} {
		c := valid()
		c.Authorization.AllowedUsers = []string{bad}
		if _, err := compile(t, c); err == nil || !strings.Contains(err.Error(), "authorization.allowedUsers") {
			t.Errorf("%q compiled: %v", bad, err)
		}
	}
}

// TestGroupNameWithACommaIsRefusedAtStart: such a group could never be forwarded
// (the list is comma-separated and Gatehouse drops it), so it could never match.
func TestGroupNameWithACommaIsRefusedAtStart(t *testing.T) {
	for _, set := range []func(c *Config){
		func(c *Config) { c.Authorization.AllowedGroups = []string{"sales,admins"} },
		func(c *Config) { c.Authorization.AllowedRoles = []string{"admin,auditor"} },
	} {
		c := valid()
		set(c)
		if _, err := compile(t, c); err == nil || !strings.Contains(err.Error(), "comma") {
			t.Errorf("err = %v", err)
		}
	}
}
