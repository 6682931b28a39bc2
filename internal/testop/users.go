package testop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"net/url"
	"strings"
)

// User is an account at the provider.
type User struct {
	// Username is what the login form and login_hint take; it is also
	// preferred_username.
	Username string
	// Password is checked by the login form.
	Password string
	// Subject is the sub claim; "usr_" + Username when empty.
	Subject string
	// Email and EmailVerified become the email and email_verified claims (email is
	// omitted when empty).
	Email         string
	EmailVerified bool
	// Name is the name claim (omitted when empty).
	Name string
	// Groups is the groups claim (omitted when empty).
	Groups []string
	// Roles is the roles claim and also realm_access.roles, as Keycloak nests them
	// (both omitted when empty).
	Roles []string
	// Claims are added to ID tokens, access tokens and userinfo, last, so they may
	// replace the ones above; a nil value removes a claim.
	Claims map[string]any
	// Tenant is the user's tenant with Options.MultiTenant: the tid claim, and the
	// id in the iss of the user's tokens. DefaultTenantID when empty.
	Tenant string
}

// Client is a registered relying party or machine client.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret; empty makes a public client, which authenticates
	// with token_endpoint_auth_method "none" and must use PKCE.
	Secret string
	// AuthMethod restricts client authentication to "client_secret_basic",
	// "client_secret_post", "client_secret_jwt" (an HS256 assertion keyed with
	// Secret) or "private_key_jwt" (an assertion signed by one of AssertionKeys);
	// empty accepts the first two and, when the client has them, the assertion
	// methods too (and "none" for public clients).
	AuthMethod string
	// AssertionKeys are the public keys (*rsa.PublicKey, *ecdsa.PublicKey) whose
	// private_key_jwt assertions authenticate the client (RFC 7523). A client with
	// keys and no Secret is confidential.
	AssertionKeys []crypto.PublicKey
	// AssertionAudience is what a client assertion's aud must be: "" accepts the
	// issuer, the token endpoint's URL or the URL of the endpoint called (as Keycloak
	// does); "issuer" only the issuer; "endpoint" only the URL of the endpoint called
	// (as Okta does).
	AssertionAudience string
	// RedirectURIs are compared exactly (RFC 9700 section 2.1).
	RedirectURIs []string
	// RedirectURIPrefixes is a test convenience: any redirect_uri starting with one of
	// these is accepted, so relying parties on random loopback ports need no
	// registration. Real providers do not do this.
	RedirectURIPrefixes []string
	// PostLogoutRedirectURIs and PostLogoutRedirectURIPrefixes do the same for the
	// end-session endpoint's post_logout_redirect_uri.
	PostLogoutRedirectURIs        []string
	PostLogoutRedirectURIPrefixes []string
	// BackchannelLogoutURI, when set, receives a logout token whenever a provider
	// session this client took part in ends (end-session endpoint, EndUserSessions).
	BackchannelLogoutURI string
	// FrontchannelLogoutURI, when set, is framed (with iss and sid) by the page the
	// end-session endpoint shows.
	FrontchannelLogoutURI string
	// GrantTypes the client may use: "authorization_code", "refresh_token",
	// "client_credentials". Empty means authorization_code and refresh_token.
	GrantTypes []string
	// Scopes a client-credentials request may ask for; empty allows any. A request
	// without scope gets all of them.
	Scopes []string
	// Audiences are the aud of the access tokens issued to this client. A
	// client-credentials request may narrow them with the audience or resource
	// (RFC 8707) parameter; when Audiences is empty, any requested audience is
	// accepted and the default is the client id.
	Audiences []string
	// Roles go into the roles claim of client-credentials tokens.
	Roles []string
	// AccessTokenType is the typ header of JWT access tokens: "at+jwt" (RFC 9068) when
	// empty; "-" omits typ; anything else is used as is (e.g. "JWT").
	AccessTokenType string
	// OpaqueAccessTokens makes the token endpoint issue random opaque access tokens
	// (only introspection can check them) instead of JWTs.
	OpaqueAccessTokens bool
	// AccessTokenClaims are added to every access token of this client, last; a nil
	// value removes a claim the provider would set (e.g. "azp": nil).
	AccessTokenClaims map[string]any
}

