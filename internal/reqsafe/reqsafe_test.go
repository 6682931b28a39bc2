package reqsafe

import (
	"net/url"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe/reqsafetest"
)

// TestAmbiguousPathsNeverMatchAnExclusion plays the matrix of docs/SECURITY.md: a
// request target is let through only when it is canonical and under an exclusion.
func TestAmbiguousPathsNeverMatchAnExclusion(t *testing.T) {
	for _, c := range reqsafetest.PathCases {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			u, err := url.ParseRequestURI(c.Target)
			if c.Rejected {
				if err == nil {
					t.Fatalf("%q parses (path %q); the row says Go's server refuses it", c.Target, u.Path)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q does not parse: %v", c.Target, err)
			}
			if got := MatchesPrefix(u, reqsafetest.Exclusions); got != c.Excluded {
				t.Fatalf("%q (path %q, raw %q): excluded = %v, want %v", c.Target, u.Path, u.RawPath, got, c.Excluded)
			}
			if c.Excluded {
				if p, ok := CanonicalPath(u); !ok || p != u.Path {
					t.Fatalf("%q: CanonicalPath = %q, %v", c.Target, p, ok)
				}
			}
		})
	}
}

// TestNonCanonicalPathsAreRefusedWhateverThePrefix: the canonical form does not depend
// on the prefixes; the contract for deny rules relies on it.
func TestNonCanonicalPathsAreRefusedWhateverThePrefix(t *testing.T) {
	for _, tc := range []struct {
		path, raw string
		want      bool
	}{
		{"/", "", true},
		{"/a/b/c.txt", "", true},
		{"/.well-known/x", "", true},
		{"/a/.b", "", true},
		{"/a/b.", "", true},
		{"/v1/items:batchGet", "", true},
		{"/a/b c", "", true},
		{"/a/b/", "", true},
		{"", "", false},
		{"*", "", false},
		{"a/b", "", false},
		{"/a/..", "", false},
		{"/a/..b", "", false},
		{"/a/.", "", false},
		{"/a/./b", "", false},
		{"/a/. /b", "", false},
		{"/a/ . /b", "", false},
		{"/a/. . /b", "", false},
		{"/a//b", "", false},
		{"/a/ b", "", false},
		{"/a;b", "", false},
		{"/a\\b", "", false},
		{"/a%b", "", false},
		{"/a?b", "", false},
		{"/a#b", "", false},
		{"/a*b", "", false},
		{"/a|b", "", false},
		{"/a\"b", "", false},
		{"/a\x00b", "", false},
		{"/a\x7fb", "", false},
		{"/a\tb", "", false},
		{"/caf\u00e9", "", false},
		{"/a/b", "/a%2Fb", false},
		{"/a/b", "/a%2fb", false},
		{"/a(b)", "/a(b)", true},
		{"/ab", "/a%62", true},
	} {
		_, got := CanonicalPath(&url.URL{Path: tc.path, RawPath: tc.raw})
		if got != tc.want {
			t.Errorf("CanonicalPath(%q, raw %q) = %v, want %v", tc.path, tc.raw, got, tc.want)
		}
	}
}

func TestPathPrefixesMatchOnSegmentBoundaries(t *testing.T) {
	for _, tc := range []struct {
		p, prefix string
		want      bool
	}{
		{"/public", "/public", true}, {"/public/x", "/public", true}, {"/publicity", "/public", false},
		{"/public/x", "/public/", true}, {"/public", "/public/", false}, {"/public/", "/public/", true},
		{"/pub", "/public", false}, {"/", "/public", false},
	} {
		if got := HasPathPrefix(tc.p, tc.prefix); got != tc.want {
			t.Errorf("HasPathPrefix(%q, %q) = %v", tc.p, tc.prefix, got)
		}
		// MatchesPrefix is HasPathPrefix on canonical paths.
		if got := MatchesPrefix(&url.URL{Path: tc.p}, []string{"/other", tc.prefix}); got != tc.want {
			t.Errorf("MatchesPrefix(%q, %q) = %v", tc.p, tc.prefix, got)
		}
	}
}

