// Command paasd is the paasd daemon: a self-hostable Heroku. Run it with no
// flags to start on the embedded defaults; see package core/daemon and
// docs/api.md.
package main

import (
	"context"
	"os"

	"github.com/paasd/paasd/core/daemon"
)

func main() {
	os.Exit(daemon.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
