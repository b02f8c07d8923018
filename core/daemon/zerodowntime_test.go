package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// steadyApp is webApp as a production web process would be: threads, a
// listen backlog above the load's concurrency, HTTP/1.1 keep-alive (a
// single-threaded server with Python's default backlog of 5 drops
// connections under 8 clients, which the router rightly reports as H19).
const steadyApp = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("dyno=%s greeting=%s\n" % (os.environ.get("DYNO"), os.environ.get("GREETING"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
#SERVER
`

const steadyServer = `class S(http.server.ThreadingHTTPServer):
    request_queue_size = 256
print("listening on", os.environ["PORT"], flush=True)
S(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()`

// TestZeroDowntimeUnderLoad keeps steady load on an app's real web dynos
// through the router while it is redeployed (config changes and a new
// slug, each a release whose dynos preboot next to the old ones) and
// scaled down and up, three times. Heroku's promise, and the router issue's: not one request
// fails or gets a 5xx.
func TestZeroDowntimeUnderLoad(t *testing.T) {
	testenv.Short(t, "starts paasd, real dynos and load")
	testenv.NeedCommand(t, "python3")
	rt := testRuntime()
	if rt != DefaultRuntime && testenv.InCI() {
		t.Fatal("CI runs as root: the runc runtime must be tested")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	d, router := startDaemonWithRouter(t, dataDir, "--runtime", rt)
	defer func() { d.stop(t) }()

	if code, app := d.call(t, "POST", "/apps", map[string]any{"name": "steady"}); code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	release := func(greeting string) {
		t.Helper()
		sum := writeSlug(t, dataDir, map[string]string{"web.py": strings.NewReplacer("greeting=%s", greeting+"=%s", "#SERVER", steadyServer).Replace(steadyApp)})
		code, slug := d.call(t, "POST", "/apps/steady/slugs", map[string]any{"process_types": map[string]string{"web": "python3 web.py"}, "checksum": sum})
		if code != 201 {
			t.Fatalf("create slug: %d %v", code, slug)
		}
		if code, rel := d.call(t, "POST", "/apps/steady/releases", map[string]any{"slug": slug["id"], "description": "Deploy " + greeting}); code != 201 {
			t.Fatalf("release: %d %v", code, rel)
		}
	}
	// waitFor polls until the router serves a body containing want.
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			c, b, err := routed(router, "steady", "/")
			if err == nil && c == 200 && strings.Contains(b, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never served %q: %d %q %v\nlogs: %s", want, c, b, err, d.logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	release("first")
	if code, f := d.call(t, "PATCH", "/apps/steady/formation/web", map[string]any{"quantity": 2}); code != 200 {
		t.Fatalf("scale: %d %v", code, f)
	}
	waitFor("dyno=web.2")
	waitFor("dyno=web.1")

	// Steady load: 8 clients, each sending one request after another.
	var (
		ok, bad atomic.Int64
		mu      sync.Mutex
		fails   []string
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+router+"/", nil)
				req.Host = "steady.localhost"
				res, err := client.Do(req)
				var body []byte
				if err == nil {
					body, _ = io.ReadAll(io.LimitReader(res.Body, 300))
					res.Body.Close()
				}
				if err == nil && res.StatusCode == 200 {
					ok.Add(1)
					continue
				}
				bad.Add(1)
				mu.Lock()
				if err != nil {
					fails = append(fails, err.Error())
				} else {
					fails = append(fails, fmt.Sprintf("%s status %d %q", time.Now().Format("15:04:05.000"), res.StatusCode, body))
				}
				mu.Unlock()
			}
		}()
	}

	// Under that load, three rounds of: a config change, a new slug (each a
	// release whose dynos preboot), a scale-down to one dyno and back up.
	stamp := func(what string) { t.Logf("%s %s", time.Now().Format("15:04:05.000"), what) }
	for round := 1; round <= 3; round++ {
		label := fmt.Sprintf("r%d", round)
		stamp("config")
		if code, cv := d.call(t, "PATCH", "/apps/steady/config-vars", map[string]any{"GREETING": label}); code != 200 {
			t.Fatalf("config: %d %v", code, cv)
		}
		waitFor("=" + label)
		stamp("new slug")
		release(label)
		waitFor(label + "=" + label)
		stamp("scale down")
		if code, f := d.call(t, "PATCH", "/apps/steady/formation/web", map[string]any{"quantity": 1}); code != 200 {
			t.Fatalf("scale down: %d %v", code, f)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			_, dynos := d.callList(t, "/apps/steady/dynos")
			if len(dynos) == 1 {
				break
			}
			if time.Now().After(deadline) {
				var desc []string
				for _, dy := range dynos {
					desc = append(desc, fmt.Sprint(dy["name"], " ", dy["state"], " ", dy["release"]))
				}
				stop()
				t.Fatalf("scale-down left %d dynos: %v", len(dynos), desc)
			}
			time.Sleep(100 * time.Millisecond)
		}
		stamp("scale up")
		if code, f := d.call(t, "PATCH", "/apps/steady/formation/web", map[string]any{"quantity": 2}); code != 200 {
			t.Fatalf("scale up: %d %v", code, f)
		}
		waitFor("dyno=web.2")
	}
	time.Sleep(time.Second) // keep the load on the one dyno left for a moment
	stop()
	wg.Wait()

	t.Logf("%d requests served during 6 releases, 3 scale-downs and 3 scale-ups, %d failed", ok.Load(), bad.Load())
	if bad.Load() != 0 {
		n := min(len(fails), 10)
		t.Fatalf("%d of %d requests failed, first: %v\nrouter errors and dyno states:\n%s", bad.Load(), ok.Load()+bad.Load(), fails[:n], appLogErrors(t, d, "steady"))
	}
	if ok.Load() < 50 {
		t.Fatalf("only %d requests were served: the load never ran", ok.Load())
	}
}

// appLogErrors returns the app's router error lines and dyno state
// changes from its log buffer, to say why a request failed.
func appLogErrors(t *testing.T, d *daemon, app string) string {
	t.Helper()
	code, sess := d.call(t, "POST", "/apps/"+app+"/log-sessions", map[string]any{"lines": 1500})
	if code != 201 {
		return fmt.Sprintf("(no log session: %d %v)", code, sess)
	}
	res, err := http.Get(fmt.Sprint(sess["logplex_url"]))
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "at=error") || strings.Contains(l, "State changed") || strings.Contains(l, "Stopping") || strings.Contains(l, "heroku[api]") || strings.Contains(l, "Idling") || strings.Contains(l, "Waking") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
