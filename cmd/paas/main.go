// Command paas is paasd's command line, with the Heroku CLI's verbs:
// apps:create, config:set, ps:scale, logs --tail, run bash, …
// See docs/cli.md.
package main

import (
	"context"
	"os"

	"github.com/paasd/paasd/cmd/paas/internal/root"
)

func main() {
	os.Exit(root.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
