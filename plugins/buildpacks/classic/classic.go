// Package classic runs Heroku classic buildpacks (bin/detect, bin/compile,
// bin/release) as a core.Buildpack, every step inside a build dyno started
// through a core.DynoRuntime, never as a host process.
//
// # The build dyno
//
// Each step is one dyno of type "build" with the buildpack's directory, the
// build dir, the cache dir and the env dir bound in as [core.Mount]s. With a
// runtime that declares the "isolation" capability (runc) they appear at
// fixed paths: BUILD_DIR=/app (so absolute paths written at build time hold
// at run time, where the slug is /app), CACHE_DIR=/tmp/cache,
// ENV_DIR=/tmp/env and the buildpack at /tmp/buildpack; detect and release
// see the build dir read-only. A runtime without isolation (the dev process
// runtime) cannot remap paths: the directories are bound at their host
// paths, and the buildpack runs as a host process with the runtime's user:
// it can read and write anything that user can. Use that runtime only with
// buildpacks you trust.
//
// # Environment
//
// A step's environment is exactly: PATH (with /usr/local/go/bin), HOME
// (the build dir), STACK, SOURCE_VERSION when known, Options.Env (e.g.
// GOPROXY for the Go buildpack), and for compile, what earlier buildpacks of
// the chain exported. Config vars are NOT exported: they are files in
// ENV_DIR, as on Heroku.
//
// # Export
//
// A buildpack may write an "export" file in its own directory during
// compile; it is sourced after compile (inside the build dyno) and the
// variables it sets are returned in CompileResponse.Export, which the build
// pipeline passes to the next buildpacks' compile. The buildpack directory
// is therefore copied to a scratch directory for every compile.
package classic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
)

// ID is the plugin id of the classic runner.
const ID = "paasd.buildpack.classic"

// Paths inside an isolated build dyno.
const (
	BuildMount     = "/app"
	CacheMount     = "/tmp/cache"
	EnvMount       = "/tmp/env"
	BuildpackMount = "/tmp/buildpack"
)

// DefaultPath is the PATH of a build step.
const DefaultPath = "/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// exportFile is where the compile wrapper leaves the variables the
// buildpack's export file set (NUL-separated KEY=VALUE).
const exportFile = ".paasd-export.env"

// Options configure a Buildpack. Every zero value is the documented default.
type Options struct {
	// Dir is the buildpack directory holding bin/detect, bin/compile and
	// bin/release. Required.
	Dir string
	// Name is the buildpack's name in build output and Build.Buildpacks,
	// e.g. "heroku/go"; empty means the base name of Dir.
	Name string
	// Runtime runs the build dynos. Required.
	Runtime core.DynoRuntime
	// Size is the build dyno's size; empty means "performance-m" (Heroku's
	// build dynos are large).
	Size string
	// Stack is the stack build dynos run on; empty means the runtime's
	// default.
	Stack string
	// Env is extra environment for every step (e.g. GOPROXY).
	Env map[string]string
	// WorkDir holds the per-compile copies of the buildpack; empty means
	// os.TempDir().
	WorkDir string
	// App names the app in build dyno ids and labels; empty means "build".
	App string
	// StopGrace is how long a cancelled step gets between SIGTERM and
	// SIGKILL; zero means 5 s.
	StopGrace time.Duration
}

// Buildpack is a classic buildpack run in build dynos. It is safe for
// concurrent use: every call starts its own dynos.
type Buildpack struct {
	opts Options

	mu       sync.Mutex
	isolated *bool
}

var _ core.Buildpack = (*Buildpack)(nil)

// New returns the classic buildpack in opts.Dir. It returns an error
// wrapping core.ErrInvalid when the directory has no executable
// bin/detect, bin/compile or bin/release.
func New(opts Options) (*Buildpack, error) {
	if opts.Runtime == nil {
		return nil, fmt.Errorf("classic buildpack: no dyno runtime: %w", core.ErrInvalid)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil || opts.Dir == "" {
		return nil, fmt.Errorf("classic buildpack: directory %q: %w", opts.Dir, core.ErrInvalid)
	}
	opts.Dir = dir
	for _, s := range []string{"detect", "compile", "release"} {
		p := filepath.Join(opts.Dir, "bin", s)
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("classic buildpack %s: bin/%s: %w", opts.Dir, s, errors.Join(err, core.ErrInvalid))
		}
		if fi.Mode()&0o111 == 0 || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("classic buildpack %s: bin/%s is not an executable file: %w", opts.Dir, s, core.ErrInvalid)
		}
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(opts.Dir)
	}
	if opts.Size == "" {
		opts.Size = "performance-m"
	}
	if _, ok := core.LookupDynoSize(opts.Size); !ok {
		return nil, fmt.Errorf("classic buildpack %s: unknown build dyno size %q: %w", opts.Name, opts.Size, core.ErrInvalid)
	}
	if opts.WorkDir == "" {
		opts.WorkDir = os.TempDir()
	}
	if opts.App == "" {
		opts.App = "build"
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = 5 * time.Second
	}
	return &Buildpack{opts: opts}, nil
}

