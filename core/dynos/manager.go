// Package dynos is the dyno manager: it reconciles each app's desired
// formation against the dynos a core.DynoRuntime runs, with Heroku's
// lifecycle.
//
// # Lifecycle
//
// A dyno goes starting → up → (crashed | down). A web dyno is up once its
// $PORT accepts connections; if it does not within BootTimeout (60 s) it is
// stopped with "Error R10 (Boot timeout)". Stopping sends SIGTERM and SIGKILL
// after StopGrace (30 s); a dyno that needed SIGKILL logs "Error R12 (Exit
// timeout)". A crashed dyno is restarted at once the first time, then after a
// cool-off that doubles up to MaxBackoff (20 minutes); a new release resets
// the count. Dynos are cycled once a day (24 h plus up to 216 minutes of
// jitter). Every transition is logged as "State changed from starting to up"
// with source heroku[web.1].
//
// # Releases
//
// Apply with a new release starts the new dynos of every process type next
// to the old ones and stops the old ones once the new are up (Heroku's
// preboot), so the router always has a live web dyno.
//
// # Restarts of paasd
//
// Adopt lists the runtime's dynos at start-up and takes over the ones that
// carry this manager's labels, re-attaching their logs, so restarting paasd
// does not restart dynos.
package dynos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
)

// Labels the manager puts on every dyno it starts, so Adopt can find them.
const (
	LabelApp     = "paasd.app"
	LabelAppID   = "paasd.app_id"
	LabelName    = "paasd.name"
	LabelType    = "paasd.type"
	LabelRelease = "paasd.release"
	LabelSize    = "paasd.size"
	LabelOneOff  = "paasd.oneoff"
	LabelCommand = "paasd.command"
	LabelPort    = "paasd.port"
)

// Process is one process type's desired scale.
type Process struct {
	Type     string
	Command  string
	Quantity int
	// Size is a Heroku dyno size name; empty means "standard-1x".
	Size string
}

// Desired is an app's desired state.
type Desired struct {
	App   string
	AppID string
	// Release is the release version; ReleaseID its id.
	Release   int
	ReleaseID string
	// Slug is the slug tarball path; Stack the stack name.
	Slug  string
	Stack string
	// Config holds the release's config vars.
	Config    map[string]string
	Processes []Process
}

// LogFunc receives the manager's log lines (source heroku) and the dynos'
// output (source app) for an app.
type LogFunc func(app string, msg core.LogMessage)

// RouteFunc receives an app's up web dynos whenever they change.
type RouteFunc func(app string, backends []core.Backend, state core.AppState)

// Info describes one managed dyno.
type Info struct {
	ID string
	// AppID is the key the manager files the dyno under (Desired.AppID, or
	// Desired.App when that is empty); App is the app's name.
	AppID     string
	App       string
	Name      string
	Type      string
	Command   string
	Size      string
	Release   int
	ReleaseID string
	State     core.DynoState
	Address   string
	StartedAt time.Time
	UpdatedAt time.Time
	OneOff    bool
}

// Manager supervises dynos. Create one with New; it is safe for concurrent
// use.
type Manager struct {
	rt     core.DynoRuntime
	opts   Options
	logger *slog.Logger

	mu   sync.Mutex
	apps map[string]*appState
	// nextPort gives each dyno its own $PORT, so runtimes without network
	// namespaces (the process runtime) can run several web dynos.
	nextPort int
	closed   bool
	wg       sync.WaitGroup
	// quit ends the shared memory checker (closed by Close).
	quit chan struct{}
}

// Options tune a Manager. The zero value of each field is the documented
// default.
type Options struct {
	// BootTimeout is how long a web dyno has to bind $PORT; zero means 60 s.
	BootTimeout time.Duration
	// StopGrace is the SIGTERM→SIGKILL window; zero means 30 s.
	StopGrace time.Duration
	// MaxBackoff caps the crash cool-off; zero means 20 minutes.
	MaxBackoff time.Duration
	// FirstBackoff is the cool-off after the second crash; zero means 20 s.
	FirstBackoff time.Duration
	// CycleEvery is the daily cycle period; zero means 24 h. Negative disables.
	CycleEvery time.Duration
	// CycleJitter is the maximum extra random delay; zero means 216 minutes.
	CycleJitter time.Duration
	// BasePort is the first $PORT handed out; zero means 5000 (as Heroku's
	// local tooling). Each dyno gets the next free one.
	BasePort int
	// SameAddressPort, when true, gives every dyno BasePort (runtimes where
	// each dyno has its own network namespace, like runc).
	SameAddressPort bool
	// AttachTimeout is how long a one-off dyno started with Attach waits
	// for its client before it is stopped with R13; zero means 60 s.
	AttachTimeout time.Duration
	// MemoryCheckEvery is how often a running dyno's memory is compared
	// with its quota, when the runtime is a core.MemoryReporter; zero means
	// 20 s. Negative disables the checks.
	MemoryCheckEvery time.Duration
	// Log receives log lines; nil discards them.
	Log LogFunc
	// Routes receives web backend changes; nil discards them.
	Routes RouteFunc
	// DrainDelay is how long a web dyno that was taking requests keeps
	// running after it has left the route table, before its SIGTERM, so
	// requests the router already sent it finish (scale-down, preboot,
	// restarts: zero 5xx under load). Zero means 500 ms; negative none.
	DrainDelay time.Duration
	// Logger is the manager's own log; nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.BootTimeout == 0 {
		o.BootTimeout = 60 * time.Second
	}
	if o.StopGrace == 0 {
		o.StopGrace = 30 * time.Second
	}
	if o.DrainDelay == 0 {
		o.DrainDelay = 500 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 20 * time.Minute
	}
	if o.FirstBackoff == 0 {
		o.FirstBackoff = 20 * time.Second
	}
	if o.CycleEvery == 0 {
		o.CycleEvery = 24 * time.Hour
	}
	if o.CycleJitter == 0 {
		o.CycleJitter = 216 * time.Minute
	}
	if o.BasePort == 0 {
		o.BasePort = 5000
	}
	if o.AttachTimeout == 0 {
		o.AttachTimeout = 60 * time.Second
	}
	if o.MemoryCheckEvery == 0 {
		o.MemoryCheckEvery = 20 * time.Second
	}
}

