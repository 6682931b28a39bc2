package yaegihost

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/reqsafe/reqsafetest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// Per-route rules (docs/POLICIES.md), compiled and under Yaegi: path matching on
// the attack matrix, claim requirements with their explanations, report mode.

// rule is a rule as a file provider hands it over.
func rule(kv ...any) map[string]any {
	r := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i].(string)] = kv[i+1]
	}
	return r
}

// TestAllowRulesNeverMatchAmbiguousPathsUnderYaegi plays every row of the path
// matrix against rules that allow reqsafetest.Exclusions (as prefixes) and
// authenticate the rest: the canonical rows reach the backend without sign-in,
// every other row is authenticated (401 for an API client) or refused by the HTTP
// server, exactly as with excludedURLs.
func TestAllowRulesNeverMatchAmbiguousPathsUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		cfg := baseConfig()
		var rules []any
		for _, p := range reqsafetest.Exclusions {
			rules = append(rules, rule("path", p, "action", "allow"))
		}
		rules = append(rules, rule("pathRegexp", "/admin/.*", "require", map[string]any{"groups": "admins"}))
		cfg["rules"] = rules
		srv := startGatehouse(t, md, cfg, "rule-paths@file")
		playPathMatrix(t, srv.URL)
	})
}

// TestAmbiguousPathsFallUnderEveryRuleTheyCouldMeanUnderYaegi: a deny rule for
// /admin and a lenient rule for /status come before the default rule. A path that
// some backend reads as /admin ("/status/..;/admin", "/status/%2e%2e/admin", ...)
// must not be let in by the /status rule it textually falls under: any path that is
// not canonical is refused by the deny rule, whose other conditions match, and a
// canonical one is decided by its own rule.
func TestAmbiguousPathsFallUnderEveryRuleTheyCouldMeanUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		cfg["rules"] = []any{
			rule("path", "/status", "name", "status"),
			rule("path", "/admin", "action", "deny", "name", "admin"),
		}
		group(cfg, "authorization")["allowedGroups"] = "nobody"
		srv := startGatehouse(t, md, cfg, "rule-ambiguous@file")
		br := newBrowser()
		if p := br.get(t, srv.URL+"/status"); p.status != http.StatusOK {
			t.Fatalf("the lenient rule: %d %s", p.status, p.body)
		}
		for _, target := range []string{"/status/..;/admin", "/status%0Ax", "/status/a%0Axx", "/status/%2e%2e/admin", "/status/..%2Fadmin", "/status//../admin", `/status/..\admin`, "/status/%2561dmin"} {
			resp := br.rawOnce(t, srv.URL, target)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%q: %d, want 403 (the deny rule)", target, resp.StatusCode)
			}
		}
		// Without a deny rule among them, an ambiguous path must satisfy every rule
		// it could fall under and the default rule: here the default's group.
		cfg["rules"] = []any{rule("path", "/status", "name", "status")}
		srv = startGatehouse(t, md, cfg, "rule-ambiguous-2@file")
		br = newBrowser()
		mustContain(t, "status", br.get(t, srv.URL+"/status"), "backend /status")
		resp := br.rawOnce(t, srv.URL, "/status/..;/private")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("an ambiguous path under the lenient rule: %d, want 403 (the default rule's group)", resp.StatusCode)
		}
	})
}

// auth0User has an Auth0-style namespaced claim (a URL, dots and all) and a Entra
// tenant id.
var auth0User = testop.User{
	Username: "nina", Password: "nina-password", Email: "nina@example.com", EmailVerified: true,
	Groups: []string{"staff"},
	Claims: map[string]any{"https://example.com/roles": []any{"editor"}, "tid": "72f988bf-0000-4000-8000-000000000001", "hd": "example.com"},
}

