// Package platform joins paasd's parts behind the Platform API's hooks: it
// reads the desired state from the store and drives the dyno manager, feeds
// Logplex, keeps the router's table and the app's drains in step.
//
// The API stores first and then calls a hook (Converge, SyncRoutes,
// SyncDrains); every hook here is level-triggered — it re-reads the store and
// converges — so a missed or repeated call is harmless, and Start converges
// every app once at boot (after adopting the dynos that survived a paasd
// restart).
package platform

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/dynos"
	"github.com/paasd/paasd/core/logplex"
	"github.com/paasd/paasd/core/store"
	"github.com/paasd/paasd/core/tlscert"
)

// Options configure a Platform. Store, Runtime and Logplex are required.
type Options struct {
	Store   store.Store
	Runtime core.DynoRuntime
	Logplex *logplex.Logplex
	// Sessions mints log-session URLs; nil makes log sessions unavailable.
	Sessions *logplex.Sessions
	// Router receives the route table; nil keeps it only in memory.
	Router core.Router
	// AppDomain gives each app the hostname "<name>.<AppDomain>"; empty
	// means "localhost".
	AppDomain string
	// SlugDir holds slug tarballs named by checksum (SlugPath); required
	// for apps to run.
	SlugDir string
	// Dynos tunes the dyno manager (its Log and Routes are set here).
	Dynos dynos.Options
	// Logger is the platform's own log; nil means slog.Default().
	Logger *slog.Logger
	// EcoIdleAfter puts apps whose web dynos are eco to sleep (every
	// dyno stopped, the route idle) after this long without a request;
	// the next request wakes them (see Wake). Zero: apps never sleep.
	EcoIdleAfter time.Duration
	// ACM obtains certificates for the custom domains of apps with
	// Automated Certificate Management on (core/acme.Manager); nil: ACM
	// is unavailable and the flag is ignored.
	ACM CertManager
}

// CertManager obtains and renews certificates for the domains it is told
// to manage (core/acme.Manager).
type CertManager interface {
	// Manage sets the domains of an app to keep certificates for; nil
	// stops managing the app's domains.
	Manage(appID string, domains []string)
	// Certificate is the issued PEM chain and key for a managed domain.
	Certificate(domain string) (certPEM, keyPEM string, ok bool)
}

// Platform implements api.DynoManager, api.APILogger, api.LogSessions,
// api.RouteSyncer and api.DrainSyncer.
type Platform struct {
	opts Options
	mgr  *dynos.Manager
	log  *slog.Logger

	mu       sync.Mutex
	routes   map[string]core.Route // by app id
	ids      map[string]string     // app id by app name, for router log lines
	backends map[string][]core.Backend
	crashed  map[string]bool
	// asleep holds apps put to sleep (asleepSleeping: their dynos are
	// stopped) or waking (asleepWaking: started again, no backend up yet);
	// either way their route is idle. lastActive is each app's last
	// routed request (or wake, or first converge).
	asleep     map[string]string
	lastActive map[string]time.Time
	version    int64
	pushMu     sync.Mutex
	stop       chan struct{}
	stopOnce   sync.Once
}

const (
	asleepSleeping = "sleeping"
	asleepWaking   = "waking"
)

var (
	_ api.DynoManager  = (*Platform)(nil)
	_ api.DynoAttacher = (*Platform)(nil)
	_ api.APILogger    = (*Platform)(nil)
	_ api.LogSessions  = (*Platform)(nil)
	_ api.RouteSyncer  = (*Platform)(nil)
	_ api.DrainSyncer  = (*Platform)(nil)
)

// New returns a Platform; call Start before serving the API.
func New(opts Options) *Platform {
	if opts.AppDomain == "" {
		opts.AppDomain = "localhost"
	}
	p := &Platform{opts: opts, routes: map[string]core.Route{}, ids: map[string]string{}, backends: map[string][]core.Backend{}, crashed: map[string]bool{},
		asleep: map[string]string{}, lastActive: map[string]time.Time{}, stop: make(chan struct{})}
	p.log = cmp.Or(opts.Logger, slog.Default())
	d := opts.Dynos
	d.Logger = p.log
	d.Log = func(appID string, m core.LogMessage) { _ = opts.Logplex.Write(appID, m) }
	d.Routes = p.onBackends
	p.mgr = dynos.New(opts.Runtime, d)
	return p
}

