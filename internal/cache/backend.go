// The Redis deployment behind a store: which client a configuration makes, and its TLS.

package cache

import (
	"crypto/tls"
	"crypto/x509"
	"errors"

	"github.com/gatehouse-oidc/gatehouse/internal/cache/redis"
)

// RevocationTag is the hash tag that, in cluster mode, follows KeyPrefix in the Redis
// key of every Revocation keyspace: KeyPrefix + "{gh}" + Name + ":" + hex(SHA-256(id)).
// Redis Cluster hashes only the tag, so every revocation lives in one slot, on one
// primary: the node the store probes (PING) and whose restarts it watches (run_id),
// so that revocations written back after a failover (republish) and the outbox's
// replay go to the node that serves them.
const RevocationTag = "{gh}"

// newBackend connects the cache.redis configuration: one server (url), the primary
// the sentinels name (sentinel), or a cluster (cluster). Nothing is dialled yet.
func newBackend(ro *RedisOptions, prefix string) (redis.Backend, error) {
	o := redis.Options{
		Username: ro.Username, Password: ro.Password,
		ClientName: ro.ClientName, PoolSize: ro.PoolSize,
		DialTimeout: ro.DialTimeout, ReadTimeout: ro.ReadTimeout, WriteTimeout: ro.WriteTimeout,
		MaxInFlight: ro.MaxInFlight, MaxReplyBytes: ro.MaxReplyBytes,
	}
	cfg, err := tlsConfig(ro, ro.TLSEnabled)
	if err != nil {
		return nil, err
	}
	o.TLS = cfg
	if len(ro.Sentinel.Addresses) > 0 {
		so := redis.SentinelOptions{
			MasterName: ro.Sentinel.MasterName, Addrs: ro.Sentinel.Addresses,
			Username: ro.Sentinel.Username, Password: ro.Sentinel.Password, TLS: cfg,
		}
		c, err := redis.NewSentinelClient(o, so)
		if err != nil {
			return nil, errors.New("cache.redis.sentinel: " + err.Error())
		}
		return c, nil
	}
	if len(ro.Cluster.Addresses) > 0 {
		c, err := redis.NewClusterClient(o, redis.ClusterOptions{Seeds: ro.Cluster.Addresses, HomeKey: prefix + RevocationTag})
		if err != nil {
			return nil, errors.New("cache.redis.cluster: " + err.Error())
		}
		return c, nil
	}
	u, err := redis.ParseURL(ro.URL)
	if err != nil {
		return nil, errors.New("cache.redis.url: " + err.Error())
	}
	o.Addr = u.Addr
	o.DB = u.DB
	if o.Username == "" {
		o.Username = u.Username
	}
	if o.Password == "" {
		o.Password = u.Password
	}
	if u.TLS && o.TLS == nil {
		if o.TLS, err = tlsConfig(ro, true); err != nil {
			return nil, err
		}
	}
	if o.TLS != nil && o.TLS.ServerName == "" {
		o.TLS.ServerName = u.Host
	}
	return redis.NewClient(o), nil
}

// tlsConfig builds the TLS configuration of every connection (nil without TLS). An
// empty ServerName is filled per node with the host connected to.
func tlsConfig(ro *RedisOptions, on bool) (*tls.Config, error) {
	if !on {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: ro.TLSServerName}
	if len(ro.TLSCAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ro.TLSCAPEM) {
			return nil, errors.New("cache.redis.tls.caFile: expected PEM certificates, got none")
		}
		cfg.RootCAs = pool
	}
	if len(ro.TLSCertPEM) > 0 {
		cert, err := tls.X509KeyPair(ro.TLSCertPEM, ro.TLSKeyPEM)
		if err != nil {
			return nil, errors.New("cache.redis.tls.keyFile: " + err.Error())
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
