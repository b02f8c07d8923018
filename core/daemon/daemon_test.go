package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/schemas"
)

func TestDecodeJSONConfig(t *testing.T) {
	tests := []struct {
		desc    string
		name    string
		data    string
		want    Config
		mention string
		wantErr error
	}{
		{"full", "c.json", `{"data_dir":"/var/lib/paasd","api_addr":"0.0.0.0:5000","runtime":"builtin:runc"}`,
			Config{DataDir: "/var/lib/paasd", APIAddr: "0.0.0.0:5000", Runtime: "builtin:runc"}, "", nil},
		{"empty object", "c.json", `{}`, Config{}, "", nil},
		{"no_seccomp", "c.json", `{"no_seccomp":true}`, Config{NoSeccomp: true}, "", nil},
		{"buildpacks", "c.json", `{"buildpacks":[{"ref":"wasm:/opt/bp.wasm"},{"ref":"plugin:/opt/bp","config":{"x":1}}]}`,
			Config{Buildpacks: []PluginConfig{{Ref: "wasm:/opt/bp.wasm"}, {Ref: "plugin:/opt/bp", Config: []byte(`{"x":1}`)}}}, "", nil},
		{"unknown field", "c.json", `{"api_adr":"x"}`, Config{}, `"api_adr"`, core.ErrInvalid},
		{"wrong type names the field", "c.json", `{"api_addr":5000}`, Config{}, "api_addr", core.ErrInvalid},
		{"syntax error", "c.json", `{"api_addr":`, Config{}, "invalid JSON", core.ErrInvalid},
		{"trailing data", "c.json", `{} {}`, Config{}, "trailing", core.ErrInvalid},
		{"other formats", "c.yaml", `api_addr: x`, Config{}, "JSON", core.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := DecodeJSONConfig(tt.name, []byte(tt.data))
			if !errors.Is(err, tt.wantErr) || (err != nil && !strings.Contains(err.Error(), tt.mention)) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.wantErr, tt.mention)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConfigValidateAndPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "paasd.json")
	if err := os.WriteFile(file, []byte(`{"api_addr":"127.0.0.1:7000","runtime":"builtin:runc","log_level":"debug"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		args    []string
		check   func(Config) bool
		mention string
	}{
		{"defaults", nil, func(c Config) bool {
			wantRuntime := DefaultRuntimeNonRoot
			if os.Geteuid() == 0 {
				wantRuntime = DefaultRuntime
			}
			return c.DataDir == ".data" && c.APIAddr == "127.0.0.1:5000" && c.RouterAddr == "127.0.0.1:8080" &&
				c.Runtime == wantRuntime && c.Router == DefaultRouter
		}, ""},
		{"file", []string{"--config", file}, func(c Config) bool { return c.APIAddr == "127.0.0.1:7000" && c.Runtime == "builtin:runc" }, ""},
		{"flags override the file", []string{"--config", file, "--api-addr", "127.0.0.1:7001"}, func(c Config) bool {
			return c.APIAddr == "127.0.0.1:7001" && c.Runtime == "builtin:runc"
		}, ""},
		{"seccomp on by default", []string{"--config", file}, func(c Config) bool { return !c.NoSeccomp }, ""},
		{"--no-seccomp", []string{"--config", file, "--no-seccomp"}, func(c Config) bool { return c.NoSeccomp }, ""},
		{"bad address", []string{"--api-addr", "5000"}, nil, "api_addr"},
		{"router TLS address", []string{"--router-tls-addr", "127.0.0.1:8443"}, func(c Config) bool { return c.RouterTLSAddr == "127.0.0.1:8443" }, ""},
		{"no router TLS by default", nil, func(c Config) bool { return c.RouterTLSAddr == "" }, ""},
		{"bad router TLS address", []string{"--router-tls-addr", "8443"}, nil, "router_tls_addr"},
		{"eco idle default", nil, func(c Config) bool { return c.EcoIdleAfter == "30m" }, ""},
		{"eco idle flag", []string{"--eco-idle-after", "90s"}, func(c Config) bool { return c.EcoIdleAfter == "90s" }, ""},
		{"bad eco idle", []string{"--eco-idle-after", "soon"}, nil, "eco_idle_after"},
		{"ACME directory default", nil, func(c Config) bool { return c.ACMEDirectoryURL == DefaultACMEDirectoryURL && c.ACMEEmail == "" }, ""},
		{"ACME flags", []string{"--acme-directory-url", "https://ca.example.com/dir", "--acme-email", "ops@example.com"}, func(c Config) bool {
			return c.ACMEDirectoryURL == "https://ca.example.com/dir" && c.ACMEEmail == "ops@example.com"
		}, ""},
		{"ACME directory not https", []string{"--acme-directory-url", "http://ca.example.com/dir"}, nil, "acme_directory_url"},
		{"bad ACME email", []string{"--acme-email", "ops"}, nil, "acme_email"},
		{"bad runtime", []string{"--runtime", "runc"}, nil, "runtime"},
		{"bad log level", []string{"--log-level", "loud"}, nil, "log_level"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.json")}, nil, "nope.json"},
		{"stray argument", []string{"serve"}, nil, `"serve"`},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, io.Discard, Options{})
			if tt.check == nil {
				if err == nil || !strings.Contains(err.Error(), tt.mention) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.mention)
				}
				return
			}
			if err != nil || !tt.check(cfg) {
				t.Fatalf("cfg = %+v, err = %v", cfg, err)
			}
		})
	}
	t.Run("a custom decoder is used for --config", func(t *testing.T) {
		cue := filepath.Join(dir, "paasd.cue")
		os.WriteFile(cue, []byte("api_addr: \"127.0.0.1:7002\""), 0o600)
		cfg, err := parseConfig([]string{"--config", cue}, io.Discard, Options{DecodeConfig: func(name string, data []byte) (Config, error) {
			return Config{APIAddr: "127.0.0.1:7002"}, nil
		}})
		if err != nil || cfg.APIAddr != "127.0.0.1:7002" {
			t.Fatalf("cfg = %+v, err = %v", cfg, err)
		}
	})
	if code := Main(context.Background(), []string{"--api-addr", "x"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("Main with a bad flag = %d, want 2", code)
	}
}

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is a running paasd for tests.
type daemon struct {
	url     string
	token   string
	dataDir string
	// routerTLS is the router's HTTPS address, when started with one.
	routerTLS string
	logs      *syncBuffer
	cancel    context.CancelFunc
	done      chan int
}

func startDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	d := &daemon{dataDir: filepath.Join(t.TempDir(), "data"), logs: &syncBuffer{}, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	ready := make(chan string, 1)
	args := append([]string{"--data", d.dataDir, "--api-addr", "127.0.0.1:0", "--router-addr", "127.0.0.1:0", "--runtime", "builtin:process"}, extra...)
	go func() {
		d.done <- Run(ctx, args, io.Discard, d.logs, Options{Ready: func(addr string) { ready <- addr }})
	}()
	select {
	case addr := <-ready:
		d.url = "http://" + addr
	case code := <-d.done:
		t.Fatalf("paasd exited with %d: %s", code, d.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("paasd did not start: %s", d.logs.String())
	}
	t.Cleanup(func() { d.stop(t) })
	raw, err := os.ReadFile(filepath.Join(d.dataDir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	d.token = strings.TrimSpace(string(raw))
	return d
}

func (d *daemon) stop(t testing.TB) int {
	t.Helper()
	if d.cancel == nil {
		return 0
	}
	d.cancel()
	d.cancel = nil
	select {
	case code := <-d.done:
		return code
	case <-time.After(60 * time.Second):
		t.Fatal("paasd did not stop")
	}
	return -1
}

func (d *daemon) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", d.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestDaemon(t *testing.T) {
	d := startDaemon(t)
	t.Run("admin token file", func(t *testing.T) {
		fi, err := os.Stat(filepath.Join(d.dataDir, AdminTokenFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("admin.token: %v, mode %v", err, fi.Mode())
		}
		if !strings.Contains(d.logs.String(), "HEROKU_API_KEY=$(cat ") {
			t.Fatalf("no login hint in the logs: %s", d.logs.String())
		}
		code, body := d.get(t, "/account", d.token)
		if code != 200 || !strings.Contains(body, `"email":"admin@paasd.local"`) || !strings.Contains(body, `"admin":true`) {
			t.Fatalf("GET /account = %d %s", code, body)
		}
	})
	t.Run("healthz needs no token", func(t *testing.T) {
		if code, body := d.get(t, "/healthz", ""); code != 200 || body != "ok\n" {
			t.Fatalf("healthz = %d %q", code, body)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		d.get(t, "/apps", "")
		code, body := d.get(t, "/metrics", "")
		for _, want := range []string{`paasd_api_requests_total{code="401"} `, "# TYPE paasd_apps gauge", "paasd_apps 0", "paasd_releases 0", "paasd_users 1"} {
			if code != 200 || !strings.Contains(body, want) {
				t.Fatalf("metrics lack %q: %d %s", want, code, body)
			}
		}
	})
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit code %d: %s", code, d.logs.String())
	}
	t.Run("restart keeps state and does not make a second admin", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan int, 1)
		logs := &syncBuffer{}
		go func() {
			done <- Run(ctx, []string{"--data", d.dataDir, "--api-addr", "127.0.0.1:0", "--router-addr", "127.0.0.1:0", "--runtime", "builtin:process"}, io.Discard, logs, Options{Ready: func(a string) { ready <- a }})
		}()
		select {
		case <-ready:
		case code := <-done:
			t.Fatalf("exit %d: %s", code, logs.String())
		}
		cancel()
		<-done
		if strings.Contains(logs.String(), "created the admin user") {
			t.Fatal("second start created another admin")
		}
	})
}

func TestSignalStopsDaemon(t *testing.T) {
	d := startDaemon(t)
	// SIGTERM to ourselves: Run's signal.NotifyContext catches it.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-d.done:
		d.cancel = nil
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("SIGTERM did not stop paasd")
	}
	if !strings.Contains(d.logs.String(), "paasd stopped") {
		t.Fatalf("no graceful stop in logs: %s", d.logs.String())
	}
}

// FuzzDecodeJSONConfig: any file content decodes or fails with an error
// wrapping ErrInvalid; nothing panics.
func FuzzDecodeJSONConfig(f *testing.F) {
	for _, s := range []string{`{}`, `{"api_addr":"127.0.0.1:5000"}`, `{"api_adr":1}`, `{"data_dir":5}`, `{`, ``, `{} x`, `[]`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeJSONConfig("paasd.json", data)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("%q: %v", data, err)
			}
			return
		}
		cfg.setDefaults()
		_ = cfg.Validate()
	})
}

// TestBadConfigFileRefused: paasd refuses to start on a config file that
// breaks #Config, naming the field and the rule, with exit code 2.
func TestBadConfigFileRefused(t *testing.T) {
	tests := []struct {
		desc, file, mention string
	}{
		{desc: "bad enum", file: `{"log_level":"loud"}`, mention: `log_level: invalid value "loud" (want one of`},
		{desc: "unknown field", file: `{"api_adr":"127.0.0.1:5000"}`, mention: "api_adr: field not allowed"},
		{desc: "bad reference", file: `{"runtime":"docker:x"}`, mention: `runtime: invalid value "docker:x"`},
		{desc: "not JSON", file: `{"api_addr":`, mention: "paasd.json"},
		{desc: "bad buildpack reference", file: `{"buildpacks":[{"ref":"/opt/bp"}]}`, mention: `buildpacks.0.ref: invalid value "/opt/bp"`},
		{desc: "buildpack without ref", file: `{"buildpacks":[{"config":{}}]}`, mention: "buildpacks.0.ref"},
		{desc: "buildpack listed twice", file: `{"buildpacks":[{"ref":"wasm:/a.wasm"},{"ref":"wasm:/a.wasm"}]}`, mention: `buildpacks[1].ref "wasm:/a.wasm" is listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "paasd.json")
			if err := os.WriteFile(file, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr syncBuffer
			code := Run(context.Background(), []string{"--config", file, "--data", t.TempDir()}, io.Discard, &stderr, Options{})
			if code != 2 || !strings.Contains(stderr.String(), tc.mention) {
				t.Fatalf("exit %d, stderr %q; want 2 mentioning %q", code, stderr.String(), tc.mention)
			}
		})
	}
}

// TestConfigMatchesSchema: every Config field is a #Config field, and every
// valid #Config fixture (schemas/testdata/Config/valid) decodes strictly
// into Config, so the schema and the struct cannot drift apart.
func TestConfigMatchesSchema(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		err := v.Validate("#Config", []byte(`{"`+tag+`":null}`))
		if err != nil && strings.Contains(err.Error(), "not allowed") {
			t.Errorf("Config.%s (%q) is not in #Config: %v", typ.Field(i).Name, tag, err)
		}
	}
	files, _ := filepath.Glob("../../schemas/testdata/Config/valid/*.json")
	if len(files) == 0 {
		t.Fatal("no #Config fixtures")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := DecodeConfig(filepath.Base(f), data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if cfg.Runtime == "" {
			cfg.Runtime = DefaultRuntime // as when root, whoever runs the test
		}
		cfg.setDefaults()
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: valid for #Config, refused by Validate: %v", f, err)
		}
	}
}

// TestBrokersConfig: a malformed brokers entry stops paasd before it
// serves, with exit code 2 (schema) or 1 (load), naming brokers[N] and the
// cause.
func TestBrokersConfig(t *testing.T) {
	tests := []struct {
		desc, file string
		code       int
		mention    []string
	}{
		{"bad reference", `{"brokers":[{"ref":"docker:pg"}]}`, 2, []string{"brokers.0.ref", `"docker:pg"`}},
		{"config not an object", `{"brokers":[{"ref":"builtin:postgres","config":"postgres://x"}]}`, 2, []string{"brokers.0.config"}},
		{"unknown builtin", `{"brokers":[{"ref":"builtin:mysql"}]}`, 1, []string{"brokers[0] (builtin:mysql)", "not found"}},
		{"config the broker refuses", `{"brokers":[{"ref":"builtin:postgres","config":{"admin_url":"mysql://x"}}]}`, 1,
			[]string{"brokers[0] (builtin:postgres)", "admin_url"}},
		{"second entry", `{"brokers":[{"ref":"builtin:osb","config":{"url":"http://127.0.0.1:1"}},{"ref":"builtin:redis","config":{"admin_url":"redis://x:y@127.0.0.1:1","nope":1}}]}`, 1,
			[]string{"brokers[1] (builtin:redis)", "nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "paasd.json")
			if err := os.WriteFile(file, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr syncBuffer
			code := Run(context.Background(), []string{"--config", file, "--data", t.TempDir(), "--api-addr", "127.0.0.1:0",
				"--router-addr", "127.0.0.1:0", "--runtime", "builtin:process"}, io.Discard, &stderr, Options{Ready: func(string) {
				t.Error("paasd served with a broken brokers entry")
			}})
			for _, m := range tc.mention {
				if code != tc.code || !strings.Contains(stderr.String(), m) {
					t.Fatalf("exit %d, stderr %q; want %d mentioning %q", code, stderr.String(), tc.code, m)
				}
			}
		})
	}
}
