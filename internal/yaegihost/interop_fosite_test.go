package yaegihost

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/storage"
	"github.com/ory/fosite/token/jwt"
	"golang.org/x/crypto/bcrypt"
)

// The fosite adapter: ory/fosite (the OAuth 2.0 and OpenID Connect protocol library
// under Ory Hydra) composed with its handlers for the code flow, PKCE, refresh,
// client credentials, OpenID Connect, introspection and revocation, over its
// in-memory example store (storage.NewExampleStore: the user "peter"). fosite is a
// library without an HTTP server, login UI or discovery: fositeOP is the small server
// an application writes around it — each endpoint hands the request to fosite and
// writes fosite's answer; what is ours is the routing, the login form, the claims
// of the signed-in user, the key set and the discovery document.

const (
	fositeUsername = "peter" // storage.NewExampleStore's user
	fositePassword = "secret"
	fositeEmail    = "peter@fosite.example"
)

type fositeOP struct {
	*opTraffic
	oauth2 fosite.OAuth2Provider
	store  *fositeStore
	keys   atomic.Pointer[fositeKeys]
}

// fositeKeys is the signing key and the published key set (it and its predecessor).
type fositeKeys struct {
	signing   *jose.JSONWebKey
	published jose.JSONWebKeySet
}

// fositeStore is the example store with clients registered at run time (the
// example's map is guarded by an unexported lock).
type fositeStore struct {
	*storage.MemoryStore
	mu      sync.Mutex
	clients map[string]fosite.Client
}

func (s *fositeStore) GetClient(_ context.Context, id string) (fosite.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, fosite.ErrNotFound
	}
	return c, nil
}

func startFositeOP(t testing.TB) interopOP {
	f := &fositeOP{opTraffic: newOPTraffic()}
	issuer, setHandler := f.serve(t)
	f.store = &fositeStore{MemoryStore: storage.NewExampleStore(), clients: map[string]fosite.Client{}}
	f.rotateKeys(t)
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	config := &fosite.Config{
		IDTokenIssuer:                  issuer,
		AccessTokenIssuer:              issuer,
		TokenURL:                       issuer + "/oauth2/token",
		GlobalSecret:                   secret,
		AccessTokenLifespan:            5 * time.Minute,
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		SendDebugMessagesToClients:     true,
	}
	keyGetter := func(context.Context) (interface{}, error) { return f.keys.Load().signing, nil }
	f.oauth2 = compose.Compose(config, f.store, &compose.CommonStrategy{
		CoreStrategy:               compose.NewOAuth2HMACStrategy(config),
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(keyGetter, config),
		Signer:                     &jwt.DefaultSigner{GetPrivateKey: keyGetter},
	},
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.discoveryDocument)
	mux.HandleFunc("GET /.well-known/jwks.json", f.jwks)
	mux.HandleFunc("/oauth2/auth", f.authorize)
	mux.HandleFunc("POST /oauth2/token", f.token)
	mux.HandleFunc("POST /oauth2/introspect", f.introspect)
	mux.HandleFunc("POST /oauth2/revoke", f.revoke)
	mux.HandleFunc("/userinfo", f.userinfo)
	setHandler(mux)
	f.learn(t)
	return f
}

func (f *fositeOP) label() string { return "ory/fosite (composed, example store)" }

func (f *fositeOP) caps() opCaps {
	return opCaps{
		user:   fositeEmail,
		scopes: "openid,profile,email,offline_access", // fosite issues refresh tokens for offline or offline_access
		noEndSession: "fosite implements no RP-initiated logout endpoint (Ory Hydra adds one on top of it): " +
			"Gatehouse ends the session, revokes the refresh token and shows its own signed-out page",
		noBackchannel: "fosite sends no logout tokens (Ory Hydra does, on top of it)",
	}
}

func (f *fositeOP) addClient(t testing.TB, c *fosite.DefaultClient) opClient {
	secret := "secret-" + randomHex(t)
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	c.Secret = hash
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	f.store.clients[c.ID] = c
	return opClient{id: c.ID, secret: secret}
}

// registerWebClient registers a confidential client (fosite's default client
// authentication: client_secret_basic or client_secret_post, bcrypt-hashed secret).
// fosite puts whatever the application's session holds in the ID token, so
// claimsInIDToken makes no difference.
func (f *fositeOP) registerWebClient(t testing.TB, base string, _ bool) opClient {
	return f.addClient(t, &fosite.DefaultClient{
		ID:            nextClientID("gatehouse-"),
		RedirectURIs:  []string{base + "/oauth2/callback"},
		ResponseTypes: []string{"code"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		Scopes:        []string{"openid", "profile", "email", "offline_access", "offline"},
	})
}

func (f *fositeOP) registerAPI(t testing.TB) (opClient, opClient) {
	api := f.addClient(t, &fosite.DefaultClient{ID: nextClientID("api-"), GrantTypes: []string{"client_credentials"}})
	machine := f.addClient(t, &fosite.DefaultClient{
		ID: nextClientID("machine-"), GrantTypes: []string{"client_credentials"}, Audience: []string{api.id},
	})
	return api, machine
}

func (f *fositeOP) signIn(t testing.TB, b *browser, login page) page {
	t.Helper()
	return submitForm(t, b, login, map[string]string{"username": fositeUsername, "password": fositePassword})
}

// rotateKeys makes a new RSA key sign (fosite's signer reads it on every token);
// the previous one stays in the key set.
func (f *fositeOP) rotateKeys(t testing.TB) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k := &jose.JSONWebKey{Key: priv, KeyID: "fosite-" + strconv.FormatInt(time.Now().UnixNano(), 36), Algorithm: "RS256", Use: "sig"}
	next := &fositeKeys{signing: k, published: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.Public()}}}
	if old := f.keys.Load(); old != nil {
		next.published.Keys = append(next.published.Keys, old.signing.Public())
	}
	f.keys.Store(next)
}

