package testop

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDiscoveryAdvertisesEndpointsAndCapabilities(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	m, resp := rp.getJSON(p.URL() + "/.well-known/openid-configuration")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("discovery: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ep := p.Endpoints()
	want := map[string]any{
		"issuer": p.URL(), "authorization_endpoint": ep.Authorization, "token_endpoint": ep.Token,
		"userinfo_endpoint": ep.Userinfo, "jwks_uri": ep.JWKS, "end_session_endpoint": ep.EndSession,
		"revocation_endpoint": ep.Revocation, "introspection_endpoint": ep.Introspection,
		"authorization_response_iss_parameter_supported": true, "backchannel_logout_supported": true,
		"backchannel_logout_session_supported": true, "frontchannel_logout_supported": true,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, expected %v", k, m[k], v)
		}
	}
	lists := map[string][]string{
		"code_challenge_methods_supported":      {"S256"},
		"id_token_signing_alg_values_supported": {"RS256", "PS256", "ES256", "EdDSA"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"},
		"grant_types_supported":                 {"authorization_code", "refresh_token", "client_credentials"},
		"response_types_supported":              {"code"},
	}
	for k, v := range lists {
		if got := audList(m[k]); strings.Join(got, " ") != strings.Join(v, " ") {
			t.Errorf("%s = %v, expected %v", k, got, v)
		}
	}
	for _, path := range []string{ep.Authorization, ep.Token, ep.JWKS} {
		if !strings.HasPrefix(path, p.URL()+"/") {
			t.Errorf("endpoint %s is not under the issuer", path)
		}
	}
	if p.Count(EPDiscovery) != 1 {
		t.Errorf("discovery count %d, expected 1", p.Count(EPDiscovery))
	}
}

func TestIssuerPathPrefixesEveryEndpoint(t *testing.T) {
	p := newProvider(t, Options{IssuerPath: "/realms/demo", AutoLogin: true})
	if !strings.HasSuffix(p.URL(), "/realms/demo") {
		t.Fatalf("issuer %q", p.URL())
	}
	rp := newRP(t, p)
	if rp.discover()["issuer"] != p.URL() {
		t.Fatal("discovery issuer differs from URL()")
	}
	f := rp.login()
	if f.status != 200 {
		t.Fatalf("token: %d %v", f.status, f.tokens)
	}
	if _, err := rp.validateIDToken(str(f.tokens, "id_token"), f.req.nonce, str(f.tokens, "access_token")); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{IssuerPath: "realms/"}); err == nil {
		t.Fatal("IssuerPath without leading slash accepted")
	}
}

func TestJWKSPublishesFourKeyTypesWithConfiguredMaxAge(t *testing.T) {
	p := newProvider(t, Options{JWKSMaxAge: 90 * time.Second})
	rp := newRP(t, p)
	rp.discover()
	keys := rp.jwks()
	algs := map[string]bool{}
	for kid, k := range keys {
		algs[k.alg] = true
		if kid != thumbprint(k.pub) {
			t.Errorf("kid %s is not the RFC 7638 thumbprint of its key", kid)
		}
	}
	for _, a := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		if !algs[a] {
			t.Errorf("JWKS has no %s key", a)
		}
	}
	_, resp := rp.getJSON(p.Endpoints().JWKS)
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=90" {
		t.Errorf("Cache-Control %q, expected public, max-age=90", cc)
	}
	p.SetJWKSMaxAge(-1)
	_, resp = rp.getJSON(p.Endpoints().JWKS)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, expected no-cache", cc)
	}
	if p.Count(EPJWKS) != 3 {
		t.Errorf("jwks count %d, expected 3", p.Count(EPJWKS))
	}
}

