// Package daemon is paasd's main program: it reads the configuration,
// opens the state store, bootstraps the first admin, and serves the Platform
// API with /healthz and /metrics until it is told to stop. cmd/paasd is a
// thin wrapper around [Main], so that everything here is testable.
//
// # Defaults
//
// With no flags and no config file, paasd keeps its state in ./.data (the
// directory is created, 0700), serves the API on 127.0.0.1:5000, names the
// router address 127.0.0.1:8080 and the dyno runtime "builtin:process".
//
// # Notes
//
// The router and dyno runtime settings are validated and recorded here; the
// components that use them are wired in by their own packages.
package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/store"
)

// Config is paasd's configuration. Every field's zero value means its
// documented default; a config file sets fields, flags override the file.
type Config struct {
	// DataDir holds the state store and admin.token; default "./.data".
	DataDir string `json:"data_dir,omitempty"`
	// APIAddr is the Platform API's listen address; default "127.0.0.1:5000".
	APIAddr string `json:"api_addr,omitempty"`
	// RouterAddr is the HTTP router's listen address; default "127.0.0.1:8080".
	RouterAddr string `json:"router_addr,omitempty"`
	// Runtime is the dyno runtime plugin reference; default "builtin:process".
	Runtime string `json:"runtime,omitempty"`
	// AppDomain is the domain of apps' default hostnames; default "localhost".
	AppDomain string `json:"app_domain,omitempty"`
	// LogLevel is debug, info, warn or error; default "info".
	LogLevel string `json:"log_level,omitempty"`
	// LogFormat is "text" or "json"; default "text".
	LogFormat string `json:"log_format,omitempty"`
	// AdminEmail is the email of the admin created on first start; default
	// "admin@paasd.local".
	AdminEmail string `json:"admin_email,omitempty"`
}

// Defaults.
const (
	DefaultDataDir    = ".data"
	DefaultAPIAddr    = "127.0.0.1:5000"
	DefaultRouterAddr = "127.0.0.1:8080"
	DefaultRuntime    = "builtin:process"
	DefaultAppDomain  = "localhost"
	DefaultAdminEmail = "admin@paasd.local"
	// AdminTokenFile is the file under the data dir that receives the first
	// admin's API token (mode 0600).
	AdminTokenFile = "admin.token"
)

func (c *Config) setDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.DataDir, DefaultDataDir)
	def(&c.APIAddr, DefaultAPIAddr)
	def(&c.RouterAddr, DefaultRouterAddr)
	def(&c.Runtime, DefaultRuntime)
	def(&c.AppDomain, DefaultAppDomain)
	def(&c.LogLevel, "info")
	def(&c.LogFormat, "text")
	def(&c.AdminEmail, DefaultAdminEmail)
}

// Validate checks every field and names the first one that is wrong.
func (c Config) Validate() error {
	for _, a := range []struct{ name, v string }{{"api_addr", c.APIAddr}, {"router_addr", c.RouterAddr}} {
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return fmt.Errorf("%s %q is not host:port: %w", a.name, a.v, core.ErrInvalid)
		}
	}
	if _, err := core.ParseRef(c.Runtime); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q is not debug, info, warn or error: %w", c.LogLevel, core.ErrInvalid)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log_format %q is not text or json: %w", c.LogFormat, core.ErrInvalid)
	}
	if !strings.Contains(c.AdminEmail, "@") {
		return fmt.Errorf("admin_email %q is not an email address: %w", c.AdminEmail, core.ErrInvalid)
	}
	if err := api.ValidateHostname("x." + c.AppDomain); err != nil && c.AppDomain != "localhost" {
		return fmt.Errorf("app_domain %q is not a domain name: %w", c.AppDomain, core.ErrInvalid)
	}
	return nil
}

// ConfigDecoder turns a config file into a Config. name is the file's path
// (its extension selects the format); errors name the offending field.
type ConfigDecoder func(name string, data []byte) (Config, error)

// DecodeJSONConfig is the default ConfigDecoder: strict JSON (unknown
// fields and trailing data are errors). It refuses other formats.
func DecodeJSONConfig(name string, data []byte) (Config, error) {
	var c Config
	if ext := filepath.Ext(name); ext != ".json" {
		return c, fmt.Errorf("config %s: this paasd reads JSON config files (.json), not %q: %w", name, ext, core.ErrUnsupported)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return c, fmt.Errorf("config %s: field %s must be a %s, not %s: %w", name, te.Field, te.Type, te.Value, core.ErrInvalid)
		case errors.As(err, &se):
			return c, fmt.Errorf("config %s: invalid JSON at byte %d: %w: %w", name, se.Offset, se, core.ErrInvalid)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return c, fmt.Errorf("config %s: invalid JSON: the file ends too early: %w", name, core.ErrInvalid)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return c, fmt.Errorf("config %s: unknown field %s: %w", name, strings.TrimPrefix(err.Error(), "json: unknown field "), core.ErrInvalid)
		default:
			return c, fmt.Errorf("config %s: %w: %w", name, err, core.ErrInvalid)
		}
	}
	if dec.More() {
		return c, fmt.Errorf("config %s: trailing data after the JSON object: %w", name, core.ErrInvalid)
	}
	return c, nil
}

// Options tune [Run]; the zero value is what [Main] uses.
type Options struct {
	// DecodeConfig decodes --config files; nil means DecodeJSONConfig. The
	// CUE-backed validator of package schemas plugs in here.
	DecodeConfig ConfigDecoder
	// Ready, if set, is called with the API's bound address once it serves.
	Ready func(apiAddr string)
}

