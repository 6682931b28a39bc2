package oidc

import (
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// Multi-tenant issuers. Microsoft Entra ID's common, organizations and consumers
// endpoints publish one discovery document for every tenant, whose issuer is a
// template: "https://login.microsoftonline.com/{tenantid}/v2.0". Each token is issued
// by one tenant: its iss is the template with {tenantid} replaced by its own tid
// claim. Anyone can create a tenant, so the tenants whose users may sign in are
// listed (provider.allowedTenants), and a token passes only when its tid is one of
// them and its iss is the template filled with that very tid — not with another
// tenant's id, which would let a token of one tenant pass as another's.

// TenantPlaceholder is the placeholder of a multi-tenant issuer template.
const TenantPlaceholder = "{tenantid}"

// IsIssuerTemplate reports whether issuer is a multi-tenant template.
func IsIssuerTemplate(issuer string) bool {
	return strings.Contains(issuer, TenantPlaceholder)
}

// IssuerTenant reports whether iss is an issuer of the configuration: issuer itself
// when tenants is nil, else issuer (a template) filled with one of tenants, which it
// returns. It needs no token: the RFC 9207 iss parameter and front-channel logout's
// iss are checked with it.
func IssuerTenant(iss, issuer string, tenants []string) (string, bool) {
	if tenants == nil {
		return "", iss == issuer
	}
	i := strings.Index(issuer, TenantPlaceholder)
	if i < 0 {
		return "", false
	}
	prefix := issuer[:i]
	suffix := issuer[i+len(TenantPlaceholder):]
	if len(iss) <= len(prefix)+len(suffix) || !strings.HasPrefix(iss, prefix) || !strings.HasSuffix(iss, suffix) {
		return "", false
	}
	tid := iss[len(prefix) : len(iss)-len(suffix)]
	return tid, contains(tenants, tid)
}

// checkIssuer is the iss rule of every kind of token: iss equals the configured
// issuer, or, for a template (tenants not nil), the token's tid claim is an allowed
// tenant and iss is the template filled with it.
func checkIssuer(c jose.Claims, iss, issuer string, tenants []string) error {
	if tenants == nil {
		if iss != issuer {
			return ErrWrongIssuer
		}
		return nil
	}
	tid, _, err := jose.StringClaim(c, "tid")
	if err != nil || tid == "" || !contains(tenants, tid) {
		return ErrTenant
	}
	if iss != strings.Replace(issuer, TenantPlaceholder, tid, 1) {
		return ErrWrongIssuer
	}
	return nil
}
