// Command paasd is the paasd daemon: a self-hostable Heroku. Run it with no
// flags to start on the embedded defaults; see package core/daemon and
// docs/api.md.
package main

import (
	"context"
	"os"

	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/core/daemon"
	"github.com/paasd/paasd/runtimes/runc"
)

func main() {
	// When libcontainer re-executes paasd as a dyno's init, this becomes
	// the container and never returns.
	runc.Init()
	// When git runs paasd as a push's pre-receive hook, this becomes the
	// hook (it streams the build back to the pusher) and never returns.
	build.MaybeRunHook()
	os.Exit(daemon.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
