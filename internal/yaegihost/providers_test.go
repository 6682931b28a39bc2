package yaegihost

import (
	"crypto"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// What the providers people run need beyond the basics, end to end through the
// interpreter and compiled: userinfo merged into the identity, client authentication
// by signed assertion (private_key_jwt, client_secret_jwt) or as discovery says,
// multi-tenant issuers (Microsoft Entra ID), Google's hosted domain, and the
// capability report at discovery.

var loopbackPrefixes = []string{"http://127.0.0.1:", "http://localhost:"}

// refreshingConfig makes every request after the sign-in refresh the session: the
// refresh grace (1h) exceeds the access token's lifetime (the test provider's 5m).
func refreshingConfig(cfg map[string]any) map[string]any {
	group(cfg, "session")["refreshGrace"] = "1h"
	return cfg
}

// TestGroupsOnlyInUserinfoReachRulesAndHeaders: the provider puts groups in userinfo
// only. Without provider.userinfo the allowedGroups rule refuses alice; with merge
// her groups pass the rule and reach the backend, userinfo is asked once at sign-in
// (not per request) and once more at each refresh.
func TestGroupsOnlyInUserinfoReachRulesAndHeaders(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{UserinfoOnlyClaims: []string{"groups"}})
		cfg := rpConfig(op)
		group(cfg, "authorization")["allowedGroups"] = "admins"
		off := startGatehouse(t, md, cfg, "userinfo-off@file")
		if p := newBrowser().get(t, off.URL+"/x"); p.status != http.StatusForbidden || op.Count("userinfo") != 0 {
			t.Fatalf("without userinfo: %d (userinfo calls %d)\n%s", p.status, op.Count("userinfo"), p.body)
		}

		group(cfg, "provider")["userinfo"] = "merge"
		srv := startGatehouse(t, md, cfg, "userinfo@file")
		op.ResetCounts()
		b := newBrowser()
		for _, path := range []string{"/a", "/b", "/c"} {
			mustContain(t, "with userinfo "+path, b.get(t, srv.URL+path), "backend "+path, "X-Forwarded-Groups: engineering,admins")
		}
		if op.Count("userinfo") != 1 {
			t.Fatalf("userinfo asked %d times for one sign-in and three requests", op.Count("userinfo"))
		}

		// Here every request refreshes, the one the sign-in lands on included.
		refreshing := startGatehouse(t, md, refreshingConfig(cfg), "userinfo-refresh@file")
		op.ResetCounts()
		b = newBrowser()
		for i, path := range []string{"/a", "/b"} {
			mustContain(t, "refreshed "+path, b.get(t, refreshing.URL+path), "X-Forwarded-Groups: engineering,admins")
			if op.Count("token:refresh_token") != i+1 || op.Count("userinfo") != i+2 {
				t.Fatalf("%s: %d refreshes, %d userinfo calls", path, op.Count("token:refresh_token"), op.Count("userinfo"))
			}
		}
	})
}

// userinfoStack is a provider that serves groups from userinfo only, and Gatehouse
// merging userinfo and refreshing on every request.
func userinfoStack(t *testing.T, md mode, name string) (*testop.Provider, *httptest.Server) {
	t.Helper()
	op := newOP(t, testop.Options{UserinfoOnlyClaims: []string{"groups"}})
	cfg := rpConfig(op)
	group(cfg, "provider")["userinfo"] = "merge"
	return op, startGatehouse(t, md, refreshingConfig(cfg), name)
}

// TestUserinfoAboutAnotherSubjectIsRefused: a userinfo answer whose sub is not the ID
// token's (OIDC Core 5.3.2) fails the sign-in — plain or signed — and, at a refresh,
// ends the session; nothing of it reaches the backend.
func TestUserinfoAboutAnotherSubjectIsRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op, srv := userinfoStack(t, md, "userinfo-sub@file")
		for _, signed := range []bool{false, true} {
			op.SetSignedUserinfo(signed)
			op.SetMisbehaviour(testop.UserinfoWrongSubject)
			b := newBrowser()
			p := b.get(t, srv.URL+"/x")
			if p.status != http.StatusUnauthorized || strings.Contains(p.body, "backend ") || len(sessionCookies(b, srv.URL)) != 0 {
				t.Fatalf("signed %v: sign-in with another subject's userinfo: %d\n%s", signed, p.status, p.body)
			}
			op.SetMisbehaviour(0)
			mustContain(t, "a good sign-in", b.get(t, srv.URL+"/y"), "X-Forwarded-Groups: engineering,admins")
			op.SetMisbehaviour(testop.UserinfoWrongSubject)
			resp := b.once(t, srv.URL+"/z")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), op.URL()) || !sessionCleared(resp) {
				t.Fatalf("signed %v: a refresh with another subject's userinfo: %d %q", signed, resp.StatusCode, resp.Header.Get("Location"))
			}
			op.SetMisbehaviour(0)
		}
	})
}

