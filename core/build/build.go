// Package build is paasd's build pipeline: source (a git push or a tarball)
// → the app's buildpack chain in build dynos → a content-addressed slug with
// its process types.
//
// [Pipeline.Build] is the one entry point: the git smart-HTTP server
// ([GitServer], whose pre-receive hook runs the build while `git push`
// waits and streams its output as "remote:" lines) and the Platform API's
// POST /apps/{app}/builds both call it. [RunReleasePhase] runs a release's
// `release` process in a one-off dyno and says whether the release may
// become current.
//
// # Layout of the data dir
//
//	DATA/builds/ID/{app,env}   one build's source/compile dir and env dir (removed after)
//	DATA/cache/APP/            the app's build cache (CACHE_DIR), kept between builds
//	DATA/slugs/HEX.tgz         slugs, by the SHA-256 of the tarball (Options.SlugDir)
//	DATA/repos/APP.git         bare git repositories (GitServer)
//
// # Notes
//
//   - A failed build leaves nothing behind but its output: no slug, no
//     release, and the app's current release keeps running.
//   - .slugignore is applied to the source before the buildpacks run, as on
//     Heroku.
//   - Buildpacks run inside build dynos; see package
//     plugins/buildpacks/classic for what that guarantees per runtime.
package build

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/procfile"
	"github.com/paasd/paasd/core/slug"
)

// Buildpack is a buildpack with the name users see ("heroku/go"), which is
// also how an app's buildpack list refers to it.
type Buildpack struct {
	Name string
	core.Buildpack
}

// Defaults.
const (
	// DefaultSlugMaxBytes is Heroku's slug size limit (500 MB).
	DefaultSlugMaxBytes = 500 << 20
	// DefaultSourceMaxBytes bounds an uncompressed source tree (1 GB,
	// Heroku's repository limit).
	DefaultSourceMaxBytes = 1 << 30
	// DefaultStack is the stack slugs are built for.
	DefaultStack = "heroku-24"
	// DefaultTimeout is how long a build may take (Heroku: 15 minutes).
	DefaultTimeout = 15 * time.Minute
)

// Options configure a Pipeline. Every zero value is the documented default.
type Options struct {
	// DataDir holds builds, caches and slugs (see the package doc). Required.
	DataDir string
	// Buildpacks are tried in order when an app names none, and found by
	// name when it does.
	Buildpacks []Buildpack
	// Resolve finds a buildpack an app names that is not in Buildpacks
	// (e.g. a plugin reference); nil means such names are an error.
	Resolve func(ctx context.Context, name string) (Buildpack, error)
	// SlugMaxBytes is the largest compressed slug; 0 means 500 MB.
	SlugMaxBytes int64
	// SourceMaxBytes bounds the uncompressed source; 0 means 1 GB.
	SourceMaxBytes int64
	// SlugDir is where slugs are written, named <hex sha256>.tgz (the
	// platform's SlugDir); empty means DataDir/slugs.
	SlugDir string
	// Stack labels slugs and is STACK in the build; empty means "heroku-24".
	Stack string
	// Timeout bounds one build; 0 means 15 minutes.
	Timeout time.Duration
}

// Pipeline runs builds. It is safe for concurrent use; builds of the same
// app are serialised (they share the app's cache dir).
type Pipeline struct {
	opts  Options
	locks keyedMutex
}

// New returns a Pipeline. It returns an error wrapping core.ErrInvalid when
// opts.DataDir is empty or a buildpack is unnamed or duplicated.
func New(opts Options) (*Pipeline, error) {
	if opts.DataDir == "" {
		return nil, fmt.Errorf("build pipeline: no data dir: %w", core.ErrInvalid)
	}
	seen := map[string]bool{}
	for _, bp := range opts.Buildpacks {
		if bp.Name == "" || bp.Buildpack == nil {
			return nil, fmt.Errorf("build pipeline: unnamed or nil buildpack: %w", core.ErrInvalid)
		}
		if seen[bp.Name] {
			return nil, fmt.Errorf("build pipeline: buildpack %q listed twice: %w", bp.Name, core.ErrInvalid)
		}
		seen[bp.Name] = true
	}
	if opts.SlugMaxBytes == 0 {
		opts.SlugMaxBytes = DefaultSlugMaxBytes
	}
	if opts.SourceMaxBytes == 0 {
		opts.SourceMaxBytes = DefaultSourceMaxBytes
	}
	if opts.Stack == "" {
		opts.Stack = DefaultStack
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.SlugDir == "" {
		opts.SlugDir = filepath.Join(opts.DataDir, "slugs")
	}
	for _, d := range []string{filepath.Join(opts.DataDir, "builds"), filepath.Join(opts.DataDir, "cache"), opts.SlugDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("build pipeline: %w", err)
		}
	}
	return &Pipeline{opts: opts}, nil
}

