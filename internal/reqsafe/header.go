package reqsafe

import "strings"

// headerFold maps every character an RFC 9110 token (a header name) may hold, other
// than letters and digits, to '-'.
var headerFold = strings.NewReplacer("_", "-", ".", "-", "!", "-", "#", "-", "$", "-", "%", "-", "&", "-",
	"'", "-", "*", "-", "+", "-", "^", "-", "`", "-", "|", "-", "~", "-")

// HeaderKey returns the form in which Gatehouse compares header names: ASCII lower
// case, with every character that is neither a letter nor a digit read as '-'.
// Backends fold names: CGI and PHP read X_Forwarded_User and X-Forwarded-User as the
// same HTTP_X_FORWARDED_USER, Rack and some frameworks map other punctuation the same
// way. Two names with one key can be confused by some backend, so a client-sent header
// is removed when its key is the key of a header Gatehouse strips.
func HeaderKey(name string) string {
	return headerFold.Replace(strings.ToLower(name))
}
