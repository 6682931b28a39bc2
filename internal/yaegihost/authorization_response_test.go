package yaegihost

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// The test provider's authorization-response switches no other plugin test plays
// (internal/testop/misbehaviour.go states what a conforming relying party does).

// callbackHop is the redirect to Gatehouse's callback among the browser's hops.
func callbackHop(t testing.TB, b *browser) *url.URL {
	t.Helper()
	for _, h := range b.hops {
		if u := mustURL(t, h); u.Path == "/oauth2/callback" {
			return u
		}
	}
	t.Fatalf("the browser never reached the callback: %v", b.hops)
	return nil
}

// TestWrongStateIsRejectedBeforeTheCodeIsRedeemed: WrongState ("answers the
// authorization request with a state the relying party did not send. Expected:
// rejected"): the login fails cleanly at the callback with an error page, nothing
// reaches the backend, no session cookie is set, and the code is never sent to the
// token endpoint. The same browser then signs in normally once the provider behaves.
func TestWrongStateIsRejectedBeforeTheCodeIsRedeemed(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, rpConfig(op), "state@file")
		op.SetMisbehaviour(testop.WrongState)
		br := newBrowser()
		p := br.get(t, srv.URL+"/protected?x=1")
		if p.status < 400 || p.status >= 500 || strings.Contains(p.body, "backend") || !strings.Contains(p.url, "/oauth2/callback") {
			t.Fatalf("wrong state: %d at %s:\n%.300s", p.status, p.url, p.body)
		}
		cb := callbackHop(t, br)
		authz := op.Requests("authorize")
		if len(authz) != 1 || cb.Query().Get("state") == "" || cb.Query().Get("state") == authz[0].Form.Get("state") || cb.Query().Get("code") == "" {
			t.Fatalf("the provider did not answer with a code and another state: callback %s, authorization requests %d", cb, len(authz))
		}
		if p.header.Get("Cache-Control") != "no-store" || p.header.Get("Location") != "" {
			t.Fatalf("error page headers: %v", p.header)
		}
		if n := op.Count("token"); n != 0 {
			t.Fatalf("the code of a response with a wrong state was redeemed (%d token requests)", n)
		}
		for _, c := range sessionCookies(br, srv.URL) {
			if !strings.HasPrefix(c.Name, "_gatehouse_login_") {
				t.Fatalf("a session cookie was set: %s", c.Name)
			}
		}
		if resp := br.once(t, srv.URL+"/protected"); resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), op.URL()) {
			t.Fatalf("after the failed login the browser is not signed in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}

		op.SetMisbehaviour(0)
		mustContain(t, "the same browser afterwards", br.get(t, srv.URL+"/protected?x=1"), "backend /protected", "X-Forwarded-User: alice@example.com")
	})
}

// TestIssParameterUnsupportedSignsIn: IssParameterUnsupported ("advertises
// authorization_response_iss_parameter_supported false and sends no iss (valid).
// Expected: accepted"): discovery says false, the callback carries no iss, and the
// login succeeds (RFC 9207 requires iss only when the provider advertises it).
func TestIssParameterUnsupportedSignsIn(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		// Before Gatehouse reads discovery.
		op.SetMisbehaviour(testop.IssParameterUnsupported)
		srv := startGatehouse(t, md, rpConfig(op), "iss-unsupported@file")
		br := newBrowser()
		p := br.get(t, srv.URL+"/app")
		mustContain(t, "login without iss", p, "backend /app", "X-Forwarded-User: alice@example.com")
		if cb := callbackHop(t, br); cb.Query().Has("iss") || cb.Query().Get("code") == "" {
			t.Fatalf("the callback was %s, want a code and no iss", cb)
		}
		if n := op.Count("token"); n != 1 {
			t.Fatalf("%d token requests", n)
		}
	})
}
