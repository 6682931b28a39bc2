package testop

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUserinfoNeedsALiveUserAccessToken(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	at := str(rp.login().tokens, "access_token")
	get := func(tok string) (int, map[string]any, string) {
		req, _ := http.NewRequest(http.MethodGet, p.Endpoints().Userinfo, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := rp.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body, resp.Header.Get("WWW-Authenticate")
	}
	if st, body, _ := get(at); st != 200 || body["preferred_username"] != "alice" {
		t.Errorf("userinfo: %d %v", st, body)
	}
	// POST with the token in the body (RFC 6750 section 2.2).
	if st, body := rp.postForm(p.Endpoints().Userinfo, url.Values{"access_token": {at}}, "", ""); st != 200 || body["sub"] == nil {
		t.Errorf("userinfo POST: %d %v", st, body)
	}
	if st, _, www := get("bogus"); st != 401 || !strings.Contains(www, `error="invalid_token"`) {
		t.Errorf("bogus token: %d %q", st, www)
	}
	cc, _ := p.ClientCredentials(context.Background(), MachineClientID, MachineClientSecret, "", "")
	if st, _, _ := get(cc.AccessToken); st != 401 {
		t.Errorf("client-credentials token at userinfo: %d", st)
	}
}

func TestIntrospectionReportsActiveAndInactiveTokens(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	f := rp.login()
	introspect := func(tok, id, secret string) (int, map[string]any) {
		return rp.postForm(p.Endpoints().Introspection, url.Values{"token": {tok}}, id, secret)
	}
	cc, _ := p.ClientCredentials(context.Background(), MachineClientID, MachineClientSecret, "", "orders.read")
	st, body := introspect(cc.AccessToken, IntrospectionClientID, IntrospectionClientSecret)
	if st != 200 || body["active"] != true {
		t.Fatalf("introspection: %d %v", st, body)
	}
	_, claims, _ := ParseUnverified(cc.AccessToken)
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "scope", "client_id", "jti"} {
		if body[k] != claims[k] {
			t.Errorf("introspection %s = %v, token says %v", k, body[k], claims[k])
		}
	}
	if body["scope"] != "orders.read" || body["token_type"] != "Bearer" {
		t.Errorf("introspection %v", body)
	}
	st, body = introspect(str(f.tokens, "refresh_token"), IntrospectionClientID, IntrospectionClientSecret)
	if st != 200 || body["active"] != true || body["token_type"] != "refresh_token" || body["username"] != "alice" {
		t.Errorf("refresh token introspection: %d %v", st, body)
	}
	st, body = introspect(str(f.tokens, "access_token"), DefaultClientID, DefaultClientSecret)
	if st != 200 || body["active"] != true || body["sid"] == nil || body["username"] != "alice" {
		t.Errorf("user access token introspection: %d %v", st, body)
	}
	if st, body := introspect("unknown", IntrospectionClientID, IntrospectionClientSecret); st != 200 || len(body) != 1 || body["active"] != false {
		t.Errorf("unknown token: %d %v, expected only active:false (RFC 7662 section 2.2)", st, body)
	}
	if st, _ := introspect(cc.AccessToken, IntrospectionClientID, "wrong"); st != 401 {
		t.Errorf("unauthenticated introspection: %d", st)
	}
	if st, _ := rp.postForm(p.Endpoints().Introspection, url.Values{"token": {cc.AccessToken}, "client_id": {PublicClientID}}, "", ""); st != 401 {
		t.Errorf("public client introspection: %d", st)
	}
	// An opaque token minted for the test is introspectable too.
	opaque, err := p.IssueAccessToken(AccessTokenOptions{Opaque: true, Scope: "orders.read", Audience: []string{"gatehouse-api"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := introspect(opaque, IntrospectionClientID, IntrospectionClientSecret); body["active"] != true || body["aud"] != "gatehouse-api" {
		t.Errorf("opaque token: %v", body)
	}
	if p.Count(EPIntrospect) != 7 || len(p.Requests(EPIntrospect)) != 7 {
		t.Errorf("introspect count %d, recorded %d", p.Count(EPIntrospect), len(p.Requests(EPIntrospect)))
	}
}

func TestIntrospectionOfExpiredTokenIsInactive(t *testing.T) {
	now := time.Now()
	p := newProvider(t, Options{Now: func() time.Time { return now }, Lifetimes: Lifetimes{AccessToken: 2 * time.Second}})
	rp := newRP(t, p)
	tok, _ := p.IssueAccessToken(AccessTokenOptions{})
	now = now.Add(3 * time.Second)
	if _, body := rp.postForm(p.Endpoints().Introspection, url.Values{"token": {tok}}, IntrospectionClientID, IntrospectionClientSecret); body["active"] != false {
		t.Errorf("expired token: %v", body)
	}
}

func TestIntrospectionFailureAndHangSwitches(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	tok, _ := p.IssueAccessToken(AccessTokenOptions{})
	p.SetMisbehaviour(IntrospectionFailing)
	if st, _ := rp.postForm(p.Endpoints().Introspection, url.Values{"token": {tok}}, IntrospectionClientID, IntrospectionClientSecret); st != 500 {
		t.Errorf("IntrospectionFailing: %d", st)
	}
	p.SetMisbehaviour(IntrospectionHangs)
	client := &http.Client{Timeout: 150 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPost, p.Endpoints().Introspection, strings.NewReader("token="+tok))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(IntrospectionClientID, IntrospectionClientSecret)
	start := time.Now()
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("IntrospectionHangs answered %d", resp.StatusCode)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("client deadline not honoured")
	}
	p.SetMisbehaviour(0)
	if st, body := rp.postForm(p.Endpoints().Introspection, url.Values{"token": {tok}}, IntrospectionClientID, IntrospectionClientSecret); st != 200 || body["active"] != true {
		t.Errorf("after clearing: %d %v", st, body)
	}
}

func TestRevocationEndsRefreshGrantAndAccessTokens(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	f := rp.login()
	rt, at := str(f.tokens, "refresh_token"), str(f.tokens, "access_token")
	revoke := func(tok, hint, id, secret string) int {
		st, _ := rp.postForm(p.Endpoints().Revocation, url.Values{"token": {tok}, "token_type_hint": {hint}}, id, secret)
		return st
	}
	if n := p.ActiveRefreshTokens("alice"); n != 1 {
		t.Fatalf("active refresh tokens %d", n)
	}
	if st := revoke(rt, "refresh_token", MachineClientID, MachineClientSecret); st != 400 {
		t.Errorf("another client revoking: %d", st)
	}
	if st := revoke(rt, "refresh_token", DefaultClientID, DefaultClientSecret); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	if p.ActiveRefreshTokens("alice") != 0 || p.TokenActive(at) {
		t.Error("revoking the refresh token left the grant alive (RFC 7009 section 2.1)")
	}
	st, body := rp.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("revoked refresh token used: %d %v", st, body)
	}
	if st := revoke("never-issued", "", DefaultClientID, DefaultClientSecret); st != 200 {
		t.Errorf("unknown token: %d, expected 200 (RFC 7009 section 2.2)", st)
	}
	if st := revoke(rt, "", DefaultClientID, "wrong"); st != 401 {
		t.Errorf("unauthenticated revocation: %d", st)
	}
	// An access token alone.
	cc, _ := p.ClientCredentials(context.Background(), MachineClientID, MachineClientSecret, "", "")
	if st := revoke(cc.AccessToken, "access_token", MachineClientID, MachineClientSecret); st != 200 || p.TokenActive(cc.AccessToken) {
		t.Errorf("access token revocation: %d active=%v", st, p.TokenActive(cc.AccessToken))
	}
	// A public client revokes its own token with client_id alone.
	pub := newRP(t, p)
	pub.clientID, pub.secret = PublicClientID, ""
	pf := pub.login()
	st, _ = pub.postForm(p.Endpoints().Revocation, url.Values{"token": {str(pf.tokens, "refresh_token")}, "client_id": {PublicClientID}}, "", "")
	if st != 200 || p.TokenActive(str(pf.tokens, "refresh_token")) {
		t.Errorf("public revocation: %d", st)
	}
	// The recorded form shows what the relying party sent.
	reqs := p.Requests(EPRevoke)
	if len(reqs) != 6 || reqs[1].Form.Get("token") != rt || reqs[1].Form.Get("token_type_hint") != "refresh_token" {
		t.Errorf("recorded revocations %d: %+v", len(reqs), reqs)
	}
}

func TestEndSessionValidatesHintAndRedirectAndEndsSession(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	rp := newRP(t, p)
	f := rp.login()
	idt := str(f.tokens, "id_token")
	es := p.Endpoints().EndSession
	get := func(q url.Values) *http.Response {
		resp, err := rp.http.Get(es + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// Refused without touching the session.
	for name, q := range map[string]url.Values{
		"unregistered post-logout URI":   {"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://evil.example/"}},
		"post-logout URI without client": {"post_logout_redirect_uri": {"http://127.0.0.1:5555/bye"}},
		"forged hint":                    {"id_token_hint": {p.SignHMAC(nil, map[string]any{"iss": p.URL()}, []byte("k"))}},
		"hint for another client":        {"id_token_hint": {idt}, "client_id": {PublicClientID}},
	} {
		if resp := get(q); resp.StatusCode != 400 {
			t.Errorf("%s: %d, expected 400", name, resp.StatusCode)
		}
	}
	if len(p.SessionIDs("alice")) != 1 {
		t.Fatal("a refused logout ended the session")
	}
	resp := get(url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"http://127.0.0.1:5555/bye?x=1"}, "state": {"st-1"}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc.Path != "/bye" || loc.Query().Get("state") != "st-1" || loc.Query().Get("x") != "1" {
		t.Errorf("end-session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(p.SessionIDs("alice")) != 0 {
		t.Error("provider session survived end-session")
	}
	// The browser is no longer signed in at the provider.
	ar := rp.newAuthReq()
	ar.params.Set("prompt", "none")
	if cb := rp.callback(rp.authorize(ar.params)); cb.Get("error") != "login_required" {
		t.Errorf("after logout, prompt=none gave %v", cb)
	}
	// The refresh token is untouched by default...
	if !p.TokenActive(str(f.tokens, "refresh_token")) {
		t.Error("end-session revoked the refresh token without EndSessionRevokesTokens")
	}
	// ...and an expired hint is still accepted (RP-Initiated Logout 1.0 section 2).
	old, _ := p.IssueIDToken(IDTokenOptions{Lifetime: time.Nanosecond, AuthTime: time.Now().Add(-time.Hour)})
	if resp := get(url.Values{"id_token_hint": {old}}); resp.StatusCode != 200 {
		t.Errorf("expired hint without redirect: %d, expected the signed-out page", resp.StatusCode)
	}
	if p.Count(EPEndSession) != 6 {
		t.Errorf("end_session count %d", p.Count(EPEndSession))
	}
}

func TestEndSessionCanRevokeTokens(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true, EndSessionRevokesTokens: true})
	rp := newRP(t, p)
	f := rp.login()
	resp, err := rp.http.Get(p.Endpoints().EndSession + "?id_token_hint=" + url.QueryEscape(str(f.tokens, "id_token")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p.TokenActive(str(f.tokens, "refresh_token")) || p.TokenActive(str(f.tokens, "access_token")) {
		t.Error("EndSessionRevokesTokens left tokens active")
	}
}

// logoutReceiver is a relying party's back-channel endpoint that records the logout
// tokens it receives and answers status.
type logoutReceiver struct {
	mu     sync.Mutex
	tokens []string
	ctypes []string
	status int
	srv    *httptest.Server
}

func newLogoutReceiver(t *testing.T, status int) *logoutReceiver {
	lr := &logoutReceiver{status: status}
	lr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		lr.mu.Lock()
		lr.tokens = append(lr.tokens, r.PostForm.Get("logout_token"))
		lr.ctypes = append(lr.ctypes, r.Method+" "+r.Header.Get("Content-Type"))
		lr.mu.Unlock()
		w.WriteHeader(lr.status)
	}))
	t.Cleanup(lr.srv.Close)
	return lr
}

