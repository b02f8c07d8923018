package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/plugins/brokers/osbserver"
	"github.com/paasd/paasd/sdk/examples/broker-memory/memory"
)

// proxy forwards connections accepted on l to target until l is closed.
func proxy(t *testing.T, l net.Listener, target string) {
	t.Helper()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c) }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
}

// writeConfig writes a paasd config file with the given brokers and, in
// pairs, other fields.
func writeConfig(t *testing.T, brokers any, more ...any) string {
	t.Helper()
	m := map[string]any{"brokers": brokers}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i].(string)] = more[i+1]
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "paasd.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// waitFor polls cond every 100 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v; last state: %s", what, d, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrokerDownAtStart: paasd starts although the PostgreSQL server its
// broker points at is down; /healthz and /metrics show the broker down,
// addons:create answers 503 naming it; once the server is reachable the
// background retry loads the broker and provisioning works.
func TestBrokerDownAtStart(t *testing.T) {
	pgURL := testenv.Postgres(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	// A port where nothing listens yet; the proxy opens it later.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().String()
	l.Close()
	target := u.Host
	u.Host = port
	cfg := writeConfig(t, []map[string]any{{"ref": "builtin:postgres", "config": map[string]any{
		"admin_url": u.String(), "name_prefix": "paasdd_", "public_host": "127.0.0.1", "public_port": mustPort(t, target)}}})
	d := startDaemon(t, "--config", cfg)
	if !strings.Contains(d.logs.String(), "add-on broker not available") || !strings.Contains(d.logs.String(), "brokers[0]") {
		t.Errorf("no start-up warning naming brokers[0]: %s", d.logs.String())
	}
	code, body := d.get(t, "/healthz", "")
	if code != 200 || !strings.HasPrefix(body, "ok\n") || !strings.Contains(body, "broker builtin:postgres: down since ") {
		t.Fatalf("healthz while down = %d %q", code, body)
	}
	if _, m := d.get(t, "/metrics", ""); !strings.Contains(m, `paasd_addon_broker_up{broker="builtin:postgres"} 0`) {
		t.Fatalf("metrics while down lack the broker gauge at 0:\n%s", m)
	}
	if code, app := d.call(t, "POST", "/apps", map[string]any{"name": "shop"}); code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	code, res := d.call(t, "POST", "/apps/shop/addons", map[string]any{"plan": "heroku-postgresql:essential-0"})
	if msg := fmt.Sprint(res["message"]); code != 503 || res["id"] != "unavailable" || !strings.Contains(msg, "builtin:postgres is not available yet") {
		t.Fatalf("addons:create while down = %d %v", code, res)
	}
	if _, cv := d.call(t, "GET", "/apps/shop/config-vars", nil); cv["DATABASE_URL"] != nil {
		t.Fatalf("a failed create set DATABASE_URL: %v", cv)
	}

	l, err = net.Listen("tcp", port)
	if err != nil {
		t.Skipf("the reserved port %s was taken meanwhile: %v", port, err)
	}
	defer l.Close()
	proxy(t, l, target)
	waitFor(t, 90*time.Second, "broker up after the server came back", func() (bool, string) {
		_, body := d.get(t, "/healthz", "")
		return strings.Contains(body, "broker builtin:postgres: up (heroku-postgresql)"), body
	})
	if _, m := d.get(t, "/metrics", ""); !strings.Contains(m, `paasd_addon_broker_up{broker="builtin:postgres"} 1`) {
		t.Fatalf("metrics when up lack the broker gauge at 1:\n%s", m)
	}
	code, res = d.call(t, "POST", "/apps/shop/addons", map[string]any{"plan": "heroku-postgresql:essential-0"})
	if code != 201 {
		t.Fatalf("addons:create when up = %d %v", code, res)
	}
	_, cv := d.call(t, "GET", "/apps/shop/config-vars", nil)
	if !strings.HasPrefix(fmt.Sprint(cv["DATABASE_URL"]), "postgres://") {
		t.Fatalf("config vars after create: %v", cv)
	}
	if code, _ := d.call(t, "DELETE", "/apps/shop/addons/"+fmt.Sprint(res["name"]), nil); code != 200 {
		t.Fatalf("addons:destroy = %d", code)
	}
}

func mustPort(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(p, &n)
	return n
}

// failingBroker is the memory broker whose Bind fails or hangs.
type failingBroker struct {
	*memory.Broker
	mode atomic.Value // "fail", "hang" or ""
	mu   sync.Mutex
	seen []string // instance ids provisioned
}

func (f *failingBroker) Provision(ctx context.Context, req core.ProvisionRequest) (core.OperationResponse, error) {
	f.mu.Lock()
	f.seen = append(f.seen, req.InstanceID)
	f.mu.Unlock()
	return f.Broker.Provision(ctx, req)
}

func (f *failingBroker) Bind(ctx context.Context, req core.BindRequest) (core.BindResponse, error) {
	switch f.mode.Load() {
	case "fail":
		return core.BindResponse{}, fmt.Errorf("bind exploded: %w", core.ErrPluginFailed)
	case "hang":
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		return core.BindResponse{}, ctx.Err()
	}
	return f.Broker.Bind(ctx, req)
}

// TestBrokerFailureLeavesNothing: an OSB broker (builtin:osb against a
// real OSB server) whose bind fails, or hangs past the configured timeout,
// leaves no add-on, no attachment, no config var and no instance.
func TestBrokerFailureLeavesNothing(t *testing.T) {
	fb := &failingBroker{Broker: memory.New()}
	fb.mode.Store("")
	if err := fb.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&osbserver.Server{Broker: fb, Logger: slog.New(slog.DiscardHandler)})
	defer srv.Close()
	cfg := writeConfig(t, []map[string]any{{"ref": "builtin:osb", "config": map[string]any{"url": srv.URL, "timeout": "1s"}}})
	d := startDaemon(t, "--config", cfg)
	if code, app := d.call(t, "POST", "/apps", map[string]any{"name": "shop"}); code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	for _, tc := range []struct {
		mode string
		code int
	}{{"fail", 0}, {"hang", 503}} {
		t.Run(tc.mode, func(t *testing.T) {
			fb.mode.Store(tc.mode)
			fb.mu.Lock()
			fb.seen = nil
			fb.mu.Unlock()
			code, res := d.call(t, "POST", "/apps/shop/addons", map[string]any{"plan": "memory-kv:small"})
			if code < 400 || (tc.code != 0 && code != tc.code) {
				t.Fatalf("addons:create with a %s bind = %d %v", tc.mode, code, res)
			}
			if _, ads := d.callList(t, "/apps/shop/addons"); len(ads) != 0 {
				t.Errorf("add-ons left: %v", ads)
			}
			if _, ats := d.callList(t, "/apps/shop/addon-attachments"); len(ats) != 0 {
				t.Errorf("attachments left: %v", ats)
			}
			if _, cv := d.call(t, "GET", "/apps/shop/config-vars", nil); len(cv) != 0 {
				t.Errorf("config vars left: %v", cv)
			}
			fb.mu.Lock()
			seen := append([]string(nil), fb.seen...)
			fb.mu.Unlock()
			if len(seen) != 1 {
				t.Fatalf("provisioned %v, want one instance", seen)
			}
			waitFor(t, 30*time.Second, "instance deprovisioned", func() (bool, string) {
				_, err := fb.LastOperation(context.Background(), core.LastOperationRequest{InstanceID: seen[0]})
				return errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrGone), fmt.Sprint(err)
			})
		})
	}
}
