package jose

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SharedCache stores fetched key sets so that replicas share them (the integration
// adapts the cache package's Store to it). Values are the raw JWK Set document with
// a small envelope; ids are a hash of the key-set URL, never a token. Implementations
// should namespace ids (a "jwks:" keyspace). Whoever can write to the cache can make
// every replica trust a key: protect it like the provider's key endpoint.
type SharedCache interface {
	Get(ctx context.Context, id string) ([]byte, bool)
	Set(ctx context.Context, id string, value []byte, ttl time.Duration)
}

// RemoteKeySetOptions configure NewRemoteKeySet. Zero values take the defaults noted.
type RemoteKeySetOptions struct {
	URL        string        // the jwks_uri (required)
	Client     *http.Client  // default: a client with no timeout of its own (Timeout applies per fetch)
	MaxBytes   int64         // response size cap; default 1 MiB
	Timeout    time.Duration // deadline of one fetch; default 10 s
	MinRefresh time.Duration // at most one fetch per MinRefresh, whatever triggers it; default 30 s
	MinCache   time.Duration // lower bound of a set's lifetime (Cache-Control max-age); default 5 m
	MaxCache   time.Duration // upper bound; default 24 h
	Shared     SharedCache   // optional: key sets shared between replicas
	Now        func() time.Time
	// Skipped, when set, is called for every entry of a newly loaded set (fetched,
	// or adopted from the shared cache) that is not used, outside any lock: the
	// integration logs them, loudly for a key refused as factorable (Kind
	// ErrWeakKey), so an operator learns why the provider's key is not trusted.
	Skipped func(skipped SkippedKey)
}

// RemoteKeySetStats are counters for metrics and tests.
type RemoteKeySetStats struct {
	Fetches     int64     // HTTP fetches started
	FetchErrors int64     // fetches that failed (status, size, deadline, parse)
	SharedHits  int64     // sets taken from the shared cache instead of fetching
	Keys        int       // usable keys in the current set
	Skipped     int       // entries skipped in the current set
	LoadedAt    time.Time // when the current set was fetched (by us or a replica)
	ExpiresAt   time.Time // when it is due for a refresh
	LastError   string    // text of the last failure, "" after a success
}

// RemoteKeySet is a JWK Set fetched over HTTP (RFC 7517 5, OIDC Discovery jwks_uri).
// It keeps the last good set when a fetch fails, refreshes when the set's lifetime
// (Cache-Control max-age, bounded by MinCache and MaxCache) ends or when asked for a
// kid it does not hold, fetches at most once per MinRefresh however many callers ask,
// and lets concurrent callers share one fetch. It starts no goroutine: fetches run in
// the caller that triggers them, bounded by Timeout.
type RemoteKeySet struct {
	opts RemoteKeySetOptions
	id   string

	mu          sync.Mutex
	set         *KeySet
	loadedAt    time.Time
	expiresAt   time.Time
	lastAttempt time.Time
	lastErr     error
	inflight    *keySetFetch
	stats       RemoteKeySetStats
}

// keySetFetch is one fetch that callers wait for: done is closed when err is set. A
// closed channel wakes every waiter with a plain receive; no select is shared between
// goroutines (under Yaegi a shared select can hand one goroutine's value to another).
type keySetFetch struct {
	done chan struct{}
	err  error
}

// NewRemoteKeySet returns a key set for opts.URL. It does not fetch: the first
// KeysFor does.
func NewRemoteKeySet(opts RemoteKeySetOptions) *RemoteKeySet {
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = 30 * time.Second
	}
	if opts.MinCache <= 0 {
		opts.MinCache = 5 * time.Minute
	}
	if opts.MaxCache <= 0 {
		opts.MaxCache = 24 * time.Hour
	}
	if opts.MaxCache < opts.MinCache {
		opts.MaxCache = opts.MinCache
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sum := sha256.Sum256([]byte(opts.URL))
	return &RemoteKeySet{opts: opts, id: hex.EncodeToString(sum[:])}
}

// ID is the shared-cache id of this key set: the hex SHA-256 of its URL.
func (r *RemoteKeySet) ID() string { return r.id }

// KeysFor returns the keys that may verify a token with this kid and alg (see
// KeySet.Candidates). When the set is missing, expired, or lacks a key for kid, it
// refreshes first — unless a fetch started less than MinRefresh ago, in which case
// it answers from the set it has (an unknown kid then gets ErrUnknownKid without any
// network call). Concurrent callers that need a refresh share one fetch.
//
// Call PreCheck on the token first: kid and alg must have passed it.
func (r *RemoteKeySet) KeysFor(ctx context.Context, kid, alg string) ([]*Key, error) {
	return keysFor(ctx, r, kid, alg)
}

// keysFor is KeysFor as a plain function (cheaper to call under Yaegi).
func keysFor(ctx context.Context, r *RemoteKeySet, kid, alg string) ([]*Key, error) {
	// Never let a bad kid or an alg no key can fit reach a lookup or a fetch, even when
	// the caller skipped PreCheck.
	if !isAsymmetricAlg(alg) || (kid != "" && !kidOK(kid)) {
		return nil, errKeysForInput(kid, alg)
	}
	if c := freshCandidates(r, kid, alg); c != nil {
		return c, nil
	}
	return r.keys(ctx, kid, alg)
}

// freshCandidates answers from an unexpired set without a fetch, or returns nil.
func freshCandidates(r *RemoteKeySet, kid, alg string) []*Key {
	now := r.opts.Now()
	r.mu.Lock()
	set := r.set
	fresh := set != nil && now.Before(r.expiresAt)
	r.mu.Unlock()
	if !fresh {
		return nil
	}
	// A KeySet is never changed once parsed, so reading it unlocked is safe.
	return candidates(set, kid, alg)
}

func errKeysForInput(kid, alg string) error {
	if !isAsymmetricAlg(alg) {
		return newError(ErrAlgUnsupported, "expected an asymmetric signature alg for a key set, got "+quote(alg, 16))
	}
	return checkKid(kid)
}

func (r *RemoteKeySet) keys(ctx context.Context, kid, alg string) ([]*Key, error) {
	now := r.opts.Now()
	r.mu.Lock()
	if r.set != nil && now.Before(r.expiresAt) {
		if c := candidates(r.set, kid, alg); len(c) > 0 {
			r.mu.Unlock()
			return c, nil
		}
	}
	call := r.inflight
	leader := false
	if call == nil {
		if !r.lastAttempt.IsZero() && now.Sub(r.lastAttempt) < r.opts.MinRefresh {
			set, lastErr := r.set, r.lastErr
			r.mu.Unlock()
			return answer(set, kid, alg, lastErr)
		}
		call = &keySetFetch{done: make(chan struct{})}
		r.inflight = call
		r.lastAttempt = now
		leader = true
	}
	r.mu.Unlock()

	if leader {
		r.lead(ctx, call, kid, alg)
	} else {
		<-call.done
	}
	r.mu.Lock()
	set := r.set
	r.mu.Unlock()
	return answer(set, kid, alg, call.err)
}

// lead runs the shared fetch and releases the waiters, also if the fetch panics.
func (r *RemoteKeySet) lead(ctx context.Context, call *keySetFetch, kid, alg string) {
	call.err = newError(ErrJWKSFetch, "the fetch did not complete")
	defer func() {
		r.mu.Lock()
		r.inflight = nil
		r.lastErr = call.err
		r.mu.Unlock()
		close(call.done)
	}()
	call.err = r.refresh(ctx, kid, alg)
}

// answer picks the candidates from set, or says why there are none.
func answer(set *KeySet, kid, alg string, fetchErr error) ([]*Key, error) {
	if set == nil {
		if fetchErr != nil {
			return nil, newError(ErrJWKSUnavailable, "expected a key set, got none yet: "+fetchErr.Error())
		}
		return nil, newError(ErrJWKSUnavailable, "expected a key set, got none yet")
	}
	if c := candidates(set, kid, alg); len(c) > 0 {
		return c, nil
	}
	if kid != "" && !hasKid(set, kid) {
		return nil, newError(ErrUnknownKid, "expected a kid of the provider's key set, got "+quote(kid, 64))
	}
	return nil, newError(ErrNoKey, "expected a key for alg "+alg+", got none that fits")
}

// Refresh fetches the key set now, subject to MinRefresh like any other fetch. It is
// for callers that want the set loaded before the first token arrives.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	_, err := r.keys(ctx, "", "")
	if err != nil && KindOf(err) == ErrNoKey {
		// A loaded set has no key for alg "": that is success here.
		return nil
	}
	return err
}

