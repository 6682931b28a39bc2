package jose

// Unexported helpers the external tests (package jose_test) check directly.
var (
	HasROCAFingerprint = hasROCAFingerprint
	OrderOf65537       = orderOf65537
	ROCAPrimes         = rocaPrimes[:]
)
