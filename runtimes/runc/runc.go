// Package runc is paasd's production dyno runtime: every dyno is a Linux
// container made with libcontainer (runc v1.5.2 used as a library).
//
// A dyno gets new PID, mount, UTS (hostname = dyno id), IPC and network
// namespaces; a read-only root from its stack; the slug extracted to a
// per-dyno writable /app and a tmpfs /tmp, both gone at Remove (the
// ephemeral file system); an unprivileged user (65534 by default), no
// capabilities, no-new-privileges and, on x86-64 hosts, a default seccomp
// profile refusing mount, namespace, module, tracing and clock calls
// (installed by a tiny wrapper the command runs through; no libseccomp); cgroup limits from DynoSpec.Limits (memory without swap, CPU
// shares, pids); and an isolated port on the paasd0 bridge with its own
// address, so Address is DYNO_IP:PORT, dynos cannot reach each other, and
// egress is masqueraded when iptables is present.
//
// Binaries using this package must call [Init] first thing in main (and in
// TestMain): libcontainer re-executes the binary as each container's init.
//
// # Capabilities
//
// attach (TTY one-off dynos through a libcontainer console), isolation,
// limits, seccomp (x86-64 hosts, unless Config.NoSeccomp), recover (a new Runtime over the same state dir loads the running
// containers with libcontainer.Load and adopts them). It also implements
// core.MemoryReporter.
//
// # Notes
//
//   - The dyno's command runs as "/bin/sh -c 'trap exit TERM INT; COMMAND'"
//     so that the shell stays PID 1 (a process the kernel protects from
//     signals it has no handler for) and the app runs as its child, where
//     SIGTERM's default action applies. Stop and Signal reach every process
//     of the dyno's cgroup, as Heroku does.
//   - Output goes straight to per-dyno log files, so a dyno keeps logging
//     while paasd restarts and Logs re-attaches afterwards.
//   - The exit code of a dyno adopted from an earlier instance is known only
//     if that instance recorded it.
package runc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runc/libcontainer/utils"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/slug"
	"github.com/paasd/paasd/runtimes/internal/logtail"
	"github.com/paasd/paasd/runtimes/internal/seccompexec"
	"github.com/paasd/paasd/runtimes/internal/signals"
	"github.com/paasd/paasd/runtimes/internal/ttyio"
)

// ID is the runtime's plugin id.
const ID = "paasd.runtime.runc"

// ConfigSchema is the CUE definition of Config.
const ConfigSchema = `{
	state_dir?:     string
	stacks_dir?:    string
	default_stack?: string
	bridge?:        string & =~"^[a-zA-Z0-9_.-]{1,15}$"
	subnet?:        string
	uid?:           int & >0
	gid?:           int & >0
	no_nat?:        bool
	cgroup_parent?: string
	host_ports?:    [...int & >0 & <65536]
	no_seccomp?:    bool
}`

// Config configures a Runtime. Every zero value is the documented default.
type Config struct {
	// StateDir keeps libcontainer's state, the dynos' records, /app dirs and
	// logs, and the host stack's skeleton. Default /var/lib/paasd/runc.
	StateDir string `json:"state_dir,omitempty"`
	// StacksDir holds named stacks: a root file system directory NAME/ or a
	// tarball NAME.tar[.gz] (see docs/runtimes.md). Empty means only the
	// host stack.
	StacksDir string `json:"stacks_dir,omitempty"`
	// DefaultStack is used for specs without a Stack. Default HostStack.
	DefaultStack string `json:"default_stack,omitempty"`
	// Bridge is the host bridge for dyno networking. Default "paasd0".
	Bridge string `json:"bridge,omitempty"`
	// Subnet is the dynos' private IPv4 range; the bridge gets its first
	// address. Default 10.247.0.0/16.
	Subnet string `json:"subnet,omitempty"`
	// UID and GID the dyno runs as. Default 65534 (nobody, nogroup).
	UID int `json:"uid,omitempty"`
	GID int `json:"gid,omitempty"`
	// NoNAT disables egress masquerading (and the iptables rules).
	NoNAT bool `json:"no_nat,omitempty"`
	// CgroupParent is the cgroup under which dynos are placed. Default
	// "/paasd".
	CgroupParent string `json:"cgroup_parent,omitempty"`
	// HostPorts, when set (even empty), are the only TCP ports dynos may
	// reach on the host itself (the bridge address and every other host
	// address), e.g. the PostgreSQL and Redis the add-on brokers hand out;
	// everything else a dyno sends to the host is rejected (iptables INPUT
	// rules on the bridge, kept across restarts like the NAT rules; they
	// apply to the bridge, so give runtimes with different lists different
	// bridges). Traffic through the host to elsewhere is not affected.
	// Nil leaves the host reachable on every port.
	HostPorts []int `json:"host_ports,omitempty"`
	// NoSeccomp runs dynos without the default seccomp profile (an escape
	// hatch for apps that need a refused system call). On hosts other than
	// x86-64 there is no profile either way.
	NoSeccomp bool `json:"no_seccomp,omitempty"`
}

