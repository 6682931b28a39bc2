package jose_test

import (
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

func runTokenCases(t *testing.T, cases []josetest.TokenCase) {
	t.Helper()
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		out, err := josetest.CheckToken(c)
		if why := josetest.Judge(err, c.Want); why != "" {
			t.Errorf("%s: %s, got %s", c.Name, why, out)
		}
	}
}

// TestRFCExamplesVerify: every worked example of RFC 7515 appendix A, RFC 7520
// section 4 and RFC 8037 A.4 verifies with the key its RFC gives.
func TestRFCExamplesVerify(t *testing.T) {
	runTokenCases(t, josetest.RFCVectors())
}

// TestRFCExamplesFailAfterOneBitChange: one flipped bit in the header, the payload or
// the signature of any example makes it fail.
func TestRFCExamplesFailAfterOneBitChange(t *testing.T) {
	runTokenCases(t, josetest.Tampered())
}

func parseSet(doc string) (*jose.KeySet, error) { return jose.ParseJWKS([]byte(doc)) }
