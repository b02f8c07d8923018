package build_test

import (
	"net"
	"os"
	"testing"

	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/runtimes/runc"
)

func TestMain(m *testing.M) {
	runc.Init()
	build.MaybeRunHook()
	os.Exit(m.Run())
}

// freePort returns a TCP port free on the loopback interface right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