func (lr *logoutReceiver) received() []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return append([]string(nil), lr.tokens...)
}

// checkLogoutToken validates a logout token as Back-Channel Logout 1.0 section 2.6
// requires.
func checkLogoutToken(t *testing.T, rp *testRP, tok, wantSub, wantSid string) {
	t.Helper()
	hdr, claims, err := verifyWith(tok, rp.jwks())
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	if hdr["typ"] != "logout+jwt" {
		t.Errorf("typ %v", hdr["typ"])
	}
	if claims["iss"] != rp.p.URL() || claims["aud"] != DefaultClientID || claims["jti"] == nil || claims["iat"] == nil || claims["exp"] == nil {
		t.Errorf("claims %v", claims)
	}
	ev, _ := claims["events"].(map[string]any)
	if _, ok := ev[BackchannelLogoutEvent].(map[string]any); !ok || len(ev) != 1 {
		t.Errorf("events %v", claims["events"])
	}
	if claims["nonce"] != nil {
		t.Error("logout token has a nonce")
	}
	if str(claims, "sub") != wantSub || str(claims, "sid") != wantSid {
		t.Errorf("sub %v sid %v, expected %q %q", claims["sub"], claims["sid"], wantSub, wantSid)
	}
}

func TestBackchannelLogoutPostsAValidLogoutToken(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	lr := newLogoutReceiver(t, http.StatusOK)
	ctx := context.Background()
	st, err := p.BackchannelLogout(ctx, lr.srv.URL+"/bc", "alice", "sid-123")
	if err != nil || st != 200 {
		t.Fatalf("BackchannelLogout: %d %v", st, err)
	}
	alice, _ := p.User("alice")
	got := lr.received()
	checkLogoutToken(t, rp, got[0], alice.Subject, "sid-123")
	if lr.ctypes[0] != "POST application/x-www-form-urlencoded" {
		t.Errorf("request %q", lr.ctypes[0])
	}
	// sid only, then sub only; the relying party's status is returned.
	lr.status = http.StatusBadRequest
	if st, _ := p.BackchannelLogout(ctx, lr.srv.URL, "", "sid-9"); st != 400 {
		t.Errorf("status %d, expected the receiver's 400", st)
	}
	checkLogoutToken(t, rp, lr.received()[1], "", "sid-9")
	_, _ = p.BackchannelLogout(ctx, lr.srv.URL, "bob", "")
	bob, _ := p.User("bob")
	checkLogoutToken(t, rp, lr.received()[2], bob.Subject, "")
	if _, err := p.BackchannelLogout(ctx, lr.srv.URL, "", ""); err == nil {
		t.Error("a logout token without sub and sid was sent")
	}
	if p.Count(EPBackchannel) != 3 || p.Requests(EPBackchannel)[0].Form.Get("logout_token") != got[0] {
		t.Errorf("backchannel count %d", p.Count(EPBackchannel))
	}
	// The switches apply to sent logout tokens too.
	p.SetMisbehaviour(WrongAudience)
	_, _ = p.BackchannelLogout(ctx, lr.srv.URL, "alice", "")
	_, claims, _ := ParseUnverified(lr.received()[3])
	if claims["aud"] != "wrong-audience" {
		t.Errorf("WrongAudience on a logout token: aud %v", claims["aud"])
	}
}