func (c *Config) defaults() {
	if c.StateDir == "" {
		c.StateDir = "/var/lib/paasd/runc"
	}
	if c.DefaultStack == "" {
		c.DefaultStack = HostStack
	}
	if c.Bridge == "" {
		c.Bridge = "paasd0"
	}
	if c.Subnet == "" {
		c.Subnet = "10.247.0.0/16"
	}
	if c.UID == 0 {
		c.UID = 65534
	}
	if c.GID == 0 {
		c.GID = 65534
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "/paasd"
	}
}

// Runtime runs dynos as libcontainer containers. It is safe for concurrent
// use.
type Runtime struct {
	cfg    Config
	net    *network
	stacks *stacks
	slugs  *slugCache
	// overlay is true when /app can be an overlay over a shared slug tree.
	overlay bool
	// seccompExec is the host path of the seccomp wrapper every dyno's
	// command runs through; empty when dynos run without seccomp.
	seccompExec string

	mu    sync.Mutex
	dynos map[string]*dyno
}

var (
	_ core.DynoRuntime    = (*Runtime)(nil)
	_ core.Attacher       = (*Runtime)(nil)
	_ core.MemoryReporter = (*Runtime)(nil)
)

// record is what the state dir keeps about a dyno besides libcontainer's
// own state.
type record struct {
	Spec       core.DynoSpec `json:"spec"`
	IP         string        `json:"ip"`
	SlugKey    string        `json:"slug_key,omitempty"`
	PID        int           `json:"pid"`
	StartedAt  time.Time     `json:"started_at"`
	Exited     bool          `json:"exited,omitempty"`
	ExitCode   *int          `json:"exit_code,omitempty"`
	Signal     string        `json:"signal,omitempty"`
	FinishedAt time.Time     `json:"finished_at,omitempty"`
	Stopped    bool          `json:"stopped,omitempty"`
	OOMKilled  bool          `json:"oom_killed,omitempty"`
}

type dyno struct {
	dir  string
	c    *libcontainer.Container
	done chan struct{}

	mu       sync.Mutex
	rec      record
	up       bool
	console  *os.File
	attached bool
	// removed is set by Remove before it deletes dir: a Stop that returns
	// at the same time must not write the record back into it.
	removed bool
}

// New returns a Runtime configured with cfg, adopting the dynos recorded in
// its state dir.
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
		Capabilities: r.capabilities(),
		ConfigSchema: ConfigSchema,
	}, nil
}

func (r *Runtime) capabilities() []string {
	caps := []string{core.RuntimeCapAttach, core.RuntimeCapIsolation, core.RuntimeCapLimits, core.RuntimeCapRecover}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Before Configure the default (seccomp on) is described.
	if r.seccompExec != "" || (r.dynos == nil && seccompexec.Supported()) {
		caps = append(caps, core.RuntimeCapSeccomp)
	}
	return caps
}

// Configure implements core.Plugin.
func (r *Runtime) Configure(_ context.Context, req core.ConfigureRequest) error {
	var cfg Config
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &cfg); err != nil {
			return fmt.Errorf("runc runtime config: %v: %w", err, core.ErrInvalid)
		}
	}
	return r.init(cfg)
}

