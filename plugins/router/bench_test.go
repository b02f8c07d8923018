package router

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/plugins/router/wasmguest"
)

// BenchmarkProxyKeepAlive measures one keep-alive GET through the fast path
// to a real loopback backend, with log lines consumed.
func BenchmarkProxyKeepAlive(b *testing.B) { benchProxy(b, nil) }

// BenchmarkProxyMiddleware is the same through a minimal http-wasm guest.
func BenchmarkProxyMiddleware(b *testing.B) {
	path := b.TempDir() + "/mw.wasm"
	if err := os.WriteFile(path, wasmguest.AddHeader("X-A", "X-B", "v"), 0o644); err != nil {
		b.Fatal(err)
	}
	benchProxy(b, []string{"wasm:" + path})
}

func benchProxy(b *testing.B, mw []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte("Hello, world!\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })}
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Close()
	r := New(Options{OnLog: func(string, core.LogMessage) {}})
	defer r.Close()
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go r.Serve(rln) //nolint:errcheck
	if err := r.SetRoutes(b.Context(), core.RouteTable{Version: 1, Routes: []core.Route{{App: "bench",
		Backends: []core.Backend{{Dyno: "web.1", Address: ln.Addr().String()}}, Middleware: mw}}}); err != nil {
		b.Fatal(err)
	}
	c, err := net.Dial("tcp", rln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET / HTTP/1.1\r\nHost: bench.localhost\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkMiddlewareCall is one request through a middleware's guest
// (handle_request, a no-op next handler, handle_response), without the
// network: instrumented (the router's way) and un-instrumented with
// wazero's WithCloseOnContextDone (the router before), for the minimal
// assembled guest and the Go guest.
func BenchmarkMiddlewareCall(b *testing.B) {
	minimal := filepath.Join(b.TempDir(), "min.wasm")
	if err := os.WriteFile(minimal, wasmguest.AddHeader("X-A", "X-B", "v"), 0o644); err != nil {
		b.Fatal(err)
	}
	guests := map[string]string{"min": minimal, "go": buildGuest(b, "addheader")}
	for _, g := range []string{"min", "go"} {
		for _, mode := range []string{"instrumented", "ctxwatch"} {
			b.Run(g+"/"+mode, func(b *testing.B) {
				h := newWasmHost(MiddlewareOptions{MemoryLimitPages: 256, Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
				h.noInstrument = mode == "ctxwatch"
				defer h.close()
				m, err := h.load(guests[g])
				if err != nil {
					b.Fatal(err)
				}
				next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
				req := httptest.NewRequest(http.MethodGet, "http://bench.localhost/", nil)
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					if err := m.run(*m.inst.Load(), w, req, next); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
