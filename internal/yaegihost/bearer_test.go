package yaegihost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gatehouse "github.com/gatehouse-oidc/gatehouse"
	"github.com/gatehouse-oidc/gatehouse/internal/auth"
	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc/oidctest"
	"github.com/gatehouse-oidc/gatehouse/internal/redistest"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
	"github.com/mitchellh/mapstructure"
)

// Machine-to-machine bearer authentication, end to end: the test provider issues
// tokens over real HTTP (client credentials) or mints crafted ones, Gatehouse runs
// under Yaegi and compiled, replicas share a real redis-server. docs/BEARER.md's
// hardening table points at these tests by name.

// bearerConfig is rpConfig with bearer auth on for the provider's machine clients.
func bearerConfig(op *testop.Provider) map[string]any {
	cfg := rpConfig(op)
	b := group(cfg, "bearer")
	b["enabled"] = true
	b["audience"] = testop.DefaultAudience
	return cfg
}

// startInstance is startGatehouse that also returns the handler, for probes.
func startInstance(t testing.TB, md mode, cfg map[string]any, name string) (*httptest.Server, http.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := md.build(t, ctx, echoBackend(), cfg, name)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

// machineToken runs the client-credentials grant at the provider.
func machineToken(t testing.TB, op *testop.Provider, client, secret, scope string) string {
	t.Helper()
	tr, err := op.ClientCredentials(context.Background(), client, secret, "", scope)
	if err != nil {
		t.Fatal(err)
	}
	return tr.AccessToken
}

func ordersToken(t testing.TB, op *testop.Provider) string {
	return machineToken(t, op, testop.MachineClientID, testop.MachineClientSecret, "")
}

// mintAccess mints an access token of svc-orders with claims merged in.
func mintAccess(t testing.TB, op *testop.Provider, claims map[string]any) string {
	t.Helper()
	tok, err := op.IssueAccessToken(testop.AccessTokenOptions{Claims: claims})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// validClaims are the claims of a good svc-orders token, for hand-signed variants.
func validClaims(op *testop.Provider) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": op.URL(), "sub": "svc-orders", "aud": testop.DefaultAudience, "iat": now,
		"exp": now + 300, "jti": "hand-" + strconv.FormatInt(time.Now().UnixNano(), 36), "client_id": "svc-orders"}
}

// getAPI sends GET url with the given header pairs and returns the response and body.
func getAPI(t testing.TB, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return doRequest(t, req)
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// wantForwarded checks a 200 from the backend with these lines in the echoed headers.
func wantForwarded(t testing.TB, what string, resp *http.Response, body string, lines ...string) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "backend ") {
		t.Fatalf("%s: %d %s", what, resp.StatusCode, body)
	}
	for _, l := range lines {
		if !strings.Contains(body, l) {
			t.Fatalf("%s: the backend did not get %q:\n%s", what, l, body)
		}
	}
}

// wantRefused checks a refusal with status and, for 401/403, the RFC 6750 error code
// in WWW-Authenticate, and that nothing reached the backend.
func wantRefused(t testing.TB, what string, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || strings.Contains(body, "backend ") {
		t.Fatalf("%s: want %d, got %d %s", what, status, resp.StatusCode, body)
	}
	if code == "" {
		return
	}
	ch := resp.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, `error="`+code+`"`) {
		t.Fatalf("%s: WWW-Authenticate %q, want error %q", what, ch, code)
	}
	if !strings.Contains(body, `"error":"`+code+`"`) {
		t.Fatalf("%s: body %s", what, body)
	}
}

// ---- probes: a middleware's bearer counters and revocation, in either mode ----

var bearerProbeOnce sync.Once

