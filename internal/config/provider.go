package config

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
)

// issuer compiles provider.issuer, provider.allowedTenants and provider.discoveryURL.
// An issuer with {tenantid} is a multi-tenant template (oidc/tenant.go): it needs the
// list of accepted tenants and an explicit discovery URL (the template names no
// document).
func (c *checker) issuer(in *ProviderConfig, out *ProviderOptions) {
	if u := c.httpURL("provider.issuer", in.Issuer, in.InsecureAllowHTTP, true); u != nil {
		if u.RawQuery != "" || u.Fragment != "" {
			c.fail("provider.issuer", "must not have a query or fragment (OpenID Connect Discovery 1.0 section 2)")
		}
		out.Issuer = strings.TrimSpace(in.Issuer)
	}
	template := oidc.IsIssuerTemplate(out.Issuer)
	if template {
		i := strings.Index(out.Issuer, oidc.TenantPlaceholder)
		if strings.Count(out.Issuer, oidc.TenantPlaceholder) != 1 || !strings.Contains(out.Issuer[strings.Index(out.Issuer, "://")+3:i], "/") {
			c.fail("provider.issuer", "a multi-tenant issuer has {tenantid} once, in its path, such as https://login.microsoftonline.com/{tenantid}/v2.0")
		}
	}
	tenants := c.plainList("provider.allowedTenants", in.AllowedTenants)
	switch {
	case template && len(tenants) == 0:
		c.fail("provider.allowedTenants", "is required with a provider.issuer containing {tenantid}: list the tenant ids (GUIDs) whose users may sign in; anyone can create a tenant")
	case !template && len(tenants) > 0:
		c.fail("provider.allowedTenants", "is only used with a multi-tenant provider.issuer containing {tenantid}")
	}
	for _, t := range tenants {
		if !isTenantID(t) {
			c.fail("provider.allowedTenants", "entries must be tenant ids such as 72f988bf-86f1-41af-91ab-2d7cd011db47 (letters, digits, '-', '.', '_', at most 64), got "+strconv.Quote(t))
			continue
		}
		if isGUID(t) {
			// Entra writes tenant ids in lower case, in tid and in iss alike.
			t = strings.ToLower(t)
		}
		if indexOf(out.AllowedTenants, t) < 0 {
			out.AllowedTenants = append(out.AllowedTenants, t)
		}
	}
	if u := c.httpURL("provider.discoveryURL", in.DiscoveryURL, in.InsecureAllowHTTP, false); u != nil {
		out.DiscoveryURL = u.String()
	} else if template {
		c.fail("provider.discoveryURL", "is required with a multi-tenant provider.issuer, such as https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration")
	} else if out.Issuer != "" {
		out.DiscoveryURL = strings.TrimSuffix(out.Issuer, "/") + "/.well-known/openid-configuration"
	}
}

// isTenantID reports whether s can be a tenant id: it is put into the issuer URL, so
// only letters, digits, '-', '.' and '_' (no '/', '?', '%', ...), at most 64.
func isTenantID(s string) bool {
	if s == "" || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '.' || b == '_') {
			return false
		}
	}
	return true
}

// isGUID reports whether s has the 8-4-4-4-12 hexadecimal form of a GUID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if b != '-' {
				return false
			}
			continue
		}
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F') {
			return false
		}
	}
	return true
}

