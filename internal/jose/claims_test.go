package jose_test

import (
	"testing"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

func runClaimsCases(t *testing.T, cases []josetest.ClaimsCase) {
	t.Helper()
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		out, err := josetest.CheckClaims(c)
		if why := josetest.Judge(err, c.Want); why != "" {
			t.Errorf("%s: %s, got %s", c.Name, why, out)
		}
	}
}

func TestAttackDuplicateAndCaseVariantClaimNamesAreRejected(t *testing.T) {
	runClaimsCases(t, josetest.StrictClaimsCases())
}

func TestNumericDatesAcceptIntegersAndFractionsAndRefuseOverflow(t *testing.T) {
	runClaimsCases(t, josetest.NumericDateCases())
}

func TestTimeClaimsHonourLeeway(t *testing.T) {
	runClaimsCases(t, josetest.TimeCases())
}

func TestAudienceIsAStringOrANonEmptyArrayOfStrings(t *testing.T) {
	runClaimsCases(t, josetest.AudienceCases())
}

func TestClaimAccessorsReadExactNamesAndRefuseWrongTypes(t *testing.T) {
	runClaimsCases(t, josetest.AccessorCases())
}

// TestNumericDateValues pins the values, not only acceptance.
func TestNumericDateValues(t *testing.T) {
	for raw, want := range map[string]time.Time{
		"1700000000":            time.Unix(1700000000, 0).UTC(),
		"1700000000.25":         time.Unix(1700000000, 250000000).UTC(),
		"1.7e9":                 time.Unix(1700000000, 0).UTC(),
		"0":                     time.Unix(0, 0).UTC(),
		"253402300799":          time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		"1700000000.9999999999": time.Unix(1700000001, 0).UTC(),
	} {
		got, err := jose.ParseNumericDate([]byte(raw))
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v, %v; want %v", raw, got, err, want)
		}
	}
}

// TestNumericDateErrorsSayWhatWasGot pins the details callers log.
func TestNumericDateErrorsSayWhatWasGot(t *testing.T) {
	for raw, want := range map[string]string{
		`"1700000000"`:        "jose: invalid NumericDate: expected a non-negative JSON number, got a string",
		`-1`:                  "jose: invalid NumericDate: expected a non-negative JSON number, got a number",
		`null`:                "jose: invalid NumericDate: expected a non-negative JSON number, got null",
		`253402300800`:        "jose: invalid NumericDate: expected at most 253402300799 (9999-12-31), got a larger number",
		`1e400`:               "jose: invalid NumericDate: expected at most 253402300799 (9999-12-31), got a larger number",
		`9223372036854775808`: "jose: invalid NumericDate: expected at most 253402300799 (9999-12-31), got a larger number",
	} {
		_, err := jose.ParseNumericDate([]byte(raw))
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", raw, err, want)
		}
	}
}

func TestTypMatchesMediaTypesIgnoringCaseWithApplicationPrefix(t *testing.T) {
	for _, c := range josetest.TypCases() {
		if got := jose.TypMatches(c.Typ, c.Want); got != c.Match {
			t.Errorf("TypMatches(%q, %q) = %v, want %v", c.Typ, c.Want, got, c.Match)
		}
	}
}
