package wasmhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost/wasminstrument"
	"github.com/paasd/paasd/core/wire"
)

// Module is one loaded Wasm plugin: a compiled module and a pool of its
// instances. It is a wire.Conn and an io.Closer; it is safe for concurrent
// use.
type Module struct {
	path     string
	contract core.Contract
	opts     *Options
	rt       wazero.Runtime
	cm       wazero.CompiledModule

	sem  chan struct{}  // one token per call in flight
	idle chan *instance // instances ready for a call

	mu        sync.Mutex
	closed    bool
	configure []byte // last successful Configure request
	configGen int    // bumped on each successful Configure
}

var _ wire.Conn = (*Module)(nil)

// wasmMagic starts every binary Wasm module.
var wasmMagic = []byte("\x00asm")

// OpenModule is Open with the concrete type.
func (o *Opener) OpenModule(ctx context.Context, path string, contract core.Contract) (*Module, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("wasm module %s: %w: %w", path, err, core.ErrNotFound)
		}
		return nil, fmt.Errorf("wasm module %s: %w: %w", path, err, core.ErrPluginFailed)
	}
	if !bytes.HasPrefix(bin, wasmMagic) {
		return nil, fmt.Errorf("%s is not a WebAssembly module (it does not start with \\0asm): %w", path, core.ErrInvalid)
	}
	pages := o.opts.MemoryLimit / 65536
	if pages < 1 {
		pages = 1
	}
	if pages > 65536 {
		pages = 65536
	}
	// Time limits: an instrumented module checks its call's context itself
	// (package wasminstrument); a module the rewriter cannot instrument
	// runs with wazero's WithCloseOnContextDone, slower per call but as safe.
	prep, ierr := wasminstrument.Prepare(bin, o.noInstrument)
	switch {
	case errors.Is(ierr, wasminstrument.ErrReserved):
		return nil, fmt.Errorf("%s is not a valid paasd Wasm plugin: %w: %w", path, ierr, core.ErrInvalid)
	case ierr != nil:
		// Malformed: not handed to wazero, whose decoder trusts declared
		// sizes and may allocate gigabytes for a few corrupt bytes.
		return nil, fmt.Errorf("%s is not a valid WebAssembly module: %w: %w", path, ierr, core.ErrInvalid)
	}
	cfg := prep.Configure(wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(pages)))
	if !prep.Instrumented {
		o.opts.Logger.Info("wasm module not instrumented; time limits use wazero's context watching", "module", path, "reason", prep.Reason)
	}
	if c := o.compilationCache(); c != nil {
		cfg = cfg.WithCompilationCache(c)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	m := &Module{path: path, contract: contract, opts: &o.opts, rt: rt}
	fail := func(err error) (*Module, error) {
		_ = rt.Close(context.Background())
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fail(fmt.Errorf("wasm module %s: instantiate WASI: %w: %w", path, err, core.ErrPluginFailed))
	}
	if err := prep.Instantiate(ctx, rt); err != nil {
		return fail(fmt.Errorf("wasm module %s: instantiate %s: %w: %w", path, wasminstrument.Module, err, core.ErrPluginFailed))
	}
	m.cm, err = compile(ctx, rt, prep.Code)
	if err != nil {
		return fail(fmt.Errorf("%s is not a valid WebAssembly module: %w: %w", path, err, core.ErrInvalid))
	}
	if err := checkExports(path, m.cm); err != nil {
		return fail(err)
	}
	m.sem = make(chan struct{}, o.opts.PoolSize)
	m.idle = make(chan *instance, o.opts.PoolSize)
	inst, err := m.newInstance(ctx, nil, true)
	if err != nil {
		return fail(err)
	}
	m.idle <- inst
	return m, nil
}

// compile compiles code; a panic in wazero is an invalid module.
func compile(ctx context.Context, rt wazero.Runtime, code []byte) (cm wazero.CompiledModule, err error) {
	defer func() {
		if r := recover(); r != nil {
			cm, err = nil, fmt.Errorf("the compiler panicked: %v", r)
		}
	}()
	return rt.CompileModule(ctx, code)
}

