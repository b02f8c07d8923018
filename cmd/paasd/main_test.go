package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("PAASD_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"paasd"}, strings.Fields(os.Getenv("PAASD_TEST_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

// TestBinary runs paasd as a real process: it starts, serves /healthz,
// stops gracefully on SIGTERM with exit code 0, and refuses bad flags with 2.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	start := func(args string) *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "PAASD_TEST_RUN_MAIN=1", "PAASD_TEST_ARGS="+args)
		cmd.Dir = dir
		return cmd
	}
	t.Run("bad flag", func(t *testing.T) {
		out, err := start("--api-addr nonsense").CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "api_addr") {
			t.Fatalf("err %v, output %s", err, out)
		}
	})
	cmd := start("--api-addr 127.0.0.1:0 --router-addr 127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	apiRE := regexp.MustCompile(`msg="paasd started" api=(http://\S+)`)
	var url string
	var logs strings.Builder
	deadline := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for url == "" && sc.Scan() {
		logs.WriteString(sc.Text() + "\n")
		if m := apiRE.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("no start line: %s", logs.String())
	}
	copied := make(chan struct{})
	go func() { io.Copy(&logs, stderr); close(copied) }()
	res, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("healthz %d", res.StatusCode)
	}
	// The default data dir is ./.data, with the admin token in it.
	if fi, err := os.Stat(filepath.Join(dir, ".data", "admin.token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-copied
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "paasd stopped") {
		t.Fatalf("no graceful stop in the logs:\n%s", logs.String())
	}
}