// New returns a Manager over rt.
func New(rt core.DynoRuntime, opts Options) *Manager {
	opts.defaults()
	l := opts.Logger
	if l == nil {
		l = slog.Default()
	}
	m := &Manager{rt: rt, opts: opts, logger: l, apps: map[string]*appState{}, nextPort: opts.BasePort, quit: make(chan struct{})}
	if mr, ok := rt.(core.MemoryReporter); ok && opts.MemoryCheckEvery > 0 {
		m.wg.Add(1)
		go m.watchMemory(mr)
	}
	return m
}

// appState is the manager's view of one app.
type appState struct {
	desired Desired
	have    bool
	dynos   map[string]*dyno // by runtime id
	crashes map[string]int   // by dyno name, reset by a new release
}

// dyno is one supervised dyno incarnation.
type dyno struct {
	info    Info
	port    int
	cancel  context.CancelFunc
	stopped chan struct{} // closed when the supervisor returns
	// wanted is false once the manager decided to stop it.
	wanted bool
	// restarting marks an exit the manager caused (restart, cycling).
	restarting bool
	// wake cuts a crash cool-off short (a new release or a restart).
	wake chan struct{}
	// done receives a one-off dyno's exit code.
	done chan int

	// For one-off dynos started with Attach: the command starts only once
	// a client attaches (attachReq closed), and the dyno is not removed
	// before the attachment ended (attachDone closed), so no output is
	// lost. started is closed once the runtime's Start returned.
	attachReq  chan struct{}
	attachDone chan struct{}
	started    chan struct{}
	startErr   error
	reqOnce    sync.Once
	doneOnce   sync.Once
	startOnce  sync.Once
}

// markStarted records the outcome of the runtime's Start.
func (x *dyno) markStarted(err error) {
	x.startOnce.Do(func() {
		x.startErr = err
		if x.started != nil {
			close(x.started)
		}
	})
}

func (m *Manager) app(name string) *appState {
	a := m.apps[name]
	if a == nil {
		a = &appState{dynos: map[string]*dyno{}, crashes: map[string]int{}}
		m.apps[name] = a
	}
	return a
}