// checkExports checks that the module exports the ABI's functions with the
// ABI's signatures.
func checkExports(path string, cm wazero.CompiledModule) error {
	fns := cm.ExportedFunctions()
	want := []struct {
		name           string
		params, result []api.ValueType
	}{
		{ExportABIVersion, nil, []api.ValueType{api.ValueTypeI32}},
		{ExportAlloc, []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
		{ExportCall, []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
	}
	for i, w := range want {
		def, ok := fns[w.name]
		if !ok {
			if i == 0 {
				return fmt.Errorf("%s: not a paasd Wasm plugin: no %s export (build Go guests with sdk/wasmguest): %w", path, w.name, core.ErrInvalid)
			}
			// The version is checked first (on instantiation) so that a
			// module of another ABI version gets the clearer error.
			continue
		}
		if !sameTypes(def.ParamTypes(), w.params) || !sameTypes(def.ResultTypes(), w.result) {
			return fmt.Errorf("%s: export %s has signature %s -> %s, the paasd Wasm ABI wants %s -> %s: %w", path, w.name,
				typeNames(def.ParamTypes()), typeNames(def.ResultTypes()), typeNames(w.params), typeNames(w.result), core.ErrInvalid)
		}
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool { return bytes.Equal(a, b) }

func typeNames(ts []api.ValueType) string {
	s := "("
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(t)
	}
	return s + ")"
}

// instance is one instantiated module; it serves one call at a time.
type instance struct {
	mod     api.Module
	version api.Function
	alloc   api.Function
	call    api.Function
	stdout  *guestLog
	stderr  *guestLog
	gen     int    // configGen this instance was configured at
	bufPtr  uint32 // the guest's input buffer, from paasd_alloc
	bufCap  uint32 // its size
	stack   [4]uint64
}

// newInstance instantiates the module with the extra mounts, runs
// _initialize (a Go guest traps on any export before it) and replays the configuration. checkVersion checks the ABI
// version (done once per module, on the first instance).
func (m *Module) newInstance(ctx context.Context, mounts []Mount, checkVersion bool) (*instance, error) {
	opts := m.opts
	inst := &instance{
		stdout: newGuestLog(opts.Logger, m.path, "stdout", opts.LogLimit),
		stderr: newGuestLog(opts.Logger, m.path, "stderr", opts.LogLimit),
	}
	fsc := wazero.NewFSConfig()
	for _, mt := range append(append([]Mount(nil), opts.Mounts...), mounts...) {
		if mt.ReadOnly {
			fsc = fsc.WithReadOnlyDirMount(mt.HostDir, mt.GuestPath)
		} else {
			fsc = fsc.WithDirMount(mt.HostDir, mt.GuestPath)
		}
	}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // _initialize is run below, so that its failure is classified
		WithStdout(inst.stdout).
		WithStderr(inst.stderr).
		WithFSConfig(fsc)
	for _, k := range slices.Sorted(maps.Keys(opts.Env)) {
		cfg = cfg.WithEnv(k, opts.Env[k])
	}
	if opts.GrantClock {
		cfg = cfg.WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	}
	if opts.GrantRandom {
		cfg = cfg.WithRandSource(rand.Reader)
	}
	ictx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
	defer cancel()
	mod, err := m.rt.InstantiateModule(ictx, m.cm, cfg)
	if err != nil {
		return nil, m.classify(ictx, "instantiate", err, inst)
	}
	inst.mod = mod
	if err := m.ctxErr(ictx, ExportInitialize); err != nil {
		inst.close()
		return nil, err
	}
	if init := mod.ExportedFunction(ExportInitialize); init != nil {
		if _, err := init.Call(ictx); err != nil {
			inst.close()
			return nil, m.classify(ictx, ExportInitialize, err, inst)
		}
	}
	inst.version = mod.ExportedFunction(ExportABIVersion)
	if checkVersion {
		res, err := inst.version.Call(ictx)
		if err != nil {
			inst.close()
			return nil, m.classify(ictx, ExportABIVersion, err, inst)
		}
		if v := int32(uint32(res[0])); v != ABIVersion {
			inst.close()
			return nil, fmt.Errorf("%s: paasd Wasm ABI version %d is not supported (this host speaks version %d): %w", m.path, v, ABIVersion, core.ErrUnsupported)
		}
	}
	inst.alloc = mod.ExportedFunction(ExportAlloc)
	inst.call = mod.ExportedFunction(ExportCall)
	if inst.alloc == nil || inst.call == nil {
		inst.close()
		return nil, fmt.Errorf("%s: not a paasd Wasm plugin: it exports %s but not %s and %s: %w", m.path, ExportABIVersion, ExportAlloc, ExportCall, core.ErrInvalid)
	}
	m.mu.Lock()
	cfgReq, gen := m.configure, m.configGen
	m.mu.Unlock()
	if err := m.reconfigure(ctx, inst, cfgReq, gen); err != nil {
		inst.close()
		return nil, err
	}
	return inst, nil
}

// reconfigure replays the Configure request req (if any) into inst.
func (m *Module) reconfigure(ctx context.Context, inst *instance, req []byte, gen int) error {
	if req != nil {
		cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
		defer cancel()
		if _, err := m.invoke(cctx, inst, wire.MethodConfigure, req); err != nil {
			return fmt.Errorf("%s: replay Configure into a new instance: %w", m.path, err)
		}
	}
	inst.gen = gen
	return nil
}

func (inst *instance) close() {
	if inst.mod != nil {
		_ = inst.mod.Close(context.Background())
	}
}

// brokenError marks an error after which the instance must be discarded.
type brokenError struct{ err error }

func (e *brokenError) Error() string { return e.err.Error() }
func (e *brokenError) Unwrap() error { return e.err }

// minInputBuffer is the smallest input buffer the host asks a guest for.
const minInputBuffer = 4096

// invoke runs one call in inst: the method and request are written into the
// guest's input buffer (grown with paasd_alloc when too small), then one
// paasd_call. A *brokenError means the instance is no longer usable.
func (m *Module) invoke(ctx context.Context, inst *instance, method string, req []byte) ([]byte, error) {
	inst.stdout.reset()
	inst.stderr.reset()
	defer inst.stdout.flush()
	defer inst.stderr.flush()
	n := len(method) + len(req)
	if uint64(n) > uint64(m.opts.MemoryLimit) {
		return nil, fmt.Errorf("%s: %s request of %d bytes exceeds the module's memory limit of %d bytes: %w", m.path, method, n, m.opts.MemoryLimit, core.ErrInvalid)
	}
	if err := m.ctxErr(ctx, method); err != nil {
		return nil, err // the guest was not entered: the instance is fine
	}
	stack := inst.stack[:]
	if uint32(n) > inst.bufCap || inst.bufCap == 0 {
		// Grow the guest's input buffer; it is reused by later calls, so
		// that a call is usually one crossing (paasd_call) and not two.
		size := max(uint32(n), 2*inst.bufCap, minInputBuffer)
		stack[0] = uint64(size)
		if err := inst.alloc.CallWithStack(ctx, stack); err != nil {
			return nil, &brokenError{m.classify(ctx, ExportAlloc, err, inst)}
		}
		inst.bufPtr, inst.bufCap = uint32(stack[0]), size
	}
	ptr := inst.bufPtr
	mem := inst.mod.Memory()
	if !mem.WriteString(ptr, method) || !mem.Write(ptr+uint32(len(method)), req) {
		return nil, &brokenError{fmt.Errorf("%s: %s returned %d, outside linear memory for %d bytes: %w", m.path, ExportAlloc, ptr, n, core.ErrPluginFailed)}
	}
	stack[0], stack[1], stack[2], stack[3] = uint64(ptr), uint64(len(method)), uint64(ptr)+uint64(len(method)), uint64(len(req))
	if err := inst.call.CallWithStack(ctx, stack); err != nil {
		return nil, &brokenError{m.classify(ctx, method, err, inst)}
	}
	rptr, rlen := uint32(stack[0]>>32), uint32(stack[0])
	res, ok := mem.Read(rptr, rlen)
	if !ok || rlen == 0 {
		return nil, &brokenError{fmt.Errorf("%s: %s: result (%d, %d bytes) lies outside linear memory or is empty: %w", m.path, method, rptr, rlen, core.ErrPluginFailed)}
	}
	switch res[0] {
	case 0:
		return bytes.Clone(res[1:]), nil
	case 1:
		return nil, wire.DecodeError(res[1:])
	}
	return nil, &brokenError{fmt.Errorf("%s: %s: result status byte %d is neither 0 (ok) nor 1 (error): %w", m.path, method, res[0], core.ErrPluginFailed)}
}

// classify turns a wazero error from a guest function into an error wrapping
// the right core sentinel.
func (m *Module) classify(ctx context.Context, fn string, err error, inst *instance) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%s: %s stopped: the call ran past its time limit (at most %s): %w", m.path, fn, m.opts.CallTimeout, core.ErrTimeout)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%s: %s stopped: the caller cancelled: %w: %w", m.path, fn, context.Canceled, core.ErrUnavailable)
		}
		if m.isClosed() {
			return fmt.Errorf("%s: %s: %w: %w", m.path, fn, errClosed, core.ErrUnavailable)
		}
		return fmt.Errorf("%s: %s: the guest exited with code %d%s: %w", m.path, fn, exit.ExitCode(), inst.stderr.note(), core.ErrPluginFailed)
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: %s stopped: the call ran past its time limit (at most %s): %w", m.path, fn, m.opts.CallTimeout, core.ErrTimeout)
	}
	if m.isClosed() {
		return fmt.Errorf("%s: %s: %w: %w", m.path, fn, errClosed, core.ErrUnavailable)
	}
	return fmt.Errorf("%s: %s: the guest trapped: %w%s: %w", m.path, fn, &trapError{err}, inst.stderr.note(), core.ErrPluginFailed)
}

