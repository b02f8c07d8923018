// Package process is the dyno runtime for development: each dyno is a plain
// child process of the host, "/bin/sh -c COMMAND" in its own session and
// process group, run in a per-dyno copy of the slug.
//
// It offers no isolation and no limits: use it where containers are not
// available (a laptop, CI without root). It declares the capabilities
// "attach" (one-off dynos on a real pseudo-terminal) and "recover" (a new
// Runtime over the same state dir lists and adopts dynos still running).
//
// # State dir
//
// Each dyno has a directory STATE/dynos/ID holding record.json (spec, pid,
// process start time, exit status once known), app/ (the extracted slug: the
// dyno's ephemeral file system, deleted by Remove) and stdout.log and
// stderr.log, which the dyno writes directly so that it keeps running and
// logging while paasd restarts.
//
// # Notes
//
//   - The environment is exactly DynoSpec.Env; nothing leaks from the host.
//   - Stop and Signal reach every process of the dyno's process group; a
//     process that leaves the group (setsid) escapes them.
//   - Mounts are only accepted when Source equals Target (the host file
//     system is visible anyway).
//   - The exit code of an adopted dyno (started by an earlier instance) is
//     known only if that instance recorded it; otherwise it is nil.
package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/slug"
	"github.com/paasd/paasd/runtimes/internal/logtail"
	"github.com/paasd/paasd/runtimes/internal/signals"
	"github.com/paasd/paasd/runtimes/internal/ttyio"
)

// ID is the runtime's plugin id.
const ID = "paasd.runtime.process"

// ConfigSchema is the CUE definition of Config.
const ConfigSchema = `{
	// state_dir holds one directory per dyno; a new runtime over the same
	// dir adopts the dynos still running.
	state_dir?: string
}`

// Config configures a Runtime. The zero value is usable.
type Config struct {
	// StateDir holds the dynos' records, slugs and logs. Empty means a new
	// temporary directory (so nothing is recovered across instances).
	StateDir string `json:"state_dir,omitempty"`
}

// Runtime runs dynos as host processes. It is safe for concurrent use.
type Runtime struct {
	mu    sync.Mutex
	dir   string
	dynos map[string]*dyno
}

var (
	_ core.DynoRuntime = (*Runtime)(nil)
	_ core.Attacher    = (*Runtime)(nil)
)

// record is what the state dir keeps about a dyno.
type record struct {
	Spec       core.DynoSpec `json:"spec"`
	PID        int           `json:"pid"`
	StartTicks uint64        `json:"start_ticks"`
	StartedAt  time.Time     `json:"started_at"`
	Exited     bool          `json:"exited,omitempty"`
	ExitCode   *int          `json:"exit_code,omitempty"`
	Signal     string        `json:"signal,omitempty"`
	FinishedAt time.Time     `json:"finished_at,omitempty"`
	Stopped    bool          `json:"stopped,omitempty"`
}

type dyno struct {
	dir  string
	done chan struct{} // closed once the leader has exited

	mu       sync.Mutex
	rec      record
	up       bool
	pty      *os.File
	attached bool
}

// New returns a Runtime over cfg.StateDir, adopting the dynos recorded there.
func New(cfg Config) (*Runtime, error) {
	r := &Runtime{}
	if err := r.init(cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// Describe implements core.Plugin.
func (r *Runtime) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID: ID, Contract: core.ContractRuntime, APIVersions: core.RuntimeAPIVersions, Version: "1",
		Capabilities: []string{core.RuntimeCapAttach, core.RuntimeCapRecover},
		ConfigSchema: ConfigSchema,
	}, nil
}

// Configure implements core.Plugin: it reads Config from req.Config and
// adopts the dynos recorded in the state dir.
func (r *Runtime) Configure(_ context.Context, req core.ConfigureRequest) error {
	var cfg Config
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &cfg); err != nil {
			return fmt.Errorf("process runtime config: %v: %w", err, core.ErrInvalid)
		}
	}
	return r.init(cfg)
}

