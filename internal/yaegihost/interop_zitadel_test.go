package yaegihost

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The zitadel/oidc adapter: the library's example OpenID Provider
// (exampleop.SetupServer: the op package's endpoints, the example login form) over
// its example in-memory storage. The storage is the application's part of an op
// Provider; zitadelStorage keeps the example's users, login, authorization requests,
// codes, tokens, refresh-token rotation, revocation and end-session, and adds what a
// test needs that the example hard-codes: clients registered at run time (Gatehouse's
// redirect URI has a fresh port each time), rotatable signing keys, and access tokens
// of the client-credentials grant addressed to an API (the example only issues them
// to its own service user, for its own client id).

const (
	zitadelUsername = "test-user@127.0.0.1" // storage.NewUserStore's user "id1" for an issuer on 127.0.0.1
	zitadelPassword = "verysecure"
	zitadelEmail    = "test-user@zitadel.ch"
	zitadelSubject  = "id1"
)

type zitadelOP struct {
	*opTraffic
	store *zitadelStorage
}

func startZitadelOP(t testing.TB) interopOP {
	// The example server logs every request at info through slog's default logger.
	slog.SetLogLoggerLevel(slog.LevelWarn)
	z := &zitadelOP{opTraffic: newOPTraffic()}
	issuer, setHandler := z.serve(t)
	z.store = &zitadelStorage{
		Storage: storage.NewStorageWithClients(storage.NewUserStore(issuer), map[string]*storage.Client{}),
		clients: map[string]*zitadelClient{},
		machine: map[string]*zitadelMachineToken{},
	}
	z.store.rotate()
	setHandler(exampleop.SetupServer(issuer, z.store, nil, false))
	z.learn(t)
	return z
}

func (z *zitadelOP) label() string { return "zitadel/oidc v3 op (example server and storage)" }

func (z *zitadelOP) caps() opCaps {
	return opCaps{
		user:   zitadelEmail,
		scopes: "openid,profile,email,offline_access", // no refresh token without offline_access
		noBackchannel: "zitadel/oidc's op package does not send logout tokens: its configuration only sets " +
			"backchannel_logout_supported in discovery, for an application that sends them itself (the Zitadel server does)",
		userinfoOnlyClaims: true,
		subject:            zitadelSubject,
		name:               "Test User", // storage.NewUserStore's FirstName and LastName
	}
}

func (z *zitadelOP) registerWebClient(t testing.TB, base string, claimsInIDToken bool) opClient {
	c := opClient{id: nextClientID("gatehouse-"), secret: "secret-" + randomHex(t)}
	z.store.add(&zitadelClient{
		Client:          storage.WebClient(c.id, c.secret, base+"/oauth2/callback"),
		secret:          c.secret,
		postLogout:      []string{base + "/signed-out"},
		claimsInIDToken: claimsInIDToken,
	})
	return c
}

func (z *zitadelOP) registerAPI(t testing.TB) (opClient, opClient) {
	api := opClient{id: nextClientID("api-"), secret: "secret-" + randomHex(t)}
	machine := opClient{id: nextClientID("machine-"), secret: "secret-" + randomHex(t)}
	// The API is a client of its own, for its introspection requests.
	z.store.add(&zitadelClient{Client: storage.WebClient(api.id, api.secret), secret: api.secret})
	z.store.add(&zitadelClient{
		Client: storage.WebClient(machine.id, machine.secret), secret: machine.secret,
		machineFor: api.id,
	})
	return api, machine
}

// signIn fills the example login form (username and password; the form carries the
// authorization request's id).
func (z *zitadelOP) signIn(t testing.TB, b *browser, login page) page {
	t.Helper()
	return submitForm(t, b, login, map[string]string{"username": zitadelUsername, "password": zitadelPassword})
}

func (z *zitadelOP) rotateKeys(t testing.TB) { z.store.rotate() }

// zitadelStorage is the example storage with run-time clients, rotatable keys and
// client-credentials tokens for APIs.
type zitadelStorage struct {
	*storage.Storage
	mu      sync.Mutex
	clients map[string]*zitadelClient
	keys    []*zitadelKey                   // keys[0] signs; all are published
	machine map[string]*zitadelMachineToken // client-credentials access tokens by id (their jti)
}

// zitadelClient is an example web client (confidential, client_secret_basic, code
// and refresh grants, dev mode for http redirect URIs on loopback) with the settings
// the example fixes made variable.
type zitadelClient struct {
	*storage.Client
	secret          string
	postLogout      []string
	claimsInIDToken bool   // Zitadel's "User Info inside ID Token"
	machineFor      string // a machine client: client-credentials grant only, JWT access tokens for this API
}

func (c *zitadelClient) PostLogoutRedirectURIs() []string     { return c.postLogout }
func (c *zitadelClient) IDTokenUserinfoClaimsAssertion() bool { return c.claimsInIDToken }

