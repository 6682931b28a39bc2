package jose_test

import (
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// The attack catalogue of docs/SECURITY.md ("Tokens"): one test per attack. Each group also
// runs under Yaegi (internal/yaegihost TestJoseUnderYaegiMatchesCompiled).

var attacks = josetest.NewAttacks(josetest.NewKeys())

func TestAttackAlgNoneIsNeverAccepted(t *testing.T) {
	runTokenCases(t, attacks.AlgNone())
}

func TestAttackEmptySignatureIsRejected(t *testing.T) {
	runTokenCases(t, attacks.EmptySignature())
}

func TestAttackHMACKeyedWithThePublicKeyIsRejected(t *testing.T) {
	runTokenCases(t, attacks.HMACWithPublicKey())
}

func TestAttackAlgThatDoesNotFitTheKeyIsRejected(t *testing.T) {
	runTokenCases(t, attacks.AlgKeyMismatch())
}

func TestAttackKidInjectionIsRejectedBeforeLookup(t *testing.T) {
	runTokenCases(t, attacks.KidInjection())
}

func TestAttackEmbeddedKeyHeadersAreNeverUsed(t *testing.T) {
	runTokenCases(t, attacks.EmbeddedKeys())
}

func TestAttackZeroAndOutOfRangeECDSASignaturesAreRejected(t *testing.T) {
	runTokenCases(t, attacks.ECDSAZeroAndRange())
}

func TestAttackWrongSignatureLengthsAreRejected(t *testing.T) {
	runTokenCases(t, attacks.SignatureLength())
}

func TestAttackDuplicateAndCaseVariantHeaderNamesAreRejected(t *testing.T) {
	runTokenCases(t, attacks.DuplicateHeaderNames())
}

func TestAttackMalformedBase64IsRejected(t *testing.T) {
	runTokenCases(t, attacks.MalformedBase64())
}

func TestAttackWrongSegmentCountsAreRejected(t *testing.T) {
	runTokenCases(t, attacks.SegmentCount())
}

func TestAttackOversizeTokensAreRejectedBeforeSplitting(t *testing.T) {
	runTokenCases(t, attacks.Oversize())
}

func TestAttackCriticalHeadersAndUnencodedPayloadsAreRejected(t *testing.T) {
	runTokenCases(t, attacks.CriticalHeaders())
}

func TestHMACNeedsAConfiguredSecretOfHashLength(t *testing.T) {
	runTokenCases(t, attacks.HMACSecret())
}

func TestEveryAlgorithmVerifiesWithTheIssuerKeySet(t *testing.T) {
	runTokenCases(t, attacks.ValidControls())
}

// TestAttackCatalogueIsComplete: every group has a test above (a group added to the
// catalogue without one fails here).
func TestAttackCatalogueIsComplete(t *testing.T) {
	tested := map[string]bool{"AlgNone": true, "EmptySignature": true, "HMACWithPublicKey": true, "AlgKeyMismatch": true,
		"KidInjection": true, "EmbeddedKeys": true, "ECDSAZeroAndRange": true, "SignatureLength": true,
		"DuplicateHeaderNames": true, "MalformedBase64": true, "SegmentCount": true, "Oversize": true,
		"CriticalHeaders": true, "HMACSecret": true, "ValidControls": true}
	for _, g := range attacks.Groups() {
		if !tested[g] {
			t.Errorf("attack group %s has no named test", g)
		}
		if len(attacks.Group(g)) == 0 {
			t.Errorf("attack group %s has no cases", g)
		}
	}
}