func TestCodeFlowWithPKCEIssuesValidTokensForEverySigningAlg(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			if err := p.SetSigningAlg(alg); err != nil {
				t.Fatal(err)
			}
			rp := newRP(t, p)
			ar := rp.newAuthReq()
			cb := rp.callback(rp.authorize(ar.params))
			if cb.Get("state") != ar.state {
				t.Errorf("state %q, expected %q", cb.Get("state"), ar.state)
			}
			if cb.Get("iss") != p.URL() {
				t.Errorf("iss parameter %q, expected %q (RFC 9207)", cb.Get("iss"), p.URL())
			}
			status, tok := rp.exchange(cb.Get("code"), ar.verifier)
			if status != 200 {
				t.Fatalf("token: %d %v", status, tok)
			}
			if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(300) || str(tok, "refresh_token") == "" {
				t.Errorf("token response %v", tok)
			}
			hdr, _, _ := ParseUnverified(str(tok, "id_token"))
			if hdr["alg"] != alg || hdr["kid"] != p.SigningKeyID() {
				t.Errorf("ID token header %v, expected alg %s kid %s", hdr, alg, p.SigningKeyID())
			}
			claims, err := rp.validateIDToken(str(tok, "id_token"), ar.nonce, str(tok, "access_token"))
			if err != nil {
				t.Fatalf("ID token rejected: %v", err)
			}
			alice, _ := p.User("alice")
			for k, v := range map[string]any{
				"sub": alice.Subject, "aud": DefaultClientID, "email": "alice@example.com", "email_verified": true,
				"name": "Alice Example", "preferred_username": "alice", "nonce": ar.nonce,
			} {
				if claims[k] != v {
					t.Errorf("claim %s = %v, expected %v", k, claims[k], v)
				}
			}
			for _, k := range []string{"auth_time", "sid", "at_hash", "iat", "exp"} {
				if claims[k] == nil {
					t.Errorf("claim %s missing", k)
				}
			}
			if audList(claims["groups"])[1] != "admins" || audList(claims["roles"])[0] != "admin" {
				t.Errorf("groups %v roles %v", claims["groups"], claims["roles"])
			}
			ra, _ := claims["realm_access"].(map[string]any)
			if strings.Join(audList(ra["roles"]), ",") != "admin,user" {
				t.Errorf("realm_access %v", claims["realm_access"])
			}
			if sids := p.SessionIDs("alice"); !hasString(sids, str(claims, "sid")) {
				t.Errorf("sid %v not among alice's sessions %v", claims["sid"], sids)
			}

			// Userinfo with the access token: the same subject.
			req, _ := http.NewRequest(http.MethodGet, p.Endpoints().Userinfo, nil)
			req.Header.Set("Authorization", "Bearer "+str(tok, "access_token"))
			st, ui := rp.do(req)
			if st != 200 || ui["sub"] != alice.Subject || ui["email"] != "alice@example.com" {
				t.Errorf("userinfo %d %v", st, ui)
			}
		})
	}
	if p.Count("token:authorization_code") != 4 || p.Count(EPAuthorize) != 4 {
		t.Errorf("counts %v", p.Counts())
	}
}

func TestSecondAuthorizationIsSilentAndKeepsSid(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	f1 := rp.login()
	c1, _ := rp.validateIDToken(str(f1.tokens, "id_token"), f1.req.nonce, "")
	// The auto-login user changes, but this browser is signed in at the provider.
	p.SetAutoLogin("bob")
	ar := rp.newAuthReq()
	ar.params.Set("prompt", "none")
	cb := rp.callback(rp.authorize(ar.params))
	_, tok := rp.exchange(cb.Get("code"), ar.verifier)
	c2, err := rp.validateIDToken(str(tok, "id_token"), ar.nonce, "")
	if err != nil {
		t.Fatal(err)
	}
	if c2["sid"] != c1["sid"] || c2["sub"] != c1["sub"] || c2["auth_time"] != c1["auth_time"] {
		t.Errorf("silent login changed sid/sub/auth_time: %v %v / %v %v", c1["sid"], c1["sub"], c2["sid"], c2["sub"])
	}
	if n := len(p.SessionIDs("alice")); n != 1 {
		t.Errorf("alice has %d provider sessions, expected 1", n)
	}

	// A fresh browser with prompt=none must log in first.
	rp2 := newRP(t, p)
	ar = rp2.newAuthReq()
	ar.params.Set("prompt", "none")
	if cb := rp2.callback(rp2.authorize(ar.params)); cb.Get("error") != "login_required" || cb.Get("state") != ar.state {
		t.Errorf("prompt=none without session: %v", cb)
	}

	// login_hint naming another user re-authenticates as that user.
	ar = rp.newAuthReq()
	ar.params.Set("login_hint", "carol")
	cb = rp.callback(rp.authorize(ar.params))
	_, tok = rp.exchange(cb.Get("code"), ar.verifier)
	c3, _ := rp.validateIDToken(str(tok, "id_token"), ar.nonce, "")
	if c3["preferred_username"] != "carol" || c3["email_verified"] != false {
		t.Errorf("login_hint=carol gave %v (email_verified %v)", c3["preferred_username"], c3["email_verified"])
	}
}

