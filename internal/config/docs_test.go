package config

import (
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// leafOptions walks Config and returns every option path with its default rendered as
// the documentation shows it.
func leafOptions() map[string]string {
	out := map[string]string{}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := 0; i < v.NumField(); i++ {
			if IsRemainField(v.Type().Field(i)) {
				continue // collects misspelled options: not an option
			}
			name := prefix + OptionName(v.Type().Field(i).Name)
			if prefix == "provider." && slices.Contains(EntryOnlyProviderOptions, name[len(prefix):]) {
				continue // documented as providers[].id etc.
			}
			f := v.Field(i)
			switch f.Kind() {
			case reflect.Struct:
				walk(f, name+".")
			case reflect.Slice:
				out[name] = strings.Join(ListDefaults[name], ",")
				if name == "providers" {
					// An entry takes every provider.* option (documented once,
					// there) and its own, documented as providers[].id etc.
					for _, o := range EntryOnlyProviderOptions {
						out["providers[]."+o] = ""
					}
					continue
				}
				if f.Type().Elem().Kind() == reflect.Struct {
					// A list of option groups (rules): its fields as rules[].path.
					walk(reflect.New(f.Type().Elem()).Elem(), name+"[].")
				}
			case reflect.Map:
				out[name] = ""
			case reflect.Bool:
				out[name] = strconv.FormatBool(f.Bool())
			case reflect.Int:
				out[name] = strconv.FormatInt(f.Int(), 10)
			default:
				out[name] = f.String()
			}
		}
	}
	walk(reflect.ValueOf(*Default()), "")
	return out
}

func TestConfigurationDocListsEveryOptionWithItsDefault(t *testing.T) {
	b, err := os.ReadFile("../../docs/CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") || strings.HasPrefix(line, "| `.") {
			continue // not a row, or a row of the pages' template fields
		}
		cols := strings.Split(line, "|")
		if len(cols) < 5 {
			t.Fatalf("malformed row: %s", line)
		}
		name := strings.Trim(strings.TrimSpace(cols[1]), "`")
		def := strings.TrimSpace(cols[3])
		if def == "—" {
			def = ""
		}
		documented[name] = strings.Trim(def, "`")
	}
	options := leafOptions()
	var names []string
	for n := range options {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		def, ok := documented[n]
		if !ok {
			t.Errorf("option %s is not documented in docs/CONFIGURATION.md", n)
			continue
		}
		if def != options[n] {
			t.Errorf("option %s: documented default %q, code default %q", n, def, options[n])
		}
	}
	for n := range documented {
		if _, ok := options[n]; !ok {
			t.Errorf("docs/CONFIGURATION.md documents %s, which Config does not have", n)
		}
	}
}

func TestOptionNames(t *testing.T) {
	for in, want := range map[string]string{
		"ClientID": "clientID", "HTTPTimeout": "httpTimeout", "TLS": "tls", "L1MaxBytes": "l1MaxBytes",
		"PKCE": "pkce", "HMACWithClientSecret": "hmacWithClientSecret", "ExcludedURLs": "excludedURLs",
		"CAFile": "caFile", "URL": "url", "WWWAuthenticate": "wwwAuthenticate", "Issuer": "issuer",
	} {
		if got := OptionName(in); got != want {
			t.Errorf("OptionName(%s) = %s, want %s", in, got, want)
		}
	}
}
