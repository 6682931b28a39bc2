package oidc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// MaxResponseBytes caps every provider response body Gatehouse reads.
const MaxResponseBytes = 1 << 20

// ErrTooLarge is returned when a provider response exceeds its cap.
var ErrTooLarge = errors.New("oidc: provider response exceeds the size limit")

// NewHTTPClient returns the client used for every provider request of one middleware
// instance: a deadline on each request, extra CAs when configured, no redirects
// followed for token-endpoint style calls (a redirect there is an error, never a hop
// that could leak credentials).
func NewHTTPClient(timeout time.Duration, caPEM []byte) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("oidc: provider.caFile holds no usable certificate")
		}
		tlsConf.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		// A closure, not the method value dialer.DialContext: Yaegi cannot assign a
		// method value of a compiled type to a func-typed field.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// readCapped reads r up to limit bytes and fails if there is more.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}