// Manager returns the dyno manager.
func (p *Platform) Manager() *dynos.Manager { return p.mgr }

// Start adopts the dynos still running from a previous paasd and converges
// every app: dynos, routes and drains.
func (p *Platform) Start(ctx context.Context) error {
	n, err := p.mgr.Adopt(ctx)
	if err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	if n > 0 {
		p.log.Info("adopted running dynos", "count", n)
	}
	apps, err := p.opts.Store.ListApps(ctx, "")
	if err != nil {
		return fmt.Errorf("platform: list apps: %w", err)
	}
	for _, a := range apps {
		if err := p.Converge(ctx, a.ID); err != nil {
			p.log.Warn("converge at start", "app", a.Name, "err", err)
		}
		if err := p.SyncDrains(ctx, a.ID); err != nil {
			p.log.Warn("drains at start", "app", a.Name, "err", err)
		}
	}
	if p.opts.EcoIdleAfter > 0 {
		go p.sleeper()
	}
	return nil
}

// Close stops supervising; dynos keep running for the next paasd to adopt.
func (p *Platform) Close() {
	p.stopOnce.Do(func() { close(p.stop) })
	p.mgr.Close()
}

// Touch records a routed request to the app with id appID: eco apps sleep
// after EcoIdleAfter without one.
func (p *Platform) Touch(appID string) {
	p.mu.Lock()
	p.lastActive[appID] = time.Now()
	p.mu.Unlock()
}

// Wake implements the router's wake hook: a request reached the app named
// app while it sleeps. Its dynos start again; the route stays idle (the
// router holds the request) until a web dyno is up.
func (p *Platform) Wake(ctx context.Context, app string) error {
	p.mu.Lock()
	appID := p.ids[app]
	if appID == "" || p.asleep[appID] != asleepSleeping {
		p.mu.Unlock()
		return nil
	}
	p.asleep[appID] = asleepWaking
	p.lastActive[appID] = time.Now()
	p.mu.Unlock()
	p.log.Info("waking eco app", "app", app)
	_ = p.opts.Logplex.WriteLine(appID, "heroku", "router", "Waking app "+app+": a request arrived while it slept")
	return p.Converge(ctx, appID)
}

// sleeper puts idle eco apps to sleep.
func (p *Platform) sleeper() {
	every := min(max(p.opts.EcoIdleAfter/4, 50*time.Millisecond), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		ctx := context.Background()
		p.mu.Lock()
		var idle []string
		now := time.Now()
		for appID := range p.routes {
			last, seen := p.lastActive[appID]
			if !seen {
				p.lastActive[appID] = now
				continue
			}
			if p.asleep[appID] == "" && len(p.backends[appID]) > 0 && now.Sub(last) >= p.opts.EcoIdleAfter {
				idle = append(idle, appID)
			}
		}
		p.mu.Unlock()
		for _, appID := range idle {
			if !p.isEco(ctx, appID) {
				continue
			}
			p.mu.Lock()
			p.asleep[appID] = asleepSleeping
			p.mu.Unlock()
			p.log.Info("eco app idle: sleeping", "app_id", appID, "idle_after", p.opts.EcoIdleAfter)
			_ = p.opts.Logplex.WriteLine(appID, "heroku", "router", fmt.Sprintf("Idling: no request in %s; eco dynos sleep until the next one", p.opts.EcoIdleAfter))
			if err := p.Converge(ctx, appID); err != nil {
				p.log.Warn("sleep", "app_id", appID, "err", err)
			}
		}
	}
}

// isEco reports whether the app's web dynos are eco dynos.
func (p *Platform) isEco(ctx context.Context, appID string) bool {
	f, err := p.opts.Store.GetFormation(ctx, appID, "web")
	return err == nil && f.Quantity > 0 && strings.EqualFold(f.Size, "eco")
}