// Name returns the buildpack's name.
func (b *Buildpack) Name() string { return b.opts.Name }

// Describe implements core.Plugin.
func (b *Buildpack) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: ID, Contract: core.ContractBuildpack, APIVersions: core.BuildpackAPIVersions, Version: "1"}, nil
}

// Configure implements core.Plugin; the classic runner takes no config.
func (b *Buildpack) Configure(_ context.Context, req core.ConfigureRequest) error {
	if len(req.Config) > 0 && string(req.Config) != "null" && string(req.Config) != "{}" {
		return fmt.Errorf("classic buildpack %s takes no configuration: %w", b.opts.Name, core.ErrInvalid)
	}
	return nil
}

// isIsolated reports whether the runtime remaps mounts (declares isolation).
func (b *Buildpack) isIsolated(ctx context.Context) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.isolated != nil {
		return *b.isolated, nil
	}
	info, err := b.opts.Runtime.Describe(ctx)
	if err != nil {
		return false, fmt.Errorf("describe dyno runtime: %w", err)
	}
	iso := info.HasCapability(core.RuntimeCapIsolation)
	b.isolated = &iso
	return iso, nil
}

// layout maps host directories to the paths a step sees.
type layout struct {
	mounts                       []core.Mount
	build, cache, env, buildpack string
}

func (b *Buildpack) layout(ctx context.Context, build, cache, env, bp string, buildRO bool) (layout, error) {
	iso, err := b.isIsolated(ctx)
	if err != nil {
		return layout{}, err
	}
	var l layout
	add := func(src, isoTarget string, ro bool) string {
		if src == "" {
			return ""
		}
		target := src
		if iso {
			target = isoTarget
		}
		l.mounts = append(l.mounts, core.Mount{Source: src, Target: target, ReadOnly: ro})
		return target
	}
	l.build = add(build, BuildMount, buildRO)
	l.cache = add(cache, CacheMount, false)
	l.env = add(env, EnvMount, true)
	l.buildpack = add(bp, BuildpackMount, buildRO)
	return l, nil
}

// Detect implements core.Buildpack: bin/detect BUILD_DIR in a build dyno.
// Exit 0 means the buildpack applies and its first output line names the
// framework; any other exit means it does not apply.
func (b *Buildpack) Detect(ctx context.Context, req core.DetectRequest) (core.DetectResponse, error) {
	if err := checkDir("build dir", req.BuildDir); err != nil {
		return core.DetectResponse{}, err
	}
	l, err := b.layout(ctx, req.BuildDir, "", "", b.opts.Dir, true)
	if err != nil {
		return core.DetectResponse{}, err
	}
	var stdout, stderr lines
	code, err := b.run(ctx, "detect", shellJoin(l.buildpack+"/bin/detect", l.build), l, nil, func(ll core.LogLine) {
		if ll.Stream == "stderr" {
			stderr.add(ll.Text)
		} else {
			stdout.add(ll.Text)
		}
	})
	if err != nil {
		return core.DetectResponse{}, err
	}
	if code != 0 {
		return core.DetectResponse{Detected: false}, nil
	}
	name := strings.TrimSpace(stdout.first())
	if name == "" {
		name = b.opts.Name
	}
	return core.DetectResponse{Detected: true, Name: name}, nil
}

