package auth

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/cache"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
	"github.com/gatehouse-oidc/gatehouse/internal/jose"
	"github.com/gatehouse-oidc/gatehouse/internal/logging"
	"github.com/gatehouse-oidc/gatehouse/internal/oidc"
	"github.com/gatehouse-oidc/gatehouse/internal/session"
)

// Keyspaces of the shared cache, declared once; nothing is inferred from key text.
// Ids include the issuer where a value is only unique per provider, so instances
// sharing a Redis and key prefix never confuse each other's subjects.
type keyspaces struct {
	// revoked: "session:<id>" (a local session), "sid:<iss>\x00<sid>" (a provider
	// session), "sub:<iss>\x00<sub>" (value: Unix time before which everything the
	// subject holds is revoked), "jti:<iss>\x00<jti>" (one bearer token).
	revoked *cache.Keyspace
	// replay: logout-token jti already used.
	replay *cache.Keyspace
	// refreshLock: one refresh of a refresh token at a time, across replicas.
	refreshLock *cache.Keyspace
	// refreshed: the sealed outcome of refreshing a refresh token, for the requests
	// (on any replica) that lost the race for the lock. Coordination, not Shared: it
	// must be in Redis before the lock is released (refresh.go).
	refreshed *cache.Keyspace
	// jwks: the provider's key set, sealed, shared by replicas.
	jwks *cache.Keyspace
	// tokver: verified bearer tokens' claims, sealed.
	tokver *cache.Keyspace
	// introspect: introspection results, sealed.
	introspect *cache.Keyspace
	// session: server-side sessions, sealed.
	session *cache.Keyspace
}

func newKeyspaces(o *config.Options) *keyspaces {
	revokedTTL := o.Session.Lifetime
	if o.Bearer.MaxTokenAge > revokedTTL {
		revokedTTL = o.Bearer.MaxTokenAge
	}
	revokedTTL += time.Hour
	return &keyspaces{
		revoked:     &cache.Keyspace{Name: "revoked", Class: cache.Revocation, MaxTTL: revokedTTL},
		replay:      &cache.Keyspace{Name: "replay", Class: cache.Coordination, MaxTTL: time.Hour},
		refreshLock: &cache.Keyspace{Name: "lock:refresh", Class: cache.Coordination, MaxTTL: time.Minute},
		refreshed:   &cache.Keyspace{Name: "refreshed", Class: cache.Coordination, MaxTTL: 5 * time.Minute},
		jwks:        &cache.Keyspace{Name: "jwks", Class: cache.Shared, MaxTTL: o.Provider.JWKSMaxCache},
		tokver:      &cache.Keyspace{Name: "tokver", Class: cache.Shared, MaxTTL: 24 * time.Hour},
		introspect:  &cache.Keyspace{Name: "introspect", Class: cache.Shared, MaxTTL: 24 * time.Hour},
		session:     &cache.Keyspace{Name: "session", Class: cache.Shared, MaxTTL: o.Session.Lifetime, WriteThrough: true},
	}
}

// provider is everything that talks to one OpenID Provider: its options, discovery,
// key set and client authentication. It is a value of its own (not fields of
// Middleware) so that one middleware could hold several.
type provider struct {
	opts      *config.ProviderOptions
	discovery *oidc.Discovery
	client    *oidc.Client
	http      *http.Client

	mu   sync.Mutex
	keys *jose.RemoteKeySet
	uri  string
}

// newProvider builds the provider of o. onDiscovered is called once per discovered
// document (the capability report, capabilities.go).
func newProvider(ctx context.Context, o *config.ProviderOptions, onDiscovered func(meta *oidc.Metadata)) (*provider, error) {
	hc, err := oidc.NewHTTPClient(o.HTTPTimeout, o.CAPEM)
	if err != nil {
		return nil, err
	}
	p := &provider{opts: o, http: hc}
	p.discovery = oidc.NewDiscovery(ctx, oidc.DiscoveryOptions{
		URL: o.DiscoveryURL, Issuer: o.Issuer, AllowHTTP: o.InsecureAllowHTTP, Client: hc, OnChange: onDiscovered,
	})
	p.client = &oidc.Client{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, AuthMethod: o.ClientAuthMethod, Key: o.ClientKey,
		AssertionAudience: o.AssertionAudience, Issuer: o.Issuer, HTTP: hc,
	}
	return p, nil
}

