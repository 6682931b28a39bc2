package yaegihost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Interoperability with OpenID Providers that other people wrote.
//
// Every other scenario test runs against internal/testop, written alongside Gatehouse,
// so a misreading of a specification shared by both would pass unnoticed. Here one
// list of scenarios (interopScenarios) runs, under Yaegi as Traefik runs the plugin
// and compiled, against independently written providers started in-process from
// their Go modules (pinned in go.mod): the op package of zitadel/oidc with its example
// storage and login form (interop_zitadel_test.go), and ory/fosite composed with its
// in-memory example store behind a small HTTP server (interop_fosite_test.go). A
// provider is an adapter (interopOP): adding one is adding an adapter. When a provider
// lacks what a scenario needs, the scenario says so and skips only that part.
// docs/PROVIDERS.md is the table of what passes where.

// interopOP is one provider under test.
type interopOP interface {
	// label names the provider and its version for messages.
	label() string
	// issuer is the provider's issuer URL, discovery is its discovery document.
	issuer() string
	discovery() map[string]any
	// caps says what the provider lacks, and why.
	caps() opCaps
	// registerWebClient registers a confidential web client for a Gatehouse at base:
	// redirect URI base+/oauth2/callback, post-logout redirect URI base+/signed-out.
	// claimsInIDToken asks for the profile and email claims in the ID token where the
	// provider makes that a client setting.
	registerWebClient(t testing.TB, base string, claimsInIDToken bool) opClient
	// registerAPI registers a resource server (its id is the audience of the tokens
	// meant for it, its secret authenticates it at the introspection endpoint) and a
	// machine client allowed to get such tokens with the client-credentials grant.
	registerAPI(t testing.TB) (api, machine opClient)
	// signIn completes the provider's own login on the page the browser was sent to,
	// and returns where the browser ends.
	signIn(t testing.TB, b *browser, login page) page
	// rotateKeys makes a new key sign from now on; the previous one stays published.
	rotateKeys(t testing.TB)
	// served counts the successful requests to an endpoint ("authorize", "jwks",
	// "token:refresh_token", ...); lastServed is when the latest one was answered.
	served(endpoint string) int
	lastServed(endpoint string) time.Time
	// refused lists the requests the provider refused (status and path), for messages.
	refused() []string
}

// opCaps is what a provider lacks that a scenario would test, each with the reason
// the scenario prints when it skips that part ("" means the provider has it).
type opCaps struct {
	user               string // X-Forwarded-User after signIn (the user's email)
	scopes             string // provider.scopes: what the provider needs to issue a refresh token
	noEndSession       string
	noBackchannel      string
	userinfoOnlyClaims bool   // the provider's default client leaves email and profile out of the ID token
	subject            string // the user's sub, which names the user when userinfo is not merged
	name               string // the user's name claim, where userinfoOnlyClaims has it only at userinfo
}

type opClient struct{ id, secret string }

// interopScenarios is the scenario list every provider runs, in this order (key
// rotation last: the provider keeps its rotated keys for the next mode).
var interopScenarios = []struct {
	name string
	run  func(t *testing.T, e *interopEnv)
}{
	{"code flow with PKCE", interopCodeFlow},
	{"refresh", interopRefresh},
	{"RP-initiated logout", interopLogout},
	{"back-channel logout", interopBackchannel},
	{"bearer access token", interopBearer},
	{"key rotation", interopKeyRotation},
}

// interopProviders start each provider once per test; its scenarios share it.
// module is the Go module the provider comes from (docs/PROVIDERS.md names it with
// the version go.mod pins).
var interopProviders = []struct {
	name, module string
	start        func(t testing.TB) interopOP
}{
	{"zitadel-oidc", "github.com/zitadel/oidc/v3", startZitadelOP},
	{"fosite", "github.com/ory/fosite", startFositeOP},
}

