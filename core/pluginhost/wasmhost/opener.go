// Package wasmhost runs paasd plugins that are WebAssembly modules, with
// wazero, and implements pluginhost.Opener for "wasm:PATH" references.
//
// A module speaks the paasd Wasm ABI version 1 (docs/wasm-abi.md): it exports
// paasd_abi_version, paasd_alloc and paasd_call, and is a WASI reactor whose
// _initialize the host runs. Go guests get all of that from package
// sdk/wasmguest.
//
// # Sandbox
//
// A module sees no filesystem, environment variables, network, real clock or
// real randomness unless [Options] grants them. Each instance is bounded in
// memory ([Options.MemoryLimit]) and each call in time ([Options.CallTimeout]);
// a call past its time is stopped inside the guest, and an instance that
// trapped, exited or was stopped is discarded, never reused. To stop a
// runaway guest cheaply the host instruments the module before compiling it:
// loops and calls count down a budget and, when it runs out, call the host's
// paasd:instrument.yield, which ends the call once its context is done (see
// docs/wasm-abi.md). A module the rewriter cannot handle runs with wazero's
// WithCloseOnContextDone instead (safe, but slower per call).
//
// # Notes
//
//   - A module is compiled once per [Module] and the machine code is kept in
//     wazero's on-disk compilation cache, so loading the same module again,
//     even from another process, skips the compile.
//   - An instance is not safe for concurrent calls: each Module keeps a pool
//     of up to [Options.PoolSize] instances. Instances are replicas: the last
//     successful Configure is replayed into every new instance before it
//     serves, so guests must not rely on state shared between calls beyond
//     their configuration.
//   - Buildpack calls that carry directories (Detect, Compile, Release) run in
//     a fresh instance with the request's build, cache and env directories
//     mounted read-write at /build, /cache and /env, and nothing else of the
//     host's filesystem; the host rewrites the paths in the request. The
//     instance is closed after the call. They are bounded by
//     [Options.BuildpackCallTimeout], not CallTimeout, and the guest's
//     standard output and error are streamed to the Compile's Output as
//     they are written (sdk/wasmguest points a buildpack's Output there).
package wasmhost

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/wire"
)

// ABIVersion is the paasd Wasm ABI version this host speaks.
const ABIVersion = 1

// Names of the ABI's exports.
const (
	ExportABIVersion = "paasd_abi_version"
	ExportAlloc      = "paasd_alloc"
	ExportCall       = "paasd_call"
	ExportInitialize = "_initialize"
)

// Defaults for the zero values of [Options].
const (
	DefaultMemoryLimit = 64 << 20
	DefaultCallTimeout = 5 * time.Second
	DefaultLogLimit    = 64 << 10
	// DefaultBuildpackCallTimeout is Heroku's build time limit.
	DefaultBuildpackCallTimeout = 15 * time.Minute
)

// Mount grants a module access to a host directory.
type Mount struct {
	// HostDir is the directory on the host.
	HostDir string
	// GuestPath is where the guest sees it, e.g. "/data".
	GuestPath string
	// ReadOnly forbids writes.
	ReadOnly bool
}

