package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/jose"
)

// Client speaks to the provider's token, revocation, introspection and userinfo
// endpoints as one registered client.
type Client struct {
	ClientID     string
	ClientSecret string
	// AuthMethod is client_secret_basic, client_secret_post, client_secret_jwt,
	// private_key_jwt, none, or auto (AuthMethodFor, clientauth.go).
	AuthMethod string
	// Key signs private_key_jwt assertions; nil without one.
	Key *AssertionKey
	// AssertionAudience is AssertionAudienceEndpoint ("" too) or
	// AssertionAudienceIssuer; Issuer is the aud of the latter.
	AssertionAudience string
	Issuer            string
	HTTP              *http.Client
	// Now is the clock of assertions' iat and exp; time.Now when nil.
	Now func() time.Time
}

// TokenResponse is a successful token-endpoint answer (RFC 6749 section 5.1, OIDC
// Core 3.1.3.3).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	// ExpiresIn accepts a number or a numeric string (some providers send "3599").
	ExpiresIn json.RawMessage `json:"expires_in"`
}

// Lifetime returns expires_in as a duration, or 0 when absent or malformed.
func (t *TokenResponse) Lifetime() time.Duration {
	s := strings.Trim(string(t.ExpiresIn), `"`)
	if s == "" || s == "null" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 10*365*24*3600 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// OAuthError is an error answer from the provider (RFC 6749 section 5.2). Code is
// the error code, such as invalid_grant; the description never contains tokens.
type OAuthError struct {
	Status      int
	Code        string
	Description string
}

func (e *OAuthError) Error() string {
	s := "oidc: provider answered " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// IsInvalidGrant reports whether err says the grant (code or refresh token) is not
// valid any more: the session must end rather than be retried.
func IsInvalidGrant(err error) bool {
	if err == nil || err == context.DeadlineExceeded || err == context.Canceled {
		// Under Yaegi, asserting context.DeadlineExceeded to an interpreted type
		// panics (see redis.asReply).
		return false
	}
	oe, ok := err.(*OAuthError)
	return ok && (oe.Code == "invalid_grant" || oe.Code == "invalid_token")
}

// Exchange redeems an authorization code (RFC 6749 section 4.1.3) with the PKCE
// verifier (RFC 7636 section 4.5) when one was sent.
func (c *Client) Exchange(ctx context.Context, token Endpoint, code, redirectURI, verifier string) (*TokenResponse, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return c.token(ctx, token, form)
}

// Refresh uses a refresh token (RFC 6749 section 6).
func (c *Client) Refresh(ctx context.Context, token Endpoint, refreshToken string) (*TokenResponse, error) {
	return c.token(ctx, token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (c *Client) token(ctx context.Context, token Endpoint, form url.Values) (*TokenResponse, error) {
	b, status, err := c.post(ctx, token, form)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, oauthError(status, b)
	}
	t := &TokenResponse{}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, errors.New("oidc: token response is not valid JSON")
	}
	if t.AccessToken == "" {
		return nil, errors.New("oidc: token response has no access_token")
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") && !strings.EqualFold(t.TokenType, "dpop") {
		return nil, errors.New("oidc: token response: expected token_type Bearer, got " + strconv.Quote(t.TokenType))
	}
	return t, nil
}

// Revoke asks the provider to revoke token (RFC 7009 section 2.1). The provider
// answers 200 even for unknown tokens; any other answer is an error.
func (c *Client) Revoke(ctx context.Context, revocation Endpoint, token, hint string) error {
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	b, status, err := c.post(ctx, revocation, form)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return oauthError(status, b)
	}
	return nil
}

// Introspection is an RFC 7662 section 2.2 answer. Raw holds every member for the
// caller's own checks (exp, aud, iss, scope, sub, client_id, token_type).
type Introspection struct {
	Active bool
	Raw    map[string]json.RawMessage
}

// MaxIntrospectionBytes caps an introspection answer: it describes one token, and a
// larger answer is refused rather than parsed.
const MaxIntrospectionBytes = 64 << 10

// Introspect asks the provider about token (RFC 7662 section 2.1), with the client's
// authentication. The answer is read up to MaxIntrospectionBytes and decoded with
// the strict JSON reader (a member named twice, e.g. "active", refuses the answer).
// ctx's deadline bounds the whole exchange. Any answer but 200 with a JSON object
// holding a boolean active is an error: the caller cannot tell whether the token is
// good, which is not the same as a token that is not.
func (c *Client) Introspect(ctx context.Context, introspection Endpoint, token string) (*Introspection, error) {
	b, status, err := c.postCapped(ctx, introspection, url.Values{"token": {token}, "token_type_hint": {"access_token"}}, MaxIntrospectionBytes)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, oauthError(status, b)
	}
	raw, err := jose.DecodeClaims(b)
	if err != nil {
		return nil, errors.New("oidc: introspection response is not a strict JSON object: " + err.Error())
	}
	var active bool
	if v, ok := raw["active"]; !ok || json.Unmarshal(v, &active) != nil {
		return nil, errors.New("oidc: introspection response has no boolean active member")
	}
	return &Introspection{Active: active, Raw: raw}, nil
}

// post sends a client-authenticated form request and returns the capped body.
func (c *Client) post(ctx context.Context, endpoint Endpoint, form url.Values) ([]byte, int, error) {
	return c.postCapped(ctx, endpoint, form, MaxResponseBytes)
}

// postCapped is post with a body cap of limit bytes. The client authenticates as
// AuthMethodFor says for endpoint.
func (c *Client) postCapped(ctx context.Context, endpoint Endpoint, form url.Values, limit int64) ([]byte, int, error) {
	basic, err := c.authenticate(form, endpoint)
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, err
	}
	if basic != "" {
		req.Header.Set("Authorization", basic)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, 0, errors.New("oidc: " + scrubURLError(err.Error()))
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := readCapped(resp.Body, limit)
	if err != nil {
		return nil, resp.StatusCode, err
	}
	return b, resp.StatusCode, nil
}

// scrubURLError keeps transport errors free of query strings (which could carry
// tokens in misconfigured endpoints).
func scrubURLError(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		if j := strings.IndexByte(s[i:], '"'); j >= 0 {
			return s[:i] + s[i+j:]
		}
		return s[:i]
	}
	return s
}

func oauthError(status int, body []byte) error {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	desc := e.Description
	if len(desc) > 200 {
		desc = desc[:200]
	}
	return &OAuthError{Status: status, Code: e.Error, Description: desc}
}
