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
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/acme"
	"github.com/paasd/paasd/core/addons"
	"github.com/paasd/paasd/core/addons/apiaddons"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/attach"
	"github.com/paasd/paasd/core/blobs"
	"github.com/paasd/paasd/core/logplex"
	"github.com/paasd/paasd/core/store"
	"github.com/paasd/paasd/runtimes/runc"
	"github.com/paasd/paasd/schemas"
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
	// RouterTLSAddr, if set, is the router's HTTPS listen address: it
	// terminates TLS with the certificate of the app's SNI endpoint that
	// covers the requested name (SNI), HTTP/2 by ALPN. Default: none.
	RouterTLSAddr string `json:"router_tls_addr,omitempty"`
	// ACMEDirectoryURL is the ACME directory Automated Certificate
	// Management (POST /apps/{app}/acm) obtains certificates from, for
	// the custom domains of apps with ACM on; HTTP-01 challenges are
	// answered on router_addr. Default DefaultACMEDirectoryURL (Let's
	// Encrypt production).
	ACMEDirectoryURL string `json:"acme_directory_url,omitempty"`
	// ACMEEmail is the ACME account's contact email; default none.
	ACMEEmail string `json:"acme_email,omitempty"`
	// ACMECARoot, if set, is a PEM file of CA certificates trusted for
	// the ACME server's HTTPS (a private CA; Pebble in tests).
	ACMECARoot string `json:"acme_ca_root,omitempty"`
	// RendezvousAddr is the TLS listen address of the rendezvous service
	// that `heroku run` attaches through; default api_addr's host with its
	// port + 1 (port 0 when api_addr's port is 0).
	RendezvousAddr string `json:"rendezvous_addr,omitempty"`
	// Runtime is the dyno runtime plugin reference; default "builtin:runc"
	// when paasd runs as root, "builtin:process" otherwise.
	Runtime string `json:"runtime,omitempty"`
	// Router is the router plugin reference; default "builtin:router".
	Router string `json:"router,omitempty"`
	// AppDomain is the domain of apps' default hostnames; default "localhost".
	AppDomain string `json:"app_domain,omitempty"`
	// LogLevel is debug, info, warn or error; default "info".
	LogLevel string `json:"log_level,omitempty"`
	// LogFormat is "text" or "json"; default "text".
	LogFormat string `json:"log_format,omitempty"`
	// AdminEmail is the email of the admin created on first start; default
	// "admin@paasd.local".
	AdminEmail string `json:"admin_email,omitempty"`
	// Brokers are the add-on brokers paasd loads through the plugin host,
	// in order: e.g. {"ref": "builtin:postgres", "config": {"admin_url":
	// …}}. Default none (add-on requests answer 404). A broker whose
	// server is unreachable at start is retried in the background.
	Brokers []addons.BrokerConfig `json:"brokers,omitempty"`
	// DynoHostPorts, when set, are the only TCP ports dynos of the
	// builtin:runc runtime may reach on the host (e.g. [5432, 6379] for
	// PostgreSQL and Redis listening on the dyno bridge's address);
	// everything else dynos send to the host is refused. Default: unset,
	// the host is reachable on every port it listens on.
	DynoHostPorts []int `json:"dyno_host_ports,omitempty"`
	// EcoIdleAfter is how long an app on eco dynos runs without a request
	// before it sleeps (its dynos stop; the next request wakes it and is
	// held until a web dyno is up). A Go duration; default "30m".
	EcoIdleAfter string `json:"eco_idle_after,omitempty"`
	// NoSeccomp runs runc dynos without the default seccomp profile (an
	// escape hatch for apps that need a refused system call); default false.
	NoSeccomp bool `json:"no_seccomp,omitempty"`
	// Buildpacks are buildpacks the operator installs besides the
	// reference ones: go-plugin (plugin:PATH) and Wasm (wasm:PATH)
	// buildpacks, or builtins. Detection tries them first, in order, then
	// the reference buildpacks; an app's buildpack list names one by its
	// ref. An app may name no plugin the operator did not list here.
	Buildpacks []PluginConfig `json:"buildpacks,omitempty"`
}

