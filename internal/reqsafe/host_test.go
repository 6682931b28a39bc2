package reqsafe

import (
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe/reqsafetest"
)

func compiledPatterns(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, p := range reqsafetest.ReturnHostPatterns {
		c, problem := HostPattern(p)
		if problem != "" {
			t.Fatalf("HostPattern(%q): %s", p, problem)
		}
		out = append(out, c)
	}
	return out
}

// TestReturnHostRefusesEveryOpenRedirectTrick plays the return-host battery: only a
// listed host (normalised) is a place to return to after sign-in.
func TestReturnHostRefusesEveryOpenRedirectTrick(t *testing.T) {
	patterns := compiledPatterns(t)
	for _, c := range reqsafetest.HostCases {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			got, ok := ReturnHost(c.Host, c.Scheme, patterns)
			if got != c.Want || ok != (c.Want != "") {
				t.Fatalf("ReturnHost(%q, %s) = %q, %v; want %q", c.Host, c.Scheme, got, ok, c.Want)
			}
			if !ok {
				return
			}
			u := c.Scheme + "://" + got + "/page?x=1"
			if !AllowedReturnURL(u, patterns) {
				t.Fatalf("AllowedReturnURL(%q) = false for an allowed host", u)
			}
		})
	}
}

func TestHostPatternsRefuseBareWildcardsAndAmbiguousForms(t *testing.T) {
	for _, p := range reqsafetest.BadHostPatterns {
		if c, problem := HostPattern(p); problem == "" {
			t.Errorf("HostPattern(%q) = %q, accepted", p, c)
		}
	}
	for in, want := range map[string]string{
		"Example.COM": "example.com", "*.Example.com": ".example.com", "app.example.com:8443": "app.example.com:8443",
		"*.example.com:8443": ".example.com:8443", " xn--bcher-kva.example.com ": "xn--bcher-kva.example.com", "10.0.0.7": "10.0.0.7",
	} {
		if got, problem := HostPattern(in); got != want || problem != "" {
			t.Errorf("HostPattern(%q) = %q, %q; want %q", in, got, problem, want)
		}
	}
}

// TestAllowedReturnURLRefusesWhatGatehouseNeverBuilds: the sealed return target is
// checked again before use; anything but scheme://allowed-host/local-path is refused.
func TestAllowedReturnURLRefusesWhatGatehouseNeverBuilds(t *testing.T) {
	patterns := compiledPatterns(t)
	for _, u := range []string{
		"https://example.com/", "http://example.com/a?b=c", "https://x.apps.example.com/p", "https://admin.example.com:8443/",
	} {
		if !AllowedReturnURL(u, patterns) {
			t.Errorf("AllowedReturnURL(%q) = false", u)
		}
	}
	for _, u := range []string{
		"https://evil.com/", "https://example.com", "https://example.com//evil.com", "https://example.com/\\evil.com",
		"https://EXAMPLE.com/", "https://example.com:443/", "https://evil.com@example.com/", "javascript://example.com/%0aalert(1)",
		"ftp://example.com/", "https:example.com/", "//example.com/", "https://example.com/%2F%2Fevil.com", "HTTPS://example.com/",
		"https://example.com/\t/evil", "https://example.com.evil.com/", "",
	} {
		if AllowedReturnURL(u, patterns) {
			t.Errorf("AllowedReturnURL(%q) = true", u)
		}
	}
	if AllowedReturnURL("https://example.com/", nil) {
		t.Error("a return URL was allowed without any pattern")
	}
}

func TestCookieDomainCoversPatterns(t *testing.T) {
	for _, c := range []struct {
		domain, pattern string
		want            bool
	}{
		{".example.com", "app.example.com", true},
		{"example.com", "example.com", true},
		{"example.com", ".apps.example.com", true},
		{"example.com", ".example.com:8443", true},
		{"apps.example.com", ".example.com", false},
		{"example.com", "example.org", false},
		{"example.com", "badexample.com", false},
		{"", "example.com", false},
	} {
		if got := DomainCovers(c.domain, c.pattern); got != c.want {
			t.Errorf("DomainCovers(%q, %q) = %v", c.domain, c.pattern, got)
		}
	}
}

// TestSecurityDocNamesEveryHostRow keeps the battery in docs/SECURITY.md in step with
// the rows the tests play.
func TestSecurityDocNamesEveryHostRow(t *testing.T) {
	b, err := os.ReadFile("../../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range reqsafetest.HostCases {
		if !strings.Contains(string(b), "`"+c.Name+"`") {
			t.Errorf("docs/SECURITY.md does not list the return-host row %s", c.Name)
		}
	}
}
