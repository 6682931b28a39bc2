package jose_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// The remote key-set scenarios run against a real HTTP server (josetest.JWKSServer)
// with a settable clock; each test pins the whole trace. The same scenarios run under
// Yaegi in internal/yaegihost.

func runScenario(t *testing.T, name string, want ...string) {
	t.Helper()
	srv := httptest.NewServer(josetest.NewJWKSServer(josetest.NewKeys()))
	defer srv.Close()
	got := josetest.RemoteScenario(srv.URL, name)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("scenario %s:\n got:\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const unknownKid = "jose: unknown kid: expected a kid of the provider's key set, got "

func TestKeyRotationPicksUpANewKidWithOneFetch(t *testing.T) {
	runScenario(t, "rotation",
		"rotation: rsa-1: ok kid=rsa-1 fetches=1 errors=0 shared=0",
		// A fetch happened less than MinRefresh ago: no new fetch for the new kid yet.
		"rotation: rsa-2 within MinRefresh: "+unknownKid+`"rsa-2" fetches=1 errors=0 shared=0`,
		"rotation: rsa-2 after MinRefresh: ok kid=rsa-2 fetches=2 errors=0 shared=0",
		"rotation: 5 more rsa-2 tokens: 5 ok fetches=2 errors=0 shared=0",
		"rotation: rsa-1 still listed: ok kid=rsa-1 fetches=2 errors=0 shared=0",
		"rotation: rsa-2 after the set expired: ok kid=rsa-2 fetches=3 errors=0 shared=0",
		"rotation: rsa-1 after removal: "+unknownKid+`"rsa-1" fetches=3 errors=0 shared=0`,
		"rotation: server requests: 3",
	)
}

func TestUnknownKidFloodFetchesAtMostOncePerInterval(t *testing.T) {
	runScenario(t, "unknown-kid-flood",
		"unknown-kid-flood: initial load: ok fetches=1 errors=0 shared=0",
		// Within MinRefresh of the initial load: no fetch at all.
		"unknown-kid-flood: round 1 flood: 200×jose: unknown kid fetches=1 errors=0 shared=0",
		// One MinRefresh later: 200 concurrent unknown kids, one fetch.
		"unknown-kid-flood: round 2 flood: 200×jose: unknown kid fetches=2 errors=0 shared=0",
		"unknown-kid-flood: round 3 flood: 200×jose: unknown kid fetches=3 errors=0 shared=0",
		"unknown-kid-flood: server requests: 3",
	)
}

func TestConcurrentCallersOnAColdKeySetShareOneFetch(t *testing.T) {
	runScenario(t, "cold-start",
		"cold-start: 200 concurrent: 200×ok fetches=1 errors=0 shared=0",
		"cold-start: server requests: 1",
	)
}

func TestCacheControlMaxAgeIsHonouredWithinBounds(t *testing.T) {
	var want []string
	for _, c := range [][2]string{
		{"/maxage/60/ma60", "1m0s"},        // max-age=60 within [10s, 1h]
		{"/maxage/1/ma1", "10s"},           // raised to MinCache
		{"/maxage/999999/mabig", "1h0m0s"}, // lowered to MaxCache
		{"/static/manone", "10s"},          // no Cache-Control: MinCache
		{"/nocache/manocache", "10s"},      // no-cache wins over max-age
	} {
		want = append(want,
			"max-age: "+c[0]+" lifetime "+c[1],
			"max-age: "+c[0]+" before expiry: ok kid=rsa-1 fetches=1 errors=0 shared=0",
			"max-age: "+c[0]+" after expiry: ok kid=rsa-1 fetches=2 errors=0 shared=0",
		)
	}
	runScenario(t, "max-age", want...)
}

func TestFailedFetchesKeepTheLastGoodKeySet(t *testing.T) {
	const unavailable = "jose: key set unavailable: expected a key set, got none yet: jose: key set fetch failed: expected status 200, got 503"
	runScenario(t, "keep-last-good",
		"keep-last-good: good: ok kid=rsa-1 fetches=1 errors=0 shared=0",
		"keep-last-good: status 500: ok kid=rsa-1 fetches=2 errors=1 shared=0 last error: jose: key set fetch failed: expected status 200, got 500",
		"keep-last-good: not JSON: ok kid=rsa-1 fetches=3 errors=2 shared=0 last error: jose: malformed JSON: JWKS: expected a JSON object, got invalid JSON (invalid character '<' looking for beginning of value)",
		"keep-last-good: oversize: ok kid=rsa-1 fetches=4 errors=3 shared=0 last error: jose: key set fetch failed: expected at most 65536 bytes, got more",
		`keep-last-good: no usable key: ok kid=rsa-1 fetches=5 errors=4 shared=0 last error: jose: key set has no usable key: 0 of 1 keys usable; first: jose: JWK not usable for signature verification: expected use "sig", got "enc"`,
		"keep-last-good: good again: ok kid=rsa-1 fetches=6 errors=4 shared=0 last error: ",
		"keep-last-good: first load fails: "+unavailable+" fetches=1 errors=1 shared=0",
		"keep-last-good: retry within MinRefresh: "+unavailable+" fetches=1 errors=1 shared=0",
		"keep-last-good: retry after MinRefresh: "+unavailable+" fetches=2 errors=2 shared=0",
	)
}

func TestKeySetFetchEndsAtItsDeadline(t *testing.T) {
	runScenario(t, "deadline",
		`deadline: slow endpoint: jose: key set unavailable: expected a key set, got none yet: jose: key set fetch failed: GET failed: Get "$BASE/slow/slow": context deadline exceeded fetches=1 errors=1 shared=0 within 10 s`,
	)
}

func TestReplicasShareKeySetsThroughTheSharedCache(t *testing.T) {
	runScenario(t, "shared-cache",
		"shared-cache: replica A rsa-1: ok kid=rsa-1 fetches=1 errors=0 shared=0 cache sets 1",
		"shared-cache: replica B rsa-1: ok kid=rsa-1 fetches=0 errors=0 shared=1",
		"shared-cache: replica A rsa-2: ok kid=rsa-2 fetches=2 errors=0 shared=0 cache sets 2",
		"shared-cache: replica B rsa-2: ok kid=rsa-2 fetches=0 errors=0 shared=2",
		"shared-cache: server requests: 2",
		"shared-cache: corrupt shared value: ok kid=rsa-1 fetches=1 errors=0 shared=0",
	)
}

func TestNothingIsFetchedForTokensRefusedByPreCheck(t *testing.T) {
	const charset = "jose: invalid kid: expected only [A-Za-z0-9._~+/=:@-], got other characters in a "
	const notAllowed = "jose: alg not allowed: expected one of [RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA], got "
	runScenario(t, "no-fetch-before-precheck",
		"no-fetch-before-precheck: kid with CRLF: "+charset+"4-byte kid",
		"no-fetch-before-precheck: kid of 300 bytes: jose: invalid kid: expected at most 256 bytes, got 300",
		"no-fetch-before-precheck: kid SQL: "+charset+"11-byte kid",
		`no-fetch-before-precheck: alg none: jose: alg none is never accepted: got alg "none" (RFC 8725 3.1)`,
		`no-fetch-before-precheck: alg HS256: `+notAllowed+`"HS256"`,
		`no-fetch-before-precheck: alg ES256K: `+notAllowed+`"ES256K"`,
		"no-fetch-before-precheck: oversize: jose: token too large: expected at most 16384 bytes, got 27063",
		`no-fetch-before-precheck: duplicate alg: jose: duplicate JSON member name: header: expected unique member names, got "alg" twice`,
		"no-fetch-before-precheck: requests after refused tokens: 0",
		`no-fetch-before-precheck: KeysFor HS256: 0 jose: alg not supported: expected an asymmetric signature alg for a key set, got "HS256" requests: 0`,
		"no-fetch-before-precheck: jku and x5u: jose: signature verification failed: alg RS256: no key of 1 verified the signature jku requests: 0 x5u requests: 0",
	)
}

// TestVerifyRemoteRefusesHMACEvenWhenAllowed: with HS256 in the allow-list (an ID-token
// configuration), a key set still never verifies an HMAC, and is not fetched for it.
func TestVerifyRemoteRefusesHMACEvenWhenAllowed(t *testing.T) {
	srv := httptest.NewServer(josetest.NewJWKSServer(josetest.NewKeys()))
	defer srv.Close()
	ks := jose.NewRemoteKeySet(jose.RemoteKeySetOptions{URL: srv.URL + "/static/hmac"})
	tok := josetest.Sign("HS256", []byte(josetest.NewKeys().IssuerJWKS()), `{"alg":"HS256","kid":"rsa-1"}`, `{"exp":4102444800}`)
	_, _, err := jose.VerifyRemote(context.Background(), tok, 0, append([]string{"HS256"}, josetest.Asymmetric...), ks)
	if jose.KindOf(err) != jose.ErrHMACNotAllowed {
		t.Fatalf("got %v, want ErrHMACNotAllowed", err)
	}
	if st := ks.Stats(); st.Fetches != 0 {
		t.Fatalf("%d fetches for an HMAC token", st.Fetches)
	}
}

// TestKidlessTokenSignedByARotatedInKeyVerifiesAfterOneRefresh: without a kid, a
// failed signature check is the only sign of a rotation; it refreshes the set as an
// unknown kid would, under the same MinRefresh limit, so forged tokens without a kid
// cannot make more fetches than unknown kids can.
func TestKidlessTokenSignedByARotatedInKeyVerifiesAfterOneRefresh(t *testing.T) {
	runScenario(t, "kidless-rotation",
		"kidless-rotation: no kid, rsa-1: ok kid=rsa-1 fetches=1 errors=0 shared=0",
		"kidless-rotation: no kid, rotated-in key within MinRefresh: jose: signature verification failed: alg RS256: no key of 1 verified the signature fetches=1 errors=0 shared=0",
		"kidless-rotation: no kid, rotated-in key after MinRefresh: ok kid=rsa-2 fetches=2 errors=0 shared=0",
		"kidless-rotation: no kid, rotated-in key again: ok kid=rsa-2 fetches=2 errors=0 shared=0",
		"kidless-rotation: 100 forged within MinRefresh: 100×jose: signature verification failed fetches=2 errors=0 shared=0",
		"kidless-rotation: 100 forged after MinRefresh: 100×jose: signature verification failed fetches=3 errors=0 shared=0",
		"kidless-rotation: server requests: 3",
	)
}

// TestRemoteScenarioListIsCovered: every scenario has a named test above.
func TestRemoteScenarioListIsCovered(t *testing.T) {
	covered := "rotation unknown-kid-flood cold-start max-age keep-last-good deadline shared-cache no-fetch-before-precheck kidless-rotation"
	if got := strings.Join(josetest.ScenarioNames(), " "); got != covered {
		t.Fatalf("scenarios %q, tests cover %q", got, covered)
	}
}