// Apply sets an app's desired state and reconciles: missing dynos are
// started, surplus ones stopped, and dynos of an older release replaced
// (new ones first, old ones stopped once the new are up). It returns once
// the changes are under way, not when dynos are up. It returns an error
// wrapping core.ErrInvalid for an unknown dyno size or a negative quantity.
func (m *Manager) Apply(ctx context.Context, d Desired) error {
	for _, p := range d.Processes {
		if p.Quantity < 0 {
			return fmt.Errorf("process type %q: quantity %d is negative: %w", p.Type, p.Quantity, core.ErrInvalid)
		}
		if _, ok := core.LookupDynoSize(sizeOr(p.Size)); !ok {
			return fmt.Errorf("process type %q: unknown dyno size %q: %w", p.Type, p.Size, core.ErrInvalid)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("dyno manager is closed: %w", core.ErrUnavailable)
	}
	if d.AppID == "" {
		d.AppID = d.App
	}
	a := m.app(d.AppID)
	if a.have && a.desired.Release != d.Release {
		a.crashes = map[string]int{}
	}
	for _, x := range a.dynos {
		select {
		case x.wake <- struct{}{}:
		default:
		}
	}
	a.desired = d
	a.have = true
	m.reconcileLocked(d.AppID)
	return nil
}

// reconcileLocked starts and stops dynos of app to match its desired state.
func (m *Manager) reconcileLocked(app string) {
	a := m.apps[app]
	d := a.desired
	for _, p := range d.Processes {
		for i := 1; i <= p.Quantity; i++ {
			name := p.Type + "." + strconv.Itoa(i)
			cur := m.findLocked(a, name, func(x *dyno) bool { return x.wanted && isCurrent(d, x) })
			if cur != nil {
				continue
			}
			m.startLocked(a, d, p, name)
		}
	}
	// Stop dynos no longer wanted: wrong type or index, crashed dynos of an
	// older release, and (once their replacement is up, see dynoUp) the
	// rest of an older release.
	for _, x := range a.dynos {
		if !x.wanted || x.info.OneOff {
			continue
		}
		if x.info.Release != d.Release && x.info.State == core.DynoCrashed {
			m.stopLocked(a, x, "Release")
			continue
		}
		p, ok := processFor(d, x.info.Type)
		idx := dynoIndex(x.info.Name)
		if !ok || idx > p.Quantity {
			m.stopLocked(a, x, "Scaling")
		}
	}
}

// isCurrent reports whether x is the incarnation d asks for: its process
// type's current release, command and size.
func isCurrent(d Desired, x *dyno) bool {
	p, ok := processFor(d, x.info.Type)
	return ok && x.info.Release == d.Release && x.info.Command == p.Command && x.info.Size == sizeOr(p.Size)
}

func processFor(d Desired, typ string) (Process, bool) {
	for _, p := range d.Processes {
		if p.Type == typ {
			return p, true
		}
	}
	return Process{}, false
}

func dynoIndex(name string) int {
	_, n, _ := strings.Cut(name, ".")
	i, _ := strconv.Atoi(n)
	return i
}

func sizeOr(s string) string {
	if s == "" {
		return "standard-1x"
	}
	return s
}

func (m *Manager) findLocked(a *appState, name string, ok func(*dyno) bool) *dyno {
	for _, x := range a.dynos {
		if x.info.Name == name && ok(x) {
			return x
		}
	}
	return nil
}

// allocPortLocked returns the $PORT for a new dyno.
func (m *Manager) allocPortLocked() int {
	if m.opts.SameAddressPort {
		return m.opts.BasePort
	}
	used := map[int]bool{}
	for _, a := range m.apps {
		for _, x := range a.dynos {
			used[x.port] = true
		}
	}
	for {
		p := m.nextPort
		m.nextPort++
		if m.nextPort > 65000 {
			m.nextPort = m.opts.BasePort
		}
		if !used[p] {
			return p
		}
	}
}

func (m *Manager) startLocked(a *appState, d Desired, p Process, name string) *dyno {
	port := m.allocPortLocked()
	now := time.Now()
	x := &dyno{
		info: Info{
			ID: newID(d.App, name), AppID: d.AppID, App: d.App, Name: name, Type: p.Type, Command: p.Command,
			Size: sizeOr(p.Size), Release: d.Release, ReleaseID: d.ReleaseID, State: core.DynoStarting, StartedAt: now, UpdatedAt: now,
		},
		port: port, wanted: true, stopped: make(chan struct{}), wake: make(chan struct{}, 1),
	}
	a.dynos[x.info.ID] = x
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel
	spec := m.specFor(d, p, x)
	m.wg.Add(1)
	go m.supervise(ctx, x, spec, false)
	return x
}

func (m *Manager) specFor(d Desired, p Process, x *dyno) core.DynoSpec {
	size, _ := core.LookupDynoSize(x.info.Size)
	env := make(map[string]string, len(d.Config)+3)
	for k, v := range d.Config {
		env[k] = v
	}
	env["PORT"] = strconv.Itoa(x.port)
	env["DYNO"] = x.info.Name
	env["PS"] = x.info.Name
	return core.DynoSpec{
		ID: x.info.ID, App: d.App, AppID: d.AppID, Name: x.info.Name, Type: p.Type, Release: d.Release,
		Command: p.Command, Env: env, Port: x.port, Slug: d.Slug, Stack: d.Stack,
		Size: x.info.Size, Limits: hardLimits(size.Limits),
		Labels: map[string]string{
			LabelApp: d.App, LabelAppID: d.AppID, LabelName: x.info.Name, LabelType: p.Type,
			LabelRelease: strconv.Itoa(d.Release), LabelSize: x.info.Size, LabelCommand: p.Command,
			LabelPort: strconv.Itoa(x.port),
		},
	}
}

// hardLimits are the limits a runtime enforces for a dyno size: Heroku lets
// a dyno exceed its memory quota (logging R14) and kills it only at twice
// the quota (R15, "vastly exceeded"), so the enforced memory limit is twice
// the size's quota. CPU and pids limits are the size's.
func hardLimits(l core.DynoLimits) core.DynoLimits {
	l.MemoryBytes *= 2
	return l
}

var idRand = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15))
var idMu sync.Mutex

// newID returns a runtime id unique per incarnation: app-web.1-<random>.
func newID(app, name string) string {
	idMu.Lock()
	n := idRand.Uint64()
	idMu.Unlock()
	return fmt.Sprintf("%s-%s-%012x", app, strings.ReplaceAll(name, ".", "-"), n&0xffffffffffff)
}