// TestSignedUserinfoIsVerifiedAndMerged: an application/jwt userinfo answer is
// verified with the provider's keys and its claims merged; its email_verified, for the
// ID token's own address, makes that address the user.
func TestSignedUserinfoIsVerifiedAndMerged(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{UserinfoOnlyClaims: []string{"groups", "roles", "email_verified"}, SignedUserinfo: true})
		cfg := rpConfig(op)
		group(cfg, "provider")["userinfo"] = "merge"
		group(cfg, "authorization")["allowedRoles"] = "admin"
		srv := startGatehouse(t, md, cfg, "userinfo-jwt@file")
		mustContain(t, "signed userinfo", newBrowser().get(t, srv.URL+"/x"), "backend /x", "X-Forwarded-User: alice@example.com",
			"X-Forwarded-Groups: engineering,admins", "X-Forwarded-Roles: admin,user")
	})
}

// TestUserinfoFailureFailsTheSignInAndKeepsTheIdentityAtRefresh: a userinfo endpoint
// answering 500 fails the sign-in; once signed in, a refresh during such an outage
// keeps the session and the identity of the last successful call.
func TestUserinfoFailureFailsTheSignInAndKeepsTheIdentityAtRefresh(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op, srv := userinfoStack(t, md, "userinfo-down@file")
		op.SetMisbehaviour(testop.UserinfoFailing)
		b := newBrowser()
		if p := b.get(t, srv.URL+"/x"); p.status != http.StatusUnauthorized || strings.Contains(p.body, "backend ") {
			t.Fatalf("sign-in while userinfo fails: %d\n%s", p.status, p.body)
		}
		op.SetMisbehaviour(0)
		mustContain(t, "sign-in", b.get(t, srv.URL+"/y"), "X-Forwarded-Groups: engineering,admins")
		op.SetMisbehaviour(testop.UserinfoFailing)
		refreshes := op.Count("token:refresh_token")
		mustContain(t, "refresh while userinfo fails", b.get(t, srv.URL+"/z"), "backend /z", "X-Forwarded-Groups: engineering,admins")
		if op.Count("token:refresh_token") != refreshes+1 {
			t.Fatal("no refresh happened")
		}
		op.SetMisbehaviour(0)
		mustContain(t, "the next refresh", b.get(t, srv.URL+"/w"), "backend /w", "X-Forwarded-Groups: engineering,admins")
	})
}

// clientKeyFile makes a client key of kind, writes pem(key) to a file and returns the
// key and the file: reference.
func clientKeyFile(t *testing.T, kind string, pem func(k *testop.ClientKey) []byte) (*testop.ClientKey, string) {
	t.Helper()
	k, err := testop.NewClientKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "client-key.pem")
	if err := os.WriteFile(f, pem(k), 0o600); err != nil {
		t.Fatal(err)
	}
	return k, "file:" + f
}

// keyClientConfig registers client id at op for private_key_jwt with pub and returns
// rpConfig for it with the key reference.
func keyClientConfig(t *testing.T, op *testop.Provider, id string, pub crypto.PublicKey, keyRef string) map[string]any {
	t.Helper()
	if err := op.AddClient(testop.Client{ID: id, AuthMethod: "private_key_jwt", AssertionKeys: []crypto.PublicKey{pub}, AssertionAudience: "endpoint",
		RedirectURIPrefixes: loopbackPrefixes, PostLogoutRedirectURIPrefixes: loopbackPrefixes}); err != nil {
		t.Fatal(err)
	}
	cfg := rpConfig(op)
	p := group(cfg, "provider")
	p["clientID"] = id
	delete(p, "clientSecret")
	p["clientPrivateKey"] = keyRef
	return cfg
}

// assertionOf decodes the client assertion of a recorded request.
func assertionOf(t *testing.T, r testop.RecordedRequest) (map[string]any, map[string]any) {
	t.Helper()
	if r.Form.Get("client_secret") != "" || r.Header.Get("Authorization") != "" ||
		r.Form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		t.Fatalf("%s request not authenticated by an assertion alone: %v", r.Endpoint, r.Form)
	}
	h, c, err := testop.ParseUnverified(r.Form.Get("client_assertion"))
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