// Compile implements core.Buildpack: bin/compile BUILD_DIR CACHE_DIR
// ENV_DIR in a build dyno, with output streamed to req.Output line by line.
// A non-zero exit is an error wrapping core.ErrInvalid that names the
// buildpack and the exit code (the user's build failed).
func (b *Buildpack) Compile(ctx context.Context, req core.CompileRequest) (core.CompileResponse, error) {
	for _, d := range [][2]string{{"build dir", req.BuildDir}, {"cache dir", req.CacheDir}, {"env dir", req.EnvDir}} {
		if err := checkDir(d[0], d[1]); err != nil {
			return core.CompileResponse{}, err
		}
	}
	bpCopy, err := os.MkdirTemp(b.opts.WorkDir, "buildpack-")
	if err != nil {
		return core.CompileResponse{}, fmt.Errorf("buildpack %s: scratch dir: %w", b.opts.Name, err)
	}
	defer os.RemoveAll(bpCopy)
	if err := copyTree(b.opts.Dir, bpCopy); err != nil {
		return core.CompileResponse{}, fmt.Errorf("buildpack %s: copy: %w", b.opts.Name, err)
	}
	// The build dyno's user (unprivileged under runc) must write the build
	// and cache dirs and the buildpack copy (its export file).
	for _, d := range []string{req.BuildDir, req.CacheDir, bpCopy} {
		if err := OpenTree(d); err != nil {
			return core.CompileResponse{}, fmt.Errorf("buildpack %s: %w", b.opts.Name, err)
		}
	}
	if err := os.Chmod(req.EnvDir, 0o755); err != nil {
		return core.CompileResponse{}, fmt.Errorf("buildpack %s: env dir: %w", b.opts.Name, err)
	}
	l, err := b.layout(ctx, req.BuildDir, req.CacheDir, req.EnvDir, bpCopy, false)
	if err != nil {
		return core.CompileResponse{}, err
	}
	env := map[string]string{}
	for k, v := range req.Env {
		env[k] = v
	}
	if req.Stack != "" {
		env["STACK"] = req.Stack
	}
	// Run compile, then source the export file (if any) in a subshell and
	// record what it sets.
	script := fmt.Sprintf(`%s; rc=$?; if [ $rc -eq 0 ] && [ -f %s ]; then (set -a; . %s >/dev/null 2>&1; env -0) > %s || exit 1; fi; exit $rc`,
		shellJoin(l.buildpack+"/bin/compile", l.build, l.cache, l.env),
		shellQuote(l.buildpack+"/export"), shellQuote(l.buildpack+"/export"), shellQuote(l.buildpack+"/"+exportFile))
	out := req.Output
	if out == nil {
		out = io.Discard
	}
	code, err := b.run(ctx, "compile", script, l, env, func(ll core.LogLine) {
		_, _ = io.WriteString(out, ll.Text+"\n")
	})
	if err != nil {
		return core.CompileResponse{}, err
	}
	if code != 0 {
		return core.CompileResponse{}, fmt.Errorf("buildpack %s: bin/compile failed (exit status %d): %w", b.opts.Name, code, core.ErrInvalid)
	}
	resp := core.CompileResponse{}
	if raw, err := os.ReadFile(filepath.Join(bpCopy, exportFile)); err == nil {
		base := b.stepEnv(env, l)
		resp.Export = parseExport(raw, base)
	}
	return resp, nil
}

// Release implements core.Buildpack: bin/release BUILD_DIR in a build dyno;
// its stdout is the YAML parsed by [ParseRelease].
func (b *Buildpack) Release(ctx context.Context, req core.ReleaseRequest) (core.ReleaseResponse, error) {
	if err := checkDir("build dir", req.BuildDir); err != nil {
		return core.ReleaseResponse{}, err
	}
	l, err := b.layout(ctx, req.BuildDir, "", "", b.opts.Dir, true)
	if err != nil {
		return core.ReleaseResponse{}, err
	}
	var stdout, stderr lines
	code, err := b.run(ctx, "release", shellJoin(l.buildpack+"/bin/release", l.build), l, nil, func(ll core.LogLine) {
		if ll.Stream == "stderr" {
			stderr.add(ll.Text)
		} else {
			stdout.add(ll.Text)
		}
	})
	if err != nil {
		return core.ReleaseResponse{}, err
	}
	if code != 0 {
		return core.ReleaseResponse{}, fmt.Errorf("buildpack %s: bin/release failed (exit status %d): %s: %w", b.opts.Name, code, stderr.last(), core.ErrInvalid)
	}
	resp, err := ParseRelease([]byte(stdout.String()))
	if err != nil {
		return core.ReleaseResponse{}, fmt.Errorf("buildpack %s: bin/release: %w", b.opts.Name, err)
	}
	return resp, nil
}

