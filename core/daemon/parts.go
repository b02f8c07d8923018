package daemon

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/acme"
	"github.com/paasd/paasd/core/addons"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/core/dynos"
	"github.com/paasd/paasd/core/logplex"
	"github.com/paasd/paasd/core/platform"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/core/pluginhost/wasmhost"
	"github.com/paasd/paasd/core/store"
	"github.com/paasd/paasd/plugins/buildpacks"
	"github.com/paasd/paasd/plugins/buildpacks/classic"
	"github.com/paasd/paasd/plugins/buildpacks/dynoplugin"
	"github.com/paasd/paasd/plugins/builtins"
	httpsdrain "github.com/paasd/paasd/plugins/drains/httpsdrain"
	syslogdrain "github.com/paasd/paasd/plugins/drains/syslog"
	"github.com/paasd/paasd/runtimes/runc"
	"github.com/paasd/paasd/schemas"
)

// parts are the platform's running components besides the API.
type parts struct {
	mu         sync.Mutex // platform, for ACM events
	host       *pluginhost.Host
	validator  *schemas.Validator
	goplugin   *goplugin.Opener
	logplex    *logplex.Logplex
	sessions   *logplex.Sessions
	platform   *platform.Platform
	pipeline   *build.Pipeline
	deployer   *build.Deployer
	git        *build.GitServer
	routerAddr string
	// addons offers the configured brokers' services; nil when none are
	// configured. stopAddons ends its background retries.
	addons     *addons.Service
	stopAddons func()
	// routerTLSAddr is the router's bound HTTPS address, or "".
	routerTLSAddr string
	// acm is Automated Certificate Management; nil when the router does
	// not answer ACME challenges.
	acm    *acme.Manager
	cancel context.CancelFunc
}

// apiACM is p.acm for api.Options (a nil interface when there is none).
func (p *parts) apiACM() api.ACM {
	if p.acm == nil {
		return nil
	}
	return p.acm
}

