package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// TestGitPushUsesAppBuildpackList is the buildpack list end to end: paasd
// loads the example static buildpack as a Wasm module from its config
// (buildpacks: [{ref: wasm:PATH}]); PUT /apps/{app}/buildpack-installations
// sets the app's list; each `git push` builds with the list, in order,
// instead of detection ("Using buildpack: …"), and the app serves. A
// plugin the operator did not install is refused.
func TestGitPushUsesAppBuildpackList(t *testing.T) {
	testenv.Short(t, "starts paasd, builds a Wasm buildpack and runs real dynos")
	git := testenv.NeedCommand(t, "git")
	goBin := testenv.NeedCommand(t, "go")
	testenv.NeedCommand(t, "python3")
	rt := "builtin:process"
	if os.Geteuid() == 0 {
		rt = "builtin:runc"
	}
	tmp := t.TempDir()
	mod := filepath.Join(tmp, "buildpack-static.wasm")
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", mod, "../../sdk/examples/buildpack-static/wasm")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the Wasm buildpack: %v\n%s", err, out)
	}
	wasmRef := "wasm:" + mod
	cfgFile := filepath.Join(tmp, "paasd.json")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(`{"buildpacks":[{"ref":%q}]}`, wasmRef)), 0o600); err != nil {
		t.Fatal(err)
	}
	d, router := startDaemonWithRouter(t, filepath.Join(tmp, "data"), "--runtime", rt, "--config", cfgFile)
	defer func() { d.stop(t) }()
	if code, app := d.call(t, "POST", "/apps", map[string]any{"name": "listed"}); code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	setList := func(refs ...string) int {
		var ups []map[string]string
		for _, r := range refs {
			ups = append(ups, map[string]string{"buildpack": r})
		}
		code, _ := d.call(t, "PUT", "/apps/listed/buildpack-installations", map[string]any{"updates": ups})
		return code
	}
	if code := setList("plugin:/usr/bin/true"); code != 422 {
		t.Fatalf("a plugin the operator did not install: %d, want 422", code)
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
	if err := os.MkdirAll(filepath.Join(src, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<h1>top</h1>\n")
	write("public/index.html", "<h1>served from public</h1>\n")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-qm", "first"}} {
		if out, err := runGit(args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	remote := strings.Replace(d.url, "http://", "http://git:"+d.token+"@", 1) + "/listed.git"
	waitFor := func(body string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			c, b, err := routed(router, "listed", "/")
			if err == nil && c == 200 && strings.Contains(b, body) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("app does not serve %q: %d %q %v", body, c, b, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}

	// The reference static buildpack, named in the list, wins over the
	// operator's Wasm buildpack, which detection would try first.
	if code := setList("heroku/static"); code != 200 {
		t.Fatalf("set heroku/static: %d", code)
	}
	out, err := runGit("push", remote, "main")
	if err != nil {
		t.Fatalf("git push: %v\n%s", err, out)
	}
	for _, want := range []string{"Using buildpack: heroku/static", "Released v"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(wasm)") {
		t.Errorf("the Wasm buildpack ran though the list names heroku/static:\n%s", out)
	}
	waitFor("<h1>top</h1>")

	// Now the list names the Wasm buildpack: it builds, its output streams
	// as remote: lines, and its release serves public/.
	if code := setList(wasmRef); code != 200 {
		t.Fatalf("set %s: %d", wasmRef, code)
	}
	if code, list := d.callList(t, "/apps/listed/buildpack-installations"); code != 200 || len(list) != 1 ||
		fmt.Sprint(list[0]["buildpack"]) != fmt.Sprintf("map[name:%s url:%s]", wasmRef, wasmRef) {
		t.Fatalf("GET buildpack-installations = %d %v", code, list)
	}
	write("public/index.html", "<h1>built by the wasm buildpack</h1>\n")
	if out, err := runGit("commit", "-qam", "second"); err != nil {
		t.Fatalf("commit: %v\n%s", err, out)
	}
	out, err = runGit("push", remote, "main")
	if err != nil {
		t.Fatalf("second push: %v\n%s", err, out)
	}
	for _, want := range []string{"Using buildpack: " + wasmRef, "remote: -----> Static HTML (wasm) app", "Serving public with python3", "Released v"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	waitFor("built by the wasm buildpack")
}