// stepEnv is the environment of a step.
func (b *Buildpack) stepEnv(extra map[string]string, l layout) map[string]string {
	env := map[string]string{"PATH": DefaultPath, "HOME": l.build, "LANG": "C.UTF-8"}
	if b.opts.Stack != "" {
		env["STACK"] = b.opts.Stack
	}
	for k, v := range b.opts.Env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// run starts one build dyno, streams its output to fn, and returns its exit
// code. A cancelled ctx stops the dyno.
func (b *Buildpack) run(ctx context.Context, step, script string, l layout, extra map[string]string, fn func(core.LogLine)) (int, error) {
	rt := b.opts.Runtime
	size, _ := core.LookupDynoSize(b.opts.Size)
	id := fmt.Sprintf("build-%s-%s-%s", sanitize(b.opts.App), step, randHex(6))
	cmd := "cd " + shellQuote(l.build) + " && " + script
	spec := core.DynoSpec{
		ID: id, App: b.opts.App, Name: "build.1", Type: "build", Command: cmd,
		Env: b.stepEnv(extra, l), Stack: b.opts.Stack, Size: b.opts.Size, Limits: size.Limits,
		Mounts: l.mounts,
		Labels: map[string]string{"paasd.build": "true", "paasd.build.step": step, "paasd.buildpack": b.opts.Name},
	}
	if _, err := rt.Start(ctx, spec); err != nil {
		return 0, fmt.Errorf("buildpack %s: %s: start build dyno: %w", b.opts.Name, step, err)
	}
	defer func() { _ = rt.Remove(context.Background(), id) }()
	logsCtx, cancelLogs := context.WithCancel(context.Background())
	defer cancelLogs()
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		_ = rt.Logs(logsCtx, id, func(ll core.LogLine) error { fn(ll); return nil })
	}()
	st, err := rt.Wait(ctx, id)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), b.opts.StopGrace+30*time.Second)
		_, _ = rt.Stop(sctx, id, b.opts.StopGrace)
		cancel()
		cancelLogs()
		<-logsDone
		if ctx.Err() != nil {
			return 0, fmt.Errorf("buildpack %s: %s: %w", b.opts.Name, step, ctx.Err())
		}
		return 0, fmt.Errorf("buildpack %s: %s: wait for build dyno: %w", b.opts.Name, step, err)
	}
	// Logs returns once the dyno's output is delivered; do not wait forever
	// on a runtime that keeps the stream open.
	select {
	case <-logsDone:
	case <-time.After(30 * time.Second):
		cancelLogs()
		<-logsDone
	}
	switch {
	case st.OOMKilled:
		return 0, fmt.Errorf("buildpack %s: %s: build dyno ran out of memory (%s, %d MB): %w", b.opts.Name, step, b.opts.Size, size.Limits.MemoryBytes>>20, core.ErrInvalid)
	case st.ExitCode != nil:
		return *st.ExitCode, nil
	case st.Signal != "":
		return 128, nil
	}
	return 0, fmt.Errorf("buildpack %s: %s: build dyno exit status unknown: %w", b.opts.Name, step, core.ErrUnavailable)
}

// OpenTree makes dir and everything under it readable and writable by every
// user (directories also searchable), so that an unprivileged build dyno can
// write it. Symbolic links are not followed. dir should sit inside a
// directory only the platform can enter.
func OpenTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm() | 0o666
		if d.IsDir() || fi.Mode()&0o100 != 0 {
			mode |= 0o111
		}
		if mode != fi.Mode().Perm() {
			return os.Chmod(p, mode)
		}
		return nil
	})
}

// copyTree copies the regular files, directories and links under src to dst
// (which exists).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case fi.Mode().IsRegular():
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm()|0o644)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		}
		return nil
	})
}

// parseExport returns the NUL-separated KEY=VALUE entries of raw that are
// new or differ from base, leaving out the shell's own variables.
func parseExport(raw []byte, base map[string]string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(string(raw), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		switch k {
		case "PWD", "OLDPWD", "SHLVL", "_", "rc":
			continue
		}
		if old, had := base[k]; had && old == v {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func checkDir(what, dir string) error {
	if dir == "" {
		return fmt.Errorf("%s: empty path: %w", what, core.ErrInvalid)
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%s %q: not an absolute path: %w", what, dir, core.ErrInvalid)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", what, errors.Join(err, core.ErrInvalid))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %q: not a directory: %w", what, dir, core.ErrInvalid)
	}
	return nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
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

// lines collects a step's output (bounded: the first and last lines).
type lines struct {
	mu   sync.Mutex
	all  []string
	size int
}

const maxCollected = 1 << 20

func (l *lines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size+len(s) > maxCollected {
		return
	}
	l.size += len(s) + 1
	l.all = append(l.all, s)
}

func (l *lines) first() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return ""
	}
	return l.all[0]
}

func (l *lines) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return "no output"
	}
	return l.all[len(l.all)-1]
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n") + "\n"
}
