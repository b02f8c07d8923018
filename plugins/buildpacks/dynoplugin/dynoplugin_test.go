package dynoplugin_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/plugins/buildpacks/dynoplugin"
	"github.com/paasd/paasd/runtimes/process"
	"github.com/paasd/paasd/runtimes/runc"
	"github.com/paasd/paasd/schemas"
)

func TestMain(m *testing.M) {
	runc.Init()
	os.Exit(m.Run())
}

// buildPlugin compiles the go-plugin main package pkg (a module path).
func buildPlugin(t testing.TB, pkg string) string {
	t.Helper()
	goBin := testenv.NeedCommand(t, "go")
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// newRuntime is a real runc runtime (root; skipped, failing in CI, without).
func newRuntime(t testing.TB) core.DynoRuntime {
	t.Helper()
	testenv.NeedRoot(t)
	rt, err := runc.New(runc.Config{StateDir: filepath.Join(t.TempDir(), "runc"), CgroupParent: "/paasd-dynoplugintest",
		Bridge: "paasddp0", Subnet: "10.241.0.0/16"})
	if err != nil {
		t.Fatalf("runc runtime: %v", err)
	}
	return rt
}

func newBuildpack(t testing.TB, rt core.DynoRuntime, bin string) *dynoplugin.Buildpack {
	t.Helper()
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bp, err := dynoplugin.New(ctx, dynoplugin.Options{Path: bin, Runtime: rt, Validator: v, WorkDir: work,
		Opener: &goplugin.Opener{Logger: log}, Logger: log, Size: "standard-1x"})
	if err != nil {
		t.Fatalf("load %s in a build dyno: %v", bin, err)
	}
	return bp
}

// noDynos fails when rt still has dynos.
func noDynos(t *testing.T, rt core.DynoRuntime) {
	t.Helper()
	l, err := rt.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range l {
		t.Errorf("dyno left behind: %s (%s)", d.ID, d.State)
	}
}

// TestConformanceInBuildDyno runs the buildpack suite against the example
// go-plugin buildpack run in build dynos of the runc runtime.
func TestConformanceInBuildDyno(t *testing.T) {
	testenv.Short(t, "builds the plugin, runs runc dynos")
	rt := newRuntime(t)
	bp := newBuildpack(t, rt, buildPlugin(t, "github.com/paasd/paasd/sdk/examples/buildpack-static"))
	ex := "../../../sdk/examples/buildpack-static/testdata/"
	target := conformance.InProcessBuildpack(func() core.Buildpack { return bp }, nil)
	target.App, target.OtherApp, target.BrokenApp = ex+"app", ex+"other", ex+"broken"
	target.WantProcessTypes = []string{"web"}
	conformance.Buildpack(t, target)
	noDynos(t, rt)
}

func probeDirs(t *testing.T, files map[string]string) (build, cache, env string) {
	t.Helper()
	root := t.TempDir()
	build, cache, env = filepath.Join(root, "build"), filepath.Join(root, "cache"), filepath.Join(root, "env")
	for _, d := range []string{build, cache, env} { // as the pipeline makes them
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(build, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return build, cache, env
}

// TestProbeRunsInBuildDyno: the plugin's Compile sees the dyno's paths, an
// unprivileged user, the dyno's hostname and cgroup, and not the host's
// files; no dyno is left behind.
func TestProbeRunsInBuildDyno(t *testing.T) {
	testenv.Short(t, "builds the plugin, runs runc dynos")
	rt := newRuntime(t)
	bp := newBuildpack(t, rt, buildPlugin(t, "github.com/paasd/paasd/plugins/buildpacks/dynoplugin/testdata/probe"))
	build, cache, env := probeDirs(t, map[string]string{"index.html": "<p>hi</p>"})
	secret := t.TempDir()
	if err := os.WriteFile(filepath.Join(env, "PROBE_PATH"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	det, err := bp.Detect(ctx, core.DetectRequest{BuildDir: build})
	if err != nil || !det.Detected {
		t.Fatalf("Detect = %+v, %v", det, err)
	}
	var out bytes.Buffer
	if _, err := bp.Compile(ctx, core.CompileRequest{BuildDir: build, CacheDir: cache, EnvDir: env, Output: &out}); err != nil {
		t.Fatalf("Compile: %v\n%s", err, out.String())
	}
	raw, err := os.ReadFile(filepath.Join(build, "sandbox.txt"))
	if err != nil {
		t.Fatalf("no sandbox.txt: %v (output %s)", err, out.String())
	}
	got := string(raw)
	host, _ := os.Hostname()
	for _, want := range []string{"build_dir=/app\n", "cache_dir=/tmp/cache\n", "env_dir=/tmp/env\n", "sees_probe_path=no\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("sandbox.txt lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "uid=0\n") || strings.Contains(got, "hostname="+host+"\n") || !strings.Contains(got, "build-build-plugin-compile-") {
		t.Errorf("plugin did not run in an unprivileged build dyno:\n%s", got)
	}
	if !strings.Contains(out.String(), "probe: uid=") {
		t.Errorf("compile output lacks the probe line: %q", out.String())
	}
	rel, err := bp.Release(ctx, core.ReleaseRequest{BuildDir: build})
	if err != nil || rel.DefaultProcessTypes["web"] == "" {
		t.Fatalf("Release = %+v, %v", rel, err)
	}
	noDynos(t, rt)
}

// TestCrashMidCompile: a plugin that exits during Compile fails the call
// at once with an error naming the plugin and its dyno, and leaves no dyno.
func TestCrashMidCompile(t *testing.T) {
	testenv.Short(t, "builds the plugin, runs runc dynos")
	rt := newRuntime(t)
	bin := buildPlugin(t, "github.com/paasd/paasd/plugins/buildpacks/dynoplugin/testdata/probe")
	bp := newBuildpack(t, rt, bin)
	build, cache, env := probeDirs(t, map[string]string{"index.html": "x", "crash": ""})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := bp.Compile(ctx, core.CompileRequest{BuildDir: build, CacheDir: cache, EnvDir: env, Output: &bytes.Buffer{}})
	if err == nil {
		t.Fatal("Compile of a crashing plugin succeeded")
	}
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "plugin:"+bin) || !strings.Contains(err.Error(), "exited during the call") || !strings.Contains(err.Error(), "dyno build-") || !strings.Contains(err.Error(), "(exit status 3)") {
		t.Errorf("error = %v; want ErrUnavailable naming the plugin and its dyno", err)
	}
	if ctx.Err() != nil {
		t.Error("Compile returned only at the deadline")
	}
	noDynos(t, rt)
}

// TestProcessRuntime: under a runtime without isolation (the dev process
// runtime) the plugin runs as the dyno's host process with the host paths.
func TestProcessRuntime(t *testing.T) {
	testenv.Short(t, "builds the plugin")
	rt, err := process.New(process.Config{StateDir: filepath.Join(t.TempDir(), "process")})
	if err != nil {
		t.Fatal(err)
	}
	bp := newBuildpack(t, rt, buildPlugin(t, "github.com/paasd/paasd/plugins/buildpacks/dynoplugin/testdata/probe"))
	build, cache, env := probeDirs(t, map[string]string{"index.html": "x"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if d, err := bp.Detect(ctx, core.DetectRequest{BuildDir: build}); err != nil || !d.Detected {
		t.Fatalf("Detect = %+v, %v", d, err)
	}
	var out bytes.Buffer
	if _, err := bp.Compile(ctx, core.CompileRequest{BuildDir: build, CacheDir: cache, EnvDir: env, Output: &out}); err != nil {
		t.Fatalf("Compile: %v\n%s", err, out.String())
	}
	raw, err := os.ReadFile(filepath.Join(build, "sandbox.txt"))
	if err != nil || !strings.Contains(string(raw), "build_dir="+build+"\n") {
		t.Fatalf("sandbox.txt = %q, %v; want the host build dir", raw, err)
	}
	noDynos(t, rt)
}
