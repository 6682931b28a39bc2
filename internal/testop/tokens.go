package testop

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// tokenKind says which switches apply to a minted token.
type tokenKind int

const (
	kindID tokenKind = iota
	kindAccess
	kindLogout
	kindUserinfo // a signed userinfo answer: no switch applies
)

// otherAudience is the extra audience MultipleAudiences adds.
const otherAudience = "other-audience"

// mint applies the switches m to claims and header, picks the key and signs. It
// returns the token and the claims as signed. clientID is the token's client (for
// azp under MultipleAudiences).
func (p *Provider) mint(kind tokenKind, header, claims map[string]any, clientID string, m Misbehaviour) (string, map[string]any, error) {
	if kind != kindID {
		m &= allTokenFlags
	}
	now := p.now()
	if m.Has(MultipleAudiences) || m.Has(MultipleAudiencesNoAzp) {
		claims["aud"] = append(audList(claims["aud"]), otherAudience)
		if m.Has(MultipleAudiencesNoAzp) {
			delete(claims, "azp")
		} else {
			claims["azp"] = clientID
		}
	}
	if m.Has(WrongIssuer) {
		claims["iss"] = p.issuer + "/wrong"
	}
	if tid, ok := claims["tid"].(string); ok && m.Has(TenantIssuerMismatch) {
		other := SecondTenantID
		if tid == SecondTenantID {
			other = DefaultTenantID
		}
		claims["iss"] = p.TenantIssuer(other)
	}
	if m.Has(WrongAudience) {
		claims["aud"] = "wrong-audience"
	}
	if m.Has(MissingAudience) {
		delete(claims, "aud")
	}
	if m.Has(ExpiredToken) {
		claims["iat"] = now.Add(-10 * time.Minute).Unix()
		claims["exp"] = now.Add(-5 * time.Minute).Unix()
	}
	if m.Has(IssuedInFuture) {
		claims["iat"] = now.Add(time.Hour).Unix()
		claims["nbf"] = now.Add(time.Hour).Unix()
		claims["exp"] = now.Add(2 * time.Hour).Unix()
	}
	if m.Has(MissingIssuedAt) {
		delete(claims, "iat")
	}
	if m.Has(MissingSubject) {
		delete(claims, "sub")
	}
	if kind == kindID {
		if m.Has(WrongNonce) {
			claims["nonce"] = "wrong-" + randomToken(12)
		}
		if m.Has(MissingNonce) {
			delete(claims, "nonce")
		}
		if m.Has(BadAtHash) {
			claims["at_hash"] = halfHash("RS256", "not-the-access-token")
		}
		if m.Has(NoAtHash) {
			delete(claims, "at_hash")
		}
	}

	alg, _ := header["alg"].(string)
	if alg == "" {
		alg = p.SigningAlg()
		header["alg"] = alg
	}
	var key *signingKey
	if m.Has(UnpublishedKey) {
		k, err := p.nextKey(familyOf(alg))
		if err != nil {
			return "", nil, err
		}
		key = k
	} else {
		p.mu.Lock()
		key = p.keys.current[familyOf(alg)]
		p.mu.Unlock()
	}
	if key == nil {
		return "", nil, fmt.Errorf("testop: no key for alg %q", alg)
	}
	if _, set := header["kid"]; !set {
		header["kid"] = key.kid
	}
	var signer any = key.priv
	if m.Has(KidAbsentSingleKey) || m.Has(KidAbsentMultipleKeys) {
		delete(header, "kid")
	}
	if m.Has(AlgNone) {
		header["alg"] = "none"
		delete(header, "kid")
		signer = nil
	}
	removeNil(header)
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", nil, fmt.Errorf("testop: claims do not marshal: %w", err)
	}
	tok, err := signCompact(header, payload, signer)
	if err != nil {
		return "", nil, err
	}
	if m.Has(BadSignature) && !m.Has(AlgNone) {
		tok = corruptSignature(tok)
	}
	return tok, claims, nil
}

// corruptSignature flips one bit in the middle of the signature, keeping its length
// and encoding valid so only the cryptographic check can notice.
func corruptSignature(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	_, _, sig, _, err := splitCompact(tok)
	if err != nil || len(sig) == 0 {
		return tok
	}
	sig[len(sig)/2] ^= 0x01
	return tok[:i+1] + b64(sig)
}

func removeNil(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
}

