package core

import (
	"context"
	"io"
	"time"
)

// RuntimeAPIVersions are the dyno runtime contract versions this core speaks.
var RuntimeAPIVersions = []int{1}

// Dyno runtime capabilities a plugin may declare. The conformance suite runs
// the checks of a capability only when it is declared.
const (
	// RuntimeCapAttach: the runtime implements [Attacher] (one-off dynos with
	// a TTY).
	RuntimeCapAttach = "attach"
	// RuntimeCapIsolation: dynos have their own namespaces, filesystem and
	// network, and cannot reach each other.
	RuntimeCapIsolation = "isolation"
	// RuntimeCapLimits: dyno sizes are enforced as memory, CPU and pids limits.
	RuntimeCapLimits = "limits"
	// RuntimeCapRecover: dynos survive a restart of the host process and are
	// listed again by a new runtime instance over the same state dir.
	RuntimeCapRecover = "recover"
	// RuntimeCapSeccomp: dynos run under a seccomp filter that refuses
	// mount, namespace, keyring, module and tracing system calls with EPERM.
	RuntimeCapSeccomp = "seccomp"
)

// DynoState is a dyno's lifecycle state, with Heroku's names.
type DynoState string

// Dyno states.
const (
	DynoStarting DynoState = "starting"
	DynoUp       DynoState = "up"
	DynoCrashed  DynoState = "crashed"
	DynoDown     DynoState = "down"
	DynoIdle     DynoState = "idle"
)

// DynoLimits are the resource limits derived from a dyno size.
type DynoLimits struct {
	// MemoryBytes is the memory quota; 0 means unlimited.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// CPUShares is the relative CPU weight; 0 means the runtime's default.
	CPUShares int64 `json:"cpu_shares,omitempty"`
	// Pids is the maximum number of processes; 0 means unlimited.
	Pids int64 `json:"pids,omitempty"`
}

// DynoSpec is everything a runtime needs to start one dyno.
type DynoSpec struct {
	// ID is unique per dyno incarnation across the host, chosen by the caller.
	ID string `json:"id"`
	// App is the app's name and AppID its UUID.
	App   string `json:"app"`
	AppID string `json:"app_id,omitempty"`
	// Name is the Heroku dyno name, e.g. "web.1" or "run.4821"; Type is "web".
	Name string `json:"name"`
	Type string `json:"type"`
	// Release is the release version the dyno runs.
	Release int `json:"release,omitempty"`
	// Command is run with "/bin/sh -c" in /app.
	Command string `json:"command"`
	// Env holds config vars plus PORT, DYNO and PS, set by the caller.
	Env map[string]string `json:"env,omitempty"`
	// Port is the port a web dyno must bind (also in Env as PORT); 0 for none.
	Port int `json:"port,omitempty"`
	// Slug is the path of the slug tarball on the host; empty for none.
	Slug string `json:"slug,omitempty"`
	// Stack names the root filesystem; empty means the runtime's default.
	Stack string `json:"stack,omitempty"`
	// Size is the Heroku dyno size name; Limits are its resolved limits.
	Size   string     `json:"size,omitempty"`
	Limits DynoLimits `json:"limits,omitempty"`
	// TTY asks for a pseudo-terminal (one-off dynos, with Attacher).
	TTY bool `json:"tty,omitempty"`
	// Mounts are extra host directories to bind (build dynos: build, cache
	// and env dirs). Only the core sets them, never a user.
	Mounts []Mount `json:"mounts,omitempty"`
	// Labels are opaque key/values returned by Inspect and List.
	Labels map[string]string `json:"labels,omitempty"`
}

// Mount binds a host directory into a dyno.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// DynoStatus is what a runtime knows about one dyno.
type DynoStatus struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	State DynoState `json:"state"`
	// Address is host:port where the router reaches the dyno's $PORT.
	Address string `json:"address,omitempty"`
	// PID is the dyno's init process as seen from the host, when known.
	PID int `json:"pid,omitempty"`
	// ExitCode is set once the dyno has exited.
	ExitCode *int `json:"exit_code,omitempty"`
	// Signal names the signal that ended the dyno, if any (e.g. "KILL").
	Signal     string            `json:"signal,omitempty"`
	StartedAt  time.Time         `json:"started_at,omitempty"`
	FinishedAt time.Time         `json:"finished_at,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	// OOMKilled is true when the dyno was killed for exceeding its memory.
	OOMKilled bool `json:"oom_killed,omitempty"`
}

// StopResult reports how a dyno stopped.
type StopResult struct {
	// Killed is true when the grace period ran out and SIGKILL was sent (R12).
	Killed bool       `json:"killed"`
	Status DynoStatus `json:"status"`
}

// LogLine is one line of dyno output.
type LogLine struct {
	Time time.Time `json:"time"`
	// Stream is "stdout" or "stderr".
	Stream string `json:"stream"`
	Text   string `json:"text"`
}

// DynoRuntime starts and supervises dynos.
//
// Start returns once the dyno's process exists (state starting or up); it does
// not wait for $PORT. Methods taking an id return an error wrapping
// ErrNotFound for an unknown dyno. Stop sends SIGTERM to every process of the
// dyno, then SIGKILL after grace, and returns once all are gone; stopping a
// dyno that has already exited is not an error. Wait blocks until the dyno
// exits or ctx ends. Logs calls fn with each output line, from the first line
// the runtime still holds, until the dyno exits (then returns nil) or ctx ends.
// Remove forgets an exited dyno and frees its resources.
type DynoRuntime interface {
	Plugin
	Start(ctx context.Context, spec DynoSpec) (DynoStatus, error)
	Stop(ctx context.Context, id string, grace time.Duration) (StopResult, error)
	Signal(ctx context.Context, id string, signal string) error
	Inspect(ctx context.Context, id string) (DynoStatus, error)
	List(ctx context.Context) ([]DynoStatus, error)
	Wait(ctx context.Context, id string) (DynoStatus, error)
	Logs(ctx context.Context, id string, fn func(LogLine) error) error
	Remove(ctx context.Context, id string) error
}

// AttachIO is a one-off dyno's terminal.
type AttachIO struct {
	Stdin  io.Reader
	Stdout io.Writer
	// Resize delivers terminal size changes; nil for none.
	Resize <-chan TermSize
}

// TermSize is a terminal size in characters.
type TermSize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// Attacher is an optional runtime capability (RuntimeCapAttach): Attach
// connects a dyno started with TTY to io and returns the dyno's exit code
// when it exits.
type Attacher interface {
	Attach(ctx context.Context, id string, io AttachIO) (int, error)
}

// DynoMemory is a dyno's memory use, from which the dyno manager emits R14
// (memory quota exceeded) and R15 (vastly exceeded).
type DynoMemory struct {
	// UsageBytes is the memory the dyno uses now (RSS plus page cache
	// charged to it, as its cgroup counts it).
	UsageBytes int64 `json:"usage_bytes"`
	// SwapBytes is the swap the dyno uses, when the runtime knows it.
	SwapBytes int64 `json:"swap_bytes,omitempty"`
	// LimitBytes is the enforced quota; 0 means none.
	LimitBytes int64 `json:"limit_bytes,omitempty"`
}

// MemoryReporter is an optional runtime capability: MemoryStats returns a
// running dyno's memory use, or an error wrapping ErrNotFound for an unknown
// dyno and ErrConflict for one that has exited.
type MemoryReporter interface {
	MemoryStats(ctx context.Context, id string) (DynoMemory, error)
}
