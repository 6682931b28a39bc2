module github.com/gatehouse-oidc/gatehouse/internal/yaegihost

go 1.22

require (
	github.com/gatehouse-oidc/gatehouse v0.0.0-00010101000000-000000000000
	github.com/mitchellh/mapstructure v1.5.0
	github.com/traefik/yaegi v0.16.1
	gopkg.in/yaml.v3 v3.0.1
)

replace github.com/gatehouse-oidc/gatehouse => ../..