// TestPrivateKeyJWTSignsInRefreshesAndRevokes: a client registered with only a public
// key signs in, refreshes and revokes its refresh token at sign-out, each request
// authenticated by an assertion the provider verifies (signature, aud = the endpoint
// called, a jti never seen before); the kid is the key's RFC 7638 thumbprint. The
// same configuration with a key the provider does not know cannot sign in.
func TestPrivateKeyJWTSignsInRefreshesAndRevokes(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		key, ref := clientKeyFile(t, "RSA", func(k *testop.ClientKey) []byte { return k.LegacyPEM })
		cfg := refreshingConfig(keyClientConfig(t, op, "gatehouse-pkj", key.Public, ref))
		srv := startGatehouse(t, md, cfg, "pkj@file")
		op.ResetCounts()
		b := newBrowser()
		mustContain(t, "sign-in", b.get(t, srv.URL+"/a"), "X-Forwarded-User: alice@example.com")
		mustContain(t, "refresh", b.get(t, srv.URL+"/b"), "X-Forwarded-User: alice@example.com")
		if resp, _ := b.post(t, srv.URL+logoutPath, url.Values{}); resp.StatusCode != http.StatusFound {
			t.Fatalf("sign-out: %d", resp.StatusCode)
		}
		// Every request refreshes (refreshingConfig): /a and /b.
		if op.Count("token:authorization_code") != 1 || op.Count("token:refresh_token") != 2 || op.Count("revoke") != 1 || op.ActiveRefreshTokens("alice") != 0 {
			t.Fatalf("counts %v, live refresh tokens %d", op.Counts(), op.ActiveRefreshTokens("alice"))
		}
		tp, _ := jose.Thumbprint(key.Public)
		seen := map[any]bool{}
		for _, r := range append(op.Requests(testop.EPToken), op.Requests(testop.EPRevoke)...) {
			h, c := assertionOf(t, r)
			want := op.Endpoints().Token
			if r.Endpoint == testop.EPRevoke {
				want = op.Endpoints().Revocation
			}
			if h["alg"] != "RS256" || h["kid"] != tp || c["aud"] != want || c["iss"] != "gatehouse-pkj" || seen[c["jti"]] {
				t.Fatalf("%s assertion: header %v claims %v", r.Endpoint, h, c)
			}
			seen[c["jti"]] = true
		}

		_, otherRef := clientKeyFile(t, "RSA", func(k *testop.ClientKey) []byte { return k.PKCS8PEM })
		group(cfg, "provider")["clientPrivateKey"] = otherRef
		wrong := startGatehouse(t, md, cfg, "pkj-wrong@file")
		if p := newBrowser().get(t, wrong.URL+"/a"); p.status != http.StatusUnauthorized || strings.Contains(p.body, "backend ") {
			t.Fatalf("sign-in with an unregistered key: %d\n%s", p.status, p.body)
		}
	})
}

// TestClientAuthMethodFromDiscovery: with provider.clientAuthMethod left at auto, a
// provider that advertises only client_secret_post, or only client_secret_jwt, gets
// that method (client_secret_basic, the former default, would be refused); an ES256
// key with its certificate sends x5t and x5t#S256 (Entra ID).
func TestClientAuthMethodFromDiscovery(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		secret := "a-client-secret-of-well-over-32-bytes"
		for _, method := range []string{"client_secret_post", "client_secret_jwt"} {
			id := "gatehouse-" + method
			if err := op.AddClient(testop.Client{ID: id, Secret: secret, AuthMethod: method, RedirectURIPrefixes: loopbackPrefixes}); err != nil {
				t.Fatal(err)
			}
			op.SetTokenEndpointAuthMethods([]string{method})
			cfg := rpConfig(op)
			group(cfg, "provider")["clientID"] = id
			group(cfg, "provider")["clientSecret"] = secret
			srv := startGatehouse(t, md, cfg, method+"@file")
			op.ResetCounts()
			mustContain(t, method, newBrowser().get(t, srv.URL+"/a"), "X-Forwarded-User: alice@example.com")
			r := op.Requests(testop.EPToken)[0]
			if got := r.Form.Get("client_secret") != ""; got != (method == "client_secret_post") || r.Header.Get("Authorization") != "" {
				t.Fatalf("%s: form %v", method, r.Form)
			}
		}
		op.SetTokenEndpointAuthMethods(nil)
		key, ref := clientKeyFile(t, "EC", func(k *testop.ClientKey) []byte { return append(append([]byte{}, k.CertificatePEM...), k.PKCS8PEM...) })
		srv := startGatehouse(t, md, keyClientConfig(t, op, "gatehouse-es256", key.Public, ref), "es256@file")
		op.ResetCounts()
		mustContain(t, "ES256", newBrowser().get(t, srv.URL+"/a"), "X-Forwarded-User: alice@example.com")
		h, _ := assertionOf(t, op.Requests(testop.EPToken)[0])
		if h["alg"] != "ES256" || h["x5t"] == nil || h["x5t#S256"] == nil {
			t.Fatalf("header %v", h)
		}
	})
}

