package yaegihost

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Step-up (docs/POLICIES.md): a rule requiring a recent sign-in (maxAuthAge) or an
// authentication context class (acr) sends a session that lacks it back to the real
// test provider, and the browser comes back to the same page with its session
// upgraded, signed out nowhere — compiled and under Yaegi.

// stepUpProvider signs alice in with an hour-old sign-in at acr urn:pwd, and can
// step up to urn:mfa.
func stepUpProvider(t *testing.T) *testop.Provider {
	return newOP(t, testop.Options{InitialAuthAge: time.Hour, ACRValues: []string{"urn:pwd", "urn:mfa"}, DefaultACR: "urn:pwd"})
}

func stepUpConfig(op *testop.Provider) map[string]any {
	cfg := rpConfig(op)
	cfg["rules"] = []any{
		rule("name", "admin", "path", "/admin/", "require", map[string]any{"groups": "admins", "maxAuthAge": "10m"}),
		rule("name", "payments", "path", "/payments/", "require", map[string]any{"acr": "urn:mfa"}),
	}
	return cfg
}

// TestStepUpRoundTripComesBackToThePageWithoutSigningOutUnderYaegi: alice's session
// is an hour old. /app lets her in; /admin/ (maxAuthAge 10m) sends her browser to
// the provider with max_age=600 and prompt=login, and she comes back to the page
// she asked for with a fresh sign-in; /payments/ (acr urn:mfa) does the same with
// acr_values. The provider session (its sid) survives both, nothing is logged out
// (no end-session, no back-channel logout), and her session at another instance of
// the same provider still works.
func TestStepUpRoundTripComesBackToThePageWithoutSigningOutUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := stepUpProvider(t)
		srv := startGatehouse(t, md, stepUpConfig(op), "stepup@file")
		otherCfg := rpConfig(op)
		group(otherCfg, "session")["cookieName"] = "_other" // cookies ignore ports
		other := startGatehouse(t, md, otherCfg, "stepup-other@file")
		br := newBrowser()
		mustContain(t, "sign-in", br.get(t, srv.URL+"/app"), "backend /app")
		mustContain(t, "the other application", br.get(t, other.URL+"/home"), "backend /home")
		sids := op.SessionIDs("alice")
		if len(sids) != 1 {
			t.Fatalf("provider sessions %v", sids)
		}
		before := cookieHeader(t, br, srv.URL)

		p := br.get(t, srv.URL+"/admin/users?page=2")
		mustContain(t, "step-up for maxAuthAge", p, "backend /admin/users", "X-Forwarded-User: alice@example.com")
		if !strings.HasSuffix(p.url, "/admin/users?page=2") {
			t.Fatalf("came back to %s", p.url)
		}
		auth := lastAuthorize(t, op)
		if auth.Get("max_age") != "600" || auth.Get("prompt") != "login" || auth.Get("acr_values") != "" {
			t.Fatalf("the step-up asked for %v", auth)
		}
		// The upgraded session passes without another round trip.
		n := op.Count(testop.EPAuthorize)
		mustContain(t, "upgraded session", br.get(t, srv.URL+"/admin/other"), "backend /admin/other")
		if op.Count(testop.EPAuthorize) != n {
			t.Fatal("the upgraded session was sent to the provider again")
		}

		p = br.get(t, srv.URL+"/payments/new")
		mustContain(t, "step-up for acr", p, "backend /payments/new")
		if auth := lastAuthorize(t, op); auth.Get("acr_values") != "urn:mfa" || auth.Get("prompt") != "" {
			t.Fatalf("the acr step-up asked for %v", auth)
		}
		if got := op.SessionIDs("alice"); len(got) != 1 || got[0] != sids[0] {
			t.Fatalf("provider sessions %v, were %v: the step-up replaced the provider session", got, sids)
		}
		if op.Count(testop.EPEndSession) != 0 || op.Count(testop.EPBackchannel) != 0 {
			t.Fatalf("the step-up signed out somewhere: %v", op.Counts())
		}
		mustContain(t, "the other application after the step-ups", br.get(t, other.URL+"/home"), "backend /home")
		mustContain(t, "the first page after the step-ups", br.get(t, srv.URL+"/app"), "backend /app")

		// The step-ups upgraded the session rather than start another: signing out
		// of the upgraded one also ends the cookie it had before (a copy of it).
		resp, _ := br.post(t, srv.URL+"/oauth2/logout", url.Values{}, "Origin", srv.URL, "Sec-Fetch-Site", "same-origin")
		if resp.StatusCode >= 400 {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		resp, body := getAPI(t, srv.URL+"/app", "Accept", "application/json", "Cookie", before)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the pre-step-up cookie after logout: %d %s", resp.StatusCode, body)
		}
	})
}

