package main

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/core/pluginhost/wasmhost"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/schemas"
	"github.com/paasd/paasd/sdk"
	"github.com/paasd/paasd/sdk/examples/buildpack-static/static"
)

// buildPlugin compiles the go-plugin (pkg ".") or the Wasm module (pkg
// "./wasm") into a temporary directory.
func buildPlugin(t testing.TB, pkg string) string {
	t.Helper()
	goBin := testenv.NeedCommand(t, "go")
	out := filepath.Join(t.TempDir(), "buildpack-static")
	args := []string{"build", "-o", out, pkg}
	env := os.Environ()
	if pkg == "./wasm" {
		out += ".wasm"
		args = []string{"build", "-buildmode=c-shared", "-o", out, pkg}
		env = append(env, "GOOS=wasip1", "GOARCH=wasm")
	}
	cmd := exec.Command(goBin, args...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, b)
	}
	return out
}

func host(t testing.TB) *pluginhost.Host {
	t.Helper()
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	h := &pluginhost.Host{
		Validator: v,
		GoPlugin:  &goplugin.Opener{Logger: log},
		Wasm:      wasmhost.New(wasmhost.Options{CacheDir: filepath.Join(t.TempDir(), "wasm-cache"), Logger: log}),
		Logger:    log,
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// withApps sets the example's apps on target.
func withApps(target conformance.BuildpackTarget) conformance.BuildpackTarget {
	target.App = "testdata/app"
	target.OtherApp = "testdata/other"
	target.BrokenApp = "testdata/broken"
	target.WantProcessTypes = []string{"web"}
	return target
}

func TestCheck(t *testing.T) {
	info, err := sdk.Check(static.New(""))
	if err != nil || info.Contract != core.ContractBuildpack || info.ID != static.ID {
		t.Fatalf("sdk.Check = %+v, %v", info, err)
	}
}

// TestConformanceInProcess runs the buildpack suite against the buildpack
// as a builtin.
func TestConformanceInProcess(t *testing.T) {
	conformance.Buildpack(t, withApps(conformance.InProcessBuildpack(func() core.Buildpack { return static.New("") }, nil)))
}

// TestConformanceOverGoPlugin builds the example, loads it as plugin:PATH
// through pluginhost with the go-plugin opener and CUE validation of every
// message, and runs the buildpack suite against it.
func TestConformanceOverGoPlugin(t *testing.T) {
	testenv.Short(t, "builds and runs the plugin process")
	bin := buildPlugin(t, ".")
	conformance.Buildpack(t, withApps(conformance.HostBuildpack(host(t), "plugin:"+bin, nil)))
}

// TestConformanceOverWasm builds ./wasm for wasip1, loads it as wasm:PATH
// (each call in a fresh instance that sees only the build, cache and env
// dirs) and runs the buildpack suite against it.
func TestConformanceOverWasm(t *testing.T) {
	testenv.Short(t, "builds a Wasm module")
	mod := buildPlugin(t, "./wasm")
	conformance.Buildpack(t, withApps(conformance.HostBuildpack(host(t), "wasm:"+mod, nil)))
}