// audList returns aud as a list whatever its JSON shape.
func audList(aud any) []string {
	switch a := aud.(type) {
	case string:
		return []string{a}
	case []string:
		return append([]string(nil), a...)
	case []any:
		var out []string
		for _, v := range a {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// audValue is aud as OIDC prefers it: a string for one audience, else an array.
func audValue(aud []string) any {
	if len(aud) == 1 {
		return aud[0]
	}
	return append([]string(nil), aud...)
}

// nextKey returns the not-yet-published key of family, generating it on first use.
func (p *Provider) nextKey(family string) (*signingKey, error) {
	if family == "" {
		return nil, errors.New("testop: no key family for this alg")
	}
	p.mu.Lock()
	k := p.keys.next[family]
	p.mu.Unlock()
	if k != nil {
		return k, nil
	}
	k, err := generateKey(family)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev := p.keys.next[family]; prev != nil {
		return prev, nil
	}
	p.keys.next[family] = k
	return k, nil
}

// SigningAlg is the alg tokens are minted with.
func (p *Provider) SigningAlg() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signingAlg
}

// SigningKeyID is the kid of the key signing tokens now.
func (p *Provider) SigningKeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys.current[familyOf(p.signingAlg)].kid
}

// KeyIDs lists the kids the JWKS publishes now (current keys first), ignoring the
// KidAbsentSingleKey switch.
func (p *Provider) KeyIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, k := range p.keys.published(p.now(), p.opts.RetiredKeyTTL) {
		out = append(out, k.kid)
	}
	return out
}

// UnpublishedKeyID is the kid UnpublishedKey signs with for the current alg, which
// RotateKeys will publish next.
func (p *Provider) UnpublishedKeyID() (string, error) {
	k, err := p.nextKey(familyOf(p.SigningAlg()))
	if err != nil {
		return "", err
	}
	return k.kid, nil
}

// RotateKeys replaces the current key of every family with a new one (the key
// UnpublishedKey has been signing with, when there is one) and keeps the replaced
// keys in the JWKS as retired (see Options.RetiredKeyTTL and DropRetiredKeys).
func (p *Provider) RotateKeys() error {
	p.mu.Lock()
	var missing []string
	for _, f := range keyFamilies {
		if p.keys.next[f] == nil {
			missing = append(missing, f)
		}
	}
	p.mu.Unlock()
	fresh, err := generateKeys(missing)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range fresh {
		if p.keys.next[k.alg] == nil {
			p.keys.next[k.alg] = k
		}
	}
	now := p.now()
	var retired []*signingKey
	for _, f := range keyFamilies {
		old := p.keys.current[f]
		old.retiredAt = now
		retired = append(retired, old)
		p.keys.current[f] = p.keys.next[f]
		delete(p.keys.next, f)
	}
	p.keys.retired = append(retired, p.keys.retired...)
	return nil
}

// DropRetiredKeys removes every retired key from the JWKS: tokens signed before the
// last RotateKeys no longer verify.
func (p *Provider) DropRetiredKeys() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys.retired = nil
}

// PublicKeyPEM is the PKIX PEM public key of kid ("" for the current signing key),
// or nil; tests use it for the HS256-with-the-public-key confusion attack.
func (p *Provider) PublicKeyPEM(kid string) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var k *signingKey
	if kid == "" {
		k = p.keys.current[familyOf(p.signingAlg)]
	} else {
		k = p.keys.find(kid)
	}
	if k == nil {
		return nil
	}
	return publicKeyPEM(k.priv.Public())
}

// Sign builds a JWT from header and claims exactly as given, ignoring every switch.
// In header: a missing "alg" becomes the current signing alg; a missing "kid" becomes
// the signing key's kid; a nil value removes the member (so {"kid": nil} signs
// without kid). The key is the one "kid" names when it is ours and fits alg, else the
// current key of the alg's family. "alg" may be RS/PS 256/384/512, ES256, EdDSA,
// "none" in any casing (empty signature), or HS256/384/512 (keyed with the default
// client's secret; see SignHMAC for another key). Claims are marshalled as given
// (a nil value stays null). Sign panics on an alg it cannot produce or claims that do
// not marshal: both are mistakes in the test.
func (p *Provider) Sign(header, claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic("testop: Sign: claims do not marshal: " + err.Error())
	}
	return p.SignPayload(header, payload)
}