// SlugPath is where the tarball of slug lives: SlugDir/<hex sha256>.tgz;
// "" for a slug without a checksum, which has no tarball: its dynos get an
// empty /app and run commands from the stack.
func (p *Platform) SlugPath(s core.Slug) string {
	sum := strings.TrimPrefix(strings.ToLower(s.Checksum), "sha256:")
	if sum == "" {
		return ""
	}
	return filepath.Join(p.opts.SlugDir, sum+".tgz")
}

// Converge implements api.DynoManager: it hands the app's current release
// and formation to the dyno manager, and refreshes its route.
func (p *Platform) Converge(ctx context.Context, appID string) error {
	app, err := p.opts.Store.GetApp(ctx, appID)
	if errors.Is(err, core.ErrNotFound) {
		p.mgr.Remove(ctx, appID)
		p.forgetRoute(appID)
		p.opts.Logplex.RemoveApp(appID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("converge %s: %w", appID, err)
	}
	d, _, err := p.desired(ctx, app)
	if err != nil {
		return err
	}
	p.mu.Lock()
	sleeping := p.asleep[appID] == asleepSleeping
	p.mu.Unlock()
	if sleeping && !p.isEco(ctx, appID) {
		// No longer eco (resized or scaled to zero): it does not sleep.
		p.mu.Lock()
		delete(p.asleep, appID)
		p.mu.Unlock()
		sleeping = false
	}
	if sleeping {
		for i := range d.Processes {
			d.Processes[i].Quantity = 0
		}
	}
	if err := p.mgr.Apply(ctx, d); err != nil {
		return fmt.Errorf("converge %s: %w", app.Name, err)
	}
	return p.SyncRoutes(ctx, appID)
}

// desired reads what should run for app; deployed reports whether the
// current release has a slug.
func (p *Platform) desired(ctx context.Context, app core.App) (d dynos.Desired, deployed bool, err error) {
	d = dynos.Desired{App: app.Name, AppID: app.ID, Stack: app.Stack}
	rel, err := p.opts.Store.CurrentRelease(ctx, app.ID)
	if errors.Is(err, core.ErrNotFound) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("converge %s: current release: %w", app.Name, err)
	}
	d.Release, d.ReleaseID, d.Config = rel.Version, rel.ID, rel.Config
	if rel.SlugID == "" {
		return d, false, nil // config-only release: nothing to run yet
	}
	slug, err := p.opts.Store.GetSlug(ctx, app.ID, rel.SlugID)
	if err != nil {
		return d, false, fmt.Errorf("converge %s: slug of v%d: %w", app.Name, rel.Version, err)
	}
	d.Slug = p.SlugPath(slug)
	if slug.Stack != "" {
		d.Stack = slug.Stack
	}
	forms, err := p.opts.Store.ListFormation(ctx, app.ID)
	if err != nil {
		return d, false, fmt.Errorf("converge %s: formation: %w", app.Name, err)
	}
	for _, f := range forms {
		cmd := slug.ProcessTypes[f.Type]
		if f.Command != "" {
			cmd = f.Command
		}
		if cmd == "" {
			continue // a type the current slug does not define
		}
		d.Processes = append(d.Processes, dynos.Process{Type: f.Type, Command: cmd, Quantity: f.Quantity, Size: strings.ToLower(f.Size)})
	}
	return d, true, nil
}

// Run implements api.DynoManager: a one-off dyno on the current release.
func (p *Platform) Run(ctx context.Context, app core.App, req api.RunRequest) (core.Dyno, error) {
	d, deployed, err := p.desired(ctx, app)
	if err != nil {
		return core.Dyno{}, err
	}
	if !deployed {
		return core.Dyno{}, fmt.Errorf("app %s has no deployed release to run: %w", app.Name, core.ErrConflict)
	}
	// Apply makes sure the manager knows the current release even when no
	// process is scaled.
	if err := p.mgr.Apply(ctx, d); err != nil {
		return core.Dyno{}, err
	}
	info, err := p.mgr.Run(ctx, app.ID, dynos.RunOptions{Command: req.Command, Size: strings.ToLower(req.Size), Env: req.Env, Attach: req.Attach, Type: req.Type})
	if err != nil {
		return core.Dyno{}, err
	}
	return toDyno(info), nil
}

