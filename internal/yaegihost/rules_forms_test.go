package yaegihost

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The three forms of a policy (docs/POLICIES.md): YAML of Traefik's file provider,
// Docker labels (strings only, lists of rules as rules[0].path), and a Kubernetes
// Middleware resource (JSON) — each decoded into the plugin's configuration through
// the mapstructure path Traefik uses, compiled and under Yaegi.

// labelNode is a node of Traefik's label tree (github.com/traefik/paerser's
// parser.Node, as far as plugin configuration goes).
type labelNode struct {
	name     string
	value    string
	children []*labelNode
}

// pluginConfigFromLabels does what Traefik does with the Docker labels of a plugin
// middleware, after paerser's DecodeToNode and nodeToRawMap: the label names (after
// prefix) sorted as strings, split at dots, "name[i]" split into "name" and "[i]",
// children kept in the order first seen; a node whose first child is "[…]" becomes a
// list of its children's values in that order, any other node with children a map,
// a leaf its string. So the list order is the sorted order of the labels: rules[10]
// sorts before rules[2] — which is why the documentation numbers them rules[00],
// rules[01], ….
func pluginConfigFromLabels(labels map[string]string, prefix string) map[string]any {
	var keys []string
	for k := range labels {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	root := &labelNode{}
	for _, k := range keys {
		var parts []string
		for _, v := range strings.Split(strings.TrimPrefix(k, prefix), ".") {
			if i := strings.IndexByte(v, '['); i > 0 && strings.HasSuffix(v, "]") {
				parts = append(parts, v[:i], v[i:])
				continue
			}
			parts = append(parts, v)
		}
		n := root
		for _, p := range parts {
			var child *labelNode
			for _, c := range n.children {
				if c.name == p {
					child = c
				}
			}
			if child == nil {
				child = &labelNode{name: p}
				n.children = append(n.children, child)
			}
			n = child
		}
		n.value = labels[k]
	}
	return squashLabels(root).(map[string]any)
}

func squashLabels(n *labelNode) any {
	if len(n.children) == 0 {
		return n.value
	}
	if strings.HasPrefix(n.children[0].name, "[") {
		var list []any
		for _, c := range n.children {
			list = append(list, squashLabels(c))
		}
		return list
	}
	m := map[string]any{}
	for _, c := range n.children {
		m[c.name] = squashLabels(c)
	}
	return m
}

// policyYAML is the policy of the three forms, as a file-provider YAML would give it.
const policyYAML = `
rules:
  - name: health
    path: /health
    action: allow
  - name: admin
    path: /admin/
    methods: [GET, POST]
    require:
      groups: [admins]
      allOf:
        - claim: realm_access.roles
          contains: admin
  - name: api
    pathRegexp: /api/v[0-9]+/.*
    preflight: allow
    require:
      anyOf:
        - claim: groups
          in: [engineering, sales]
        - claim: email
          matches: .*@partner\.example
  - name: closed
    path: /old/
    action: deny
`

// policyLabels is the same policy as Docker labels.
var policyLabels = map[string]string{
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[0].name":                      "health",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[0].path":                      "/health",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[0].action":                    "allow",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[1].name":                      "admin",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[1].path":                      "/admin/",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[1].methods":                   "GET,POST",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[1].require.groups":            "admins",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[1].require.allOf[0].claim":    "realm_access.roles",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[1].require.allOf[0].contains": "admin",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[2].name":                      "api",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[2].pathRegexp":                "/api/v[0-9]+/.*",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[2].preflight":                 "allow",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[2].require.anyOf[0].claim":    "groups",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[2].require.anyOf[0].in":       "engineering,sales",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[2].require.anyOf[1].claim":    "email",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[2].require.anyOf[1].matches":  `.*@partner\.example`,
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[3].name":                      "closed",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[3].path":                      "/old/",
	"traefik.http.middlewares.gh.plugin.gatehouse.rules[3].action":                    "deny",
	"traefik.http.middlewares.gh.plugin.gatehouse.provider.issuer":                    "https://idp.example.com",
	"traefik.http.routers.app.middlewares":                                            "gh",
}

// policyCRD is the same policy as the spec of a Kubernetes Middleware resource
// (traefik.io/v1alpha1), as the API server stores it: JSON.
const policyCRD = `{"plugin": {"gatehouse": {"rules": [
  {"name": "health", "path": "/health", "action": "allow"},
  {"name": "admin", "path": "/admin/", "methods": ["GET", "POST"],
   "require": {"groups": ["admins"], "allOf": [{"claim": "realm_access.roles", "contains": "admin"}]}},
  {"name": "api", "pathRegexp": "/api/v[0-9]+/.*", "preflight": "allow",
   "require": {"anyOf": [{"claim": "groups", "in": ["engineering", "sales"]}, {"claim": "email", "matches": ".*@partner\\.example"}]}},
  {"name": "closed", "path": "/old/", "action": "deny"}
]}}}`

// TestPolicyDecodesFromYAMLLabelsAndCRDUnderYaegi: the three forms give the same
// middleware: the same answers on the same requests, and the same explanation.
func TestPolicyDecodesFromYAMLLabelsAndCRDUnderYaegi(t *testing.T) {
	forms := map[string]func() map[string]any{
		"yaml": func() map[string]any {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(policyYAML), &m); err != nil {
				t.Fatal(err)
			}
			return m
		},
		"labels": func() map[string]any {
			return pluginConfigFromLabels(policyLabels, "traefik.http.middlewares.gh.plugin.gatehouse.")
		},
		"crd": func() map[string]any {
			var spec struct{ Plugin map[string]map[string]any }
			if err := json.Unmarshal([]byte(policyCRD), &spec); err != nil {
				t.Fatal(err)
			}
			return spec.Plugin["gatehouse"]
		},
	}
	forEachMode(t, func(t *testing.T, md mode) {
		for name, form := range forms {
			cfg := baseConfig()
			cfg["rules"] = form()["rules"]
			srv := startGatehouse(t, md, cfg, "forms-"+name+"@file")
			for _, c := range []struct {
				method, path string
				hdr          []string
				want         int
			}{
				{"GET", "/health", nil, http.StatusOK},
				{"GET", "/old/page", nil, http.StatusForbidden},
				{"GET", "/admin/x", nil, http.StatusUnauthorized},
				{"OPTIONS", "/api/v2/items", []string{"Origin", "https://spa.example", "Access-Control-Request-Method", "GET"}, http.StatusOK},
				{"OPTIONS", "/api/vx/items", []string{"Origin", "https://spa.example", "Access-Control-Request-Method", "GET"}, http.StatusUnauthorized},
			} {
				req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
				req.Header.Set("Accept", "application/json")
				for i := 0; i+1 < len(c.hdr); i += 2 {
					req.Header.Set(c.hdr[i], c.hdr[i+1])
				}
				resp, body := doRequest(t, req)
				if resp.StatusCode != c.want {
					t.Errorf("%s: %s %s: %d, want %d\n%s", name, c.method, c.path, resp.StatusCode, c.want, body)
				}
				if c.path == "/old/page" && !strings.Contains(body, `"rule":"rules[3] \"closed\""`) {
					t.Errorf("%s: the denial names %s", name, body)
				}
			}
		}
	})
}

