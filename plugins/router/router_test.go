package router

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/plugins/router/wasmguest"
)

// rawExchange writes req on a new connection to addr and reads one
// response.
func rawExchange(t *testing.T, addr, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// backendFunc is a real HTTP backend running h.
func backendFunc(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// rawBackend accepts connections and runs fn on each.
func rawBackend(t *testing.T, fn func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func readRequestHead(c net.Conn) *bufio.Reader {
	br := bufio.NewReader(c)
	for {
		l, err := br.ReadString('\n')
		if err != nil || l == "\r\n" {
			return br
		}
	}
}

func TestErrorCodes(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	slow := backendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	idleMidBody := backendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	closeNoResp := rawBackend(t, func(c net.Conn) { readRequestHead(c) })
	badResp := rawBackend(t, func(c net.Conn) {
		readRequestHead(c)
		_, _ = io.WriteString(c, "NOT HTTP AT ALL\r\n\r\n")
	})
	bothLengths := rawBackend(t, func(c net.Conn) {
		readRequestHead(c)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	})
	cutBody := rawBackend(t, func(c net.Conn) {
		readRequestHead(c)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
	})
	streaming := backendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte(strings.Repeat("data ", 1000))); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	})
	refused := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	logs := newLogCollector()
	r, addr := startRouter(t, Options{OnLog: logs.onLog, RequestTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	setRoutes(t, r, 1,
		core.Route{App: "slow", Backends: []core.Backend{{Dyno: "web.1", Address: slow}}},
		core.Route{App: "idle", Backends: []core.Backend{{Dyno: "web.1", Address: idleMidBody}}},
		core.Route{App: "closer", Backends: []core.Backend{{Dyno: "web.1", Address: closeNoResp}}},
		core.Route{App: "bad", Backends: []core.Backend{{Dyno: "web.1", Address: badResp}}},
		core.Route{App: "refused", Backends: []core.Backend{{Dyno: "web.3", Address: refused}}},
		core.Route{App: "both", Backends: []core.Backend{{Dyno: "web.1", Address: bothLengths}}},
		core.Route{App: "cut", Backends: []core.Backend{{Dyno: "web.1", Address: cutBody}}},
		core.Route{App: "stream", Backends: []core.Backend{{Dyno: "web.1", Address: streaming}}},
	)
	for _, tc := range []struct {
		desc, app, code, desc2 string
		status                 int
	}{
		{desc: "no first byte within the request timeout", app: "slow", code: "H12", desc2: "Request timeout", status: 503},
		{desc: "closed without a response", app: "closer", code: "H13", desc2: "Connection closed without response", status: 503},
		{desc: "malformed response", app: "bad", code: "H17", desc2: "Poorly formatted HTTP response", status: 503},
		{desc: "Content-Length and chunked", app: "both", code: "H17", desc2: "Poorly formatted HTTP response", status: 503},
		{desc: "connection refused", app: "refused", code: "H21", desc2: "Backend connection refused", status: 503},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			resp, body := get(t, addr, tc.app+".localhost", "/"+tc.app, nil)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.code) {
				t.Fatalf("status %d, want %d with a page naming %s:\n%s", resp.StatusCode, tc.status, tc.code, body)
			}
			line := logs.wait(t, `path="/`+tc.app+`"`)
			want := fmt.Sprintf(`at=error code=%s desc="%s" method=GET path="/%s"`, tc.code, tc.desc2, tc.app)
			if !strings.HasPrefix(line, want) || !strings.Contains(line, fmt.Sprintf("status=%d", tc.status)) {
				t.Errorf("log line %q, want prefix %q", line, want)
			}
		})
	}
	t.Run("idle mid-body", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/idle", nil)
		req.Host = "idle.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("a truncated body read without error")
		}
		line := logs.wait(t, `path="/idle"`)
		if !strings.HasPrefix(line, `at=error code=H15 desc="Idle connection"`) {
			t.Errorf("log line %q, want H15", line)
		}
	})
	t.Run("closed mid-body", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/cut", nil)
		req.Host = "cut.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("a truncated body read without error")
		}
		line := logs.wait(t, `path="/cut"`)
		if !strings.HasPrefix(line, `at=error code=H18 desc="Server Request Interrupted"`) {
			t.Errorf("log line %q, want H18", line)
		}
	})
	t.Run("client gone", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /gone HTTP/1.1\r\nHost: stream.localhost\r\n\r\n")
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		c.Close()
		line := logs.wait(t, `path="/gone"`)
		if !strings.HasPrefix(line, `at=error code=H27 desc="Client Request Interrupted"`) || !strings.Contains(line, "status=499") {
			t.Errorf("log line %q, want H27 with status=499", line)
		}
	})
}

