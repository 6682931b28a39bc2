package auth

import (
	"net/http"
	"net/url"
	"testing"
)

func TestSafeReturnPathNeverLeavesTheSite(t *testing.T) {
	cases := map[string]string{
		"/app/page?x=1":            "/app/page?x=1",
		"//evil.example":           "/",
		"//evil.example/x":         "/",
		"/\\evil.example":          "/",
		"/%2F%2Fevil":              "/",
		"/%5Cevil":                 "/",
		"/%09/evil.example":        "/",
		"/ok%20path":               "/ok%20path",
		"https:evil.example":       "/",
		"https://evil.example/x":   "/",
		"/%2f%2fevil.example":      "/",
		"/%5c%5cevil.example":      "/",
		"/app?next=//evil.example": "/app?next=//evil.example",
		"/\t/evil.example":         "/",
		"javascript:alert(1)":      "/",
	}
	for uri, want := range cases {
		u := &url.URL{Opaque: uri}
		req := &http.Request{Method: "GET", URL: u}
		if got := safeReturnPath(req); got != want {
			t.Errorf("%q: got %q, want %q", uri, got, want)
		}
		// As the server parses it too (RequestURI: Path, RawQuery).
		if pu, err := url.ParseRequestURI(uri); err == nil {
			got := safeReturnPath(&http.Request{Method: "GET", URL: pu})
			if r, err := url.Parse(got); err != nil || r.Host != "" || r.Scheme != "" || len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
				t.Errorf("%q parsed: return path %q leaves the site", uri, got)
			}
		}
	}
	post := &http.Request{Method: "POST", URL: &url.URL{Path: "/form"}}
	if safeReturnPath(post) != "/" {
		t.Error("a POST must not be replayed as a return URL")
	}
}

func TestIdentifierSanitising(t *testing.T) {
	for id, ok := range map[string]bool{
		"svc-billing":             true,
		"1234-abcd@clients":       true,
		"":                        false,
		"a,b":                     false,
		"a;b":                     false,
		"a=b":                     false,
		"evil\u202eedoc":          false,
		"tab\tid":                 false,
		"new\nline":               false,
		"\xff\xfe":                false,
		string(make([]byte, 300)): false,
		"\u212Aate":               false,
		"svc\u200b":               false,
		"svc-\uff41":              false,
	} {
		if _, got := sanitizeIdentifier(id, 256); got != ok {
			t.Errorf("%q: ok=%v, want %v", id, got, ok)
		}
	}
}

func TestBearerChallenge(t *testing.T) {
	if got := bearerChallenge("invalid_token", "the token is not valid", ""); got != `Bearer realm="gatehouse", error="invalid_token", error_description="the token is not valid"` {
		t.Fatal(got)
	}
	if got := bearerChallenge("insufficient_scope", "", "api:read"); got != `Bearer realm="gatehouse", error="insufficient_scope", scope="api:read"` {
		t.Fatal(got)
	}
}

// TestSignOutFormCSPNamesOnlyPlainOrigins: a provider-supplied end-session URL can
// add an origin to form-action, never another directive.
func TestSignOutFormCSPNamesOnlyPlainOrigins(t *testing.T) {
	for in, want := range map[string]string{
		"https://idp.example.com/realms/x/logout?y=1": " https://idp.example.com",
		"http://127.0.0.1:9000/end":                   " http://127.0.0.1:9000",
		"https://idp.example.com;script-src *":        "",
		"https://a;b/logout":                          "",
		"javascript:alert(1)":                         "",
		"/signed-out":                                 "",
		"":                                            "",
	} {
		if got := cspOrigin(in); got != want {
			t.Errorf("cspOrigin(%q) = %q, want %q", in, got, want)
		}
	}
	if got := strictCSP("", "'self' https://idp.example.com"); got != "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https://idp.example.com; frame-ancestors 'none'" {
		t.Errorf("strictCSP = %q", got)
	}
}