// TestIntrospectionAuthenticatesWithThePrivateKey: opaque bearer tokens are checked
// at the introspection endpoint by a client that has only a private key; its
// assertion names the introspection endpoint as aud.
func TestIntrospectionAuthenticatesWithThePrivateKey(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		key, ref := clientKeyFile(t, "EC", func(k *testop.ClientKey) []byte { return k.LegacyPEM })
		cfg := keyClientConfig(t, op, "gatehouse-rs-pkj", key.Public, ref)
		b := group(cfg, "bearer")
		b["enabled"] = true
		b["audience"] = testop.DefaultAudience
		group(b, "introspection")["enabled"] = true
		group(b, "introspection")["opaqueTokens"] = true
		srv := startGatehouse(t, md, cfg, "pkj-introspect@file")
		resp, body := getAPI(t, srv.URL+"/orders", bearer(mintOpaque(t, op))...)
		wantForwarded(t, "opaque token", resp, body, "X-Forwarded-User: svc-orders")
		_, c := assertionOf(t, op.Requests(testop.EPIntrospect)[0])
		if c["aud"] != op.Endpoints().Introspection || c["iss"] != "gatehouse-rs-pkj" {
			t.Fatalf("introspection assertion %v", c)
		}
	})
}

// multiTenantConfig is rpConfig for a multi-tenant provider with tenants allowed.
func multiTenantConfig(op *testop.Provider, tenants ...string) map[string]any {
	cfg := rpConfig(op)
	p := group(cfg, "provider")
	p["issuer"] = op.IssuerTemplate()
	p["discoveryURL"] = op.Endpoints().Discovery
	p["allowedTenants"] = strings.Join(tenants, ",")
	b := group(cfg, "bearer")
	b["enabled"] = true
	b["audience"] = testop.DefaultAudience
	return cfg
}

const thirdTenant = "0f0e0d0c-0b0a-4909-8807-060504030201"

// TestMultiTenantIssuerAcceptsOnlyAllowedTenants: with the issuer template of a
// multi-tenant provider, users of the two allowed tenants sign in and their access
// tokens pass; a user of a third tenant is refused at sign-in and as a bearer; and a
// token whose iss is the template filled with another (allowed) tenant than its own
// tid is refused both ways.
func TestMultiTenantIssuerAcceptsOnlyAllowedTenants(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{MultiTenant: true})
		for name, tid := range map[string]string{"tess": testop.SecondTenantID, "olga": thirdTenant} {
			if err := op.AddUser(testop.User{Username: name, Password: "x", Email: name + "@example.com", EmailVerified: true, Tenant: tid}); err != nil {
				t.Fatal(err)
			}
		}
		srv := startGatehouse(t, md, multiTenantConfig(op, testop.DefaultTenantID, strings.ToUpper(testop.SecondTenantID)), "tenants@file")
		access := func(user string) string {
			tok, err := op.IssueAccessToken(testop.AccessTokenOptions{User: user, Audience: []string{testop.DefaultAudience}})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		for user, ok := range map[string]bool{"alice": true, "tess": true, "olga": false} {
			op.SetAutoLogin(user)
			p := newBrowser().get(t, srv.URL+"/"+user)
			if ok {
				mustContain(t, user, p, "backend /"+user, "X-Forwarded-User: "+user+"@example.com")
			} else if p.status != http.StatusUnauthorized || strings.Contains(p.body, "backend ") {
				t.Fatalf("%s of a tenant not in the list signed in: %d\n%s", user, p.status, p.body)
			}
			resp, body := getAPI(t, srv.URL+"/api", bearer(access(user))...)
			if ok {
				wantForwarded(t, user+"'s access token", resp, body)
			} else {
				wantRefused(t, user+"'s access token", resp, body, http.StatusUnauthorized, "invalid_token")
			}
		}
		op.SetMisbehaviour(testop.TenantIssuerMismatch)
		op.SetAutoLogin("tess")
		if p := newBrowser().get(t, srv.URL+"/x"); p.status != http.StatusUnauthorized || strings.Contains(p.body, "backend ") {
			t.Fatalf("an ID token whose iss names another tenant signed in: %d\n%s", p.status, p.body)
		}
		resp, body := getAPI(t, srv.URL+"/api", bearer(access("alice"))...)
		wantRefused(t, "an access token whose iss names another tenant", resp, body, http.StatusUnauthorized, "invalid_token")
	})
}