func (r *Runtime) init(cfg Config) error {
	dir := cfg.StateDir
	if dir == "" {
		d, err := os.MkdirTemp("", "paasd-process-")
		if err != nil {
			return fmt.Errorf("process runtime state dir: %w", err)
		}
		dir = d
	}
	if err := os.MkdirAll(filepath.Join(dir, "dynos"), 0o700); err != nil {
		return fmt.Errorf("process runtime state dir: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dir = dir
	r.dynos = map[string]*dyno{}
	ents, err := os.ReadDir(filepath.Join(dir, "dynos"))
	if err != nil {
		return fmt.Errorf("process runtime state dir: %w", err)
	}
	for _, e := range ents {
		d, err := r.adopt(filepath.Join(dir, "dynos", e.Name()))
		if err != nil {
			continue // a half-written dyno dir from a crash during Start
		}
		r.dynos[d.rec.Spec.ID] = d
	}
	return nil
}

// adopt loads a dyno from its dir and watches it if it still runs.
func (r *Runtime) adopt(dir string) (*dyno, error) {
	b, err := os.ReadFile(filepath.Join(dir, "record.json"))
	if err != nil {
		return nil, err
	}
	d := &dyno{dir: dir, done: make(chan struct{})}
	if err := json.Unmarshal(b, &d.rec); err != nil {
		return nil, err
	}
	if d.rec.Exited || !alive(d.rec.PID, d.rec.StartTicks) {
		d.rec.Exited = true
		if d.rec.FinishedAt.IsZero() {
			d.rec.FinishedAt = time.Now().UTC()
		}
		close(d.done)
		return d, nil
	}
	go d.watchAdopted()
	return d, nil
}

// watchAdopted polls a dyno this instance did not start until it is gone.
func (d *dyno) watchAdopted() {
	for alive(d.rec.PID, d.rec.StartTicks) {
		time.Sleep(100 * time.Millisecond)
	}
	// The instance that started it may have recorded the exit status.
	var rec record
	if b, err := os.ReadFile(filepath.Join(d.dir, "record.json")); err == nil && json.Unmarshal(b, &rec) == nil && rec.Exited {
		d.mu.Lock()
		d.rec.ExitCode, d.rec.Signal = rec.ExitCode, rec.Signal
		d.mu.Unlock()
	}
	d.finish(nil)
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Start implements core.DynoRuntime.
func (r *Runtime) Start(ctx context.Context, spec core.DynoSpec) (core.DynoStatus, error) {
	if !idRE.MatchString(spec.ID) {
		return core.DynoStatus{}, fmt.Errorf("dyno id %q: want 1-128 letters, digits, '.', '_' or '-': %w", spec.ID, core.ErrInvalid)
	}
	if strings.TrimSpace(spec.Command) == "" {
		return core.DynoStatus{}, fmt.Errorf("dyno %s: empty command: %w", spec.ID, core.ErrInvalid)
	}
	for _, m := range spec.Mounts {
		if filepath.Clean(m.Source) != filepath.Clean(m.Target) {
			return core.DynoStatus{}, fmt.Errorf("dyno %s: mount %s at %s: the process runtime cannot remap paths (use the same source and target): %w",
				spec.ID, m.Source, m.Target, core.ErrUnsupported)
		}
	}
	r.mu.Lock()
	if r.dynos == nil {
		r.mu.Unlock()
		if err := r.init(Config{}); err != nil {
			return core.DynoStatus{}, err
		}
		r.mu.Lock()
	}
	if _, dup := r.dynos[spec.ID]; dup {
		r.mu.Unlock()
		return core.DynoStatus{}, fmt.Errorf("dyno %s: already exists: %w", spec.ID, core.ErrConflict)
	}
	dir := filepath.Join(r.dir, "dynos", spec.ID)
	d := &dyno{dir: dir, done: make(chan struct{}), rec: record{Spec: spec}}
	r.dynos[spec.ID] = d // reserve the id
	r.mu.Unlock()

	st, err := d.start()
	if err != nil {
		r.mu.Lock()
		delete(r.dynos, spec.ID)
		r.mu.Unlock()
		_ = os.RemoveAll(dir)
		return core.DynoStatus{}, fmt.Errorf("start dyno %s: %w", spec.ID, err)
	}
	return st, nil
}

func (d *dyno) start() (core.DynoStatus, error) {
	spec := d.rec.Spec
	app := filepath.Join(d.dir, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		return core.DynoStatus{}, err
	}
	if spec.Slug != "" {
		if err := slug.ExtractFile(spec.Slug, app); err != nil {
			return core.DynoStatus{}, err
		}
	}
	env := make([]string, 0, len(spec.Env))
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	cmd := exec.Command("/bin/sh", "-c", spec.Command)
	cmd.Dir = app
	cmd.Env = env
	if spec.TTY {
		f, err := pty.StartWithAttrs(cmd, &pty.Winsize{Rows: 24, Cols: 80}, &syscall.SysProcAttr{Setsid: true, Setctty: true})
		if err != nil {
			return core.DynoStatus{}, err
		}
		d.pty = f
	} else {
		stdout, err := os.OpenFile(filepath.Join(d.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return core.DynoStatus{}, err
		}
		defer stdout.Close()
		stderr, err := os.OpenFile(filepath.Join(d.dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return core.DynoStatus{}, err
		}
		defer stderr.Close()
		cmd.Stdout, cmd.Stderr = stdout, stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return core.DynoStatus{}, err
		}
	}
	d.mu.Lock()
	d.rec.PID = cmd.Process.Pid
	d.rec.StartTicks, _ = startTicks(cmd.Process.Pid)
	d.rec.StartedAt = time.Now().UTC()
	err := d.saveLocked()
	st := d.statusLocked()
	d.mu.Unlock()
	go func() {
		_ = cmd.Wait() // the exit status is in cmd.ProcessState
		d.finish(cmd.ProcessState)
	}()
	return st, err
}

// finish records the leader's exit and wakes waiters.
func (d *dyno) finish(ps *os.ProcessState) {
	d.mu.Lock()
	d.rec.Exited = true
	d.rec.FinishedAt = time.Now().UTC()
	if ps != nil {
		ws := ps.Sys().(syscall.WaitStatus)
		code := ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
			d.rec.Signal = signals.Name(ws.Signal())
		}
		d.rec.ExitCode = &code
	}
	_ = d.saveLocked()
	d.mu.Unlock()
	close(d.done)
}

func (d *dyno) saveLocked() error {
	b, err := json.Marshal(d.rec)
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.dir, "record.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d.dir, "record.json"))
}

func (d *dyno) statusLocked() core.DynoStatus {
	s := core.DynoStatus{
		ID: d.rec.Spec.ID, Name: d.rec.Spec.Name, PID: d.rec.PID, StartedAt: d.rec.StartedAt,
		Labels: d.rec.Spec.Labels, ExitCode: d.rec.ExitCode, Signal: d.rec.Signal, FinishedAt: d.rec.FinishedAt,
	}
	if d.rec.Spec.Port > 0 {
		s.Address = net.JoinHostPort("127.0.0.1", strconv.Itoa(d.rec.Spec.Port))
	}
	switch {
	case !d.rec.Exited && (d.up || d.rec.Spec.Port == 0):
		s.State = core.DynoUp
	case !d.rec.Exited:
		s.State = core.DynoStarting
	case d.rec.Stopped || (d.rec.ExitCode != nil && *d.rec.ExitCode == 0):
		s.State = core.DynoDown
	default:
		s.State = core.DynoCrashed
	}
	return s
}

// status returns the dyno's status, probing its port while it is starting.
func (d *dyno) status() core.DynoStatus {
	d.mu.Lock()
	probe := !d.rec.Exited && !d.up && d.rec.Spec.Port > 0
	port := d.rec.Spec.Port
	d.mu.Unlock()
	if probe {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
		if err == nil {
			c.Close()
			d.mu.Lock()
			d.up = true
			d.mu.Unlock()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusLocked()
}

func (d *dyno) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func (r *Runtime) get(id string) (*dyno, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.dynos[id]
	if !ok {
		return nil, fmt.Errorf("dyno %q: %w", id, core.ErrNotFound)
	}
	return d, nil
}

// Stop implements core.DynoRuntime: SIGTERM to the dyno's process group,
// SIGKILL after grace, and return once every process of the group is gone.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) (core.StopResult, error) {
	d, err := r.get(id)
	if err != nil {
		return core.StopResult{}, err
	}
	d.mu.Lock()
	pgid := d.rec.PID
	d.mu.Unlock()
	if pgid <= 0 {
		return core.StopResult{}, fmt.Errorf("stop dyno %s: still starting: %w", id, core.ErrConflict)
	}
	if d.exited() && !groupAlive(pgid) {
		return core.StopResult{Status: d.status()}, nil
	}
	d.mu.Lock()
	d.rec.Stopped = true
	d.mu.Unlock()
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	res := core.StopResult{}
	deadline := time.Now().Add(grace)
	for groupAlive(pgid) && time.Now().Before(deadline) {
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return res, fmt.Errorf("stop dyno %s: %w", id, err)
		}
	}
	if groupAlive(pgid) {
		res.Killed = true
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		for groupAlive(pgid) {
			if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
				return res, fmt.Errorf("stop dyno %s: %w", id, err)
			}
		}
	}
	select {
	case <-d.done:
	case <-ctx.Done():
		return res, fmt.Errorf("stop dyno %s: %w", id, ctx.Err())
	}
	d.mu.Lock()
	_ = d.saveLocked()
	d.mu.Unlock()
	res.Status = d.status()
	return res, nil
}

// Signal implements core.DynoRuntime: it sends sig to every process of the
// dyno's process group. Signalling an exited dyno is an error wrapping
// core.ErrConflict.
func (r *Runtime) Signal(_ context.Context, id, sig string) error {
	d, err := r.get(id)
	if err != nil {
		return err
	}
	s, err := signals.Parse(sig)
	if err != nil {
		return fmt.Errorf("signal dyno %s: %w", id, err)
	}
	d.mu.Lock()
	pgid := d.rec.PID
	d.mu.Unlock()
	if d.exited() || pgid <= 0 {
		return fmt.Errorf("signal dyno %s: dyno has exited or is still starting: %w", id, core.ErrConflict)
	}
	if err := syscall.Kill(-pgid, s); err != nil {
		return fmt.Errorf("signal dyno %s: %w", id, err)
	}
	return nil
}

// Inspect implements core.DynoRuntime.
func (r *Runtime) Inspect(_ context.Context, id string) (core.DynoStatus, error) {
	d, err := r.get(id)
	if err != nil {
		return core.DynoStatus{}, err
	}
	return d.status(), nil
}

// List implements core.DynoRuntime; dynos are sorted by id.
func (r *Runtime) List(context.Context) ([]core.DynoStatus, error) {
	r.mu.Lock()
	ds := make([]*dyno, 0, len(r.dynos))
	for _, d := range r.dynos {
		ds = append(ds, d)
	}
	r.mu.Unlock()
	out := make([]core.DynoStatus, 0, len(ds))
	for _, d := range ds {
		st := d.status()
		if st.PID == 0 {
			continue // still starting
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Wait implements core.DynoRuntime.
func (r *Runtime) Wait(ctx context.Context, id string) (core.DynoStatus, error) {
	d, err := r.get(id)
	if err != nil {
		return core.DynoStatus{}, err
	}
	select {
	case <-d.done:
		return d.status(), nil
	case <-ctx.Done():
		return d.status(), fmt.Errorf("wait for dyno %s: %w", id, ctx.Err())
	}
}

// Logs implements core.DynoRuntime. TTY dynos have no logs: their output
// goes to the attached terminal.
func (r *Runtime) Logs(ctx context.Context, id string, fn func(core.LogLine) error) error {
	d, err := r.get(id)
	if err != nil {
		return err
	}
	return logtail.Follow(ctx, []logtail.Source{
		{Path: filepath.Join(d.dir, "stdout.log"), Stream: "stdout"},
		{Path: filepath.Join(d.dir, "stderr.log"), Stream: "stderr"},
	}, d.done, fn)
}

// Remove implements core.DynoRuntime. Removing a running dyno is an error
// wrapping core.ErrConflict.
func (r *Runtime) Remove(_ context.Context, id string) error {
	d, err := r.get(id)
	if err != nil {
		return err
	}
	if !d.exited() {
		return fmt.Errorf("remove dyno %s: still running (stop it first): %w", id, core.ErrConflict)
	}
	r.mu.Lock()
	delete(r.dynos, id)
	r.mu.Unlock()
	d.mu.Lock()
	if d.pty != nil {
		d.pty.Close()
		d.pty = nil
	}
	d.mu.Unlock()
	if err := os.RemoveAll(d.dir); err != nil {
		return fmt.Errorf("remove dyno %s: %w", id, err)
	}
	return nil
}

// Attach implements core.Attacher for dynos started with TTY: it connects
// the dyno's terminal to io until the dyno exits and returns its exit code.
// Only one attachment at a time; a dyno adopted from an earlier instance
// cannot be attached (its terminal died with that instance).
func (r *Runtime) Attach(ctx context.Context, id string, aio core.AttachIO) (int, error) {
	d, err := r.get(id)
	if err != nil {
		return -1, err
	}
	d.mu.Lock()
	f := d.pty
	busy := d.attached
	if f != nil && !busy {
		d.attached = true
	}
	d.mu.Unlock()
	if f == nil {
		return -1, fmt.Errorf("attach dyno %s: no terminal (not started with TTY by this instance): %w", id, core.ErrUnsupported)
	}
	if busy {
		return -1, fmt.Errorf("attach dyno %s: already attached: %w", id, core.ErrConflict)
	}
	return ttyio.Attach(ctx, id, f, aio, d.done, func() *int {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.rec.ExitCode
	})
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errNoProc is returned by startTicks for a vanished or zombie process.
var errNoProc = errors.New("no such process")