// bearerOp runs op on a middleware built by md: "stats" (signature checks, shared
// verifications, introspections, introspection cache hits, refused, introspections
// shared with a concurrent request), "mode" (cache
// mode, health and tracking), "revoke-jti <iss> <jti>" through RevokeBearerToken,
// "revoke-sub <iss> <sub>" (written through the instance's own store as back-channel
// logout writes it; answers the not-before time).
func bearerOp(t testing.TB, md mode, h http.Handler, op string, a, b string) string {
	t.Helper()
	if md.name == "compiled" {
		return compiledBearerOp(h, op, a, b)
	}
	hst := host(t)
	var err error
	bearerProbeOnce.Do(func() {
		if err = hst.Import("context", "net/http", "strconv", "time",
			"github.com/gatehouse-oidc/gatehouse/internal/auth", "github.com/gatehouse-oidc/gatehouse/internal/cache"); err != nil {
			return
		}
		_, err = hst.Eval(bearerProbeSource)
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := hst.Eval("yaegiBearerOp")
	if err != nil {
		t.Fatal(err)
	}
	return f.Call([]reflect.Value{reflect.ValueOf(h), reflect.ValueOf(op), reflect.ValueOf(a), reflect.ValueOf(b)})[0].String()
}

// bearerProbeSource is compiledBearerOp, evaluated in the plugin's interpreter.
const bearerProbeSource = `
func yaegiBearerOp(h http.Handler, op, a, b string) string {
	m, ok := h.(*auth.Middleware)
	if !ok {
		return "not a middleware"
	}
	ctx := context.Background()
	switch op {
	case "stats":
		s := m.BearerStats()
		return strconv.FormatInt(s.SignatureChecks, 10) + " " + strconv.FormatInt(s.SharedVerifications, 10) + " " +
			strconv.FormatInt(s.Introspections, 10) + " " + strconv.FormatInt(s.IntrospectionHits, 10) + " " +
			strconv.FormatInt(s.Refused, 10) + " " + strconv.FormatInt(s.IntrospectionsShared, 10)
	case "mode":
		st := m.Cache().Stats()
		return st.Mode + " " + st.Health + " " + st.Tracking
	case "revoke-jti":
		if err := m.RevokeBearerToken(ctx, a, b, time.Now().Add(time.Hour)); err != nil {
			return err.Error()
		}
		return "ok"
	case "revoke-sub":
		nb := strconv.FormatInt(time.Now().Unix(), 10)
		ks := &cache.Keyspace{Name: "revoked", Class: cache.Revocation, MaxTTL: 25 * time.Hour}
		if err := m.Cache().Set(ctx, ks, "sub:"+a+"\x00"+b, []byte(nb), time.Hour); err != nil {
			return err.Error()
		}
		return nb
	}
	return "unknown op"
}
`

func compiledBearerOp(h http.Handler, op, a, b string) string {
	m, ok := h.(*auth.Middleware)
	if !ok {
		return "not a middleware"
	}
	ctx := context.Background()
	switch op {
	case "stats":
		s := m.BearerStats()
		return strconv.FormatInt(s.SignatureChecks, 10) + " " + strconv.FormatInt(s.SharedVerifications, 10) + " " +
			strconv.FormatInt(s.Introspections, 10) + " " + strconv.FormatInt(s.IntrospectionHits, 10) + " " +
			strconv.FormatInt(s.Refused, 10) + " " + strconv.FormatInt(s.IntrospectionsShared, 10)
	case "mode":
		st := m.Cache().Stats()
		return st.Mode + " " + st.Health + " " + st.Tracking
	case "revoke-jti":
		if err := m.RevokeBearerToken(ctx, a, b, time.Now().Add(time.Hour)); err != nil {
			return err.Error()
		}
		return "ok"
	case "revoke-sub":
		nb := strconv.FormatInt(time.Now().Unix(), 10)
		ks := &cache.Keyspace{Name: "revoked", Class: cache.Revocation, MaxTTL: 25 * time.Hour}
		if err := m.Cache().Set(ctx, ks, "sub:"+a+"\x00"+b, []byte(nb), time.Hour); err != nil {
			return err.Error()
		}
		return nb
	}
	return "unknown op"
}

// stats reads the counters as numbers: signature checks, shared verifications,
// introspections, introspection cache hits, refused, introspections shared.
func stats(t testing.TB, md mode, h http.Handler) [6]int64 {
	t.Helper()
	var out [6]int64
	for i, f := range strings.Fields(bearerOp(t, md, h, "stats", "", "")) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || i >= len(out) {
			t.Fatalf("stats: %q", bearerOp(t, md, h, "stats", "", ""))
		}
		out[i] = n
	}
	return out
}

// waitLive waits until an instance's hybrid cache is subscribed to invalidations.
func waitLive(t testing.TB, md mode, h http.Handler) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for bearerOp(t, md, h, "mode", "", "") != "hybrid healthy live" {
		if time.Now().After(deadline) {
			t.Fatalf("cache not live: %s", bearerOp(t, md, h, "mode", "", ""))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- the scenarios ----

func TestBearerClientCredentialsTokenIsAccepted(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		tok := ordersToken(t, op)
		resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
		wantForwarded(t, "client-credentials token", resp, body, "backend /orders",
			"X-Forwarded-User: svc-orders", "X-Forwarded-Roles: orders-service")
		if strings.Contains(body, "Authorization:") || strings.Contains(body, tok) {
			t.Fatalf("the token reached the backend:\n%s", body)
		}
		if op.Count("authorize") != 0 {
			t.Fatal("a bearer request started a browser login")
		}
	})
}

func TestBearerRefusesIDTokens(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		// Addressed to the API too, and typed JWT: only its nonce gives it away.
		withNonce, err := op.IssueIDToken(testop.IDTokenOptions{User: "alice", Nonce: "n-0S6_WzA2Mj",
			Claims: map[string]any{"aud": []string{testop.DefaultClientID, testop.DefaultAudience}, "azp": testop.DefaultClientID}})
		if err != nil {
			t.Fatal(err)
		}
		// A refreshed ID token has no nonce: its audience (only the client id) gives it away.
		noNonce, err := op.IssueIDToken(testop.IDTokenOptions{User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"with nonce": withNonce, "without nonce": noNonce} {
			resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
			wantRefused(t, "ID token "+name, resp, body, http.StatusUnauthorized, "invalid_token")
		}
	})
}

func TestBearerRefusesLogoutTokens(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		typed, err := op.LogoutToken(testop.LogoutTokenOptions{User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		// Addressed to the API and typed JWT: only the events claim gives it away.
		disguised, err := op.LogoutToken(testop.LogoutTokenOptions{User: "alice", Audience: testop.DefaultAudience, Type: "JWT"})
		if err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"logout+jwt": typed, "disguised": disguised} {
			resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
			wantRefused(t, "logout token "+name, resp, body, http.StatusUnauthorized, "invalid_token")
		}
	})
}

func TestBearerAlgNoneAndHMACAreRefusedWithoutJWKSFetch(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		claims := validClaims(op)
		kid := op.SigningKeyID()
		tokens := map[string]string{
			"alg none":                      op.Sign(map[string]any{"alg": "none"}, claims),
			"alg nOnE":                      op.Sign(map[string]any{"alg": "nOnE"}, claims),
			"HS256 with the client secret":  op.SignHMAC(nil, claims, []byte(testop.DefaultClientSecret)),
			"HS256 with the public key":     op.SignHMAC(map[string]any{"kid": kid}, claims, op.PublicKeyPEM(kid)),
			"HS512 with the machine secret": op.SignHMAC(map[string]any{"alg": "HS512"}, claims, []byte(testop.MachineClientSecret)),
		}
		for name, tok := range tokens {
			resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
			wantRefused(t, name, resp, body, http.StatusUnauthorized, "invalid_token")
		}
		if n := op.Count("jwks"); n != 0 {
			t.Fatalf("%d JWKS fetches for tokens refused by their alg", n)
		}
		// The control: a good token does fetch the key set.
		resp, body := getAPI(t, srv.URL+"/orders", bearer(op.Sign(nil, claims))...)
		wantForwarded(t, "RS256", resp, body)
		if op.Count("jwks") != 1 {
			t.Fatalf("%d JWKS fetches for a good token", op.Count("jwks"))
		}
	})
}

func TestBearerOversizeOrOddKidIsRefusedWithoutJWKSFetch(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		claims := validClaims(op)
		for name, kid := range map[string]string{
			"257 bytes": strings.Repeat("k", 257), "space": "a b", "quote": `k"id`, "angle brackets": "<script>",
			"percent": "..%2f..%2fetc", "shell": "$(reboot)", "non-ASCII": "kïd", "backslash": `k\id`, "NUL": "k\x00",
		} {
			resp, body := getAPI(t, srv.URL+"/orders", bearer(op.Sign(map[string]any{"kid": kid}, claims))...)
			wantRefused(t, "kid "+name, resp, body, http.StatusUnauthorized, "invalid_token")
		}
		if n := op.Count("jwks"); n != 0 {
			t.Fatalf("%d JWKS fetches for tokens refused by their kid", n)
		}
		// 256 bytes of the safe charset is a well-formed (if unknown) kid: it may cost
		// one rate-limited key-set fetch, and is still refused.
		resp, body := getAPI(t, srv.URL+"/orders", bearer(op.Sign(map[string]any{"kid": strings.Repeat("k", 256)}, claims))...)
		wantRefused(t, "unknown kid", resp, body, http.StatusUnauthorized, "invalid_token")
	})
}