// clientAuth compiles how the client authenticates at the provider:
// provider.clientAuthMethod, provider.clientSecret and the private_key_jwt options.
func (c *checker) clientAuth(in *ProviderConfig, out *ProviderOptions) {
	method := c.oneOf("provider.clientAuthMethod", strings.TrimSpace(in.ClientAuthMethod), oidc.AuthAuto,
		oidc.AuthAuto, oidc.AuthBasic, oidc.AuthPost, oidc.AuthSecretJWT, oidc.AuthPrivateKeyJWT, oidc.AuthNone)
	out.ClientAuthMethod = method
	out.ClientSecret = c.secret("provider.clientSecret", in.ClientSecret)
	keyGiven := strings.TrimSpace(in.ClientPrivateKey) != ""
	if keyGiven {
		out.ClientKey = c.clientKey(in, method)
	} else if strings.TrimSpace(in.ClientKeyID) != "" || strings.TrimSpace(in.ClientAssertionAlgorithm) != "" {
		c.fail("provider.clientKeyID", "provider.clientKeyID and provider.clientAssertionAlgorithm need provider.clientPrivateKey")
	}
	switch method {
	case oidc.AuthNone:
		if keyGiven {
			c.fail("provider.clientPrivateKey", "is not used by a public client (provider.clientAuthMethod none)")
		}
	case oidc.AuthPrivateKeyJWT:
		if !keyGiven {
			c.fail("provider.clientPrivateKey", "is required with provider.clientAuthMethod private_key_jwt: a PEM private key (RSA or EC P-256) as file:/path or env:NAME")
		}
	case oidc.AuthAuto:
		if out.ClientSecret == "" && !keyGiven {
			c.fail("provider.clientSecret", "is required unless provider.clientPrivateKey is set or provider.clientAuthMethod is none (a public client with PKCE)")
		}
	default:
		if keyGiven {
			c.fail("provider.clientPrivateKey", "is only used with provider.clientAuthMethod private_key_jwt or auto, not "+method)
		}
		if out.ClientSecret == "" {
			c.fail("provider.clientSecret", "is required with provider.clientAuthMethod "+method)
		} else if method == oidc.AuthSecretJWT && len(out.ClientSecret) < 32 {
			c.fail("provider.clientSecret", "must be at least 32 bytes to key client_secret_jwt's HS256 assertions (RFC 7518 3.2)")
		}
	}
	aud := c.oneOf("provider.clientAssertionAudience", strings.ToLower(strings.TrimSpace(in.ClientAssertionAudience)),
		oidc.AssertionAudienceEndpoint, oidc.AssertionAudienceEndpoint, oidc.AssertionAudienceIssuer)
	if aud == oidc.AssertionAudienceIssuer && oidc.IsIssuerTemplate(out.Issuer) {
		c.fail("provider.clientAssertionAudience", "issuer cannot be used with a multi-tenant provider.issuer (a template is nobody's issuer); use endpoint")
	}
	out.AssertionAudience = aud
}

// clientKey reads provider.clientPrivateKey: PEM with one unencrypted private key
// (PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY") and
// optionally the key's certificate (whose thumbprints are then sent as x5t and
// x5t#S256, as Microsoft Entra ID wants).
func (c *checker) clientKey(in *ProviderConfig, method string) *oidc.AssertionKey {
	const opt = "provider.clientPrivateKey"
	raw := c.secret(opt, in.ClientPrivateKey)
	if raw == "" {
		return nil
	}
	var signer crypto.Signer
	var cert *x509.Certificate
	rest := []byte(raw)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			if cert == nil {
				parsed, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					c.fail(opt, "holds a certificate that does not parse: "+err.Error())
					return nil
				}
				cert = parsed
			}
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
			c.fail(opt, "must not be encrypted: give the key in clear through a file or environment variable only Traefik can read")
			return nil
		}
		k, problem := parsePrivateKey(block)
		if problem != "" {
			c.fail(opt, problem)
			return nil
		}
		if k == nil {
			continue
		}
		if signer != nil {
			c.fail(opt, "holds more than one private key; give exactly one")
			return nil
		}
		signer = k
	}
	if signer == nil {
		c.fail(opt, "holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)")
		return nil
	}
	alg := strings.ToUpper(strings.TrimSpace(in.ClientAssertionAlgorithm))
	if alg != "" && alg != "RS256" && alg != "PS256" && alg != "ES256" {
		c.fail("provider.clientAssertionAlgorithm", "must be RS256, PS256 or ES256 (or empty: chosen from the key and the provider), got "+strconv.Quote(in.ClientAssertionAlgorithm))
		return nil
	}
	kid := strings.TrimSpace(in.ClientKeyID)
	if kid != "" && (!printable(kid) || len(kid) > 256) {
		c.fail("provider.clientKeyID", "must be printable text of at most 256 bytes")
		return nil
	}
	k, err := oidc.NewAssertionKey(signer, alg, kid, cert)
	if err != nil {
		c.fail(opt, err.Error())
		return nil
	}
	return k
}

// parsePrivateKey parses one PEM private key block; it returns nil and no problem for
// a block of another type. (One return per case: no interface variable assigned from
// several calls, which keeps the interpreter's conversions out of it.)
func parsePrivateKey(block *pem.Block) (crypto.Signer, string) {
	switch block.Type {
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errKeyBlock(block.Type, err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, "holds a key that cannot sign"
		}
		return s, ""
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errKeyBlock(block.Type, err)
		}
		return key, ""
	case "EC PRIVATE KEY":
		key, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, errKeyBlock(block.Type, err)
		}
		return key, ""
	}
	return nil, ""
}

func errKeyBlock(typ string, err error) string {
	return "holds a " + typ + " block that does not parse: " + err.Error()
}
