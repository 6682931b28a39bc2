module github.com/gatehouse-oidc/gatehouse

go 1.22