// Attach implements api.DynoAttacher: it connects tio to the app's one-off
// dyno named or identified by dyno.
func (p *Platform) Attach(ctx context.Context, app core.App, dyno string, tio core.AttachIO) (int, error) {
	for _, i := range p.mgr.List(app.ID) {
		if i.Name == dyno || i.ID == dyno {
			return p.mgr.Attach(ctx, i.ID, tio)
		}
	}
	return 0, fmt.Errorf("no dyno %q in app %s: %w", dyno, app.Name, core.ErrNotFound)
}

// Restart implements api.DynoManager.
func (p *Platform) Restart(ctx context.Context, app core.App, target string) error {
	return p.mgr.Restart(ctx, app.ID, target)
}

// Stop implements api.DynoManager.
func (p *Platform) Stop(ctx context.Context, app core.App, target string) error {
	return p.mgr.Stop(ctx, app.ID, target)
}

// toDyno maps a managed dyno to the API's record.
func toDyno(i dynos.Info) core.Dyno {
	return core.Dyno{
		ID: i.ID, AppID: i.AppID, Name: i.Name, Type: i.Type, Size: i.Size, Command: i.Command,
		ReleaseID: i.ReleaseID, Release: i.Release, State: i.State, RuntimeID: i.ID,
		CreatedAt: i.StartedAt, UpdatedAt: i.UpdatedAt,
	}
}

// LogAPI implements api.APILogger: heroku[api] lines into Logplex.
func (p *Platform) LogAPI(_ context.Context, app core.App, line string) {
	_ = p.opts.Logplex.WriteLine(app.ID, "heroku", "api", line)
}

// NewLogSession implements api.LogSessions.
func (p *Platform) NewLogSession(_ context.Context, app core.App, req api.LogSessionRequest) (string, error) {
	if p.opts.Sessions == nil {
		return "", fmt.Errorf("log sessions are not configured: %w", core.ErrUnavailable)
	}
	s, err := p.opts.Sessions.Create(logplex.SessionRequest{App: app.ID, Dyno: req.Dyno, Source: req.Source, Lines: req.Lines, Tail: req.Tail})
	if err != nil {
		return "", err
	}
	return s.LogplexURL, nil
}

