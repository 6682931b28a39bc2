// Command yaegilint reports Go constructs that Yaegi runs differently from the
// compiler, in every plugin package under the given root (default "."). It exits 1
// when it finds any.
package main

import (
	"fmt"
	"os"

	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost/yaegilint"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	findings, err := yaegilint.CheckTree(root, "github.com/gatehouse-oidc/gatehouse", yaegilint.NotPlugin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "yaegilint:", err)
		os.Exit(2)
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	if len(findings) > 0 {
		fmt.Fprintf(os.Stderr, "yaegilint: %d construct(s) that Yaegi runs differently; see docs/YAEGI-NOTES.md\n", len(findings))
		os.Exit(1)
	}
}