func TestRequestLimits(t *testing.T) {
	be := echoBackend(t, "web.1")
	r, addr := startRouter(t, Options{MaxBodyBytes: 1000, MaxRequestLine: 1024, MaxHeaderBytes: 4096})
	setRoutes(t, r, 1, core.Route{App: "a", Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}})
	for _, tc := range []struct {
		desc, req string
		status    int
	}{
		{desc: "long request line", req: "GET /" + strings.Repeat("x", 2000) + " HTTP/1.1\r\nHost: a.localhost\r\n\r\n", status: 414},
		{desc: "large headers", req: "GET / HTTP/1.1\r\nHost: a.localhost\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 900)+"\r\n", 6) + "\r\n", status: 431},
		{desc: "body over the limit", req: "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 5000\r\n\r\n", status: 413},
		{desc: "chunked body over the limit", req: "POST / HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + strings.Repeat("z", 2000) + "\r\n0\r\n\r\n", status: 413},
		{desc: "both Content-Length and chunked", req: "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400},
		{desc: "no Host in HTTP/1.1", req: "GET / HTTP/1.1\r\n\r\n", status: 400},
		{desc: "garbage", req: "HELLO\r\n\r\n", status: 400},
		{desc: "body within the limit", req: "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 5\r\n\r\nhello", status: 200},
		{desc: "chunked body within the limit", req: "POST / HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n", status: 200},
		{desc: "absolute-form target", req: "GET http://a.localhost/abs?x=1 HTTP/1.1\r\nHost: a.localhost\r\n\r\n", status: 200},
		{desc: "absolute-form target naming another host", req: "GET http://b.localhost/ HTTP/1.1\r\nHost: a.localhost\r\n\r\n", status: 400},
		{desc: "CONNECT", req: "CONNECT a.localhost:443 HTTP/1.1\r\nHost: a.localhost\r\n\r\n", status: 400},
		{desc: "HTTP/1.0", req: "GET / HTTP/1.0\r\nHost: a.localhost\r\n\r\n", status: 200},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			resp, body := rawExchange(t, addr, tc.req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 200 && strings.HasPrefix(tc.req, "POST") {
				var e echo
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.BodyLen == 0 {
					t.Errorf("backend saw body_len %d (%v)", e.BodyLen, err)
				}
			}
		})
	}
}

func TestPipelining(t *testing.T) {
	be := echoBackend(t, "web.1")
	r, addr := startRouter(t, Options{})
	setRoutes(t, r, 1, core.Route{App: "a", Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	var all strings.Builder
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&all, "GET /p%d HTTP/1.1\r\nHost: a.localhost\r\n\r\n", i)
	}
	if _, err := io.WriteString(c, all.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i := 0; i < 5; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		var e echo
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if e.URI != fmt.Sprintf("/p%d", i) {
			t.Fatalf("response %d is for %s", i, e.URI)
		}
	}
}

func TestChunkedResponseAndHTTP10(t *testing.T) {
	be := backendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	r, addr := startRouter(t, Options{})
	setRoutes(t, r, 1, core.Route{App: "a", Backends: []core.Backend{{Dyno: "web.1", Address: be}}})
	for _, tc := range []struct{ desc, proto string }{{"HTTP/1.1 client", "HTTP/1.1"}, {"HTTP/1.0 client", "HTTP/1.0"}} {
		t.Run(tc.desc, func(t *testing.T) {
			resp, body := rawExchange(t, addr, "GET / "+tc.proto+"\r\nHost: a.localhost\r\n\r\n")
			if body != "part0;part1;part2;" {
				t.Fatalf("body %q", body)
			}
			if tc.proto == "HTTP/1.0" && len(resp.TransferEncoding) > 0 {
				t.Errorf("chunked sent to an HTTP/1.0 client")
			}
		})
	}
}

func TestIdleAppWakes(t *testing.T) {
	be := echoBackend(t, "web.1")
	var r *Router
	var wakes atomic.Int32
	r, addr := startRouter(t, Options{Wake: func(ctx context.Context, app string) error {
		wakes.Add(1)
		// The platform starts a dyno, then publishes a table with it.
		go func() {
			_ = r.SetRoutes(ctx, core.RouteTable{Version: 2, Routes: []core.Route{
				{App: app, State: core.AppRunning, Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}}}})
		}()
		return nil
	}})
	setRoutes(t, r, 1, core.Route{App: "sleepy", State: core.AppIdle})
	resp, body := get(t, addr, "sleepy.localhost", "/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if wakes.Load() != 1 {
		t.Errorf("%d wakes, want 1", wakes.Load())
	}
}