func TestMaxAgeAndPromptLoginReauthenticate(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	p := newProvider(t, Options{AutoLogin: true, Now: clock})
	rp := newRP(t, p)
	f := rp.login()
	_, c1, _ := ParseUnverified(str(f.tokens, "id_token"))
	now = now.Add(2 * time.Minute)

	// max_age 600: the session is fresh enough, auth_time kept.
	ar := rp.newAuthReq()
	ar.params.Set("max_age", "600")
	_, tok := rp.exchange(rp.callback(rp.authorize(ar.params)).Get("code"), ar.verifier)
	_, c2, _ := ParseUnverified(str(tok, "id_token"))
	if c2["auth_time"] != c1["auth_time"] {
		t.Errorf("max_age=600 re-authenticated: %v -> %v", c1["auth_time"], c2["auth_time"])
	}
	// max_age 60: older than that, so a new login and a newer auth_time.
	ar = rp.newAuthReq()
	ar.params.Set("max_age", "60")
	_, tok = rp.exchange(rp.callback(rp.authorize(ar.params)).Get("code"), ar.verifier)
	_, c3, _ := ParseUnverified(str(tok, "id_token"))
	if c3["auth_time"].(float64) != float64(now.Unix()) {
		t.Errorf("max_age=60: auth_time %v, expected %d", c3["auth_time"], now.Unix())
	}
	now = now.Add(time.Minute)
	ar = rp.newAuthReq()
	ar.params.Set("prompt", "login")
	_, tok = rp.exchange(rp.callback(rp.authorize(ar.params)).Get("code"), ar.verifier)
	_, c4, _ := ParseUnverified(str(tok, "id_token"))
	if c4["auth_time"].(float64) != float64(now.Unix()) {
		t.Errorf("prompt=login: auth_time %v, expected %d", c4["auth_time"], now.Unix())
	}
}