// Default account and client names, secrets and audiences. The package doc lists them
// with their claims.
const (
	// DefaultClientID is the confidential browser client, registered for any
	// http://127.0.0.1:* and http://localhost:* redirect URI.
	DefaultClientID     = "gatehouse"
	DefaultClientSecret = "gatehouse-client-secret"
	// PublicClientID is a public browser client (no secret, PKCE required).
	PublicClientID = "gatehouse-public"
	// MachineClientID is a client-credentials client whose tokens carry
	// aud DefaultAudience.
	MachineClientID     = "svc-orders"
	MachineClientSecret = "svc-orders-secret"
	// MultiAudienceClientID is a client-credentials client whose tokens carry two
	// audiences (DefaultAudience and "reports-api") and azp.
	MultiAudienceClientID     = "svc-reports"
	MultiAudienceClientSecret = "svc-reports-secret"
	// IntrospectionClientID is a confidential client allowed only to call
	// introspection and revocation (a resource server's credentials).
	IntrospectionClientID     = "gatehouse-rs"
	IntrospectionClientSecret = "gatehouse-rs-secret"
	// DefaultAudience is the resource audience of machine tokens: configure it as
	// bearer.audience.
	DefaultAudience = "gatehouse-api"
)

// DefaultUsers returns the built-in accounts (a new copy each call).
//
//	alice / alice-password   alice@example.com (verified), groups engineering, admins;
//	                         roles admin, user
//	bob   / bob-password     bob@example.com (verified), groups sales; roles user
//	carol / carol-password   carol@example.net (NOT verified), groups sales; roles user
//	dave  / dave-password    dave@partner.example (verified), no groups, no roles
//	grace / grace-password   grace@example.com (verified), 200 groups group-000 …
//	                         group-199; roles user
//
// and the accounts of the identity attacks (sub "usr_" + a plain name for each):
//
//	mallory / mallory-password  alice@example.com, NOT verified (someone else's
//	                            address): groups sales; roles user
//	eve     / eve-password      eve@example.net (verified); upn "alice@example.com",
//	                            an email-shaped claim that is not her email
//	kate    / kate-password     kate@example.com (verified)
//	"\u212Aate" / kelvin-password  the Kelvin sign K (U+212A) then "ate", which
//	                            strings.ToLower turns into "kate"; kelvin@example.com
//	                            (verified), sub usr_kelvin
//	sam     / sam-password      sam@example.com (verified); groups "sales,admins",
//	                            " admins", staff; roles user, "admin,auditor"
func DefaultUsers() []User {
	many := make([]string, 200)
	for i := range many {
		many[i] = fmt.Sprintf("group-%03d", i)
	}
	return []User{
		{Username: "alice", Password: "alice-password", Email: "alice@example.com", EmailVerified: true,
			Name: "Alice Example", Groups: []string{"engineering", "admins"}, Roles: []string{"admin", "user"}},
		{Username: "bob", Password: "bob-password", Email: "bob@example.com", EmailVerified: true,
			Name: "Bob Example", Groups: []string{"sales"}, Roles: []string{"user"}},
		{Username: "carol", Password: "carol-password", Email: "carol@example.net", EmailVerified: false,
			Name: "Carol Unverified", Groups: []string{"sales"}, Roles: []string{"user"}},
		{Username: "dave", Password: "dave-password", Email: "dave@partner.example", EmailVerified: true,
			Name: "Dave Partner"},
		{Username: "grace", Password: "grace-password", Email: "grace@example.com", EmailVerified: true,
			Name: "Grace Manygroups", Groups: many, Roles: []string{"user"}},
		{Username: "mallory", Password: "mallory-password", Email: "alice@example.com", EmailVerified: false,
			Name: "Mallory Unverified", Groups: []string{"sales"}, Roles: []string{"user"}},
		{Username: "eve", Password: "eve-password", Email: "eve@example.net", EmailVerified: true,
			Name: "Eve Lookalike", Claims: map[string]any{"upn": "alice@example.com"}},
		{Username: "kate", Password: "kate-password", Email: "kate@example.com", EmailVerified: true, Name: "Kate Example"},
		{Username: "\u212Aate", Password: "kelvin-password", Subject: "usr_kelvin", Email: "kelvin@example.com", EmailVerified: true,
			Name: "Kelvin Sign"},
		{Username: "sam", Password: "sam-password", Email: "sam@example.com", EmailVerified: true, Name: "Sam Commas",
			Groups: []string{"sales,admins", " admins", "staff"}, Roles: []string{"user", "admin,auditor"}},
	}
}