// keySet returns the provider's remote key set, creating it once the discovery
// document names its jwks_uri.
func keySet(m *Middleware, meta *oidc.Metadata) *jose.RemoteKeySet {
	p := m.provider
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil || p.uri != meta.JWKSURI {
		o := &m.opts.Provider
		p.keys = jose.NewRemoteKeySet(jose.RemoteKeySetOptions{
			URL: meta.JWKSURI, Client: p.http, Timeout: o.HTTPTimeout,
			MinRefresh: o.JWKSMinRefresh, MinCache: o.JWKSMinCache, MaxCache: o.JWKSMaxCache,
			MaxBytes: oidc.MaxResponseBytes,
			Shared:   &sealedShared{m: m, ks: m.ks.jwks},
			Skipped: func(skipped jose.SkippedKey) {
				keySkipped(m, skipped)
			},
		})
		p.uri = meta.JWKSURI
	}
	return p.keys
}

// keySkipped logs a provider key the key set does not use: a key refused as
// factorable (the ROCA fingerprint) as an error naming its kid, on every load of the
// set until the provider replaces it; the ordinary others (encryption keys, key types
// Gatehouse does not verify with) at debug level.
func keySkipped(m *Middleware, skipped jose.SkippedKey) {
	if skipped.Kind == jose.ErrWeakKey {
		m.log.Error(logging.EventProviderKeyRefused, "provider key kid "+strconvQuote(skipped.Kid)+" refused: "+skipped.Reason+
			"; tokens it signs are rejected until the provider rotates to a new key",
			logging.Fields{"kid": skipped.Kid, "entry": skipped.Index})
		return
	}
	m.log.Debug(logging.EventProviderKeySkipped, "provider key kid "+strconvQuote(skipped.Kid)+" not used: "+skipped.Reason,
		logging.Fields{"kid": skipped.Kid, "entry": skipped.Index})
}

// sealedShared adapts the cache store to jose.SharedCache. Values are sealed with the
// instance's cache key: whoever can write Redis still cannot make replicas trust a
// key they did not fetch from the provider.
type sealedShared struct {
	m  *Middleware
	ks *cache.Keyspace
}

func (s *sealedShared) Get(ctx context.Context, id string) ([]byte, bool) {
	v, ok, err := cache.Lookup(s.m.store, ctx, s.ks, id)
	if err != nil || !ok {
		return nil, false
	}
	pt, err := session.Open(s.m.sessions.CacheSealer, string(v))
	if err != nil {
		return nil, false
	}
	return pt, true
}

func (s *sealedShared) Set(ctx context.Context, id string, value []byte, ttl time.Duration) {
	sealed, err := session.Seal(s.m.sessions.CacheSealer, value)
	if err != nil {
		return
	}
	_ = s.m.store.Set(ctx, s.ks, id, []byte(sealed), ttl)
}

// verifyJWS checks a token's signature with the provider's keys (or, for HS*, the
// client secret when provider.hmacWithClientSecret allows it) and decodes its claims
// strictly. allowed is the algorithm allow-list of this kind of token.
func verifyJWS(m *Middleware, ctx context.Context, meta *oidc.Metadata, raw string, maxLen int, allowed []string) (*jose.JWS, jose.Claims, error) {
	jws, err := jose.PreCheck(raw, maxLen, allowed)
	if err != nil {
		return nil, nil, err
	}
	if strings.HasPrefix(jws.Header.Alg, "HS") {
		if err := jose.VerifyHMAC(jws, []byte(m.opts.Provider.ClientSecret), allowed); err != nil {
			return nil, nil, err
		}
	} else {
		ks := keySet(m, meta)
		keys, err := ks.KeysFor(ctx, jws.Header.Kid, jws.Header.Alg)
		if err != nil {
			return nil, nil, err
		}
		if _, err := jose.VerifyKeySet(ctx, ks, jws, keys, allowed); err != nil {
			return nil, nil, err
		}
	}
	claims, err := jose.DecodeClaims(jws.Payload)
	if err != nil {
		return nil, nil, err
	}
	return jws, claims, nil
}
