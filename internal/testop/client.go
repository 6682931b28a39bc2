package testop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// TokenResponse is a successful token endpoint answer (RFC 6749 section 5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// TokenError is an error answer of the token endpoint (RFC 6749 section 5.2).
type TokenError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("testop: token endpoint answered %d %s: %s", e.Status, e.Code, e.Description)
}

// ClientCredentials runs the client-credentials grant (RFC 6749 section 4.4) against
// the provider's own token endpoint over HTTP, authenticating with
// client_secret_basic. audience ("" for the client's default) is sent as the audience
// parameter, scope ("" for the client's default) as scope. It counts as a
// "token:client_credentials" request. An error answer comes back as *TokenError.
func (p *Provider) ClientCredentials(ctx context.Context, clientID, secret, audience, scope string) (*TokenResponse, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if audience != "" {
		form.Set("audience", audience)
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Endpoints().Token, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("testop: token request: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("testop: token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Status: resp.StatusCode}
		_ = json.Unmarshal(body, te)
		return nil, te
	}
	var tr TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("testop: token response is not JSON: %w", err)
	}
	return &tr, nil
}