func TestBearerSeveralAudiencesNeedAzpOrClientID(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		reports := machineToken(t, op, testop.MultiAudienceClientID, testop.MultiAudienceClientSecret, "")
		resp, body := getAPI(t, srv.URL+"/reports", bearer(reports)...)
		wantForwarded(t, "two audiences with azp", resp, body, "X-Forwarded-User: svc-reports")

		op.SetMisbehaviour(testop.MultipleAudiences)
		resp, body = getAPI(t, srv.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "extra audience with azp", resp, body, "X-Forwarded-User: svc-orders")

		// RFC 9068 2.2 names the client in client_id (zitadel/oidc's JWT access
		// tokens carry no azp).
		op.SetMisbehaviour(testop.MultipleAudiencesNoAzp)
		resp, body = getAPI(t, srv.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "extra audience, client_id without azp", resp, body, "X-Forwarded-User: svc-orders")

		op.SetMisbehaviour(0)
		anonymous := mintAccess(t, op, map[string]any{"aud": []string{testop.DefaultAudience, "reports-api"}, "azp": nil, "client_id": nil})
		resp, body = getAPI(t, srv.URL+"/orders", bearer(anonymous)...)
		wantRefused(t, "extra audience naming no client", resp, body, http.StatusUnauthorized, "invalid_token")

		wrongAzp := mintAccess(t, op, map[string]any{"aud": []string{testop.DefaultAudience, "reports-api"}, "azp": "svc-reports"})
		resp, body = getAPI(t, srv.URL+"/orders", bearer(wrongAzp)...)
		wantRefused(t, "azp contradicting client_id", resp, body, http.StatusUnauthorized, "invalid_token")
	})
}

func TestBearerIssuedAtTooOldOrInTheFuture(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		group(cfg, "bearer")["maxTokenAge"] = "2m"
		srv := startGatehouse(t, md, cfg, "api@file")
		now := time.Now().Unix()
		resp, body := getAPI(t, srv.URL+"/orders", bearer(mintAccess(t, op, map[string]any{"iat": now - 100}))...)
		wantForwarded(t, "iat within the maximum age", resp, body)
		resp, body = getAPI(t, srv.URL+"/orders", bearer(mintAccess(t, op, map[string]any{"iat": now - 200}))...)
		wantRefused(t, "iat older than the maximum age", resp, body, http.StatusUnauthorized, "invalid_token")

		op.SetMisbehaviour(testop.IssuedInFuture)
		resp, body = getAPI(t, srv.URL+"/orders", bearer(ordersToken(t, op))...)
		wantRefused(t, "iat in the future", resp, body, http.StatusUnauthorized, "invalid_token")
		op.SetMisbehaviour(0)
		resp, body = getAPI(t, srv.URL+"/orders", bearer(mintAccess(t, op, map[string]any{"iat": now + 600, "exp": now + 900}))...)
		wantRefused(t, "iat ten minutes ahead", resp, body, http.StatusUnauthorized, "invalid_token")
	})
}

func TestBearerIdentifierWithBidiOrDelimitersIsRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		group(cfg, "bearer")["maxIdentifierLen"] = 32
		srv := startGatehouse(t, md, cfg, "api@file")
		for name, sub := range map[string]string{
			"right-to-left override": "svc\u202egnp.exe", "isolate": "svc\u2066admin\u2069", "comma": "svc,admin",
			"semicolon": "svc;admin", "equals": "role=admin", "CR LF": "svc\r\nX-Forwarded-User: admin",
			"control": "svc\x01", "DEL": "svc\x7f", "too long": strings.Repeat("s", 33),
		} {
			resp, body := getAPI(t, srv.URL+"/orders", bearer(mintAccess(t, op, map[string]any{"sub": sub}))...)
			wantRefused(t, "identifier with "+name, resp, body, http.StatusUnauthorized, "invalid_token")
		}
		resp, body := getAPI(t, srv.URL+"/orders", bearer(mintAccess(t, op, map[string]any{"sub": "svc.orders@tenant-1"}))...)
		wantForwarded(t, "plain identifier", resp, body, "X-Forwarded-User: svc.orders@tenant-1")

		// Another identifier claim is sanitised the same way.
		group(cfg, "bearer")["identifierClaim"] = "client_id"
		srv2 := startGatehouse(t, md, cfg, "api2@file")
		resp, body = getAPI(t, srv2.URL+"/orders", bearer(mintAccess(t, op, map[string]any{"client_id": "svc\u202eevil", "azp": nil}))...)
		wantRefused(t, "client_id with a bidi override", resp, body, http.StatusUnauthorized, "invalid_token")
		resp, body = getAPI(t, srv2.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "client_id identifier", resp, body, "X-Forwarded-User: svc-orders")
	})
}

func TestBearerSameTokenReused100TimesIsVerifiedOnce(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv, h := startInstance(t, md, bearerConfig(op), "api@file")
		tok := ordersToken(t, op)
		for i := 0; i < 100; i++ {
			resp, body := getAPI(t, srv.URL+"/orders/"+strconv.Itoa(i), bearer(tok)...)
			wantForwarded(t, "request "+strconv.Itoa(i), resp, body, "X-Forwarded-User: svc-orders")
		}
		if st := stats(t, md, h); st[0] != 1 || op.Count("jwks") != 1 {
			t.Fatalf("100 uses of one token: %d signature checks, %d JWKS fetches", st[0], op.Count("jwks"))
		}
	})
}

