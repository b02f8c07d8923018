package daemon

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/internal/testenv"
)

// webApp is a slug whose web process answers every request with its DYNO,
// PORT and a config var, using only the host's python3.
const webApp = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("dyno=%s greeting=%s\n" % (os.environ.get("DYNO"), os.environ.get("GREETING"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        print("request", self.path, flush=True)
print("listening on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`

// writeSlug stores a slug tarball holding files in dataDir/slugs and
// returns its "SHA256:<hex>" checksum.
func writeSlug(t *testing.T, dataDir string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "./" + name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	dir := filepath.Join(dataDir, "slugs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:])+".tgz"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// call sends a JSON API request and decodes the answer.
func (d *daemon) call(t testing.TB, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if res.StatusCode >= 300 {
		t.Logf("%s %s = %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// callList GETs a list resource.
func (d *daemon) callList(t testing.TB, path string) (int, []map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", d.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out []map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// routed GETs path on app through the router.
func routed(routerAddr, app, path string) (int, string, error) {
	req, _ := http.NewRequest("GET", "http://"+routerAddr+path, nil)
	req.Host = app + ".localhost"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

func startDaemonWithRouter(t testing.TB, dataDir string, extra ...string) (*daemon, string) {
	t.Helper()
	d := &daemon{dataDir: dataDir, logs: &syncBuffer{}, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	ready := make(chan string, 1)
	routerReady := make(chan string, 1)
	args := append([]string{"--data", d.dataDir, "--api-addr", "127.0.0.1:0", "--router-addr", "127.0.0.1:0"}, extra...)
	go func() {
		d.done <- Run(ctx, args, io.Discard, d.logs, Options{Ready: func(a string) { ready <- a }, RouterReady: func(a string) { routerReady <- a },
			RouterTLSReady: func(a string) { d.routerTLS = a }})
	}()
	select {
	case a := <-ready:
		d.url = "http://" + a
	case code := <-d.done:
		t.Fatalf("paasd exited with %d: %s", code, d.logs.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("paasd did not start: %s", d.logs.String())
	}
	raw, err := os.ReadFile(filepath.Join(d.dataDir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	d.token = strings.TrimSpace(string(raw))
	return d, <-routerReady
}

// TestDeployServesThroughRouter is the platform's spine end to end: a
// release of a slug, scaled through the API, runs in a real dyno and answers
// through the router; the dyno's output and the router's line reach the
// app's log; a paasd restart adopts the dyno instead of restarting it.
func TestDeployServesThroughRouter(t *testing.T) {
	testenv.Short(t, "starts paasd and real dynos")
	testenv.NeedCommand(t, "python3")
	runtimes := []string{"builtin:process"}
	if os.Geteuid() == 0 {
		runtimes = append(runtimes, "builtin:runc")
	} else if testenv.InCI() {
		t.Fatal("CI runs as root: the runc runtime must be tested")
	}
	for _, rt := range runtimes {
		t.Run(strings.TrimPrefix(rt, "builtin:"), func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			d, router := startDaemonWithRouter(t, dataDir, "--runtime", rt)
			defer func() { d.stop(t) }()

			code, app := d.call(t, "POST", "/apps", map[string]any{"name": "hello"})
			if code != 201 {
				t.Fatalf("create app: %d %v", code, app)
			}
			if code, body, err := routed(router, "hello", "/"); err != nil || code != 503 {
				t.Fatalf("before any deploy: %d %q %v, want 503", code, body, err)
			}
			d.call(t, "PATCH", "/apps/hello/config-vars", map[string]any{"GREETING": "hi"})
			sum := writeSlug(t, dataDir, map[string]string{"web.py": webApp})
			code, slug := d.call(t, "POST", "/apps/hello/slugs", map[string]any{"process_types": map[string]string{"web": "python3 web.py"}, "checksum": sum})
			if code != 201 {
				t.Fatalf("create slug: %d %v", code, slug)
			}
			if code, rel := d.call(t, "POST", "/apps/hello/releases", map[string]any{"slug": slug["id"], "description": "Deploy"}); code != 201 {
				t.Fatalf("release: %d %v", code, rel)
			}
			if code, f := d.call(t, "PATCH", "/apps/hello/formation/web", map[string]any{"quantity": 1}); code != 200 {
				t.Fatalf("scale: %d %v", code, f)
			}
			var body string
			deadline := time.Now().Add(90 * time.Second)
			for {
				c, b, err := routed(router, "hello", "/hi")
				if err == nil && c == 200 {
					body = b
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no 200 through the router: %d %q %v\nlogs: %s", c, b, err, d.logs.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			if body != "dyno=web.1 greeting=hi\n" {
				t.Fatalf("body %q", body)
			}

			// The app's log has the dyno's state, its output and the router line.
			code, sess := d.call(t, "POST", "/apps/hello/log-sessions", map[string]any{"lines": 100})
			if code != 201 {
				t.Fatalf("log session: %d %v", code, sess)
			}
			var logs string
			deadline = time.Now().Add(30 * time.Second)
			for {
				res, err := http.Get(fmt.Sprint(sess["logplex_url"]))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				logs = string(b)
				if strings.Contains(logs, "heroku[router]: at=info method=GET path=\"/hi\"") && strings.Contains(logs, "app[web.1]: request /hi") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("logs lack the router or app line:\n%s", logs)
				}
				time.Sleep(200 * time.Millisecond)
			}
			for _, want := range []string{"heroku[web.1]: Starting process with command `python3 web.py`", "heroku[web.1]: State changed from starting to up", "app[web.1]: listening on", "heroku[api]: "} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %q:\n%s", want, logs)
				}
			}
			_, ps := d.call(t, "GET", "/apps/hello/dynos/web.1", nil)
			id := ps["id"]

			// A drain to a port where nothing listens: its losses and
			// retries show in /metrics, labelled by app and token.
			if code, dr := d.call(t, "POST", "/apps/hello/log-drains", map[string]any{"url": "syslog://127.0.0.1:1"}); code != 201 {
				t.Fatalf("add drain: %d %v", code, dr)
			} else {
				routed(router, "hello", "/to-the-drain")
				deadline := time.Now().Add(30 * time.Second)
				for {
					_, metrics := d.get(t, "/metrics", "")
					if strings.Contains(metrics, `paasd_drain_retries_total{app="hello",drain="`+fmt.Sprint(dr["token"])+`"}`) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("no drain counters in /metrics:\n%s", metrics)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}

			// paasd restarts; the dyno keeps running and is adopted.
			if code := d.stop(t); code != 0 {
				t.Fatalf("stop: %d", code)
			}
			d, router = startDaemonWithRouter(t, dataDir, "--runtime", rt)
			deadline = time.Now().Add(60 * time.Second)
			for {
				c, b, err := routed(router, "hello", "/again")
				if err == nil && c == 200 && b == body {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after restart: %d %q %v\nlogs: %s", c, b, err, d.logs.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			_, ps = d.call(t, "GET", "/apps/hello/dynos/web.1", nil)
			if ps["id"] != id {
				t.Errorf("web.1 is %v after the restart, was %v: the dyno was restarted, not adopted", ps["id"], id)
			}
			// Scale to zero: the router has no web dyno left.
			d.call(t, "PATCH", "/apps/hello/formation/web", map[string]any{"quantity": 0})
			deadline = time.Now().Add(60 * time.Second)
			for {
				c, _, _ := routed(router, "hello", "/")
				if c == 503 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after scaling to 0: %d, want 503 H14", c)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}