// DefaultClients returns the built-in clients (a new copy each call).
func DefaultClients() []Client {
	loopback := []string{"http://127.0.0.1:", "http://localhost:", "https://127.0.0.1:", "https://localhost:"}
	return []Client{
		{ID: DefaultClientID, Secret: DefaultClientSecret,
			RedirectURIPrefixes: loopback, PostLogoutRedirectURIPrefixes: loopback},
		{ID: PublicClientID,
			RedirectURIPrefixes: loopback, PostLogoutRedirectURIPrefixes: loopback},
		{ID: MachineClientID, Secret: MachineClientSecret,
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"orders.read", "orders.write"},
			Audiences: []string{DefaultAudience}, Roles: []string{"orders-service"}},
		{ID: MultiAudienceClientID, Secret: MultiAudienceClientSecret,
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"reports.read"},
			Audiences: []string{DefaultAudience, "reports-api"}, Roles: []string{"reporter"}},
		{ID: IntrospectionClientID, Secret: IntrospectionClientSecret,
			GrantTypes: []string{"client_credentials"}},
	}
}

// copyUser returns u with defaults filled and its slices and map copied, so the
// caller's value can change without touching the provider.
func copyUser(u User) (User, error) {
	if strings.TrimSpace(u.Username) == "" {
		return u, fmt.Errorf("testop: user: Username must not be empty")
	}
	if u.Subject == "" {
		u.Subject = "usr_" + u.Username
	}
	u.Groups = append([]string(nil), u.Groups...)
	u.Roles = append([]string(nil), u.Roles...)
	u.Claims = copyMap(u.Claims)
	return u, nil
}