// startParts loads the dyno runtime and the router through the plugin host,
// starts Logplex, and converges the platform (adopting dynos that outlived
// a previous paasd). apiURL is where log sessions are served.
func startParts(ctx context.Context, cfg Config, st store.Store, log *slog.Logger, apiURL string) (*parts, error) {
	v, err := schemas.New()
	if err != nil {
		return nil, err
	}
	reg := pluginhost.NewRegistry()
	builtins.Register(reg)
	p := &parts{validator: v, goplugin: &goplugin.Opener{Logger: log}}
	p.host = &pluginhost.Host{
		Registry: reg, Validator: v, Logger: log,
		GoPlugin: p.goplugin,
		Wasm:     wasmhost.New(wasmhost.Options{CacheDir: filepath.Join(cfg.DataDir, "wasm-cache"), Logger: log}),
	}
	ok := false
	defer func() {
		if !ok {
			p.close()
		}
	}()

	rtCfg := map[string]any{"state_dir": filepath.Join(cfg.DataDir, "runtime", strings.TrimPrefix(cfg.Runtime, "builtin:"))}
	if cfg.DynoHostPorts != nil && cfg.Runtime == DefaultRuntime {
		rtCfg["host_ports"] = cfg.DynoHostPorts
	}
	if cfg.NoSeccomp && cfg.Runtime == DefaultRuntime {
		rtCfg["no_seccomp"] = true
	}
	rt, err := p.load(ctx, core.ContractRuntime, cfg.Runtime, builtinConfig(cfg.Runtime, rtCfg))
	if err != nil {
		return nil, err
	}
	rcfg := map[string]any{"http_addr": cfg.RouterAddr, "base_domain": cfg.AppDomain}
	if cfg.RouterTLSAddr != "" {
		rcfg["https_addr"] = cfg.RouterTLSAddr
		crt, key, err := routerDefaultCert(cfg.DataDir, cfg.AppDomain)
		if err != nil {
			return nil, err
		}
		rcfg["default_cert_file"], rcfg["default_key_file"] = crt, key
	}
	rtr, err := p.load(ctx, core.ContractRouter, cfg.Router, builtinConfig(cfg.Router, rcfg))
	if err != nil {
		return nil, err
	}
	p.routerAddr, p.routerTLSAddr = cfg.RouterAddr, cfg.RouterTLSAddr
	if a, ok := rtr.Impl.(interface{ HTTPAddr() string }); ok && a.HTTPAddr() != "" {
		p.routerAddr = a.HTTPAddr()
	}
	if a, ok := rtr.Impl.(interface{ HTTPSAddr() string }); ok && a.HTTPSAddr() != "" {
		p.routerTLSAddr = a.HTTPSAddr()
	}

	drains, err := drainSchemes()
	if err != nil {
		return nil, err
	}
	p.logplex = logplex.New(logplex.Config{Drains: drains})
	key, err := sessionKey(filepath.Join(cfg.DataDir, "log-session.key"))
	if err != nil {
		return nil, err
	}
	if p.sessions, err = logplex.NewSessions(p.logplex, logplex.SessionConfig{Key: key, BaseURL: apiURL}); err != nil {
		return nil, err
	}
	// Dynos with their own network namespace all get PORT 5000, as on
	// Heroku; dynos sharing the host's network get a port of their own,
	// far from paasd's own listeners.
	dopts := dynos.Options{BasePort: 5000, SameAddressPort: true}
	if !rt.Info.HasCapability(core.RuntimeCapIsolation) {
		dopts = dynos.Options{BasePort: 20000}
	}
	ecoIdle, _ := time.ParseDuration(cfg.EcoIdleAfter) // Validate checked it
	popts := platform.Options{
		Store: st, Runtime: rt.Runtime(), Logplex: p.logplex, Sessions: p.sessions, Router: rtr.Router(),
		AppDomain: cfg.AppDomain, SlugDir: filepath.Join(cfg.DataDir, "slugs"), Logger: log, Dynos: dopts,
		EcoIdleAfter: ecoIdle,
	}
	// Automated Certificate Management, when the router answers ACME
	// HTTP-01 challenges (the reference router does).
	if h, ok := rtr.Impl.(interface {
		SetACMEChallenge(func(host, path string) (string, bool))
	}); ok {
		m, err := acme.New(acme.Config{DirectoryURL: cfg.ACMEDirectoryURL, Email: cfg.ACMEEmail, CARootFile: cfg.ACMECARoot,
			StorageDir: filepath.Join(cfg.DataDir, "acme"), RouterHTTPAddr: p.routerAddr, Logger: log,
			OnChange: func(appID string) {
				if pl := p.platformOf(); pl != nil {
					if err := pl.SyncRoutes(context.Background(), appID); err != nil {
						log.Warn("acme: route sync failed", "app", appID, "err", err)
					}
				}
			}})
		if err != nil {
			return nil, err
		}
		p.acm = m
		popts.ACM = m
		h.SetACMEChallenge(m.Challenge)
	}
	pl := platform.New(popts)
	p.mu.Lock()
	p.platform = pl
	p.mu.Unlock()
	// The reference router holds requests to sleeping apps and asks the
	// platform to wake them.
	if w, ok := rtr.Impl.(interface {
		SetWake(func(ctx context.Context, app string) error)
	}); ok {
		w.SetWake(p.platform.Wake)
	}
	lctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if src, ok := rtr.Impl.(core.RouterLogSource); ok {
		go func() {
			_ = src.Logs(lctx, func(app string, m core.LogMessage) error {
				if id := p.platform.AppID(app); id != "" {
					p.platform.Touch(id)
					_ = p.logplex.Write(id, m)
				}
				return nil
			})
		}()
	}
	if err := p.platform.Start(ctx); err != nil {
		return nil, err
	}
	if err := p.startBuilds(ctx, cfg, st, rt.Runtime(), log); err != nil {
		return nil, err
	}
	if len(cfg.Brokers) > 0 {
		if p.addons, p.stopAddons, err = addons.Start(ctx, p.host, cfg.Brokers, addons.Options{Logger: log}, addons.Retry{}); err != nil {
			return nil, err
		}
	}
	ok = true
	return p, nil
}

