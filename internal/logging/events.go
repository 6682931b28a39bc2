package logging

// Event names: the `event` of every log line. They are stable (alerts, fail2ban filters
// and dashboards match on them), each is documented in docs/OPERATIONS.md with its
// level and fields, and a test (TestEveryLoggedEventIsDocumented) fails when code logs
// an event that is not a constant here or that the document does not list.
//
// Add an event here, use the constant, and document it; never log a literal name.
const (
	// EventDebug is a free-form diagnostic line at debug level (Logger.Debugf).
	EventDebug = "debug"

	// Configuration and lifecycle.
	EventConfigLoaded  = "config.loaded"
	EventConfigWarning = "config.warning"
	EventInternalError = "internal.error"

	// Signing in.
	EventLoginSucceeded     = "login.succeeded"
	EventLoginFailed        = "login.failed"
	EventLoginNoTransaction = "login.no_transaction"
	EventLoginStartFailed   = "login.start_failed"

	// Sessions.
	EventSessionRefused      = "session.refused"
	EventSessionRevoked      = "session.revoked"
	EventSessionWriteFailed  = "session.write_failed"
	EventSessionDeleteFailed = "session.delete_failed"
	EventRefreshFailed       = "refresh.failed"
	EventRefreshEnded        = "refresh.ended"
	EventRefreshRejected     = "refresh.rejected"

	// Bearer tokens and authorization.
	EventBearerRefused     = "bearer.refused"
	EventBearerUnavailable = "bearer.unavailable"
	EventAccessDenied      = "access.denied"
	EventAccessWouldDeny   = "access.would_deny"
	EventIdentityNameDrop  = "identity.name_dropped"
	EventTokenRevoked      = "token.revoked"

	// Abuse.
	EventThrottleBlocked = "throttle.blocked"

	// Signing out (kind: rp, backchannel, frontchannel).
	EventLogoutSucceeded         = "logout.succeeded"
	EventLogoutRefused           = "logout.refused"
	EventLogoutNotRecorded       = "logout.not_recorded"
	EventLogoutLocalOnly         = "logout.local_only"
	EventLogoutTokenRevokeFailed = "logout.provider_revocation_failed"
	EventLogoutEndSessionFailed  = "logout.end_session_failed"
	EventProviderUnavailable     = "provider.unavailable"
	EventProviderKeyRefused      = "provider.key_refused"
	EventProviderKeySkipped      = "provider.key_skipped"
	EventProviderCapabilities    = "provider.capabilities"
	EventProviderUnsupported     = "provider.unsupported_option"
	EventUserinfoFailed          = "userinfo.failed"

	// Gatehouse's own pages.
	EventPageTemplateFailed = "page.template_failed"

	// Operations endpoints (metrics, health).
	EventEndpointRefused = "endpoint.refused"

	// The cache and Redis.
	EventCacheState              = "cache.state"
	EventCacheRedisUnreachable   = "cache.redis_unreachable"
	EventCacheTrackingRefused    = "cache.tracking_refused"
	EventCacheTrackingLost       = "cache.tracking_lost"
	EventCacheRevocationsRestore = "cache.revocations_restored"
	EventCacheOutboxAdopted      = "cache.outbox_adopted"
	EventCacheCloseUnconfirmed   = "cache.close_unconfirmed"

	// Administration (revocation by an operator) goes here, under "admin.".
)