// ctxErr is the error for a call whose context is already done, or nil.
// Calls check it before entering the guest: an instrumented guest would
// only notice at its first budget check.
func (m *Module) ctxErr(ctx context.Context, fn string) error {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %s not started: the call's time limit had passed: %w", m.path, fn, core.ErrTimeout)
	default:
		return fmt.Errorf("%s: %s not started: the caller cancelled: %w: %w", m.path, fn, err, core.ErrUnavailable)
	}
}

// trapError is a wazero trap whose message is its first line ("wasm error:
// unreachable"); the full text, with the Wasm stack trace, is in the
// wrapped error and in the host's log.
type trapError struct{ err error }

func (e *trapError) Error() string {
	first, _, _ := strings.Cut(e.err.Error(), "\n")
	return first
}

func (e *trapError) Unwrap() error { return e.err }

// detail is the full text of a trap in err (with its Wasm stack trace), or "".
func detail(err error) string {
	var t *trapError
	if errors.As(err, &t) {
		return t.err.Error()
	}
	return ""
}

func (m *Module) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Call implements wire.Conn. Each call takes an instance from the pool (or
// starts one), runs under the per-call time limit, and returns the instance
// to the pool unless it broke. A guest error comes back as a
// *wire.RemoteError; a transport failure wraps core.ErrTimeout,
// core.ErrPluginFailed or core.ErrUnavailable.
func (m *Module) Call(ctx context.Context, method string, req []byte) ([]byte, error) {
	if m.isClosed() {
		return nil, fmt.Errorf("%s: %s: %w: %w", m.path, method, errClosed, core.ErrUnavailable)
	}
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %s: waiting for a free instance: %w: %w", m.path, method, ctx.Err(), ctxSentinel(ctx))
	}
	defer func() { <-m.sem }()
	if m.contract == core.ContractBuildpack {
		mounts, rewritten, ok, err := buildpackMounts(method, req)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", m.path, method, err)
		}
		if ok {
			return m.callFresh(ctx, method, rewritten, mounts)
		}
	}
	inst, err := m.get(ctx)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	out, err := m.invoke(cctx, inst, method, req)
	cancel()
	var broken *brokenError
	if errors.As(err, &broken) {
		inst.close()
		m.opts.Logger.Warn("wasm instance discarded", "module", m.path, "method", method, "err", broken.err, "detail", detail(broken.err))
		return nil, broken.err
	}
	if err == nil && method == wire.MethodConfigure {
		m.mu.Lock()
		m.configure = bytes.Clone(req)
		m.configGen++
		inst.gen = m.configGen
		m.mu.Unlock()
	}
	m.put(inst)
	return out, err
}