func TestIdleAppBootTimeout(t *testing.T) {
	logs := newLogCollector()
	r, addr := startRouter(t, Options{OnLog: logs.onLog, BootTimeout: 200 * time.Millisecond,
		Wake: func(context.Context, string) error { return nil }})
	setRoutes(t, r, 1, core.Route{App: "sleepy", State: core.AppIdle})
	resp, _ := get(t, addr, "sleepy.localhost", "/", nil)
	if resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503 H20", resp.StatusCode)
	}
	if l := logs.wait(t, "code=H20"); !strings.HasPrefix(l, `at=error code=H20 desc="App boot timeout"`) {
		t.Errorf("log line %q", l)
	}
}

func TestBalancers(t *testing.T) {
	for _, bal := range []string{BalancerRandom, BalancerLeastConn, BalancerP2C} {
		t.Run(bal, func(t *testing.T) {
			b1, b2 := echoBackend(t, "web.1"), echoBackend(t, "web.2")
			r, addr := startRouter(t, Options{})
			setRoutes(t, r, 1, core.Route{App: "a", Balancer: bal, Backends: []core.Backend{
				{Dyno: "web.1", Address: addrOf(b1)}, {Dyno: "web.2", Address: addrOf(b2)}}})
			seen := map[string]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 25; i++ {
						_, body := get(t, addr, "a.localhost", "/", nil)
						var e echo
						_ = json.Unmarshal(body, &e)
						mu.Lock()
						seen[e.Dyno]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if seen["web.1"] == 0 || seen["web.2"] == 0 {
				t.Errorf("%s: spread %v, want both dynos used", bal, seen)
			}
		})
	}
	t.Run("unknown balancer", func(t *testing.T) {
		r := New(Options{})
		err := r.SetRoutes(context.Background(), core.RouteTable{Version: 1, Routes: []core.Route{{App: "a", Balancer: "round-robin"}}})
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "round-robin") {
			t.Errorf("err %v, want ErrInvalid naming the balancer", err)
		}
	})
}

func TestMiddlewareFailures(t *testing.T) {
	dir := t.TempDir()
	loop := dir + "/loop.wasm"
	if err := os.WriteFile(loop, wasmguest.Loop(), 0o644); err != nil {
		t.Fatal(err)
	}
	good := dir + "/good.wasm"
	if err := os.WriteFile(good, wasmguest.AddHeader("X-Middleware", "X-Middleware-Seen", "yes"), 0o644); err != nil {
		t.Fatal(err)
	}
	be := echoBackend(t, "web.1")
	logs := newLogCollector()
	r, addr := startRouter(t, Options{OnLog: logs.onLog, Middleware: MiddlewareOptions{Timeout: 200 * time.Millisecond}})
	backends := []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}
	setRoutes(t, r, 1,
		core.Route{App: "looping", Backends: backends, Middleware: []string{"wasm:" + loop}},
		core.Route{App: "healthy", Backends: backends, Middleware: []string{"wasm:" + good}},
		core.Route{App: "plain", Backends: backends})
	for i := 0; i < 2; i++ {
		resp, body := get(t, addr, "looping.localhost", "/loop", nil)
		if resp.StatusCode != 502 || !strings.Contains(string(body), "middleware") {
			t.Fatalf("looping middleware: status %d, want 502 naming the middleware\n%s", resp.StatusCode, body)
		}
	}
	line := logs.wait(t, `path="/loop"`)
	if !strings.HasPrefix(line, `at=error code=H99 desc="Middleware error"`) || !strings.Contains(line, "time limit") {
		t.Errorf("log line %q", line)
	}
	// A slow app behind a healthy middleware is not the middleware's fault:
	// the guest's time limit does not run while the app works.
	slowBE := backendFunc(t, func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(600 * time.Millisecond)
		_, _ = w.Write([]byte("slow but fine"))
	})
	setRoutes(t, r, 2,
		core.Route{App: "looping", Backends: backends, Middleware: []string{"wasm:" + loop}},
		core.Route{App: "healthy", Backends: backends, Middleware: []string{"wasm:" + good}},
		core.Route{App: "slowapp", Backends: []core.Backend{{Dyno: "web.1", Address: slowBE}}, Middleware: []string{"wasm:" + good}},
		core.Route{App: "plain", Backends: backends})
	if resp, body := get(t, addr, "slowapp.localhost", "/", nil); resp.StatusCode != 200 || string(body) != "slow but fine" {
		t.Errorf("slow app behind middleware: status %d, body %q", resp.StatusCode, body)
	}
	// Other apps are unaffected.
	resp, _ := get(t, addr, "healthy.localhost", "/", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Middleware-Seen") != "yes" {
		t.Errorf("healthy app: status %d, X-Middleware-Seen %q", resp.StatusCode, resp.Header.Get("X-Middleware-Seen"))
	}
	if resp, _ := get(t, addr, "plain.localhost", "/", nil); resp.StatusCode != 200 {
		t.Errorf("plain app: status %d", resp.StatusCode)
	}
	// A reference that is not wasm:, or a module that is not http-wasm, is refused.
	for _, ref := range []string{"builtin:x", "wasm:" + dir + "/missing.wasm"} {
		err := r.SetRoutes(context.Background(), core.RouteTable{Version: 3, Routes: []core.Route{{App: "x", Middleware: []string{ref}}}})
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("middleware %q: err %v, want ErrInvalid", ref, err)
		}
	}
}