// stopLocked marks x unwanted and stops it in the background.
func (m *Manager) stopLocked(a *appState, x *dyno, why string) {
	if !x.wanted {
		return
	}
	x.wanted = false
	// A routed web dyno leaves the route table before it is signalled
	// (the table is swapped synchronously), then drains.
	drain := m.opts.Routes != nil && x.info.Type == "web" && !x.info.OneOff && x.info.State == core.DynoUp
	if drain {
		m.publishRoutesLocked(x.info.AppID)
	}
	m.logState(x.info, fmt.Sprintf("Stopping all processes with SIGTERM (%s)", why))
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if drain && m.opts.DrainDelay > 0 {
			time.Sleep(m.opts.DrainDelay)
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.StopGrace+30*time.Second)
		defer cancel()
		res, err := m.stopRetrying(ctx, x.info.ID, m.opts.StopGrace)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			m.logger.Warn("stop dyno", "app", x.info.AppID, "dyno", x.info.Name, "err", err)
		}
		if res.Killed {
			m.logHeroku(x.info.AppID, x.info.Name, "Error R12 (Exit timeout) -> At least one process failed to exit within 30 seconds of SIGTERM")
			m.logHeroku(x.info.AppID, x.info.Name, "Stopping remaining processes with SIGKILL")
		}
	}()
}

// stopRetrying stops a dyno, retrying while the runtime reports it is
// still starting (core.ErrConflict), until ctx ends.
func (m *Manager) stopRetrying(ctx context.Context, id string, grace time.Duration) (core.StopResult, error) {
	delay := 20 * time.Millisecond
	for {
		res, err := m.rt.Stop(ctx, id, grace)
		if !errors.Is(err, core.ErrConflict) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(delay):
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}

// supervise runs one dyno incarnation and, while it is wanted, its restarts.
func (m *Manager) supervise(ctx context.Context, x *dyno, spec core.DynoSpec, adopted bool) {
	defer m.wg.Done()
	defer close(x.stopped)
	if x.attachReq != nil && !adopted {
		select {
		case <-x.attachReq:
		case <-ctx.Done():
			x.markStarted(ctx.Err())
			return
		case <-time.After(m.opts.AttachTimeout):
			m.logHeroku(x.info.AppID, x.info.Name, fmt.Sprintf("Error R13 (Attach error) -> Failed to attach to process within %s", m.opts.AttachTimeout))
			err := fmt.Errorf("no client attached within %s: %w", m.opts.AttachTimeout, core.ErrTimeout)
			x.markStarted(err)
			m.mu.Lock()
			x.wanted = false
			delete(m.apps[x.info.AppID].dynos, x.info.ID)
			m.mu.Unlock()
			m.setState(x, core.DynoDown, "")
			x.done <- 1
			return
		}
	}
	for {
		status, err := m.runOnce(ctx, x, spec, adopted)
		if x.attachDone != nil {
			// Keep the dyno (and its terminal) until the client has
			// read everything.
			select {
			case <-x.attachDone:
			case <-time.After(m.opts.StopGrace):
			}
		}
		adopted = false
		m.mu.Lock()
		if m.closed {
			// paasd is shutting down: leave the dyno running for Adopt.
			m.mu.Unlock()
			return
		}
		a := m.apps[x.info.AppID]
		if !x.wanted || x.info.OneOff {
			x.wanted = false
			m.mu.Unlock()
			m.remove(x)
			m.setState(x, core.DynoDown, exitDesc(status, err))
			m.mu.Lock()
			delete(a.dynos, x.info.ID)
			m.publishRoutesLocked(x.info.AppID)
			m.mu.Unlock()
			if x.done != nil {
				x.done <- exitCode(status, err)
			}
			return
		}
		restarting := x.restarting
		x.restarting = false
		var delay time.Duration
		if !restarting {
			n := a.crashes[x.info.Name]
			a.crashes[x.info.Name] = n + 1
			delay = m.backoff(n)
		}
		m.mu.Unlock()
		m.remove(x)
		if restarting {
			m.setState(x, core.DynoStarting, exitDesc(status, err))
		} else {
			m.setState(x, core.DynoCrashed, exitDesc(status, err))
		}
		if delay > 0 {
			m.logHeroku(x.info.AppID, x.info.Name, fmt.Sprintf("Process crashed; restarting in %s", delay.Round(time.Second)))
			select {
			case <-ctx.Done():
				continue
			case <-x.wake:
			case <-time.After(delay):
			}
		}
		m.mu.Lock()
		if !x.wanted || m.closed {
			m.mu.Unlock()
			continue
		}
		// A new incarnation keeps the name but gets a new runtime id, and
		// the current release's spec when it is still that release (an
		// adopted dyno's spec is rebuilt here).
		if a.have && !x.info.OneOff && x.info.Release == a.desired.Release {
			if p, ok := processFor(a.desired, x.info.Type); ok {
				spec = m.specFor(a.desired, p, x)
			}
		}
		delete(a.dynos, x.info.ID)
		x.info.ID = newID(x.info.App, x.info.Name)
		x.info.StartedAt = time.Now()
		x.info.Address = ""
		spec.ID = x.info.ID
		a.dynos[x.info.ID] = x
		m.mu.Unlock()
		if !restarting {
			m.setState(x, core.DynoStarting, "")
		}
	}
}

// remove removes an exited incarnation from the runtime, logging (not
// returning) a failure: the supervisor goes on either way.
func (m *Manager) remove(x *dyno) {
	if err := m.rt.Remove(context.Background(), x.info.ID); err != nil && !errors.Is(err, core.ErrNotFound) {
		m.logger.Warn("remove dyno", "app", x.info.AppID, "dyno", x.info.Name, "id", x.info.ID, "err", err)
	}
}

func exitCode(s core.DynoStatus, err error) int {
	if err != nil {
		return 1
	}
	if s.ExitCode != nil {
		return *s.ExitCode
	}
	return 137
}

func exitDesc(s core.DynoStatus, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case s.OOMKilled:
		return "Error R15 (Memory quota vastly exceeded)"
	case s.ExitCode != nil:
		return fmt.Sprintf("Process exited with status %d", *s.ExitCode)
	case s.Signal != "":
		return "Process exited on signal " + s.Signal
	}
	return "Process exited"
}

