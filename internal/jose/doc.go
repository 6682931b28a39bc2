// Package jose owns the cryptographic core of token checking: compact JWS parsing
// (RFC 7515), signature verification with the algorithms of RFC 7518 and RFC 8037,
// JSON Web Keys and key sets (RFC 7517) fetched over HTTP, a strict JSON object reader,
// and the claim helpers every JWT kind shares (RFC 7519).
//
// It answers one question: "was this token signed by one of these keys, with an
// algorithm the configuration allows?". It does not know what an ID token, an access
// token or a logout token is: issuer, audience, nonce and token-kind rules live in the
// callers (internal/oidc), which use the helpers here.
//
// The rules it keeps are docs/SECURITY.md's "Tokens" section; each has a named test:
//
//   - The algorithm comes from configuration and must fit the key; the header only
//     selects among keys. "none" (any casing) is never accepted; HMAC only through
//     VerifyHMAC with an explicitly configured secret, never with a public key.
//   - jku, x5u, jwk and x5c header parameters are never read. kid is only a map key,
//     capped at MaxKidLength bytes of KidCharset before anything looks it up.
//   - Exactly three segments, a length cap checked before splitting, strict unpadded
//     base64url with the alphabet checked before decoding (Go's decoder skips CR and
//     LF even in strict mode).
//   - crit is handled as RFC 7515 4.1.11 requires (no extension is understood, so any
//     crit is rejected, with a reason); b64:false (RFC 7797) and JWE are rejected.
//   - Header, claims and keys are read with a strict JSON reader: names match exactly,
//     and a name that appears twice, also in another case, rejects the document.
//   - ECDSA signatures are r‖s of exactly 64/96/132 bytes with 0 < r, s < n; EC keys
//     have full-length coordinates of a point on the curve named by crv, which fits
//     alg; RSA keys have 2048 to 8192 bits, an odd exponent, and no ROCA fingerprint
//     (CVE-2017-15361, roca.go).
//
// Errors are *Error values carrying a sentinel Kind (compare KindOf(err) == ErrX;
// errors.Is also works compiled, but not under Yaegi) and a detail naming what was
// expected and what was got. Details never contain a token, a signature or a secret.
//
// Under Yaegi every interpreted call costs microseconds, so the per-token path makes
// few calls and leaves byte work to encoding/json, encoding/base64, strings and crypto.
// Plain functions (ParseCompact, PreCheck, Verify, DecodeClaims, the *Claim getters,
// CheckTimes) are the hot path; the Claims methods are conveniences over them.
package jose
