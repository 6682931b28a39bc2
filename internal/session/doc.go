// Package session owns Gatehouse's browser state: values sealed with AES-256-GCM,
// the session cookie (chunked when large), the session record inside it, the
// login-transaction cookies of the authorization-code flow, and the removal of these
// cookies from requests forwarded to the backend. It does not validate tokens,
// decide authorization, or talk to the provider or the cache: callers hand it the
// record to keep and get it back authenticated, decrypted and checked against the
// absolute lifetime and the idle timeout.
//
// # Sealed values
//
// Keys come from session.keys: raw key material of at least 32 bytes each, the
// first seals, all open. For each key and purpose ("session", "login", "cache") an
// AES-256 key is derived with HKDF-SHA256 (RFC 5869), so a value sealed for one
// purpose never opens as another. A sealed value is unpadded base64url (RFC 4648
// section 5) of
//
//	version (1 byte, 0x01)
//	key id (4 bytes)        HKDF(key material, "gatehouse key id"): which key sealed it
//	instance tag (4 bytes)  HKDF(key material, "gatehouse instance" 0x00 binding)
//	nonce (12 bytes)        random, crypto/rand
//	ciphertext and GCM tag (plaintext length + 16 bytes)
//
// with GCM additional data version | key id | instance tag | SHA-256(binding). The
// binding (InstanceBinding: middleware name, issuer, client id, cookie name) is the
// same on every replica of one middleware and differs between middleware instances,
// so a value sealed by one instance does not open at another. The key id and
// instance tag only pick the key and name the failure (ErrUnknownKey,
// ErrWrongInstance); authenticity comes from GCM alone (ErrTampered). Texts longer
// than the purpose allows are refused before decoding (ErrTooLarge); base64url is
// decoded strictly, CR and LF included (ErrMalformed). The overhead is 37 bytes
// before base64url: 50 characters plus 4/3 of the plaintext.
//
// # The session cookie
//
// The session record (Record) is JSON with short field names, sealed for "session".
// When the sealed text fits one cookie value (ChunkBudget: 3800 bytes, less when a
// long domain or path leaves less room under 4096 bytes per Set-Cookie line) it is
// written as
//
//	<name>=<sealed>
//
// otherwise it is split into n pieces of ChunkBudget bytes (the last shorter), 2 <=
// n <= MaxChunks (10), written as
//
//	<name>=.<n>  <name>_1=<piece 1>  …  <name>_<n>=<piece n>
//
// The count marker ".<n>" cannot be mistaken for a sealed value, which never contains
// '.'. A reader takes the first cookie of each name, refuses a missing or empty
// chunk, a chunk <name>_<n+1> beyond the count, and a non-canonical marker
// (ErrChunks); reassembled pieces are authenticated as a whole by GCM, so pieces of
// two different sessions never combine. Writing or clearing the cookie also expires
// every <name>_<i> the request carried that the new value does not use. Every line
// carries Path, Domain (when configured), HttpOnly, Secure, SameSite, Max-Age and
// Expires; Max-Age ends with the absolute lifetime or the idle timeout, whichever
// comes first.
//
// # Login transactions
//
// Each login has its own cookie, so parallel logins in several tabs succeed:
//
//	<name>_login_<id>=<sealed Login>
//
// where <id> is the first 12 characters of the 32-character random state parameter;
// the Login (state, nonce, PKCE verifier, return URL, creation time) is sealed for
// "login". The cookie lives for session.loginTimeout, is expired by the callback
// whatever the outcome (single use), uses SameSite=Lax even when the session cookie
// is Strict (the callback is a cross-site navigation) and None when it is None, and
// its path is the longest path covering both the session cookie's path and the
// callback path. A browser holds at most DefaultMaxLogins of them: starting another
// expires the unreadable and timed-out ones, then the oldest.
//
// # On every request
//
// ReadSession, StripCookies and the time checks are plain functions (under Yaegi a
// method call costs four times a function call) whose fast path has few locals and
// few calls: under Yaegi each local of a function and each call into compiled code
// costs allocations. A Manager remembers, for at most 8 MiB, what recent Cookie
// headers resolved to (the opened session and the header without Gatehouse's
// cookies) and what recent sealed texts opened to, so a request repeating a header
// costs one map lookup and skips base64url, AES-GCM and JSON. Both are pure
// functions of their key and the Manager's keys; only sessions that opened are
// remembered; the lifetime and idle checks run on every request; revocation is the
// caller's check, after ReadSession. ShouldReissue says when to write the cookie
// again to move LastSeen forward (a tenth of the idle timeout, at least a minute,
// at most half of it), so cookies are not re-sent with every response.
package session