func TestBearerThrottleTripsTo429AndRecovers(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		cfg["throttle"] = map[string]any{"failures": 3, "window": "1m", "penalty": "2s"}
		srv := startGatehouse(t, md, cfg, "api@file")
		good := ordersToken(t, op)
		// Without trusted proxies X-Forwarded-For is ignored: these are one client.
		for i := 0; i < 3; i++ {
			resp, body := getAPI(t, srv.URL+"/orders", append(bearer("not-a-token-"+strconv.Itoa(i)), "X-Forwarded-For", "10.0.0."+strconv.Itoa(i))...)
			wantRefused(t, "bad token", resp, body, http.StatusUnauthorized, "invalid_token")
		}
		resp, body := getAPI(t, srv.URL+"/orders", append(bearer(good), "X-Forwarded-For", "10.9.9.9")...)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" || strings.Contains(body, "backend") {
			t.Fatalf("after 3 failures: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}

		// Behind a trusted proxy the client is the X-Forwarded-For address: one client
		// tripping the throttle does not lock out another.
		cfg["trustedProxies"] = "127.0.0.1/32,::1/128"
		proxied := startGatehouse(t, md, cfg, "api-proxied@file")
		for i := 0; i < 3; i++ {
			resp, body = getAPI(t, proxied.URL+"/orders", append(bearer("not-a-token"), "X-Forwarded-For", "10.0.0.1")...)
			wantRefused(t, "bad token from 10.0.0.1", resp, body, http.StatusUnauthorized, "invalid_token")
		}
		resp, _ = getAPI(t, proxied.URL+"/orders", append(bearer(good), "X-Forwarded-For", "10.0.0.1")...)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("10.0.0.1 after 3 failures: %d", resp.StatusCode)
		}
		resp, body = getAPI(t, proxied.URL+"/orders", append(bearer(good), "X-Forwarded-For", "10.0.0.2")...)
		wantForwarded(t, "another client behind the proxy", resp, body, "X-Forwarded-User: svc-orders")

		time.Sleep(2100 * time.Millisecond)
		resp, body = getAPI(t, srv.URL+"/orders", bearer(good)...)
		wantForwarded(t, "after the penalty", resp, body, "X-Forwarded-User: svc-orders")
	})
}

func TestBearerAuthorizationHeaderHandling(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		cfg["excludedURLs"] = "/health"
		srv := startGatehouse(t, md, cfg, "api@file")
		resp, body := getAPI(t, srv.URL+"/health", bearer("anything-at-all")...)
		wantForwarded(t, "excluded URL", resp, body, "backend /health")
		if strings.Contains(body, "Authorization") {
			t.Fatalf("Authorization reached the backend on an excluded URL:\n%s", body)
		}
		tok := ordersToken(t, op)
		resp, body = getAPI(t, srv.URL+"/orders", bearer(tok)...)
		wantForwarded(t, "authenticated", resp, body)
		if strings.Contains(body, "Authorization") {
			t.Fatalf("Authorization forwarded by default:\n%s", body)
		}
		// headers.passAuthorization keeps it.
		group(cfg, "headers")["passAuthorization"] = true
		pass := startGatehouse(t, md, cfg, "api-pass@file")
		resp, body = getAPI(t, pass.URL+"/orders", bearer(tok)...)
		wantForwarded(t, "passAuthorization", resp, body, "Authorization: Bearer "+tok)
	})
}

func TestBearerRolesGate(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		group(cfg, "authorization")["allowedRoles"] = "orders-service"
		srv := startGatehouse(t, md, cfg, "api@file")
		resp, body := getAPI(t, srv.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "orders-service role", resp, body, "X-Forwarded-Roles: orders-service")
		reports := machineToken(t, op, testop.MultiAudienceClientID, testop.MultiAudienceClientSecret, "")
		for i := 0; i < 2; i++ { // the second time from the verdict cache
			resp, body = getAPI(t, srv.URL+"/orders", bearer(reports)...)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error":"access_denied"`) {
				t.Fatalf("reporter role: %d %s", resp.StatusCode, body)
			}
		}
	})
}

