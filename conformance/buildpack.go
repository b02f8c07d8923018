package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
)

// BuildpackTarget is a buildpack implementation under test, with the apps
// the suite builds.
type BuildpackTarget struct {
	// Name names the implementation in reports, e.g. its plugin reference.
	Name string
	// New returns a fresh instance configured with config (JSON; nil for
	// none) and a function that releases it (nil if there is nothing to
	// release). Every check gets its own instance. [HostBuildpack] and
	// [InProcessBuildpack] build New from a plugin reference or a
	// constructor.
	New func(ctx context.Context, config json.RawMessage) (core.Buildpack, func() error, error)
	// Config is the configuration each check's instance gets.
	Config json.RawMessage
	// App is a directory holding an app the buildpack must detect and
	// compile (copied for every check; never modified). Required.
	App string
	// OtherApp is an app the buildpack must not detect; empty means an
	// empty directory.
	OtherApp string
	// BrokenApp is an app the buildpack detects but cannot compile (a
	// syntax error); empty skips the failing-compile check.
	BrokenApp string
	// WantProcessTypes are the process types bin/release must default
	// for App (e.g. "web"); empty means none are required.
	WantProcessTypes []string
	// Verify, when set, checks that a compiled build dir is runnable (e.g.
	// starts its web process); it runs after the compile check.
	Verify func(t *T, buildDir string, processTypes map[string]string)
	// WarmCache, when set, is copied into every check's cache dir before
	// its first compile (e.g. a cache an earlier build left), for
	// buildpacks whose cold builds are slow; the cache checks still start
	// from it. Empty means every check starts with an empty cache.
	WarmCache string
	// Timeout bounds each check; zero means 10 minutes (compiles are slow).
	Timeout time.Duration
}

// HostBuildpack is a target that loads ref through h for every check, the
// path paasd itself takes.
func HostBuildpack(h *pluginhost.Host, ref string, config json.RawMessage) BuildpackTarget {
	return BuildpackTarget{
		Name:   ref,
		Config: config,
		New: func(ctx context.Context, cfg json.RawMessage) (core.Buildpack, func() error, error) {
			l, err := h.Load(ctx, core.ContractBuildpack, ref, cfg)
			if err != nil {
				return nil, nil, err
			}
			b := l.Buildpack()
			if b == nil {
				_ = l.Close()
				return nil, nil, fmt.Errorf("%s: loaded implementation is not a core.Buildpack: %w", ref, core.ErrUnsupported)
			}
			return b, l.Close, nil
		},
	}
}

// InProcessBuildpack is a target that builds each instance with
// newBuildpack and loads it as a builtin through a private
// pluginhost.Host, named "builtin:under-test" in reports. The app fields
// of the returned target are empty: set App (and the others) on it.
func InProcessBuildpack(newBuildpack func() core.Buildpack, config json.RawMessage) BuildpackTarget {
	reg := pluginhost.NewRegistry()
	reg.MustRegister(core.ContractBuildpack, "under-test", func() core.Plugin { return newBuildpack() })
	h := &pluginhost.Host{Registry: reg, Logger: slog.New(slog.DiscardHandler)}
	return HostBuildpack(h, "builtin:under-test", config)
}

// Buildpack runs the buildpack suite against target under go test, one
// subtest per requirement.
func Buildpack(t *testing.T, target BuildpackTarget) {
	t.Helper()
	RunTest(t, BuildpackSuite(target))
}