// TestProvidersDocNamesEveryInteropProvider keeps docs/PROVIDERS.md in step with the
// interop tests: every provider's module at the version go.mod pins, and a table row
// for every scenario.
func TestProvidersDocNamesEveryInteropProvider(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "PROVIDERS.md"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "internal", "yaegihost", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{} // module path → required version
	for _, line := range strings.Split(string(mod), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && strings.HasPrefix(f[1], "v") {
			versions[f[0]] = f[1]
		}
	}
	for _, p := range interopProviders {
		name := strings.TrimPrefix(p.module, "github.com/")
		if i := strings.LastIndex(name, "/v"); i > 0 && strings.Trim(name[i+2:], "0123456789") == "" {
			name = name[:i]
		}
		if want := name + " " + versions[p.module]; versions[p.module] == "" || !bytes.Contains(doc, []byte(want)) {
			t.Errorf("docs/PROVIDERS.md does not name %q (provider %s)", want, p.name)
		}
	}
	for _, sc := range interopScenarios {
		if !bytes.Contains(doc, []byte("\n| "+sc.name+" |")) {
			t.Errorf("docs/PROVIDERS.md has no table row for the scenario %q", sc.name)
		}
	}
}

func TestInteropWithRealProviders(t *testing.T) {
	for _, p := range interopProviders {
		p := p
		t.Run(p.name, func(t *testing.T) {
			op := p.start(t)
			forEachMode(t, func(t *testing.T, md mode) {
				for _, sc := range interopScenarios {
					sc := sc
					t.Run(sc.name, func(t *testing.T) {
						sc.run(t, &interopEnv{op: op, md: md})
						if t.Failed() {
							t.Logf("%s refused: %v", op.label(), op.refused())
						}
					})
				}
			})
		})
	}
}

// interopEnv is one scenario's view: the provider and the mode Gatehouse runs in.
type interopEnv struct {
	op interopOP
	md mode
}

// interopJWKSMinRefresh is provider.jwksMinRefresh in these scenarios: a key
// rotation needs one key-set fetch, allowed this long after the previous one.
const interopJWKSMinRefresh = time.Second

var interopInstances atomic.Int64

// gatehouse starts a Gatehouse instance for a client registered at the provider
// and returns its URL. tweak, when set, changes the configuration first.
func (e *interopEnv) gatehouse(t *testing.T, tweak func(cfg map[string]any)) string {
	t.Helper()
	return e.startGatehouse(t, true, tweak)
}

