package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// TestGitPushDeploys is the Heroku flow through paasd itself: `git push` of
// an app over smart HTTP with the API token as password builds it with the
// reference buildpacks in build dynos, streams the build as remote: lines,
// releases it, and the router serves it; a push that fails to build is
// rejected and the running release keeps serving.
func TestGitPushDeploys(t *testing.T) {
	testenv.Short(t, "starts paasd, builds and runs real dynos")
	git := testenv.NeedCommand(t, "git")
	testenv.NeedCommand(t, "python3")
	rt := testRuntime()
	dataDir := filepath.Join(t.TempDir(), "data")
	d, router := startDaemonWithRouter(t, dataDir, "--runtime", rt)
	defer func() { d.stop(t) }()
	if code, app := d.call(t, "POST", "/apps", map[string]any{"name": "pushed"}); code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}

	src := t.TempDir()
	runGit := func(args ...string) (string, error) {
		cmd := exec.Command(git, args...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_TERMINAL_PROMPT=0", "HOME="+src)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Procfile", "web: python3 -m http.server $PORT\n")
	write("index.html", "<h1>pushed with git</h1>\n")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-qm", "first"}} {
		if out, err := runGit(args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	remote := strings.Replace(d.url, "http://", "http://git:"+d.token+"@", 1) + "/pushed.git"
	out, err := runGit("push", remote, "main")
	if err != nil {
		t.Fatalf("git push: %v\n%s", err, out)
	}
	for _, want := range []string{"remote: ", "Released v"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	// The first deploy of a web process type scales it to 1, as on Heroku.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, b, err := routed(router, "pushed", "/")
		if err == nil && c == 200 && strings.Contains(b, "pushed with git") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 from the pushed app: %d %q %v", c, b, err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// A second deploy replaces the first (preboot: no gap in between).
	write("index.html", "<h1>second deploy</h1>\n")
	if out, err := runGit("commit", "-qam", "second"); err != nil {
		t.Fatalf("commit: %v\n%s", err, out)
	}
	if out, err := runGit("push", remote, "main"); err != nil {
		t.Fatalf("second push: %v\n%s", err, out)
	}
	deadline = time.Now().Add(2 * time.Minute)
	for {
		c, b, err := routed(router, "pushed", "/")
		if err == nil && c == 200 && strings.Contains(b, "second deploy") {
			break
		}
		if time.Now().After(deadline) {
			_, rels := d.callList(t, "/apps/pushed/releases")
			_, dynos := d.callList(t, "/apps/pushed/dynos")
			t.Fatalf("second deploy not served: %d %q %v\nreleases %v\ndynos %v", c, b, err, rels, dynos)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// A push whose release phase fails is rejected; the old release serves on.
	write("Procfile", "web: python3 -m http.server $PORT\nrelease: echo migrating; exit 1\n")
	write("index.html", "<h1>third</h1>\n")
	if out, err := runGit("commit", "-qam", "third"); err != nil {
		t.Fatalf("commit: %v\n%s", err, out)
	}
	out, err = runGit("push", remote, "main")
	if err == nil {
		t.Fatalf("push with a failing release phase was accepted:\n%s", out)
	}
	if !strings.Contains(out, "remote rejected") {
		t.Errorf("rejection not reported:\n%s", out)
	}
	if c, b, err := routed(router, "pushed", "/"); err != nil || c != 200 || !strings.Contains(b, "second deploy") {
		t.Fatalf("old release no longer serves: %d %q %v", c, b, err)
	}
}