// Stats returns a snapshot of the counters.
func (r *RemoteKeySet) Stats() RemoteKeySetStats {
	r.mu.Lock()
	defer func() { r.mu.Unlock() }()
	s := r.stats
	if r.set != nil {
		s.Keys = len(r.set.Keys)
		s.Skipped = len(r.set.Skipped)
	}
	s.LoadedAt, s.ExpiresAt = r.loadedAt, r.expiresAt
	if r.lastErr != nil {
		s.LastError = r.lastErr.Error()
	}
	return s
}

// refresh loads a newer set: from the shared cache when a replica stored one newer
// than ours that has what the caller needs, else over HTTP. On failure the current set
// stays.
func (r *RemoteKeySet) refresh(ctx context.Context, kid, alg string) error {
	if r.opts.Shared != nil {
		if r.adoptShared(ctx, kid, alg) {
			return nil
		}
	}
	r.mu.Lock()
	r.stats.Fetches++
	r.mu.Unlock()
	body, lifetime, err := r.fetch()
	var set *KeySet
	if err == nil {
		set, err = ParseJWKS(body)
	}
	now := r.opts.Now()
	r.mu.Lock()
	if err != nil {
		r.stats.FetchErrors++
		r.mu.Unlock()
		return err
	}
	// One assignment per field: under Yaegi, a, b = x, f() loses x (multi-assign-call).
	r.set = set
	r.loadedAt = now
	r.expiresAt = now.Add(lifetime)
	r.mu.Unlock()
	reportSkipped(r, set)
	if r.opts.Shared != nil {
		r.opts.Shared.Set(ctx, r.id, encodeShared(now, now.Add(lifetime), body), lifetime)
	}
	return nil
}