// PluginConfig is one implementation the operator loads: a plugin
// reference and the configuration handed to it (schemas #PluginConfig).
type PluginConfig struct {
	// Ref is builtin:NAME, plugin:PATH or wasm:PATH.
	Ref string `json:"ref"`
	// Config is the plugin's own configuration; empty means none.
	Config json.RawMessage `json:"config,omitempty"`
}

// Defaults.
const (
	DefaultDataDir    = ".data"
	DefaultAPIAddr    = "127.0.0.1:5000"
	DefaultRouterAddr = "127.0.0.1:8080"
	// DefaultACMEDirectoryURL is Let's Encrypt's production directory.
	DefaultACMEDirectoryURL = acme.DefaultDirectoryURL
	// DefaultRuntime is the dyno runtime when paasd runs as root (isolated
	// runc containers); DefaultRuntimeNonRoot otherwise.
	DefaultRuntime        = "builtin:runc"
	DefaultRuntimeNonRoot = "builtin:process"
	// DefaultRouter is the reference router.
	DefaultRouter     = "builtin:router"
	DefaultAppDomain  = "localhost"
	DefaultAdminEmail = "admin@paasd.local"
	// DefaultEcoIdleAfter is Heroku's: eco dynos sleep after 30 minutes
	// without web traffic.
	DefaultEcoIdleAfter = "30m"
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
	if c.RendezvousAddr == "" {
		c.RendezvousAddr = nextPort(c.APIAddr)
	}
	if os.Geteuid() == 0 {
		def(&c.Runtime, DefaultRuntime)
	} else {
		def(&c.Runtime, DefaultRuntimeNonRoot)
	}
	def(&c.Router, DefaultRouter)
	def(&c.AppDomain, DefaultAppDomain)
	def(&c.LogLevel, "info")
	def(&c.LogFormat, "text")
	def(&c.AdminEmail, DefaultAdminEmail)
	def(&c.EcoIdleAfter, DefaultEcoIdleAfter)
	def(&c.ACMEDirectoryURL, DefaultACMEDirectoryURL)
}

// nextPort is addr's host with its port + 1; port 0 stays 0, and an
// address that is not host:port is returned as is (Validate names it).
func nextPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	n, err := strconv.Atoi(port)
	if err != nil || n == 0 || n >= 65535 {
		return net.JoinHostPort(host, "0")
	}
	return net.JoinHostPort(host, strconv.Itoa(n+1))
}

