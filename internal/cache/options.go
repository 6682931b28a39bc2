package cache

import "time"

// Options configures a store: the cache options of the middleware's configuration
// as internal/config compiles them (config.CacheConfig).
type Options struct {
	Mode           string // "memory", "redis" or "hybrid"
	KeyPrefix      string
	L1MaxEntries   int
	L1MaxBytes     int
	MaxRevocations int
	OutboxSize     int
	WriteQueue     int
	ProbeInterval  time.Duration
	Redis          RedisOptions
}

// RedisOptions is how a store reaches Redis (config.RedisConfig, compiled). URL is the resolved URL (it may carry a
// password: never log it).
type RedisOptions struct {
	URL           string
	Username      string
	Password      string
	PoolSize      int
	DialTimeout   time.Duration
	ReadTimeout   time.Duration
	WriteTimeout  time.Duration
	MaxInFlight   int
	MaxReplyBytes int
	ClientName    string
	TLSEnabled    bool // rediss:// URL or cache.redis.tls.enabled
	TLSCAPEM      []byte
	TLSCertPEM    []byte
	TLSKeyPEM     []byte
	TLSServerName string
	Sentinel      SentinelOptions
	Cluster       ClusterOptions
}

// SentinelOptions is the compiled SentinelConfig.
type SentinelOptions struct {
	MasterName string
	Addresses  []string
	Username   string
	Password   string
}

// ClusterOptions is the compiled ClusterConfig.
type ClusterOptions struct {
	Addresses []string
}