// backoff returns the cool-off before restart number n+1 (n crashes so far).
func (m *Manager) backoff(n int) time.Duration {
	if n == 0 {
		return 0
	}
	d := m.opts.FirstBackoff
	for i := 1; i < n && d < m.opts.MaxBackoff; i++ {
		d *= 2
	}
	if d > m.opts.MaxBackoff {
		d = m.opts.MaxBackoff
	}
	return d
}

// runOnce starts (or adopts) one incarnation and returns when it exits or
// ctx ends.
func (m *Manager) runOnce(ctx context.Context, x *dyno, spec core.DynoSpec, adopted bool) (core.DynoStatus, error) {
	if !adopted {
		m.logHeroku(x.info.AppID, x.info.Name, fmt.Sprintf("Starting process with command `%s`", spec.Command))
		st, err := m.rt.Start(ctx, spec)
		x.markStarted(err)
		if err != nil {
			return core.DynoStatus{}, fmt.Errorf("start %s: %w", x.info.Name, err)
		}
		m.mu.Lock()
		x.info.Address = st.Address
		m.mu.Unlock()
	}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		_ = m.rt.Logs(ctx, x.info.ID, func(l core.LogLine) error {
			m.emit(x.info.AppID, core.LogMessage{Time: l.Time, Priority: 190, Host: "host", App: "app", ProcID: x.info.Name, Text: l.Text})
			return nil
		})
	}()
	bootCtx, bootCancel := context.WithCancel(ctx)
	defer bootCancel()
	if x.info.Type == "web" && spec.Port > 0 {
		go m.awaitBoot(bootCtx, x, adopted)
	} else if !adopted {
		m.setState(x, core.DynoUp, "")
	}
	// The daily cycle is a timer, not a goroutine, while the dyno runs:
	// when it fires it stops the dyno, and Wait below returns.
	var cycle *time.Timer
	cycled := make(chan struct{})
	if m.opts.CycleEvery > 0 {
		j := time.Duration(0)
		if m.opts.CycleJitter > 0 {
			j = time.Duration(rand.Int64N(int64(m.opts.CycleJitter)))
		}
		cycle = time.AfterFunc(m.opts.CycleEvery+j, func() {
			defer close(cycled)
			m.logHeroku(x.info.AppID, x.info.Name, "Cycling")
			m.mu.Lock()
			x.restarting = true
			m.mu.Unlock()
			_, _ = m.rt.Stop(context.Background(), x.info.ID, m.opts.StopGrace)
		})
	}
	st, err := m.rt.Wait(ctx, x.info.ID)
	if cycle != nil && !cycle.Stop() {
		// The cycle fired: this exit is the restart it asked for.
		<-cycled
		err = nil
		st.ExitCode = nil
	}
	bootCancel()
	// Logs end when the dyno exits; do not wait forever for a runtime that
	// keeps the stream open.
	select {
	case <-logsDone:
	case <-time.After(2 * time.Second):
	}
	return st, err
}

