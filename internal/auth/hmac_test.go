package auth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// TestHMACIDTokensOnlyWithHMACWithClientSecret: an HS256 ID token keyed with the
// client secret verifies when provider.hmacWithClientSecret is on, and is refused
// before any key lookup when it is off (the default) or keyed with anything else.
func TestHMACIDTokensOnlyWithHMACWithClientSecret(t *testing.T) {
	exp := time.Now().Add(time.Hour).Unix()
	payload := `{"iss":"https://idp.example.com","sub":"alice","aud":"gatehouse","exp":` + itoa64(exp) + `}`
	secret := "a-client-secret-of-at-least-32-bytes"
	good := josetest.Sign("HS256", []byte(secret), `{"alg":"HS256","typ":"JWT"}`, payload)
	forged := josetest.Sign("HS256", []byte("not-the-secret"), `{"alg":"HS256","typ":"JWT"}`, payload)
	ctx := context.Background()

	on := testConfig()
	on.Provider.ClientSecret = secret
	on.Provider.HMACWithClientSecret = true
	m := newTestMiddleware(t, on, http.NotFoundHandler())
	// meta is nil: an HMAC token must never need the provider's key set.
	_, claims, err := verifyJWS(m, ctx, nil, good, jose.DefaultMaxTokenLength, m.opts.Provider.SigningAlgorithms)
	if err != nil {
		t.Fatalf("HS256 with the client secret, hmacWithClientSecret on: %v", err)
	}
	if sub, _, _ := jose.StringClaim(claims, "sub"); sub != "alice" {
		t.Fatalf("claims %v", claims)
	}
	if _, _, err := verifyJWS(m, ctx, nil, forged, jose.DefaultMaxTokenLength, m.opts.Provider.SigningAlgorithms); err == nil {
		t.Fatal("HS256 keyed with another secret accepted")
	}

	off := newTestMiddleware(t, testConfig(), http.NotFoundHandler())
	for _, a := range off.opts.Provider.SigningAlgorithms {
		if strings.HasPrefix(a, "HS") {
			t.Fatalf("HMAC allowed by default: %v", off.opts.Provider.SigningAlgorithms)
		}
	}
	_, _, err = verifyJWS(off, ctx, nil, good, jose.DefaultMaxTokenLength, off.opts.Provider.SigningAlgorithms)
	if err == nil || jose.KindOf(err) != jose.ErrAlgNotAllowed {
		t.Fatalf("HS256 with hmacWithClientSecret off: %v, want %v", err, jose.ErrAlgNotAllowed)
	}
}
