package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	handlerapi "github.com/http-wasm/http-wasm-host-go/api/handler"
	"github.com/http-wasm/http-wasm-host-go/handler"
	"github.com/tetratelabs/wazero"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost/wasminstrument"
)

// errGuestTimeout ends a guest that overran MiddlewareOptions.Timeout.
var errGuestTimeout = errors.New("middleware time limit exceeded")

// MiddlewareOptions bound the http-wasm middleware an app may run.
type MiddlewareOptions struct {
	// MemoryLimitPages caps each instance's memory in 64 KiB pages.
	// Default 256 (16 MiB).
	MemoryLimitPages uint32
	// Timeout bounds one request's time inside the guest (handle_request
	// plus handle_response, and instantiating the guest when no pooled
	// instance is free); past it the guest is stopped and the request
	// fails. Default 5 s.
	Timeout time.Duration
	// CacheDir keeps compiled modules on disk across restarts; "" keeps
	// them in memory only.
	CacheDir string
	// Logger receives notes about loading modules (a module that cannot
	// be instrumented, and why). Default slog.Default().
	Logger *slog.Logger
}

func (o *MiddlewareOptions) setDefaults() {
	if o.MemoryLimitPages == 0 {
		o.MemoryLimitPages = 256
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// wasmHost compiles each middleware module once and shares it between route
// tables.
type wasmHost struct {
	opts  MiddlewareOptions
	mu    sync.Mutex
	cache wazero.CompilationCache
	mods  map[string]*wasmMiddleware
	// noInstrument loads every module un-instrumented, with wazero's
	// context watching (set by benchmarks to compare).
	noInstrument bool
}

func newWasmHost(opts MiddlewareOptions) *wasmHost {
	return &wasmHost{opts: opts, mods: map[string]*wasmMiddleware{}}
}

// wasmMiddleware is one module; inst is replaced when a guest had to be
// stopped (a stopped instance must not serve again).
//
// The time limit is enforced as in the Wasm plugin host: the module is
// instrumented at load (package wasminstrument) so that its loops and calls
// check the guest's context every few thousand ticks through
// paasd:instrument.yield, which stops the guest once the context is done. A
// module the rewriter cannot handle runs with wazero's
// WithCloseOnContextDone instead (a goroutine and a timer per guest call).
type wasmMiddleware struct {
	ref  string
	prep wasminstrument.Prepared
	host *wasmHost
	inst atomic.Pointer[handler.Middleware]
	mu   sync.Mutex
	// renewed is when inst was last replaced; replacements are at most one
	// a second so that a burst of failures does not discard the healthy
	// pooled instances over and over.
	renewed time.Time
}

// middlewareChain is an app's middleware, outermost first.
type middlewareChain struct {
	mws []*wasmMiddleware
}

// middleware loads (or reuses) the modules named by refs. It returns an
// error wrapping core.ErrInvalid naming a bad reference or module.
func (r *Router) middleware(refs []string) (*middlewareChain, error) {
	ch := &middlewareChain{}
	for _, s := range refs {
		ref, err := core.ParseRef(s)
		if err != nil {
			return nil, fmt.Errorf("middleware: %w", err)
		}
		if ref.Kind != core.RefWasm {
			return nil, fmt.Errorf("middleware %q: only wasm: references are supported: %w", s, core.ErrInvalid)
		}
		m, err := r.wasm.load(ref.Target)
		if err != nil {
			return nil, fmt.Errorf("middleware %q: %w", s, err)
		}
		ch.mws = append(ch.mws, m)
	}
	return ch, nil
}

func (h *wasmHost) load(path string) (*wasmMiddleware, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.mods[path]; m != nil {
		return m, nil
	}
	if h.cache == nil {
		if h.opts.CacheDir != "" {
			c, err := wazero.NewCompilationCacheWithDir(h.opts.CacheDir)
			if err != nil {
				return nil, fmt.Errorf("wasm compilation cache %s: %w", h.opts.CacheDir, err)
			}
			h.cache = c
		} else {
			h.cache = wazero.NewCompilationCache()
		}
	}
	code, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read module: %w: %w", err, core.ErrInvalid)
	}
	prep, err := wasminstrument.Prepare(code, h.noInstrument)
	if err != nil {
		return nil, fmt.Errorf("load http-wasm module %s: %w: %w", path, err, core.ErrInvalid)
	}
	if !prep.Instrumented {
		h.opts.Logger.Info("wasm middleware not instrumented; its time limit uses wazero's context watching", "module", path, "reason", prep.Reason)
	}
	m := &wasmMiddleware{ref: path, prep: prep, host: h}
	if err := m.renew(); err != nil {
		return nil, err
	}
	h.mods[path] = m
	return m, nil
}

// renew makes a fresh set of instances and closes the old one.
func (m *wasmMiddleware) renew() error {
	h := m.host
	cfg := m.prep.Configure(wazero.NewRuntimeConfig().WithMemoryLimitPages(h.opts.MemoryLimitPages).
		WithCompilationCache(h.cache))
	mw, err := handler.NewMiddleware(context.Background(), m.prep.Code, mwHost{},
		handler.Runtime(func(ctx context.Context) (wazero.Runtime, error) {
			rt := wazero.NewRuntimeWithConfig(ctx, cfg)
			if err := m.prep.Instantiate(ctx, rt); err != nil {
				_ = rt.Close(ctx)
				return nil, fmt.Errorf("instantiate %s: %w", wasminstrument.Module, err)
			}
			return rt, nil
		}),
		handler.ModuleConfig(wazero.NewModuleConfig().WithStartFunctions("_initialize", "_start")))
	if err != nil {
		return fmt.Errorf("load http-wasm module %s: %w: %w", m.ref, err, core.ErrInvalid)
	}
	if old := m.inst.Swap(&mw); old != nil {
		m.renewed = time.Now()
		go func() {
			time.Sleep(m.host.opts.Timeout * 2)
			_ = (*old).Close(context.Background())
		}()
	}
	return nil
}

func (h *wasmHost) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.mods {
		if p := m.inst.Load(); p != nil {
			_ = (*p).Close(context.Background())
		}
	}
	h.mods = map[string]*wasmMiddleware{}
	if h.cache != nil {
		return h.cache.Close(context.Background())
	}
	return nil
}