func TestLogoutTokenOptionsCraftEachNegativeCase(t *testing.T) {
	p := newProvider(t, Options{})
	rp := newRP(t, p)
	keys := rp.jwks()
	mk := func(o LogoutTokenOptions) (map[string]any, map[string]any) {
		t.Helper()
		if o.User == "" && o.SessionID == "" {
			o.SessionID = "sid-1"
		}
		tok, err := p.LogoutToken(o)
		if err != nil {
			t.Fatal(err)
		}
		h, c, _ := ParseUnverified(tok)
		return h, c
	}
	valid, _ := p.LogoutToken(LogoutTokenOptions{User: "alice", SessionID: "s"})
	alice, _ := p.User("alice")
	checkLogoutToken(t, rp, valid, alice.Subject, "s")

	if h, _ := mk(LogoutTokenOptions{Alg: "none"}); h["alg"] != "none" || h["kid"] != nil {
		t.Errorf("alg none header %v", h)
	}
	hs, _ := p.LogoutToken(LogoutTokenOptions{SessionID: "s", Alg: "HS256"})
	if h, _, _ := ParseUnverified(hs); h["alg"] != "HS256" {
		t.Errorf("HS256 header %v", h)
	}
	if want := p.SignHMAC(map[string]any{"alg": "HS256", "typ": "logout+jwt"}, nil, []byte(DefaultClientSecret)); strings.Split(want, ".")[0] != strings.Split(hs, ".")[0] {
		t.Error("HS256 logout token header differs from SignHMAC's")
	}
	rs384, _ := p.LogoutToken(LogoutTokenOptions{SessionID: "s", Alg: "RS384"})
	if _, _, err := verifyWith(rs384, keys); err != errAlg {
		t.Errorf("RS384 with the RS256 key: %v, expected an alg error", err)
	}
	if _, c := mk(LogoutTokenOptions{ClientID: PublicClientID}); c["aud"] != PublicClientID {
		t.Errorf("aud %v", c["aud"])
	}
	if _, c := mk(LogoutTokenOptions{Audience: []string{"a", "b"}}); len(audList(c["aud"])) != 2 {
		t.Errorf("aud %v", c["aud"])
	}
	if _, c := mk(LogoutTokenOptions{Issuer: "https://evil.example"}); c["iss"] != "https://evil.example" {
		t.Errorf("iss %v", c["iss"])
	}
	if _, c := mk(LogoutTokenOptions{OmitEvents: true}); c["events"] != nil {
		t.Errorf("events %v", c["events"])
	}
	if _, c := mk(LogoutTokenOptions{Events: map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}}); c["events"].(map[string]any)[BackchannelLogoutEvent] != nil {
		t.Errorf("events %v", c["events"])
	}
	if _, c := mk(LogoutTokenOptions{Nonce: "n"}); c["nonce"] != "n" {
		t.Errorf("nonce %v", c["nonce"])
	}
	if _, c := mk(LogoutTokenOptions{Lifetime: -time.Minute}); c["exp"].(float64) >= float64(time.Now().Unix()) {
		t.Errorf("expired token exp %v", c["exp"])
	}
	_, c1 := mk(LogoutTokenOptions{JTI: "replayed"})
	_, c2 := mk(LogoutTokenOptions{JTI: "replayed"})
	if c1["jti"] != "replayed" || c2["jti"] != "replayed" {
		t.Errorf("jti %v %v", c1["jti"], c2["jti"])
	}
	if h, _ := mk(LogoutTokenOptions{Type: "-"}); h["typ"] != nil {
		t.Errorf("typ %v", h["typ"])
	}
	if _, c := mk(LogoutTokenOptions{Claims: map[string]any{"iat": nil}}); c["iat"] != nil {
		t.Errorf("iat %v", c["iat"])
	}
	only := newProvider(t, Options{Clients: []Client{{ID: "only-rp", Secret: "s", RedirectURIs: []string{"https://rp.example/cb"}}}})
	if tok, err := only.LogoutToken(LogoutTokenOptions{SessionID: "s"}); err != nil {
		t.Errorf("logout token with custom clients: %v", err)
	} else if _, c, _ := ParseUnverified(tok); c["aud"] != "only-rp" {
		t.Errorf("aud %v, expected the only code-flow client", c["aud"])
	}
	if _, err := p.LogoutToken(LogoutTokenOptions{User: "nobody"}); err == nil {
		t.Error("unknown user accepted")
	}
	// Sent as is.
	lr := newLogoutReceiver(t, 400)
	if st, err := p.SendLogoutToken(context.Background(), lr.srv.URL, hs); err != nil || st != 400 || lr.received()[0] != hs {
		t.Errorf("SendLogoutToken: %d %v", st, err)
	}
}

