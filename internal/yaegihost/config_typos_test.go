package yaegihost

import (
	"context"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	gatehouse "github.com/gatehouse-oidc/gatehouse"
	"github.com/mitchellh/mapstructure"
	"gopkg.in/yaml.v3"
)

// Traefik drops option names that match no field of the plugin's configuration. A
// misspelled "authorisation:" or "allowedGroup:" used to leave the route open to
// every signed-in user. These tests go through Traefik's decoding (mapstructure v1.5,
// WeaklyTypedInput, StringToSliceHookFunc(",")) from each place a configuration comes
// from — a file provider's YAML, Docker labels, the catalog's testData — compiled and
// under Yaegi.

// decodeCompiled is the host's CreateConfig path with the plugin compiled.
func decodeCompiled(cfg map[string]any) (*gatehouse.Config, error) {
	c := gatehouse.CreateConfig()
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.StringToSliceHookFunc(","), WeaklyTypedInput: true, Result: c,
	})
	if err != nil {
		return nil, err
	}
	return c, d.Decode(cfg)
}

// buildError builds a middleware from cfg the way runtime md does and returns the
// error Traefik would log ("" when it builds).
func buildError(t *testing.T, md string, cfg map[string]any) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	next := http.NotFoundHandler()
	var err error
	if md == "yaegi" {
		_, err = host(t).Build(ctx, next, cfg, "typo@file")
	} else {
		var c *gatehouse.Config
		if c, err = decodeCompiled(cfg); err == nil {
			_, err = gatehouse.New(ctx, next, c, "typo@file")
		}
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func forEachRuntime(t *testing.T, f func(t *testing.T, md string)) {
	for _, md := range []string{"yaegi", "compiled"} {
		md := md
		t.Run(md, func(t *testing.T) { f(t, md) })
	}
}

// unknownKeys lists the keys of the Unknown field of the struct reached by path
// (field names) from the decoded *Config v.
func unknownKeys(v reflect.Value, path ...string) []string {
	v = v.Elem()
	for _, p := range path {
		v = v.FieldByName(p)
	}
	var keys []string
	for _, k := range v.FieldByName("Unknown").MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	return keys
}

// TestTraefiksDecoderCollectsUnknownOptionsInInterpretedConfig proves that
// mapstructure honours the ",remain" tag on the interpreted Config (Yaegi builds its
// struct types at run time) exactly as on the compiled one, at every depth.
func TestTraefiksDecoderCollectsUnknownOptionsInInterpretedConfig(t *testing.T) {
	in := func() map[string]any {
		cfg := baseConfig()
		cfg["authorisation"] = map[string]any{"allowedGroups": []any{"admins"}}
		cfg["authorization"] = map[string]any{"allowedGroup": "admins", "allowedUsers": "alice"}
		cfg["cache"] = map[string]any{"redis": map[string]any{"sentinel": map[string]any{"masterNmae": "mymaster"}}}
		return cfg
	}
	interpreted, err := host(t).CreateConfig(in())
	if err != nil {
		t.Fatal(err)
	}
	c, err := decodeCompiled(in())
	if err != nil {
		t.Fatal(err)
	}
	compiled := reflect.ValueOf(c)
	for _, tc := range []struct {
		path []string
		want string
	}{
		{nil, "authorisation"},
		{[]string{"Authorization"}, "allowedGroup"},
		{[]string{"Cache", "Redis", "Sentinel"}, "masterNmae"},
		{[]string{"Provider"}, ""},
	} {
		for name, v := range map[string]reflect.Value{"yaegi": interpreted, "compiled": compiled} {
			if got := strings.Join(unknownKeys(v, tc.path...), ","); got != tc.want {
				t.Errorf("%s: Unknown of %v = %q, want %q", name, tc.path, got, tc.want)
			}
		}
	}
	if users := interpreted.Elem().FieldByName("Authorization").FieldByName("AllowedUsers"); users.Len() != 1 {
		t.Fatalf("known options beside an unknown one were not decoded: %v", users)
	}
	// CreateConfig's defaults carry no unknown options.
	if got := unknownKeys(host(t).fnCreateConfig.Call(nil)[0]); len(got) != 0 {
		t.Fatalf("CreateConfig: %v", got)
	}
}

// fileProviderYAML is a dynamic configuration file with a misspelled group and a
// misspelled option, plus the maps whose keys are the operator's own.
const fileProviderYAML = `
http:
  middlewares:
    sso:
      plugin:
        gatehouse:
          provider:
            issuer: https://idp.example.com
            clientID: gatehouse
            clientSecret: client-secret-value
            authParams:
              prompt: login
          session:
            keys:
              - 0123456789abcdef0123456789abcdef-key
          authorisation:
            allowedGroups:
              - admins
          headers:
            templates:
              X-Tenant: "{{ .claims.tenant }}"
          throttle:
            failure: 5
          logFormat: json
`

// TestMisspelledOptionsInAFileProviderAreRefusedNotIgnored: the file provider's
// YAML, decoded as the host does, then Traefik's mapstructure path.
func TestMisspelledOptionsInAFileProviderAreRefusedNotIgnored(t *testing.T) {
	var doc any
	if err := yaml.Unmarshal([]byte(fileProviderYAML), &doc); err != nil {
		t.Fatal(err)
	}
	cfgs := pluginMaps(doc, "")
	if len(cfgs) != 1 {
		t.Fatalf("%d plugin configurations", len(cfgs))
	}
	forEachRuntime(t, func(t *testing.T, md string) {
		got := buildError(t, md, cfgs[0])
		for _, want := range []string{
			"gatehouse: invalid configuration: authorisation: unknown option; did you mean authorization?",
			"; logFormat: unknown option; did you mean log.format?",
			"; throttle.failure: unknown option; did you mean throttle.failures?",
		} {
			if !strings.Contains(got, want) {
				t.Fatalf("error %q lacks %q", got, want)
			}
		}
		if strings.Contains(got, "authParams") || strings.Contains(got, "X-Tenant") {
			t.Fatalf("a map of the operator's own names was refused: %s", got)
		}
	})
}

// TestMisspelledOptionsInDockerLabelsAreRefusedNotIgnored: labels reach the plugin as
// nested maps of strings, keys as written in the labels.
func TestMisspelledOptionsInDockerLabelsAreRefusedNotIgnored(t *testing.T) {
	const p = "traefik.http.middlewares.sso.plugin.gatehouse."
	labels := []any{
		p + "provider.issuer=https://idp.example.com",
		p + "provider.clientID=gatehouse",
		p + "provider.clientSecret=client-secret-value",
		p + "session.keys=0123456789abcdef0123456789abcdef-key",
		p + "authorization.allowedGroup=admins",
		p + "Authorization.RequireVerifiedEmails=true",
		p + "headers.templates.X-Tenant={{ .claims.tenant }}",
	}
	into := map[string]map[string]any{}
	collectLabels(labels, into)
	forEachRuntime(t, func(t *testing.T, md string) {
		got := buildError(t, md, into["sso"])
		for _, want := range []string{
			"authorization.RequireVerifiedEmails: unknown option; did you mean authorization.requireVerifiedEmail?",
			"authorization.allowedGroup: unknown option; did you mean authorization.allowedGroups?",
		} {
			if !strings.Contains(got, want) {
				t.Fatalf("error %q lacks %q", got, want)
			}
		}
	})
}

// TestAMisspelledOptionInTheCatalogsTestDataFailsItsCheck: the plugin catalog decodes
// .traefik.yml's testData over CreateConfig and calls New; a misspelling there must
// fail the check rather than pass with the option ignored.
func TestAMisspelledOptionInTheCatalogsTestDataFailsItsCheck(t *testing.T) {
	h := *host(t)
	data := map[string]any{}
	for k, v := range h.Manifest.TestData {
		data[k] = v
	}
	data["authorisation"] = map[string]any{"allowedGroups": []any{"staff"}}
	h.Manifest.TestData = data
	err := h.CatalogCheck()
	if err == nil || !strings.Contains(err.Error(), "authorisation: unknown option; did you mean authorization?") {
		t.Fatalf("catalog check: %v", err)
	}
	if err := host(t).CatalogCheck(); err != nil {
		t.Fatalf("the shipped testData: %v", err)
	}
}

// TestAWronglyTypedOptionIsStillAClearError: a map where a string is expected, or a
// string where a group is, fails in Traefik's decoder with the option's name; the
// remain fields swallow neither.
func TestAWronglyTypedOptionIsStillAClearError(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, md string) {
		cfg := baseConfig()
		cfg["provider"].(map[string]any)["issuer"] = map[string]any{"url": "https://idp.example.com"}
		if got := buildError(t, md, cfg); !strings.Contains(got, "'Provider.Issuer' expected type 'string'") {
			t.Fatalf("a map for a string: %q", got)
		}
		cfg = baseConfig()
		cfg["authorization"] = "admins"
		if got := buildError(t, md, cfg); !strings.Contains(got, "'Authorization' expected a map, got 'string'") {
			t.Fatalf("a string for a group: %q", got)
		}
	})
}
