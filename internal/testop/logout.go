package testop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponse caps what the provider reads of a relying party's or its own answers.
const maxResponse = 64 << 10

// BackchannelLogout sends a logout token (OpenID Back-Channel Logout 1.0 section 2.5)
// for user (its subject as sub; "" omits sub) and sid ("" omits sid) to endpointURL,
// and returns the HTTP status the relying party answered. The token's aud is the
// client whose BackchannelLogoutURI is endpointURL, else DefaultClientID. The
// "all tokens" switches apply (see Misbehaviour); craft other broken tokens with
// LogoutToken and send them with SendLogoutToken.
func (p *Provider) BackchannelLogout(ctx context.Context, endpointURL, user, sid string) (int, error) {
	if user == "" && sid == "" {
		return 0, errors.New("testop: a logout token needs a user (sub) or a sid")
	}
	p.mu.Lock()
	var c *Client
	for _, cl := range p.clients {
		if cl.BackchannelLogoutURI != "" && cl.BackchannelLogoutURI == endpointURL {
			c = cl
		}
	}
	if c == nil {
		c = p.defaultClientLocked()
	}
	var sub string
	var err error
	if user != "" {
		if u := p.users[user]; u != nil {
			sub = u.Subject
		} else {
			err = fmt.Errorf("testop: no user %q", user)
		}
	}
	lt := p.lifetimes.LogoutToken
	p.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if c == nil {
		return 0, errors.New("testop: no client to address the logout token to")
	}
	tok, err := p.mintLogout(c.ID, sub, sid, lt)
	if err != nil {
		return 0, err
	}
	return p.SendLogoutToken(ctx, endpointURL, tok)
}

func (p *Provider) mintLogout(aud, sub, sid string, ttl time.Duration) (string, error) {
	claims := p.logoutClaims(aud, sub, sid, time.Time{}, ttl)
	tok, _, err := p.mint(kindLogout, map[string]any{"typ": "logout+jwt"}, claims, aud, p.mis())
	return tok, err
}

// SendLogoutToken POSTs logout_token=token, form-encoded, to endpointURL and returns
// the status. It is counted and recorded as "backchannel".
func (p *Provider) SendLogoutToken(ctx context.Context, endpointURL, token string) (int, error) {
	form := url.Values{"logout_token": {token}}
	p.mu.Lock()
	p.countLocked(EPBackchannel)
	p.recordLocked(RecordedRequest{Endpoint: EPBackchannel, Method: http.MethodPost,
		Form: url.Values{"logout_token": {token}, "endpoint": {endpointURL}}, Header: http.Header{}, At: p.now()})
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpointURL, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, fmt.Errorf("testop: back-channel logout request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.outClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("testop: back-channel logout to %s: %w", endpointURL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// notifyBackchannel sends a logout token for each ended session to each of its
// clients that registered a back-channel URI. Failures are only counted: the OP
// cannot do more (Back-Channel Logout 1.0 section 2.8).
func (p *Provider) notifyBackchannel(ctx context.Context, ended []*opSession) {
	type target struct{ uri, aud, sub, sid string }
	var targets []target
	p.mu.Lock()
	for _, s := range ended {
		sub := ""
		if u := p.users[s.username]; u != nil {
			sub = u.Subject
		}
		for _, id := range sortedKeys(s.clients) {
			if c := p.clients[id]; c != nil && c.BackchannelLogoutURI != "" {
				targets = append(targets, target{c.BackchannelLogoutURI, c.ID, sub, s.sid})
			}
		}
	}
	lt := p.lifetimes.LogoutToken
	p.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	// The provider's own lifetime bounds the sends too, so Close never waits long.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.bgCtx, cancel)
	defer stop()
	for _, t := range targets {
		tok, err := p.mintLogout(t.aud, t.sub, t.sid, lt)
		if err != nil {
			continue
		}
		_, _ = p.SendLogoutToken(ctx, t.uri, tok)
	}
}

// FrontchannelLogoutURL returns rpURL with the iss and sid query parameters of
// OpenID Front-Channel Logout 1.0 section 2 added (keeping rpURL's own query). With
// Options.MultiTenant, iss is the issuer of the tenant of sid's user.
func (p *Provider) FrontchannelLogoutURL(rpURL, sid string) string {
	p.mu.Lock()
	iss := p.issuer
	for _, s := range p.sessions {
		if s.sid == sid && sid != "" {
			iss = p.issuerOf(p.users[s.username])
		}
	}
	p.mu.Unlock()
	return frontchannelURL(rpURL, iss, sid)
}

// frontchannelURL is FrontchannelLogoutURL with the issuer given.
func frontchannelURL(rpURL, iss, sid string) string {
	u, err := url.Parse(rpURL)
	if err != nil {
		return rpURL
	}
	q := u.Query()
	q.Set("iss", iss)
	if sid != "" {
		q.Set("sid", sid)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