// BuildpackSuite returns the buildpack contract's checks bound to target:
// describe, detect on a matching and a non-matching app, compile to a
// runnable build dir, release metadata, cache reuse, the env dir, a failing
// compile, streamed output and cancellation.
func BuildpackSuite(target BuildpackTarget) Suite {
	b := buildpackChecks{target: target}
	timeout := target.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	return Suite{
		Contract: core.ContractBuildpack,
		Timeout:  timeout,
		Describe: func(ctx context.Context) (core.PluginInfo, error) {
			bp, release, err := target.New(ctx, target.Config)
			if err != nil {
				return core.PluginInfo{}, err
			}
			if release != nil {
				defer func() { _ = release() }()
			}
			return bp.Describe(ctx)
		},
		Checks: []Check{
			{ID: "buildpack.describe.shape", Level: Must, Run: b.describeShape,
				Title: "Describe gives a dotted id, the buildpack contract and an API version the host speaks"},
			{ID: "buildpack.detect.match", Level: Must, Run: b.detectMatch,
				Title: "Detect on an app the buildpack supports reports Detected"},
			{ID: "buildpack.detect.name", Level: Should, Run: b.detectName,
				Title: "a positive Detect names the framework"},
			{ID: "buildpack.detect.no-match", Level: Must, Run: b.detectNoMatch,
				Title: "Detect on an app the buildpack does not support reports not Detected, without an error"},
			{ID: "buildpack.detect.read-only", Level: Should, Run: b.detectReadOnly,
				Title: "Detect leaves the build dir unchanged"},
			{ID: "buildpack.compile.runnable", Level: Must, Run: b.compileRunnable,
				Title: "Compile succeeds and leaves a build dir whose default process types name files it holds"},
			{ID: "buildpack.release.process-types", Level: Must, Run: b.releaseTypes,
				Title: "Release returns valid default process types, including the ones the app needs"},
			{ID: "buildpack.compile.cache-reuse", Level: Must, Run: b.cacheReuse,
				Title: "a second Compile with the cache dir the first left succeeds"},
			{ID: "buildpack.compile.cache-used", Level: May, Run: b.cacheUsed,
				Title: "Compile keeps something in the cache dir for the next build"},
			{ID: "buildpack.compile.env-dir", Level: Must, Run: b.envDir,
				Title: "Compile succeeds with config vars in ENV_DIR (multi-line, Unicode) and leaves ENV_DIR unchanged"},
			{ID: "buildpack.compile.fails-clearly", Level: Must, Run: b.failsClearly,
				Title: "Compile of a broken app returns an error wrapping ErrInvalid, with output saying why"},
			{ID: "buildpack.compile.output", Level: Must, Run: b.output,
				Title: "Compile output reaches the caller (streamed to Output, or returned)"},
			{ID: "buildpack.compile.streamed", Level: Should, Run: b.streamed,
				Title: "Compile streams its output to Output while it runs"},
			{ID: "buildpack.compile.cancelled", Level: Should, Run: b.cancelled,
				Title: "Compile with a cancelled context returns an error and does not hang"},
		},
	}
}

type buildpackChecks struct{ target BuildpackTarget }

func (b buildpackChecks) open(t *T) core.Buildpack {
	t.Helper()
	bp, release, err := b.target.New(t.Context(), b.target.Config)
	if err != nil {
		t.Fatalf("load and configure the buildpack: %v", err)
	}
	if release != nil {
		t.Cleanup(func() { _ = release() })
	}
	return bp
}

// dirs are one build's directories.
type dirs struct{ build, cache, env string }

// prepare copies app into a fresh build dir next to fresh cache and env
// dirs.
func (b buildpackChecks) prepare(t *T, app string) dirs {
	t.Helper()
	root := t.TempDir()
	d := dirs{build: filepath.Join(root, "build"), cache: filepath.Join(root, "cache"), env: filepath.Join(root, "env")}
	for _, p := range []string{d.build, d.cache, d.env} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatalf("%v", err)
		}
	}
	if app != "" {
		if err := copyDir(app, d.build); err != nil {
			t.Fatalf("copy app %s: %v", app, err)
		}
	}
	if b.target.WarmCache != "" {
		if err := copyDir(b.target.WarmCache, d.cache); err != nil {
			t.Fatalf("copy warm cache %s: %v", b.target.WarmCache, err)
		}
	}
	return d
}

// syncBuf is a concurrency-safe output buffer that counts writes made
// before done is set.
type syncBuf struct {
	mu         sync.Mutex
	b          bytes.Buffer
	done       bool
	earlyBytes int
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.earlyBytes += len(p)
	}
	return s.b.Write(p)
}

func (s *syncBuf) finish() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (b buildpackChecks) compile(t *T, bp core.Buildpack, d dirs, out io.Writer) (core.CompileResponse, error) {
	t.Helper()
	return bp.Compile(t.Context(), core.CompileRequest{BuildDir: d.build, CacheDir: d.cache, EnvDir: d.env, Stack: "heroku-24", Output: out})
}