func (c *zitadelClient) GrantTypes() []oidc.GrantType {
	if c.machineFor != "" {
		return []oidc.GrantType{oidc.GrantTypeClientCredentials}
	}
	return c.Client.GrantTypes()
}

func (c *zitadelClient) AccessTokenType() op.AccessTokenType {
	if c.machineFor != "" {
		return op.AccessTokenTypeJWT
	}
	return c.Client.AccessTokenType()
}

type zitadelMachineToken struct {
	id, client, subject string
	audience, scopes    []string
	expires             time.Time
}

type zitadelKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *zitadelKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *zitadelKey) Key() any                                    { return k.key }
func (k *zitadelKey) ID() string                                  { return k.id }

type zitadelPublicKey struct{ k *zitadelKey }

func (p zitadelPublicKey) ID() string                         { return p.k.id }
func (p zitadelPublicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p zitadelPublicKey) Use() string                        { return "sig" }
func (p zitadelPublicKey) Key() any                           { return &p.k.key.PublicKey }

func (s *zitadelStorage) add(c *zitadelClient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.GetID()] = c
}

// rotate makes a new key sign; the previous one stays published, older ones go.
func (s *zitadelStorage) rotate() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &zitadelKey{id: "zitadel-key-" + strconv.Itoa(len(s.keys)+1) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36), key: key}
	s.keys = append([]*zitadelKey{k}, s.keys...)
	if len(s.keys) > 2 {
		s.keys = s.keys[:2]
	}
}

func (s *zitadelStorage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0], nil
}

func (s *zitadelStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *zitadelStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, zitadelPublicKey{k})
	}
	return out, nil
}

func (s *zitadelStorage) client(id string) (*zitadelClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[id]
	if c == nil {
		return nil, errors.New("client not found")
	}
	return c, nil
}

func (s *zitadelStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, err := s.client(id)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (s *zitadelStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, err := s.client(id)
	if err != nil {
		return err
	}
	if c.secret != secret {
		return errors.New("invalid secret")
	}
	return nil
}

func (s *zitadelStorage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, id, secret); err != nil {
		return nil, err
	}
	return s.GetClientByClientID(ctx, id)
}

// ClientCredentialsTokenRequest addresses a machine client's token to its API (and to
// itself, as Zitadel lists the project's clients in the audience).
func (s *zitadelStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := s.client(id)
	if err != nil || c.machineFor == "" {
		return nil, errors.New("not a machine client")
	}
	return &oidc.JWTTokenRequest{Subject: id, Audience: []string{c.machineFor, id}, Scopes: scopes}, nil
}

// CreateAccessToken keeps the client-credentials tokens itself (the example storage
// files them under no client, so that neither their client may revoke them nor an
// API introspect them); every other token is the example's.
func (s *zitadelStorage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	jr, ok := req.(*oidc.JWTTokenRequest)
	if !ok {
		return s.Storage.CreateAccessToken(ctx, req)
	}
	tok := &zitadelMachineToken{
		id: "m2m-" + strconv.FormatInt(time.Now().UnixNano(), 36), client: jr.Subject, subject: jr.Subject,
		audience: jr.Audience, scopes: jr.Scopes, expires: time.Now().Add(5 * time.Minute),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.machine[tok.id] = tok
	return tok.id, tok.expires, nil
}

// SetIntrospectionFromToken answers for client-credentials tokens to a client in
// their audience (the example's rule for its own tokens), and leaves the rest to the
// example.
func (s *zitadelStorage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s.mu.Lock()
	tok := s.machine[tokenID]
	s.mu.Unlock()
	if tok == nil {
		return s.Storage.SetIntrospectionFromToken(ctx, resp, tokenID, subject, clientID)
	}
	if time.Now().After(tok.expires) || !slices.Contains(tok.audience, clientID) {
		return errors.New("token is not active for this client")
	}
	resp.Subject = tok.subject
	resp.ClientID = tok.client
	resp.Audience = tok.audience
	resp.Scope = tok.scopes
	resp.Expiration = oidc.FromTime(tok.expires)
	resp.JWTID = tok.id
	return nil
}

// RevokeToken lets a machine client revoke its own access tokens; the rest is the
// example's.
func (s *zitadelStorage) RevokeToken(ctx context.Context, tokenIDOrToken, userID, clientID string) *oidc.Error {
	s.mu.Lock()
	tok := s.machine[tokenIDOrToken]
	if tok != nil && tok.client == clientID {
		delete(s.machine, tokenIDOrToken)
	}
	s.mu.Unlock()
	if tok == nil {
		return s.Storage.RevokeToken(ctx, tokenIDOrToken, userID, clientID)
	}
	if tok.client != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
	}
	return nil
}
