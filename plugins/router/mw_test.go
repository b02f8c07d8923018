package router

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/plugins/router/wasmguest"
)

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

func TestMiddlewareAddsHeaders(t *testing.T) {
	guest := buildGuest(t, "addheader")
	logs := newLogCollector()
	r, addr := startRouter(t, Options{OnLog: logs.onLog})
	be := echoBackend(t, "web.1")
	setRoutes(t, r, 1, core.Route{App: "mw", Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}},
		Middleware: []string{"wasm:" + guest}})
	resp, body := get(t, addr, "mw.localhost", "/hello?x=1", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if got := e.Header.Get("X-Middleware"); got != "paasd" {
		t.Errorf("backend saw X-Middleware %q, want paasd", got)
	}
	if got := resp.Header.Get("X-Middleware-Seen"); got != "yes" {
		t.Errorf("client saw X-Middleware-Seen %q, want yes", got)
	}
	if e.URI != "/hello?x=1" {
		t.Errorf("backend saw URI %q", e.URI)
	}
	logs.wait(t, "status=200")
}

// TestNetHTTPPathBodies sends bodies both ways through the net/http path
// (an app with middleware): fixed-length and chunked uploads, and a
// streamed (chunked) response.
func TestNetHTTPPathBodies(t *testing.T) {
	dir := t.TempDir()
	guest := dir + "/mw.wasm"
	if err := os.WriteFile(guest, wasmguest.AddHeader("X-Middleware", "X-Middleware-Seen", "yes"), 0o644); err != nil {
		t.Fatal(err)
	}
	echoBE := echoBackend(t, "web.1")
	streamBE := backendFunc(t, func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	r, addr := startRouter(t, Options{})
	setRoutes(t, r, 1,
		core.Route{App: "echo", Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(echoBE)}}, Middleware: []string{"wasm:" + guest}},
		core.Route{App: "stream", Backends: []core.Backend{{Dyno: "web.1", Address: streamBE}}, Middleware: []string{"wasm:" + guest}})
	for _, tc := range []struct {
		desc, req string
		wantLen   int
	}{
		{desc: "content-length upload", req: "POST / HTTP/1.1\r\nHost: echo.localhost\r\nContent-Length: 10240\r\n\r\n" + strings.Repeat("x", 10240), wantLen: 10240},
		{desc: "chunked upload", req: "POST / HTTP/1.1\r\nHost: echo.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", wantLen: 11},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			resp, body := rawExchange(t, addr, tc.req)
			var e echo
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("status %d: %v: %s", resp.StatusCode, err, body)
			}
			if e.BodyLen != tc.wantLen || e.Header.Get("X-Middleware") != "yes" {
				t.Errorf("backend saw %d bytes and X-Middleware %q; want %d and yes", e.BodyLen, e.Header.Get("X-Middleware"), tc.wantLen)
			}
		})
	}
	t.Run("streamed response", func(t *testing.T) {
		resp, body := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: stream.localhost\r\n\r\n")
		if body != "part0;part1;part2;" || resp.Header.Get("X-Middleware-Seen") != "yes" {
			t.Errorf("body %q, X-Middleware-Seen %q", body, resp.Header.Get("X-Middleware-Seen"))
		}
	})
}

// TestMiddlewareShortCircuitAndTrap runs a Go guest that answers some
// requests itself (get_header_values, set_status_code, write_body), rewrites
// the URI of others (set_uri), and panics on demand.
func TestMiddlewareShortCircuitAndTrap(t *testing.T) {
	guest := buildGuest(t, "deny")
	be := echoBackend(t, "web.1")
	logs := newLogCollector()
	r, addr := startRouter(t, Options{OnLog: logs.onLog})
	setRoutes(t, r, 1, core.Route{App: "gate", Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}, Middleware: []string{"wasm:" + guest}})

	resp, body := get(t, addr, "gate.localhost", "/secret", map[string]string{"X-Deny": "1"})
	if resp.StatusCode != 403 || string(body) != "denied by middleware\n" {
		t.Errorf("denied request: status %d, body %q", resp.StatusCode, body)
	}
	resp, body = get(t, addr, "gate.localhost", "/anything", nil)
	var e echo
	if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != 200 || e.URI != "/allowed" {
		t.Errorf("allowed request: status %d, backend saw %q (%v)", resp.StatusCode, e.URI, err)
	}
	resp, body = get(t, addr, "gate.localhost", "/boom", map[string]string{"X-Panic": "1"})
	if resp.StatusCode != 502 || strings.Contains(string(body), "asked to panic") {
		t.Errorf("panicking guest: status %d (want 502 with the router's own page), body %q", resp.StatusCode, body)
	}
	if l := logs.wait(t, `path="/boom"`); !strings.HasPrefix(l, `at=error code=H99 desc="Middleware error"`) || !strings.Contains(l, "error=") {
		t.Errorf("log line %q", l)
	}
	// The instance was replaced: the app is served again.
	if resp, _ := get(t, addr, "gate.localhost", "/again", nil); resp.StatusCode != 200 {
		t.Errorf("after a guest panic: status %d, want 200", resp.StatusCode)
	}
}