func TestEndSessionNotifiesBackAndFrontChannelClients(t *testing.T) {
	p := newProvider(t, Options{AutoLogin: true})
	lr := newLogoutReceiver(t, 200)
	if err := p.SetLogoutURIs(DefaultClientID, lr.srv.URL+"/backchannel", "http://127.0.0.1:5555/frontchannel?x=1"); err != nil {
		t.Fatal(err)
	}
	rp := newRP(t, p)
	f := rp.login()
	_, idc, _ := ParseUnverified(str(f.tokens, "id_token"))
	resp, err := rp.http.Get(p.Endpoints().EndSession + "?" + url.Values{
		"id_token_hint": {str(f.tokens, "id_token")}, "post_logout_redirect_uri": {"http://127.0.0.1:5555/bye"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// With a front-channel client, the provider shows a page framing it, then goes on.
	frame := p.FrontchannelLogoutURL("http://127.0.0.1:5555/frontchannel?x=1", str(idc, "sid"))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `src="`+strings.ReplaceAll(frame, "&", "&amp;")+`"`) ||
		!strings.Contains(string(body), `href="http://127.0.0.1:5555/bye"`) {
		t.Errorf("signed-out page %d:\n%s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "ZgotmplZ") {
		t.Errorf("template refused a value:\n%s", body)
	}
	got := lr.received()
	if len(got) != 1 {
		t.Fatalf("back-channel received %d logout tokens, expected 1", len(got))
	}
	checkLogoutToken(t, rp, got[0], str(idc, "sub"), str(idc, "sid"))
	if p.Count(EPFrontchannel) != 1 || p.Count(EPBackchannel) != 1 {
		t.Errorf("counts %v", p.Counts())
	}

	// An administrator ends all of bob's sessions.
	p.SetAutoLogin("bob")
	rp2 := newRP(t, p)
	f2 := rp2.login()
	_, c2, _ := ParseUnverified(str(f2.tokens, "id_token"))
	sids := p.EndUserSessions(context.Background(), "bob")
	if len(sids) != 1 || sids[0] != c2["sid"] || len(p.SessionIDs("bob")) != 0 {
		t.Errorf("EndUserSessions %v", sids)
	}
	if got := lr.received(); len(got) != 2 {
		t.Errorf("back-channel received %d tokens after EndUserSessions", len(got))
	}
}

func TestFrontchannelLogoutURLAddsIssAndSid(t *testing.T) {
	p := newProvider(t, Options{})
	u, _ := url.Parse(p.FrontchannelLogoutURL("https://app.example/fc?keep=1", "s1"))
	if u.Host != "app.example" || u.Path != "/fc" || u.Query().Get("iss") != p.URL() || u.Query().Get("sid") != "s1" || u.Query().Get("keep") != "1" {
		t.Errorf("front-channel URL %s", u)
	}
}
