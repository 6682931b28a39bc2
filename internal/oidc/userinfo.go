package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// MaxUserinfoBytes caps a userinfo answer: it describes one user (a few hundred
// groups fit many times over), and a larger answer is refused rather than parsed.
const MaxUserinfoBytes = 256 << 10

// ErrUserinfoSubject: the userinfo answer is about someone else than the ID token
// (OIDC Core 5.3.2: the sub "MUST be verified to exactly match"; otherwise the answer
// "MUST NOT be used").
var ErrUserinfoSubject = errors.New("oidc: userinfo sub differs from the ID token's")

// UserinfoAnswer is a userinfo response (OIDC Core 5.3.2): its claims when it is
// JSON; a signed JWT (application/jwt) in JWT, whose signature the caller verifies
// with the provider's keys before it decodes the claims.
type UserinfoAnswer struct {
	Claims jose.Claims
	JWT    string
}

// Userinfo asks the userinfo endpoint about the user of accessToken (OIDC Core
// 5.3.1: GET with the token in the Authorization header). The answer is read up to
// MaxUserinfoBytes within the client's deadline; JSON is decoded with the strict
// reader (a member named twice refuses the answer). Any status but 200, an encrypted
// (JWE) answer or one that is neither a JSON object nor a JWS is an error.
func (c *Client) Userinfo(ctx context.Context, endpoint, accessToken string) (*UserinfoAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json, application/jwt")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, errors.New("oidc: userinfo: " + scrubURLError(err.Error()))
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := readCapped(resp.Body, MaxUserinfoBytes)
	if err != nil {
		return nil, errors.New("oidc: userinfo: " + err.Error())
	}
	if resp.StatusCode != http.StatusOK {
		return nil, userinfoError(resp, b)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "application/jwt" {
		tok := strings.TrimSpace(string(b))
		if strings.Count(tok, ".") != 2 {
			return nil, errors.New("oidc: userinfo: only signed (JWS) answers are accepted, not encrypted ones")
		}
		return &UserinfoAnswer{JWT: tok}, nil
	}
	claims, err := jose.DecodeClaims(b)
	if err != nil {
		return nil, errors.New("oidc: userinfo: answer is not a strict JSON object: " + err.Error())
	}
	return &UserinfoAnswer{Claims: claims}, nil
}

// userinfoError describes a userinfo answer that is not 200: the RFC 6750 error of
// its WWW-Authenticate header or of its JSON body, when there is one.
func userinfoError(resp *http.Response, body []byte) error {
	e := oauthError(resp.StatusCode, body)
	if oe, ok := e.(*OAuthError); ok && oe.Code == "" {
		if h := resp.Header.Get("WWW-Authenticate"); strings.Contains(h, `error="`) {
			code := h[strings.Index(h, `error="`)+7:]
			if i := strings.IndexByte(code, '"'); i >= 0 && i <= 64 {
				oe.Code = code[:i]
			}
		}
	}
	return errors.New("oidc: userinfo: " + e.Error() + " (status " + strconv.Itoa(resp.StatusCode) + ")")
}

// UserinfoCheck is what a userinfo answer must match.
type UserinfoCheck struct {
	// Subject is the ID token's sub.
	Subject string
	// Signed says the answer was a JWT; then iss and aud, when present, must be the
	// issuer (Tenants: tenant.go) and contain ClientID (OIDC Core 5.3.2).
	Signed           bool
	Issuer, ClientID string
	Tenants          []string
}

// CheckUserinfo applies OIDC Core 5.3.2 to a userinfo answer's claims: sub is the ID
// token's, exactly; and for a signed answer, iss and aud, when present, name the
// provider and this client.
func CheckUserinfo(c jose.Claims, x UserinfoCheck) error {
	sub, _, err := jose.StringClaim(c, "sub")
	if err != nil || sub == "" || sub != x.Subject {
		return ErrUserinfoSubject
	}
	if !x.Signed {
		return nil
	}
	iss, has, err := jose.StringClaim(c, "iss")
	if err != nil {
		return ErrWrongIssuer
	}
	if has {
		if err := checkIssuer(c, iss, x.Issuer, x.Tenants); err != nil {
			return err
		}
	}
	if raw, has := c["aud"]; has {
		aud, err := jose.ParseAudience(raw)
		if err != nil || !contains(aud, x.ClientID) {
			return ErrWrongAudience
		}
	}
	return nil
}

// userinfoProtocolClaims are members of a userinfo answer that describe a token or
// a protocol exchange rather than the user: never merged.
var userinfoProtocolClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "nonce", "azp", "at_hash", "c_hash",
	"auth_time", "acr", "amr", "sid", "tid", "typ", "events", "cnf", "scope", "client_id"}

// userinfoAddresses and userinfoVerified are claims that only mean something
// together: an address and the flag that says it was verified. A flag is only ever
// paired with the address it was sent with: the ID token's address keeps the ID
// token's flag (or, when it has none, userinfo's flag if userinfo names the very same
// address); without an address in the ID token both come from userinfo — never the ID
// token's email_verified for userinfo's email.
var (
	userinfoAddresses = []string{"email", "phone_number"}
	userinfoVerified  = []string{"email_verified", "phone_number_verified"}
)

// MergeUserinfo returns the ID token's claims with the userinfo answer's beneath
// them: a claim the ID token lacks (groups, roles, email, ...) is taken from
// userinfo; on a conflict the ID token wins, since it is signed for this client and
// checked against the login transaction. Protocol claims (iss, aud, exp, nonce, sid,
// tid, ...) are never taken from userinfo, and an address and its verification flag
// come from one source (userinfoAddresses). Neither argument is modified.
func MergeUserinfo(id, userinfo jose.Claims) jose.Claims {
	out := make(jose.Claims, len(id)+len(userinfo))
	for k, v := range id {
		out[k] = v
	}
	for k, v := range userinfo {
		if _, has := out[k]; has || contains(userinfoProtocolClaims, k) || contains(userinfoAddresses, k) || contains(userinfoVerified, k) {
			continue
		}
		out[k] = v
	}
	for i, address := range userinfoAddresses {
		flag := userinfoVerified[i]
		if _, has := id[address]; has {
			// The ID token's address: its own flag, else userinfo's when userinfo
			// speaks of the very same address.
			if _, hasFlag := id[flag]; !hasFlag && sameString(id[address], userinfo[address]) {
				if f, has := userinfo[flag]; has {
					out[flag] = f
				}
			}
			continue
		}
		delete(out, flag)
		if v, has := userinfo[address]; has {
			out[address] = v
			if f, has := userinfo[flag]; has {
				out[flag] = f
			}
		}
	}
	return out
}

// sameString reports whether two JSON values are the same non-empty string, compared
// exactly (an address differing only in case is another address here).
func sameString(a, b json.RawMessage) bool {
	x, ok1 := jsonString(a)
	y, ok2 := jsonString(b)
	return ok1 && ok2 && x != "" && x == y
}
