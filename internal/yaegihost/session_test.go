package yaegihost

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost/sessionprobe"
	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost/yaegilint"
)

const sessionProbePath = ModuleName + "/internal/yaegihost/sessionprobe"

var (
	sessionProbeOnce sync.Once
	sessionProbeErr  error
)

// sessionProbe loads internal/yaegihost/sessionprobe into the shared plugin
// interpreter: the host stages the module as Traefik gets it (without this nested
// module), so the probe's sources are copied into the same GOPATH and imported
// there, where they import the staged internal/session.
func sessionProbe(t testing.TB) *Host {
	t.Helper()
	h := host(t)
	sessionProbeOnce.Do(func() {
		dst := filepath.Join(h.GoPath, "src", filepath.FromSlash(sessionProbePath))
		if sessionProbeErr = os.MkdirAll(dst, 0o755); sessionProbeErr != nil {
			return
		}
		var b []byte
		if b, sessionProbeErr = os.ReadFile(filepath.Join("sessionprobe", "probe.go")); sessionProbeErr != nil {
			return
		}
		if sessionProbeErr = os.WriteFile(filepath.Join(dst, "probe.go"), b, 0o644); sessionProbeErr != nil {
			return
		}
		_, sessionProbeErr = h.Eval(`import "` + sessionProbePath + `"`)
	})
	if sessionProbeErr != nil {
		t.Fatal(sessionProbeErr)
	}
	return h
}

func evalFunc(t testing.TB, h *Host, name string) reflect.Value {
	t.Helper()
	v, err := h.Eval("sessionprobe." + name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSessionScenariosRunIdenticallyUnderYaegi runs round trip, tampering, instance
// binding, key rotation, purposes, lifetimes, chunking of a 200-group session,
// cookie stripping and parallel login transactions compiled and in the plugin's
// interpreter: both transcripts must meet every expectation and be identical.
func TestSessionScenariosRunIdenticallyUnderYaegi(t *testing.T) {
	compiled := sessionprobe.Transcript()
	h := sessionProbe(t)
	interpreted := evalFunc(t, h, "Transcript").Call(nil)[0].String()
	for _, want := range []string{"round trip equal: true", "tamper accepted: 0", "other instance: wrong-instance",
		"old key after rotation: ok", "removed key: unknown-key", "200 groups every line under 4096: true",
		"read 200 groups: ok", "extra chunk: chunks", "missing chunk: chunks", "finish /inbox: /inbox",
		"transactions held after 7 logins: 4"} {
		if !strings.Contains(compiled, want+"\n") {
			t.Errorf("compiled transcript lacks %q", want)
		}
	}
	cl, il := strings.Split(compiled, "\n"), strings.Split(interpreted, "\n")
	for i := 0; i < len(cl) || i < len(il); i++ {
		var c, y string
		if i < len(cl) {
			c = cl[i]
		}
		if i < len(il) {
			y = il[i]
		}
		if strings.Contains(c, "FAIL") {
			t.Errorf("compiled: %s", c)
		}
		if c != y {
			t.Errorf("line %d differs:\ncompiled:    %s\ninterpreted: %s", i+1, c, y)
		}
	}
	t.Logf("transcript (identical compiled and under Yaegi):\n%s", interpreted)
}

// TestSessionProbeHasNoYaegiTraps: the probe runs in the interpreter too, so it is
// held to the plugin's rules (it lives in this nested module, which the repository
// check skips).
func TestSessionProbeHasNoYaegiTraps(t *testing.T) {
	findings, err := yaegilint.CheckDir("sessionprobe", ModuleName)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

// TestSealedValuesCrossBetweenCompiledAndYaegi: a session sealed by compiled code
// opens in the interpreter and the other way round, so replicas agree whatever runs
// them and the key derivation is the same in both.
func TestSealedValuesCrossBetweenCompiledAndYaegi(t *testing.T) {
	h := sessionProbe(t)
	fromCompiled := sessionprobe.SealText(200)
	if got := evalFunc(t, h, "OpenText").Call([]reflect.Value{reflect.ValueOf(fromCompiled)})[0].String(); got != "ok probe-session-id-0001 200" {
		t.Fatalf("compiled-sealed session opened under Yaegi: %s", got)
	}
	fromYaegi := evalFunc(t, h, "SealText").Call([]reflect.Value{reflect.ValueOf(5)})[0].String()
	if got := sessionprobe.OpenText(fromYaegi); got != "ok probe-session-id-0001 5" {
		t.Fatalf("Yaegi-sealed session opened compiled: %s", got)
	}
	tampered := fromYaegi[:80] + "A" + fromYaegi[81:]
	if fromYaegi[80] == 'A' {
		tampered = fromYaegi[:80] + "B" + fromYaegi[81:]
	}
	if got := sessionprobe.OpenText(tampered); got != "tampered" {
		t.Fatalf("tampered Yaegi-sealed session: %s", got)
	}
}