func TestMiddlewareGoGuestLoop(t *testing.T) {
	guest := buildGuest(t, "loop")
	be := echoBackend(t, "web.1")
	r, addr := startRouter(t, Options{Middleware: MiddlewareOptions{Timeout: 500 * time.Millisecond}})
	setRoutes(t, r, 1, core.Route{App: "looping", Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}, Middleware: []string{"wasm:" + guest}})
	resp, body := get(t, addr, "looping.localhost", "/", nil)
	if resp.StatusCode != 502 || !strings.Contains(string(body), "middleware") {
		t.Fatalf("status %d, want 502 naming the middleware\n%s", resp.StatusCode, body)
	}
	// A Go guest is instrumented, not left to wazero's context watching.
	if m := r.wasm.mods[guest]; m == nil || !m.prep.Instrumented {
		t.Fatalf("the Go guest is not instrumented: %+v", m)
	}
}

// TestMiddlewareLoopStoppedAtLimit: a looping middleware is stopped at its
// time limit whether the router could instrument it (stopped by
// paasd:instrument.yield) or not (a SIMD module, stopped by wazero's context
// watching, with a log note saying why); only its app's requests fail, with
// H99 naming the time limit, and the next request gets the same answer.
func TestMiddlewareLoopStoppedAtLimit(t *testing.T) {
	for _, tc := range []struct {
		desc         string
		mod          []byte
		instrumented bool
	}{
		{desc: "instrumented", mod: wasmguest.Loop(), instrumented: true},
		{desc: "uninstrumentable", mod: wasmguest.LoopSIMD(), instrumented: false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "loop.wasm")
			if err := os.WriteFile(path, tc.mod, 0o644); err != nil {
				t.Fatal(err)
			}
			var notes bytes.Buffer
			logs := newLogCollector()
			be := echoBackend(t, "web.1")
			r, addr := startRouter(t, Options{OnLog: logs.onLog, Middleware: MiddlewareOptions{
				Timeout: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&notes, nil))}})
			backends := []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}
			setRoutes(t, r, 1,
				core.Route{App: "looping", Backends: backends, Middleware: []string{"wasm:" + path}},
				core.Route{App: "plain", Backends: backends})
			if m := r.wasm.mods[path]; m == nil || m.prep.Instrumented != tc.instrumented {
				t.Fatalf("instrumented = %v, want %v", m != nil && m.prep.Instrumented, tc.instrumented)
			}
			note := notes.String()
			if fellBack := strings.Contains(note, "not instrumented"); fellBack == tc.instrumented || (fellBack && !strings.Contains(note, "SIMD")) {
				t.Fatalf("log notes %q: want a note naming SIMD only for the uninstrumentable module", note)
			}
			for i := range 2 {
				resp, body := get(t, addr, "looping.localhost", fmt.Sprintf("/loop%d", i), nil)
				if resp.StatusCode != 502 || !strings.Contains(string(body), "middleware") {
					t.Fatalf("request %d: status %d, want 502 naming the middleware\n%s", i, resp.StatusCode, body)
				}
				line := logs.wait(t, fmt.Sprintf(`path="/loop%d"`, i))
				if !strings.HasPrefix(line, `at=error code=H99`) || !strings.Contains(line, "time limit of 200ms") {
					t.Errorf("request %d: log line %q", i, line)
				}
			}
			if resp, _ := get(t, addr, "plain.localhost", "/", nil); resp.StatusCode != 200 {
				t.Errorf("plain app: status %d", resp.StatusCode)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	for _, tc := range []struct {
		desc, cfg string
		ok        bool
	}{
		{desc: "empty", cfg: `{}`, ok: true},
		{desc: "timeouts", cfg: `{"request_timeout":"10s","idle_timeout":"20s","base_domain":"paasd.test"}`, ok: true},
		{desc: "bad duration", cfg: `{"request_timeout":"soon"}`},
		{desc: "unknown field", cfg: `{"colour":"blue"}`},
		{desc: "bad address", cfg: `{"http_addr":"256.0.0.1:x"}`},
		{desc: "missing default certificate", cfg: `{"default_cert_file":"/nonexistent/tls.crt","default_key_file":"/nonexistent/tls.key"}`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := New(Options{})
			defer r.Close()
			err := r.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: []byte(tc.cfg)})
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, core.ErrInvalid)) {
				t.Errorf("Configure(%s) = %v", tc.cfg, err)
			}
		})
	}
}
