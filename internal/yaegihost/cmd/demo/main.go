// Command demo runs Gatehouse locally the way Traefik runs it: the plugin under Yaegi
// in front of a demo backend, signing people in at a real test OpenID Provider. The
// memory cache is used unless REDIS_URL is set. Stop it with Ctrl-C.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost"
	"github.com/gatehouse-oidc/gatehouse/internal/yaegihost/demo"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "Gatehouse's address")
	providerListen := flag.String("provider", "127.0.0.1:9000", "the test provider's address")
	flag.Parse()
	root, err := yaegihost.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, demo.ErrNoRoot)
		os.Exit(1)
	}
	s, err := demo.Start(root, demo.Options{Listen: *listen, ProviderListen: *providerListen, RedisURL: os.Getenv("REDIS_URL"), Output: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Fprintln(os.Stderr, "(ports busy? try: make demo DEMO_LISTEN=127.0.0.1:18080 DEMO_PROVIDER=127.0.0.1:19000)")
		os.Exit(1)
	}
	fmt.Printf(`
Gatehouse demo — the plugin running under Yaegi, as Traefik runs it

  Open            %s
  Sign in as      alice / alice-password   (groups engineering, admins)
                  bob   / bob-password     (group sales)
                  carol / carol-password   (email not verified)
                  mallory / mallory-password (claims alice@example.com, unverified:
                                           forwarded as usr_mallory)
  Provider        %s   (a test OpenID Provider)
  Cache           %s
  Backend         shows the identity headers Gatehouse forwards; /health is excluded

The session cookie is not marked Secure because the demo runs on plain http.
Press Ctrl-C to stop.
`, s.URL, s.ProviderURL, s.Cache)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Println("\nstopping")
	s.Close()
	fmt.Println("demo stopped")
}
