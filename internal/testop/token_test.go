package testop

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuthorizationCodeIsOneTimeAndBoundToPKCEClientAndRedirect(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	code := func() (*authReq, string) {
		ar := rp.newAuthReq()
		return ar, rp.callback(rp.authorize(ar.params)).Get("code")
	}
	expectGrantError := func(name string, status int, body map[string]any) {
		t.Helper()
		if status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("%s: %d %v, expected 400 invalid_grant", name, status, body)
		}
	}
	ar, c := code()
	st, body := rp.exchange(c, "wrong-verifier-wrong-verifier-wrong-verifier-0")
	expectGrantError("wrong verifier", st, body)
	// The failed attempt consumed the code.
	st, body = rp.exchange(c, ar.verifier)
	expectGrantError("code after a failed attempt", st, body)

	_, c = code()
	st, body = rp.exchange(c, "")
	expectGrantError("missing verifier", st, body)

	ar, c = code()
	st, body = rp.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {c},
		"redirect_uri": {rp.redirectURI + "x"}, "code_verifier": {ar.verifier}})
	expectGrantError("other redirect_uri", st, body)

	ar, c = code()
	other := newRP(t, p)
	other.clientID, other.secret = MachineClientID, MachineClientSecret
	st, body = other.exchange(c, ar.verifier)
	if st != 400 || body["error"] != "unauthorized_client" {
		t.Errorf("machine client redeeming a code: %d %v", st, body)
	}

	// Replaying a redeemed code fails and revokes what it produced (RFC 6749 4.1.2).
	ar, c = code()
	st, tok := rp.exchange(c, ar.verifier)
	if st != 200 {
		t.Fatalf("exchange: %d %v", st, tok)
	}
	st, body = rp.exchange(c, ar.verifier)
	expectGrantError("replayed code", st, body)
	if p.TokenActive(str(tok, "access_token")) || p.TokenActive(str(tok, "refresh_token")) {
		t.Error("tokens of a replayed code stay active")
	}

	// A verifier without a challenge is a downgrade attempt (RFC 9700 2.1.1).
	ar = rp.newAuthReq()
	ar.params.Del("code_challenge")
	ar.params.Del("code_challenge_method")
	c = rp.callback(rp.authorize(ar.params)).Get("code")
	st, body = rp.exchange(c, ar.verifier)
	expectGrantError("verifier without challenge", st, body)

	st, body = rp.exchange("no-such-code", "")
	expectGrantError("unknown code", st, body)
}

func TestAuthorizationCodeExpires(t *testing.T) {
	now := time.Now()
	p := newProvider(t, Options{AutoLogin: true, Now: func() time.Time { return now }, Lifetimes: Lifetimes{Code: 10 * time.Second}})
	rp := newRP(t, p)
	ar := rp.newAuthReq()
	c := rp.callback(rp.authorize(ar.params)).Get("code")
	now = now.Add(11 * time.Second)
	if st, body := rp.exchange(c, ar.verifier); st != 400 || !strings.Contains(str(body, "error_description"), "expired") {
		t.Errorf("expired code: %d %v", st, body)
	}
}