// TestClaimRequirementsDecideEachRuleAndExplainDenialsUnderYaegi: Keycloak's nested
// realm_access.roles, an Auth0 namespaced claim found by its whole name, an Entra
// tenant id, Google's hd, a regular expression; users allowed by one rule are
// refused by another with a 403 that names the rule and the requirement (HTML and
// JSON), never a claim value or the configured values.
func TestClaimRequirementsDecideEachRuleAndExplainDenialsUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		if err := op.AddUser(auth0User); err != nil {
			t.Fatal(err)
		}
		cfg := rpConfig(op)
		cfg["rules"] = []any{
			rule("name", "keycloak-admin", "path", "/admin/", "require", map[string]any{
				"allOf": []any{map[string]any{"claim": "realm_access.roles", "contains": "admin"}}}),
			rule("name", "auth0-editor", "path", "/edit/", "require", map[string]any{
				"anyOf": []any{
					map[string]any{"claim": "https://example.com/roles", "contains": "editor"},
					map[string]any{"claim": "groups", "in": "admins,editors"},
				}}),
			rule("name", "tenant", "path", "/tenant/", "require", map[string]any{
				"allOf": []any{
					map[string]any{"claim": "tid", "equals": "72f988bf-0000-4000-8000-000000000001"},
					map[string]any{"claim": "hd", "exists": "true"},
					map[string]any{"claim": "email", "matches": `.*@example\.com`},
				}}),
			rule("name", "secret", "pathExact", "/secret", "require", map[string]any{"users": "carol@example.net,alice@example.com"}),
		}
		srv := startGatehouse(t, md, cfg, "rule-claims@file")

		alice := newBrowser()
		mustContain(t, "alice, keycloak role", alice.get(t, srv.URL+"/admin/x"), "backend /admin/x", "X-Forwarded-User: alice@example.com")
		mustContain(t, "alice, group admins", alice.get(t, srv.URL+"/edit/x"), "backend /edit/x")
		mustContain(t, "alice, secret", alice.get(t, srv.URL+"/secret"), "backend /secret")
		p := alice.get(t, srv.URL+"/tenant/x")
		if p.status != http.StatusForbidden || !strings.Contains(p.body, `rules[2] &#34;tenant&#34;`) ||
			!strings.Contains(p.body, "rules[2].require.allOf[0]") || !strings.Contains(p.body, "claim tid does not equal the required value") {
			t.Fatalf("alice at /tenant/: %d\n%s", p.status, p.body)
		}
		if strings.Contains(p.body, "72f988bf") {
			t.Fatalf("the explanation shows the required value:\n%s", p.body)
		}

		op.SetAutoLogin("nina")
		nina := newBrowser()
		mustContain(t, "nina, tenant", nina.get(t, srv.URL+"/tenant/x"), "backend /tenant/x")
		mustContain(t, "nina, namespaced claim", nina.get(t, srv.URL+"/edit/x"), "backend /edit/x")
		p = nina.get(t, srv.URL+"/admin/x")
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "realm_access.roles") {
			t.Fatalf("nina at /admin/: %d\n%s", p.status, p.body)
		}
		// An API client gets the same as JSON: the rule, the requirement, the reason.
		resp, body := getAPI(t, srv.URL+"/secret", "Accept", "application/json", "Cookie", cookieHeader(t, nina, srv.URL))
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("nina at /secret as an API client: %d %s", resp.StatusCode, body)
		}
		if got["error"] != "access_denied" || got["rule"] != `rules[3] "secret"` || got["requirement"] != "rules[3].require.users" ||
			got["reason"] != "user or email domain not allowed" {
			t.Fatalf("explanation %v", got)
		}
		if strings.Contains(body, "alice@") || strings.Contains(body, "carol@") || strings.Contains(body, "nina@") {
			t.Fatalf("the explanation names users:\n%s", body)
		}
	})
}