// TestHostedDomainMustBeAnAllowedDomain: with provider.checkHostedDomain, Google's hd
// claim decides: an account of the allowed Workspace signs in; one without hd (a
// consumer account, even with an address of the domain) or of another Workspace is
// refused with 403 and nothing reaches the backend.
func TestHostedDomainMustBeAnAllowedDomain(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		for name, hd := range map[string]any{"wanda": "example.com", "connie": nil, "paul": "partner.example"} {
			if err := op.AddUser(testop.User{Username: name, Password: "x", Email: name + "@example.com", EmailVerified: true,
				Claims: map[string]any{"hd": hd}}); err != nil {
				t.Fatal(err)
			}
		}
		cfg := rpConfig(op)
		group(cfg, "provider")["checkHostedDomain"] = true
		group(cfg, "authorization")["allowedDomains"] = "example.com"
		srv := startGatehouse(t, md, cfg, "hd@file")
		for user, ok := range map[string]bool{"wanda": true, "connie": false, "paul": false} {
			op.SetAutoLogin(user)
			p := newBrowser().get(t, srv.URL+"/"+user)
			if ok {
				mustContain(t, user, p, "backend /"+user, "X-Forwarded-User: "+user+"@example.com")
			} else if p.status != http.StatusForbidden || strings.Contains(p.body, "backend ") {
				t.Fatalf("%s (hd %v): %d\n%s", user, ok, p.status, p.body)
			}
		}
	})
}

// TestCapabilityReportIsLoggedOncePerDiscoveryWithWarnings: once discovery succeeds,
// one line says what the provider advertises and one what Gatehouse will use, however
// many requests follow; each configured option the provider cannot honour gets a
// warning naming it, and a provider that honours everything gets none.
func TestCapabilityReportIsLoggedOncePerDiscoveryWithWarnings(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		good := newOP(t, testop.Options{})
		lacking := newOP(t, testop.Options{Misbehaviour: testop.NoUserinfoEndpoint | testop.NoIntrospectionEndpoint})
		lacking.SetTokenEndpointAuthMethods([]string{"client_secret_basic"})

		stop := captureStderr(t)
		cfg := rpConfig(good)
		cfg["logLevel"] = "info"
		group(cfg, "provider")["userinfo"] = "merge"
		a := startGatehouse(t, md, cfg, "report-good@file")

		cfg = bearerConfig(lacking)
		cfg["logLevel"] = "info"
		p := group(cfg, "provider")
		p["userinfo"] = "merge"
		p["clientAuthMethod"] = "client_secret_post"
		p["signingAlgorithms"] = "ES512"
		group(group(cfg, "bearer"), "introspection")["enabled"] = true
		z := startGatehouse(t, md, cfg, "report-lacking@file")
		for i := 0; i < 3; i++ {
			for _, base := range []string{a.URL, z.URL} {
				if resp := newBrowser().once(t, base+"/x"); resp.StatusCode != http.StatusFound {
					t.Fatalf("%s: %d", base, resp.StatusCode)
				}
			}
		}
		out := stop()
		lines := func(instance, part string) []string {
			var got []string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, instance) && strings.Contains(l, part) {
					got = append(got, l)
				}
			}
			return got
		}
		for _, inst := range []string{"report-good@file", "report-lacking@file"} {
			if n, m := len(lines(inst, "advertises: PKCE")), len(lines(inst, "Gatehouse will use: PKCE")); n != 1 || m != 1 {
				t.Fatalf("%s: %d advertises lines and %d will-use lines:\n%s", inst, n, m, out)
			}
		}
		for _, want := range []string{"RFC 9207 iss parameter yes", "token endpoint auth methods [client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none]",
			"client authentication at the token endpoint: client_secret_basic", "userinfo merged at sign-in and refresh", "back-channel logout at /oauth2/backchannel-logout"} {
			if len(lines("report-good@file", want)) != 1 {
				t.Errorf("the report lacks %q:\n%s", want, out)
			}
		}
		if w := lines("report-good@file", "level=warn"); len(w) != 0 {
			t.Errorf("warnings for a provider that honours everything: %v", w)
		}
		for _, option := range []string{"provider.clientAuthMethod:", "provider.userinfo:", "provider.signingAlgorithms:", "bearer.introspection.enabled:"} {
			if len(lines("report-lacking@file", option)) != 1 || len(lines("report-lacking@file", "level=warn")) != 4 {
				t.Errorf("no single warning for %s:\n%s", option, strings.Join(lines("report-lacking@file", "level=warn"), "\n"))
			}
		}
	})
}