func (r *Runtime) init(cfg Config) error {
	cfg.defaults()
	nw, err := newNetwork(cfg.Bridge, cfg.Subnet, !cfg.NoNAT)
	if err != nil {
		return fmt.Errorf("runc runtime config: %v: %w", err, core.ErrInvalid)
	}
	for _, p := range cfg.HostPorts {
		if p <= 0 || p > 65535 {
			return fmt.Errorf("runc runtime config: host_ports: %d is not a TCP port: %w", p, core.ErrInvalid)
		}
	}
	nw.hostPorts = cfg.HostPorts
	for _, d := range []string{"dynos", "libcontainer", "stacks", "slugs"} {
		if err := os.MkdirAll(filepath.Join(cfg.StateDir, d), 0o700); err != nil {
			return fmt.Errorf("runc state dir: %w", err)
		}
	}
	// Dynos run as an unprivileged user: let it traverse to its /app.
	_ = os.Chmod(cfg.StateDir, 0o711)
	_ = os.Chmod(filepath.Join(cfg.StateDir, "dynos"), 0o711)
	_ = os.Chmod(filepath.Join(cfg.StateDir, "stacks"), 0o755)
	_ = os.Chmod(filepath.Join(cfg.StateDir, "slugs"), 0o711)
	overlay := overlaySupported(cfg.StateDir)
	seccompExec := ""
	switch {
	case cfg.NoSeccomp:
		slog.Warn("runc runtime: no_seccomp is set: dynos run without a seccomp profile")
	case !seccompexec.Supported():
		slog.Warn("runc runtime: the seccomp wrapper exists for x86-64 hosts only: dynos run without a seccomp profile", "arch", runtime.GOARCH)
	default:
		seccompExec = filepath.Join(cfg.StateDir, "seccomp-exec")
		if err := seccompexec.Install(seccompExec); err != nil {
			return fmt.Errorf("runc runtime: %w", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg = cfg
	r.net = nw
	r.stacks = &stacks{stateDir: cfg.StateDir, stacksDir: cfg.StacksDir, ready: map[string]*stack{}}
	r.slugs = newSlugCache(filepath.Join(cfg.StateDir, "slugs"), cfg.UID, cfg.GID)
	r.overlay = overlay
	r.seccompExec = seccompExec
	r.dynos = map[string]*dyno{}
	ents, err := os.ReadDir(filepath.Join(cfg.StateDir, "dynos"))
	if err != nil {
		return fmt.Errorf("runc state dir: %w", err)
	}
	for _, e := range ents {
		if d, err := r.adopt(filepath.Join(cfg.StateDir, "dynos", e.Name())); err == nil {
			r.dynos[d.rec.Spec.ID] = d
			r.slugs.adopt(d.rec.SlugKey)
		}
	}
	r.slugs.scan()
	return nil
}

func (r *Runtime) lcRoot() string { return filepath.Join(r.cfg.StateDir, "libcontainer") }

// adopt loads a dyno recorded by an earlier instance.
func (r *Runtime) adopt(dir string) (*dyno, error) {
	b, err := os.ReadFile(filepath.Join(dir, "record.json"))
	if err != nil {
		return nil, err
	}
	d := &dyno{dir: dir, done: make(chan struct{})}
	if err := json.Unmarshal(b, &d.rec); err != nil {
		return nil, err
	}
	if c, err := libcontainer.Load(r.lcRoot(), d.rec.Spec.ID); err == nil {
		d.c = c
	}
	if d.rec.Exited || d.c == nil {
		d.rec.Exited = true
		close(d.done)
		return d, nil
	}
	if st, err := d.c.Status(); err != nil || st == libcontainer.Stopped {
		d.finish(nil)
		return d, nil
	}
	go d.watchAdopted()
	return d, nil
}

// watchAdopted polls a container this instance did not start until it
// stops.
func (d *dyno) watchAdopted() {
	for {
		st, err := d.c.Status()
		if err != nil || st == libcontainer.Stopped {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rec record
	if b, err := os.ReadFile(filepath.Join(d.dir, "record.json")); err == nil && json.Unmarshal(b, &rec) == nil && rec.Exited {
		d.mu.Lock()
		d.rec.ExitCode, d.rec.Signal = rec.ExitCode, rec.Signal
		d.mu.Unlock()
	}
	d.finish(nil)
}

// seccompExecPath is where the seccomp wrapper (see
// runtimes/internal/seccompexec) is bind-mounted, read-only, in every dyno:
// the dyno's command runs as "seccompExecPath /bin/sh -c COMMAND", so that
// the default seccomp profile is installed right before the shell starts.
const seccompExecPath = "/dev/.paasd-seccomp-exec"

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
		if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Target) {
			return core.DynoStatus{}, fmt.Errorf("dyno %s: mount %q at %q: both paths must be absolute: %w", spec.ID, m.Source, m.Target, core.ErrInvalid)
		}
	}
	r.mu.Lock()
	if r.dynos == nil {
		r.mu.Unlock()
		return core.DynoStatus{}, fmt.Errorf("runc runtime not configured: %w", core.ErrUnavailable)
	}
	if _, dup := r.dynos[spec.ID]; dup {
		r.mu.Unlock()
		return core.DynoStatus{}, fmt.Errorf("dyno %s: already exists: %w", spec.ID, core.ErrConflict)
	}
	d := &dyno{dir: filepath.Join(r.cfg.StateDir, "dynos", spec.ID), done: make(chan struct{}), rec: record{Spec: spec}}
	r.dynos[spec.ID] = d
	r.mu.Unlock()
	st, err := r.start(d)
	if err != nil {
		r.mu.Lock()
		delete(r.dynos, spec.ID)
		r.mu.Unlock()
		if d.c != nil {
			_ = d.c.Signal(syscall.SIGKILL)
			_ = d.c.Destroy()
		}
		r.net.release(d.rec.IP)
		r.slugs.release(d.rec.SlugKey)
		_ = os.RemoveAll(d.dir)
		return core.DynoStatus{}, fmt.Errorf("start dyno %s: %w", spec.ID, err)
	}
	return st, nil
}

func (r *Runtime) start(d *dyno) (core.DynoStatus, error) {
	spec := d.rec.Spec
	stackName := spec.Stack
	if stackName == "" {
		stackName = r.cfg.DefaultStack
	}
	stk, err := r.stacks.resolve(stackName)
	if err != nil {
		return core.DynoStatus{}, err
	}
	appMount, err := r.prepareApp(d)
	if err != nil {
		return core.DynoStatus{}, err
	}
	hosts := filepath.Join(d.dir, "hosts")
	ip, err := r.net.allocate(spec.ID)
	if err != nil {
		return core.DynoStatus{}, err
	}
	d.rec.IP = ip.String()
	hostsBody := fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n", ip, spec.ID)
	if err := os.WriteFile(hosts, []byte(hostsBody), 0o644); err != nil {
		return core.DynoStatus{}, err
	}
	if err := os.WriteFile(filepath.Join(d.dir, "hostname"), []byte(spec.ID+"\n"), 0o644); err != nil {
		return core.DynoStatus{}, err
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: spec.ID,
		Spec:       r.ociSpec(spec, stk, appMount, d.dir),
	})
	if err != nil {
		return core.DynoStatus{}, fmt.Errorf("container config: %w", err)
	}
	c, err := libcontainer.Create(r.lcRoot(), spec.ID, config)
	if err != nil {
		return core.DynoStatus{}, fmt.Errorf("create container: %w", err)
	}
	d.mu.Lock()
	d.c = c
	d.mu.Unlock()
	env := make([]string, 0, len(spec.Env))
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	args := []string{"/bin/sh", "-c", "trap exit TERM INT\n" + spec.Command}
	if r.seccompExec != "" {
		args = append([]string{seccompExecPath}, args...)
	}
	p := &libcontainer.Process{
		Args: args,
		Env:  env, UID: r.cfg.UID, GID: r.cfg.GID, Cwd: "/app", Init: true,
	}
	var consoleParent *os.File
	if spec.TTY {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return core.DynoStatus{}, fmt.Errorf("console socket: %w", err)
		}
		defer child.Close()
		consoleParent = parent
		defer parent.Close()
		p.ConsoleSocket = child
		p.ConsoleWidth, p.ConsoleHeight = 80, 24
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
		p.Stdout, p.Stderr = stdout, stderr
	}
	if err := c.Start(p); err != nil {
		return core.DynoStatus{}, fmt.Errorf("start container: %w", err)
	}
	if consoleParent != nil {
		//lint:ignore SA1019 the replacement is internal to runc; runc is pinned in go.mod
		master, err := utils.RecvFile(consoleParent)
		if err != nil {
			return core.DynoStatus{}, fmt.Errorf("receive console: %w", err)
		}
		d.console = master
	}
	pid, err := p.Pid()
	if err != nil {
		return core.DynoStatus{}, fmt.Errorf("container pid: %w", err)
	}
	if err := r.net.attach(spec.ID, pid, ip); err != nil {
		return core.DynoStatus{}, err
	}
	d.mu.Lock()
	d.rec.PID = pid
	d.rec.StartedAt = time.Now().UTC()
	err = d.saveLocked()
	d.mu.Unlock()
	if err != nil {
		return core.DynoStatus{}, err
	}
	if err := c.Exec(); err != nil {
		return core.DynoStatus{}, fmt.Errorf("exec dyno command: %w", err)
	}
	go func() {
		ps, _ := p.Wait() // the exit status is in ps
		d.finish(ps)
	}()
	// No port probe here: the app has only just been exec'd, and readiness
	// is for Inspect and the dyno manager's boot check to see.
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusLocked(), nil
}

