package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/http-wasm/http-wasm-host-go/handler"
	wasm "github.com/http-wasm/http-wasm-host-go/handler/nethttp"
	"github.com/tetratelabs/wazero"

	"github.com/paasd/paasd/core"
)

// errGuestTimeout ends a guest that overran MiddlewareOptions.Timeout.
var errGuestTimeout = errors.New("middleware time limit exceeded")

// MiddlewareOptions bound the http-wasm middleware an app may run.
type MiddlewareOptions struct {
	// MemoryLimitPages caps each instance's memory in 64 KiB pages.
	// Default 256 (16 MiB).
	MemoryLimitPages uint32
	// Timeout bounds one request's time inside the guest (handle_request
	// plus handle_response); past it the guest is stopped and the request
	// fails. Default 1 s.
	Timeout time.Duration
	// CacheDir keeps compiled modules on disk across restarts; "" keeps
	// them in memory only.
	CacheDir string
}

func (o *MiddlewareOptions) setDefaults() {
	if o.MemoryLimitPages == 0 {
		o.MemoryLimitPages = 256
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
}

// wasmHost compiles each middleware module once and shares it between route
// tables.
type wasmHost struct {
	opts  MiddlewareOptions
	mu    sync.Mutex
	cache wazero.CompilationCache
	mods  map[string]*wasmMiddleware
}

func newWasmHost(opts MiddlewareOptions) *wasmHost {
	return &wasmHost{opts: opts, mods: map[string]*wasmMiddleware{}}
}

// wasmMiddleware is one module; inst is replaced when a guest had to be
// stopped (a stopped instance must not serve again).
type wasmMiddleware struct {
	ref  string
	code []byte
	host *wasmHost
	inst atomic.Pointer[wasm.Middleware]
	mu   sync.Mutex
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
	m := &wasmMiddleware{ref: path, code: code, host: h}
	if err := m.renew(); err != nil {
		return nil, err
	}
	h.mods[path] = m
	return m, nil
}

// renew makes a fresh set of instances and closes the old one.
func (m *wasmMiddleware) renew() error {
	h := m.host
	cfg := wazero.NewRuntimeConfig().WithMemoryLimitPages(h.opts.MemoryLimitPages).
		WithCloseOnContextDone(true).WithCompilationCache(h.cache)
	mw, err := wasm.NewMiddleware(context.Background(), m.code,
		handler.Runtime(func(ctx context.Context) (wazero.Runtime, error) {
			return wazero.NewRuntimeWithConfig(ctx, cfg), nil
		}),
		handler.ModuleConfig(wazero.NewModuleConfig().WithStartFunctions("_initialize", "_start")))
	if err != nil {
		return fmt.Errorf("load http-wasm module %s: %w: %w", m.ref, err, core.ErrInvalid)
	}
	if old := m.inst.Swap(&mw); old != nil {
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

// serve runs the chain around next. It returns errMiddleware when a guest
// trapped, overran its time limit or failed to instantiate; then nothing
// the guest wrote has reached the client.
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

// wrap returns a handler running m around next. If the guest fails, *failed
// is set and its error response is swallowed.
func (m *wasmMiddleware) wrap(next http.Handler, failed *mwFailure) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		inst := *m.inst.Load()
		timeout := m.host.opts.Timeout
		// The time limit runs only while the guest runs: it is stopped
		// while the next handler (the app) works, and re-armed after.
		gctx, cancel := context.WithCancelCause(context.WithoutCancel(req.Context()))
		defer cancel(nil)
		timer := time.AfterFunc(timeout, func() { cancel(errGuestTimeout) })
		defer timer.Stop()
		gw := &guestWriter{w: w, hdr: http.Header{}}
		var nextCalled bool
		inner := http.HandlerFunc(func(w2 http.ResponseWriter, r2 *http.Request) {
			nextCalled = true
			timer.Stop()
			defer timer.Reset(timeout)
			gw.flushTo()
			// The guest's deadline must not cut the proxied request.
			r2 = r2.WithContext(req.Context())
			next.ServeHTTP(w2, r2)
		})
		func() {
			defer func() {
				if p := recover(); p != nil {
					failed.m, failed.reason = m, fmt.Sprint(p)
				}
			}()
			inst.NewHandler(gctx, inner).ServeHTTP(gw, req.WithContext(gctx))
		}()
		if failed.m == nil && !nextCalled && gw.status == http.StatusInternalServerError &&
			(context.Cause(gctx) == errGuestTimeout || bytes.Contains(gw.body.Bytes(), []byte("wasm")) || strings.Contains(gw.body.String(), "module closed")) {
			failed.m, failed.reason = m, firstLine(gw.body.String())
			if context.Cause(gctx) == errGuestTimeout {
				failed.reason = "exceeded its time limit of " + timeout.String()
			}
		}
		if failed.m == m {
			// A stopped or trapped instance must not serve again.
			m.mu.Lock()
			if p := m.inst.Load(); p != nil && *p == inst {
				_ = m.renew()
			}
			m.mu.Unlock()
			return
		}
		if !nextCalled {
			gw.flushTo()
		}
	})
}

// guestWriter holds back what the guest writes until it either calls the
// next handler or returns, so that a failing guest's output can be
// replaced by the router's error page.
type guestWriter struct {
	w       http.ResponseWriter
	hdr     http.Header
	status  int
	body    bytes.Buffer
	passing bool
}

func (g *guestWriter) Header() http.Header {
	if g.passing {
		return g.w.Header()
	}
	return g.hdr
}

func (g *guestWriter) WriteHeader(code int) {
	if g.passing {
		g.w.WriteHeader(code)
		return
	}
	if g.status == 0 {
		g.status = code
	}
}

func (g *guestWriter) Write(p []byte) (int, error) {
	if g.passing {
		return g.w.Write(p)
	}
	if g.status == 0 {
		g.status = http.StatusOK
	}
	return g.body.Write(p)
}

func (g *guestWriter) Flush() {
	if g.passing {
		if f, ok := g.w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

// flushTo passes held headers (and any short-circuit response) on and
// switches to pass-through.
func (g *guestWriter) flushTo() {
	if g.passing {
		return
	}
	g.passing = true
	for k, v := range g.hdr {
		g.w.Header()[k] = v
	}
	if g.status != 0 {
		g.w.WriteHeader(g.status)
	}
	if g.body.Len() > 0 {
		_, _ = g.w.Write(g.body.Bytes())
	}
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
