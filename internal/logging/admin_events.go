package logging

// Event names of the admin revocation API and of "sign out my other devices". They
// are stable (audit pipelines and alerts match on them) and documented in
// docs/OPERATIONS.md with their fields.
const (
	// EventAdminRevoke: an operator revoked a subject's sessions and tokens, or a
	// provider session, through the admin API (info).
	EventAdminRevoke = "admin.revoke"
	// EventAdminRevokeFailed: an authorised revocation could not be recorded for
	// every replica (Redis unreachable and the outbox full, or the cache closed);
	// it is enforced by this process only (error).
	EventAdminRevokeFailed = "admin.revoke_failed"
	// EventAdminRefused: a request to the admin API was refused: address not
	// allowed, no or bad access token, missing scope, throttled client, wrong
	// method, malformed body (warn).
	EventAdminRefused = "admin.refused"
	// EventSessionRevokeOthers: a signed-in user signed out their other sessions;
	// the current one was re-issued under a new id (info).
	EventSessionRevokeOthers = "session.revoke_others"
	// EventSessionRevokeOthersFailed: that revocation could not be recorded for
	// every replica (error).
	EventSessionRevokeOthersFailed = "session.revoke_others_failed"
)
