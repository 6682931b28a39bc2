package config

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe"
)

// Several providers in one middleware: providers: lists provider blocks, each with an
// id and, to choose it for a request, hosts and a path prefix. The middleware runs
// one instance per entry, each with its own session cookie (<session.cookieName>_<id>),
// callback path and logout endpoints, so that nothing one provider issued is ever
// accepted for another.

// EntryOnlyProviderOptions are the options of a providers entry that a single
// provider: block does not take.
var EntryOnlyProviderOptions = []string{"id", "title", "hosts", "pathPrefix"}

// ProviderEntry is one compiled entry of providers.
type ProviderEntry struct {
	// ID is the entry's short name: [a-z0-9][a-z0-9-]*, at most 32 characters.
	ID string
	// Title is its label on the sign-in chooser (the id when not given).
	Title string
	// Hosts are the hosts it serves, compiled by reqsafe.HostPattern (nil: any).
	Hosts []string
	// PathPrefix is the canonical path prefix it serves ("": any).
	PathPrefix string
	// Provider is its provider options; CallbackPath defaults to
	// /oauth2/callback/<id>.
	Provider ProviderOptions
}

// maxProviders bounds providers: the chooser lists them all on one page.
const maxProviders = 16

// providers compiles providers: every entry as provider: is compiled, its problems
// named providers[i].option, and what chooses an entry.
func (c *checker) providers(cfg *Config, o *Options) {
	if providerGiven(&cfg.Provider) {
		c.fail("providers", "provider and providers are mutually exclusive: give one provider: block, or every provider as an entry of providers:")
	}
	if len(cfg.Providers) > maxProviders {
		c.fail("providers", "at most "+strconv.Itoa(maxProviders)+" entries, got "+strconv.Itoa(len(cfg.Providers)))
	}
	ids := map[string]string{}
	for i := range cfg.Providers {
		name := "providers[" + strconv.Itoa(i) + "]"
		in := cfg.Providers[i]
		e := ProviderEntry{ID: strings.TrimSpace(in.ID)}
		if !isProviderID(e.ID) {
			c.fail(name+".id", "is required: a short name of lower-case letters, digits and '-' (at most 32, starting with a letter or digit) such as corp, got "+strconv.Quote(in.ID))
		} else if prev, dup := ids[e.ID]; dup {
			c.fail(name+".id", "repeats the id of "+prev+" ("+e.ID+"); every entry needs its own")
		} else {
			ids[e.ID] = name
		}
		entryDefaults(&in, e.ID)
		sub := &checker{env: c.env}
		sub.provider(&in, &e.Provider)
		c.adopt(sub, name)
		e.Title = strings.TrimSpace(in.Title)
		if e.Title == "" {
			e.Title = e.ID
		}
		if len(e.Title) > 100 || !printable(e.Title) {
			c.fail(name+".title", "must be printable text of at most 100 bytes, got "+strconv.Quote(in.Title))
		}
		for _, h := range in.Hosts {
			if strings.TrimSpace(h) == "" {
				continue
			}
			p, problem := reqsafe.HostPattern(h)
			if problem != "" {
				c.fail(name+".hosts", problem+", got "+strconv.Quote(h))
				continue
			}
			e.Hosts = append(e.Hosts, p)
		}
		if p := strings.TrimSpace(in.PathPrefix); p != "" {
			if !reqsafe.ValidPrefix(p) || p == "/" {
				c.fail(name+".pathPrefix", "must be a canonical path prefix other than / such as /app/ "+
					"(printable ASCII; no ;, \\, %, ?, #, //, . or .. segments), got "+strconv.Quote(p))
			}
			e.PathPrefix = p
		}
		o.Providers = append(o.Providers, e)
	}
	if len(o.Providers) > 0 {
		o.Provider = o.Providers[0].Provider
	}
	o.ChooserPath = c.path("chooserPath", cfg.ChooserPath, true)
}

// providerGiven reports whether the provider: block holds anything but defaults.
func providerGiven(in *ProviderConfig) bool {
	given := *in
	given.Unknown = nil
	return !reflect.DeepEqual(given, Default().Provider)
}

// entryDefaults fills in an entry's defaults: Traefik decodes a list's entries from
// zero values, not over Default's. PKCE is always on in an entry: its default is true
// and a false there cannot be told apart from one left out.
func entryDefaults(in *ProviderConfig, id string) {
	d := Default().Provider
	d.CallbackPath += "/" + id
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&in.ClientAuthMethod, d.ClientAuthMethod}, {&in.ClientAssertionAudience, d.ClientAssertionAudience},
		{&in.Userinfo, d.Userinfo}, {&in.CallbackPath, d.CallbackPath}, {&in.LoginPath, d.LoginPath},
		{&in.ClockSkew, d.ClockSkew}, {&in.HTTPTimeout, d.HTTPTimeout}, {&in.JWKSMinRefresh, d.JWKSMinRefresh},
		{&in.JWKSMinCache, d.JWKSMinCache}, {&in.JWKSMaxCache, d.JWKSMaxCache}, {&in.UserClaim, d.UserClaim},
	} {
		if strings.TrimSpace(*f.v) == "" {
			*f.v = f.def
		}
	}
	in.PKCE = true
}

// entryOnly refuses the options only an entry of providers takes in provider:.
func (c *checker) entryOnly(in *ProviderConfig) {
	for i, set := range []bool{in.ID != "", in.Title != "", len(in.Hosts) > 0, in.PathPrefix != ""} {
		if set {
			c.fail("provider."+EntryOnlyProviderOptions[i], "is only used in an entry of providers:, which lists several providers")
		}
	}
}

// adopt takes the problems of sub, a checker that compiled one providers entry as
// provider:, naming them after the entry (name, "providers[1]").
func (c *checker) adopt(sub *checker, name string) {
	for _, p := range sub.problems {
		c.fail(entryName(p.Option, name), entryName(p.Message, name))
	}
}

// entryName replaces every option name "provider.x" in s with name+".x".
func entryName(s, name string) string {
	const prefix = "provider."
	var b strings.Builder
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(prefix)
		option := end < len(s) && s[end] >= 'a' && s[end] <= 'z' && (i == 0 || !isLetter(s[i-1]))
		b.WriteString(s[:i])
		if option {
			b.WriteString(name + ".")
		} else {
			b.WriteString(prefix)
		}
		s = s[end:]
	}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// isProviderID reports whether s is a providers entry's id.
func isProviderID(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// entryChecks runs check on every entry of providers as if it were provider: (on a
// copy of o), naming the problems after the entry; with a single provider, on o.
func (c *checker) entryChecks(o *Options, check func(c *checker, o *Options)) {
	if len(o.Providers) == 0 {
		check(c, o)
		return
	}
	for i, e := range o.Providers {
		one := *o
		one.Provider = e.Provider
		sub := &checker{env: c.env}
		check(sub, &one)
		c.adopt(sub, "providers["+strconv.Itoa(i)+"]")
	}
}
