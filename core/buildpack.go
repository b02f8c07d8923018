package core

import (
	"context"
	"io"
)

// BuildpackAPIVersions are the buildpack contract versions this core speaks.
var BuildpackAPIVersions = []int{1}

// DetectRequest asks whether a buildpack applies to an app's source.
type DetectRequest struct {
	// BuildDir is the app's source tree (the classic BUILD_DIR).
	BuildDir string `json:"build_dir"`
}

// DetectResponse answers a DetectRequest.
type DetectResponse struct {
	// Detected is true when the buildpack applies (classic: bin/detect exit 0).
	Detected bool `json:"detected"`
	// Name is the framework name the buildpack printed, e.g. "Go".
	Name string `json:"name,omitempty"`
}

// CompileRequest asks a buildpack to turn BuildDir into a runnable slug dir.
type CompileRequest struct {
	// BuildDir is compiled in place (classic BUILD_DIR).
	BuildDir string `json:"build_dir"`
	// CacheDir survives between builds of the same app (classic CACHE_DIR).
	CacheDir string `json:"cache_dir"`
	// EnvDir holds one file per config var; nothing is exported automatically
	// (classic ENV_DIR).
	EnvDir string `json:"env_dir"`
	// Env is extra environment for the compile step, e.g. what a previous
	// buildpack in the chain exported.
	Env map[string]string `json:"env,omitempty"`
	// Stack names the stack the slug will run on.
	Stack string `json:"stack,omitempty"`
	// Output, when set, receives the buildpack's output as it runs; it is not
	// part of the wire message (remote transports return it in CompileResponse).
	Output io.Writer `json:"-"`
}

// CompileResponse reports a successful compile.
type CompileResponse struct {
	// Output is the buildpack's output when it could not be streamed.
	Output string `json:"output,omitempty"`
	// Export holds variables the buildpack exports to later buildpacks in the
	// chain (the classic "export" file).
	Export map[string]string `json:"export,omitempty"`
}

// ReleaseRequest asks for a buildpack's release metadata (classic bin/release).
type ReleaseRequest struct {
	BuildDir string `json:"build_dir"`
}

// ReleaseResponse is the parsed bin/release output.
type ReleaseResponse struct {
	// DefaultProcessTypes fill in process types the Procfile lacks.
	DefaultProcessTypes map[string]string `json:"default_process_types,omitempty"`
	// Addons are add-on plans the buildpack suggests.
	Addons []string `json:"addons,omitempty"`
}

// Buildpack detects and compiles apps.
//
// Detect returns Detected=false (not an error) when the buildpack does not
// apply. Compile returns an error wrapping ErrInvalid when the app cannot be
// built (the build fails and the user sees the message); any other error is a
// platform failure.
type Buildpack interface {
	Plugin
	Detect(ctx context.Context, req DetectRequest) (DetectResponse, error)
	Compile(ctx context.Context, req CompileRequest) (CompileResponse, error)
	Release(ctx context.Context, req ReleaseRequest) (ReleaseResponse, error)
}
