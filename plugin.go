// Package gatehouse is an OpenID Connect authentication middleware for Traefik v3,
// loaded by Traefik's Yaegi interpreter as a plugin.
//
// This file is the Traefik plugin contract and nothing else: Config, CreateConfig and
// New. The configuration model lives in internal/config, the middleware in
// internal/auth.
package gatehouse

import (
	"context"
	"net/http"

	"github.com/gatehouse-oidc/gatehouse/internal/auth"
	"github.com/gatehouse-oidc/gatehouse/internal/config"
)

// Config is the middleware's dynamic configuration, decoded by Traefik from the file,
// Docker, Kubernetes or any other provider. docs/CONFIGURATION.md lists every option.
type Config = config.Config

// CreateConfig returns the configuration with every default filled in; Traefik decodes
// the user's options over it.
func CreateConfig() *Config {
	return config.Default()
}

// New validates cfg and builds one middleware instance. It never needs the network:
// provider discovery and Redis connections happen in the background. ctx is cancelled
// when Traefik reloads its configuration; the instance then stops its goroutines and
// closes its connections.
func New(ctx context.Context, next http.Handler, cfg *Config, name string) (http.Handler, error) {
	return auth.New(ctx, next, cfg, name)
}