func TestLoginFormAuthenticatesWithPassword(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	ar := rp.newAuthReq()
	resp, err := rp.http.Get(p.Endpoints().Authorization + "?" + ar.params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `name="password"`) {
		t.Fatalf("no login form: %d %s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`action="([^"]+)"[\s\S]*name="request" value="([^"]+)"`).FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("form fields not found in %s", body)
	}
	action, reqID := m[1], m[2]
	if action != p.Endpoints().Login {
		t.Errorf("form action %q, expected %q", action, p.Endpoints().Login)
	}
	post := func(user, pass string) *http.Response {
		resp, err := rp.http.PostForm(action, url.Values{"request": {reqID}, "username": {user}, "password": {pass}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := post("bob", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp = post("bob", "bob-password")
	cb := rp.callback(resp)
	if cb.Get("state") != ar.state || cb.Get("iss") != p.URL() {
		t.Errorf("callback %v", cb)
	}
	var sessionCookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookieName {
			sessionCookie = c
		}
	}
	if sessionCookie == nil || sessionCookie.Path != "/browser" || !sessionCookie.HttpOnly {
		t.Errorf("session cookie %+v, expected HttpOnly with Path /browser", sessionCookie)
	}
	_, tok := rp.exchange(cb.Get("code"), ar.verifier)
	claims, err := rp.validateIDToken(str(tok, "id_token"), ar.nonce, str(tok, "access_token"))
	if err != nil || claims["preferred_username"] != "bob" {
		t.Fatalf("bob's ID token: %v %v", err, claims)
	}
	// The form request is single-use.
	if resp := post("bob", "bob-password"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("reused login request: %d", resp.StatusCode)
	}
	if p.Count(EPLogin) != 3 {
		t.Errorf("login count %d", p.Count(EPLogin))
	}
}

func TestAuthorizationRefusesMalformedRequests(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	page := func(mod func(url.Values)) int {
		ar := rp.newAuthReq()
		mod(ar.params)
		return rp.authorize(ar.params).StatusCode
	}
	// Never redirected: unknown client or redirect URI (RFC 6749 4.1.2.1).
	for name, mod := range map[string]func(url.Values){
		"unknown client":   func(v url.Values) { v.Set("client_id", "nobody") },
		"other host":       func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") },
		"userinfo trick":   func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:80@evil.example/cb") },
		"host suffix":      func(v url.Values) { v.Set("redirect_uri", "http://localhost.evil.example:80/cb") },
		"fragment":         func(v url.Values) { v.Set("redirect_uri", testRedirectURI+"#x") },
		"no redirect_uri":  func(v url.Values) { v.Del("redirect_uri") },
		"machine redirect": func(v url.Values) { v.Set("client_id", MachineClientID) },
	} {
		if st := page(mod); st != http.StatusBadRequest {
			t.Errorf("%s: status %d, expected 400 without redirect", name, st)
		}
	}
	// Redirected with an error code.
	errCode := func(clientID string, mod func(url.Values)) string {
		rp := newRP(t, p)
		rp.clientID = clientID
		ar := rp.newAuthReq()
		mod(ar.params)
		cb := rp.callback(rp.authorize(ar.params))
		if cb.Get("state") != ar.state || cb.Get("iss") != p.URL() || cb.Get("code") != "" {
			t.Errorf("error redirect %v", cb)
		}
		return cb.Get("error")
	}
	cases := []struct {
		name, client, code string
		mod                func(url.Values)
	}{
		{"no openid", DefaultClientID, "invalid_scope", func(v url.Values) { v.Set("scope", "profile") }},
		{"implicit", DefaultClientID, "unsupported_response_type", func(v url.Values) { v.Set("response_type", "token") }},
		{"plain pkce", DefaultClientID, "invalid_request", func(v url.Values) { v.Set("code_challenge_method", "plain") }},
		{"bad method", DefaultClientID, "invalid_request", func(v url.Values) { v.Set("code_challenge_method", "S512") }},
		{"short challenge", DefaultClientID, "invalid_request", func(v url.Values) { v.Set("code_challenge", "abc") }},
		{"public without pkce", PublicClientID, "invalid_request", func(v url.Values) {
			v.Del("code_challenge")
			v.Del("code_challenge_method")
		}},
		{"request object", DefaultClientID, "request_not_supported", func(v url.Values) { v.Set("request", "x.y.z") }},
		{"form_post", DefaultClientID, "invalid_request", func(v url.Values) { v.Set("response_mode", "form_post") }},
		{"negative max_age", DefaultClientID, "invalid_request", func(v url.Values) { v.Set("max_age", "-1") }},
	}
	for _, c := range cases {
		if got := errCode(c.client, c.mod); got != c.code {
			t.Errorf("%s: error %q, expected %q", c.name, got, c.code)
		}
	}
	// A confidential client without PKCE is allowed unless RequirePKCE.
	rp2 := newRP(t, p)
	ar := rp2.newAuthReq()
	ar.params.Del("code_challenge")
	ar.params.Del("code_challenge_method")
	cb := rp2.callback(rp2.authorize(ar.params))
	if st, tok := rp2.exchange(cb.Get("code"), ""); st != 200 {
		t.Errorf("code flow without PKCE: %d %v", st, tok)
	}
	strict := newProvider(t, Options{AutoLogin: true, RequirePKCE: true})
	rp3 := newRP(t, strict)
	ar = rp3.newAuthReq()
	ar.params.Del("code_challenge")
	ar.params.Del("code_challenge_method")
	if cb := rp3.callback(rp3.authorize(ar.params)); cb.Get("error") != "invalid_request" {
		t.Errorf("RequirePKCE: %v", cb)
	}
}

func TestPlainPKCEOnlyWhenAllowed(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, AllowPlainPKCE: true})
	rp := newRP(t, p)
	if methods := audList(rp.discover()["code_challenge_methods_supported"]); len(methods) != 2 {
		t.Errorf("advertised %v", methods)
	}
	ar := rp.newAuthReq()
	ar.params.Set("code_challenge", ar.verifier)
	ar.params.Set("code_challenge_method", "plain")
	cb := rp.callback(rp.authorize(ar.params))
	if st, tok := rp.exchange(cb.Get("code"), ar.verifier); st != 200 {
		t.Fatalf("plain PKCE: %d %v", st, tok)
	}
}

func TestRegisteredRedirectURIsMatchExactly(t *testing.T) {
	clients := []Client{{ID: "strict", Secret: "s", RedirectURIs: []string{"https://app.example/cb"}}}
	p := newProvider(t, Options{AutoLogin: true, Clients: clients})
	rp := newRP(t, p)
	rp.clientID, rp.secret, rp.redirectURI = "strict", "s", "https://app.example/cb"
	for _, bad := range []string{"https://app.example/cb/", "https://app.example/cb?x=1", "https://APP.example/cb", testRedirectURI} {
		ar := rp.newAuthReq()
		ar.params.Set("redirect_uri", bad)
		if st := rp.authorize(ar.params).StatusCode; st != 400 {
			t.Errorf("%s: %d, expected 400", bad, st)
		}
	}
	rp.callback(rp.authorize(rp.newAuthReq().params))
	if err := p.AddRedirectURI("strict", "https://app.example/other?keep=1"); err != nil {
		t.Fatal(err)
	}
	rp.redirectURI = "https://app.example/other"
	ar := rp.newAuthReq()
	ar.params.Set("redirect_uri", "https://app.example/other?keep=1")
	cb := rp.callback(rp.authorize(ar.params))
	if cb.Get("keep") != "1" || cb.Get("code") == "" {
		t.Errorf("redirect URI query not kept: %v", cb)
	}
}

func TestMatchRegisteredRefusesHostChanges(t *testing.T) {
	prefixes := []string{"http://127.0.0.1:", "https://app.example/cb"}
	for uri, want := range map[string]bool{
		"http://127.0.0.1:8080/cb":              true,
		"http://127.0.0.1:1/":                   true,
		"http://127.0.0.1:/cb":                  false,
		"http://127.0.0.1:80@evil.example/":     false,
		"http://127.0.0.1.evil.example:80/":     false,
		"https://app.example/cb/x":              true,
		"https://app.example/cb.evil.example/x": true, // same host, path prefix
		"https://app.example/cb@evil.example":   true, // "@" inside the path keeps the host
		"https://app.example/cb#frag":           false,
		"":                                      false,
		"/relative":                             false,
	} {
		if got := matchRegistered(uri, nil, prefixes); got != want {
			t.Errorf("matchRegistered(%q) = %v, expected %v", uri, got, want)
		}
	}
}

// TestStepUpReauthenticatesTheSameProviderSession: a forced re-authentication of the
// same user (prompt=login, or acr_values the session is not at) keeps the provider
// session and its sid, moves auth_time to now and sets the acr; InitialAuthAge dates
// a new session's sign-in back.
func TestStepUpReauthenticatesTheSameProviderSession(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, ACRValues: []string{"urn:pwd", "urn:mfa"}, DefaultACR: "urn:pwd", InitialAuthAge: time.Hour})
	rp := newRP(t, p)
	f := rp.login()
	_, c1, _ := ParseUnverified(str(f.tokens, "id_token"))
	if age := time.Now().Unix() - int64(c1["auth_time"].(float64)); age < 3590 || c1["acr"] != "urn:pwd" {
		t.Fatalf("first sign-in: auth_time %v s ago, acr %v", age, c1["acr"])
	}
	ar := rp.newAuthReq()
	ar.params.Set("acr_values", "urn:mfa")
	_, tok := rp.exchange(rp.callback(rp.authorize(ar.params)).Get("code"), ar.verifier)
	_, c2, _ := ParseUnverified(str(tok, "id_token"))
	if c2["acr"] != "urn:mfa" || c2["sid"] != c1["sid"] || time.Now().Unix()-int64(c2["auth_time"].(float64)) > 60 {
		t.Fatalf("acr step-up: acr %v sid %v (was %v) auth_time %v", c2["acr"], c2["sid"], c1["sid"], c2["auth_time"])
	}
	ar = rp.newAuthReq()
	ar.params.Set("prompt", "login")
	_, tok = rp.exchange(rp.callback(rp.authorize(ar.params)).Get("code"), ar.verifier)
	_, c3, _ := ParseUnverified(str(tok, "id_token"))
	if c3["sid"] != c1["sid"] || c3["acr"] != "urn:pwd" {
		t.Fatalf("prompt=login: sid %v (was %v), acr %v", c3["sid"], c1["sid"], c3["acr"])
	}
	if n := len(p.SessionIDs("alice")); n != 1 {
		t.Fatalf("alice has %d provider sessions, expected 1", n)
	}
	// Unsupported acr_values: signed in at the default, as OIDC Core 3.1.2.1 allows.
	ar = rp.newAuthReq()
	ar.params.Set("acr_values", "urn:unknown")
	_, tok = rp.exchange(rp.callback(rp.authorize(ar.params)).Get("code"), ar.verifier)
	if _, c4, _ := ParseUnverified(str(tok, "id_token")); c4["acr"] != "urn:pwd" {
		t.Fatalf("unsupported acr_values: acr %v", c4["acr"])
	}
}