// SignPayload is Sign with the payload bytes given verbatim (for duplicate or
// case-variant claim names, or non-JSON payloads).
func (p *Provider) SignPayload(header map[string]any, payload []byte) string {
	h := copyMap(header)
	if h == nil {
		h = map[string]any{}
	}
	alg, _ := h["alg"].(string)
	if _, set := h["alg"]; !set {
		alg = p.SigningAlg()
		h["alg"] = alg
	}
	if alg == "" {
		alg = p.SigningAlg()
	}
	var key any
	switch {
	case strings.EqualFold(alg, "none"):
	case strings.HasPrefix(alg, "HS"):
		p.mu.Lock()
		if c := p.defaultClientLocked(); c != nil {
			key = []byte(c.Secret)
		}
		p.mu.Unlock()
		if key == nil {
			panic("testop: Sign: HS* needs a default client secret; use SignHMAC")
		}
	default:
		fam := familyOf(alg)
		if fam == "" {
			panic(fmt.Sprintf("testop: Sign: cannot sign alg %q", alg))
		}
		p.mu.Lock()
		var k *signingKey
		if kid, ok := h["kid"].(string); ok {
			if found := p.keys.find(kid); found != nil && found.alg == fam {
				k = found
			}
		}
		if k == nil {
			k = p.keys.current[fam]
		}
		p.mu.Unlock()
		if _, set := h["kid"]; !set {
			h["kid"] = k.kid
		}
		key = k.priv
	}
	removeNil(h)
	tok, err := signCompact(h, payload, key)
	if err != nil {
		panic("testop: Sign: " + err.Error())
	}
	return tok
}

// SignHMAC signs claims with HMAC under key. header's "alg" defaults to HS256 and
// must be HS256, HS384 or HS512; a nil member is removed.
func (p *Provider) SignHMAC(header, claims map[string]any, key []byte) string {
	h := copyMap(header)
	if h == nil {
		h = map[string]any{}
	}
	if _, set := h["alg"]; !set {
		h["alg"] = "HS256"
	}
	removeNil(h)
	payload, err := json.Marshal(claims)
	if err != nil {
		panic("testop: SignHMAC: claims do not marshal: " + err.Error())
	}
	tok, err := signCompact(h, payload, key)
	if err != nil {
		panic("testop: SignHMAC: " + err.Error())
	}
	return tok
}

// Verify checks token's signature against every key the provider holds (current,
// retired and not yet published) and returns its header and claims. It checks no
// claim. The end-session endpoint uses it for id_token_hint.
func (p *Provider) Verify(token string) (header, claims map[string]any, err error) {
	header, claims, err = ParseUnverified(token)
	if err != nil {
		return nil, nil, err
	}
	_, _, sig, input, _ := splitCompact(token)
	alg, _ := header["alg"].(string)
	fam := familyOf(alg)
	if fam == "" {
		return nil, nil, fmt.Errorf("testop: alg %q is not one this provider signs with", alg)
	}
	p.mu.Lock()
	var candidates []crypto.PublicKey
	if kid, ok := header["kid"].(string); ok {
		if k := p.keys.find(kid); k != nil && k.alg == fam {
			candidates = append(candidates, k.priv.Public())
		}
	} else {
		for _, k := range p.allKeysLocked() {
			if k.alg == fam {
				candidates = append(candidates, k.priv.Public())
			}
		}
	}
	p.mu.Unlock()
	for _, pub := range candidates {
		if verifySignature(alg, []byte(input), sig, pub) == nil {
			return header, claims, nil
		}
	}
	return nil, nil, errors.New("testop: signature does not verify with any provider key")
}

func (p *Provider) allKeysLocked() []*signingKey {
	var out []*signingKey
	for _, k := range p.keys.current {
		out = append(out, k)
	}
	out = append(out, p.keys.retired...)
	for _, k := range p.keys.next {
		out = append(out, k)
	}
	return out
}

// IDTokenOptions describe a minted ID token. Zero fields take the defaults noted.
type IDTokenOptions struct {
	User        string        // username; the auto-login user when empty
	ClientID    string        // aud; DefaultClientID (or the first code-flow client) when empty
	Nonce       string        // omitted when empty
	SessionID   string        // sid; omitted when empty
	AuthTime    time.Time     // auth_time; now when zero
	AccessToken string        // at_hash is computed over it when set
	Lifetime    time.Duration // Lifetimes.IDToken when zero
	// Claims are merged last (a nil value removes a claim); Header likewise.
	Claims map[string]any
	Header map[string]any
}

