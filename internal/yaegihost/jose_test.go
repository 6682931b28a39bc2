package yaegihost

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"
)

// internal/jose under Yaegi: the interpreter imports internal/jose/josetest (and so
// internal/jose) from the plugin's GOPATH and runs the same vectors, attack catalogue,
// key, claims and key-set scenarios as the compiled tests. Every line must be
// identical to the compiled run, and every outcome the expected one.

var joseImport sync.Once

func joseFunc(t testing.TB, name string) reflect.Value {
	t.Helper()
	h := host(t)
	var err error
	joseImport.Do(func() {
		_, err = h.Eval(`import "github.com/gatehouse-oidc/gatehouse/internal/jose/josetest"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := h.Eval("josetest." + name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func compareLines(t *testing.T, what string, compiled, interpreted []string) {
	t.Helper()
	if len(compiled) == 0 {
		t.Fatalf("%s: no lines", what)
	}
	for i := 0; i < len(compiled) || i < len(interpreted); i++ {
		var c, y string
		if i < len(compiled) {
			c = compiled[i]
		}
		if i < len(interpreted) {
			y = interpreted[i]
		}
		if c != y {
			t.Errorf("%s line %d differs:\ncompiled: %s\n   yaegi: %s", what, i, c, y)
		}
		if strings.Contains(y, "[UNEXPECTED") {
			t.Errorf("%s under Yaegi: %s", what, y)
		}
	}
}

// TestJoseUnderYaegiMatchesCompiled runs every token, key, key-set, claims and typ
// case of josetest.Run in the interpreter and compiled.
func TestJoseUnderYaegiMatchesCompiled(t *testing.T) {
	run := joseFunc(t, "Run").Interface().(func() []string)
	interpreted := run()
	compiled := josetest.Run()
	if len(compiled) < 400 {
		t.Fatalf("only %d cases", len(compiled))
	}
	compareLines(t, "josetest.Run", compiled, interpreted)
}

// TestJoseKeySetScenariosUnderYaegiMatchCompiled runs the remote key-set scenarios
// (rotation, 200-goroutine unknown-kid floods, shared fetches, max-age, failures,
// deadline, shared cache, nothing fetched before PreCheck, kid-less rotation) in the
// interpreter against a real HTTP server, and compiled against another.
func TestJoseKeySetScenariosUnderYaegiMatchCompiled(t *testing.T) {
	scenario := joseFunc(t, "RemoteScenario").Interface().(func(string, string) []string)
	for _, name := range josetest.ScenarioNames() {
		name := name
		t.Run(name, func(t *testing.T) {
			ySrv := httptest.NewServer(josetest.NewJWKSServer(josetest.NewKeys()))
			defer ySrv.Close()
			cSrv := httptest.NewServer(josetest.NewJWKSServer(josetest.NewKeys()))
			defer cSrv.Close()
			compareLines(t, name, josetest.RemoteScenario(cSrv.URL, name), scenario(ySrv.URL, name))
		})
	}
}