func copyClient(c Client) (Client, error) {
	if strings.TrimSpace(c.ID) == "" {
		return c, fmt.Errorf("testop: client: ID must not be empty")
	}
	switch c.AuthMethod {
	case "", "client_secret_basic", "client_secret_post":
	case "client_secret_jwt":
		if len(c.Secret) < 32 {
			return c, fmt.Errorf("testop: client %q: client_secret_jwt needs a Secret of at least 32 bytes", c.ID)
		}
	case "private_key_jwt":
		if len(c.AssertionKeys) == 0 {
			return c, fmt.Errorf("testop: client %q: private_key_jwt needs AssertionKeys", c.ID)
		}
	case "none":
		if c.Secret != "" {
			return c, fmt.Errorf("testop: client %q: AuthMethod none needs an empty Secret", c.ID)
		}
	default:
		return c, fmt.Errorf("testop: client %q: AuthMethod must be client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt or none, got %q", c.ID, c.AuthMethod)
	}
	switch c.AssertionAudience {
	case "", "issuer", "endpoint":
	default:
		return c, fmt.Errorf("testop: client %q: AssertionAudience must be empty, issuer or endpoint, got %q", c.ID, c.AssertionAudience)
	}
	for _, k := range c.AssertionKeys {
		switch k.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			return c, fmt.Errorf("testop: client %q: AssertionKeys must be RSA or ECDSA public keys, got %T", c.ID, k)
		}
	}
	for _, g := range c.GrantTypes {
		switch g {
		case "authorization_code", "refresh_token", "client_credentials":
		default:
			return c, fmt.Errorf("testop: client %q: grant type %q is not supported", c.ID, g)
		}
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	if c.public() && hasString(c.GrantTypes, "client_credentials") {
		return c, fmt.Errorf("testop: client %q: client_credentials needs a Secret", c.ID)
	}
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	c.RedirectURIPrefixes = append([]string(nil), c.RedirectURIPrefixes...)
	c.PostLogoutRedirectURIs = append([]string(nil), c.PostLogoutRedirectURIs...)
	c.PostLogoutRedirectURIPrefixes = append([]string(nil), c.PostLogoutRedirectURIPrefixes...)
	c.GrantTypes = append([]string(nil), c.GrantTypes...)
	c.Scopes = append([]string(nil), c.Scopes...)
	c.Audiences = append([]string(nil), c.Audiences...)
	c.Roles = append([]string(nil), c.Roles...)
	c.AccessTokenClaims = copyMap(c.AccessTokenClaims)
	c.AssertionKeys = append([]crypto.PublicKey(nil), c.AssertionKeys...)
	return c, nil
}

func (c *Client) public() bool { return c.Secret == "" && len(c.AssertionKeys) == 0 }

func (c *Client) allowsGrant(g string) bool { return hasString(c.GrantTypes, g) }

func (c *Client) allowsRedirect(uri string) bool {
	return matchRegistered(uri, c.RedirectURIs, c.RedirectURIPrefixes)
}

func (c *Client) allowsPostLogout(uri string) bool {
	return matchRegistered(uri, c.PostLogoutRedirectURIs, c.PostLogoutRedirectURIPrefixes)
}

// matchRegistered compares exactly against exact, or against prefixes. A prefix
// ending in ":" (e.g. "http://127.0.0.1:") stands for any port on that scheme and
// host; any other prefix must also keep the host. A URI with a fragment or userinfo
// never matches a prefix (RFC 6749 section 3.1.2), so "http://127.0.0.1:1@evil.example"
// and "http://localhost.evil.example" do not slip through.
func matchRegistered(uri string, exact, prefixes []string) bool {
	if uri == "" {
		return false
	}
	if hasString(exact, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.User != nil || u.Fragment != "" || strings.Contains(uri, "#") || !u.IsAbs() {
		return false
	}
	for _, p := range prefixes {
		if p == "" {
			continue
		}
		if strings.HasSuffix(p, ":") {
			port := u.Port()
			if u.Scheme+"://"+u.Host == strings.TrimSuffix(p, ":")+":"+port && port != "" && allDigits(port) {
				return true
			}
			continue
		}
		pu, err := url.Parse(p)
		if err == nil && strings.HasPrefix(uri, p) && pu.Host == u.Host {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hasString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// userClaims are the identity claims of u, as ID tokens, access tokens and userinfo
// carry them.
func userClaims(u *User) map[string]any {
	c := map[string]any{
		"sub":                u.Subject,
		"preferred_username": u.Username,
	}
	if u.Email != "" {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	if u.Name != "" {
		c["name"] = u.Name
	}
	if len(u.Groups) > 0 {
		c["groups"] = append([]string(nil), u.Groups...)
	}
	if len(u.Roles) > 0 {
		c["roles"] = append([]string(nil), u.Roles...)
		c["realm_access"] = map[string]any{"roles": append([]string(nil), u.Roles...)}
	}
	mergeClaims(c, u.Claims)
	return c
}

// mergeClaims copies extra into c; a nil value deletes the claim.
func mergeClaims(c, extra map[string]any) {
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
}
