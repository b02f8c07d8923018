// Package dynoplugin runs a go-plugin buildpack (plugin:PATH) inside build
// dynos, never as a host process: every Detect, Compile and Release starts
// the plugin executable as the command of its own build dyno through a
// core.DynoRuntime (the way the classic runner runs bin/compile), speaks
// go-plugin's gRPC to it across a Unix socket in a directory shared with
// the dyno, and stops and removes the dyno when the call returns.
//
// # The build dyno
//
// With a runtime that declares the "isolation" capability (runc) the dyno
// sees the same paths as a classic buildpack's: the build dir at /app
// (read-only for Detect and Release), the cache dir at /tmp/cache, the env
// dir at /tmp/env (read-only), and a read-only copy of the plugin
// executable at /tmp/buildpack/plugin; the request's paths are those. The
// dyno's limits (size performance-m by default), seccomp profile, network
// namespace and unprivileged user apply to the plugin. The stack's root is
// the host's directories mounted read-only, so a dynamically linked plugin
// finds its libc. A runtime without isolation (the dev process runtime)
// binds everything at its host path and runs the plugin as a host process:
// weaker, as for classic buildpacks.
//
// # Load and calls
//
// [New] runs the plugin once in a dyno without mounts to check it
// (Describe, contract and API version, config against its schema,
// Configure), as pluginhost.Host does for other plugins. Each call then
// configures a fresh process with the same API version and config. Calls
// have deadlines (goplugin.Opener: Detect and Release 30 s, Compile the
// caller's ctx, i.e. the build's timeout); a plugin that exits or crashes
// during a call fails it at once with an error wrapping core.ErrUnavailable
// that names the plugin and its dyno, and the dyno is removed.
package dynoplugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/core/wire"
	"github.com/paasd/paasd/plugins/buildpacks/classic"
)

// Paths inside an isolated build dyno besides classic's.
const (
	// PluginDir holds the copy of the plugin executable, named "plugin".
	PluginDir = classic.BuildpackMount
	// SocketDir is go-plugin's socket directory.
	SocketDir = "/tmp/plugin-socket"
)

// Options configure a Buildpack. Every zero value is the documented default.
type Options struct {
	// Path is the plugin executable on the host. Required.
	Path string
	// Config is the plugin's configuration (JSON), nil for none.
	Config json.RawMessage
	// Runtime runs the build dynos. Required.
	Runtime core.DynoRuntime
	// Opener speaks go-plugin (timeouts, checksums, Env, log); nil means a
	// zero goplugin.Opener.
	Opener *goplugin.Opener
	// Validator checks messages and the config; nil means no validation.
	Validator pluginhost.ConfigValidator
	// Size is the build dyno's size; empty means "performance-m".
	Size string
	// Stack is the build dynos' stack; empty means the runtime's default.
	Stack string
	// App names the app in dyno ids and labels; empty means "build".
	App string
	// WorkDir holds the per-call copies of the executable and the socket
	// directories; it should be a directory only paasd can enter. Empty
	// means os.TempDir().
	WorkDir string
	// Logger receives the plugin's log; nil means slog.Default().
	Logger *slog.Logger
}

// Buildpack is a go-plugin buildpack run in build dynos. It is safe for
// concurrent use: every call starts its own dyno.
type Buildpack struct {
	opts       Options
	ref        string
	info       core.PluginInfo
	apiVersion int
	isolated   bool
}

var _ core.Buildpack = (*Buildpack)(nil)