// IssueIDToken mints an ID token as the token endpoint would, with the active
// switches applied (use Sign for a token that ignores them).
func (p *Provider) IssueIDToken(o IDTokenOptions) (string, error) {
	p.mu.Lock()
	u, c, err := p.lookupLocked(o.User, o.ClientID, true)
	lt := p.lifetimes
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	if o.Lifetime > 0 {
		lt.IDToken = o.Lifetime
	}
	authTime := o.AuthTime
	if authTime.IsZero() {
		authTime = p.now()
	}
	claims := p.idTokenClaims(u, c, o.Nonce, o.SessionID, authTime, o.AccessToken, lt.IDToken)
	header := map[string]any{"typ": "JWT"}
	for k, v := range o.Header {
		header[k] = v
	}
	if alg, ok := header["alg"].(string); ok && o.AccessToken != "" {
		// at_hash uses the hash of the alg that actually signs (OIDC Core 3.1.3.6).
		claims["at_hash"] = halfHash(alg, o.AccessToken)
	}
	mergeClaims(claims, o.Claims)
	tok, _, err := p.mint(kindID, header, claims, c.ID, p.mis())
	return tok, err
}

// lookupLocked resolves a username and client id with the defaults of the Issue*
// helpers; user may be "" when allowNoUser.
func (p *Provider) lookupLocked(username, clientID string, wantUser bool) (*User, *Client, error) {
	var u *User
	if username == "" && wantUser {
		username = p.autoLoginUser
	}
	if username != "" {
		u = p.users[username]
		if u == nil {
			return nil, nil, fmt.Errorf("testop: no user %q", username)
		}
	}
	var c *Client
	if clientID == "" {
		if u == nil {
			c = p.clients[MachineClientID]
		} else {
			c = p.defaultClientLocked()
		}
		if c == nil {
			return nil, nil, errors.New("testop: no default client registered; name one")
		}
	} else if c = p.clients[clientID]; c == nil {
		return nil, nil, fmt.Errorf("testop: no client %q", clientID)
	}
	return u, c, nil
}

// idTokenClaims are the claims of an ID token for u at c (OIDC Core 2 and 3.1.3.6).
func (p *Provider) idTokenClaims(u *User, c *Client, nonce, sid string, authTime time.Time, accessToken string, ttl time.Duration) map[string]any {
	now := p.now()
	claims := p.tokenUserClaims(u)
	p.stampIssuer(claims, u)
	claims["aud"] = c.ID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(ttl).Unix()
	claims["auth_time"] = authTime.Unix()
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if sid != "" {
		claims["sid"] = sid
	}
	if accessToken != "" {
		claims["at_hash"] = halfHash(p.SigningAlg(), accessToken)
	}
	return claims
}

// AccessTokenOptions describe a minted access token. Zero fields take the defaults
// noted.
type AccessTokenOptions struct {
	// User makes a user's token (sub = the user's subject, with identity claims);
	// empty makes a client-credentials token (sub = the client id).
	User string
	// ClientID is client_id and azp; MachineClientID for a client-credentials token,
	// DefaultClientID for a user's, when empty.
	ClientID string
	// Audience is aud; the client's Audiences (or its id) when nil.
	Audience []string
	// Scope is the space-separated scope claim; the client's Scopes when empty.
	Scope string
	// Lifetime is Lifetimes.AccessToken when zero.
	Lifetime time.Duration
	// Opaque returns a random opaque token instead of a JWT (only introspection
	// knows its claims).
	Opaque bool
	// Claims are merged last (a nil value removes a claim); Header likewise.
	Claims map[string]any
	Header map[string]any
	// IntrospectionClaims are merged last into every active introspection answer
	// about the token (a nil value removes a member), after active and token_type:
	// the provider can report a foreign iss, an aud without the resource server, a
	// token_type "refresh_token", a past exp or fewer scopes for a token it still
	// considers active. They change neither the token nor its expiry.
	IntrospectionClaims map[string]any
}

