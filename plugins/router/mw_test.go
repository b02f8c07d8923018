package router

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
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