// adoptShared takes the shared set when it is newer than ours, not expired, parses,
// and (when kid is set) holds that kid; it reports whether it did.
func (r *RemoteKeySet) adoptShared(ctx context.Context, kid, alg string) bool {
	v, ok := r.opts.Shared.Get(ctx, r.id)
	if !ok {
		return false
	}
	loaded, expires, body, ok := decodeShared(v)
	now := r.opts.Now()
	if !ok || !now.Before(expires) || int64(len(body)) > r.opts.MaxBytes {
		return false
	}
	r.mu.Lock()
	newer := loaded.After(r.loadedAt)
	r.mu.Unlock()
	if !newer {
		return false
	}
	set, err := ParseJWKS(body)
	if err != nil {
		return false
	}
	if kid != "" && len(candidates(set, kid, alg)) == 0 {
		return false
	}
	r.mu.Lock()
	r.set, r.loadedAt, r.expiresAt = set, loaded, expires
	r.stats.SharedHits++
	r.mu.Unlock()
	reportSkipped(r, set)
	return true
}

// reportSkipped hands the skipped entries of a newly loaded set to opts.Skipped.
func reportSkipped(r *RemoteKeySet, set *KeySet) {
	if r.opts.Skipped == nil {
		return
	}
	for _, s := range set.Skipped {
		r.opts.Skipped(s)
	}
}

