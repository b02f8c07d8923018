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
	rt := testRuntime()
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

// TestGitPushGoPluginBuildpackInDyno: a go-plugin buildpack from the config
// (buildpacks: [{ref: plugin:PATH}]) named in the app's buildpack list
// builds a `git push` inside build dynos of the runc runtime, not as a
// host process: the probe buildpack (the example static buildpack plus a
// probe) writes where it ran into the app, which then serves it: the
// dyno's paths (/app, /tmp/cache, /tmp/env), a non-root user, the build
// dyno's cgroup and hostname, and the paasd data dir (a host path given as
// a config var) invisible. A push that makes the plugin crash mid-Compile
// is rejected with an error naming the plugin, and leaves no dyno behind.
func TestGitPushGoPluginBuildpackInDyno(t *testing.T) {
	testenv.Short(t, "starts paasd, builds a go-plugin buildpack and runs runc dynos")
	testenv.NeedRoot(t)
	git := testenv.NeedCommand(t, "git")
	goBin := testenv.NeedCommand(t, "go")
	testenv.NeedCommand(t, "python3")
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "probe")
	if out, err := exec.Command(goBin, "build", "-o", bin, "../../plugins/buildpacks/dynoplugin/testdata/probe").CombinedOutput(); err != nil {
		t.Fatalf("build the probe buildpack: %v\n%s", err, out)
	}
	ref := "plugin:" + bin
	cfgFile := filepath.Join(tmp, "paasd.json")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(`{"buildpacks":[{"ref":%q}]}`, ref)), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(tmp, "data")
	d, router := startDaemonWithRouter(t, dataDir, "--runtime", "builtin:runc", "--config", cfgFile)
	defer func() { d.stop(t) }()
	if code, app := d.call(t, "POST", "/apps", map[string]any{"name": "probed"}); code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	if code, _ := d.call(t, "PATCH", "/apps/probed/config-vars", map[string]any{"PROBE_PATH": dataDir}); code != 200 {
		t.Fatalf("set PROBE_PATH: %d", code)
	}
	if code, _ := d.call(t, "PUT", "/apps/probed/buildpack-installations", map[string]any{"updates": []map[string]string{{"buildpack": ref}}}); code != 200 {
		t.Fatalf("set %s: %d", ref, code)
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
	if err := os.WriteFile(filepath.Join(src, "index.html"), []byte("<h1>probed</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-qm", "first"}} {
		if out, err := runGit(args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	remote := strings.Replace(d.url, "http://", "http://git:"+d.token+"@", 1) + "/probed.git"
	out, err := runGit("push", remote, "main")
	if err != nil {
		t.Fatalf("git push: %v\n%s\n%s", err, out, d.logs.String())
	}
	for _, want := range []string{"Using buildpack: " + ref, "Static HTML (probe) app", "probe: uid=", "build_dir=/app", "Released v"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	var probe string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, b, err := routed(router, "probed", "/sandbox.txt")
		if err == nil && c == 200 && strings.Contains(b, "build_dir=") {
			probe = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app does not serve sandbox.txt: %d %q %v", c, b, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("sandbox.txt:\n%s", probe)
	host, _ := os.Hostname()
	for _, want := range []string{"build_dir=/app\n", "cache_dir=/tmp/cache\n", "env_dir=/tmp/env\n", "sees_probe_path=no\n", "build-build-plugin-compile-"} {
		if !strings.Contains(probe, want) {
			t.Errorf("sandbox.txt lacks %q (the plugin did not run in a build dyno):\n%s", want, probe)
		}
	}
	if strings.Contains(probe, "uid=0\n") || strings.Contains(probe, "hostname="+host+"\n") {
		t.Errorf("the plugin ran as root or on the host's UTS namespace:\n%s", probe)
	}

	// A crash mid-Compile rejects the push, names the plugin, leaves no dyno.
	if err := os.WriteFile(filepath.Join(src, "crash"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runGit("add", "-A"); err != nil {
		t.Fatalf("git add: %v\n%s", err, out)
	}
	if out, err := runGit("commit", "-qm", "crash"); err != nil {
		t.Fatalf("commit: %v\n%s", err, out)
	}
	start := time.Now()
	out, err = runGit("push", remote, "main")
	if err == nil {
		t.Fatalf("push of a crashing plugin succeeded:\n%s", out)
	}
	for _, want := range []string{ref, "exited during the call (exit status 3)", "pre-receive hook declined"} {
		if !strings.Contains(out, want) {
			t.Errorf("crash push output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("crash push failed after %s:\n%s", time.Since(start).Round(time.Millisecond), out)
	var left []string
	_ = filepath.WalkDir(filepath.Join(dataDir, "runtime"), func(p string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() && strings.Contains(e.Name(), "-plugin-") {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("build dynos left behind: %v", left)
	}
}