// watchMemory logs Heroku's R14 for every running dyno that uses more
// than its quota, checking all dynos every MemoryCheckEvery from one
// goroutine (not one per dyno) until Close.
func (m *Manager) watchMemory(mr core.MemoryReporter) {
	defer m.wg.Done()
	t := time.NewTicker(m.opts.MemoryCheckEvery)
	defer t.Stop()
	type check struct {
		id, app, name string
		quota         int64
	}
	for {
		select {
		case <-m.quit:
			return
		case <-t.C:
		}
		var checks []check
		m.mu.Lock()
		for _, a := range m.apps {
			for _, x := range a.dynos {
				if x.info.State != core.DynoStarting && x.info.State != core.DynoUp {
					continue
				}
				if size, ok := core.LookupDynoSize(x.info.Size); ok && size.Limits.MemoryBytes > 0 {
					checks = append(checks, check{x.info.ID, x.info.AppID, x.info.Name, size.Limits.MemoryBytes})
				}
			}
		}
		m.mu.Unlock()
		for _, c := range checks {
			st, err := mr.MemoryStats(context.Background(), c.id)
			if err != nil {
				continue
			}
			used := st.UsageBytes + st.SwapBytes
			if used <= c.quota {
				continue
			}
			m.logHeroku(c.app, c.name, fmt.Sprintf("Process running mem=%dM(%.1f%%)", used>>20, 100*float64(used)/float64(c.quota)))
			m.logHeroku(c.app, c.name, "Error R14 (Memory quota exceeded)")
		}
	}
}

// awaitBoot marks a web dyno up once its port accepts, or stops it with R10.
// It checks every 10 ms for the first second (most web processes bind
// within it, and each check is one loopback connect), then backs off to
// every 250 ms.
func (m *Manager) awaitBoot(ctx context.Context, x *dyno, adopted bool) {
	start := time.Now()
	deadline := start.Add(m.opts.BootTimeout)
	delay := 10 * time.Millisecond
	for {
		m.mu.Lock()
		addr := x.info.Address
		m.mu.Unlock()
		if addr != "" {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				if !adopted || x.info.State != core.DynoUp {
					m.setState(x, core.DynoUp, "")
				}
				m.dynoUp(x)
				return
			}
		}
		if time.Now().After(deadline) {
			m.logHeroku(x.info.AppID, x.info.Name, fmt.Sprintf("Error R10 (Boot timeout) -> Web process failed to bind to $PORT within %s of launch", m.opts.BootTimeout.Round(time.Second)))
			m.logHeroku(x.info.AppID, x.info.Name, "Stopping process with SIGKILL")
			_, _ = m.rt.Stop(context.Background(), x.info.ID, 0)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if delay < 250*time.Millisecond && time.Since(start) > time.Second {
			delay *= 2
		}
	}
}

// dynoUp publishes routes and retires dynos x replaces (preboot).
func (m *Manager) dynoUp(x *dyno) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.apps[x.info.AppID]
	if a == nil {
		return
	}
	// Only the incarnation the desired state asks for retires the others:
	// an outdated one coming up (two converges in a row start two) must
	// not stop its own replacement.
	if x.wanted && isCurrent(a.desired, x) {
		for _, old := range a.dynos {
			if old != x && old.wanted && !old.info.OneOff && old.info.Name == x.info.Name {
				m.stopLocked(a, old, "Preboot")
			}
		}
	}
	m.publishRoutesLocked(x.info.AppID)
}

func (m *Manager) setState(x *dyno, to core.DynoState, why string) {
	m.mu.Lock()
	from := x.info.State
	x.info.State = to
	x.info.UpdatedAt = time.Now()
	info := x.info
	a := m.apps[info.AppID]
	if a != nil && to != core.DynoUp {
		m.publishRoutesLocked(info.AppID)
	}
	if a != nil && to == core.DynoUp && info.Type != "web" && x.wanted && isCurrent(a.desired, x) {
		// Non-web dynos retire their predecessors as soon as they run.
		for _, old := range a.dynos {
			if old != x && old.wanted && !old.info.OneOff && old.info.Name == info.Name {
				m.stopLocked(a, old, "Release")
			}
		}
	}
	m.mu.Unlock()
	if why != "" {
		m.logHeroku(info.AppID, info.Name, why)
	}
	if from != to {
		m.logHeroku(info.AppID, info.Name, fmt.Sprintf("State changed from %s to %s", from, to))
	}
}

// publishRoutesLocked sends the app's up web backends to the router.
func (m *Manager) publishRoutesLocked(app string) {
	if m.opts.Routes == nil {
		return
	}
	a := m.apps[app]
	var backends []core.Backend
	crashed := false
	for _, x := range a.dynos {
		if x.info.Type != "web" || x.info.OneOff {
			continue
		}
		if x.wanted && x.info.State == core.DynoUp && x.info.Address != "" {
			backends = append(backends, core.Backend{Dyno: x.info.Name, Address: x.info.Address})
		}
		if x.info.State == core.DynoCrashed {
			crashed = true
		}
	}
	sort.Slice(backends, func(i, j int) bool { return backends[i].Dyno < backends[j].Dyno })
	state := core.AppRunning
	if len(backends) == 0 && crashed {
		state = core.AppCrashed
	}
	m.opts.Routes(app, backends, state)
}

func (m *Manager) logState(info Info, text string) { m.logHeroku(info.AppID, info.Name, text) }

func (m *Manager) logHeroku(app, proc, text string) {
	m.emit(app, core.LogMessage{Time: time.Now(), Priority: 190, Host: "host", App: "heroku", ProcID: proc, Text: text})
}

func (m *Manager) emit(app string, msg core.LogMessage) {
	if m.opts.Log != nil {
		m.opts.Log(app, msg)
	}
}

