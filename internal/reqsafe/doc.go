// Package reqsafe holds the checks that decide whether a part of a request means what
// it appears to mean, in one place, so that the middleware and the validation of its
// configuration can never disagree:
//
//   - CanonicalPath and MatchesPrefix: whether a request path may be matched against a
//     path rule (excludedURLs today) at all, and whether it lies under a prefix. A path
//     that some common backend would read as different segments than Gatehouse does
//     (servlet ";" parameters, dot segments, encoded slashes, backslashes, double
//     encoding, non-ASCII look-alikes) is not canonical. docs/SECURITY.md ("Paths and
//     forwarding") has the matrix of backend normalisations this defends against.
//   - IsLocalPath: whether a redirect target stays on this site.
//   - HeaderKey: the form in which header names are compared, as backends that fold
//     names (CGI, PHP, Rack) read them.
//
// Everything here is a plain function over strings and *url.URL, cheap enough to run
// on every request under Yaegi: a few calls into compiled strings functions, no
// interpreted loop over the bytes of a request.
package reqsafe