// startGatehouse is gatehouse with the client's claimsInIDToken setting.
func (e *interopEnv) startGatehouse(t *testing.T, claimsInIDToken bool, tweak func(cfg map[string]any)) string {
	t.Helper()
	var h atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := e.op.registerWebClient(t, srv.URL, claimsInIDToken)
	cfg := map[string]any{
		"provider": map[string]any{
			"issuer": e.op.issuer(), "clientID": c.id, "clientSecret": c.secret,
			"scopes": e.op.caps().scopes, "jwksMinRefresh": interopJWKSMinRefresh.String(),
		},
		"session": map[string]any{
			"keys":   []any{"0123456789abcdef0123456789abcdef-interop-key"},
			"secure": false,
		},
		"logout":       map[string]any{"postLogoutRedirectURL": "/signed-out"},
		"excludedURLs": "/signed-out",
		"logLevel":     "error",
	}
	if tweak != nil {
		tweak(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	name := "interop" + strconv.FormatInt(interopInstances.Add(1), 10) + "@file"
	h.Store(e.md.build(t, ctx, echoBackend(), cfg, name))
	return srv.URL
}

// signIn sends a browser to base+path, through the provider's login, and back.
func (e *interopEnv) signIn(t testing.TB, b *browser, base, path string) page {
	t.Helper()
	p := b.get(t, base+path)
	if !strings.HasPrefix(p.url, e.op.issuer()) {
		t.Fatalf("%s: want the provider's login page, landed on %s (%d):\n%.500s", base+path, p.url, p.status, p.body)
	}
	p = e.op.signIn(t, b, p)
	if p.status != http.StatusOK || !strings.HasPrefix(p.url, base+path) {
		t.Fatalf("after signing in: %d at %s (want %s):\n%.500s", p.status, p.url, base+path, p.body)
	}
	return p
}

// endpoint is a URL from the provider's discovery document, "" when absent.
func (e *interopEnv) endpoint(name string) string {
	s, _ := e.op.discovery()[name].(string)
	return s
}

// interopCodeFlow: the authorization-code flow with PKCE S256 through the
// provider's own login form; the backend gets the user's identity; a second request
// is served from the session without going back to the provider.
func interopCodeFlow(t *testing.T, e *interopEnv) {
	base := e.gatehouse(t, nil)
	b := newBrowser()
	p := b.get(t, base+"/app/page?x=1")
	var authz *url.URL
	for _, hop := range b.hops {
		if strings.HasPrefix(hop, e.endpoint("authorization_endpoint")+"?") {
			authz = mustURL(t, hop)
		}
	}
	if authz == nil {
		t.Fatalf("the browser never reached the authorization endpoint: %v", b.hops)
	}
	q := authz.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("response_type") != "code" {
		t.Fatalf("authorization request without PKCE S256: %v", q)
	}
	p = e.op.signIn(t, b, p)
	if p.status != http.StatusOK || !strings.HasPrefix(p.url, base+"/app/page?x=1") {
		t.Fatalf("after signing in: %d at %s:\n%.500s", p.status, p.url, p.body)
	}
	user := e.op.caps().user
	mustContain(t, "after login", p, "backend /app/page", "X-Forwarded-User: "+user, "X-Forwarded-Email: "+user)
	if e.op.served("token:authorization_code") == 0 {
		t.Fatal("the provider redeemed no code")
	}
	tokens := e.op.served("token:authorization_code") + e.op.served("token:refresh_token")
	authorizations := e.op.served("authorize")
	mustContain(t, "second request", b.get(t, base+"/second"), "backend /second", "X-Forwarded-User: "+user)
	if n := e.op.served("token:authorization_code") + e.op.served("token:refresh_token"); n != tokens || e.op.served("authorize") != authorizations {
		t.Fatalf("a signed-in request went back to the provider: token requests %d→%d, authorizations %d→%d",
			tokens, n, authorizations, e.op.served("authorize"))
	}
	if e.op.caps().userinfoOnlyClaims {
		t.Run("claims only at userinfo", func(t *testing.T) { interopUserinfoOnlyClaims(t, e) })
	}
}

// interopUserinfoOnlyClaims: with the provider's default client the email, its
// email_verified and the profile are left out of the ID token when an access token is
// issued (OIDC Core 5.4), and only userinfo has them. Without provider.userinfo the
// user is named by sub; with provider.userinfo: merge, userinfo is called once at
// sign-in (not per request) and the user is named by the verified email it carries,
// with the profile claims it alone carries reaching the templates.
func interopUserinfoOnlyClaims(t *testing.T, e *interopEnv) {
	name := func(cfg map[string]any) {
		group(cfg, "headers")["templates"] = map[string]any{"X-Name": "{{ .claims.name }}"}
	}
	p := e.signIn(t, newBrowser(), e.startGatehouse(t, false, name), "/")
	if strings.Contains(p.body, "X-Forwarded-Email: ") || strings.Contains(p.body, "X-Name: "+e.op.caps().name) {
		t.Fatalf("the ID token carried the email or the name after all:\n%s", p.body)
	}
	mustContain(t, "signed in by subject", p, "backend /", "X-Forwarded-User: "+e.op.caps().subject)

	base := e.startGatehouse(t, false, func(cfg map[string]any) {
		name(cfg)
		group(cfg, "provider")["userinfo"] = "merge"
	})
	calls := e.op.served("userinfo")
	b := newBrowser()
	user := e.op.caps().user
	mustContain(t, "signed in with userinfo", e.signIn(t, b, base, "/"),
		"backend /", "X-Forwarded-User: "+user, "X-Forwarded-Email: "+user, "X-Name: "+e.op.caps().name)
	if n := e.op.served("userinfo") - calls; n != 1 {
		t.Fatalf("%d userinfo calls at sign-in, want 1", n)
	}
	mustContain(t, "second request", b.get(t, base+"/second"), "backend /second", "X-Forwarded-User: "+user, "X-Name: "+e.op.caps().name)
	if n := e.op.served("userinfo") - calls; n != 1 {
		t.Fatalf("a signed-in request called userinfo: %d calls", n)
	}
}

// interopRefresh: with refreshGrace longer than the provider's access-token lifetime
// every request refreshes; two refreshes in a row (the second redeems the rotated
// refresh token) keep the session without sending the browser back to the provider.
func interopRefresh(t *testing.T, e *interopEnv) {
	base := e.gatehouse(t, func(cfg map[string]any) { group(cfg, "session")["refreshGrace"] = "1h" })
	b := newBrowser()
	e.signIn(t, b, base, "/")
	authorizations := e.op.served("authorize")
	for round := 1; round <= 2; round++ {
		before := e.op.served("token:refresh_token")
		p := b.get(t, base+"/after-refresh", "Accept", "application/json")
		if p.status != http.StatusOK {
			t.Fatalf("refresh %d: %d %s", round, p.status, p.body)
		}
		mustContain(t, "refresh "+strconv.Itoa(round), p, "backend /after-refresh", "X-Forwarded-User: "+e.op.caps().user)
		if got := e.op.served("token:refresh_token") - before; got != 1 {
			t.Fatalf("refresh %d: %d refresh grants", round, got)
		}
	}
	if e.op.served("authorize") != authorizations {
		t.Fatal("refreshing sent the browser back to the provider")
	}
}

// interopLogout: RP-initiated logout ends the session at once, revokes the refresh
// token at the provider's revocation endpoint, and, where the provider has an
// end-session endpoint, goes through it and lands on the post-logout page.
func interopLogout(t *testing.T, e *interopEnv) {
	base := e.gatehouse(t, nil)
	b := newBrowser()
	e.signIn(t, b, base, "/")
	cookie := cookieHeader(t, b, base)
	revocations := e.op.served("revoke")
	resp, body := b.post(t, base+logoutPath, url.Values{})
	if !sessionCleared(resp) {
		t.Fatalf("logout did not clear the session: %d %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	if r, _ := withCookie(t, base, "/check", cookie, false); r.StatusCode != http.StatusFound ||
		!strings.HasPrefix(r.Header.Get("Location"), e.endpoint("authorization_endpoint")) {
		t.Fatalf("the signed-out cookie still works: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if e.endpoint("revocation_endpoint") != "" && e.op.served("revoke") != revocations+1 {
		t.Fatalf("the provider revoked %d tokens at logout", e.op.served("revoke")-revocations)
	}
	t.Run("end_session", func(t *testing.T) {
		if reason := e.op.caps().noEndSession; reason != "" {
			if e.endpoint("end_session_endpoint") != "" {
				t.Fatal("the provider advertises end_session_endpoint: the adapter's reason is out of date")
			}
			// Without one, the browser stays at Gatehouse's signed-out page.
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/signed-out"`) {
				t.Fatalf("logout without an end-session endpoint: %d\n%s", resp.StatusCode, body)
			}
			t.Skip(reason)
		}
		loc := mustURL(t, resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Scheme+"://"+loc.Host+loc.Path != e.endpoint("end_session_endpoint") {
			t.Fatalf("logout: %d to %q, want the end-session endpoint", resp.StatusCode, resp.Header.Get("Location"))
		}
		state := loc.Query().Get("state")
		if loc.Query().Get("id_token_hint") == "" || loc.Query().Get("post_logout_redirect_uri") != base+"/signed-out" || state == "" {
			t.Fatalf("end-session parameters: %v", loc.Query())
		}
		ended := e.op.served("end_session")
		p := b.get(t, loc.String())
		landed := mustURL(t, p.url)
		if p.status != http.StatusOK || landed.Host != mustURL(t, base).Host || landed.Path != "/signed-out" || landed.Query().Get("state") != state {
			t.Fatalf("after end_session: %d at %s:\n%.300s", p.status, p.url, p.body)
		}
		if strings.Contains(p.body, "X-Forwarded-User") || e.op.served("end_session") != ended+1 {
			t.Fatalf("end_session served %d times; post-logout page:\n%s", e.op.served("end_session")-ended, p.body)
		}
	})
}

// interopBackchannel: OpenID Back-Channel Logout needs a provider that sends logout
// tokens. Neither provider here does; the scenario checks that the provider does
// not claim to (so the skip stays true) and says why it skips. An adapter for a
// provider that sends logout tokens adds the flow here.
func interopBackchannel(t *testing.T, e *interopEnv) {
	reason := e.op.caps().noBackchannel
	if reason == "" {
		t.Fatal("no back-channel logout scenario is written for a provider that supports it")
	}
	if v, _ := e.op.discovery()["backchannel_logout_supported"].(bool); v {
		t.Fatal("the provider advertises backchannel_logout_supported: the adapter's reason is out of date")
	}
	t.Skip(reason)
}

// interopBearer: a real access token from the provider's client-credentials grant,
// for the API's audience: a JWT is verified locally; where the provider has an
// introspection endpoint the token (JWT or opaque) is also checked there, and once
// revoked at the provider it is refused.
func interopBearer(t *testing.T, e *interopEnv) {
	api, machine := e.op.registerAPI(t)
	tok := clientCredentialsToken(t, e, machine, api.id)
	jwt := isCompactJWS(tok)
	bearerCfg := func(introspect bool) func(cfg map[string]any) {
		return func(cfg map[string]any) {
			b := group(cfg, "bearer")
			b["enabled"] = true
			b["audience"] = api.id
			if introspect {
				in := group(b, "introspection")
				in["enabled"] = true
				in["clientID"] = api.id
				in["clientSecret"] = api.secret
				in["opaqueTokens"] = !jwt
				in["maxCacheTTL"] = "0s"
			}
		}
	}
	if jwt {
		base := e.gatehouse(t, bearerCfg(false))
		resp, body := getAPI(t, base+"/orders", bearer(tok)...)
		wantForwarded(t, "a JWT access token", resp, body, "X-Forwarded-User: "+machine.id)
	}
	if e.endpoint("introspection_endpoint") == "" {
		if !jwt {
			t.Fatal("the provider's access tokens are opaque and it has no introspection endpoint")
		}
		return
	}
	base := e.gatehouse(t, bearerCfg(true))
	introspections := e.op.served("introspect")
	resp, body := getAPI(t, base+"/orders", bearer(tok)...)
	wantForwarded(t, "an introspected access token", resp, body, "X-Forwarded-User: "+machine.id)
	if e.op.served("introspect") != introspections+1 {
		t.Fatalf("%d introspections", e.op.served("introspect")-introspections)
	}
	revokeToken(t, e, machine, tok)
	resp, body = getAPI(t, base+"/orders", bearer(tok)...)
	wantRefused(t, "an access token revoked at the provider", resp, body, http.StatusUnauthorized, "invalid_token")
}

// interopKeyRotation: the provider starts signing with a new key (the old one stays
// published). Gatehouse fetches the key set once, when it first meets the new kid —
// no sooner than provider.jwksMinRefresh after its previous fetch — and then takes
// refreshed ID tokens, new sign-ins and (where access tokens are JWTs) new access
// tokens signed with it.
func interopKeyRotation(t *testing.T, e *interopEnv) {
	api, machine := e.op.registerAPI(t)
	before := clientCredentialsToken(t, e, machine, api.id)
	jwt := isCompactJWS(before)
	base := e.gatehouse(t, func(cfg map[string]any) {
		group(cfg, "session")["refreshGrace"] = "1h"
		b := group(cfg, "bearer")
		b["enabled"] = jwt
		b["audience"] = api.id
	})
	b := newBrowser()
	e.signIn(t, b, base, "/")
	if jwt {
		resp, body := getAPI(t, base+"/orders", bearer(before)...)
		wantForwarded(t, "a JWT access token before the rotation", resp, body, "X-Forwarded-User: "+machine.id)
	}
	e.op.rotateKeys(t)
	after := clientCredentialsToken(t, e, machine, api.id)
	if jwt && jwsKid(t, after) == jwsKid(t, before) {
		t.Fatalf("the rotation did not change the signing key (kid %q)", jwsKid(t, after))
	}
	waitForJWKSRefreshAllowed(t, e)
	fetches := e.op.served("jwks")
	refreshes := e.op.served("token:refresh_token")
	mustContain(t, "refresh with a new key", b.get(t, base+"/after-rotation", "Accept", "application/json"),
		"backend /after-rotation", "X-Forwarded-User: "+e.op.caps().user)
	if e.op.served("token:refresh_token") != refreshes+1 {
		t.Fatal("the request after the rotation did not refresh")
	}
	if jwt {
		resp, body := getAPI(t, base+"/orders", bearer(after)...)
		wantForwarded(t, "a JWT access token after the rotation", resp, body, "X-Forwarded-User: "+machine.id)
	}
	e.signIn(t, newBrowser(), base, "/new-browser")
	if n := e.op.served("jwks") - fetches; n != 1 {
		t.Fatalf("%d key-set fetches after the rotation, want 1", n)
	}
}

// waitForJWKSRefreshAllowed waits until provider.jwksMinRefresh has passed since the
// provider last served its key set, so that Gatehouse may fetch it again.
func waitForJWKSRefreshAllowed(t testing.TB, e *interopEnv) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Since(e.op.lastServed("jwks")) <= interopJWKSMinRefresh+50*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("the provider keeps serving its key set")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clientCredentialsToken gets an access token for audience with the client-credentials
// grant (RFC 6749 section 4.4) at the provider's token endpoint.
func clientCredentialsToken(t testing.TB, e *interopEnv, c opClient, audience string) string {
	t.Helper()
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	body := providerPost(t, e.endpoint("token_endpoint"), c, url.Values{
		"grant_type": {"client_credentials"}, "audience": {audience},
	})
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") {
		t.Fatalf("client-credentials answer: %v %s", err, body)
	}
	return tr.AccessToken
}

// revokeToken revokes an access token at the provider (RFC 7009).
func revokeToken(t testing.TB, e *interopEnv, c opClient, tok string) {
	t.Helper()
	providerPost(t, e.endpoint("revocation_endpoint"), c, url.Values{"token": {tok}, "token_type_hint": {"access_token"}})
}

// providerPost posts form to a provider endpoint with HTTP Basic client
// authentication (RFC 6749 section 2.3.1) and returns the body of a 200 answer.
func providerPost(t testing.TB, endpoint string, c opClient, form url.Values) []byte {
	t.Helper()
	req, err := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", endpoint, resp.StatusCode, body)
	}
	return body
}

var clientSeq atomic.Int64

// nextClientID is a client id no other registration in this test binary uses.
func nextClientID(prefix string) string { return prefix + strconv.FormatInt(clientSeq.Add(1), 10) }

// randomHex is 16 random bytes in hex, for client secrets.
func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func isCompactJWS(tok string) bool { return strings.Count(tok, ".") == 2 }

// jwsKid is the kid in a compact JWS's header.
func jwsKid(t testing.TB, tok string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	var h struct {
		Kid string `json:"kid"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil || h.Kid == "" {
		t.Fatalf("JWS header without kid: %v %s", err, raw)
	}
	return h.Kid
}

var (
	formTag   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputTag  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrValue = regexp.MustCompile(`(?is)\b([a-z-]+)\s*=\s*"([^"]*)"`)
)

// submitForm fills the first form of p with fields (its other inputs keep their
// values, as a browser sends hidden fields) and submits it, following redirects.
func submitForm(t testing.TB, b *browser, p page, fields map[string]string) page {
	t.Helper()
	m := formTag.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form at %s (%d):\n%.500s", p.url, p.status, p.body)
	}
	attrs := func(s string) map[string]string {
		out := map[string]string{}
		for _, a := range attrValue.FindAllStringSubmatch(s, -1) {
			out[strings.ToLower(a[1])] = html.UnescapeString(a[2])
		}
		return out
	}
	form := attrs(m[1])
	values := url.Values{}
	for _, in := range inputTag.FindAllStringSubmatch(m[2], -1) {
		a := attrs(in[1])
		if a["name"] != "" {
			values.Set(a["name"], a["value"])
		}
	}
	for k, v := range fields {
		if _, ok := values[k]; !ok {
			t.Fatalf("the form at %s has no field %q", p.url, k)
		}
		values.Set(k, v)
	}
	action, err := mustURL(t, p.url).Parse(form["action"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(form["method"], "post") {
		t.Fatalf("the login form at %s is not a POST form: %q", p.url, form["method"])
	}
	req, err := http.NewRequest("POST", action.String(), strings.NewReader(values.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

// opTraffic counts what a provider served, by endpoint, naming the endpoints after
// the provider's own discovery document. It wraps the provider's handler.
type opTraffic struct {
	iss    string
	doc    map[string]any
	mu     sync.Mutex
	names  map[string]string // path → endpoint name
	ok     map[string]int
	last   map[string]time.Time
	failed []string
}

// discoveryNames maps discovery members to the endpoint names served() takes.
var discoveryNames = map[string]string{
	"authorization_endpoint": "authorize", "token_endpoint": "token", "jwks_uri": "jwks",
	"introspection_endpoint": "introspect", "revocation_endpoint": "revoke",
	"end_session_endpoint": "end_session", "userinfo_endpoint": "userinfo",
}

func newOPTraffic() *opTraffic {
	return &opTraffic{names: map[string]string{}, ok: map[string]int{}, last: map[string]time.Time{}}
}

// serve starts an HTTP server for the provider whose handler is set by the returned
// function, once the issuer (the server's URL) is known.
func (tr *opTraffic) serve(t testing.TB) (issuer string, setHandler func(http.Handler)) {
	var h atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.count(h.Load().(http.Handler), w, r)
	}))
	t.Cleanup(srv.Close)
	tr.iss = srv.URL
	return srv.URL, func(handler http.Handler) { h.Store(handler) }
}

// learn reads the provider's discovery document.
func (tr *opTraffic) learn(t testing.TB) {
	t.Helper()
	resp, err := http.Get(tr.iss + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc["issuer"] != tr.iss {
		t.Fatalf("discovery: %v, issuer %v", err, doc["issuer"])
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.doc = doc
	for member, name := range discoveryNames {
		if s, _ := doc[member].(string); s != "" {
			tr.names[mustURL(t, s).Path] = name
		}
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (tr *opTraffic) count(h http.Handler, w http.ResponseWriter, r *http.Request) {
	tr.mu.Lock()
	name := tr.names[r.URL.Path]
	tr.mu.Unlock()
	if name == "token" && r.Method == http.MethodPost {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		name += ":" + form.Get("grant_type")
	}
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, r)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if rec.status >= 400 {
		tr.failed = append(tr.failed, strconv.Itoa(rec.status)+" "+r.Method+" "+r.URL.Path)
		return
	}
	if name != "" {
		tr.ok[name]++
		tr.last[name] = time.Now()
	}
}

func (tr *opTraffic) issuer() string            { return tr.iss }
func (tr *opTraffic) discovery() map[string]any { return tr.doc }

func (tr *opTraffic) served(endpoint string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.ok[endpoint]
}

func (tr *opTraffic) lastServed(endpoint string) time.Time {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.last[endpoint]
}

func (tr *opTraffic) refused() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.failed...)
}
