// Package static is an example paasd buildpack written in plain Go against
// core.Buildpack: it builds static sites. The same code is served as a
// go-plugin (../main.go, sdk.Serve) and as a WebAssembly module (../wasm,
// wasmguest.Serve); it touches nothing but the build, cache and env dirs it
// is given, which is all a Wasm buildpack can see.
//
//   - Detect: an index.html at the top of the app or in public/.
//   - Compile: reads static.json ({"root": "DIR"}, optional; an invalid one
//     fails the build) and the STATIC_ROOT config var from ENV_DIR (it wins
//     over static.json), checks the root holds index.html, writes the root
//     to .static-root for Release, and counts builds in the cache dir.
//   - Release: web serves the root with python3 -m http.server on $PORT.
package static

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk/buildpack"
)

// ID is the buildpack's plugin id.
const ID = "paasd.example.buildpack.static"

// rootFile is where Compile leaves the site's root for Release.
const rootFile = ".static-root"

// Buildpack is the static-site buildpack. The zero value is ready to use.
type Buildpack struct {
	// Flavor names the transport in the detected framework name, e.g.
	// "wasm"; empty for none.
	Flavor string
}

var _ core.Buildpack = Buildpack{}

// New returns a Buildpack whose framework name mentions flavor.
func New(flavor string) Buildpack { return Buildpack{Flavor: flavor} }

// Describe implements core.Plugin.
func (Buildpack) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: ID, Contract: core.ContractBuildpack, APIVersions: []int{1},
		Version: "1.0.0"}, nil
}

// Configure implements core.Plugin; the buildpack takes no configuration.
func (Buildpack) Configure(context.Context, core.ConfigureRequest) error { return nil }

func (b Buildpack) name() string {
	if b.Flavor == "" {
		return "Static HTML"
	}
	return "Static HTML (" + b.Flavor + ")"
}

// Detect implements core.Buildpack.
func (b Buildpack) Detect(_ context.Context, req core.DetectRequest) (core.DetectResponse, error) {
	for _, p := range []string{"index.html", "public/index.html"} {
		ok, err := buildpack.Exists(req.BuildDir, p)
		if err != nil {
			return core.DetectResponse{}, fmt.Errorf("detect: %w", err)
		}
		if ok {
			return core.DetectResponse{Detected: true, Name: b.name()}, nil
		}
	}
	return core.DetectResponse{}, nil
}

// Compile implements core.Buildpack.
func (b Buildpack) Compile(ctx context.Context, req core.CompileRequest) (core.CompileResponse, error) {
	if err := ctx.Err(); err != nil {
		return core.CompileResponse{}, fmt.Errorf("compile: %w: %w", err, core.ErrUnavailable)
	}
	out := req.Output
	buildpack.Step(out, "%s app", b.name())
	vars, err := buildpack.ReadEnvDir(req.EnvDir)
	if err != nil {
		return core.CompileResponse{}, fmt.Errorf("compile: %w", err)
	}
	root, msg := siteRoot(req.BuildDir, vars["STATIC_ROOT"])
	if msg != "" {
		return core.CompileResponse{}, buildpack.Fail(out, "%s", msg)
	}
	if ok, _ := buildpack.Exists(req.BuildDir, filepath.Join(root, "index.html")); !ok {
		return core.CompileResponse{}, buildpack.Fail(out, "the site root %q has no index.html", root)
	}
	if err := os.WriteFile(filepath.Join(req.BuildDir, rootFile), []byte(root+"\n"), 0o644); err != nil {
		return core.CompileResponse{}, fmt.Errorf("compile: %w", err)
	}
	n := countBuild(req.CacheDir)
	buildpack.Info(out, "Serving %s with python3 -m http.server (build %d with this cache)", root, n)
	return core.CompileResponse{Export: map[string]string{"STATIC_ROOT": root}}, nil
}

// siteRoot is envRoot (the STATIC_ROOT config var), else static.json's
// root, else public/ when it holds index.html, else ".". msg says what is
// wrong with an invalid static.json or a root outside the app.
func siteRoot(buildDir, envRoot string) (root, msg string) {
	if raw, err := os.ReadFile(filepath.Join(buildDir, "static.json")); err == nil {
		var cfg struct {
			Root string `json:"root"`
		}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return "", "static.json is not valid JSON: " + err.Error()
		}
		root = cfg.Root
	}
	if r := strings.TrimSpace(envRoot); r != "" {
		root = r
	}
	if root == "" {
		root = "."
		if ok, _ := buildpack.Exists(buildDir, "public/index.html"); ok {
			root = "public"
		}
	}
	clean := path.Clean(root)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Sprintf("the site root %q is outside the app", root)
	}
	return clean, ""
}

// countBuild increments the build counter kept in the cache dir and returns
// it; a cache it cannot read or write counts as the first build.
func countBuild(cacheDir string) int {
	if cacheDir == "" {
		return 1
	}
	p := filepath.Join(cacheDir, "static-buildpack-builds")
	raw, _ := os.ReadFile(p)
	n, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	n++
	_ = os.WriteFile(p, []byte(strconv.Itoa(n)+"\n"), 0o644)
	return n
}

// Release implements core.Buildpack.
func (Buildpack) Release(_ context.Context, req core.ReleaseRequest) (core.ReleaseResponse, error) {
	root := "."
	if raw, err := os.ReadFile(filepath.Join(req.BuildDir, rootFile)); err == nil {
		root = strings.TrimSpace(string(raw))
	}
	return core.ReleaseResponse{DefaultProcessTypes: map[string]string{
		"web": "python3 -m http.server $PORT --directory " + root,
	}}, nil
}