func (b buildpackChecks) describeShape(t *T) {
	info, err := b.open(t).Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if !dottedID.MatchString(info.ID) {
		t.Errorf("id %q is not a dotted, lower-case id such as \"vendor.buildpack.name\"", info.ID)
	}
	if info.Contract != core.ContractBuildpack {
		t.Errorf("contract %q, want %q", info.Contract, core.ContractBuildpack)
	}
	if _, err := core.NegotiateVersion(core.BuildpackAPIVersions, info.APIVersions); err != nil {
		t.Errorf("api_versions %v: %v", info.APIVersions, err)
	}
}

func (b buildpackChecks) detectMatch(t *T) {
	d := b.prepare(t, b.target.App)
	res, err := b.open(t).Detect(t.Context(), core.DetectRequest{BuildDir: d.build})
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if !res.Detected {
		t.Fatalf("Detect on %s: not detected", b.target.App)
	}
}

func (b buildpackChecks) detectName(t *T) {
	d := b.prepare(t, b.target.App)
	res, err := b.open(t).Detect(t.Context(), core.DetectRequest{BuildDir: d.build})
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if res.Detected && strings.TrimSpace(res.Name) == "" {
		t.Errorf("Detect gave no framework name")
	}
}

func (b buildpackChecks) detectNoMatch(t *T) {
	d := b.prepare(t, b.target.OtherApp)
	res, err := b.open(t).Detect(t.Context(), core.DetectRequest{BuildDir: d.build})
	if err != nil {
		t.Fatalf("Detect on an app it does not support returned an error (want Detected=false): %v", err)
	}
	if res.Detected {
		t.Fatalf("Detect on %q reported Detected (%q)", b.target.OtherApp, res.Name)
	}
}

func (b buildpackChecks) detectReadOnly(t *T) {
	d := b.prepare(t, b.target.App)
	before, err := treeDigest(d.build)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if _, err := b.open(t).Detect(t.Context(), core.DetectRequest{BuildDir: d.build}); err != nil {
		t.Fatalf("Detect: %v", err)
	}
	after, err := treeDigest(d.build)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if before != after {
		t.Errorf("Detect changed the build dir")
	}
}

func (b buildpackChecks) compileRunnable(t *T) {
	bp := b.open(t)
	d := b.prepare(t, b.target.App)
	var out syncBuf
	if _, err := b.compile(t, bp, d, &out); err != nil {
		t.Fatalf("Compile: %v\noutput:\n%s", err, out.String())
	}
	rel, err := bp.Release(t.Context(), core.ReleaseRequest{BuildDir: d.build})
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	for typ, cmd := range rel.DefaultProcessTypes {
		f := strings.Fields(cmd)
		// Skip VAR=value prefixes.
		for len(f) > 0 && strings.Contains(f[0], "=") {
			f = f[1:]
		}
		if len(f) == 0 {
			t.Errorf("process type %q has an empty command", typ)
			continue
		}
		prog := f[0]
		if !strings.Contains(prog, "/") || strings.HasPrefix(prog, "/") {
			continue // a program of the stack, found on PATH
		}
		fi, err := os.Stat(filepath.Join(d.build, prog))
		if err != nil {
			t.Errorf("process type %q runs %q, which the build dir does not hold: %v", typ, prog, err)
			continue
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("process type %q runs %q, which is not executable", typ, prog)
		}
	}
	if b.target.Verify != nil && !t.Failed() {
		b.target.Verify(t, d.build, rel.DefaultProcessTypes)
	}
}

var processTypeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

func (b buildpackChecks) releaseTypes(t *T) {
	bp := b.open(t)
	d := b.prepare(t, b.target.App)
	if _, err := b.compile(t, bp, d, io.Discard); err != nil {
		t.Fatalf("Compile: %v", err)
	}
	rel, err := bp.Release(t.Context(), core.ReleaseRequest{BuildDir: d.build})
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	for typ, cmd := range rel.DefaultProcessTypes {
		if !processTypeRE.MatchString(typ) {
			t.Errorf("process type %q: want 1-63 letters, digits, '_' or '-'", typ)
		}
		if strings.TrimSpace(cmd) == "" {
			t.Errorf("process type %q: empty command", typ)
		}
	}
	for _, want := range b.target.WantProcessTypes {
		if _, ok := rel.DefaultProcessTypes[want]; !ok {
			t.Errorf("Release defaults %v, want a %q type", rel.DefaultProcessTypes, want)
		}
	}
	for _, a := range rel.Addons {
		if strings.TrimSpace(a) == "" {
			t.Errorf("empty add-on in %v", rel.Addons)
		}
	}
}

