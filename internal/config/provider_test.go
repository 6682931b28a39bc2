package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

const entraTemplate = "https://login.microsoftonline.com/{tenantid}/v2.0"

// writeKey writes pem to a file and returns its file: reference.
func writeKey(t *testing.T, pem []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(f, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return "file:" + f
}

// TestProviderOptionsOfOtherProvidersAreRefusedWhenMalformed: the options of client
// authentication by assertion, multi-tenant issuers, userinfo and the hosted-domain
// check each fail with an error naming the option.
func TestProviderOptionsOfOtherProvidersAreRefusedWhenMalformed(t *testing.T) {
	rsaKey, err := testop.NewClientKey("RSA")
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := testop.NewClientKey("EC")
	if err != nil {
		t.Fatal(err)
	}
	encrypted := []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBAA==\n-----END ENCRYPTED PRIVATE KEY-----\n")
	two := append(append([]byte{}, rsaKey.PKCS8PEM...), ecKey.PKCS8PEM...)
	wrongCert := append(append([]byte{}, rsaKey.PKCS8PEM...), ecKey.CertificatePEM...)
	cases := []struct {
		option string
		mutate func(c *Config)
	}{
		{"provider.clientPrivateKey", func(c *Config) { c.Provider.ClientAuthMethod = "private_key_jwt" }},
		{"provider.clientPrivateKey", func(c *Config) { c.Provider.ClientPrivateKey = writeKey(t, []byte("not pem")) }},
		{"provider.clientPrivateKey", func(c *Config) { c.Provider.ClientPrivateKey = writeKey(t, encrypted) }},
		{"provider.clientPrivateKey", func(c *Config) { c.Provider.ClientPrivateKey = writeKey(t, two) }},
		{"provider.clientPrivateKey", func(c *Config) { c.Provider.ClientPrivateKey = writeKey(t, wrongCert) }},
		{"provider.clientPrivateKey", func(c *Config) { c.Provider.ClientPrivateKey = writeKey(t, ecKey.CertificatePEM) }},
		{"provider.clientPrivateKey", func(c *Config) {
			c.Provider.ClientAuthMethod = "client_secret_post"
			c.Provider.ClientPrivateKey = writeKey(t, ecKey.PKCS8PEM)
		}},
		{"provider.clientPrivateKey", func(c *Config) { c.Provider.ClientPrivateKey = "env:GH_UNSET_VARIABLE" }},
		{"provider.clientAssertionAlgorithm", func(c *Config) {
			c.Provider.ClientPrivateKey = writeKey(t, ecKey.PKCS8PEM)
			c.Provider.ClientAssertionAlgorithm = "HS256"
		}},
		{"provider.clientPrivateKey", func(c *Config) {
			c.Provider.ClientPrivateKey = writeKey(t, ecKey.PKCS8PEM)
			c.Provider.ClientAssertionAlgorithm = "RS256"
		}},
		{"provider.clientKeyID", func(c *Config) { c.Provider.ClientKeyID = "kid-without-a-key" }},
		{"provider.clientSecret", func(c *Config) { c.Provider.ClientAuthMethod = "client_secret_jwt"; c.Provider.ClientSecret = "short" }},
		{"provider.clientSecret", func(c *Config) { c.Provider.ClientAuthMethod = "client_secret_basic"; c.Provider.ClientSecret = "" }},
		{"provider.clientAssertionAudience", func(c *Config) { c.Provider.ClientAssertionAudience = "tokenendpoint" }},
		{"provider.clientAssertionAudience", func(c *Config) {
			c.Provider.Issuer = entraTemplate
			c.Provider.DiscoveryURL = "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"
			c.Provider.AllowedTenants = []string{testop.DefaultTenantID}
			c.Provider.ClientAssertionAudience = "issuer"
		}},
		{"provider.allowedTenants", func(c *Config) {
			c.Provider.Issuer = entraTemplate
			c.Provider.DiscoveryURL = "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
		}},
		{"provider.allowedTenants", func(c *Config) { c.Provider.AllowedTenants = []string{testop.DefaultTenantID} }},
		{"provider.allowedTenants", func(c *Config) {
			c.Provider.Issuer = entraTemplate
			c.Provider.DiscoveryURL = "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
			c.Provider.AllowedTenants = []string{"../evil"}
		}},
		{"provider.discoveryURL", func(c *Config) {
			c.Provider.Issuer = entraTemplate
			c.Provider.AllowedTenants = []string{testop.DefaultTenantID}
		}},
		{"provider.issuer", func(c *Config) {
			c.Provider.Issuer = "https://login.example.com/{tenantid}/{tenantid}"
			c.Provider.DiscoveryURL = "https://login.example.com/common/.well-known/openid-configuration"
			c.Provider.AllowedTenants = []string{testop.DefaultTenantID}
		}},
		{"provider.userinfo", func(c *Config) { c.Provider.Userinfo = "on" }},
		{"provider.checkHostedDomain", func(c *Config) { c.Provider.CheckHostedDomain = true }},
		{"bearer.introspection.clientSecret", func(c *Config) {
			c.Provider.ClientSecret = ""
			c.Provider.ClientPrivateKey = writeKey(t, ecKey.PKCS8PEM)
			c.Bearer.Enabled = true
			c.Bearer.Audience = "api"
			c.Bearer.Introspection.Enabled = true
			c.Bearer.Introspection.ClientID = "resource-server"
		}},
	}
	for i, tc := range cases {
		c := valid()
		tc.mutate(c)
		_, err := compile(t, c)
		if err == nil {
			t.Errorf("case %d (%s): accepted", i, tc.option)
			continue
		}
		if !strings.Contains(err.Error(), tc.option+":") {
			t.Errorf("case %d: error does not name %s: %v", i, tc.option, err)
		}
	}
}

// TestPrivateKeyInEveryPEMFormCompiles: PKCS#8, PKCS#1 and SEC 1 keys, with or
// without their certificate, give an assertion key whose kid is the configured one
// or the thumbprint; without a secret, introspection as the same client uses it.
func TestPrivateKeyInEveryPEMFormCompiles(t *testing.T) {
	for _, kind := range []string{"RSA", "EC"} {
		k, err := testop.NewClientKey(kind)
		if err != nil {
			t.Fatal(err)
		}
		for name, pem := range map[string][]byte{"PKCS#8": k.PKCS8PEM, "legacy": k.LegacyPEM, "with certificate": append(append([]byte{}, k.CertificatePEM...), k.PKCS8PEM...)} {
			c := valid()
			c.Provider.ClientSecret = ""
			c.Provider.ClientPrivateKey = writeKey(t, pem)
			c.Bearer.Enabled = true
			c.Bearer.Audience = "api"
			c.Bearer.Introspection.Enabled = true
			if name == "legacy" {
				c.Provider.ClientKeyID = "registered-kid"
			}
			o, err := compile(t, c)
			if err != nil {
				t.Fatalf("%s %s: %v", kind, name, err)
			}
			ck := o.Provider.ClientKey
			if ck == nil || ck.KeyID == "" || (name == "legacy") != (ck.KeyID == "registered-kid") || (name == "with certificate") != (ck.X5T != "") {
				t.Errorf("%s %s: key %+v", kind, name, ck)
			}
			if o.Provider.ClientAuthMethod != "auto" || o.Bearer.Introspection.OwnCredentials {
				t.Errorf("%s %s: method %s, introspection's own credentials %v", kind, name, o.Provider.ClientAuthMethod, o.Bearer.Introspection.OwnCredentials)
			}
		}
	}
}

// TestMultiTenantIssuerCompiles: the template, its discovery URL and tenants (GUIDs
// in lower case, duplicates once).
func TestMultiTenantIssuerCompiles(t *testing.T) {
	c := valid()
	c.Provider.Issuer = entraTemplate
	c.Provider.DiscoveryURL = "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"
	c.Provider.AllowedTenants = []string{strings.ToUpper(testop.SecondTenantID), testop.SecondTenantID, "contoso.onmicrosoft.com"}
	o, err := compile(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Provider.Issuer != entraTemplate || strings.Join(o.Provider.AllowedTenants, " ") != testop.SecondTenantID+" contoso.onmicrosoft.com" {
		t.Fatalf("issuer %s tenants %v", o.Provider.Issuer, o.Provider.AllowedTenants)
	}
}
