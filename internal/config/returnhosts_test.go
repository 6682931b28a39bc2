package config

import (
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe/reqsafetest"
)

// centralCallback is a valid configuration with one callback host for several.
func centralCallback() *Config {
	c := valid()
	c.Provider.RedirectURL = "https://auth.example.com/oauth2/callback"
	c.Provider.AllowedReturnHosts = []string{"app.example.com", "*.apps.example.com", "Admin.Example.com:8443"}
	c.Session.CookieDomain = ".example.com"
	return c
}

func TestAllowedReturnHostsCompileToNormalisedPatterns(t *testing.T) {
	o, err := compile(t, centralCallback())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Provider.AllowedReturnHosts, " "); got != "app.example.com .apps.example.com admin.example.com:8443" {
		t.Fatalf("patterns %q", got)
	}
}

func TestAllowedReturnHostsRefuseBareWildcardsAndAmbiguousForms(t *testing.T) {
	for _, bad := range reqsafetest.BadHostPatterns {
		if bad == "" {
			continue // an empty entry is skipped, as in every list
		}
		c := centralCallback()
		c.Provider.AllowedReturnHosts = []string{bad}
		_, err := compile(t, c)
		if err == nil || !strings.Contains(err.Error(), "provider.allowedReturnHosts: ") || !strings.Contains(err.Error(), "got ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestReturnHostsOutsideTheCookieDomainAreRefused: a host the session cookie written
// at the callback does not reach would send its users back to sign in for ever.
func TestReturnHostsOutsideTheCookieDomainAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		option string
		says   string
	}{
		{"no cookie domain", func(c *Config) { c.Session.CookieDomain = "" }, "provider.allowedReturnHosts", "loop back to sign-in"},
		{"host elsewhere", func(c *Config) { c.Provider.AllowedReturnHosts = []string{"app.example.org"} }, "provider.allowedReturnHosts", `"app.example.org" is not under session.cookieDomain`},
		{"wildcard wider than the domain", func(c *Config) {
			c.Session.CookieDomain = "apps.example.com"
			c.Provider.RedirectURL = "https://auth.apps.example.com/cb"
			c.Provider.AllowedReturnHosts = []string{"*.example.com"}
		}, "provider.allowedReturnHosts", `"*.example.com" is not under`},
		{"callback elsewhere", func(c *Config) { c.Provider.RedirectURL = "https://auth.example.org/cb" }, "provider.redirectURL", "login cookie"},
		{"no central callback", func(c *Config) { c.Provider.RedirectURL = "" }, "provider.allowedReturnHosts", "needs provider.redirectURL"},
		{"host-only cookie name", func(c *Config) { c.Session.CookieName = "__Host-gatehouse" }, "session.cookieName", "no session.cookieDomain"},
	} {
		c := centralCallback()
		tc.mutate(c)
		_, err := compile(t, c)
		if err == nil || !strings.Contains(err.Error(), tc.option+": ") || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