// TestReportModeLogsWouldDenyAndLetsTheRequestThroughUnderYaegi: a group
// restriction rolled out in report mode lets bob in and logs "would deny" with the
// rule, the requirement and bob's keyed hash (never his address); the same rule in
// enforce mode refuses him; authorization.mode report does it for every rule.
func TestReportModeLogsWouldDenyAndLetsTheRequestThroughUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{AutoLoginUser: "bob"})
		var before int
		if md.name == "yaegi" {
			before = len(host(t).Output())
		}
		stop := captureStderr(t)
		cfg := rpConfig(op)
		cfg["logLevel"] = "info"
		cfg["rules"] = []any{
			rule("name", "staff", "path", "/reports/", "mode", "report", "require", map[string]any{"groups": "admins"}),
			rule("name", "closed", "path", "/old/", "action", "deny", "mode", "report"),
			rule("name", "enforced", "path", "/payroll/", "require", map[string]any{"groups": "admins"}),
		}
		srv := startGatehouse(t, md, cfg, "rule-report@file")
		br := newBrowser()
		mustContain(t, "report-mode rule", br.get(t, srv.URL+"/reports/q3"), "backend /reports/q3", "X-Forwarded-User: bob@example.com")
		mustContain(t, "report-mode deny rule", br.get(t, srv.URL+"/old/page"), "backend /old/page")
		if p := br.get(t, srv.URL+"/payroll/"); p.status != http.StatusForbidden {
			t.Fatalf("enforced rule: %d", p.status)
		}
		cfg2 := rpConfig(op)
		cfg2["logLevel"] = "info"
		group(cfg2, "authorization")["mode"] = "report"
		group(cfg2, "authorization")["allowedGroups"] = "admins"
		cfg2["rules"] = []any{rule("name", "enforced", "path", "/payroll/", "require", map[string]any{"groups": "admins"})}
		srv2 := startGatehouse(t, md, cfg2, "instance-report@file")
		br2 := newBrowser()
		mustContain(t, "instance in report mode, default rule", br2.get(t, srv2.URL+"/home"), "backend /home")
		mustContain(t, "instance in report mode, a rule", br2.get(t, srv2.URL+"/payroll/"), "backend /payroll/")
		out := stop()
		if md.name == "yaegi" {
			out += host(t).Output()[before:]
		}
		for _, want := range []string{
			`event=access.would_deny msg="would deny (report mode)" reason="no allowed group" requirement=rules[0].require.groups rule="rules[0] \"staff\"" source=session user=h:`,
			`event=access.would_deny msg="would deny: the rule denies every request it matches (report mode)" method=GET path=h:`,
			`rule="rules[1] \"closed\""`,
			`reason="no allowed group" requirement=authorization.allowedGroups rule="the default rule" source=session user=h:`,
			`reason="no allowed group" requirement=rules[0].require.groups rule="rules[0] \"enforced\"" source=session user=h:`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the log lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "bob@example.com") {
			t.Errorf("the log names bob:\n%s", out)
		}
	})
}

// TestRulesMatchMethodsHostsAndHeadersUnderYaegi: first match wins over methods,
// hosts (exact, *. suffix, ports and case ignored) and header presence.
func TestRulesMatchMethodsHostsAndHeadersUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		cfg := baseConfig()
		cfg["rules"] = []any{
			rule("path", "/api/", "methods", "GET,HEAD", "hosts", "public.example.com", "action", "allow"),
			rule("path", "/api/", "hosts", "*.internal.example", "headers", "X-Probe", "action", "allow"),
			rule("path", "/api/", "methods", "DELETE", "action", "deny"),
		}
		srv := startGatehouse(t, md, cfg, "rule-conditions@file")
		cases := []struct {
			method, host string
			hdr          []string
			want         int
		}{
			{"GET", "public.example.com", nil, http.StatusOK},
			{"GET", "PUBLIC.Example.com:8443", nil, http.StatusOK},
			{"GET", "public.example.com.", nil, http.StatusOK},
			{"POST", "public.example.com", nil, http.StatusUnauthorized},
			{"GET", "other.example.com", nil, http.StatusUnauthorized},
			{"GET", "a.internal.example", []string{"X-Probe", "1"}, http.StatusOK},
			{"GET", "internal.example", []string{"X-Probe", "1"}, http.StatusUnauthorized},
			{"GET", "a.internal.example", nil, http.StatusUnauthorized},
			{"DELETE", "public.example.com", nil, http.StatusForbidden},
			{"DELETE", "a.internal.example", []string{"X-Probe", "1"}, http.StatusOK},
		}
		for _, c := range cases {
			req, _ := http.NewRequest(c.method, srv.URL+"/api/items", nil)
			req.Host = c.host
			req.Header.Set("Accept", "application/json")
			for i := 0; i+1 < len(c.hdr); i += 2 {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			resp, body := doRequest(t, req)
			if resp.StatusCode != c.want {
				t.Errorf("%s %s %v: %d, want %d\n%s", c.method, c.host, c.hdr, resp.StatusCode, c.want, body)
			}
		}
	})
}