// prepareApp makes the dyno's /app: an overlay whose lower layer is the
// slug's shared extracted tree and whose upper layer is the dyno's own
// (thrown away at Remove); or, without overlay support, a private copy.
func (r *Runtime) prepareApp(d *dyno) (specs.Mount, error) {
	app := filepath.Join(d.dir, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		return specs.Mount{}, err
	}
	if !r.overlay || d.rec.Spec.Slug == "" {
		if d.rec.Spec.Slug != "" {
			if err := slug.ExtractFile(d.rec.Spec.Slug, app); err != nil {
				return specs.Mount{}, err
			}
		}
		if err := chownTree(app, r.cfg.UID, r.cfg.GID); err != nil {
			return specs.Mount{}, err
		}
		return specs.Mount{Destination: "/app", Type: "bind", Source: app, Options: []string{"rbind", "rw", "nosuid", "nodev"}}, nil
	}
	lower, key, err := r.slugs.acquire(d.rec.Spec.Slug)
	if err != nil {
		return specs.Mount{}, err
	}
	d.rec.SlugKey = key
	work := filepath.Join(d.dir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return specs.Mount{}, err
	}
	if err := os.Chown(app, r.cfg.UID, r.cfg.GID); err != nil {
		return specs.Mount{}, err
	}
	return specs.Mount{Destination: "/app", Type: "overlay", Source: "overlay",
		Options: []string{overlayOptions(lower, app, work), "nosuid", "nodev"}}, nil
}