// callFresh runs one buildpack call in a new instance with extra mounts,
// under BuildpackCallTimeout, with the guest's standard output and error
// also written to the call's output writer (wire.OutputFromContext); then
// it closes the instance.
func (m *Module) callFresh(ctx context.Context, method string, req []byte, mounts []Mount) ([]byte, error) {
	inst, err := m.newInstance(ctx, mounts, false)
	if err != nil {
		return nil, err
	}
	defer inst.close()
	if w := wire.OutputFromContext(ctx); w != nil {
		inst.stdout.tee, inst.stderr.tee = w, w
	}
	cctx, cancel := context.WithTimeout(ctx, m.opts.BuildpackCallTimeout)
	defer cancel()
	out, err := m.invoke(cctx, inst, method, req)
	var broken *brokenError
	if errors.As(err, &broken) {
		return nil, broken.err
	}
	return out, err
}

// get returns an idle, up-to-date instance or starts a new one.
func (m *Module) get(ctx context.Context) (*instance, error) {
	select {
	case inst := <-m.idle:
		m.mu.Lock()
		cfgReq, gen := m.configure, m.configGen
		m.mu.Unlock()
		if inst.gen == gen {
			return inst, nil
		}
		if err := m.reconfigure(ctx, inst, cfgReq, gen); err != nil {
			inst.close()
			return nil, err
		}
		return inst, nil
	default:
		return m.newInstance(ctx, nil, false)
	}
}

