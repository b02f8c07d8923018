package router

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
)

// startRouter serves a new Router on a loopback port.
func startRouter(t *testing.T, opts Options) (*Router, string) {
	t.Helper()
	r := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { r.Close() })
	return r, ln.Addr().String()
}

// echo is what the echo backend reports about a request.
type echo struct {
	Dyno    string      `json:"dyno"`
	Method  string      `json:"method"`
	URI     string      `json:"uri"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
	BodyLen int         `json:"body_len"`
}

// echoBackend is a real HTTP server answering with an echo of the request.
func echoBackend(t *testing.T, dyno string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := 0
		buf := make([]byte, 32<<10)
		for {
			m, err := r.Body.Read(buf)
			n += m
			if err != nil {
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo{Dyno: dyno, Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header, BodyLen: n})
	}))
	t.Cleanup(s.Close)
	return s
}

func addrOf(s *httptest.Server) string { return s.Listener.Addr().String() }

func setRoutes(t *testing.T, r *Router, version int64, routes ...core.Route) {
	t.Helper()
	if err := r.SetRoutes(context.Background(), core.RouteTable{Version: version, Routes: routes}); err != nil {
		t.Fatalf("SetRoutes: %v", err)
	}
}

// get sends a request with the given Host through the router.
func get(t *testing.T, addr, host, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", req.Method, req.URL, req.Host, err)
	}
	defer resp.Body.Close()
	var body []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	return resp, body
}

// buildGuest compiles a Go http-wasm guest from testdata/NAME.
func buildGuest(t testing.TB, name string) string {
	t.Helper()
	goBin := testenv.NeedCommand(t, "go")
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", out, "./testdata/"+name)
	cmd.Env = append(cmd.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build guest %s: %v\n%s", name, err, b)
	}
	return out
}

// logCollector gathers router log lines from OnLog.
type logCollector struct {
	mu    sync.Mutex
	lines []string
	apps  []string
	cond  chan struct{}
}

func newLogCollector() *logCollector { return &logCollector{cond: make(chan struct{}, 1)} }

func (l *logCollector) onLog(app string, msg core.LogMessage) {
	l.mu.Lock()
	l.lines = append(l.lines, msg.Text)
	l.apps = append(l.apps, app)
	l.mu.Unlock()
	select {
	case l.cond <- struct{}{}:
	default:
	}
}

// wait returns the first line containing want, waiting up to 30 s.
func (l *logCollector) wait(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		for _, s := range l.lines {
			if containsStr(s, want) {
				l.mu.Unlock()
				return s
			}
		}
		all := append([]string(nil), l.lines...)
		l.mu.Unlock()
		select {
		case <-l.cond:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no router log line containing %q; have:\n%v", want, all)
		}
	}
}
