package yaegihost

import (
	"path/filepath"
)

// PassthroughModule is the module path of the pass-through plugin in testdata.
const PassthroughModule = "example.com/passthrough"

// ConstructsModule is the module path of the plugin in testdata/constructs, whose
// ServeHTTP is one Go construct chosen by its configuration.
const ConstructsModule = "example.com/constructs"

// LoadPassthrough loads testdata/passthrough (relative to this package's directory,
// hostDir) under its own interpreter: the floor any Yaegi plugin pays per request.
func LoadPassthrough(hostDir, tmp string) (*Host, error) {
	return loadTestPlugin(hostDir, tmp, "passthrough", PassthroughModule)
}

// LoadConstructs loads testdata/constructs under its own interpreter, as
// LoadPassthrough does.
func LoadConstructs(hostDir, tmp string) (*Host, error) {
	return loadTestPlugin(hostDir, tmp, "constructs", ConstructsModule)
}

func loadTestPlugin(hostDir, tmp, dir, module string) (*Host, error) {
	goPath := filepath.Join(tmp, "gopath-"+dir)
	if err := Stage(filepath.Join(hostDir, "testdata", dir), goPath, module); err != nil {
		return nil, err
	}
	return LoadGoPath(goPath, module, Options{Module: module})
}
