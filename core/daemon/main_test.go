package daemon

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/runtimes/runc"
)

// TestMain lets the test binary serve as a runc container's init, as
// cmd/paasd does, and as a paasd process of its own for the kill -9 test
// (PAASD_TEST_DAEMON_ARGS).
func TestMain(m *testing.M) {
	runc.Init()
	build.MaybeRunHook()
	if args, ok := os.LookupEnv("PAASD_TEST_DAEMON_ARGS"); ok {
		os.Exit(Main(context.Background(), strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
