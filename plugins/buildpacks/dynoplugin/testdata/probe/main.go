// Command probe is the example static buildpack plus a probe: its Compile
// writes sandbox.txt into the app, saying where it ran (uid, hostname,
// cgroup, the paths it was given, whether the host path named by the
// PROBE_PATH config var is visible). An app holding a file named "crash"
// makes Compile exit the process (a plugin crash mid-Compile).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk"
	"github.com/paasd/paasd/sdk/buildpack"
	"github.com/paasd/paasd/sdk/examples/buildpack-static/static"
)

type probe struct{ static.Buildpack }

func (p probe) Compile(ctx context.Context, req core.CompileRequest) (core.CompileResponse, error) {
	if ok, _ := buildpack.Exists(req.BuildDir, "crash"); ok {
		fmt.Fprintln(os.Stderr, "probe: crashing on purpose")
		os.Exit(3)
	}
	resp, err := p.Buildpack.Compile(ctx, req)
	if err != nil {
		return resp, err
	}
	vars, _ := buildpack.ReadEnvDir(req.EnvDir)
	host, _ := os.Hostname()
	cg, _ := os.ReadFile("/proc/self/cgroup")
	seen := "no"
	if pp := vars["PROBE_PATH"]; pp != "" {
		if _, err := os.Stat(pp); err == nil {
			seen = "yes"
		}
	}
	wd, _ := os.Getwd()
	s := fmt.Sprintf("uid=%d\nhostname=%s\nbuild_dir=%s\ncache_dir=%s\nenv_dir=%s\ncwd=%s\nsees_probe_path=%s\ncgroup=%s\n",
		os.Getuid(), host, req.BuildDir, req.CacheDir, req.EnvDir, wd, seen, strings.TrimSpace(string(cg)))
	if err := os.WriteFile(filepath.Join(req.BuildDir, "sandbox.txt"), []byte(s), 0o644); err != nil {
		return resp, fmt.Errorf("probe: %w", err)
	}
	buildpack.Info(req.Output, "probe: uid=%d hostname=%s build_dir=%s", os.Getuid(), host, req.BuildDir)
	return resp, nil
}

func main() { sdk.Serve(probe{static.New("probe")}) }