// startBuilds sets up the build pipeline with the operator's buildpacks
// (cfg.Buildpacks, loaded through the plugin host) and the reference
// buildpacks (each step in a build dyno on rt), the deployer that turns builds into
// releases, and the git smart-HTTP server that `git push` reaches.
func (p *parts) startBuilds(ctx context.Context, cfg Config, st store.Store, rt core.DynoRuntime, log *slog.Logger) error {
	dir := filepath.Join(cfg.DataDir, "build")
	work := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("build dir: %w", err)
	}
	env := map[string]string{}
	for _, k := range []string{"GOPROXY", "GONOSUMDB", "GOSUMDB", "GOFLAGS", "npm_config_registry"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	bps, err := buildpacks.Reference(buildpacks.Options{Dir: filepath.Join(dir, "buildpacks"), Runtime: rt,
		Classic: classic.Options{Env: env, WorkDir: work}})
	if err != nil {
		return fmt.Errorf("buildpacks: %w", err)
	}
	list := make([]build.Buildpack, 0, len(cfg.Buildpacks)+len(bps))
	for _, c := range cfg.Buildpacks {
		// A go-plugin buildpack runs in build dynos on rt (each call in its
		// own), never as a host process; Wasm ones in wazero.
		if r, err := core.ParseRef(c.Ref); err == nil && r.Kind == core.RefPlugin {
			bp, err := dynoplugin.New(ctx, dynoplugin.Options{Path: r.Target, Config: c.Config, Runtime: rt,
				Opener: p.goplugin, Validator: p.validator, WorkDir: work, Logger: log})
			if err != nil {
				return fmt.Errorf("%s %s: %w", core.ContractBuildpack, c.Ref, err)
			}
			list = append(list, build.Buildpack{Name: c.Ref, Buildpack: bp})
			continue
		}
		l, err := p.load(ctx, core.ContractBuildpack, c.Ref, c.Config)
		if err != nil {
			return err
		}
		list = append(list, build.Buildpack{Name: c.Ref, Buildpack: l.Buildpack()})
	}
	for _, bp := range bps {
		list = append(list, build.Buildpack{Name: bp.Name(), Buildpack: bp})
	}
	pipe, err := build.New(build.Options{DataDir: dir, SlugDir: filepath.Join(cfg.DataDir, "slugs"), Buildpacks: list, Stack: runc.HostStack})
	if err != nil {
		return err
	}
	p.pipeline = pipe
	p.deployer = &build.Deployer{Pipeline: pipe, Store: st, Converge: p.platform.Converge, Runner: p.platform.Manager(), Logger: log,
		EnsureFormation: func(ctx context.Context, appID string, slug core.Slug) error {
			return api.EnsureFormation(ctx, st, appID, slug)
		}}
	p.git, err = build.NewGitServer(build.GitOptions{ReposDir: filepath.Join(cfg.DataDir, "repos"), Deploy: p.deployer.GitDeploy,
		Authenticate: gitAuth(st), Logger: log})
	return err
}

// gitAuth checks a git push's token (the HTTP password, as on Heroku) and
// that its user may deploy the app: the owner, a collaborator or an admin.
// Others learn nothing about the app.
func gitAuth(st store.Store) func(ctx context.Context, app, token string) (string, error) {
	return func(ctx context.Context, app, token string) (string, error) {
		u, _, err := st.Authenticate(ctx, token)
		if err != nil {
			return "", fmt.Errorf("invalid credentials: %w", core.ErrPermissionDenied)
		}
		a, err := st.GetApp(ctx, app)
		if err != nil {
			return "", fmt.Errorf("app %s: %w", app, core.ErrNotFound)
		}
		if u.Admin || a.OwnerID == u.ID {
			return u.ID, nil
		}
		if _, err := st.GetCollaborator(ctx, a.ID, u.ID); err == nil {
			return u.ID, nil
		}
		return "", fmt.Errorf("app %s: %w", app, core.ErrNotFound)
	}
}

// load loads ref for contract c with config, naming the setting on error.
func (p *parts) load(ctx context.Context, c core.Contract, ref string, config json.RawMessage) (*pluginhost.Loaded, error) {
	l, err := p.host.Load(ctx, c, ref, config)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c, ref, err)
	}
	return l, nil
}

// builtinConfig gives paasd's own builtins their settings; other plugins
// get no configuration from paasd.
func builtinConfig(ref string, m map[string]any) json.RawMessage {
	if !strings.HasPrefix(ref, "builtin:") {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}

// drainSchemes serves drain URLs with the reference drains.
func drainSchemes() (logplex.Schemes, error) {
	sys, err := syslogdrain.Factory(syslogdrain.Config{})
	if err != nil {
		return nil, err
	}
	web, err := httpsdrain.Factory(httpsdrain.Config{})
	if err != nil {
		return nil, err
	}
	return logplex.Schemes{"syslog": sys, "syslog+tls": sys, "syslog+tcp": sys, "https": web, "http": web}, nil
}

// sessionKey reads the key that signs log-session URLs, creating it (0600)
// on first start so URLs stay valid across restarts.
func sessionKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("log session key: %w", err)
	}
	b = make([]byte, 32)
	_, _ = rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("log session key: %w", err)
	}
	return b, nil
}

// close stops supervising (dynos keep running, to be adopted), stops Logplex
// and unloads the plugins.
// platformOf is p.platform, read under p.mu (ACM events arrive on their
// own goroutines).
func (p *parts) platformOf() *platform.Platform {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.platform
}

func (p *parts) close() {
	if p.cancel != nil {
		p.cancel()
	}
	if p.acm != nil {
		p.acm.Close()
	}
	if p.stopAddons != nil {
		p.stopAddons()
	}
	if p.platform != nil {
		p.platform.Close()
	}
	if p.logplex != nil {
		_ = p.logplex.Close()
	}
	_ = p.host.Close()
}
