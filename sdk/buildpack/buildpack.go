// Package buildpack has small helpers for writing paasd buildpacks in Go
// (core.Buildpack), served as a go-plugin (sdk.Serve) or as a Wasm module
// (sdk/wasmguest). It imports nothing that cannot build for wasip1.
//
//	buildpack.Step(req.Output, "Installing %s", v)   // "-----> Installing 1.2"
//	buildpack.Info(req.Output, "done")               // "       done"
//	vars, err := buildpack.ReadEnvDir(req.EnvDir)     // config vars
//	return core.CompileResponse{}, buildpack.Fail(req.Output, "no index.html")
package buildpack

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/paasd/paasd/core"
)

// Step writes a Heroku build step line: "-----> " and the message.
func Step(w io.Writer, format string, args ...any) {
	writeLines(w, "-----> ", format, args...)
}

// Info writes an indented build output line ("       " and the message).
func Info(w io.Writer, format string, args ...any) {
	writeLines(w, "       ", format, args...)
}

// Fail writes " !     " and the message to w, as Heroku prints a build
// failure, and returns the message as an error wrapping core.ErrInvalid (a
// user's build failure: the build fails and the user reads why).
func Fail(w io.Writer, format string, args ...any) error {
	writeLines(w, " !     ", format, args...)
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), core.ErrInvalid)
}

// writeLines prefixes every line of the message; a nil w writes nothing.
func writeLines(w io.Writer, prefix, format string, args ...any) {
	if w == nil {
		return
	}
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	var b strings.Builder
	for _, line := range strings.Split(msg, "\n") {
		b.WriteString(prefix + line + "\n")
	}
	_, _ = io.WriteString(w, b.String())
}

// ReadEnvDir returns the config vars in a build's ENV_DIR (one file per
// variable, the file's content its value). An empty dir argument means no
// vars. It never changes the directory. Errors wrap the os error.
func ReadEnvDir(dir string) (map[string]string, error) {
	vars := map[string]string{}
	if dir == "" {
		return vars, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read env dir: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read config var %s: %w", e.Name(), err)
		}
		vars[e.Name()] = string(b)
	}
	return vars, nil
}

// Exists reports whether the file or directory rel exists under dir; an
// error other than "does not exist" is returned.
func Exists(dir, rel string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, rel))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, err
}