// IssueAccessToken mints an access token as the token endpoint would (RFC 9068 shape,
// the active switches applied) and registers it, so introspection reports it active,
// userinfo accepts it and revocation can end it.
func (p *Provider) IssueAccessToken(o AccessTokenOptions) (string, error) {
	p.mu.Lock()
	u, c, err := p.lookupLocked(o.User, o.ClientID, false)
	lt := p.lifetimes
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	if o.Lifetime > 0 {
		lt.AccessToken = o.Lifetime
	}
	aud := o.Audience
	if aud == nil {
		aud = defaultAudience(c)
	}
	scope := o.Scope
	if scope == "" && u == nil {
		scope = strings.Join(c.Scopes, " ")
	}
	cc := *c
	cc.OpaqueAccessTokens = o.Opaque
	tok, err := p.issueAccess(&cc, u, aud, scope, "", "", lt.AccessToken, o.Claims, o.Header)
	if err != nil || o.IntrospectionClaims == nil {
		return tok, err
	}
	override := make(map[string]any, len(o.IntrospectionClaims))
	for k, v := range o.IntrospectionClaims {
		override[k] = v
	}
	p.mu.Lock()
	if g := p.access[tokenKey(tok)]; g != nil {
		g.introspection = override
	}
	p.mu.Unlock()
	return tok, nil
}

func defaultAudience(c *Client) []string {
	if len(c.Audiences) > 0 {
		return append([]string(nil), c.Audiences...)
	}
	return []string{c.ID}
}

// issueAccess mints (or makes an opaque) access token and stores its grant.
func (p *Provider) issueAccess(c *Client, u *User, aud []string, scope, family, sid string, ttl time.Duration, extra, extraHeader map[string]any) (string, error) {
	now := p.now()
	claims := map[string]any{}
	if u != nil {
		claims = p.tokenUserClaims(u)
		if sid != "" {
			claims["sid"] = sid
		}
	} else {
		claims["sub"] = c.ID
		if len(c.Roles) > 0 {
			claims["roles"] = append([]string(nil), c.Roles...)
		}
	}
	p.stampIssuer(claims, u)
	claims["aud"] = audValue(aud)
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(ttl).Unix()
	claims["jti"] = randomToken(16)
	claims["client_id"] = c.ID
	claims["azp"] = c.ID
	if scope != "" {
		claims["scope"] = scope
	}
	mergeClaims(claims, c.AccessTokenClaims)
	mergeClaims(claims, extra)

	var tok string
	if c.OpaqueAccessTokens {
		tok = "opq_" + randomToken(32)
	} else {
		header := map[string]any{"typ": "at+jwt"}
		switch c.AccessTokenType {
		case "":
		case "-":
			delete(header, "typ")
		default:
			header["typ"] = c.AccessTokenType
		}
		for k, v := range extraHeader {
			header[k] = v
		}
		var err error
		tok, claims, err = p.mint(kindAccess, header, claims, c.ID, p.mis())
		if err != nil {
			return "", err
		}
	}
	g := &accessGrant{clientID: c.ID, scope: scope, family: family, sid: sid, claims: claims,
		expires: expiryOf(claims, now.Add(ttl)), issuedAt: now}
	if u != nil {
		g.username = u.Username
	}
	p.mu.Lock()
	p.access[tokenKey(tok)] = g
	p.mu.Unlock()
	return tok, nil
}

// expiryOf reads exp from claims (the switches or the caller's Claims may have moved
// it), else def.
func expiryOf(claims map[string]any, def time.Time) time.Time {
	switch exp := claims["exp"].(type) {
	case int64:
		return time.Unix(exp, 0)
	case int:
		return time.Unix(int64(exp), 0)
	case float64:
		return time.Unix(int64(exp), 0)
	case json.Number:
		if n, err := exp.Int64(); err == nil {
			return time.Unix(n, 0)
		}
	}
	return def
}

// LogoutTokenOptions describe a crafted logout token (OpenID Back-Channel Logout 1.0
// section 2.4). The zero value except User or SessionID is a valid token for the
// default client; every other field breaks or varies it for negative tests.
type LogoutTokenOptions struct {
	User      string // sub = this user's subject; omitted when empty (and Subject empty)
	Subject   string // sub verbatim, overriding User
	SessionID string // sid; omitted when empty
	// ClientID is aud; DefaultClientID (or the first code-flow client) when empty.
	ClientID string
	// Audience, when non-nil, replaces aud verbatim (string, []string, ...).
	Audience any
	// Issuer replaces iss when set.
	Issuer string
	// IssuedAt is iat (now when zero); Lifetime gives exp (Lifetimes.LogoutToken when
	// zero; negative makes an expired token).
	IssuedAt time.Time
	Lifetime time.Duration
	// JTI is jti; random when empty (reuse one to test replay detection).
	JTI string
	// Nonce, when set, adds the nonce claim a logout token must not have.
	Nonce string
	// Events, when non-nil, replaces the events claim verbatim; OmitEvents drops it.
	Events     any
	OmitEvents bool
	// Alg is the signing alg: the current one when empty; "none"; HS256/384/512 are
	// keyed with the audience client's secret; RS384 etc. use the RSA keys (a wrong
	// alg for the published JWK).
	Alg string
	// Type is the typ header: "logout+jwt" when empty, "-" omits it.
	Type string
	// Claims are merged last (a nil value removes a claim); Header likewise.
	Claims map[string]any
	Header map[string]any
}