func TestClientAuthenticationMethods(t *testing.T) {
	clients := append(DefaultClients(),
		Client{ID: "post-only", Secret: "p@ss:w/rd", AuthMethod: "client_secret_post", RedirectURIPrefixes: []string{"http://127.0.0.1:"}},
		Client{ID: "basic:user", Secret: "s3cr et+/=", AuthMethod: "client_secret_basic", RedirectURIPrefixes: []string{"http://127.0.0.1:"}},
	)
	p := newProvider(t, Options{AutoLogin: true, Clients: clients})
	tokenURL := p.Endpoints().Token
	rp := newRP(t, p)
	codeFor := func(clientID string) (string, string) {
		r := newRP(t, p)
		r.clientID = clientID
		ar := r.newAuthReq()
		return r.callback(r.authorize(ar.params)).Get("code"), ar.verifier
	}
	form := func(clientID string, extra url.Values) url.Values {
		c, v := codeFor(clientID)
		f := url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {testRedirectURI}, "code_verifier": {v}}
		for k, vs := range extra {
			f[k] = vs
		}
		return f
	}

	// client_secret_basic: id and secret are form-encoded before base64 (RFC 6749 2.3.1).
	st, body := rp.postForm(tokenURL, form("basic:user", nil), "basic:user", "s3cr et+/=")
	if st != 200 {
		t.Errorf("basic with encoded credentials: %d %v", st, body)
	}
	// client_secret_post.
	st, body = rp.postForm(tokenURL, form("post-only", url.Values{"client_id": {"post-only"}, "client_secret": {"p@ss:w/rd"}}), "", "")
	if st != 200 {
		t.Errorf("post: %d %v", st, body)
	}
	// A client restricted to post may not use basic, and vice versa.
	st, body = rp.postForm(tokenURL, form("post-only", nil), "post-only", "p@ss:w/rd")
	if st != 401 || body["error"] != "invalid_client" {
		t.Errorf("post-only client with basic: %d %v", st, body)
	}
	st, body = rp.postForm(tokenURL, form("basic:user", url.Values{"client_id": {"basic:user"}, "client_secret": {"s3cr et+/="}}), "", "")
	if st != 401 {
		t.Errorf("basic-only client with post: %d %v", st, body)
	}
	// Public client: client_id only, PKCE did the rest.
	st, body = rp.postForm(tokenURL, form(PublicClientID, url.Values{"client_id": {PublicClientID}}), "", "")
	if st != 200 || str(body, "id_token") == "" {
		t.Errorf("public client: %d %v", st, body)
	}
	// A confidential client may not skip authentication.
	st, body = rp.postForm(tokenURL, form(DefaultClientID, url.Values{"client_id": {DefaultClientID}}), "", "")
	if st != 401 || body["error"] != "invalid_client" {
		t.Errorf("confidential client without secret: %d %v", st, body)
	}
	// Wrong secret over basic: 401 with a Basic challenge.
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form(DefaultClientID, nil).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultClientID, "wrong")
	resp, err := rp.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("wrong secret: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Two methods at once are refused.
	st, body = rp.postForm(tokenURL, form(DefaultClientID, url.Values{"client_secret": {DefaultClientSecret}}), DefaultClientID, DefaultClientSecret)
	if st != 400 || body["error"] != "invalid_request" {
		t.Errorf("two methods: %d %v", st, body)
	}
	st, body = rp.postForm(tokenURL, url.Values{"grant_type": {"password"}}, DefaultClientID, DefaultClientSecret)
	if st != 400 || body["error"] != "unsupported_grant_type" {
		t.Errorf("password grant: %d %v", st, body)
	}
	if p.Count("token:unsupported") != 1 {
		t.Errorf("token:unsupported count %d", p.Count("token:unsupported"))
	}
	if _, err := New(Options{Clients: []Client{{ID: "x", AuthMethod: "private_key_jwt"}}}); err == nil {
		t.Error("unsupported AuthMethod accepted")
	}
}

func TestRefreshTokenRotationAndReuseDetection(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, Lifetimes: Lifetimes{AccessToken: 2 * time.Second, IDToken: 2 * time.Second}})
	rp := newRP(t, p)
	f := rp.login()
	if f.tokens["expires_in"] != float64(2) {
		t.Errorf("expires_in %v, expected 2", f.tokens["expires_in"])
	}
	idClaims, _ := rp.validateIDToken(str(f.tokens, "id_token"), f.req.nonce, "")
	rt1 := str(f.tokens, "refresh_token")
	refresh := func(rt string) (int, map[string]any) {
		return rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	st, tok := refresh(rt1)
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, tok)
	}
	rt2 := str(tok, "refresh_token")
	if rt2 == "" || rt2 == rt1 {
		t.Fatalf("refresh token not rotated: %q", rt2)
	}
	c2, err := rp.validateIDToken(str(tok, "id_token"), "", str(tok, "access_token"))
	if err != nil {
		t.Fatal(err)
	}
	// OIDC Core 12.2: same iss, sub, aud, auth_time and sid; no nonce.
	for _, k := range []string{"iss", "sub", "aud", "auth_time", "sid"} {
		if c2[k] != idClaims[k] {
			t.Errorf("refreshed ID token %s = %v, expected %v", k, c2[k], idClaims[k])
		}
	}
	if c2["nonce"] != nil {
		t.Error("refreshed ID token carries a nonce")
	}
	if p.TokenActive(rt1) || !p.TokenActive(rt2) {
		t.Error("rotation: old token should be dead, new one alive")
	}
	// Reuse of rt1: refused, and the whole grant (rt2 and its access token) revoked.
	st, body := refresh(rt1)
	if st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("reused refresh token: %d %v", st, body)
	}
	if p.TokenActive(rt2) || p.TokenActive(str(tok, "access_token")) {
		t.Error("reuse detection did not revoke the grant")
	}
	if st, _ := refresh(rt2); st != 400 {
		t.Error("descendant refresh token still works after reuse")
	}
	if p.Count("token:refresh_token") != 3 {
		t.Errorf("token:refresh_token count %d, expected 3", p.Count("token:refresh_token"))
	}

	// Without reuse detection, reusing fails but the newest token survives.
	p.SetRefreshPolicy(true, false)
	f = rp.login()
	rt1 = str(f.tokens, "refresh_token")
	_, tok = refresh(rt1)
	rt2 = str(tok, "refresh_token")
	if st, _ := refresh(rt1); st != 400 {
		t.Error("reuse accepted with rotation on")
	}
	if st, _ := refresh(rt2); st != 200 {
		t.Error("reuse without detection revoked the newest token")
	}
}