// TestLabelRulesKeepTheirOrderWhenNumberedWithEqualWidthUnderYaegi: Traefik sorts
// labels as text, so rules[10] comes before rules[2]. Eleven rules numbered
// rules[00] … rules[10] keep their order (a deny rule at 01 wins over an allow rule
// at 10 for the same path); numbered rules[0] … rules[10], the allow rule moves up
// to second place and wins — the documented reason to pad.
func TestLabelRulesKeepTheirOrderWhenNumberedWithEqualWidthUnderYaegi(t *testing.T) {
	labels := func(width int) map[string]string {
		out := map[string]string{}
		idx := func(i int) string {
			s := strings.Repeat("0", width) + itoa(i)
			return s[len(s)-width:]
		}
		p := "traefik.http.middlewares.gh.plugin.gatehouse.rules["
		for i := 0; i <= 10; i++ {
			out[p+idx(i)+"].path"] = "/r" + itoa(i) + "/"
		}
		out[p+idx(1)+"].path"] = "/shared/"
		out[p+idx(1)+"].action"] = "deny"
		out[p+idx(10)+"].path"] = "/shared/"
		out[p+idx(10)+"].action"] = "allow"
		return out
	}
	forEachMode(t, func(t *testing.T, md mode) {
		for _, c := range []struct {
			width int
			want  int
		}{{2, http.StatusForbidden}, {1, http.StatusOK}} {
			cfg := baseConfig()
			cfg["rules"] = pluginConfigFromLabels(labels(c.width), "traefik.http.middlewares.gh.plugin.gatehouse.")["rules"]
			srv := startGatehouse(t, md, cfg, "label-order@file")
			resp, body := getAPI(t, srv.URL+"/shared/x", "Accept", "application/json")
			if resp.StatusCode != c.want {
				t.Fatalf("indexes %d wide: %d, want %d\n%s", c.width, resp.StatusCode, c.want, body)
			}
		}
	})
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