// New checks the plugin at opts.Path in a build dyno and returns it.
// Errors name the reference and wrap core.ErrInvalid (bad options or
// config), core.ErrNotFound (no such file), core.ErrUnsupported (contract
// or version mismatch) or core.ErrPluginFailed (not a paasd plugin).
func New(ctx context.Context, opts Options) (*Buildpack, error) {
	if opts.Runtime == nil {
		return nil, fmt.Errorf("plugin buildpack: no dyno runtime: %w", core.ErrInvalid)
	}
	abs, err := filepath.Abs(opts.Path)
	if err != nil || opts.Path == "" {
		return nil, fmt.Errorf("plugin buildpack: path %q: %w", opts.Path, core.ErrInvalid)
	}
	opts.Path = abs
	if opts.Opener == nil {
		opts.Opener = &goplugin.Opener{}
	}
	if opts.Size == "" {
		opts.Size = "performance-m"
	}
	if _, ok := core.LookupDynoSize(opts.Size); !ok {
		return nil, fmt.Errorf("plugin buildpack %s: unknown build dyno size %q: %w", abs, opts.Size, core.ErrInvalid)
	}
	if opts.WorkDir == "" {
		opts.WorkDir = os.TempDir()
	}
	if opts.App == "" {
		opts.App = "build"
	}
	info, err := opts.Runtime.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("plugin buildpack %s: describe dyno runtime: %w", abs, err)
	}
	b := &Buildpack{opts: opts, ref: core.Ref{Kind: core.RefPlugin, Target: abs}.String(), isolated: info.HasCapability(core.RuntimeCapIsolation)}
	// The load check: Describe, versions, config schema, Configure, in a
	// dyno of its own (pluginhost.Host does exactly that over the opener).
	s := &session{b: b, step: "load"}
	defer s.close()
	h := &pluginhost.Host{GoPlugin: s, Validator: opts.Validator, Logger: opts.Logger}
	l, err := h.Load(ctx, core.ContractBuildpack, b.ref, opts.Config)
	if err != nil {
		return nil, err
	}
	b.info, b.apiVersion = l.Info, l.APIVersion
	_ = l.Close()
	return b, nil
}

// Ref returns the plugin's reference, "plugin:PATH".
func (b *Buildpack) Ref() string { return b.ref }

// Describe implements core.Plugin with what the plugin said at load.
func (b *Buildpack) Describe(context.Context) (core.PluginInfo, error) { return b.info, nil }

// Configure implements core.Plugin: the config is fixed by Options.Config.
func (b *Buildpack) Configure(context.Context, core.ConfigureRequest) error { return nil }

// Detect implements core.Buildpack in a build dyno (build dir read-only).
func (b *Buildpack) Detect(ctx context.Context, req core.DetectRequest) (core.DetectResponse, error) {
	var resp core.DetectResponse
	err := b.call(ctx, "detect", []dirMount{{req.BuildDir, classic.BuildMount, true}}, func(bp core.Buildpack, p []string) error {
		r := req
		r.BuildDir = p[0]
		var err error
		resp, err = bp.Detect(ctx, r)
		return err
	})
	return resp, err
}

// Compile implements core.Buildpack in a build dyno.
func (b *Buildpack) Compile(ctx context.Context, req core.CompileRequest) (core.CompileResponse, error) {
	// The build dyno's user (unprivileged under runc) writes the build and
	// cache dirs and reads the env dir.
	for _, d := range []string{req.BuildDir, req.CacheDir} {
		if d == "" {
			continue
		}
		if err := classic.OpenTree(d); err != nil {
			return core.CompileResponse{}, fmt.Errorf("%s: %w", b.ref, err)
		}
	}
	if req.EnvDir != "" {
		if err := os.Chmod(req.EnvDir, 0o755); err != nil {
			return core.CompileResponse{}, fmt.Errorf("%s: env dir: %w", b.ref, err)
		}
	}
	var resp core.CompileResponse
	dirs := []dirMount{{req.BuildDir, classic.BuildMount, false}, {req.CacheDir, classic.CacheMount, false}, {req.EnvDir, classic.EnvMount, true}}
	err := b.call(ctx, "compile", dirs, func(bp core.Buildpack, p []string) error {
		r := req
		r.BuildDir, r.CacheDir, r.EnvDir = p[0], p[1], p[2]
		var err error
		resp, err = bp.Compile(ctx, r)
		return err
	})
	return resp, err
}

// Release implements core.Buildpack in a build dyno (build dir read-only).
func (b *Buildpack) Release(ctx context.Context, req core.ReleaseRequest) (core.ReleaseResponse, error) {
	var resp core.ReleaseResponse
	err := b.call(ctx, "release", []dirMount{{req.BuildDir, classic.BuildMount, true}}, func(bp core.Buildpack, p []string) error {
		r := req
		r.BuildDir = p[0]
		var err error
		resp, err = bp.Release(ctx, r)
		return err
	})
	return resp, err
}