// BackchannelLogoutEvent is the member of the events claim that marks a logout token.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutToken crafts a logout token exactly as o says, ignoring the switches.
func (p *Provider) LogoutToken(o LogoutTokenOptions) (string, error) {
	p.mu.Lock()
	var c *Client
	var err error
	if o.ClientID == "" {
		c = p.defaultClientLocked()
	} else {
		_, c, err = p.lookupLocked("", o.ClientID, false)
	}
	var sub string
	if o.User != "" {
		u := p.users[o.User]
		if u == nil {
			err = fmt.Errorf("testop: no user %q", o.User)
		} else {
			sub = u.Subject
		}
	}
	lt := p.lifetimes.LogoutToken
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	if c == nil {
		return "", errors.New("testop: no client for the logout token's audience")
	}
	if o.Subject != "" {
		sub = o.Subject
	}
	if o.Lifetime != 0 {
		lt = o.Lifetime
	}
	claims := p.logoutClaims(c.ID, sub, o.SessionID, o.IssuedAt, lt)
	if o.Audience != nil {
		claims["aud"] = o.Audience
	}
	if o.Issuer != "" {
		claims["iss"] = o.Issuer
	}
	if o.JTI != "" {
		claims["jti"] = o.JTI
	}
	if o.Nonce != "" {
		claims["nonce"] = o.Nonce
	}
	if o.Events != nil {
		claims["events"] = o.Events
	}
	if o.OmitEvents {
		delete(claims, "events")
	}
	mergeClaims(claims, o.Claims)
	header := map[string]any{"typ": "logout+jwt"}
	switch o.Type {
	case "":
	case "-":
		header["typ"] = nil
	default:
		header["typ"] = o.Type
	}
	if o.Alg != "" {
		header["alg"] = o.Alg
	}
	for k, v := range o.Header {
		header[k] = v
	}
	if strings.HasPrefix(o.Alg, "HS") {
		if c.Secret == "" {
			return "", fmt.Errorf("testop: client %q has no secret to key %s", c.ID, o.Alg)
		}
		return p.SignHMAC(header, claims, []byte(c.Secret)), nil
	}
	if fam := familyOf(o.Alg); o.Alg != "" && fam == "" && !strings.EqualFold(o.Alg, "none") {
		return "", fmt.Errorf("testop: cannot sign a logout token with alg %q", o.Alg)
	}
	return p.Sign(header, claims), nil
}

// logoutClaims are a valid logout token's claims (Back-Channel Logout 1.0 section 2.4).
func (p *Provider) logoutClaims(aud, sub, sid string, iat time.Time, ttl time.Duration) map[string]any {
	if iat.IsZero() {
		iat = p.now()
	}
	claims := map[string]any{
		"aud":    aud,
		"iat":    iat.Unix(),
		"exp":    iat.Add(ttl).Unix(),
		"jti":    randomToken(16),
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		claims["sub"] = sub
	}
	if sid != "" {
		claims["sid"] = sid
	}
	p.stampIssuer(claims, p.userBySubject(sub))
	return claims
}

// userBySubject returns the user whose sub is sub, or nil.
func (p *Provider) userBySubject(sub string) *User {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.users {
		if u.Subject == sub {
			return u
		}
	}
	return nil
}

// tokenUserClaims are u's claims as ID and access tokens carry them: userClaims
// without Options.UserinfoOnlyClaims.
func (p *Provider) tokenUserClaims(u *User) map[string]any {
	claims := userClaims(u)
	p.mu.Lock()
	for _, name := range p.userinfoOnly {
		delete(claims, name)
	}
	p.mu.Unlock()
	return claims
}