// serve runs the chain around next. It returns errMiddleware and the
// reason when a guest trapped, overran its time limit or failed to
// instantiate; then nothing the guest wrote has reached the client.
func (c *middlewareChain) serve(w http.ResponseWriter, req *http.Request, next http.Handler) (*hcode, string) {
	var f mwFailure
	h := next
	for i := len(c.mws) - 1; i >= 0; i-- {
		h = c.mws[i].wrap(h, &f)
	}
	h.ServeHTTP(w, req)
	if f.m != nil {
		return errMiddleware, "wasm:" + f.m.ref + ": " + f.reason
	}
	return nil, ""
}

// mwFailure records which middleware failed and why.
type mwFailure struct {
	m      *wasmMiddleware
	reason string
}

// wrap returns a handler running m around next; a guest failure is
// recorded in *failed (the outermost one wins) and its instances replaced.
func (m *wasmMiddleware) wrap(next http.Handler, failed *mwFailure) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		inst := m.inst.Load()
		if err := m.run(*inst, w, req, next); err != nil {
			if failed.m == nil {
				failed.m, failed.reason = m, err.Error()
			}
			// A stopped or trapped instance must not serve again.
			m.mu.Lock()
			if m.inst.Load() == inst && time.Since(m.renewed) > time.Second {
				_ = m.renew()
			}
			m.mu.Unlock()
		}
	})
}

// run calls the guest's handle_request, the next handler if it asks for
// it, and handle_response.
func (m *wasmMiddleware) run(mw handler.Middleware, w http.ResponseWriter, req *http.Request, next http.Handler) error {
	timeout := m.host.opts.Timeout
	// The time limit runs only while the guest runs: it is stopped while
	// the next handler (the app) works, and re-armed after.
	gctx, cancel := context.WithCancelCause(context.WithoutCancel(req.Context()))
	defer cancel(nil)
	timer := time.AfterFunc(timeout, func() { cancel(errGuestTimeout) })
	defer timer.Stop()
	guestErr := func(err error) error {
		if context.Cause(gctx) == errGuestTimeout {
			return fmt.Errorf("exceeded its time limit of %s", timeout)
		}
		return errors.New(firstLine(err.Error()))
	}
	st := &mwState{r: req, hdr: http.Header{}, features: mw.Features()}
	ctx := context.WithValue(gctx, mwStateKey{}, st)
	outCtx, ctxNext, err := mw.HandleRequest(ctx)
	if err != nil {
		return guestErr(err)
	}
	if uint32(ctxNext) == 0 {
		// The guest answered itself.
		for k, v := range st.hdr {
			w.Header()[k] = v
		}
		if st.status == 0 {
			st.status = http.StatusOK
		}
		w.WriteHeader(st.status)
		_, _ = w.Write(st.body.Bytes())
		return nil
	}
	for k, v := range st.hdr {
		w.Header()[k] = v
	}
	if st.reqBody != nil {
		// Replay what the guest read, then the rest.
		st.r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(st.reqBody.Bytes()), st.r.Body.(teeBody).r), st.r.Body}
	}
	st.out = &recorder{ResponseWriter: w}
	var out http.ResponseWriter = st.out
	if st.features.IsEnabled(handlerapi.FeatureBufferResponse) {
		st.buffered = &heldResponse{header: w.Header().Clone()}
		out = st.buffered
	}
	st.afterNext = true
	timer.Stop()
	next.ServeHTTP(out, st.r.WithContext(req.Context()))
	timer.Reset(timeout)
	err = mw.HandleResponse(outCtx, uint32(ctxNext>>32), nil)
	if err != nil {
		return guestErr(err)
	}
	if st.buffered != nil {
		st.buffered.release(w)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