type dirMount struct {
	src, target string
	ro          bool
}

// call runs fn against a fresh, configured plugin process in a build dyno
// with dirs bound in; fn gets the dirs' paths as the dyno sees them.
func (b *Buildpack) call(ctx context.Context, step string, dirs []dirMount, fn func(core.Buildpack, []string) error) error {
	s := &session{b: b, step: step}
	defer s.close()
	paths := make([]string, len(dirs))
	for i, d := range dirs {
		if d.src == "" {
			continue
		}
		paths[i] = d.src
		if b.isolated {
			paths[i] = d.target
		}
		s.mounts = append(s.mounts, core.Mount{Source: d.src, Target: paths[i], ReadOnly: d.ro})
	}
	conn, closer, err := s.Open(ctx, b.opts.Path, core.ContractBuildpack)
	if err != nil {
		return fmt.Errorf("%s: %w", b.ref, err)
	}
	defer closer.Close()
	var v wire.Validator = wire.NoValidation{}
	if b.opts.Validator != nil {
		v = b.opts.Validator
	}
	bp := wire.NewBuildpackClient(&wire.Client{Conn: conn, Name: b.ref, Contract: core.ContractBuildpack, Validator: v})
	if err := bp.Configure(ctx, core.ConfigureRequest{APIVersion: b.apiVersion, Config: b.opts.Config}); err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	return fn(bp, paths)
}

// session is one plugin process in one build dyno: its scratch directory
// (the executable's copy, the socket directory) and the dyno, removed by
// close. It is the pluginhost.Opener of its one process.
type session struct {
	b      *Buildpack
	step   string
	mounts []core.Mount

	mu      sync.Mutex
	scratch string
	extra   string // a short socket directory outside scratch, if any
	dynoID  string
}

// Unix socket path limits: sun_path holds 107 bytes and a NUL; go-plugin
// names the socket DIR/plugin-dirNNNNNNNNNN/pluginNNNNNNNNNN.
const (
	maxSocketPath = 107
	maxSocketName = 40
)

var _ pluginhost.Opener = (*session)(nil)

// Open implements pluginhost.Opener: copy the executable (read-only, for
// the dyno's user), start it in a build dyno and complete go-plugin's
// handshake over the shared socket directory.
func (s *session) Open(ctx context.Context, path string, c core.Contract) (wire.Conn, io.Closer, error) {
	b := s.b
	scratch, err := os.MkdirTemp(b.opts.WorkDir, "plugin-")
	if err != nil {
		return nil, nil, fmt.Errorf("scratch dir: %w", err)
	}
	id := fmt.Sprintf("build-%s-plugin-%s-%s", sanitize(b.opts.App), s.step, randHex(6))
	s.mu.Lock()
	s.scratch, s.dynoID = scratch, id
	s.mu.Unlock()
	exeDir := filepath.Join(scratch, "bin")
	sockDir := filepath.Join(scratch, "s")
	for _, d := range []string{exeDir, sockDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, nil, fmt.Errorf("scratch dir: %w", err)
		}
	}
	if len(sockDir)+maxSocketName > maxSocketPath {
		// A Unix socket's path is at most 107 bytes; go-plugin adds
		// plugin-dirN/pluginN. Use a short private directory instead.
		short, err := os.MkdirTemp("", "paasd-bp-")
		if err != nil {
			return nil, nil, fmt.Errorf("socket dir: %w", err)
		}
		s.mu.Lock()
		s.extra = short
		s.mu.Unlock()
		sockDir = short
	}
	exe := filepath.Join(exeDir, "plugin")
	if err := copyExecutable(path, exe); err != nil {
		return nil, nil, err
	}
	size, _ := core.LookupDynoSize(b.opts.Size)
	mounts := append([]core.Mount(nil), s.mounts...)
	exeTarget, sockTarget := exeDir, ""
	if b.isolated {
		exeTarget, sockTarget = PluginDir, SocketDir
	}
	mounts = append(mounts, core.Mount{Source: exeDir, Target: exeTarget, ReadOnly: true})
	workDir := exeTarget
	if len(s.mounts) > 0 {
		workDir = s.mounts[0].Target
	}
	env := map[string]string{"PATH": classic.DefaultPath, "HOME": workDir, "LANG": "C.UTF-8"}
	if b.opts.Stack != "" {
		env["STACK"] = b.opts.Stack
	}
	runner := goplugin.DynoRunner{
		Runtime: b.opts.Runtime,
		Spec: core.DynoSpec{
			ID: id, App: b.opts.App, Name: "build.1", Type: "build", Env: env,
			Stack: b.opts.Stack, Size: b.opts.Size, Limits: size.Limits, Mounts: mounts,
			Labels: map[string]string{"paasd.build": "true", "paasd.build.step": s.step, "paasd.buildpack": b.ref},
		},
		Executable: filepath.Join(exeTarget, "plugin"),
		SocketDir:  sockTarget,
	}
	o := b.opts.Opener
	if o.Checksums != nil || o.RequireChecksum {
		// The pin names the operator's path; the copy is what runs.
		if err := checkPinned(o, path, exe); err != nil {
			return nil, nil, err
		}
	}
	conn, closer, err := o.OpenIn(ctx, path, c, goplugin.RunOptions{Runner: runner.Run, SocketTempDir: sockDir})
	if err != nil {
		return nil, nil, fmt.Errorf("in build dyno %s: %w", id, err)
	}
	return conn, closer, nil
}