// Request is one build.
type Request struct {
	// App is the app's name (its cache dir and dyno labels); AppID its id.
	App   string
	AppID string
	// Exactly one of SourceDir (a directory, copied) and Source (a tar
	// archive, gzip-compressed or not, extracted safely) gives the source.
	SourceDir string
	Source    io.Reader
	// Buildpacks is the app's explicit ordered buildpack list; empty
	// means detect.
	Buildpacks []string
	// Config holds the config vars, written to ENV_DIR one file each.
	Config map[string]string
	// Output receives the build output as it happens; nil discards it.
	Output io.Writer
	// Commit is the source version (the pushed commit), SOURCE_VERSION in
	// the build.
	Commit string
}

// Result is a successful build.
type Result struct {
	// Slug is the slug's record (ID, Checksum, Size, ProcessTypes, …).
	Slug core.Slug
	// SlugPath is the slug tarball on the host.
	SlugPath string
	// Buildpacks are the names of the buildpacks that ran, in order.
	Buildpacks []string
}

var appNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,29}$`)

// CheckAppName returns an error wrapping core.ErrInvalid unless name is a
// Heroku app name: 2-30 lower-case letters, digits and dashes, starting
// with a letter.
func CheckAppName(name string) error {
	if !appNameRE.MatchString(name) {
		return fmt.Errorf("app name %q: want 2-30 lower-case letters, digits and dashes, starting with a letter: %w", name, core.ErrInvalid)
	}
	return nil
}

// SlugPath returns where the slug with checksum ("SHA256:<hex>") is stored.
func (p *Pipeline) SlugPath(checksum string) string { return SlugFile(p.opts.SlugDir, checksum) }

// CacheDir returns the app's build cache dir.
func (p *Pipeline) CacheDir(app string) string {
	return filepath.Join(p.opts.DataDir, "cache", app)
}

// Build runs one build and returns its slug. User errors (no buildpack
// detected, a failed compile, a bad Procfile, a slug too large, an unsafe
// tarball) wrap core.ErrInvalid and their message is what the user should
// read; they are also written to req.Output as Heroku does (" !     …").
func (p *Pipeline) Build(ctx context.Context, req Request) (Result, error) {
	out := req.Output
	if out == nil {
		out = io.Discard
	}
	res, err := p.build(ctx, req, out)
	if err != nil {
		fmt.Fprintf(out, " !     %s\n", userMessage(err))
		if errors.Is(err, core.ErrInvalid) {
			fmt.Fprintf(out, " !     Push rejected, failed to compile app.\n")
		} else {
			fmt.Fprintf(out, " !     Build failed: platform error.\n")
		}
	}
	return res, err
}

// userMessage is err's message without the sentinel suffix.
func userMessage(err error) string {
	s := err.Error()
	for _, suf := range []string{": " + core.ErrInvalid.Error(), ": " + core.ErrNotFound.Error()} {
		s = strings.TrimSuffix(s, suf)
	}
	return s
}

func (p *Pipeline) build(ctx context.Context, req Request, out io.Writer) (Result, error) {
	if err := CheckAppName(req.App); err != nil {
		return Result{}, err
	}
	if (req.SourceDir == "") == (req.Source == nil) {
		return Result{}, fmt.Errorf("build %s: give exactly one of a source dir and a source tarball: %w", req.App, core.ErrInvalid)
	}
	if err := checkConfigNames(req.Config); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	unlock := p.locks.lock(req.App)
	defer unlock()

	id := newUUID()
	work := filepath.Join(p.opts.DataDir, "builds", id)
	buildDir := filepath.Join(work, "app")
	envDir := filepath.Join(work, "env")
	cacheDir := p.CacheDir(req.App)
	for _, d := range []string{buildDir, envDir, cacheDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Result{}, fmt.Errorf("build %s: %w", req.App, err)
		}
	}
	if err := os.Chmod(work, 0o700); err != nil {
		return Result{}, fmt.Errorf("build %s: %w", req.App, err)
	}
	defer os.RemoveAll(work)

	if req.Source != nil {
		if err := slug.Extract(req.Source, buildDir, slug.Options{MaxBytes: p.opts.SourceMaxBytes}); err != nil {
			return Result{}, fmt.Errorf("source tarball: %w", err)
		}
	} else if err := copySource(req.SourceDir, buildDir, p.opts.SourceMaxBytes); err != nil {
		return Result{}, fmt.Errorf("source: %w", err)
	}
	if _, err := ApplySlugignore(buildDir); err != nil {
		return Result{}, err
	}
	for k, v := range req.Config {
		if err := os.WriteFile(filepath.Join(envDir, k), []byte(v), 0o644); err != nil {
			return Result{}, fmt.Errorf("build %s: env dir: %w", req.App, err)
		}
	}

	fmt.Fprintf(out, "-----> Building on the %s stack\n", p.opts.Stack)
	chain, err := p.selectBuildpacks(ctx, req, buildDir, out)
	if err != nil {
		return Result{}, err
	}
	res := Result{}
	exports := map[string]string{}
	if req.Commit != "" {
		exports["SOURCE_VERSION"] = req.Commit
	}
	defaults := map[string]string{}
	var description string
	for _, c := range chain {
		res.Buildpacks = append(res.Buildpacks, c.bp.Name)
		description = c.name
		fmt.Fprintf(out, "-----> %s app detected\n", c.name)
		env := make(map[string]string, len(exports))
		for k, v := range exports {
			env[k] = v
		}
		cr, err := c.bp.Compile(ctx, core.CompileRequest{
			BuildDir: buildDir, CacheDir: cacheDir, EnvDir: envDir, Env: env, Stack: p.opts.Stack, Output: out,
		})
		if cr.Output != "" {
			_, _ = io.WriteString(out, cr.Output)
		}
		if err != nil {
			if ctx.Err() != nil {
				return Result{}, fmt.Errorf("build timed out or was cancelled during %s: %w", c.bp.Name, ctx.Err())
			}
			if errors.Is(err, core.ErrInvalid) {
				return Result{}, fmt.Errorf("failed to compile %s app: %w", c.name, err)
			}
			return Result{}, fmt.Errorf("compile with %s: %w", c.bp.Name, err)
		}
		for k, v := range cr.Export {
			exports[k] = v
		}
		rr, err := c.bp.Release(ctx, core.ReleaseRequest{BuildDir: buildDir})
		if err != nil {
			return Result{}, fmt.Errorf("release metadata from %s: %w", c.bp.Name, err)
		}
		for k, v := range rr.DefaultProcessTypes {
			defaults[k] = v
		}
	}

	fmt.Fprintf(out, "-----> Discovering process types\n")
	types, err := processTypes(buildDir, defaults, out)
	if err != nil {
		return Result{}, err
	}

	fmt.Fprintf(out, "-----> Compressing...\n")
	sum, size, err := CreateSlug(ctx, buildDir, p.slugDir(), p.opts.SlugMaxBytes)
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(out, "       Done: %s\n", humanSize(size))
	res.Slug = core.Slug{
		ID: newUUID(), AppID: req.AppID, Checksum: sum, Size: size, ProcessTypes: types, Stack: p.opts.Stack,
		Commit: req.Commit, BuildpackProvidedDescription: description, CreatedAt: time.Now().UTC(),
	}
	res.SlugPath = p.SlugPath(sum)
	return res, nil
}

func (p *Pipeline) slugDir() string { return p.opts.SlugDir }

// chosen is a buildpack picked for a build with the name it detected.
type chosen struct {
	bp   Buildpack
	name string
}

func (p *Pipeline) selectBuildpacks(ctx context.Context, req Request, buildDir string, out io.Writer) ([]chosen, error) {
	if len(req.Buildpacks) > 0 {
		if len(req.Buildpacks) == 1 {
			fmt.Fprintf(out, "-----> Using buildpack: %s\n", req.Buildpacks[0])
		} else {
			fmt.Fprintf(out, "-----> Using buildpacks:\n")
			for i, name := range req.Buildpacks {
				fmt.Fprintf(out, "       %d. %s\n", i+1, name)
			}
		}
		var chain []chosen
		for _, name := range req.Buildpacks {
			bp, err := p.lookup(ctx, name)
			if err != nil {
				return nil, err
			}
			d, err := bp.Detect(ctx, core.DetectRequest{BuildDir: buildDir})
			if err != nil {
				return nil, fmt.Errorf("detect with %s: %w", name, err)
			}
			if !d.Detected {
				return nil, fmt.Errorf("app not compatible with buildpack: %s: %w", name, core.ErrInvalid)
			}
			chain = append(chain, chosen{bp: bp, name: d.Name})
		}
		return chain, nil
	}
	fmt.Fprintf(out, "-----> Determining which buildpack to use for this app\n")
	for _, bp := range p.opts.Buildpacks {
		d, err := bp.Detect(ctx, core.DetectRequest{BuildDir: buildDir})
		if err != nil {
			return nil, fmt.Errorf("detect with %s: %w", bp.Name, err)
		}
		if d.Detected {
			return []chosen{{bp: bp, name: d.Name}}, nil
		}
	}
	names := make([]string, len(p.opts.Buildpacks))
	for i, bp := range p.opts.Buildpacks {
		names[i] = bp.Name
	}
	return nil, fmt.Errorf("no default language could be detected for this app (tried %s); set a buildpack or add a Procfile: %w",
		strings.Join(names, ", "), core.ErrInvalid)
}

// CheckBuildpack returns the name of the buildpack ref names (its
// canonical name: "heroku/go" for the URL of Heroku's Go buildpack), or an
// error wrapping core.ErrInvalid that lists the buildpacks this pipeline
// knows. It implements api.BuildpackChecker.
func (p *Pipeline) CheckBuildpack(ctx context.Context, ref string) (string, error) {
	bp, err := p.lookup(ctx, ref)
	if err != nil {
		return "", err
	}
	return bp.Name, nil
}

// Names returns the names of the buildpacks tried by detection, in order.
func (p *Pipeline) Names() []string {
	names := make([]string, len(p.opts.Buildpacks))
	for i, bp := range p.opts.Buildpacks {
		names[i] = bp.Name
	}
	return names
}

func (p *Pipeline) lookup(ctx context.Context, name string) (Buildpack, error) {
	canonical := CanonicalBuildpackName(name)
	for _, bp := range p.opts.Buildpacks {
		if bp.Name == name || bp.Name == canonical {
			return bp, nil
		}
	}
	if p.opts.Resolve != nil {
		bp, err := p.opts.Resolve(ctx, name)
		if err != nil {
			return Buildpack{}, fmt.Errorf("buildpack %q: %w", name, err)
		}
		return bp, nil
	}
	return Buildpack{}, fmt.Errorf("unknown buildpack %q (this paasd has %s): %w", name, strings.Join(p.Names(), ", "), core.ErrInvalid)
}

// CanonicalBuildpackName maps the URL of one of Heroku's official classic
// buildpacks (".../heroku/heroku-buildpack-go", with or without ".git",
// a "#ref" or a ".tgz" suffix) to its short name ("heroku/go"); other names
// are returned unchanged.
func CanonicalBuildpackName(name string) string {
	if !strings.Contains(name, "/") {
		return name
	}
	s := name
	if i := strings.IndexAny(s, "#?"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git"), ".tgz")
	parts := strings.Split(s, "/")
	last := parts[len(parts)-1]
	if lang, ok := strings.CutPrefix(last, "heroku-buildpack-"); ok && lang != "" {
		return "heroku/" + lang
	}
	if len(parts) >= 2 && parts[len(parts)-2] == "heroku" && strings.Contains(s, "://") {
		return "heroku/" + last
	}
	return name
}

// processTypes parses the Procfile (if any) and fills missing types from
// the buildpacks' defaults.
func processTypes(buildDir string, defaults map[string]string, out io.Writer) (map[string]string, error) {
	types := map[string]string{}
	f, err := os.Open(filepath.Join(buildDir, "Procfile"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(out, "       Procfile declares types -> (none)\n")
	case err != nil:
		return nil, fmt.Errorf("read Procfile: %w", err)
	default:
		pf, err := procfile.Parse(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("parse Procfile: %w", err)
		}
		types = pf.Map()
		fmt.Fprintf(out, "       Procfile declares types -> %s\n", joinKeys(types))
	}
	added := map[string]string{}
	for k, v := range defaults {
		if _, ok := types[k]; !ok {
			types[k] = v
			added[k] = v
		}
	}
	if len(added) > 0 {
		fmt.Fprintf(out, "       Default types for buildpack -> %s\n", joinKeys(added))
	}
	return types, nil
}

func joinKeys(m map[string]string) string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	if len(k) == 0 {
		return "(none)"
	}
	return strings.Join(k, ", ")
}

var configNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkConfigNames refuses config var names that cannot be ENV_DIR files.
func checkConfigNames(cfg map[string]string) error {
	for k := range cfg {
		if !configNameRE.MatchString(k) || len(k) > 255 {
			return fmt.Errorf("config var %q: want letters, digits and underscores, not starting with a digit: %w", k, core.ErrInvalid)
		}
	}
	return nil
}

// copySource copies a source dir into dst, refusing special files and
// links out of the tree, bounded by max bytes.
func copySource(src, dst string, max int64) error {
	var total int64
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, fi.Mode().Perm()|0o700)
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if filepath.IsAbs(l) || !filepath.IsLocal(filepath.Join(filepath.Dir(rel), l)) {
				return fmt.Errorf("%s: symbolic link to %q leaves the source: %w", rel, l, core.ErrInvalid)
			}
			return os.Symlink(l, target)
		case fi.Mode().IsRegular():
			total += fi.Size()
			if total > max {
				return fmt.Errorf("source is larger than %s: %w", humanSize(max), core.ErrInvalid)
			}
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			o, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm())
			if err != nil {
				return err
			}
			if _, err := io.Copy(o, in); err != nil {
				o.Close()
				return err
			}
			return o.Close()
		default:
			return fmt.Errorf("%s: special file (%s) not allowed in a source: %w", rel, fi.Mode().Type(), core.ErrInvalid)
		}
	})
}

// humanSize prints n bytes as Heroku's build output does ("5.1M").
func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
