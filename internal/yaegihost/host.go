// Package yaegihost loads Gatehouse the way Traefik v3.7 loads a local plugin: a
// GOPATH copy of the module under src/<moduleName>, the manifest checks Traefik
// applies, one Yaegi v0.16.1 interpreter with the standard-library symbols, the
// plugin's import evaluated with a recover, CreateConfig, mapstructure decoding with
// StringToSliceHookFunc(",") and WeaklyTypedInput, and New called through reflection
// with its result asserted to http.Handler. It also runs the plugin catalog's own
// check. Tests, benchmarks and the demo use it; the plugin never imports it.
package yaegihost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/mitchellh/mapstructure"
	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
	"gopkg.in/yaml.v3"
)

// ModuleName is Gatehouse's module path, which is also the GOPATH directory Traefik
// expects the sources in.
const ModuleName = "github.com/gatehouse-oidc/gatehouse"

// Manifest is .traefik.yml as Traefik reads it.
type Manifest struct {
	DisplayName   string         `yaml:"displayName"`
	Type          string         `yaml:"type"`
	Runtime       string         `yaml:"runtime"`
	Import        string         `yaml:"import"`
	BasePkg       string         `yaml:"basePkg"`
	Compatibility string         `yaml:"compatibility"`
	Summary       string         `yaml:"summary"`
	UseUnsafe     bool           `yaml:"useUnsafe"`
	TestData      map[string]any `yaml:"testData"`
}

// Host is one loaded plugin: one interpreter, shared by every middleware instance
// built from it, as in Traefik.
type Host struct {
	GoPath   string
	Manifest Manifest

	interp         *interp.Interpreter
	fnNew          reflect.Value
	fnCreateConfig reflect.Value
	output         *syncBuffer
}

// Options tune Load.
type Options struct {
	// Module is the module path to load; ModuleName when empty.
	Module string
	// Output receives what the interpreted code prints; it is also kept in memory for
	// Output().
	Output io.Writer
}

// RepoRoot returns the repository root, found by walking up from the working
// directory to the go.mod that declares ModuleName.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module "+ModuleName+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("yaegihost: repository root with module " + ModuleName + " not found")
		}
		dir = parent
	}
}

// Stage copies the module at root into goPath/src/<module> the way the Go module zip
// would ship it: without .git and without nested modules (directories holding their
// own go.mod, such as internal/yaegihost).
func Stage(root, goPath, module string) error {
	dst := filepath.Join(goPath, "src", filepath.FromSlash(module))
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel != "." {
				if d.Name() == ".git" || d.Name() == "node_modules" {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		// In a git worktree .git is a file, not a directory; the module zip has
		// neither.
		if !d.Type().IsRegular() || d.Name() == ".git" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

// Load stages the repository at root into a new GOPATH under tmp and loads it.
func Load(root, tmp string, opts Options) (*Host, error) {
	module := opts.Module
	if module == "" {
		module = ModuleName
	}
	goPath := filepath.Join(tmp, "gopath")
	if err := Stage(root, goPath, module); err != nil {
		return nil, fmt.Errorf("yaegihost: staging: %w", err)
	}
	return LoadGoPath(goPath, module, opts)
}

// LoadGoPath loads the plugin whose sources are in goPath/src/<module>.
func LoadGoPath(goPath, module string, opts Options) (*Host, error) {
	m, err := ReadManifest(goPath, module)
	if err != nil {
		return nil, err
	}
	if err := CheckLocalManifest(m, module); err != nil {
		return nil, err
	}
	out := &syncBuffer{tee: opts.Output}
	i := interp.New(interp.Options{
		GoPath: goPath,
		Env:    os.Environ(),
		Stdout: out,
		Stderr: out,
	})
	if err := i.Use(stdlib.Symbols); err != nil {
		return nil, fmt.Errorf("failed to load symbols: %w", err)
	}
	if err := importPlugin(i, m.Import); err != nil {
		return nil, err
	}
	basePkg := m.BasePkg
	if basePkg == "" {
		basePkg = strings.ReplaceAll(path.Base(m.Import), "-", "_")
	}
	fnNew, err := i.Eval(basePkg + `.New`)
	if err != nil {
		return nil, fmt.Errorf("failed to eval New: %w", err)
	}
	fnCreateConfig, err := i.Eval(basePkg + `.CreateConfig`)
	if err != nil {
		return nil, fmt.Errorf("failed to eval CreateConfig: %w", err)
	}
	return &Host{GoPath: goPath, Manifest: *m, interp: i, fnNew: fnNew, fnCreateConfig: fnCreateConfig, output: out}, nil
}

// importPlugin evaluates the import with a recover: a panic while the interpreter
// compiles the plugin must become an error, not crash the host (Traefik recovers the
// same way one level up).
func importPlugin(i *interp.Interpreter, imp string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("failed to import plugin code %q: panic: %v", imp, r)
		}
	}()
	if _, err := i.Eval(fmt.Sprintf(`import %q`, imp)); err != nil {
		return fmt.Errorf("failed to import plugin code %q: %w", imp, err)
	}
	return nil
}

// ReadManifest reads goPath/src/<module>/.traefik.yml.
func ReadManifest(goPath, module string) (*Manifest, error) {
	p := filepath.Join(goPath, "src", filepath.FromSlash(module), ".traefik.yml")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("failed to open the plugin manifest %s: %w", p, err)
	}
	defer func() { _ = f.Close() }()
	m := &Manifest{}
	if err := yaml.NewDecoder(f).Decode(m); err != nil {
		return nil, fmt.Errorf("failed to decode the plugin manifest %s: %w", p, err)
	}
	return m, nil
}