func TestBearerRequiredScopes(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		group(cfg, "bearer")["requiredScopes"] = "orders.write"
		srv := startGatehouse(t, md, cfg, "api@file")
		readOnly := machineToken(t, op, testop.MachineClientID, testop.MachineClientSecret, "orders.read")
		resp, body := getAPI(t, srv.URL+"/orders", bearer(readOnly)...)
		wantRefused(t, "missing scope", resp, body, http.StatusForbidden, "insufficient_scope")
		if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="orders.write"`) {
			t.Fatalf("challenge %q does not name the scope", resp.Header.Get("WWW-Authenticate"))
		}
		resp, body = getAPI(t, srv.URL+"/orders", bearer(ordersToken(t, op))...)
		wantForwarded(t, "both scopes", resp, body)

		// bearer.wwwAuthenticate false: the same answers without the header.
		group(cfg, "bearer")["wwwAuthenticate"] = false
		quiet := startGatehouse(t, md, cfg, "api-quiet@file")
		for _, tok := range []string{readOnly, "garbage"} {
			resp, _ = getAPI(t, quiet.URL+"/orders", bearer(tok)...)
			if resp.StatusCode < 400 || resp.Header.Get("WWW-Authenticate") != "" {
				t.Fatalf("wwwAuthenticate off: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	})
}

// signIn logs alice in through a browser and returns her Cookie header.
func signIn(t testing.TB, srvURL string) string {
	t.Helper()
	br := newBrowser()
	if p := br.get(t, srvURL+"/"); p.status != 200 {
		t.Fatalf("login: %d %s", p.status, p.body)
	}
	var cookie []string
	for _, c := range sessionCookies(br, srvURL) {
		cookie = append(cookie, c.Name+"="+c.Value)
	}
	return strings.Join(cookie, "; ")
}

func TestBearerSessionCookieWinsByDefault(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		cookie := signIn(t, srv.URL)
		resp, body := getAPI(t, srv.URL+"/both", append(bearer(ordersToken(t, op)), "Cookie", cookie)...)
		wantForwarded(t, "cookie and token", resp, body, "X-Forwarded-User: alice@example.com")
		if strings.Contains(body, "svc-orders") || strings.Contains(body, "Authorization") {
			t.Fatalf("the injected token was used or forwarded:\n%s", body)
		}
	})
}

// TestBearerVerdictCachedStillLosesToASessionCookie: once a token's verdict is
// cached, the token still serves requests carrying the site's own cookies (forwarded
// untouched), and a session cookie beside it still wins, in one Cookie line or two —
// unless bearer.preferOverCookie, and then the session's cookies are not forwarded.
func TestBearerVerdictCachedStillLosesToASessionCookie(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		cookie := signIn(t, srv.URL)
		tok := ordersToken(t, op)
		resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
		wantForwarded(t, "token alone", resp, body, "X-Forwarded-User: svc-orders")
		for i := 0; i < 2; i++ {
			resp, body = getAPI(t, srv.URL+"/orders", append(bearer(tok), "Cookie", "theme=dark; _ga=GA1.2.3")...)
			wantForwarded(t, "token beside unrelated cookies", resp, body, "X-Forwarded-User: svc-orders", "Cookie: theme=dark; _ga=GA1.2.3")
			resp, body = getAPI(t, srv.URL+"/orders", append(bearer(tok), "Cookie", "x_gatehouse=1")...)
			wantForwarded(t, "token beside a cookie whose name ends in the session's", resp, body, "X-Forwarded-User: svc-orders")
		}
		for _, hdr := range [][]string{
			{"Cookie", "theme=dark; " + cookie},
			{"Cookie", "theme=dark", "Cookie", cookie},
		} {
			resp, body = getAPI(t, srv.URL+"/both", append(bearer(tok), hdr...)...)
			wantForwarded(t, "cached token and session cookie", resp, body, "X-Forwarded-User: alice@example.com")
			if strings.Contains(body, "svc-orders") || strings.Contains(body, "Authorization") {
				t.Fatalf("the cached token was used or forwarded beside a session cookie:\n%s", body)
			}
		}

		// With preferOverCookie the cached token wins, and the session's cookies are
		// still kept from the backend.
		cfg := bearerConfig(op)
		group(cfg, "bearer")["preferOverCookie"] = true
		prefer := startGatehouse(t, md, cfg, "api@file")
		cookie = signIn(t, prefer.URL)
		for i := 0; i < 2; i++ {
			resp, body = getAPI(t, prefer.URL+"/both", append(bearer(tok), "Cookie", cookie+"; theme=dark")...)
			wantForwarded(t, "token preferred", resp, body, "X-Forwarded-User: svc-orders", "Cookie: theme=dark")
			if strings.Contains(body, "alice") || strings.Contains(body, "_gatehouse") {
				t.Fatalf("request %d: the session was used or its cookie forwarded:\n%s", i, body)
			}
		}
	})
}

func TestBearerPreferOverCookieFlipsPrecedence(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		group(cfg, "bearer")["preferOverCookie"] = true
		srv := startGatehouse(t, md, cfg, "api@file")
		cookie := signIn(t, srv.URL)
		resp, body := getAPI(t, srv.URL+"/both", append(bearer(ordersToken(t, op)), "Cookie", cookie+"; theme=dark")...)
		wantForwarded(t, "token preferred", resp, body, "X-Forwarded-User: svc-orders", "Cookie: theme=dark")
		if strings.Contains(body, "alice") || strings.Contains(body, "_gatehouse") {
			t.Fatalf("the session was used or its cookie forwarded:\n%s", body)
		}
	})
}

func TestBearerOversizeAndMalformedTokens(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		srv := startGatehouse(t, md, bearerConfig(op), "api@file")
		good := ordersToken(t, op)
		for name, tok := range map[string]string{
			"8193 bytes":       strings.Repeat("a", 8193),
			"oversize JWT":     good + strings.Repeat("A", 8200),
			"two segments":     good[:strings.LastIndexByte(good, '.')],
			"four segments":    good + ".AAAA",
			"not base64url":    strings.Replace(good, ".", ".~", 1),
			"padded":           good + "==",
			"JWE (5 segments)": "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d",
			"opaque string":    "opaque-looking-token",
			"header not JSON":  "bm90LWpzb24.e30.c2ln",
		} {
			resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
			wantRefused(t, name, resp, body, http.StatusUnauthorized, "invalid_token")
		}
		for name, hdr := range map[string][]string{
			"no token":       {"Authorization", "Bearer"},
			"two tokens":     {"Authorization", "Bearer " + good + " " + good},
			"quoted":         {"Authorization", `Bearer "` + good + `"`},
			"two headers":    {"Authorization", "Bearer " + good, "Authorization", "Bearer " + good},
			"token and list": {"Authorization", "Bearer " + good + ", Basic eA=="},
		} {
			resp, body := getAPI(t, srv.URL+"/orders", hdr...)
			wantRefused(t, name, resp, body, http.StatusUnauthorized, "invalid_request")
		}
		if op.Count("jwks") != 0 {
			t.Fatalf("%d JWKS fetches for malformed tokens", op.Count("jwks"))
		}
	})
}

func TestBearerOffLeavesAuthorizationToCookieHandling(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := rpConfig(op)
		cfg["excludedURLs"] = "/health"
		srv := startGatehouse(t, md, cfg, "nobearer@file")
		tok := ordersToken(t, op)
		resp, body := getAPI(t, srv.URL+"/health", bearer(tok)...)
		wantForwarded(t, "excluded URL", resp, body, "Authorization: Bearer "+tok)
		// A valid token is not a credential when bearer auth is off: no Bearer challenge
		// (the 401 carries only the session's Cookie challenge).
		resp, body = getAPI(t, srv.URL+"/api", append(bearer(tok), "Accept", "application/json")...)
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "backend") || strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("bearer off, token only: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		// The session decides, and the backend gets the Authorization header untouched.
		cookie := signIn(t, srv.URL)
		resp, body = getAPI(t, srv.URL+"/app", "Cookie", cookie, "Authorization", "Basic dXNlcjpwYXNz")
		wantForwarded(t, "session with Basic", resp, body, "X-Forwarded-User: alice@example.com", "Authorization: Basic dXNlcjpwYXNz")
		resp, body = getAPI(t, srv.URL+"/app", append(bearer("garbage"), "Cookie", cookie)...)
		wantForwarded(t, "session with a bearer header", resp, body, "X-Forwarded-User: alice@example.com", "Authorization: Bearer garbage")
	})
}

// tryBuild builds a middleware in md and returns New's error.
func tryBuild(t *testing.T, md mode, cfg map[string]any) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if md.name == "yaegi" {
		_, err := host(t).Build(ctx, echoBackend(), cfg, "startup@file")
		return err
	}
	c := gatehouse.CreateConfig()
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.StringToSliceHookFunc(","), WeaklyTypedInput: true, Result: c,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(cfg); err != nil {
		t.Fatal(err)
	}
	_, err = gatehouse.New(ctx, echoBackend(), c, "startup@file")
	return err
}

func TestBearerStartupRefusesMissingAudienceAndEmailIdentifier(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		cases := map[string]func(b map[string]any){
			"bearer.audience":        func(b map[string]any) { delete(b, "audience") },
			"bearer.identifierClaim": func(b map[string]any) { b["identifierClaim"] = "email" },
		}
		for option, mutate := range cases {
			cfg := baseConfig()
			b := group(cfg, "bearer")
			b["enabled"] = true
			b["audience"] = "gatehouse-api"
			mutate(b)
			err := tryBuild(t, md, cfg)
			if err == nil || !strings.Contains(err.Error(), option) {
				t.Fatalf("%s: New answered %v", option, err)
			}
		}
		// Upper-case EMAIL is the same claim name to a reader of the config.
		cfg := baseConfig()
		group(cfg, "bearer")["enabled"] = true
		group(cfg, "bearer")["audience"] = "gatehouse-api"
		group(cfg, "bearer")["identifierClaim"] = "Email"
		if err := tryBuild(t, md, cfg); err == nil {
			t.Fatal("identifierClaim Email accepted")
		}
		group(cfg, "bearer")["identifierClaim"] = "sub"
		if err := tryBuild(t, md, cfg); err != nil {
			t.Fatalf("a valid bearer configuration: %v", err)
		}
	})
}

// bearerReplicas starts two replicas of one middleware sharing rs.
func bearerReplicas(t *testing.T, md mode, op *testop.Provider, rs *redistest.Server) (a, b *httptest.Server, ha, hb http.Handler) {
	cfg := replicaConfig(op, rs.URL())
	group(cfg, "bearer")["enabled"] = true
	group(cfg, "bearer")["audience"] = testop.DefaultAudience
	a, ha = startInstance(t, md, cfg, "api@file")
	b, hb = startInstance(t, md, cfg, "api@file")
	waitLive(t, md, ha)
	waitLive(t, md, hb)
	return a, b, ha, hb
}

// refusedWithin polls url with tok until it is refused (401), for at most 5 s, and
// returns how long that took.
func bearerRefusedWithin(t *testing.T, url, tok string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		resp, body := getAPI(t, url, bearer(tok)...)
		if resp.StatusCode == http.StatusUnauthorized {
			return time.Since(start)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("still accepted 5 s after the revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBearerRevocationOnOneReplicaStopsTheTokenOnAnother(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		a, b, ha, _ := bearerReplicas(t, md, op, rs)
		tok := ordersToken(t, op)
		_, claims, err := testop.ParseUnverified(tok)
		if err != nil {
			t.Fatal(err)
		}
		jti, _ := claims["jti"].(string)
		other := ordersToken(t, op)
		for _, u := range []string{a.URL, b.URL, b.URL} { // B's second use is its hot path
			resp, body := getAPI(t, u+"/orders", bearer(tok)...)
			wantForwarded(t, "before revocation", resp, body)
		}
		if got := bearerOp(t, md, ha, "revoke-jti", op.URL(), jti); got != "ok" {
			t.Fatal(got)
		}
		t.Logf("jti revocation written on A refused on B after %v", bearerRefusedWithin(t, b.URL+"/orders", tok))
		resp, body := getAPI(t, a.URL+"/orders", bearer(tok)...)
		wantRefused(t, "revoked on A", resp, body, http.StatusUnauthorized, "invalid_token")
		resp, body = getAPI(t, b.URL+"/orders", bearer(other)...)
		wantForwarded(t, "another token of the same client", resp, body)

		// Subject revocation (what back-channel logout writes): tokens issued until then
		// stop everywhere; a token issued after keeps working.
		reports := machineToken(t, op, testop.MultiAudienceClientID, testop.MultiAudienceClientSecret, "")
		resp, body = getAPI(t, b.URL+"/reports", bearer(reports)...)
		wantForwarded(t, "before subject revocation", resp, body)
		nb, err := strconv.ParseInt(bearerOp(t, md, ha, "revoke-sub", op.URL(), "svc-reports"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("subject revocation written on A refused on B after %v", bearerRefusedWithin(t, b.URL+"/reports", reports))
		later, err := op.IssueAccessToken(testop.AccessTokenOptions{ClientID: testop.MultiAudienceClientID, Claims: map[string]any{"iat": nb + 1}})
		if err != nil {
			t.Fatal(err)
		}
		resp, body = getAPI(t, b.URL+"/reports", bearer(later)...)
		wantForwarded(t, "issued after the subject revocation", resp, body, "X-Forwarded-User: svc-reports")
	})
}

func TestBearerReplicaVerifiesATokenFirstSeenElsewhereWithoutSignatureCheck(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		a, b, ha, hb := bearerReplicas(t, md, op, rs)
		tok := ordersToken(t, op)
		resp, body := getAPI(t, a.URL+"/orders", bearer(tok)...)
		wantForwarded(t, "on A", resp, body)
		if st := stats(t, md, ha); st[0] != 1 {
			t.Fatalf("A: %v", st)
		}
		// The verification reaches Redis asynchronously (a Shared keyspace), keyed by
		// the token's hash.
		sum := sha256.Sum256([]byte(tok))
		key := "gatehouse:tokver:" + hex.EncodeToString(sum[:])
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, err := rs.Do("EXISTS", key)
			if err == nil && n == int64(1) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the verification never reached Redis: %v %v", n, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if v, _ := rs.Do("GET", key); strings.Contains(v.(string), "svc-orders") || strings.Contains(v.(string), tok[:20]) {
			t.Fatal("the cached verification is readable in Redis: it must be sealed")
		}
		jwks := op.Count("jwks")
		resp, body = getAPI(t, b.URL+"/orders", bearer(tok)...)
		wantForwarded(t, "on B", resp, body, "X-Forwarded-User: svc-orders")
		if st := stats(t, md, hb); st[0] != 0 || st[1] != 1 || op.Count("jwks") != jwks {
			t.Fatalf("B: %d signature checks, %d shared verifications, %d JWKS fetches", st[0], st[1], op.Count("jwks")-jwks)
		}
		// The shared entry is bound to its token: copied under another token's key it
		// is worthless.
		forged := op.Sign(map[string]any{"kid": op.SigningKeyID()}, validClaims(op))
		forged = forged[:strings.LastIndexByte(forged, '.')+1] + strings.Repeat("A", 342)
		fsum := sha256.Sum256([]byte(forged))
		v, _ := rs.Do("GET", key)
		rs.MustDo("SET", "gatehouse:tokver:"+hex.EncodeToString(fsum[:]), v.(string), "EX", "60")
		resp, body = getAPI(t, b.URL+"/orders", bearer(forged)...)
		wantRefused(t, "forged token with a copied verification", resp, body, http.StatusUnauthorized, "invalid_token")
	})
}

// introspectionConfig turns on introspection with the resource server's credentials.
func introspectionConfig(cfg map[string]any, opaque bool) map[string]any {
	in := group(group(cfg, "bearer"), "introspection")
	in["enabled"] = true
	in["clientID"] = testop.IntrospectionClientID
	in["clientSecret"] = testop.IntrospectionClientSecret
	in["opaqueTokens"] = opaque
	return in
}

func TestBearerIntrospectionActiveInactiveAndCached(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := replicaConfig(op, rs.URL())
		b := group(cfg, "bearer")
		b["enabled"] = true
		b["audience"] = testop.DefaultAudience
		introspectionConfig(cfg, true)["maxCacheTTL"] = "2s"
		a, ha := startInstance(t, md, cfg, "api@file")
		r2, h2 := startInstance(t, md, cfg, "api@file")
		waitLive(t, md, ha)
		waitLive(t, md, h2)

		opaque, err := op.IssueAccessToken(testop.AccessTokenOptions{Opaque: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			resp, body := getAPI(t, a.URL+"/orders", bearer(opaque)...)
			wantForwarded(t, "active opaque token", resp, body, "X-Forwarded-User: svc-orders", "X-Forwarded-Roles: orders-service")
		}
		if n := op.Count("introspect"); n != 1 {
			t.Fatalf("%d introspections for five uses of one token", n)
		}
		got := op.Requests("introspect")
		if len(got) != 1 || got[0].Form.Get("token") != opaque {
			t.Fatalf("introspection request: %+v", got)
		}
		// The resource server's own credentials (bearer.introspection.clientID/Secret).
		probe := &http.Request{Header: got[0].Header}
		if u, p, ok := probe.BasicAuth(); !ok || u != testop.IntrospectionClientID || p != testop.IntrospectionClientSecret {
			t.Fatalf("introspection client authentication: %q %v", u, ok)
		}
		// The other replica takes the cached answer (sealed in Redis) — once it has
		// reached Redis: the introspect keyspace is written behind, and a replica
		// that asked before it landed would introspect and remember its own answer.
		deadline := time.Now().Add(5 * time.Second)
		for {
			sum := sha256.Sum256([]byte(opaque))
			if n, _ := rs.Do("EXISTS", "gatehouse:introspect:"+hex.EncodeToString(sum[:])); n == int64(1) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the introspection answer never reached Redis")
			}
			time.Sleep(5 * time.Millisecond)
		}
		for {
			resp, body := getAPI(t, r2.URL+"/orders", bearer(opaque)...)
			wantForwarded(t, "opaque token on the other replica", resp, body)
			if st := stats(t, md, h2); st[3] == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other replica never used the cached answer: %v, %d introspections", stats(t, md, h2), op.Count("introspect"))
			}
			time.Sleep(10 * time.Millisecond)
		}

		// Inactive: unknown to the provider; the negative answer is cached too.
		before := op.Count("introspect")
		for i := 0; i < 3; i++ {
			resp, body := getAPI(t, a.URL+"/orders", bearer("opq_unknown_to_the_provider")...)
			wantRefused(t, "inactive token", resp, body, http.StatusUnauthorized, "invalid_token")
		}
		if n := op.Count("introspect") - before; n != 1 {
			t.Fatalf("%d introspections for three uses of an inactive token: the answer was not cached", n)
		}

		// A JWT is introspected after passing every local rule; revoked at the provider
		// it stops once its cached answer (maxCacheTTL 2s) runs out.
		jwt := ordersToken(t, op)
		before = op.Count("introspect")
		resp, body := getAPI(t, a.URL+"/orders", bearer(jwt)...)
		wantForwarded(t, "JWT with introspection", resp, body)
		if op.Count("introspect") != before+1 {
			t.Fatal("the JWT was not introspected")
		}
		revokeAtProvider(t, op, jwt)
		start := time.Now()
		for {
			resp, body = getAPI(t, a.URL+"/orders", bearer(jwt)...)
			if resp.StatusCode == http.StatusUnauthorized {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("a JWT revoked at the provider is still accepted: %d %s", resp.StatusCode, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("cached beyond maxCacheTTL: %v", d)
		}
	})
}

// TestBearerBurstOfOneNewTokenMakesOneIntrospection: sixteen requests arriving at
// once with a token no replica has seen make one call to the introspection endpoint
// (slowed to 300 ms so that they overlap); every one of them is forwarded.
func TestBearerBurstOfOneNewTokenMakesOneIntrospection(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := replicaConfig(op, rs.URL())
		b := group(cfg, "bearer")
		b["enabled"] = true
		b["audience"] = testop.DefaultAudience
		introspectionConfig(cfg, true)
		a, ha := startInstance(t, md, cfg, "api@file")
		waitLive(t, md, ha)
		opaque, err := op.IssueAccessToken(testop.AccessTokenOptions{Opaque: true})
		if err != nil {
			t.Fatal(err)
		}
		op.SetDelay("introspect", 300*time.Millisecond)
		const burst = 16
		type answer struct {
			status int
			body   string
			err    error
		}
		answers := make(chan answer, burst)
		for i := 0; i < burst; i++ {
			go func() {
				req, _ := http.NewRequest("GET", a.URL+"/orders", nil)
				req.Header.Set("Authorization", "Bearer "+opaque)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					answers <- answer{err: err}
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answers <- answer{status: resp.StatusCode, body: string(body)}
			}()
		}
		for i := 0; i < burst; i++ {
			got := <-answers
			if got.err != nil || got.status != http.StatusOK || !strings.Contains(got.body, "X-Forwarded-User: svc-orders") {
				t.Fatalf("request %d of the burst: %d %v %s", i, got.status, got.err, got.body)
			}
		}
		st := stats(t, md, ha)
		if n := op.Count("introspect"); n != 1 {
			t.Fatalf("%d introspection calls for a burst of %d requests with one token (stats %v)", n, burst, st)
		}
		// Every request but the caller's waited for it, or (arriving after the answer
		// was cached) took it from the cache.
		if st[2] != 1 || st[5]+st[3] != burst-1 {
			t.Fatalf("stats %v: want 1 call, and %d requests sharing it or answered by the cache", st, burst-1)
		}
		t.Logf("%s: %d requests, 1 introspection call, %d waited for it, %d from the cache", md.name, burst, st[5], st[3])
	})
}

func TestBearerIntrospectionUnreachableAnswers503(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		introspectionConfig(cfg, true)["timeout"] = "300ms"
		srv := startGatehouse(t, md, cfg, "api@file")
		for name, mb := range map[string]testop.Misbehaviour{"failing": testop.IntrospectionFailing, "hanging": testop.IntrospectionHangs} {
			op.SetMisbehaviour(mb)
			for _, tok := range []string{mintOpaque(t, op), ordersToken(t, op)} {
				start := time.Now()
				resp, body := getAPI(t, srv.URL+"/orders", bearer(tok)...)
				wantRefused(t, name+" endpoint", resp, body, http.StatusServiceUnavailable, "")
				if resp.Header.Get("Retry-After") == "" || strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
					t.Fatalf("%s: 503 headers %v", name, resp.Header)
				}
				if time.Since(start) > 3*time.Second {
					t.Fatalf("%s: the answer took %v with a 300ms deadline", name, time.Since(start))
				}
			}
		}
		// Nothing listening at all.
		introspectionConfig(cfg, true)["endpoint"] = "http://127.0.0.1:1/introspect"
		dead := startGatehouse(t, md, cfg, "api-dead@file")
		op.SetMisbehaviour(0)
		resp, body := getAPI(t, dead.URL+"/orders", bearer(mintOpaque(t, op))...)
		wantRefused(t, "unreachable endpoint", resp, body, http.StatusServiceUnavailable, "")
		// And the provider back: the same instance accepts.
		resp, body = getAPI(t, srv.URL+"/orders", bearer(mintOpaque(t, op))...)
		wantForwarded(t, "introspection back", resp, body)
	})
}

// revokeAtProvider revokes a svc-orders token at the provider (RFC 7009, over HTTP).
func revokeAtProvider(t testing.TB, op *testop.Provider, tok string) {
	t.Helper()
	req, err := http.NewRequest("POST", op.Endpoints().Revocation, strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testop.MachineClientID, testop.MachineClientSecret)
	resp, _ := doRequest(t, req)
	if resp.StatusCode != http.StatusOK || op.TokenActive(tok) {
		t.Fatalf("revocation at the provider: %d", resp.StatusCode)
	}
}

func mintOpaque(t testing.TB, op *testop.Provider) string {
	t.Helper()
	tok, err := op.IssueAccessToken(testop.AccessTokenOptions{Opaque: true})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestOIDCAccessTokenRulesUnderYaegiMatchCompiled runs internal/oidc's access-token
// rule cases in the interpreter: every line must equal the compiled run's.
func TestOIDCAccessTokenRulesUnderYaegiMatchCompiled(t *testing.T) {
	h := host(t)
	if err := h.Import("github.com/gatehouse-oidc/gatehouse/internal/oidc/oidctest"); err != nil {
		t.Fatal(err)
	}
	v, err := h.Eval("oidctest.Run")
	if err != nil {
		t.Fatal(err)
	}
	interpreted := v.Interface().(func() []string)()
	compiled := oidctest.Run()
	if len(compiled) < 40 {
		t.Fatalf("only %d cases", len(compiled))
	}
	compareLines(t, "oidctest.Run", compiled, interpreted)
}

// captureStderr redirects the process's stderr (where the plugin logs, compiled and
// under Yaegi) into a buffer until the returned function is called, which returns
// what was written.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	var buf strings.Builder
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&buf, r)
		close(done)
	}()
	return func() string {
		os.Stderr = saved
		_ = w.Close()
		<-done
		return buf.String()
	}
}

// TestBearerRefusalReasonsAreLoggedAtDebugWithoutTokens: at debug level each
// refusal's reason is logged, and no token (JWT or opaque, good or bad) appears in
// any line.
func TestBearerRefusalReasonsAreLoggedAtDebugWithoutTokens(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		cfg := bearerConfig(op)
		cfg["logLevel"] = "debug"
		introspectionConfig(cfg, true)
		stop := captureStderr(t)
		srv := startGatehouse(t, md, cfg, "logged@file")
		good := ordersToken(t, op)
		opaque := mintOpaque(t, op)
		expired := mintAccess(t, op, map[string]any{"iat": time.Now().Unix() - 600, "exp": time.Now().Unix() - 300})
		unknown := "opq_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "_never_issued"
		for _, tok := range []string{good, opaque, expired, unknown} {
			getAPI(t, srv.URL+"/orders", bearer(tok)...)
		}
		out := stop()
		for _, want := range []string{
			`event=bearer.refused msg="access token refused" client=127.0.0.1 error=invalid_token reason="access token rules: jose: token expired`,
			`error=invalid_token reason="introspection: token is not active"`,
		} {
			if !strings.Contains(out, want) {
				t.Fatalf("the log lacks %q:\n%s", want, out)
			}
		}
		for name, tok := range map[string]string{"good JWT": good, "opaque": opaque, "expired JWT": expired, "unknown opaque": unknown} {
			if strings.Contains(out, tok) || strings.Contains(out, tok[len(tok)-16:]) {
				t.Fatalf("the %s token reached the log:\n%s", name, out)
			}
		}
	})
}

