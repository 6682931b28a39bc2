package config

import (
	"reflect"
	"strings"
	"testing"
)

// compileProblems compiles c and returns the error's text ("" when it compiles).
func compileProblems(t *testing.T, c *Config) string {
	t.Helper()
	_, err := compile(t, c)
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestMisspelledOptionsAreRefusedWithTheOptionMeant: Traefik drops names that match
// no field, so "authorisation:" or "allowedGroup:" used to leave the route open to
// every signed-in user. Each is refused with its full path and the likely option.
func TestMisspelledOptionsAreRefusedWithTheOptionMeant(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"british spelling of a group", func(c *Config) {
			c.Unknown = map[string]any{"authorisation": map[string]any{"allowedGroups": []any{"admins"}}}
		}, "authorisation: unknown option; did you mean authorization?"},
		{"singular list name", func(c *Config) {
			c.Authorization.Unknown = map[string]any{"allowedGroup": "admins"}
		}, "authorization.allowedGroup: unknown option; did you mean authorization.allowedGroups?"},
		{"case and swapped letters", func(c *Config) {
			c.Authorization.Unknown = map[string]any{"AlowedUSERS": "alice"}
		}, "authorization.AlowedUSERS: unknown option; did you mean authorization.allowedUsers?"},
		{"an option at the wrong level", func(c *Config) {
			c.Unknown = map[string]any{"allowedGroups": "admins"}
		}, "allowedGroups: unknown option; did you mean authorization.allowedGroups?"},
		{"deep in the tree", func(c *Config) {
			c.Cache.Redis.Sentinel.Unknown = map[string]any{"masterNmae": "mymaster"}
		}, "cache.redis.sentinel.masterNmae: unknown option; did you mean cache.redis.sentinel.masterName?"},
		{"a new group's list in the singular", func(c *Config) {
			c.Metrics.Unknown = map[string]any{"allowedIP": "10.0.0.0/8"}
		}, "metrics.allowedIP: unknown option; did you mean metrics.allowedIPs?"},
		{"log options spelled like logLevel", func(c *Config) {
			c.Unknown = map[string]any{"logFormat": "json"}
		}, "logFormat: unknown option; did you mean log.format?"},
		{"a nested option flattened one level down", func(c *Config) {
			c.Cache.Unknown = map[string]any{"redisURL": "redis://x"}
		}, "cache.redisURL: unknown option; did you mean cache.redis.url?"},
		{"nothing close", func(c *Config) {
			c.Throttle.Unknown = map[string]any{"zzzzzz": "1"}
		}, "throttle.zzzzzz: unknown option (Traefik would ignore it; Gatehouse refuses it); the options here are enabled, failures, window, penalty"},
		{"the same option twice in two cases", func(c *Config) {
			c.Unknown = map[string]any{"Authorization": map[string]any{}}
		}, "Authorization: repeats authorization in another case; give it once"},
		{"a group given as the remain field's own name", func(c *Config) {
			c.Unknown = map[string]any{"unknown": "x"}
		}, "unknown: unknown option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			got := compileProblems(t, c)
			if !strings.Contains(got, "gatehouse: invalid configuration: "+tc.want) {
				t.Fatalf("got %q\nwant it to start with %q", got, tc.want)
			}
		})
	}
}

// TestEveryUnknownOptionIsNamed: several at several levels, each its own problem, in
// a stable order, before any other problem.
func TestEveryUnknownOptionIsNamed(t *testing.T) {
	c := valid()
	c.Unknown = map[string]any{"logLvl": "debug", "authorisation": map[string]any{}}
	c.Session.Unknown = map[string]any{"lifetme": "1h"}
	c.Provider.ClientID = "" // another problem, reported after them
	_, err := compile(t, c)
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("%v", err)
	}
	var got []string
	for _, p := range e.Problems {
		got = append(got, p.Option)
	}
	want := []string{"authorisation", "logLvl", "session.lifetme", "provider.clientID"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("problems %v, want %v", got, want)
	}
	if e.Problems[1].Message != "unknown option; did you mean logLevel?" || e.Problems[2].Message != "unknown option; did you mean session.lifetime?" {
		t.Fatalf("%+v", e.Problems)
	}
}

// TestEveryConfigGroupCollectsUnknownOptions: a group without a remain field would
// let a misspelled option inside it pass silently again.
func TestEveryConfigGroupCollectsUnknownOptions(t *testing.T) {
	var walk func(t2 reflect.Type, path string)
	walk = func(t2 reflect.Type, path string) {
		remains := 0
		for i := 0; i < t2.NumField(); i++ {
			f := t2.Field(i)
			if IsRemainField(f) {
				remains++
				if f.Type != reflect.TypeOf(map[string]any{}) {
					t.Errorf("%s: the remain field is %s, want map[string]any", path, f.Type)
				}
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, path+"."+OptionName(f.Name))
			}
		}
		if remains != 1 {
			t.Errorf("%s (%s) has %d fields tagged mapstructure:\",remain\", want 1", path, t2.Name(), remains)
		}
	}
	walk(reflect.TypeOf(Config{}), "config")
}

// TestMapsOfNamesHaveNoUnknownKeys: provider.authParams and headers.templates take
// names of the operator's own; they are not misspellings.
func TestMapsOfNamesHaveNoUnknownKeys(t *testing.T) {
	c := valid()
	c.Provider.AuthParams = map[string]string{"prompt": "login", "kc_idp_hint": "corp"}
	c.Headers.Templates = map[string]string{"X-Tenant": "{{ .claims.tenant }}"}
	if got := compileProblems(t, c); got != "" {
		t.Fatal(got)
	}
	if p := UnknownOptions(Default()); len(p) != 0 {
		t.Fatalf("the defaults have unknown options: %+v", p)
	}
}

func TestEditDistanceCountsSwapsAsOneEdit(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"abc", "", 3}, {"authorisation", "authorization", 1},
		{"allowedgroup", "allowedgroups", 1}, {"alowedusers", "allowedusers", 1}, {"ab", "ba", 1},
		{"lifetme", "lifetime", 1}, {"kitten", "sitting", 3}, {"ä", "a", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
