package daemon

import (
	"os"
	"testing"

	"github.com/paasd/paasd/runtimes/runc"
)

// TestMain lets the test binary serve as a runc container's init, as
// cmd/paasd does.
func TestMain(m *testing.M) {
	runc.Init()
	os.Exit(m.Run())
}
