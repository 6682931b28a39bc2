package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-oidc/gatehouse/internal/wakeup"
)

// Metadata is the part of the provider's discovery document (OpenID Connect
// Discovery 1.0 section 3, RFC 8414) Gatehouse uses or reports (capabilities.go). A
// list the provider does not advertise is nil.
type Metadata struct {
	Issuer                                             string   `json:"issuer"`
	AuthorizationEndpoint                              string   `json:"authorization_endpoint"`
	TokenEndpoint                                      string   `json:"token_endpoint"`
	UserinfoEndpoint                                   string   `json:"userinfo_endpoint"`
	JWKSURI                                            string   `json:"jwks_uri"`
	EndSessionEndpoint                                 string   `json:"end_session_endpoint"`
	RevocationEndpoint                                 string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                              string   `json:"introspection_endpoint"`
	CodeChallengeMethodsSupported                      []string `json:"code_challenge_methods_supported"`
	IDTokenSigningAlgValuesSupported                   []string `json:"id_token_signing_alg_values_supported"`
	UserinfoSigningAlgValuesSupported                  []string `json:"userinfo_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported                  []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported         []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported             []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationEndpointAuthSigningAlgValuesSupported    []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethodsSupported          []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	AuthorizationResponseIssParameterSupported         bool     `json:"authorization_response_iss_parameter_supported"`
	BackchannelLogoutSupported                         bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported                  bool     `json:"backchannel_logout_session_supported"`
	FrontchannelLogoutSupported                        bool     `json:"frontchannel_logout_supported"`
	FrontchannelLogoutSessionSupported                 bool     `json:"frontchannel_logout_session_supported"`
}

// ErrDiscoveryPending is returned while no discovery document has been fetched yet
// and a fetch is being retried in the background.
var ErrDiscoveryPending = errors.New("oidc: provider discovery has not succeeded yet")

// Discovery fetches the provider's metadata lazily: New never blocks on it. A
// background loop fetches it, retrying with capped exponential backoff and jitter
// until it succeeds, then refreshes it every RefreshEvery (keeping the last good
// document when a refresh fails). Callers that need it before the first success may
// trigger one immediate attempt of their own (at most one in flight).
type Discovery struct {
	url          string
	issuer       string
	allowHTTP    bool
	client       *http.Client
	refreshEvery time.Duration
	minBackoff   time.Duration
	maxBackoff   time.Duration

	// onChange is DiscoveryOptions.OnChange.
	onChange func(m *Metadata)

	mu       sync.Mutex
	meta     *Metadata
	doc      string // the document meta was read from, to tell a changed one
	lastErr  error
	inflight chan struct{}
	lastTry  time.Time
	fetches  int
	// failures counts failed fetches; lastClass is the class of the last failure
	// (DiscoveryStatus.LastErrorClass), "" after a success; loadedAt is when the
	// current document was fetched.
	failures  int
	lastClass string
	loadedAt  time.Time
}

// Discovery error classes (DiscoveryStatus.LastErrorClass): what kind of failure,
// without its details, for health checks and dashboards.
const (
	DiscoveryErrNetwork  = "network"          // no connection, DNS, TLS
	DiscoveryErrTimeout  = "timeout"          // no answer within provider.httpTimeout
	DiscoveryErrStatus   = "http_status"      // an answer other than 200
	DiscoveryErrBody     = "body"             // unreadable or too large
	DiscoveryErrDocument = "invalid_document" // not JSON, or lacking a required endpoint
	DiscoveryErrIssuer   = "issuer_mismatch"  // the document names another issuer
)

// DiscoveryStatus is a snapshot of a Discovery, for health checks and metrics.
type DiscoveryStatus struct {
	// Ready: a document was fetched (and is served, even while refreshes fail).
	Ready bool
	// LoadedAt is when the served document was fetched (zero when not Ready).
	LoadedAt time.Time
	// Fetches and Failures count discovery requests and the failed ones.
	Fetches, Failures int
	// LastErrorClass is the class of the last fetch's failure (DiscoveryErr*), ""
	// when the last fetch succeeded or none was made.
	LastErrorClass string
}

// Status returns a snapshot of the discovery state.
func (d *Discovery) Status() DiscoveryStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DiscoveryStatus{Ready: d.meta != nil, LoadedAt: d.loadedAt, Fetches: d.fetches, Failures: d.failures, LastErrorClass: d.lastClass}
}

// DiscoveryOptions configure NewDiscovery.
type DiscoveryOptions struct {
	URL, Issuer  string
	AllowHTTP    bool // http endpoints accepted on non-loopback hosts
	Client       *http.Client
	RefreshEvery time.Duration // default 1h
	MinBackoff   time.Duration // default 500ms
	MaxBackoff   time.Duration // default 60s
	// OnChange, when set, is called with the metadata after the first successful
	// fetch and after every fetch whose document differs from the one before: once
	// per discovered document, never per request. Calls do not overlap.
	OnChange func(m *Metadata)
}

// NewDiscovery returns a Discovery and starts its background loop, which stops when
// ctx is cancelled.
func NewDiscovery(ctx context.Context, o DiscoveryOptions) *Discovery {
	d := &Discovery{url: o.URL, issuer: o.Issuer, allowHTTP: o.AllowHTTP, client: o.Client,
		refreshEvery: o.RefreshEvery, minBackoff: o.MinBackoff, maxBackoff: o.MaxBackoff, onChange: o.OnChange}
	if d.refreshEvery <= 0 {
		d.refreshEvery = time.Hour
	}
	if d.minBackoff <= 0 {
		d.minBackoff = 500 * time.Millisecond
	}
	if d.maxBackoff <= 0 {
		d.maxBackoff = 60 * time.Second
	}
	go d.loop(ctx)
	return d
}

func (d *Discovery) loop(ctx context.Context) {
	backoff := d.minBackoff
	// A short delay first: New returns at once, and at Traefik start-up the provider
	// may be starting too.
	wait := 50 * time.Millisecond
	// Not a select: under Yaegi the discovery loops of all middleware instances in
	// the interpreter would share its case list (internal/wakeup).
	w := wakeup.New()
	for {
		wakeup.Sleep(w, ctx, wait)
		if ctx.Err() != nil {
			return
		}
		_, err := d.fetch(ctx)
		if err == nil {
			backoff = d.minBackoff
			wait = d.refreshEvery
			continue
		}
		// Jitter spreads replicas' retries: uniform in [backoff/2, backoff].
		wait = backoff/2 + time.Duration(rand.Int63n(int64(backoff/2)+1))
		backoff *= 2
		if backoff > d.maxBackoff {
			backoff = d.maxBackoff
		}
	}
}

// Metadata returns the provider metadata. Before the first successful fetch it tries
// once itself (sharing any fetch already in flight, and not more often than once per
// MinBackoff) and returns the error when that fails.
func (d *Discovery) Metadata(ctx context.Context) (*Metadata, error) {
	d.mu.Lock()
	m := d.meta
	recent := time.Since(d.lastTry) < d.minBackoff
	lastErr := d.lastErr
	d.mu.Unlock()
	if m != nil {
		return m, nil
	}
	if recent && d.inflightChan() == nil {
		if lastErr == nil {
			lastErr = ErrDiscoveryPending
		}
		return nil, lastErr
	}
	return d.fetch(ctx)
}

func (d *Discovery) inflightChan() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inflight
}

// Fetches reports how many discovery requests were sent (for tests and stats).
func (d *Discovery) Fetches() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fetches
}

// fetch performs one discovery request, or waits for the one in flight. The wait is
// bounded by the HTTP client's timeout.
func (d *Discovery) fetch(ctx context.Context) (*Metadata, error) {
	d.mu.Lock()
	if ch := d.inflight; ch != nil {
		d.mu.Unlock()
		<-ch
		d.mu.Lock()
		m, err := d.meta, d.lastErr
		d.mu.Unlock()
		if m != nil {
			return m, nil
		}
		return nil, err
	}
	ch := make(chan struct{})
	d.inflight = ch
	d.lastTry = time.Now()
	d.fetches++
	d.mu.Unlock()

	m, doc, class, err := d.get(ctx)

	// A new document is announced before anyone can use it: fetches never overlap
	// (inflight), so neither do these calls, and the metadata is published after.
	d.mu.Lock()
	changed := err == nil && doc != d.doc
	d.mu.Unlock()
	if changed && d.onChange != nil {
		d.onChange(m)
	}
	d.mu.Lock()
	if err == nil {
		d.meta = m
		d.doc = doc
		d.lastErr = nil
		d.loadedAt = time.Now()
	} else {
		d.lastErr = err
		d.failures++
	}
	d.lastClass = class
	d.inflight = nil
	cur := d.meta
	d.mu.Unlock()
	close(ch)
	if err != nil && cur != nil {
		// Keep serving the last good document; the refresh failure is only logged.
		return cur, nil
	}
	return m, err
}

// get fetches and validates the document; it returns the metadata and the document's
// text, and on failure the error's class (DiscoveryErr*).
func (d *Discovery) get(ctx context.Context) (*Metadata, string, string, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, d.url, nil)
	if err != nil {
		return nil, "", DiscoveryErrNetwork, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, "", networkClass(err), errors.New("oidc: discovery: " + err.Error())
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, "", DiscoveryErrStatus, errors.New("oidc: discovery: " + d.url + " answered " + strconv.Itoa(resp.StatusCode))
	}
	b, err := readCapped(resp.Body, MaxResponseBytes)
	if err != nil {
		return nil, "", DiscoveryErrBody, errors.New("oidc: discovery: " + err.Error())
	}
	m := &Metadata{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, "", DiscoveryErrDocument, errors.New("oidc: discovery: document is not valid JSON: " + err.Error())
	}
	if err := validateMetadata(m, d.issuer, d.allowHTTP); err != nil {
		if m.Issuer != d.issuer {
			return nil, "", DiscoveryErrIssuer, err
		}
		return nil, "", DiscoveryErrDocument, err
	}
	return m, string(b), "", nil
}

// networkClass tells a timeout from other transport failures. (os.IsTimeout, which
// runs compiled: under Yaegi an interpreted err.(interface{ Timeout() bool }) answers
// false for the *url.Error of a client timeout.)
func networkClass(err error) string {
	if os.IsTimeout(err) {
		return DiscoveryErrTimeout
	}
	return DiscoveryErrNetwork
}

// validateMetadata applies OpenID Connect Discovery 1.0 section 4.3: the issuer in the
// document must be identical to the configured one, and the endpoints Gatehouse
// calls must be absolute URLs (https unless allowed).
func validateMetadata(m *Metadata, issuer string, allowHTTP bool) error {
	if m.Issuer != issuer {
		return errors.New("oidc: discovery: expected issuer " + strconv.Quote(issuer) + ", got " + strconv.Quote(m.Issuer))
	}
	required := []struct{ name, v string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
	}
	for _, r := range required {
		if r.v == "" {
			return errors.New("oidc: discovery: document has no " + r.name)
		}
	}
	all := append(required, []struct{ name, v string }{
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"end_session_endpoint", m.EndSessionEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
		{"introspection_endpoint", m.IntrospectionEndpoint},
	}...)
	for _, r := range all {
		if r.v == "" {
			continue
		}
		if err := checkEndpoint(r.v, allowHTTP); err != nil {
			return errors.New("oidc: discovery: " + r.name + ": " + err.Error())
		}
	}
	return nil
}

func checkEndpoint(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return errors.New("must be an absolute URL, got " + strconv.Quote(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || isLoopbackHost(u.Hostname()) {
			return nil
		}
	}
	return errors.New("must use https, got " + strconv.Quote(raw))
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