// lastAuthorize is the query of the provider's last authorization request.
func lastAuthorize(t *testing.T, op *testop.Provider) url.Values {
	t.Helper()
	reqs := op.Requests(testop.EPAuthorize)
	if len(reqs) == 0 {
		t.Fatal("no authorization request")
	}
	return reqs[len(reqs)-1].Form
}

// TestStepUpThatTheProviderDoesNotGrantEndsAtAnErrorPageUnderYaegi: a provider that
// does not support urn:mfa signs in at its default acr; the callback refuses the
// answer (the returned acr is checked) instead of looping back to the provider, and
// the session alice had still works elsewhere.
func TestStepUpThatTheProviderDoesNotGrantEndsAtAnErrorPageUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{ACRValues: []string{"urn:pwd"}, DefaultACR: "urn:pwd"})
		srv := startGatehouse(t, md, stepUpConfig(op), "stepup-refused@file")
		br := newBrowser()
		mustContain(t, "sign-in", br.get(t, srv.URL+"/app"), "backend /app")
		p := br.get(t, srv.URL+"/payments/new")
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "did not sign you in at the level this page requires") {
			t.Fatalf("unreachable acr: %d at %s\n%s", p.status, p.url, p.body)
		}
		if n := op.Count(testop.EPAuthorize); n != 2 {
			t.Fatalf("%d authorization requests: the step-up looped", n)
		}
		mustContain(t, "the session after a refused step-up", br.get(t, srv.URL+"/app"), "backend /app")
	})
}

// TestStepUpForAnAPIClientAnswers401WithALoginURLUnderYaegi: a fetch from a page
// whose session is too old gets 401 insufficient_user_authentication with a
// login_url; navigating there steps up and returns to the page (the Referer).
func TestStepUpForAnAPIClientAnswers401WithALoginURLUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := stepUpProvider(t)
		srv := startGatehouse(t, md, stepUpConfig(op), "stepup-api@file")
		br := newBrowser()
		mustContain(t, "sign-in", br.get(t, srv.URL+"/app"), "backend /app")
		resp, body := getAPI(t, srv.URL+"/admin/api/users", "Cookie", cookieHeader(t, br, srv.URL),
			"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Accept", "*/*", "Referer", srv.URL+"/admin/console")
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("fetch: %d %s", resp.StatusCode, body)
		}
		if got["error"] != "insufficient_user_authentication" || got["requirement"] != "rules[0].require.maxAuthAge" ||
			!strings.HasSuffix(got["login_url"], "/oauth2/start?rd=%2Fadmin%2Fconsole&rule=0") {
			t.Fatalf("fetch: %v", got)
		}
		p := br.get(t, got["login_url"])
		mustContain(t, "login_url", p, "backend /admin/console")
		if auth := lastAuthorize(t, op); auth.Get("max_age") != "600" || auth.Get("prompt") != "login" {
			t.Fatalf("login_url asked for %v", auth)
		}
		resp, body = getAPI(t, srv.URL+"/admin/api/users", "Cookie", cookieHeader(t, br, srv.URL), "Sec-Fetch-Mode", "cors")
		wantForwarded(t, "fetch after the step-up", resp, body, "X-Forwarded-User: alice@example.com")
	})
}