// CheckLocalManifest applies the checks Traefik v3.7 makes on a local plugin's
// manifest before loading it.
func CheckLocalManifest(m *Manifest, module string) error {
	var errs []error
	switch m.Type {
	case "middleware":
		if m.Runtime != "yaegi" && m.Runtime != "wasm" && m.Runtime != "" {
			errs = append(errs, fmt.Errorf("%s: unsupported runtime '%q'", module, m.Runtime))
		}
	case "provider":
		if m.Runtime != "yaegi" && m.Runtime != "" {
			errs = append(errs, fmt.Errorf("%s: unsupported runtime '%q'", module, m.Runtime))
		}
	default:
		errs = append(errs, fmt.Errorf("%s: unsupported type %q", module, m.Type))
	}
	if m.Runtime == "yaegi" || m.Runtime == "" {
		if m.Import == "" {
			errs = append(errs, fmt.Errorf("%s: missing import", module))
		}
		if !strings.HasPrefix(m.Import, module) {
			errs = append(errs, fmt.Errorf("the import %q must be related to the module name %q", m.Import, module))
		}
	}
	if m.DisplayName == "" {
		errs = append(errs, fmt.Errorf("%s: missing DisplayName", module))
	}
	if m.Summary == "" {
		errs = append(errs, fmt.Errorf("%s: missing Summary", module))
	}
	if m.TestData == nil {
		errs = append(errs, fmt.Errorf("%s: missing TestData", module))
	}
	return errors.Join(errs...)
}

// CreateConfig calls the plugin's CreateConfig and decodes config over it exactly as
// Traefik does.
func (h *Host) CreateConfig(config map[string]any) (reflect.Value, error) {
	results := h.fnCreateConfig.Call(nil)
	if len(results) != 1 {
		return reflect.Value{}, fmt.Errorf("invalid number of return for the CreateConfig function: %d", len(results))
	}
	vConfig := results[0]
	if len(config) == 0 {
		return vConfig, nil
	}
	decoder, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.StringToSliceHookFunc(","),
		WeaklyTypedInput: true,
		Result:           vConfig.Interface(),
	})
	if err != nil {
		return reflect.Value{}, fmt.Errorf("failed to create configuration decoder: %w", err)
	}
	if err := decoder.Decode(config); err != nil {
		return reflect.Value{}, fmt.Errorf("failed to decode configuration: %w", err)
	}
	return vConfig, nil
}

// NewHandler calls the plugin's New through reflection, as Traefik does.
func (h *Host) NewHandler(ctx context.Context, next http.Handler, cfg reflect.Value, name string) (http.Handler, error) {
	results := h.fnNew.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(next), cfg, reflect.ValueOf(name)})
	if len(results) > 1 && results[1].Interface() != nil {
		err, ok := results[1].Interface().(error)
		if !ok {
			return nil, fmt.Errorf("invalid error type: %T", results[0].Interface())
		}
		return nil, err
	}
	handler, ok := results[0].Interface().(http.Handler)
	if !ok {
		return nil, fmt.Errorf("invalid handler type: %T", results[0].Interface())
	}
	return handler, nil
}

// Build decodes config and builds one middleware instance named name.
func (h *Host) Build(ctx context.Context, next http.Handler, config map[string]any, name string) (http.Handler, error) {
	cfg, err := h.CreateConfig(config)
	if err != nil {
		return nil, err
	}
	return h.NewHandler(ctx, next, cfg, name)
}

// CatalogCheck runs the plugin catalog's automatic check: testData decoded over
// CreateConfig, then New with a no-op next and the name "test", all within 10 s. The
// caller decides whether the network is reachable; New must not need it.
func (h *Host) CatalogCheck() error {
	type result struct {
		handler http.Handler
		err     error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("panic: %v", r)}
			}
		}()
		hd, err := h.Build(ctx, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), h.Manifest.TestData, "test")
		done <- result{hd, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return fmt.Errorf("catalog check: %w", r.err)
		}
		if r.handler == nil {
			return errors.New("catalog check: New returned a nil handler")
		}
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("catalog check: New did not return within 10 s")
	}
}

// Eval evaluates Go source in the plugin's interpreter; tests use it to reach
// internal packages under Yaegi.
func (h *Host) Eval(src string) (reflect.Value, error) {
	return h.interp.Eval(src)
}

// Import imports packages into the interpreter's main scope, one by one, tolerating
// packages an earlier test in the same interpreter already imported.
func (h *Host) Import(paths ...string) error {
	for _, p := range paths {
		if _, err := h.interp.Eval(fmt.Sprintf("import %q", p)); err != nil && !strings.Contains(err.Error(), "redeclared") {
			return err
		}
	}
	return nil
}

// Output returns what the interpreted code has printed so far.
func (h *Host) Output() string { return h.output.String() }

type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
	tee io.Writer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	if b.tee != nil {
		_, _ = b.tee.Write(p)
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