// Validate checks every field and names the first one that is wrong.
func (c Config) Validate() error {
	for _, a := range []struct{ name, v string }{{"api_addr", c.APIAddr}, {"router_addr", c.RouterAddr}, {"rendezvous_addr", c.RendezvousAddr}, {"router_tls_addr", c.RouterTLSAddr}} {
		if a.v == "" && a.name == "router_tls_addr" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return fmt.Errorf("%s %q is not host:port: %w", a.name, a.v, core.ErrInvalid)
		}
	}
	if _, err := core.ParseRef(c.Runtime); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	if _, err := core.ParseRef(c.Router); err != nil {
		return fmt.Errorf("router: %w", err)
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
	if d, err := time.ParseDuration(c.EcoIdleAfter); err != nil || d <= 0 {
		return fmt.Errorf("eco_idle_after %q is not a positive duration (e.g. \"30m\"): %w", c.EcoIdleAfter, core.ErrInvalid)
	}
	seen := map[string]bool{}
	for i, bp := range c.Buildpacks {
		if _, err := core.ParseRef(bp.Ref); err != nil {
			return fmt.Errorf("buildpacks[%d].ref: %w", i, err)
		}
		if seen[bp.Ref] {
			return fmt.Errorf("buildpacks[%d].ref %q is listed twice: %w", i, bp.Ref, core.ErrInvalid)
		}
		seen[bp.Ref] = true
	}
	if u, err := url.Parse(c.ACMEDirectoryURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("acme_directory_url %q is not an https:// URL: %w", c.ACMEDirectoryURL, core.ErrInvalid)
	}
	if c.ACMEEmail != "" && !strings.Contains(c.ACMEEmail, "@") {
		return fmt.Errorf("acme_email %q is not an email address: %w", c.ACMEEmail, core.ErrInvalid)
	}
	if !strings.Contains(c.AdminEmail, "@") {
		return fmt.Errorf("admin_email %q is not an email address: %w", c.AdminEmail, core.ErrInvalid)
	}
	if err := api.ValidateHostname("x." + c.AppDomain); err != nil && c.AppDomain != "localhost" {
		return fmt.Errorf("app_domain %q is not a domain name: %w", c.AppDomain, core.ErrInvalid)
	}
	if c.DynoHostPorts != nil && c.Runtime != DefaultRuntime {
		return fmt.Errorf("dyno_host_ports applies to the %s runtime only, not %s (its dynos share the host's network): %w", DefaultRuntime, c.Runtime, core.ErrInvalid)
	}
	for i, p := range c.DynoHostPorts {
		if p <= 0 || p > 65535 {
			return fmt.Errorf("dyno_host_ports[%d]: %d is not a TCP port: %w", i, p, core.ErrInvalid)
		}
	}
	for i, b := range c.Brokers {
		if _, err := core.ParseRef(b.Ref); err != nil {
			return fmt.Errorf("brokers[%d].ref: %w", i, err)
		}
		if t := bytes.TrimSpace(b.Config); len(t) > 0 && t[0] != '{' && !bytes.Equal(t, []byte("null")) {
			return fmt.Errorf("brokers[%d].config (%s) must be a JSON object, not %.20s: %w", i, b.Ref, t, core.ErrInvalid)
		}
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

// DecodeConfig is paasd's ConfigDecoder: the file is checked against the
// #Config CUE definition (package schemas), so an error names the field and
// the rule, then decoded strictly.
func DecodeConfig(name string, data []byte) (Config, error) {
	if filepath.Ext(name) == ".json" {
		v, err := schemas.New()
		if err != nil {
			return Config{}, err
		}
		if err := v.Validate("#Config", data); err != nil {
			return Config{}, fmt.Errorf("config %s: %w: %w", name, err, core.ErrInvalid)
		}
	}
	return DecodeJSONConfig(name, data)
}

// Options tune [Run]; the zero value is what [Main] uses.
type Options struct {
	// DecodeConfig decodes --config files; nil means [DecodeConfig] (CUE
	// validation, then strict JSON).
	DecodeConfig ConfigDecoder
	// Ready, if set, is called with the API's bound address once it serves.
	Ready func(apiAddr string)
	// RouterReady, if set, is called with the router's bound address before
	// Ready.
	RouterReady func(routerAddr string)
	// RouterTLSReady, if set, is called with the router's bound HTTPS
	// address (when router_tls_addr is set) before Ready.
	RouterTLSReady func(routerTLSAddr string)
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
	fs.StringVar(&flagCfg.RouterTLSAddr, "router-tls-addr", "", "router HTTPS listen address, certificates chosen by SNI (default: no HTTPS)")
	fs.StringVar(&flagCfg.ACMEDirectoryURL, "acme-directory-url", "", "ACME directory for automated certificates (default Let's Encrypt production)")
	fs.StringVar(&flagCfg.ACMEEmail, "acme-email", "", "ACME account contact email")
	fs.StringVar(&flagCfg.RendezvousAddr, "rendezvous-addr", "", "`heroku run` attach (TLS) listen address (default: API port + 1)")
	fs.StringVar(&flagCfg.Runtime, "runtime", "", "dyno runtime plugin reference (default "+DefaultRuntime+" as root, "+DefaultRuntimeNonRoot+" otherwise)")
	fs.StringVar(&flagCfg.Router, "router", "", "router plugin reference (default "+DefaultRouter+")")
	fs.StringVar(&flagCfg.EcoIdleAfter, "eco-idle-after", "", "apps on eco dynos sleep after this long without a request (default "+DefaultEcoIdleAfter+")")
	fs.StringVar(&flagCfg.LogLevel, "log-level", "", "debug, info, warn or error (default info)")
	fs.BoolVar(&flagCfg.NoSeccomp, "no-seccomp", false, "run runc dynos without the default seccomp profile")
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
			dec = DecodeConfig
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
	over(&cfg.RendezvousAddr, flagCfg.RendezvousAddr)
	over(&cfg.RouterTLSAddr, flagCfg.RouterTLSAddr)
	over(&cfg.ACMEDirectoryURL, flagCfg.ACMEDirectoryURL)
	over(&cfg.ACMEEmail, flagCfg.ACMEEmail)
	over(&cfg.Runtime, flagCfg.Runtime)
	over(&cfg.Router, flagCfg.Router)
	over(&cfg.LogLevel, flagCfg.LogLevel)
	over(&cfg.EcoIdleAfter, flagCfg.EcoIdleAfter)
	cfg.NoSeccomp = cfg.NoSeccomp || flagCfg.NoSeccomp
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
	parts, err := startParts(ctx, cfg, st, log, "http://"+addr)
	if err != nil {
		ln.Close()
		return err
	}
	defer parts.close()
	tlsCfg, err := serverTLS(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	rawRln, err := net.Listen("tcp", cfg.RendezvousAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("rendezvous: %w", err)
	}
	rln := tls.NewListener(rawRln, tlsCfg)
	defer rln.Close()
	_, rport, _ := net.SplitHostPort(rln.Addr().String())
	rz := &attach.Rendezvous{Dynos: parts.platform, Port: rport, Logger: log}
	go rz.Serve(rln)
	_, routerPort, _ := net.SplitHostPort(parts.routerAddr)
	blobKey, err := blobs.LoadKey(filepath.Join(cfg.DataDir, "blobs.key"))
	if err != nil {
		ln.Close()
		return err
	}
	blobStore := &blobs.Store{BaseURL: "http://" + addr, SourceDir: filepath.Join(cfg.DataDir, "sources"),
		SlugDir: filepath.Join(cfg.DataDir, "slugs"), Key: blobKey}
	// New apps get the default stack: the host's own system directories,
	// mounted read-only into every dyno (docs/runtimes.md tells how to
	// add others).
	var addonSvc api.AddonService
	if parts.addons != nil {
		addonSvc = &apiaddons.Service{Addons: parts.addons, Store: st}
	}
	apiSrv := api.New(parts.platform.Store(st), api.Options{Logger: log, AppDomain: cfg.AppDomain, RouterPort: routerPort, GitURL: "http://" + addr,
		Stack: runc.HostStack, Addons: addonSvc,
		Dynos: parts.platform, APILog: parts.platform, LogSessions: parts.platform, Routes: parts.platform, Drains: parts.platform,
		Builder: parts.deployer, Buildpacks: parts.pipeline, Rendezvous: rz, Sources: blobStore, ACM: parts.apiACM(), SlugBlobs: blobs.SlugBlobs{Store: blobStore}})
	mux := http.NewServeMux()
	mux.Handle("GET /log-sessions/{id}", parts.sessions)
	mux.Handle("/blobs/", blobStore)
	mux.Handle(api.BuildpackRegistryPattern, api.BuildpackRegistry(parts.pipeline))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := st.Stats(r.Context()); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n"+brokerHealth(parts.addons))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		writeMetrics(r.Context(), w, st, apiSrv, parts.logplex, parts.addons)
	})
	// git smart-HTTP (/APP.git/...) next to the API, as on Heroku's
	// git.heroku.com; everything else is the Platform API.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); strings.HasSuffix(first, ".git") {
			parts.git.ServeHTTP(w, r)
			return
		}
		apiSrv.ServeHTTP(w, r)
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	// The API port answers HTTP and HTTPS (git remotes the Heroku CLI
	// writes are https://).
	go func() { errc <- srv.Serve(newSniffListener(ln, tlsCfg)) }()
	log.Info("paasd started", "api", "http://"+addr, "data", cfg.DataDir, "router", "http://"+parts.routerAddr, "router_tls", parts.routerTLSAddr, "runtime", cfg.Runtime,
		"rendezvous", rln.Addr().String(), "tls_cert", filepath.Join(cfg.DataDir, TLSCertFile))
	if opts.RouterReady != nil {
		opts.RouterReady(parts.routerAddr)
	}
	if opts.RouterTLSReady != nil && parts.routerTLSAddr != "" {
		opts.RouterTLSReady(parts.routerTLSAddr)
	}
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
func writeMetrics(ctx context.Context, w http.ResponseWriter, st store.Store, s *api.Server, lp *logplex.Logplex, ads *addons.Service) {
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
	writeDrainMetrics(ctx, &b, st, lp)
	if ads != nil {
		b.WriteString("# HELP paasd_addon_broker_up Whether a configured add-on broker is loaded (1) or waiting for its server (0).\n")
		b.WriteString("# TYPE paasd_addon_broker_up gauge\n")
		for _, bs := range ads.Brokers() {
			up := 0
			if bs.Up {
				up = 1
			}
			fmt.Fprintf(&b, "paasd_addon_broker_up{broker=%q} %d\n", bs.Ref, up)
		}
	}
	io.WriteString(w, b.String())
}

// brokerHealth is /healthz's line per configured add-on broker:
// "broker builtin:postgres: up (heroku-postgresql)" or "broker
// builtin:redis: down, attempt 3, retrying in 8s: <error>". paasd itself
// stays healthy (200) while a broker is down.
func brokerHealth(ads *addons.Service) string {
	if ads == nil {
		return ""
	}
	var b strings.Builder
	for _, bs := range ads.Brokers() {
		if bs.Up {
			fmt.Fprintf(&b, "broker %s: up (%s)\n", bs.Ref, strings.Join(bs.Services, ", "))
			continue
		}
		fmt.Fprintf(&b, "broker %s: down since %s, %d failed attempts", bs.Ref, bs.Pending.Since.UTC().Format(time.RFC3339), bs.Pending.Attempts)
		if !bs.Pending.NextTry.IsZero() {
			fmt.Fprintf(&b, ", retrying in %v", max(time.Until(bs.Pending.NextTry), 0).Round(time.Second))
		} else {
			b.WriteString(", not retrying (restart paasd after fixing it)")
		}
		if bs.Pending.Err != nil {
			b.WriteString(": " + bs.Pending.Err.Error())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// writeDrainMetrics writes each log drain's counters, labelled with the
// app's name and the drain token: what was delivered, what was lost (L10
// overflow, failed batches) and how often batches were retried.
func writeDrainMetrics(ctx context.Context, b *strings.Builder, st store.Store, lp *logplex.Logplex) {
	apps, err := st.ListApps(ctx, "")
	if err != nil {
		return
	}
	type row struct {
		app string
		s   logplex.DrainStatus
	}
	var rows []row
	for _, a := range apps {
		for _, s := range lp.Drains(a.ID) {
			rows = append(rows, row{a.Name, s})
		}
	}
	for _, m := range []struct {
		name, help string
		v          func(logplex.DrainStatus) int64
	}{
		{"paasd_drain_delivered_total", "Log messages a drain's destination accepted.", func(s logplex.DrainStatus) int64 { return s.Delivered }},
		{"paasd_drain_dropped_total", "Log messages a drain lost (buffer overflow, failed batches).", func(s logplex.DrainStatus) int64 { return s.Dropped }},
		{"paasd_drain_retries_total", "Batch redeliveries to a drain.", func(s logplex.DrainStatus) int64 { return s.Retries }},
	} {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", m.name, m.help, m.name)
		for _, r := range rows {
			fmt.Fprintf(b, "%s{app=%q,drain=%q} %d\n", m.name, r.app, r.s.ID, m.v(r.s))
		}
	}
}
