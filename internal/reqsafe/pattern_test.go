package reqsafe

import (
	"math/rand"
	"net/url"
	"regexp"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe/reqsafetest"
)

// TestCanonicalPathPatternAgreesWithCanonicalPath: the pattern accepts exactly the
// decoded paths CanonicalPath accepts: every row of the attack matrix, and a
// million paths drawn from the characters that matter (dots, spaces, slashes,
// semicolons, a letter, a percent sign, a byte outside pathChars).
func TestCanonicalPathPatternAgreesWithCanonicalPath(t *testing.T) {
	re := regexp.MustCompile(`\A(?:` + CanonicalPathPattern() + `)\z`)
	check := func(p string) {
		_, want := CanonicalPath(&url.URL{Path: p})
		if got := re.MatchString(p); got != want {
			t.Fatalf("%q: pattern %v, CanonicalPath %v", p, got, want)
		}
	}
	for _, c := range reqsafetest.PathCases {
		if u, err := url.ParseRequestURI(c.Target); err == nil {
			check(u.Path)
		}
	}
	for _, p := range []string{"", "/", "//", "/a", "/a/", "/a//b", "/.", "/..", "/...", "/. ", "/. a", "/.a", "/. .a", "/ a", "/a ", "/a b", "/a/.b/", "/a/..b", "/a.", "/a..", "/\x00", "/é", "/a;b", "/%", "a", "/.well-known/x"} {
		check(p)
	}
	alphabet := []string{"/", ".", " ", "a", ";", "%", "\\", "~", "é", "\n"}
	rng := rand.New(rand.NewSource(1))
	// A million paths in make test-all; make test (-short, with the race detector)
	// plays the first hundred thousand of the same sequence.
	count := 1000000
	if testing.Short() {
		count = 100000
	}
	for i := 0; i < count; i++ {
		n := rng.Intn(9)
		p := ""
		if rng.Intn(8) != 0 {
			p = "/"
		}
		for j := 0; j < n; j++ {
			p += alphabet[rng.Intn(len(alphabet))]
		}
		check(p)
	}
}

// TestPrefixPatternAgreesWithMatchesPrefix: for URLs without RawPath the pattern
// matches exactly what MatchesPrefix does, over prefixes with and without a final
// "/", for every row of the attack matrix, the segment-boundary cases, and paths
// drawn from the characters that matter around prefixes.
func TestPrefixPatternAgreesWithMatchesPrefix(t *testing.T) {
	sets := [][]string{reqsafetest.Exclusions, {"/public"}, {"/public/"}, {"/"}, {"/a.b", "/x y/", "/v1/items:batchGet"}, nil}
	for _, prefixes := range sets {
		re := regexp.MustCompile(PrefixPattern(prefixes))
		check := func(p string) {
			t.Helper()
			want := MatchesPrefix(&url.URL{Path: p}, prefixes)
			if got := re.MatchString(p); got != want {
				t.Fatalf("prefixes %q, path %q: pattern %v, MatchesPrefix %v", prefixes, p, got, want)
			}
		}
		for _, c := range reqsafetest.PathCases {
			if u, err := url.ParseRequestURI(c.Target); err == nil {
				check(u.Path)
			}
		}
		for _, p := range []string{"", "/", "/public", "/public/", "/publicity", "/public/x", "/public//x", "/public/../x",
			"/public/..;/admin", "/public/.", "/public/ x", "/health", "/health/", "/healthz", "/health/a/b", "/health\\x",
			"/health/\n", "/.well-known/", "/.well-known", "/a.b", "/a.b/c", "/a.bc", "/x y/", "/x y", "/x y/z", "/v1/items:batchGet/1"} {
			check(p)
		}
		alphabet := []string{"/", ".", " ", "a", ";", "%", "\\", "public", "health", "\n"}
		rng := rand.New(rand.NewSource(2))
		for i := 0; i < 20000; i++ {
			p := ""
			if rng.Intn(8) != 0 {
				p = "/"
			}
			for j, n := 0, rng.Intn(7); j < n; j++ {
				p += alphabet[rng.Intn(len(alphabet))]
			}
			check(p)
		}
	}
}