func TestRefreshWithoutRotationKeepsTheToken(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, DisableRefreshRotation: true})
	rp := newRP(t, p)
	rt := str(rp.login().tokens, "refresh_token")
	for i := 0; i < 3; i++ {
		st, tok := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if st != 200 || tok["refresh_token"] != nil || str(tok, "access_token") == "" {
			t.Fatalf("refresh %d without rotation: %d %v", i, st, tok)
		}
	}
	// Narrowing scope is allowed, widening is not (RFC 6749 section 6).
	if st, tok := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid"}}); st != 200 || tok["scope"] != "openid" {
		t.Errorf("narrowed scope: %d %v", st, tok)
	}
	if st, tok := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid admin"}}); st != 400 || tok["error"] != "invalid_scope" {
		t.Errorf("widened scope: %d %v", st, tok)
	}
}

func TestRefreshTokenExpiresAndBelongsToItsClient(t *testing.T) {
	now := time.Now()
	p := newProvider(t, Options{AutoLogin: true, Now: func() time.Time { return now }, Lifetimes: Lifetimes{RefreshToken: time.Minute}})
	rp := newRP(t, p)
	rt := str(rp.login().tokens, "refresh_token")
	pub := newRP(t, p)
	pub.clientID, pub.secret = PublicClientID, ""
	if st, body := pub.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); st != 400 {
		t.Errorf("another client's refresh token: %d %v", st, body)
	}
	now = now.Add(61 * time.Second)
	if st, body := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); st != 400 || !strings.Contains(str(body, "error_description"), "expired") {
		t.Errorf("expired refresh token: %d %v", st, body)
	}
}

func TestConcurrentRefreshesWithOneTokenSucceedOnce(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	rt := str(rp.login().tokens, "refresh_token")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			mu.Lock()
			if st == 200 {
				ok++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d of 8 concurrent refreshes with one token succeeded, expected 1", ok)
	}
}