// ociSpec builds the OCI runtime spec of a dyno.
func (r *Runtime) ociSpec(spec core.DynoSpec, stk *stack, app specs.Mount, dir string) *specs.Spec {
	s := specconv.Example()
	s.Root = &specs.Root{Path: stk.rootfs, Readonly: true}
	s.Hostname = spec.ID
	s.Process.Terminal = spec.TTY
	s.Process.NoNewPrivileges = true
	s.Process.Capabilities = &specs.LinuxCapabilities{}
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10000, Soft: 10000}}
	s.Process.User = specs.User{UID: uint32(r.cfg.UID), GID: uint32(r.cfg.GID)}
	// /sys/fs/cgroup would expose the host's hierarchy on cgroup v1.
	mounts := s.Mounts[:0]
	for _, m := range s.Mounts {
		if m.Destination != "/sys/fs/cgroup" {
			mounts = append(mounts, m)
		}
	}
	mounts = append(mounts, stk.mounts...)
	mounts = append(mounts,
		app,
		specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=262144k"}},
		specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: filepath.Join(dir, "hosts"), Options: []string{"bind", "ro"}},
		specs.Mount{Destination: "/etc/hostname", Type: "bind", Source: filepath.Join(dir, "hostname"), Options: []string{"bind", "ro"}},
	)
	for _, m := range spec.Mounts {
		opts := []string{"rbind", "nosuid", "nodev"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		} else {
			opts = append(opts, "rw")
		}
		mounts = append(mounts, specs.Mount{Destination: m.Target, Type: "bind", Source: m.Source, Options: opts})
	}
	s.Mounts = mounts
	s.Linux.CgroupsPath = filepath.Join(r.cfg.CgroupParent, spec.ID)
	res := s.Linux.Resources
	if l := spec.Limits; l.MemoryBytes > 0 {
		lim := l.MemoryBytes
		res.Memory = &specs.LinuxMemory{Limit: &lim}
		if swapAccounting() {
			sw := lim
			res.Memory.Swap = &sw
		}
	}
	if spec.Limits.CPUShares > 0 {
		sh := uint64(spec.Limits.CPUShares)
		res.CPU = &specs.LinuxCPU{Shares: &sh}
	}
	if spec.Limits.Pids > 0 {
		p := spec.Limits.Pids
		res.Pids = &specs.LinuxPids{Limit: &p}
	}
	// The devices the OCI default set needs (null, zero, full, tty, random,
	// urandom, ptmx) are allowed by specconv's default rules.
	if r.seccompExec != "" {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: seccompExecPath, Type: "bind", Source: r.seccompExec,
			Options: []string{"bind", "ro", "nosuid", "nodev"}})
	}
	return s
}

