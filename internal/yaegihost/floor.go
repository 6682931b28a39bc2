package yaegihost

import (
	"path/filepath"
)

// PassthroughModule is the module path of the pass-through plugin in testdata.
const PassthroughModule = "example.com/passthrough"

// LoadPassthrough loads testdata/passthrough (relative to this package's directory,
// hostDir) under its own interpreter: the floor any Yaegi plugin pays per request.
func LoadPassthrough(hostDir, tmp string) (*Host, error) {
	goPath := filepath.Join(tmp, "gopath-floor")
	if err := Stage(filepath.Join(hostDir, "testdata", "passthrough"), goPath, PassthroughModule); err != nil {
		return nil, err
	}
	return LoadGoPath(goPath, PassthroughModule, Options{Module: PassthroughModule})
}