// Options configures an [Opener]. The zero value is usable; each field's zero
// value is the documented default.
type Options struct {
	// CacheDir holds wazero's compilation cache. Empty means
	// os.UserCacheDir()/paasd/wasm; when that cannot be determined or
	// created, modules are compiled without a cache.
	CacheDir string
	// PoolSize is the most instances of one module, and so the most
	// concurrent calls into it. Zero means runtime.GOMAXPROCS(0).
	PoolSize int
	// MemoryLimit is the most linear memory one instance may use, in bytes,
	// rounded down to 64 KiB Wasm pages. Zero means DefaultMemoryLimit
	// (64 MiB). A guest that needs more fails its call with
	// core.ErrPluginFailed.
	MemoryLimit int64
	// CallTimeout bounds each call (and each instance's start). Zero means
	// DefaultCallTimeout (5 s). A call past it fails with core.ErrTimeout.
	CallTimeout time.Duration
	// BuildpackCallTimeout bounds each buildpack call that carries
	// directories (Detect, Compile, Release), which runs in a fresh
	// instance. Zero means DefaultBuildpackCallTimeout (15 min, Heroku's
	// build limit); the caller's ctx (the build's own time limit) bounds it
	// too.
	BuildpackCallTimeout time.Duration
	// Mounts are directories every instance sees. None by default.
	Mounts []Mount
	// Env is the environment every instance sees. None by default.
	Env map[string]string
	// GrantClock gives instances the host's real clocks and sleep; without
	// it they see wazero's deterministic fake clocks.
	GrantClock bool
	// GrantRandom gives instances crypto/rand; without it random_get is
	// deterministic.
	GrantRandom bool
	// Logger receives the guests' standard output and error, one record per
	// line, and the host's notes about instances. Nil means slog.Default().
	Logger *slog.Logger
	// LogLimit is how many bytes of guest output per call reach Logger; the
	// rest is dropped with one note. Zero means DefaultLogLimit (64 KiB).
	LogLimit int
}

// Opener opens "wasm:PATH" references. Create it with [New]; it is safe for
// concurrent use. Close it, after the modules it opened, to release the
// compilation cache.
type Opener struct {
	opts Options

	// noInstrument runs every module un-instrumented, with wazero's
	// context watching (set by tests and benchmarks to compare).
	noInstrument bool

	cacheOnce sync.Once
	cache     wazero.CompilationCache
}

var _ pluginhost.Opener = (*Opener)(nil)

// New returns an Opener with opts.
func New(opts Options) *Opener {
	if opts.PoolSize <= 0 {
		opts.PoolSize = runtime.GOMAXPROCS(0)
	}
	if opts.MemoryLimit <= 0 {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.BuildpackCallTimeout <= 0 {
		opts.BuildpackCallTimeout = DefaultBuildpackCallTimeout
	}
	if opts.LogLimit <= 0 {
		opts.LogLimit = DefaultLogLimit
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Opener{opts: opts}
}

// compilationCache returns the shared on-disk cache, or nil when there is
// none.
func (o *Opener) compilationCache() wazero.CompilationCache {
	o.cacheOnce.Do(func() {
		dir := o.opts.CacheDir
		if dir == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				o.opts.Logger.Warn("wasm: no user cache dir; compiling without a cache", "err", err)
				return
			}
			dir = filepath.Join(base, "paasd", "wasm")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			o.opts.Logger.Warn("wasm: cannot create the compilation cache dir; compiling without a cache", "dir", dir, "err", err)
			return
		}
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			o.opts.Logger.Warn("wasm: cannot open the compilation cache; compiling without a cache", "dir", dir, "err", err)
			return
		}
		o.cache = c
	})
	return o.cache
}

// Open implements pluginhost.Opener: it reads and compiles the module at
// path, checks its ABI and starts one instance. Errors wrap core.ErrNotFound
// for a missing file, core.ErrInvalid for a file that is not a Wasm module or
// not a paasd plugin, core.ErrUnsupported for another ABI version, and
// core.ErrPluginFailed when the module cannot start.
func (o *Opener) Open(ctx context.Context, path string, contract core.Contract) (wire.Conn, io.Closer, error) {
	m, err := o.OpenModule(ctx, path, contract)
	if err != nil {
		return nil, nil, err
	}
	return m, m, nil
}

// Close releases the compilation cache's in-memory engine (its files stay on
// disk). Close every Module this Opener opened first: they run on that
// engine.
func (o *Opener) Close() error {
	o.cacheOnce.Do(func() {}) // never create a cache just to close it
	if o.cache != nil {
		return o.cache.Close(context.Background())
	}
	return nil
}

// errClosed is returned by calls into a closed Module.
var errClosed = errors.New("wasm module is closed")