// swapAccounting reports whether the memory cgroup can limit swap.
func swapAccounting() bool {
	for _, p := range []string{"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "/sys/fs/cgroup/memory.swap.max"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// chownTree gives the dyno's user the tree at dir.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// finish records a dyno's exit and wakes waiters.
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
	if d.c != nil {
		d.rec.OOMKilled = d.rec.OOMKilled || oomKilled(d.c)
	}
	_ = d.saveLocked()
	d.mu.Unlock()
	close(d.done)
}

// oomKilled reads the container's cgroup OOM-kill counter (v1
// memory.oom_control, v2 memory.events).
func oomKilled(c *libcontainer.Container) bool {
	st, err := c.State()
	if err != nil {
		return false
	}
	var files []string
	if p := st.CgroupPaths["memory"]; p != "" {
		files = append(files, filepath.Join(p, "memory.oom_control"))
	}
	if p := st.CgroupPaths[""]; p != "" {
		files = append(files, filepath.Join(p, "memory.events"))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, " ")
			if ok && k == "oom_kill" {
				if n, _ := strconv.Atoi(strings.TrimSpace(v)); n > 0 {
					return true
				}
			}
		}
	}
	return false
}

func (d *dyno) saveLocked() error {
	if d.removed {
		return nil
	}
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
		Labels: d.rec.Spec.Labels, ExitCode: d.rec.ExitCode, Signal: d.rec.Signal,
		FinishedAt: d.rec.FinishedAt, OOMKilled: d.rec.OOMKilled,
	}
	if d.rec.Spec.Port > 0 && d.rec.IP != "" {
		s.Address = net.JoinHostPort(d.rec.IP, strconv.Itoa(d.rec.Spec.Port))
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
	probe := !d.rec.Exited && !d.up && d.rec.Spec.Port > 0 && d.rec.IP != ""
	addr := net.JoinHostPort(d.rec.IP, strconv.Itoa(d.rec.Spec.Port))
	d.mu.Unlock()
	if probe {
		if c, err := net.DialTimeout("tcp", addr, 50*time.Millisecond); err == nil {
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

// started returns the dyno's container once Start has run its process, or
// an error wrapping core.ErrConflict while it is still starting.
func (d *dyno) started() (*libcontainer.Container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil || (d.rec.PID == 0 && !d.rec.Exited) {
		return nil, fmt.Errorf("dyno %s is still starting: %w", d.rec.Spec.ID, core.ErrConflict)
	}
	return d.c, nil
}

// signalAll sends sig to every process in the dyno's cgroup.
func (d *dyno) signalAll(sig syscall.Signal) error {
	c, err := d.started()
	if err != nil {
		return err
	}
	pids, err := c.Processes()
	if err != nil {
		return err
	}
	for _, p := range pids {
		_ = syscall.Kill(p, sig)
	}
	return nil
}

// Stop implements core.DynoRuntime: SIGTERM to every process of the dyno,
// SIGKILL after grace; it returns once the container's init has exited
// (which ends every process of its PID namespace).
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) (core.StopResult, error) {
	d, err := r.get(id)
	if err != nil {
		return core.StopResult{}, err
	}
	if d.exited() {
		return core.StopResult{Status: d.status()}, nil
	}
	c, err := d.started()
	if err != nil {
		return core.StopResult{}, fmt.Errorf("stop: %w", err)
	}
	d.mu.Lock()
	d.rec.Stopped = true
	d.mu.Unlock()
	_ = d.signalAll(syscall.SIGTERM)
	res := core.StopResult{}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-d.done:
	case <-t.C:
		res.Killed = true
		_ = c.Signal(syscall.SIGKILL)
		_ = d.signalAll(syscall.SIGKILL)
		select {
		case <-d.done:
		case <-ctx.Done():
			return res, fmt.Errorf("stop dyno %s: %w", id, ctx.Err())
		}
	case <-ctx.Done():
		return res, fmt.Errorf("stop dyno %s: %w", id, ctx.Err())
	}
	d.mu.Lock()
	_ = d.saveLocked()
	d.mu.Unlock()
	res.Status = d.status()
	return res, nil
}

// Signal implements core.DynoRuntime: sig goes to every process of the
// dyno. Signalling an exited dyno is an error wrapping core.ErrConflict.
func (r *Runtime) Signal(_ context.Context, id, sig string) error {
	d, err := r.get(id)
	if err != nil {
		return err
	}
	s, err := signals.Parse(sig)
	if err != nil {
		return fmt.Errorf("signal dyno %s: %w", id, err)
	}
	if d.exited() {
		return fmt.Errorf("signal dyno %s: dyno has exited: %w", id, core.ErrConflict)
	}
	if err := d.signalAll(s); err != nil {
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

// MemoryStats implements core.MemoryReporter from the dyno's memory cgroup.
func (r *Runtime) MemoryStats(_ context.Context, id string) (core.DynoMemory, error) {
	d, err := r.get(id)
	if err != nil {
		return core.DynoMemory{}, err
	}
	if d.exited() {
		return core.DynoMemory{}, fmt.Errorf("memory of dyno %s: dyno has exited: %w", id, core.ErrConflict)
	}
	c, err := d.started()
	if err != nil {
		return core.DynoMemory{}, fmt.Errorf("memory: %w", err)
	}
	st, err := c.Stats()
	if err != nil || st.CgroupStats == nil {
		return core.DynoMemory{}, fmt.Errorf("memory of dyno %s: %w", id, errors.Join(err, core.ErrUnavailable))
	}
	m := st.CgroupStats.MemoryStats
	out := core.DynoMemory{UsageBytes: int64(m.Usage.Usage), LimitBytes: d.rec.Spec.Limits.MemoryBytes}
	if m.SwapUsage.Usage > m.Usage.Usage {
		out.SwapBytes = int64(m.SwapUsage.Usage - m.Usage.Usage)
	}
	return out, nil
}

// Remove implements core.DynoRuntime: it destroys the container (cgroup,
// libcontainer state), frees its address and deletes its /app and logs.
// Removing a running dyno is an error wrapping core.ErrConflict.
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
	d.removed = true
	if d.console != nil {
		d.console.Close()
		d.console = nil
	}
	d.mu.Unlock()
	var errs []error
	if c, err := d.started(); err == nil {
		if err := c.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	r.net.release(d.rec.IP)
	r.slugs.release(d.rec.SlugKey)
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove dyno %s: %w", id, err)
	}
	return nil
}

// Attach implements core.Attacher for dynos started with TTY.
func (r *Runtime) Attach(ctx context.Context, id string, aio core.AttachIO) (int, error) {
	d, err := r.get(id)
	if err != nil {
		return -1, err
	}
	d.mu.Lock()
	f := d.console
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
