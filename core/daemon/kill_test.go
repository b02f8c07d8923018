package daemon

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// startProcess runs paasd as a process of its own and returns it with its
// API and router addresses.
func startProcess(t *testing.T, dataDir, runtime string) (*exec.Cmd, *daemon, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PAASD_TEST_DAEMON_ARGS=--data "+dataDir+" --api-addr 127.0.0.1:0 --router-addr 127.0.0.1:0 --runtime "+runtime)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	re := regexp.MustCompile(`msg="paasd started" api=http://(\S+) .*router=http://(\S+)`)
	sc := bufio.NewScanner(stderr)
	var logs strings.Builder
	timer := time.AfterFunc(90*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	for sc.Scan() {
		logs.WriteString(sc.Text() + "\n")
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			raw, err := os.ReadFile(filepath.Join(dataDir, AdminTokenFile))
			if err != nil {
				t.Fatal(err)
			}
			return cmd, &daemon{url: "http://" + m[1], token: strings.TrimSpace(string(raw)), dataDir: dataDir}, m[2]
		}
	}
	t.Fatalf("paasd did not start:\n%s", logs.String())
	return nil, nil, ""
}

// TestKill9LeavesDynosRunning: kill -9 of paasd does not stop its dynos,
// and the next paasd adopts them (same dyno, no restart) and routes to them.
func TestKill9LeavesDynosRunning(t *testing.T) {
	testenv.Short(t, "starts paasd processes and real dynos")
	testenv.NeedCommand(t, "python3")
	runtimes := []string{"builtin:process"}
	if os.Geteuid() == 0 {
		runtimes = append(runtimes, "builtin:runc")
	}
	for _, rt := range runtimes {
		t.Run(strings.TrimPrefix(rt, "builtin:"), func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			cmd, d, router := startProcess(t, dataDir, rt)
			d.call(t, "POST", "/apps", map[string]any{"name": "survivor"})
			sum := writeSlug(t, dataDir, map[string]string{"web.py": webApp})
			_, slug := d.call(t, "POST", "/apps/survivor/slugs", map[string]any{"process_types": map[string]string{"web": "python3 web.py"}, "checksum": sum})
			d.call(t, "POST", "/apps/survivor/releases", map[string]any{"slug": slug["id"]})
			d.call(t, "PATCH", "/apps/survivor/formation/web", map[string]any{"quantity": 1})
			waitFor200(t, router, "survivor")
			_, before := d.call(t, "GET", "/apps/survivor/dynos/web.1", nil)

			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_, _ = cmd.Process.Wait()
			_, d, router = startProcess(t, dataDir, rt)
			waitFor200(t, router, "survivor")
			_, after := d.call(t, "GET", "/apps/survivor/dynos/web.1", nil)
			if before["id"] == nil || after["id"] != before["id"] {
				t.Fatalf("web.1 was %v before kill -9 and %v after: not adopted", before["id"], after["id"])
			}
			// Scale to zero and wait until the dyno is gone, so the test
			// leaves no dyno behind when it kills this paasd.
			d.call(t, "PATCH", "/apps/survivor/formation/web", map[string]any{"quantity": 0})
			deadline := time.Now().Add(60 * time.Second)
			for {
				code, list := d.callList(t, "/apps/survivor/dynos")
				if code == 200 && len(list) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("dynos left after scaling to 0: %v", list)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

func waitFor200(t *testing.T, router, app string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, b, err := routed(router, app, "/")
		if err == nil && c == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no 200 through the router: %d %q %v", app, c, b, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
