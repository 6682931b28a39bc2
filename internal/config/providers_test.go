package config

import (
	"strings"
	"testing"
)

// several returns valid() with its provider moved into providers entries a and b.
func several() *Config {
	c := valid()
	a, b := c.Provider, c.Provider
	a.ID, b.ID = "a", "b"
	b.Issuer = "https://other.example.com"
	c.Provider = Default().Provider
	c.Providers = []ProviderConfig{a, b}
	return c
}

// TestProvidersEntriesGetTheProviderDefaults: entries decoded from a list start from
// zero values; Compile gives them provider:'s defaults, a callback of their own and
// PKCE, and the shared paths are checked once.
func TestProvidersEntriesGetTheProviderDefaults(t *testing.T) {
	c := several()
	for i := range c.Providers {
		p := &c.Providers[i]
		p.CallbackPath, p.LoginPath, p.ClockSkew, p.HTTPTimeout, p.UserClaim, p.PKCE = "", "", "", "", "", false
	}
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Providers) != 2 || o.Providers[1].Provider.CallbackPath != "/oauth2/callback/b" || !o.Providers[1].Provider.PKCE ||
		o.Providers[1].Provider.UserClaim != "email" || o.Providers[0].Title != "a" || o.Provider.Issuer != o.Providers[0].Provider.Issuer ||
		o.ChooserPath != "/oauth2/choose" {
		t.Fatalf("compiled entries: %+v chooser %q", o.Providers, o.ChooserPath)
	}
}

// TestProvidersEntryErrorsNameTheEntry: an entry's problems are named after it, in
// the option and in the message, and nothing else is renamed.
func TestProvidersEntryErrorsNameTheEntry(t *testing.T) {
	c := several()
	c.Providers[1].ClientAuthMethod = "private_key_jwt"
	c.Providers[1].LoginPath = "/other-start"
	c.Providers[0].CallbackPath, c.Providers[1].CallbackPath = "/cb", "/cb"
	_, err := compile(t, c)
	got := ""
	if err != nil {
		got = err.Error()
	}
	for _, want := range []string{
		"providers[1].clientPrivateKey: is required with providers[1].clientAuthMethod private_key_jwt",
		"providers[1].loginPath: must be the same in every entry (/oauth2/start)",
		"providers[1].callbackPath: must differ from providers[0].callbackPath (/cb)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in %s", want, got)
		}
	}
	if s := entryName("ask the provider. provider.issuer, providers.x", "providers[2]"); s != "ask the provider. providers[2].issuer, providers.x" {
		t.Errorf("entryName: %q", s)
	}
}