// userSession is what the application knows of a signed-in user: fosite signs the
// ID token's claims from it, and keeps it with the tokens for refresh and
// introspection.
func (f *fositeOP) userSession(subject, username string) *openid.DefaultSession {
	now := time.Now().UTC()
	return &openid.DefaultSession{
		Claims: &jwt.IDTokenClaims{
			Subject: subject, Issuer: f.issuer(), AuthTime: now, RequestedAt: now,
			Extra: map[string]interface{}{"email": fositeEmail, "email_verified": true, "preferred_username": username},
		},
		Headers:  &jwt.Headers{},
		Subject:  subject,
		Username: username,
	}
}

func emptySession() *openid.DefaultSession {
	return &openid.DefaultSession{Claims: &jwt.IDTokenClaims{}, Headers: &jwt.Headers{}}
}

func (f *fositeOP) discoveryDocument(w http.ResponseWriter, _ *http.Request) {
	iss := f.issuer()
	writeJSON(w, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth2/auth",
		"token_endpoint":                        iss + "/oauth2/token",
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"userinfo_endpoint":                     iss + "/userinfo",
		"introspection_endpoint":                iss + "/oauth2/introspect",
		"revocation_endpoint":                   iss + "/oauth2/revoke",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access", "offline"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email", "email_verified", "preferred_username"},
	})
}

func (f *fositeOP) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, f.keys.Load().published)
}

var fositeLoginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body>
<form method="post" action="{{.Action}}">
<p>{{.Problem}}</p>
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></body></html>`))

// authorize validates the authorization request with fosite; a GET shows the login
// form, which posts the credentials back to the same URL; a valid POST grants the
// requested scopes and audience (consent is automatic) and lets fosite answer.
func (f *fositeOP) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := f.oauth2.NewAuthorizeRequest(ctx, r)
	if err != nil {
		f.oauth2.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	problem := ""
	if r.Method == http.MethodPost {
		user := r.PostForm.Get("username")
		subject, err := f.store.Authenticate(ctx, user, r.PostForm.Get("password"))
		if err == nil {
			for _, s := range ar.GetRequestedScopes() {
				ar.GrantScope(s)
			}
			for _, a := range ar.GetRequestedAudience() {
				ar.GrantAudience(a)
			}
			resp, err := f.oauth2.NewAuthorizeResponse(ctx, ar, f.userSession(subject, user))
			if err != nil {
				f.oauth2.WriteAuthorizeError(ctx, w, ar, err)
				return
			}
			f.oauth2.WriteAuthorizeResponse(ctx, w, ar, resp)
			return
		}
		problem = "Unknown user or wrong password."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = fositeLoginPage.Execute(w, map[string]string{"Action": r.URL.RequestURI(), "Problem": problem})
}

// token: fosite restores the session of a code or refresh token into the one given;
// a client-credentials token's session is the client's (granted what it asked for,
// within what fosite allowed it).
func (f *fositeOP) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	session := emptySession()
	ar, err := f.oauth2.NewAccessRequest(ctx, r, session)
	if err != nil {
		f.oauth2.WriteAccessError(ctx, w, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		session.Subject = ar.GetClient().GetID()
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
	}
	resp, err := f.oauth2.NewAccessResponse(ctx, ar)
	if err != nil {
		f.oauth2.WriteAccessError(ctx, w, ar, err)
		return
	}
	f.oauth2.WriteAccessResponse(ctx, w, ar, resp)
}

func (f *fositeOP) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ir, err := f.oauth2.NewIntrospectionRequest(ctx, r, emptySession())
	if err != nil {
		f.oauth2.WriteIntrospectionError(ctx, w, err)
		return
	}
	f.oauth2.WriteIntrospectionResponse(ctx, w, ir)
}

func (f *fositeOP) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f.oauth2.WriteRevocationResponse(ctx, w, f.oauth2.NewRevocationRequest(ctx, r))
}

// userinfo answers with the claims of the session behind an access token fosite
// accepts.
func (f *fositeOP) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	_, ar, err := f.oauth2.IntrospectToken(ctx, tok, fosite.AccessToken, emptySession())
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	claims := map[string]any{}
	if s, ok := ar.GetSession().(*openid.DefaultSession); ok && s.Claims != nil {
		for k, v := range s.Claims.Extra {
			claims[k] = v
		}
	}
	claims["sub"] = ar.GetSession().GetSubject()
	writeJSON(w, claims)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
