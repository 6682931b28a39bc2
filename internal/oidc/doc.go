// Package oidc owns the relying party's conversations with the OpenID Provider:
// discovery, the token endpoint (code exchange, refresh), revocation (RFC 7009) and
// introspection (RFC 7662), and the rules each kind of JWT must meet (ID tokens per
// OIDC Core 3.1.3.7, logout tokens per Back-Channel Logout 1.0 section 2.6, access
// tokens per RFC 9068) on top of internal/jose's signature checks.
//
// It does not own sessions, cookies or HTTP routing (internal/session, internal/auth).
// Every response it reads from the provider is size-capped and has a deadline.
package oidc
