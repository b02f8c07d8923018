package runc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
)

// helperEnv makes the test binary start one dyno in a fresh runtime and
// exit without stopping it, like a paasd that is restarted.
const helperEnv = "PAASD_RUNC_TEST_START_AND_EXIT"

// startAndExit is the helper's body, called from TestMain; it returns the
// exit code.
func startAndExit(dir string) int {
	r, err := New(testConfig(dir))
	if err == nil {
		_, err = r.Start(context.Background(), core.DynoSpec{ID: "survivor", Name: "worker.1",
			Command: "echo ready; while :; do sleep 0.1; done"})
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	return 0
}

// TestSurvivesHostRestart starts a dyno from another process that then
// exits, and adopts, follows and stops it from this one.
func TestSurvivesHostRestart(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	r, err := New(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	defer func() {
		_, _ = r.Stop(ctx, "survivor", time.Second)
		_ = r.Remove(ctx, "survivor")
	}()
	st, err := r.Inspect(ctx, "survivor")
	if err != nil || st.State != core.DynoUp {
		t.Fatalf("after the host process exited: %+v, %v; want up", st, err)
	}
	found := errors.New("found")
	if err := r.Logs(ctx, "survivor", func(l core.LogLine) error {
		if strings.Contains(l.Text, "ready") {
			return found
		}
		return nil
	}); !errors.Is(err, found) {
		t.Fatalf("logs of the adopted dyno: %v", err)
	}
	res, err := r.Stop(ctx, "survivor", 10*time.Second)
	if err != nil || res.Killed || res.Status.State != core.DynoDown {
		t.Fatalf("stop: %+v, %v", res, err)
	}
}
