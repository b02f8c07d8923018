package runc

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// The cgroup device rules need this registration; without it Start
	// fails with "cgroup manager is not configured to set device rules".
	_ "github.com/opencontainers/cgroups/devices"
	// nsenter (cgo) runs before the Go runtime of the re-executed binary
	// and joins the container's namespaces.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// InitArg is the argument with which libcontainer re-executes the running
// binary to become a container's init.
const InitArg = "init"

// Init must be called first thing in main (and in TestMain of tests that
// start containers) of every binary that uses this runtime: when the binary
// was re-executed by libcontainer as a container's init ("BINARY init"), it
// sets up the container and execs the dyno's command, and never returns.
// Otherwise it returns at once.
//
//	func main() {
//		runc.Init()
//		...
//	}
func Init() {
	if len(os.Args) > 1 && os.Args[1] == InitArg {
		libcontainer.Init()
	}
}