// SyncDrains implements api.DrainSyncer: Logplex drains the URLs the store
// holds for the app, under the stored tokens.
func (p *Platform) SyncDrains(ctx context.Context, appID string) error {
	want, err := p.opts.Store.ListDrains(ctx, appID)
	if errors.Is(err, core.ErrNotFound) {
		want = nil
	} else if err != nil {
		return fmt.Errorf("drains of %s: %w", appID, err)
	}
	have := map[string]bool{}
	for _, s := range p.opts.Logplex.Drains(appID) {
		have[s.URL] = true
	}
	var errs []error
	wanted := map[string]bool{}
	for _, d := range want {
		wanted[d.URL] = true
		if have[d.URL] {
			continue
		}
		if _, err := p.opts.Logplex.AddDrain(ctx, appID, d.URL, logplex.DrainOptions{ID: d.Token}); err != nil && !errors.Is(err, core.ErrAlreadyExists) {
			errs = append(errs, err)
		}
	}
	for u := range have {
		if !wanted[u] {
			if err := p.opts.Logplex.RemoveDrain(appID, u); err != nil && !errors.Is(err, core.ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// onBackends is the dyno manager's route callback.
func (p *Platform) onBackends(appID string, backends []core.Backend, state core.AppState) {
	p.mu.Lock()
	p.backends[appID] = backends
	p.crashed[appID] = state == core.AppCrashed
	if len(backends) > 0 && p.asleep[appID] == asleepWaking {
		delete(p.asleep, appID)
	}
	r, ok := p.routes[appID]
	if ok {
		r.Backends = backends
		r.State = p.stateLocked(appID, r)
		p.routes[appID] = r
	}
	p.mu.Unlock()
	if ok {
		p.push(context.Background())
	}
}

// stateLocked is the app's routing state.
func (p *Platform) stateLocked(appID string, r core.Route) core.AppState {
	switch {
	case len(r.Backends) > 0:
		return core.AppRunning
	case p.asleep[appID] != "":
		return core.AppIdle
	case p.crashed[appID]:
		return core.AppCrashed
	case r.State == core.AppBlank:
		return core.AppBlank
	}
	return core.AppRunning
}

// SyncRoutes implements api.RouteSyncer: the app's hosts, maintenance flag
// and state from the store, its backends from the dyno manager.
func (p *Platform) SyncRoutes(ctx context.Context, appID string) error {
	app, err := p.opts.Store.GetApp(ctx, appID)
	if errors.Is(err, core.ErrNotFound) {
		p.forgetRoute(appID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("routes of %s: %w", appID, err)
	}
	hosts := []string{strings.ToLower(app.Name + "." + p.opts.AppDomain)}
	domains, err := p.opts.Store.ListDomains(ctx, appID)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("routes of %s: domains: %w", app.Name, err)
	}
	for _, d := range domains {
		hosts = append(hosts, strings.ToLower(d.Hostname))
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	certs, err := p.certificates(ctx, appID, domains)
	if err != nil {
		return fmt.Errorf("routes of %s: %w", app.Name, err)
	}
	certs = p.acmCertificates(app, domains, certs)
	balancer := ""
	switch {
	case slices.Contains(app.Features, api.FeatureRouterLeastConnections):
		balancer = "least-conn"
	case slices.Contains(app.Features, api.FeatureRouterPowerOfTwo):
		balancer = "p2c"
	}
	blank := false
	if rel, err := p.opts.Store.CurrentRelease(ctx, appID); err != nil || rel.SlugID == "" {
		blank = true
	}
	p.mu.Lock()
	r := core.Route{App: app.Name, AppID: app.ID, Hosts: hosts, Maintenance: app.Maintenance, Backends: p.backends[appID],
		Certificates: certs, Balancer: balancer}
	if blank {
		r.State = core.AppBlank
	}
	r.State = p.stateLocked(appID, r)
	if old, ok := p.routes[appID]; ok && old.App != r.App {
		delete(p.ids, old.App)
	}
	p.routes[appID] = r
	p.ids[r.App] = appID
	p.mu.Unlock()
	return p.push(ctx)
}

// certificates are the app's SNI endpoints as router certificates: each
// serves the custom domains that name it, and those that name no endpoint
// and that its certificate covers (the newest endpoint first). Endpoints
// that serve no domain, or no longer parse, are left out.
func (p *Platform) certificates(ctx context.Context, appID string, domains []core.Domain) ([]core.Certificate, error) {
	eps, err := p.opts.Store.ListSNIEndpoints(ctx, appID)
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("SNI endpoints: %w", err)
	}
	taken := map[string]bool{}
	var out []core.Certificate
	for i := len(eps) - 1; i >= 0; i-- {
		e := eps[i]
		c, err := tlscert.Parse([]byte(e.CertificateChain), []byte(e.PrivateKey), e.UpdatedAt)
		if err != nil {
			p.log.Warn("SNI endpoint left out of the route table", "endpoint", e.Name, "err", err)
			continue
		}
		var hosts []string
		for _, d := range domains {
			if d.Kind != "custom" || taken[d.Hostname] {
				continue
			}
			if d.SNIEndpointID == e.ID || (d.SNIEndpointID == "" && c.Matches(d.Hostname)) {
				hosts = append(hosts, d.Hostname)
				taken[d.Hostname] = true
			}
		}
		if len(hosts) > 0 {
			out = append(out, core.Certificate{Hosts: hosts, CertPEM: c.ChainPEM, KeyPEM: e.PrivateKey})
		}
	}
	return out, nil
}

// acmCertificates tells the ACM manager which of the app's custom domains
// to keep certificates for (those no uploaded SNI endpoint serves: uploads
// take precedence) and adds the issued ones to certs.
func (p *Platform) acmCertificates(app core.App, domains []core.Domain, certs []core.Certificate) []core.Certificate {
	if p.opts.ACM == nil {
		return certs
	}
	if !app.ACM {
		p.opts.ACM.Manage(app.ID, nil)
		return certs
	}
	taken := map[string]bool{}
	for _, c := range certs {
		for _, h := range c.Hosts {
			taken[h] = true
		}
	}
	var managed []string
	for _, d := range domains {
		h := strings.ToLower(d.Hostname)
		if d.Kind != "custom" || taken[h] || strings.HasPrefix(h, "*.") {
			continue
		}
		managed = append(managed, h)
	}
	p.opts.ACM.Manage(app.ID, managed)
	for _, h := range managed {
		if crt, key, ok := p.opts.ACM.Certificate(h); ok {
			certs = append(certs, core.Certificate{Hosts: []string{h}, CertPEM: crt, KeyPEM: key})
		}
	}
	return certs
}

func (p *Platform) forgetRoute(appID string) {
	if p.opts.ACM != nil {
		p.opts.ACM.Manage(appID, nil)
	}
	p.mu.Lock()
	if r, ok := p.routes[appID]; ok {
		delete(p.ids, r.App)
	}
	delete(p.routes, appID)
	delete(p.backends, appID)
	delete(p.crashed, appID)
	delete(p.asleep, appID)
	delete(p.lastActive, appID)
	p.mu.Unlock()
	_ = p.push(context.Background())
}

// Routes returns the current route table (for tests and diagnostics).
func (p *Platform) Routes() core.RouteTable {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tableLocked()
}

func (p *Platform) tableLocked() core.RouteTable {
	t := core.RouteTable{Version: p.version}
	for _, r := range p.routes {
		t.Routes = append(t.Routes, r)
	}
	slices.SortFunc(t.Routes, func(a, b core.Route) int { return strings.Compare(a.App, b.App) })
	return t
}

// push sends the whole table to the router, in version order.
func (p *Platform) push(ctx context.Context) error {
	if p.opts.Router == nil {
		return nil
	}
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	p.mu.Lock()
	p.version++
	t := p.tableLocked()
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.opts.Router.SetRoutes(ctx, t); err != nil {
		p.log.Error("router rejected the route table", "version", t.Version, "err", err)
		return fmt.Errorf("router: %w", err)
	}
	return nil
}

// Store wraps st so that dyno reads come from the dyno manager, the one
// place that knows what runs: the API's `ps` shows live state.
func (p *Platform) Store(st store.Store) store.Store { return liveStore{Store: st, p: p} }

type liveStore struct {
	store.Store
	p *Platform
}

// ListDynos returns the app's live dynos, one per name (during a preboot
// the newest release's incarnation).
func (s liveStore) ListDynos(_ context.Context, appID string) ([]core.Dyno, error) {
	byName := map[string]dynos.Info{}
	var names []string
	for _, i := range s.p.mgr.List(appID) {
		cur, ok := byName[i.Name]
		if !ok {
			names = append(names, i.Name)
		}
		if !ok || i.Release > cur.Release || (i.Release == cur.Release && i.StartedAt.After(cur.StartedAt)) {
			byName[i.Name] = i
		}
	}
	slices.Sort(names)
	out := make([]core.Dyno, 0, len(names))
	for _, n := range names {
		out = append(out, toDyno(byName[n]))
	}
	return out, nil
}

// GetDyno returns the live dyno named or identified by nameOrID.
func (s liveStore) GetDyno(ctx context.Context, appID, nameOrID string) (core.Dyno, error) {
	list, _ := s.ListDynos(ctx, appID)
	for _, d := range list {
		if d.Name == nameOrID || d.ID == nameOrID {
			return d, nil
		}
	}
	return core.Dyno{}, fmt.Errorf("dyno %q: %w", nameOrID, core.ErrNotFound)
}

// AppID returns the id of the routed app named name, or "" (router log
// lines carry the app's name).
func (p *Platform) AppID(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[name]
}