// TestBackchannelLogoutOfAUserStopsTheirBearerTokensOnEveryReplica: a logout token
// naming a user's sub, delivered by the provider to replica B, refuses on replicas A
// and B the user's access tokens issued until then; a token issued afterwards works.
// This is the real back-channel endpoint, not a write through a probe.
func TestBackchannelLogoutOfAUserStopsTheirBearerTokensOnEveryReplica(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		a, b, _, _ := bearerReplicas(t, md, op, rs)
		u, ok := op.User("alice")
		if !ok {
			t.Fatal("the test provider has no alice")
		}
		tok := mintAccess(t, op, map[string]any{"sub": u.Subject, "iat": time.Now().Unix() - 1})
		for _, base := range []string{a.URL, b.URL} {
			resp, body := getAPI(t, base+"/orders", bearer(tok)...)
			wantForwarded(t, "before the logout", resp, body, "X-Forwarded-User: "+u.Subject)
		}
		start := time.Now()
		status, err := op.BackchannelLogout(context.Background(), b.URL+backchannelPath, "alice", "")
		if err != nil || status != http.StatusOK {
			t.Fatalf("back-channel logout: %d %v", status, err)
		}
		t.Logf("%s: back-channel logout on B; alice's bearer token refused on A after %v, on B after %v",
			md.name, bearerRefusedWithin(t, a.URL+"/orders", tok), bearerRefusedWithin(t, b.URL+"/orders", tok))
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
		time.Sleep(1100 * time.Millisecond) // a later second than the logout token's iat
		later := mintAccess(t, op, map[string]any{"sub": u.Subject})
		resp, body := getAPI(t, a.URL+"/orders", bearer(later)...)
		wantForwarded(t, "a token issued after the logout", resp, body, "X-Forwarded-User: "+u.Subject)
	})
}
