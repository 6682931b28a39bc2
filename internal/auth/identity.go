package auth

import (
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
)

// Who a principal is: the rules that turn a credential's claims into the user
// identifier Gatehouse forwards and matches, the email it trusts, and the group and
// role names it forwards. Sessions and bearer tokens go through the same functions
// (sessionPrincipal, newPrincipal), and a session's stored identity is re-checked
// every time its principal is built, so a session signed in under older rules gets
// today's.
//
// An email address is an identity or a match only when the provider says it is
// verified. Anyone can create an account at many providers with someone else's
// address and never verify it; if Gatehouse took that address as the user, the
// backend would receive X-Forwarded-User: alice@example.com and allowedUsers:
// [alice@example.com] would let the account in. So, unless
// authorization.requireVerifiedEmail is false:
//
//   - the email claim counts (forwarded in headers.email, matched by allowedUsers and
//     allowedDomains, offered to templates as .email) only with email_verified true;
//   - a user identifier with an "@" in it, whichever claim it came from
//     (provider.userClaim, bearer.identifierClaim), counts only when it is that
//     verified email (ignoring ASCII case): a preferred_username or upn that merely
//     looks like an address is unverified too (some providers let users pick a
//     username, or make the unverified email the username);
//   - otherwise the user is the subject (sub), which the provider assigns and never
//     reuses (OIDC Core 2), whatever its shape.
//
// Every identifier must also pass config.IdentifierProblem (no invisible, control or
// normalising characters): one that does not is replaced by sub, and a sub that does
// not leaves the principal without a user, which is refused.

// trustedIdentity applies those rules to a credential's user identifier (the
// configured claim's value, or "" when it is absent), subject, email and
// email_verified, and returns the user identifier and the email the principal
// carries ("" for none).
func trustedIdentity(requireVerified bool, user, sub, email string, verified bool) (string, string) {
	if email != "" && ((requireVerified && !verified) || !config.IsEmail(email) || config.IdentifierProblem(email) != "") {
		email = ""
	}
	if user != sub && !trustedUser(requireVerified, user, email) {
		user = sub
	}
	if user != "" && config.IdentifierProblem(user) != "" {
		user = ""
	}
	return user, email
}

// trustedUser reports whether user (not the subject) may be the identity, given the
// trusted email ("" when there is none).
func trustedUser(requireVerified bool, user, email string) bool {
	if user == "" || config.IdentifierProblem(user) != "" {
		return false
	}
	if !requireVerified || strings.IndexByte(user, '@') < 0 {
		return true
	}
	return email != "" && config.FoldEmail(user) == config.FoldEmail(email)
}

// matchKey is the form in which an identifier is compared with allowedUsers:
// email-shaped ones with ASCII case folded (as config.Compile folds the entries),
// all others exactly.
func matchKey(id string) string {
	if strings.IndexByte(id, '@') >= 0 {
		return config.FoldEmail(id)
	}
	return id
}

// forwardableNames returns names without the group or role names that would read
// as other names downstream, logging each refused name once (bounded; see
// logging.Logger.FirstTime). The groups and roles headers are comma-separated, and
// backends split them on "," and trim spaces: a group named "sales,admins" would read
// as "sales" and "admins", and " admins" as "admins". So a name with a comma, leading
// or trailing white space, or a character no header value may carry is dropped (from
// the headers and from allowedGroups/allowedRoles matching alike). The common case,
// where every name is fine, is one Join and a few compiled string scans.
func forwardableNames(log *logging.Logger, kind string, names []string) []string {
	if len(names) == 0 {
		return names
	}
	j := strings.Join(names, ",")
	if strings.Count(j, ",") == len(names)-1 && !strings.Contains(j, ", ") && !strings.Contains(j, " ,") &&
		!strings.ContainsRune(j, '\t') && j[0] != ' ' && j[len(j)-1] != ' ' && safeHeaderValue(j) {
		return names
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if forwardableName(n) {
			out = append(out, n)
			continue
		}
		if log.FirstTime(kind + "\x00" + n) {
			log.Warn(logging.EventIdentityNameDrop, kind+" name "+quoteName(n)+" dropped: a comma, surrounding white space or a control character would make it read as another name in the forwarded list (logged once per name)",
				logging.Fields{"kind": kind})
		}
	}
	return out
}

// forwardableName reports whether one group or role name can be forwarded.
func forwardableName(n string) bool {
	return n != "" && strings.IndexByte(n, ',') < 0 && strings.TrimSpace(n) == n && safeHeaderValue(n)
}

// quoteName quotes a name for the log: escaped, and cut at 64 bytes.
func quoteName(n string) string {
	if len(n) > 64 {
		return strconv.Quote(n[:64]) + "…"
	}
	return strconv.Quote(n)
}
