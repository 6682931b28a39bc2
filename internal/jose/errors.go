package jose

import (
	"context"
	"errors"
	"strconv"
)

// Sentinel error kinds. Every error this package returns is an *Error whose Kind is
// one of these; compare with KindOf(err) == ErrX (errors.Is works compiled too, but
// panics under Yaegi with interpreted error values).
var (
	// Compact serialization (RFC 7515 7.1).
	ErrTokenTooLarge = errors.New("jose: token too large")
	ErrBase64        = errors.New("jose: malformed base64url")
	ErrSegments      = errors.New("jose: wrong number of segments")
	ErrJWE           = errors.New("jose: JWE is not accepted")
	ErrMalformed     = errors.New("jose: malformed token")

	// JSON (header, claims, keys).
	ErrJSON          = errors.New("jose: malformed JSON")
	ErrDuplicateName = errors.New("jose: duplicate JSON member name")

	// Header.
	ErrHeader = errors.New("jose: invalid header")
	ErrKid    = errors.New("jose: invalid kid")
	ErrCrit   = errors.New("jose: critical header not accepted")
	ErrB64    = errors.New("jose: unencoded payload not accepted")

	// Algorithms.
	ErrAlgNone        = errors.New("jose: alg none is never accepted")
	ErrAlgNotAllowed  = errors.New("jose: alg not allowed")
	ErrAlgUnsupported = errors.New("jose: alg not supported")
	ErrHMACNotAllowed = errors.New("jose: HMAC needs an explicitly configured secret")
	ErrHMACSecret     = errors.New("jose: HMAC secret unusable")

	// Signatures and keys.
	ErrSignatureEmpty  = errors.New("jose: empty signature")
	ErrSignatureLength = errors.New("jose: wrong signature length")
	ErrSignatureRange  = errors.New("jose: ECDSA signature value out of range")
	ErrSignature       = errors.New("jose: signature verification failed")
	ErrNoKey           = errors.New("jose: no key fits the token")
	ErrUnknownKid      = errors.New("jose: unknown kid")

	// JWK and JWKS (RFC 7517).
	ErrJWKInvalid      = errors.New("jose: invalid JWK")
	ErrJWKUnsupported  = errors.New("jose: unsupported JWK")
	ErrJWKPrivate      = errors.New("jose: JWK carries private key material")
	ErrJWKNotForVerify = errors.New("jose: JWK not usable for signature verification")
	ErrKeyTooSmall     = errors.New("jose: RSA key too small")
	ErrWeakKey         = errors.New("jose: RSA key known to be factorable")
	ErrPointNotOnCurve = errors.New("jose: EC point not on the curve")
	ErrNoUsableKeys    = errors.New("jose: key set has no usable key")
	ErrJWKSFetch       = errors.New("jose: key set fetch failed")
	ErrJWKSUnavailable = errors.New("jose: key set unavailable")

	// Claims (RFC 7519 4.1).
	ErrClaimMissing    = errors.New("jose: claim missing")
	ErrClaimType       = errors.New("jose: claim has the wrong type")
	ErrNumericDate     = errors.New("jose: invalid NumericDate")
	ErrAudience        = errors.New("jose: invalid audience")
	ErrExpired         = errors.New("jose: token expired")
	ErrNotYetValid     = errors.New("jose: token not yet valid")
	ErrIssuedInFuture  = errors.New("jose: token issued in the future")
	ErrInvalidArgument = errors.New("jose: invalid argument")
)

// Error is every error this package returns: a sentinel Kind and a Detail naming what
// was expected and what was got. Details quote attacker-controlled strings with %q
// and truncate them; they never contain a token, a signature or key material.
type Error struct {
	Kind   error
	Detail string
}

// Error returns the kind's text, a colon and the detail.
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

// Unwrap returns Kind, so errors.Is(err, ErrX) works in compiled code.
func (e *Error) Unwrap() error { return e.Kind }

// KindOf returns the sentinel kind of an error from this package, or err itself.
// It is the Yaegi-safe way to test an error: KindOf(err) == ErrExpired.
func KindOf(err error) error {
	if err == context.DeadlineExceeded || err == context.Canceled {
		// Under Yaegi, asserting context.DeadlineExceeded (a struct without fields)
		// to an interpreted type panics.
		return err
	}
	if e, ok := err.(*Error); ok {
		return e.Kind
	}
	return err
}

func newError(kind error, detail string) error {
	return &Error{Kind: kind, Detail: detail}
}

// quote returns s quoted with Go escapes (so control characters cannot reach a log
// line raw), truncated to max bytes of input first.
func quote(s string, max int) string {
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}

func itoa(n int) string { return strconv.Itoa(n) }