// close stops and removes the dyno (if the process did not exit) and the
// scratch directory.
func (s *session) close() {
	s.mu.Lock()
	id, scratch, extra := s.dynoID, s.scratch, s.extra
	s.mu.Unlock()
	if extra != "" {
		defer os.RemoveAll(extra)
	}
	if id != "" {
		rt := s.b.opts.Runtime
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if st, err := rt.Inspect(ctx, id); err == nil {
			if st.State == core.DynoStarting || st.State == core.DynoUp {
				if _, err := rt.Stop(ctx, id, 2*time.Second); err != nil && !errors.Is(err, core.ErrNotFound) {
					s.logger().Warn("stop plugin build dyno", "dyno", id, "err", err)
				}
			}
			if err := rt.Remove(ctx, id); err != nil && !errors.Is(err, core.ErrNotFound) {
				s.logger().Warn("remove plugin build dyno", "dyno", id, "err", err)
			}
		}
		cancel()
	}
	if scratch != "" {
		_ = os.RemoveAll(scratch)
	}
}

func (s *session) logger() *slog.Logger {
	if s.b.opts.Logger != nil {
		return s.b.opts.Logger
	}
	return slog.Default()
}

// checkPinned checks the copy that will run against the pin of path.
func checkPinned(o *goplugin.Opener, path, copyPath string) error {
	pin := &goplugin.Opener{Checksums: map[string]string{}, RequireChecksum: o.RequireChecksum}
	for p, sum := range o.Checksums {
		if ap, err := filepath.Abs(p); err == nil && ap == path {
			pin.Checksums[copyPath] = sum
		}
	}
	return pin.CheckFile(copyPath)
}

// copyExecutable copies the plugin to dst, readable and executable by all
// (the dyno's user), so that a later change of the operator's file cannot
// reach a running build.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no plugin executable: file does not exist: %w", core.ErrNotFound)
	case err != nil:
		return fmt.Errorf("plugin executable: %w: %w", err, core.ErrPluginFailed)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("plugin executable: %w: %w", err, core.ErrPluginFailed)
	}
	if fi.IsDir() {
		return fmt.Errorf("a directory, not a plugin executable: %w", core.ErrPluginFailed)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("file is not executable (mode %s): %w", fi.Mode().Perm(), core.ErrPluginFailed)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o555)
	if err != nil {
		return fmt.Errorf("copy plugin executable: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy plugin executable: %w", err)
	}
	return out.Close()
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() > 40 {
		return b.String()[:40]
	}
	return b.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
