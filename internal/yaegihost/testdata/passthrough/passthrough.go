// Package passthrough is the smallest useful Traefik plugin: it calls next. Loaded
// under the same host as Gatehouse, it measures the floor every Yaegi plugin pays.
package passthrough

import (
	"context"
	"net/http"
)

// Config is empty.
type Config struct{}

// CreateConfig returns an empty Config.
func CreateConfig() *Config { return &Config{} }

type handler struct{ next http.Handler }

// New returns a handler that only calls next.
func New(_ context.Context, next http.Handler, _ *Config, _ string) (http.Handler, error) {
	return &handler{next: next}, nil
}

func (h *handler) ServeHTTP(rw http.ResponseWriter, req *http.Request) { h.next.ServeHTTP(rw, req) }