// Main runs paasd with args (without the program name) until ctx is done
// or SIGINT/SIGTERM arrives, and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Run(ctx, args, stdout, stderr, Options{})
}

// Run is Main with options.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, opts Options) int {
	cfg, err := parseConfig(args, stderr, opts)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "paasd: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log, opts); err != nil {
		log.Error("paasd stopped", "err", err)
		return 1
	}
	return 0
}

func parseConfig(args []string, stderr io.Writer, opts Options) (Config, error) {
	fs := flag.NewFlagSet("paasd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var flagCfg Config
	var configFile string
	fs.StringVar(&flagCfg.DataDir, "data", "", "data directory (default "+DefaultDataDir+")")
	fs.StringVar(&flagCfg.APIAddr, "api-addr", "", "Platform API listen address (default "+DefaultAPIAddr+")")
	fs.StringVar(&flagCfg.RouterAddr, "router-addr", "", "router listen address (default "+DefaultRouterAddr+")")
	fs.StringVar(&flagCfg.Runtime, "runtime", "", "dyno runtime plugin reference (default "+DefaultRuntime+")")
	fs.StringVar(&flagCfg.LogLevel, "log-level", "", "debug, info, warn or error (default info)")
	fs.StringVar(&configFile, "config", "", "configuration file (JSON)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (paasd takes flags only; see -h)", fs.Arg(0))
	}
	var cfg Config
	if configFile != "" {
		data, err := os.ReadFile(configFile)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		dec := opts.DecodeConfig
		if dec == nil {
			dec = DecodeJSONConfig
		}
		if cfg, err = dec(configFile, data); err != nil {
			return cfg, err
		}
	}
	over := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	over(&cfg.DataDir, flagCfg.DataDir)
	over(&cfg.APIAddr, flagCfg.APIAddr)
	over(&cfg.RouterAddr, flagCfg.RouterAddr)
	over(&cfg.Runtime, flagCfg.Runtime)
	over(&cfg.LogLevel, flagCfg.LogLevel)
	cfg.setDefaults()
	return cfg, cfg.Validate()
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	hopts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, opts Options) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, store.FileName), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bootstrapAdmin(ctx, st, cfg, log); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	addr := ln.Addr().String()
	_, routerPort, _ := net.SplitHostPort(cfg.RouterAddr)
	// Until Logplex is wired in, heroku[api] lines and log sessions are
	// served from memory (and the lines also go to paasd's own log).
	logs := &api.MemoryLogs{BaseURL: "http://" + addr, Next: api.SlogAPILogger{Log: log}}
	apiSrv := api.New(st, api.Options{Logger: log, AppDomain: cfg.AppDomain, RouterPort: routerPort, GitURL: "http://" + addr,
		APILog: logs, LogSessions: logs})
	mux := http.NewServeMux()
	mux.Handle("GET /log-sessions/{id}", logs)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := st.Stats(r.Context()); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		writeMetrics(r.Context(), w, st, apiSrv)
	})
	mux.Handle("/", apiSrv)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("paasd started", "api", "http://"+addr, "data", cfg.DataDir, "router_addr", cfg.RouterAddr, "runtime", cfg.Runtime)
	if opts.Ready != nil {
		opts.Ready(addr)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	log.Info("paasd stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("paasd stopped")
	return nil
}

// bootstrapAdmin creates the first admin and its token on an empty store.
func bootstrapAdmin(ctx context.Context, st store.Store, cfg Config, log *slog.Logger) error {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return nil
	}
	u, err := st.CreateUser(ctx, core.User{Email: cfg.AdminEmail, Admin: true})
	if err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	secret := api.NewTokenSecret()
	path := filepath.Join(cfg.DataDir, AdminTokenFile)
	// Write the file before storing the token, so a token never exists
	// that nobody can read.
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	if _, err := st.CreateToken(ctx, store.Token{UserID: u.ID, Description: "first admin token"}, secret); err != nil {
		return fmt.Errorf("store admin token: %w", err)
	}
	log.Info("created the admin user; log in with the Heroku CLI or curl",
		"email", u.Email, "token_file", path,
		"heroku_cli", fmt.Sprintf("HEROKU_HOST=http://%s HEROKU_API_KEY=$(cat %s) heroku apps", cfg.APIAddr, path))
	return nil
}

// writeMetrics writes Prometheus text exposition format 0.0.4.
func writeMetrics(ctx context.Context, w http.ResponseWriter, st store.Store, s *api.Server) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	counts := s.RequestCounts()
	codes := make([]int, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var b strings.Builder
	b.WriteString("# HELP paasd_api_requests_total Platform API requests answered, by status code.\n")
	b.WriteString("# TYPE paasd_api_requests_total counter\n")
	for _, c := range codes {
		fmt.Fprintf(&b, "paasd_api_requests_total{code=\"%d\"} %d\n", c, counts[c])
	}
	if stats, err := st.Stats(ctx); err == nil {
		for _, g := range []struct {
			name, help string
			v          int
		}{
			{"paasd_apps", "Apps stored.", stats.Apps},
			{"paasd_releases", "Releases stored, across all apps.", stats.Releases},
			{"paasd_users", "User accounts stored.", stats.Users},
			{"paasd_dynos", "Dynos recorded, across all apps.", stats.Dynos},
		} {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", g.name, g.help, g.name, g.name, g.v)
		}
	}
	io.WriteString(w, b.String())
}
