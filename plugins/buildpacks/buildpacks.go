// Package buildpacks holds paasd's reference classic buildpacks — go,
// nodejs, python, static and procfile — as shell scripts (bin/detect,
// bin/compile, bin/release) embedded in the binary and written to a
// directory at start, and runs them with the classic runner.
//
// They need nothing from the internet beyond the language registries (the
// Go module proxy, the npm registry): each uses the stack's toolchain
// (/usr/local/go, /usr/bin/node and npm, /usr/bin/python3).
//
//   - go: go.mod → go build ./... into bin/ (GOCACHE, GOMODCACHE in the
//     cache dir); web runs bin/<module base name>.
//   - nodejs: package.json → npm install --omit=dev (npm cache in the cache
//     dir), npm run build when defined; web is "npm start".
//   - python: requirements.txt, pyproject.toml, setup.py, app.py, main.py or
//     manage.py → standard-library apps as they are; requirements only from
//     vendored wheels (vendor/ or wheels/); web is "python3 app.py".
//   - static: index.html (or public/index.html) → python3 -m http.server.
//   - procfile: a Procfile alone; apps that bring their own binaries.
//
// Detection tries them in that order ([Names]).
package buildpacks

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/plugins/buildpacks/classic"
)

//go:embed go/bin nodejs/bin python/bin static/bin procfile/bin
var scripts embed.FS

// Names are the reference buildpacks in detection order.
var Names = []string{"go", "nodejs", "python", "static", "procfile"}

// HerokuName returns the name Heroku gives the buildpack ("heroku/go"),
// used in build output and as its reference in an app's buildpack list.
func HerokuName(name string) string { return "heroku/" + name }

// Write writes every reference buildpack under dir (dir/go/bin/detect, …)
// and returns their directories by name. Existing files are replaced, so
// a new paasd version refreshes them.
func Write(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range Names {
		bpDir := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(bpDir, "bin"), 0o755); err != nil {
			return nil, fmt.Errorf("write buildpack %s: %w", name, err)
		}
		entries, err := fs.ReadDir(scripts, name+"/bin")
		if err != nil {
			return nil, fmt.Errorf("write buildpack %s: %w", name, err)
		}
		for _, e := range entries {
			b, err := scripts.ReadFile(name + "/bin/" + e.Name())
			if err != nil {
				return nil, fmt.Errorf("write buildpack %s: %w", name, err)
			}
			p := filepath.Join(bpDir, "bin", e.Name())
			tmp := p + ".tmp"
			if err := os.WriteFile(tmp, b, 0o755); err != nil {
				return nil, fmt.Errorf("write buildpack %s: %w", name, err)
			}
			if err := os.Rename(tmp, p); err != nil {
				return nil, fmt.Errorf("write buildpack %s: %w", name, err)
			}
		}
		out[name] = bpDir
	}
	return out, nil
}

// Options configure [Reference].
type Options struct {
	// Dir is where the scripts are written. Required.
	Dir string
	// Runtime runs the build dynos. Required.
	Runtime core.DynoRuntime
	// Classic is the template for each buildpack's classic runner options
	// (Size, Stack, Env, WorkDir, App); Dir, Name and Runtime are set here.
	Classic classic.Options
}

// Reference writes the reference buildpacks to opts.Dir and returns them as
// classic buildpacks, in detection order.
func Reference(opts Options) ([]*classic.Buildpack, error) {
	dirs, err := Write(opts.Dir)
	if err != nil {
		return nil, err
	}
	var out []*classic.Buildpack
	for _, name := range Names {
		o := opts.Classic
		o.Dir = dirs[name]
		o.Name = HerokuName(name)
		o.Runtime = opts.Runtime
		bp, err := classic.New(o)
		if err != nil {
			return nil, err
		}
		out = append(out, bp)
	}
	return out, nil
}