func (b buildpackChecks) cacheReuse(t *T) {
	bp := b.open(t)
	d := b.prepare(t, b.target.App)
	if _, err := b.compile(t, bp, d, io.Discard); err != nil {
		t.Fatalf("first Compile: %v", err)
	}
	d2 := b.prepare(t, b.target.App)
	d2.cache = d.cache
	var out syncBuf
	if _, err := b.compile(t, bp, d2, &out); err != nil {
		t.Fatalf("second Compile with the first one's cache dir: %v\noutput:\n%s", err, out.String())
	}
}

func (b buildpackChecks) cacheUsed(t *T) {
	bp := b.open(t)
	d := b.prepare(t, b.target.App)
	if _, err := b.compile(t, bp, d, io.Discard); err != nil {
		t.Fatalf("Compile: %v", err)
	}
	entries, err := os.ReadDir(d.cache)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if len(entries) == 0 {
		t.Errorf("the cache dir is empty after Compile")
	}
}

func (b buildpackChecks) envDir(t *T) {
	bp := b.open(t)
	d := b.prepare(t, b.target.App)
	vars := map[string]string{
		"CONFORMANCE_PLAIN":     "value",
		"CONFORMANCE_MULTILINE": "line one\nline two\n",
		"CONFORMANCE_UNICODE":   "héllo wörld ✓ 日本",
		"CONFORMANCE_EMPTY":     "",
	}
	for k, v := range vars {
		if err := os.WriteFile(filepath.Join(d.env, k), []byte(v), 0o644); err != nil {
			t.Fatalf("%v", err)
		}
	}
	before, err := treeDigest(d.env)
	if err != nil {
		t.Fatalf("%v", err)
	}
	var out syncBuf
	if _, err := b.compile(t, bp, d, &out); err != nil {
		t.Fatalf("Compile with config vars in ENV_DIR: %v\noutput:\n%s", err, out.String())
	}
	after, err := treeDigest(d.env)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if before != after {
		t.Errorf("Compile changed ENV_DIR")
	}
}

func (b buildpackChecks) failsClearly(t *T) {
	if b.target.BrokenApp == "" {
		t.Skipf("the target names no broken app")
	}
	bp := b.open(t)
	d := b.prepare(t, b.target.BrokenApp)
	var out syncBuf
	resp, err := b.compile(t, bp, d, &out)
	if err == nil {
		t.Fatalf("Compile of %s succeeded, want an error", b.target.BrokenApp)
	}
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Compile error %v does not wrap ErrInvalid (a user's build failure)", err)
	}
	if strings.TrimSpace(out.String()+resp.Output) == "" {
		t.Errorf("a failed Compile gave no output saying why")
	}
}

func (b buildpackChecks) output(t *T) {
	bp := b.open(t)
	d := b.prepare(t, b.target.App)
	var out syncBuf
	resp, err := b.compile(t, bp, d, &out)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if strings.TrimSpace(out.String()+resp.Output) == "" {
		t.Errorf("Compile produced no output at all")
	}
}

func (b buildpackChecks) streamed(t *T) {
	bp := b.open(t)
	d := b.prepare(t, b.target.App)
	var out syncBuf
	_, err := b.compile(t, bp, d, &out)
	out.finish()
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if out.earlyBytes == 0 {
		t.Errorf("nothing was written to Output while Compile ran")
	}
}

func (b buildpackChecks) cancelled(t *T) {
	bp := b.open(t)
	d := b.prepare(t, b.target.App)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := bp.Compile(ctx, core.CompileRequest{BuildDir: d.build, CacheDir: d.cache, EnvDir: d.env, Output: io.Discard})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("Compile with a cancelled context succeeded")
		}
	case <-time.After(60 * time.Second):
		t.Errorf("Compile with a cancelled context did not return within 60 s")
	}
}

// copyDir copies regular files, directories and symbolic links.
func copyDir(src, dst string) error {
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
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, fi.Mode().Perm())
		}
		return nil
	})
}

// treeDigest describes a tree's names, sizes, modes and contents.
func treeDigest(dir string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s %v %d", rel, fi.Mode().Type(), fi.Size())
		if fi.Mode().IsRegular() {
			c, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", c)
		}
		b.WriteByte('\n')
		return nil
	})
	return b.String(), err
}