// List returns an app's dynos, sorted by name; one-off dynos included.
func (m *Manager) List(app string) []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.apps[app]
	if a == nil {
		return nil
	}
	out := make([]Info, 0, len(a.dynos))
	for _, x := range a.dynos {
		if x.wanted || x.info.State != core.DynoDown {
			out = append(out, x.info)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].StartedAt.Before(out[j].StartedAt)
	})
	return out
}

// Restart restarts an app's dynos: all when target is "", every dyno of a
// type ("web"), or one dyno ("web.1"). It returns an error wrapping
// core.ErrNotFound when nothing matches.
func (m *Manager) Restart(ctx context.Context, app, target string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.apps[app]
	if a == nil {
		return fmt.Errorf("app %q has no dynos: %w", app, core.ErrNotFound)
	}
	n := 0
	for _, x := range a.dynos {
		if !x.wanted || !matches(x.info, target) {
			continue
		}
		n++
		if x.info.OneOff {
			m.stopLocked(a, x, "Restart")
			continue
		}
		// Stop the incarnation; the supervisor sees it still wanted and
		// starts a fresh one. Restarts are not crashes.
		a.crashes[x.info.Name] = 0
		x.restarting = true
		select {
		case x.wake <- struct{}{}:
		default:
		}
		m.logHeroku(app, x.info.Name, "Restarting")
		id := x.info.ID
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), m.opts.StopGrace+30*time.Second)
			defer cancel()
			_, _ = m.stopRetrying(ctx, id, m.opts.StopGrace)
		}()
	}
	if n == 0 {
		return fmt.Errorf("no dyno %q in app %q: %w", target, app, core.ErrNotFound)
	}
	return nil
}

