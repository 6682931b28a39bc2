package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestIntrospectAnswersAreCappedStrictAndAuthenticated: the client authenticates with
// HTTP Basic, a larger answer than MaxIntrospectionBytes, an answer that names
// "active" twice, one without a boolean active and an error status are all errors
// (the caller answers 503), and the context's deadline bounds a slow endpoint.
func TestIntrospectAnswersAreCappedStrictAndAuthenticated(t *testing.T) {
	var answer string
	var status int
	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		if r.FormValue("token") == "slow" {
			time.Sleep(600 * time.Millisecond)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(answer))
	}))
	defer srv.Close()
	c := &Client{ClientID: "rs", ClientSecret: "s3cret", HTTP: srv.Client()}
	ctx := context.Background()

	status, answer = http.StatusOK, `{"active":true,"sub":"svc"}`
	got, err := c.Introspect(ctx, Endpoint{URL: srv.URL}, "tok")
	if err != nil || !got.Active || string(got.Raw["sub"]) != `"svc"` || user != "rs" || pass != "s3cret" {
		t.Fatalf("good answer: %+v %v (client %q:%q)", got, err, user, pass)
	}
	cases := map[string]struct {
		status int
		body   string
	}{
		"oversize":          {http.StatusOK, `{"active":true,"pad":"` + strings.Repeat("x", MaxIntrospectionBytes) + `"}`},
		"active twice":      {http.StatusOK, `{"active":false,"active":true}`},
		"Active and active": {http.StatusOK, `{"Active":false,"active":true}`},
		"active a string":   {http.StatusOK, `{"active":"true"}`},
		"no active":         {http.StatusOK, `{"sub":"svc"}`},
		"not an object":     {http.StatusOK, `[true]`},
		"error status":      {http.StatusUnauthorized, `{"error":"invalid_client"}`},
		"server error":      {http.StatusInternalServerError, `oops`},
	}
	for name, tc := range cases {
		status, answer = tc.status, tc.body
		if got, err := c.Introspect(ctx, Endpoint{URL: srv.URL}, "tok"); err == nil {
			t.Errorf("%s: accepted %+v", name, got)
		}
	}
	status, answer = http.StatusOK, `{"active":true}`
	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Introspect(dctx, Endpoint{URL: srv.URL}, "slow"); err == nil || time.Since(start) > time.Second {
		t.Fatalf("slow endpoint: %v after %v", err, time.Since(start))
	}
}