// put returns inst to the pool, or closes it if the module is closed.
func (m *Module) put(inst *instance) {
	if m.isClosed() {
		inst.close()
		return
	}
	select {
	case m.idle <- inst:
	default:
		inst.close()
	}
}

// Close implements io.Closer: it stops every instance and frees the
// compiled code. Calls in flight fail with core.ErrUnavailable.
func (m *Module) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	if err := m.rt.Close(context.Background()); err != nil {
		return fmt.Errorf("%s: close: %w", m.path, err)
	}
	return nil
}

func ctxSentinel(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return core.ErrTimeout
	}
	return core.ErrUnavailable
}

// buildpackDirs maps the directory fields of buildpack requests to where a
// guest sees them.
var buildpackDirs = []struct{ field, guest string }{
	{"build_dir", "/build"},
	{"cache_dir", "/cache"},
	{"env_dir", "/env"},
}

// buildpackMounts returns the mounts for a buildpack request that carries
// directories and the request with its paths rewritten to the guest's view;
// ok is false for requests that carry none.
func buildpackMounts(method string, req []byte) (mounts []Mount, rewritten []byte, ok bool, err error) {
	switch method {
	case wire.MethodDetect, wire.MethodCompile, wire.MethodRelease:
	default:
		return nil, nil, false, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(req, &fields); err != nil {
		return nil, nil, false, fmt.Errorf("request does not decode: %w: %w", err, core.ErrInvalid)
	}
	for _, d := range buildpackDirs {
		raw, present := fields[d.field]
		if !present {
			continue
		}
		var dir string
		if err := json.Unmarshal(raw, &dir); err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w: %w", d.field, err, core.ErrInvalid)
		}
		if dir == "" {
			continue
		}
		st, err := os.Stat(dir)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s %q: %w: %w", d.field, dir, err, core.ErrInvalid)
		}
		if !st.IsDir() {
			return nil, nil, false, fmt.Errorf("%s %q is not a directory: %w", d.field, dir, core.ErrInvalid)
		}
		mounts = append(mounts, Mount{HostDir: dir, GuestPath: d.guest})
		fields[d.field], _ = json.Marshal(d.guest)
	}
	if len(mounts) == 0 {
		return nil, nil, false, nil
	}
	rewritten, err = json.Marshal(fields)
	if err != nil {
		return nil, nil, false, fmt.Errorf("re-encode request: %w", err)
	}
	return mounts, rewritten, true, nil
}