func TestClientCredentialsIssuesRFC9068AccessTokens(t *testing.T) {
	p := newProvider(t, Options{})
	ctx := context.Background()
	rp := newRP(t, p)
	tr, err := p.ClientCredentials(ctx, MachineClientID, MachineClientSecret, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.TokenType != "Bearer" || tr.ExpiresIn != 300 || tr.RefreshToken != "" || tr.IDToken != "" || tr.Scope != "orders.read orders.write" {
		t.Errorf("response %+v", tr)
	}
	hdr, claims, err := verifyWith(tr.AccessToken, rp.jwks())
	if err != nil {
		t.Fatal(err)
	}
	if hdr["typ"] != "at+jwt" {
		t.Errorf("typ %v, expected at+jwt (RFC 9068 section 2.1)", hdr["typ"])
	}
	for k, v := range map[string]any{"iss": p.URL(), "sub": MachineClientID, "aud": DefaultAudience,
		"client_id": MachineClientID, "azp": MachineClientID, "scope": "orders.read orders.write"} {
		if claims[k] != v {
			t.Errorf("%s = %v, expected %v", k, claims[k], v)
		}
	}
	for _, k := range []string{"exp", "iat", "jti"} {
		if claims[k] == nil {
			t.Errorf("%s missing", k)
		}
	}
	if audList(claims["roles"])[0] != "orders-service" {
		t.Errorf("roles %v", claims["roles"])
	}

	// Narrowed scope, requested audience, refused scope and audience.
	tr, err = p.ClientCredentials(ctx, MachineClientID, MachineClientSecret, DefaultAudience, "orders.read")
	if err != nil || tr.Scope != "orders.read" {
		t.Errorf("narrowed scope: %v %+v", err, tr)
	}
	_, err = p.ClientCredentials(ctx, MachineClientID, MachineClientSecret, "", "admin")
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "invalid_scope" || te.Status != 400 {
		t.Errorf("refused scope: %v", err)
	}
	_, err = p.ClientCredentials(ctx, MachineClientID, MachineClientSecret, "other-api", "")
	if !errors.As(err, &te) || te.Code != "invalid_target" {
		t.Errorf("refused audience: %v", err)
	}
	_, err = p.ClientCredentials(ctx, MachineClientID, "wrong", "", "")
	if !errors.As(err, &te) || te.Status != 401 {
		t.Errorf("wrong secret: %v", err)
	}
	_, err = p.ClientCredentials(ctx, DefaultClientID, DefaultClientSecret, "", "")
	if !errors.As(err, &te) || te.Code != "unauthorized_client" {
		t.Errorf("browser client using client_credentials: %v", err)
	}

	// Several audiences come with azp.
	tr, err = p.ClientCredentials(ctx, MultiAudienceClientID, MultiAudienceClientSecret, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, claims, _ = ParseUnverified(tr.AccessToken)
	if got := audList(claims["aud"]); len(got) != 2 || claims["azp"] != MultiAudienceClientID {
		t.Errorf("multi-audience token aud %v azp %v", claims["aud"], claims["azp"])
	}
	// The resource parameter (RFC 8707) narrows to one of them.
	st, body := rp.postForm(p.Endpoints().Token, url.Values{"grant_type": {"client_credentials"}, "resource": {"reports-api"}},
		MultiAudienceClientID, MultiAudienceClientSecret)
	_, claims, _ = ParseUnverified(str(body, "access_token"))
	if st != 200 || claims["aud"] != "reports-api" {
		t.Errorf("resource parameter: %d aud %v", st, claims["aud"])
	}
	if p.Count("token:client_credentials") != 8 {
		t.Errorf("token:client_credentials count %d, expected 8", p.Count("token:client_credentials"))
	}
}

func TestClientAccessTokenVariants(t *testing.T) {
	clients := []Client{
		{ID: "keycloak-like", Secret: "s", GrantTypes: []string{"client_credentials"}, AccessTokenType: "JWT",
			AccessTokenClaims: map[string]any{"azp": nil, "token_use": "access", "realm_access": map[string]any{"roles": []string{"svc"}}}},
		{ID: "no-typ", Secret: "s", GrantTypes: []string{"client_credentials"}, AccessTokenType: "-"},
		{ID: "opaque", Secret: "s", GrantTypes: []string{"client_credentials"}, OpaqueAccessTokens: true},
	}
	p := newProvider(t, Options{Clients: clients})
	ctx := context.Background()
	tr, err := p.ClientCredentials(ctx, "keycloak-like", "s", "", "")
	if err != nil {
		t.Fatal(err)
	}
	hdr, claims, _ := ParseUnverified(tr.AccessToken)
	if hdr["typ"] != "JWT" || claims["azp"] != nil || claims["token_use"] != "access" || claims["aud"] != "keycloak-like" {
		t.Errorf("keycloak-like token: %v %v", hdr, claims)
	}
	tr, _ = p.ClientCredentials(ctx, "no-typ", "s", "", "")
	if hdr, _, _ := ParseUnverified(tr.AccessToken); hdr["typ"] != nil {
		t.Errorf("typ %v, expected none", hdr["typ"])
	}
	tr, _ = p.ClientCredentials(ctx, "opaque", "s", "", "")
	if strings.Count(tr.AccessToken, ".") != 0 || !p.TokenActive(tr.AccessToken) {
		t.Errorf("opaque token %q", tr.AccessToken)
	}
}