// fetch GETs the key set with a deadline and a size cap, and returns the body and
// the lifetime Cache-Control grants it, bounded by MinCache and MaxCache.
func (r *RemoteKeySet) fetch() ([]byte, time.Duration, error) {
	// The fetch is shared by every waiting caller, so it does not end when the caller
	// that started it goes away; Timeout bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer func() { cancel() }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.opts.URL, nil)
	if err != nil {
		return nil, 0, newError(ErrJWKSFetch, "expected a valid key set URL, got "+err.Error())
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return nil, 0, newError(ErrJWKSFetch, "GET failed: "+err.Error())
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, newError(ErrJWKSFetch, "expected status 200, got "+strconv.Itoa(resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.opts.MaxBytes+1))
	if err != nil {
		return nil, 0, newError(ErrJWKSFetch, "reading the body failed: "+err.Error())
	}
	if int64(len(body)) > r.opts.MaxBytes {
		return nil, 0, newError(ErrJWKSFetch, "expected at most "+strconv.FormatInt(r.opts.MaxBytes, 10)+" bytes, got more")
	}
	return body, cacheLifetime(resp.Header.Get("Cache-Control"), r.opts.MinCache, r.opts.MaxCache), nil
}

// cacheLifetime reads max-age from a Cache-Control value (RFC 9111 5.2.2.1) and
// bounds it; no-store, no-cache, a missing or malformed max-age give minCache, an
// overflowing one maxCache (RFC 9111 1.2.2).
func cacheLifetime(cc string, minCache, maxCache time.Duration) time.Duration {
	d := time.Duration(0)
	for _, part := range strings.Split(cc, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part == "no-store" || part == "no-cache" {
			return minCache
		}
		if strings.HasPrefix(part, "max-age=") {
			v := strings.Trim(part[len("max-age="):], "\"")
			if v == "" || strings.Trim(v, "0123456789") != "" {
				return minCache
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				// Too many digits for int64: RFC 9111 1.2.2 says to treat it as a
				// very large value.
				return maxCache
			}
			if n > int64(maxCache/time.Second) {
				return maxCache
			}
			d = time.Duration(n) * time.Second
		}
	}
	if d < minCache {
		return minCache
	}
	if d > maxCache {
		return maxCache
	}
	return d
}

// The shared envelope: "jwks1 <loaded unix ms> <expires unix ms>\n" then the document.
const sharedMagic = "jwks1 "

func encodeShared(loaded, expires time.Time, body []byte) []byte {
	head := sharedMagic + strconv.FormatInt(loaded.UnixMilli(), 10) + " " + strconv.FormatInt(expires.UnixMilli(), 10) + "\n"
	out := make([]byte, 0, len(head)+len(body))
	out = append(out, head...)
	return append(out, body...)
}

func decodeShared(v []byte) (time.Time, time.Time, []byte, bool) {
	nl := bytes.IndexByte(v, '\n')
	if nl < 0 || !bytes.HasPrefix(v, []byte(sharedMagic)) {
		return time.Time{}, time.Time{}, nil, false
	}
	fields := strings.Fields(string(v[len(sharedMagic):nl]))
	if len(fields) != 2 {
		return time.Time{}, time.Time{}, nil, false
	}
	loaded, err1 := strconv.ParseInt(fields[0], 10, 64)
	expires, err2 := strconv.ParseInt(fields[1], 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, nil, false
	}
	return time.UnixMilli(loaded), time.UnixMilli(expires), v[nl+1:], true
}

// VerifyRemote is the whole signature check of a token against a provider's key set:
// PreCheck (size, segments, base64url, header, kid, alg allow-list), then — only if
// all of that passed — the candidate keys from ks (which may refresh it, rate
// limited), then Verify. HMAC algorithms are refused before any lookup: they never
// verify against a key set.
func VerifyRemote(ctx context.Context, token string, maxLen int, allowed []string, ks *RemoteKeySet) (*JWS, *Key, error) {
	jws, err := PreCheck(token, maxLen, allowed)
	if err != nil {
		return nil, nil, err
	}
	alg := jws.Header.Alg
	if alg == "HS256" || alg == "HS384" || alg == "HS512" {
		return nil, nil, errVerifyAlg(alg)
	}
	keys, err := keysFor(ctx, ks, jws.Header.Kid, alg)
	if err != nil {
		return nil, nil, err
	}
	k, err := VerifyKeySet(ctx, ks, jws, keys, allowed)
	if err != nil {
		return nil, nil, err
	}
	return jws, k, nil
}

// VerifyKeySet is Verify against keys that ks gave for jws (KeysFor), with one more
// chance for a token without a kid that none of them verifies: the provider may
// have signed it with a key it rotated in since the set was fetched, which an
// unknown kid would have revealed. The set is then refreshed — subject to
// MinRefresh like an unknown kid, and shared with concurrent callers, so tokens
// with bad signatures cannot make it fetch more often than unknown kids can — and,
// if that brought a new set, jws is verified against it.
func VerifyKeySet(ctx context.Context, ks *RemoteKeySet, jws *JWS, keys []*Key, allowed []string) (*Key, error) {
	k, err := Verify(jws, keys, allowed)
	if err == nil || jws.Header.Kid != "" || !isAsymmetricAlg(jws.Header.Alg) {
		return k, err
	}
	before := currentSet(ks)
	_ = ks.Refresh(ctx)
	after := currentSet(ks)
	if after == nil || after == before {
		return nil, err
	}
	return Verify(jws, candidates(after, "", jws.Header.Alg), allowed)
}

func currentSet(r *RemoteKeySet) *KeySet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set
}