// Stop stops dynos like Restart but does not start them again until the
// next Apply (Heroku's ps:stop: the formation brings them back later).
func (m *Manager) Stop(ctx context.Context, app, target string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.apps[app]
	n := 0
	if a != nil {
		for _, x := range a.dynos {
			if x.wanted && matches(x.info, target) {
				m.stopLocked(a, x, "ps:stop")
				n++
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("no dyno %q in app %q: %w", target, app, core.ErrNotFound)
	}
	return nil
}

func matches(i Info, target string) bool {
	return target == "" || i.Name == target || i.Type == target
}

// Remove stops every dyno of app and forgets it (the app was destroyed).
func (m *Manager) Remove(ctx context.Context, app string) {
	m.mu.Lock()
	a := m.apps[app]
	if a != nil {
		for _, x := range a.dynos {
			m.stopLocked(a, x, "App destroyed")
		}
		a.desired.Processes = nil
	}
	m.mu.Unlock()
}

// Close stops supervising (dynos keep running, to be adopted by the next
// Manager) and waits for the supervisors to return.
func (m *Manager) Close() {
	m.mu.Lock()
	if !m.closed {
		close(m.quit)
	}
	m.closed = true
	for _, a := range m.apps {
		for _, x := range a.dynos {
			x.cancel()
		}
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// RunOptions describe a one-off dyno.
type RunOptions struct {
	Command string
	// Size is a dyno size name; empty means "standard-1x".
	Size string
	// Env is added to (and overrides) the release's config vars.
	Env map[string]string
	// Attach asks for a TTY; use Manager.Attach to connect to it.
	Attach bool
	// Type is the process type; empty means "run" (Heroku's run.NNNN).
	Type string
	// On runs the dyno on this release instead of the app's current one
	// (the release phase runs on the release being created); nil means
	// the current release.
	On *Desired
}

// Run starts a one-off dyno on the app's current release. It returns an
// error wrapping core.ErrNotFound when the app has no desired state (never
// released) and core.ErrInvalid for an empty command or unknown size.
func (m *Manager) Run(ctx context.Context, app string, o RunOptions) (Info, error) {
	if strings.TrimSpace(o.Command) == "" {
		return Info{}, fmt.Errorf("one-off dyno: empty command: %w", core.ErrInvalid)
	}
	if _, ok := core.LookupDynoSize(sizeOr(o.Size)); !ok {
		return Info{}, fmt.Errorf("one-off dyno: unknown dyno size %q: %w", o.Size, core.ErrInvalid)
	}
	typ := o.Type
	if typ == "" {
		typ = "run"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Info{}, fmt.Errorf("dyno manager is closed: %w", core.ErrUnavailable)
	}
	var d Desired
	if o.On != nil {
		d = *o.On
		d.App = app
	}
	a := m.apps[app]
	if o.On != nil && a == nil {
		a = m.app(app)
	}
	if o.On == nil {
		if a == nil || !a.have {
			return Info{}, fmt.Errorf("app %q has no release to run: %w", app, core.ErrNotFound)
		}
		d = a.desired
	}
	var name string
	for {
		name = fmt.Sprintf("%s.%d", typ, 1000+rand.IntN(9000))
		if m.findLocked(a, name, func(*dyno) bool { return true }) == nil {
			break
		}
	}
	p := Process{Type: typ, Command: o.Command, Quantity: 1, Size: o.Size}
	port := m.allocPortLocked()
	now := time.Now()
	x := &dyno{
		info: Info{ID: newID(d.App, name), AppID: app, App: d.App, Name: name, Type: typ, Command: o.Command, Size: sizeOr(o.Size),
			Release: d.Release, ReleaseID: d.ReleaseID, State: core.DynoStarting, StartedAt: now, UpdatedAt: now, OneOff: true},
		port: port, wanted: true, stopped: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan int, 1),
	}
	spec := m.specFor(d, p, x)
	for k, v := range o.Env {
		spec.Env[k] = v
	}
	spec.TTY = o.Attach
	spec.Labels[LabelOneOff] = "true"
	if o.Attach {
		x.attachReq, x.attachDone, x.started = make(chan struct{}), make(chan struct{}), make(chan struct{})
	}
	a.dynos[x.info.ID] = x
	cctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel
	m.wg.Add(1)
	go m.supervise(cctx, x, spec, false)
	return x.info, nil
}

// Wait blocks until the one-off dyno with runtime id id exits and returns
// its exit code. It returns an error wrapping core.ErrNotFound for an
// unknown or non-one-off dyno.
func (m *Manager) Wait(ctx context.Context, app, id string) (int, error) {
	m.mu.Lock()
	var x *dyno
	if a := m.apps[app]; a != nil {
		x = a.dynos[id]
	}
	m.mu.Unlock()
	if x == nil || x.done == nil {
		return 0, fmt.Errorf("no one-off dyno %q in app %q: %w", id, app, core.ErrNotFound)
	}
	select {
	case code := <-x.done:
		x.done <- code // let other waiters see it too
		return code, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Attach connects to a one-off dyno started with Attach and returns its exit
// code. It returns an error wrapping core.ErrUnsupported when the runtime
// cannot attach.
//
// A one-off dyno started with Attach runs its command only once its client
// attaches here; it is stopped with R13 when none does in AttachTimeout.
func (m *Manager) Attach(ctx context.Context, id string, tio core.AttachIO) (int, error) {
	at, ok := m.rt.(core.Attacher)
	if !ok {
		return 0, fmt.Errorf("runtime cannot attach to dynos: %w", core.ErrUnsupported)
	}
	m.mu.Lock()
	var x *dyno
	for _, a := range m.apps {
		if d := a.dynos[id]; d != nil {
			x = d
		}
	}
	m.mu.Unlock()
	if x == nil {
		return 0, fmt.Errorf("no dyno %q: %w", id, core.ErrNotFound)
	}
	if x.attachReq != nil {
		x.reqOnce.Do(func() { close(x.attachReq) })
		defer x.doneOnce.Do(func() { close(x.attachDone) })
		select {
		case <-x.started:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if x.startErr != nil {
			return 0, fmt.Errorf("dyno %s did not start: %w", x.info.Name, x.startErr)
		}
	}
	return at.Attach(ctx, id, tio)
}

// Adopt takes over the dynos the runtime is already running with this
// manager's labels (after a paasd restart), re-attaching their logs. Dynos
// that exited while paasd was down are handled by the usual policy: the
// next Apply starts their replacements. Call it once, before the first
// Apply.
func (m *Manager) Adopt(ctx context.Context) (int, error) {
	list, err := m.rt.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("adopt: list dynos: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, st := range list {
		name := st.Labels[LabelApp]
		if name == "" {
			continue
		}
		app := st.Labels[LabelAppID]
		if app == "" {
			app = name
		}
		if st.State != core.DynoUp && st.State != core.DynoStarting {
			_ = m.rt.Remove(ctx, st.ID)
			continue
		}
		rel, _ := strconv.Atoi(st.Labels[LabelRelease])
		port, _ := strconv.Atoi(st.Labels[LabelPort])
		a := m.app(app)
		x := &dyno{
			info: Info{ID: st.ID, AppID: app, App: name, Name: st.Labels[LabelName], Type: st.Labels[LabelType],
				Command: st.Labels[LabelCommand], Size: st.Labels[LabelSize], Release: rel, State: st.State,
				Address: st.Address, StartedAt: st.StartedAt, UpdatedAt: time.Now(), OneOff: st.Labels[LabelOneOff] == "true"},
			port: port, wanted: true, stopped: make(chan struct{}), wake: make(chan struct{}, 1),
		}
		if x.info.OneOff {
			x.done = make(chan int, 1)
		}
		if port >= m.nextPort && !m.opts.SameAddressPort {
			m.nextPort = port + 1
		}
		a.dynos[x.info.ID] = x
		cctx, cancel := context.WithCancel(context.Background())
		x.cancel = cancel
		spec := core.DynoSpec{ID: st.ID, App: name, AppID: app, Name: x.info.Name, Type: x.info.Type, Port: port, Command: x.info.Command, Labels: st.Labels}
		m.wg.Add(1)
		go m.supervise(cctx, x, spec, true)
		n++
	}
	return n, nil
}