func TestValidPrefixRefusesWhatCouldNeverMatch(t *testing.T) {
	for p, want := range map[string]bool{
		"/health": true, "/public/": true, "/.well-known/": true, "/": true,
		"health": false, "/a;b": false, "/a/../b": false, "//a": false, "/a%2Fb": false, "/caf\u00e9": false, "/a\\b": false,
	} {
		if got := ValidPrefix(p); got != want {
			t.Errorf("ValidPrefix(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestRedirectTargetsLeavingTheSiteAreNotLocal: every form a browser reads as another
// origin, and the encoded forms a decoding backend would.
func TestRedirectTargetsLeavingTheSiteAreNotLocal(t *testing.T) {
	for p, want := range map[string]bool{
		"/":                     true,
		"/a?b=c":                true,
		"/a/b%2Fc":              true,
		"/%E2%9C%93":            true,
		"/caf\u00e9":            true,
		"":                      false,
		"a":                     false,
		"//evil.example":        false,
		"/\\evil.example":       false,
		"/\t/evil.example":      false,
		"/\n/evil.example":      false,
		"/a b":                  false,
		"/a\x7f":                false,
		"/a\\b":                 false,
		"https:evil.example":    false,
		"/%2F%2Fevil.example":   false,
		"/%2f%2fevil.example":   false,
		"/%5Cevil.example":      false,
		"/%09/evil.example":     false,
		"/%0a/evil.example":     false,
		"/%20/evil.example":     false,
		"/\xff":                 false,
		"/ok\x00":               false,
		"/\u3000/evil.example":  true, // U+3000 is not whitespace to URL parsers
		"/%E3%80%80/evil.examp": true,
	} {
		if got := IsLocalPath(p); got != want {
			t.Errorf("IsLocalPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestHeaderKeysFoldWhatBackendsFold(t *testing.T) {
	for name, want := range map[string]string{
		"X-Forwarded-User": "x-forwarded-user",
		"x_forwarded_user": "x-forwarded-user",
		"X.Forwarded.User": "x-forwarded-user",
		"X~Forwarded+User": "x-forwarded-user",
		"X!Forwarded*User": "x-forwarded-user",
		"REMOTE_USER":      "remote-user",
		"X-Auth-Request_1": "x-auth-request-1",
		"Accept":           "accept",
	} {
		if got := HeaderKey(name); got != want {
			t.Errorf("HeaderKey(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestSecurityDocNamesEveryPathRow keeps the matrix in docs/SECURITY.md in step with
// the rows the tests play.
func TestSecurityDocNamesEveryPathRow(t *testing.T) {
	b, err := os.ReadFile("../../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range reqsafetest.PathCases {
		if !strings.Contains(doc, "`"+c.Name+"`") {
			t.Errorf("docs/SECURITY.md does not list the path row %s", c.Name)
		}
	}
}

// FuzzExcludedPathStaysExcludedAfterAnyBackendNormalisation checks the property that
// makes exclusion safe: whatever the request line, a request is only excluded when
// the path a backend would see after its normalisations (percent-decoding twice,
// backslashes as slashes, servlet ";" parameters cut from each segment, dot segments
// and empty segments resolved) still lies under an exclusion.
func FuzzExcludedPathStaysExcludedAfterAnyBackendNormalisation(f *testing.F) {
	for _, c := range reqsafetest.PathCases {
		f.Add(c.Target)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil || !MatchesPrefix(u, reqsafetest.Exclusions) {
			return
		}
		p := u.EscapedPath()
		for i := 0; i < 2; i++ {
			if d, err := url.PathUnescape(p); err == nil {
				p = d
			}
		}
		p = strings.ReplaceAll(p, "\\", "/")
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if j := strings.IndexByte(s, ';'); j >= 0 {
				segs[i] = s[:j]
			}
			// Windows drops trailing dots and spaces; a name of only those is read
			// here as the most dangerous thing it could be, "..".
			if trimmed := strings.TrimRight(segs[i], ". "); trimmed == "" && segs[i] != "" {
				segs[i] = ".."
			} else {
				segs[i] = trimmed
			}
		}
		clean := path.Clean(strings.Join(segs, "/"))
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		for _, prefix := range reqsafetest.Exclusions {
			if HasPathPrefix(clean, prefix) {
				return
			}
		}
		t.Fatalf("%q excluded, but a backend normalises it to %q", raw, clean)
	})
}
