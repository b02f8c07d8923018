// Command buildpackguest is a buildpack guest for wasmhost's tests: it sees
// the build, cache and env dirs of each call at /build, /cache and /env.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk/wasmguest"
)

// Buildpack detects a go.mod and "compiles" by writing files.
type Buildpack struct{}

var _ core.Buildpack = Buildpack{}

func (Buildpack) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.buildpack.guest", Contract: core.ContractBuildpack, APIVersions: []int{1}}, nil
}

func (Buildpack) Configure(context.Context, core.ConfigureRequest) error { return nil }

func (Buildpack) Detect(_ context.Context, req core.DetectRequest) (core.DetectResponse, error) {
	if _, err := os.Stat(filepath.Join(req.BuildDir, "go.mod")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return core.DetectResponse{}, nil
		}
		return core.DetectResponse{}, fmt.Errorf("detect: %w", err)
	}
	return core.DetectResponse{Detected: true, Name: "Go (wasm) at " + req.BuildDir}, nil
}

func (Buildpack) Compile(_ context.Context, req core.CompileRequest) (core.CompileResponse, error) {
	secret, err := os.ReadFile(filepath.Join(req.EnvDir, "SECRET"))
	if err != nil {
		return core.CompileResponse{}, fmt.Errorf("read env: %w", err)
	}
	if err := os.WriteFile(filepath.Join(req.BuildDir, "compiled.txt"), []byte("compiled with "+string(secret)), 0o644); err != nil {
		return core.CompileResponse{}, fmt.Errorf("write build: %w", err)
	}
	if err := os.WriteFile(filepath.Join(req.CacheDir, "cached.txt"), []byte("cache"), 0o644); err != nil {
		return core.CompileResponse{}, fmt.Errorf("write cache: %w", err)
	}
	if _, err := os.ReadFile("/etc/passwd"); err == nil {
		return core.CompileResponse{}, fmt.Errorf("the sandbox leaks /etc/passwd: %w", core.ErrPermissionDenied)
	}
	fmt.Fprintln(req.Output, "-----> compiled in", req.BuildDir)
	return core.CompileResponse{Export: map[string]string{"BUILD_DIR_SEEN": req.BuildDir}}, nil
}

func (Buildpack) Release(context.Context, core.ReleaseRequest) (core.ReleaseResponse, error) {
	return core.ReleaseResponse{DefaultProcessTypes: map[string]string{"web": "./bin/app"}}, nil
}

func init() { wasmguest.Serve(Buildpack{}) }

func main() {}
