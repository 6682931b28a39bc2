package yaegihost

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/testop"
)

// TestProviderKeyWithTheROCAFingerprintIsRefused: the provider signs ID tokens with
// an RSA key made the way Infineon RSALib made them (factorable, CVE-2017-15361).
// Gatehouse drops the key from the key set, logs its kid as an error, and the
// sign-in fails; nothing reaches the backend.
func TestProviderKeyWithTheROCAFingerprintIsRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, md mode) {
		op := newOP(t, testop.Options{})
		kid, err := op.UseROCAKey()
		if err != nil {
			t.Fatal(err)
		}
		cfg := rpConfig(op)
		stop := captureStderr(t)
		srv := startGatehouse(t, md, cfg, "roca@file")
		p := newBrowser().get(t, srv.URL+"/")
		out := stop()
		if p.status != http.StatusUnauthorized || strings.Contains(p.body, "backend ") {
			t.Fatalf("sign-in with a ROCA-signed ID token: %d %s", p.status, p.body)
		}
		if !strings.Contains(out, `level=error`) || !strings.Contains(out, `provider key kid \"`+kid+`\"`) || !strings.Contains(out, "ROCA") {
			t.Fatalf("the refused key's kid %s is not in the error log:\n%s", kid, out)
		}
		if op.Count("token") != 1 {
			t.Fatalf("%d token requests", op.Count("token"))
		}
	})
}

// TestROCAFingerprintUnderYaegiMatchesCompiled parses, in the interpreter and
// compiled, the key with the ROCA structure and 50 freshly generated RSA-2048 keys:
// the first is refused with ErrWeakKey, none of the others is.
func TestROCAFingerprintUnderYaegiMatchesCompiled(t *testing.T) {
	parse := interpreted(t, "github.com/gatehouse-oidc/gatehouse/internal/jose", "jose.ParseJWK")
	roca, err := testop.ROCAKey()
	if err != nil {
		t.Fatal(err)
	}
	const fresh = 50
	keys := make([]*rsa.PublicKey, fresh+1)
	keys[0] = &roca.PublicKey
	var wg sync.WaitGroup
	for i := 1; i <= fresh; i++ {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys[i] = &k.PublicKey
		}()
	}
	wg.Wait()
	for i, pub := range keys {
		jwk := []byte(`{"kty":"RSA","kid":"k` + strconv.Itoa(i) + `","n":"` + base64.RawURLEncoding.EncodeToString(pub.N.Bytes()) +
			`","e":"` + base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()) + `"}`)
		_, cerr := jose.ParseJWK(jwk)
		yerr := call(parse, jwk)[1]
		yText := ""
		if !yerr.IsNil() {
			yText = yerr.Interface().(error).Error()
		}
		cText := ""
		if cerr != nil {
			cText = cerr.Error()
		}
		if yText != cText {
			t.Fatalf("key %d: Yaegi %q, compiled %q", i, yText, cText)
		}
		if (i == 0) != (jose.KindOf(cerr) == jose.ErrWeakKey) {
			t.Fatalf("key %d (ROCA: %v): %v", i, i == 0, cerr)
		}
	}
}