// TestMisspelledRuleOptionIsRefusedWithItsPathUnderYaegi: Traefik would drop an
// unknown name inside a rule; Gatehouse refuses to start and names it with its
// index and the option meant, as for every other option.
func TestMisspelledRuleOptionIsRefusedWithItsPathUnderYaegi(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, md string) {
		cfg := baseConfig()
		cfg["rules"] = []any{
			rule("path", "/a/"),
			rule("path", "/b/", "require", map[string]any{"group": "admins", "allOf": []any{map[string]any{"claim": "tid", "equal": "x"}}}),
		}
		err := buildError(t, md, cfg)
		if err == "" {
			t.Fatal("a misspelled rule option was accepted")
		}
		for _, want := range []string{
			"rules[1].require.group: unknown option; did you mean rules[1].require.groups?",
			"rules[1].require.allOf[0].equal: unknown option; did you mean rules[1].require.allOf[0].equals?",
			"rules[1].require.allOf[0]: give exactly one of equals, in, contains, matches and exists",
		} {
			if !strings.Contains(err, want) {
				t.Errorf("the error lacks %q:\n%v", want, err)
			}
		}
	})
}

// TestBearerTokensFollowTheRulesUnderYaegi: a machine token is decided by the rule
// of its request like a session: its roles let it into /orders/ and not /reports/
// (403 JSON naming the rule), and a rule that needs a recent sign-in answers RFC
// 9470's insufficient_user_authentication challenge (a token has no sign-in to
// redo). Allow rules still strip the Authorization header.
func TestBearerTokensFollowTheRulesUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		cfg["rules"] = []any{
			rule("name", "public", "path", "/public/", "action", "allow"),
			rule("name", "orders", "path", "/orders/", "require", map[string]any{"roles": "orders-service"}),
			rule("name", "reports", "path", "/reports/", "require", map[string]any{"roles": "reporter"}),
			rule("name", "fresh", "path", "/fresh/", "require", map[string]any{"maxAuthAge": "5m", "acr": "urn:mfa"}),
		}
		srv := startGatehouse(t, md, cfg, "rule-bearer@file")
		tok := bearer(ordersToken(t, op))
		resp, body := getAPI(t, srv.URL+"/orders/1", tok...)
		wantForwarded(t, "orders", resp, body, "X-Forwarded-User: svc-orders")
		resp, body = getAPI(t, srv.URL+"/reports/1", tok...)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"requirement":"rules[2].require.roles"`) {
			t.Fatalf("reports: %d %s", resp.StatusCode, body)
		}
		resp, body = getAPI(t, srv.URL+"/fresh/1", tok...)
		challenge := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(challenge, `error="insufficient_user_authentication"`) ||
			!strings.Contains(challenge, `acr_values="urn:mfa"`) || !strings.Contains(challenge, `max_age="300"`) {
			t.Fatalf("fresh: %d %q %s", resp.StatusCode, challenge, body)
		}
		resp, body = getAPI(t, srv.URL+"/public/x", tok...)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, "Authorization:") {
			t.Fatalf("public: %d %s", resp.StatusCode, body)
		}
	})
}

// TestSessionSignedInBeforeAClaimRuleSignsInAgainUnderYaegi: a session kept only the
// claims the rules of its time read. When a new configuration (a reload: same name,
// same keys) adds a rule on a claim the session lacks, the browser signs in again,
// silently through the provider session, instead of being refused for a claim it
// has.
func TestSessionSignedInBeforeAClaimRuleSignsInAgainUnderYaegi(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		before := startGatehouse(t, md, rpConfig(op), "reload@file")
		cfg := rpConfig(op)
		cfg["rules"] = []any{rule("path", "/admin/", "require", map[string]any{
			"allOf": []any{map[string]any{"claim": "realm_access.roles", "contains": "admin"}}})}
		after := startGatehouse(t, md, cfg, "reload@file")
		br := newBrowser()
		mustContain(t, "before the rule", br.get(t, before.URL+"/app"), "backend /app")
		n := op.Count(testop.EPAuthorize)
		mustContain(t, "after the rule", br.get(t, after.URL+"/admin/x"), "backend /admin/x")
		if op.Count(testop.EPAuthorize) != n+1 {
			t.Fatalf("%d sign-ins, want one more", op.Count(testop.EPAuthorize)-n)
		}
		mustContain(t, "the renewed session", br.get(t, after.URL+"/admin/y"), "backend /admin/y")
		if op.Count(testop.EPAuthorize) != n+1 {
			t.Fatal("the renewed session signed in again")
		}
	})
}
