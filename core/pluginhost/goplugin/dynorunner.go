package goplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/paasd/paasd/core"
)

// EnvUnixSocketDir is go-plugin's variable naming the directory the plugin
// creates its Unix socket in.
const EnvUnixSocketDir = "PLUGIN_UNIX_SOCKET_DIR"

// DynoRunner runs a go-plugin process as the command of a dyno started
// through a core.DynoRuntime, for [Opener.OpenIn] (RunOptions.Runner =
// DynoRunner.Run). The dyno gets Spec (id, type, size, limits, stack,
// mounts, labels), the plugin executable at Executable, and go-plugin's
// socket directory bound read-write at SocketDir; the plugin's stdout (the
// handshake line) and stderr come from the runtime's Logs. The socket
// path the plugin announces is translated back to the host directory, so
// the host dials it across the bind mount (a path-bound Unix socket works
// across network namespaces). Under runc the dyno's limits, seccomp
// profile, network namespace and unprivileged user apply to the plugin.
//
// Kill stops the dyno; the caller removes it (core.DynoRuntime.Remove)
// when it is done, also after a graceful exit.
type DynoRunner struct {
	// Runtime starts the dyno. Required.
	Runtime core.DynoRuntime
	// Spec is the dyno; Command and the go-plugin variables of Env are
	// filled in. Spec.ID is required.
	Spec core.DynoSpec
	// Executable is the plugin's path inside the dyno (a mount of Spec);
	// empty means the command's path (a runtime without isolation).
	Executable string
	// SocketDir is where the socket directory appears inside the dyno;
	// empty means at its host path (a runtime without isolation).
	SocketDir string
	// StopGrace is the grace of Kill's stop; zero means 2 s.
	StopGrace time.Duration
}

// Run implements RunOptions.Runner.
func (d DynoRunner) Run(_ hclog.Logger, cmd *exec.Cmd, socketDir string) (runner.Runner, error) {
	if d.Runtime == nil || d.Spec.ID == "" {
		return nil, fmt.Errorf("dyno runner: no runtime or dyno id: %w", core.ErrInvalid)
	}
	// The dyno's user (unprivileged under runc) creates the socket; the
	// directory sits in a directory only paasd can enter.
	if err := os.Chmod(socketDir, 0o777); err != nil {
		return nil, fmt.Errorf("dyno runner: socket dir: %w", err)
	}
	target := d.SocketDir
	if target == "" {
		target = socketDir
	}
	exe := d.Executable
	if exe == "" {
		exe = cmd.Path
	}
	spec := d.Spec
	spec.Command = "exec " + shQuote(exe)
	spec.Env = map[string]string{}
	for k, v := range d.Spec.Env {
		spec.Env[k] = v
	}
	for _, kv := range cmd.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if k == EnvUnixSocketDir {
			v = target
		}
		spec.Env[k] = v
	}
	spec.Mounts = append(append([]core.Mount(nil), d.Spec.Mounts...), core.Mount{Source: socketDir, Target: target})
	grace := d.StopGrace
	if grace <= 0 {
		grace = 2 * time.Second
	}
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	return &dynoRun{rt: d.Runtime, spec: spec, name: exe, hostDir: socketDir, dynoDir: target, grace: grace,
		outR: outR, outW: outW, errR: errR, errW: errW, logsDone: make(chan struct{})}, nil
}

type dynoRun struct {
	rt               core.DynoRuntime
	spec             core.DynoSpec
	name             string
	hostDir, dynoDir string
	grace            time.Duration

	outR, errR *io.PipeReader
	outW, errW *io.PipeWriter

	mu         sync.Mutex
	status     string // how the dyno ended, once Wait saw it
	started    bool
	cancelLogs context.CancelFunc
	logsDone   chan struct{}
}

var _ runner.Runner = (*dynoRun)(nil)

func (r *dynoRun) Start(ctx context.Context) error {
	if _, err := r.rt.Start(ctx, r.spec); err != nil {
		return fmt.Errorf("start plugin dyno %s: %w", r.spec.ID, err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	r.started, r.cancelLogs = true, cancel
	r.mu.Unlock()
	go func() {
		defer close(r.logsDone)
		err := r.rt.Logs(lctx, r.spec.ID, func(ll core.LogLine) error {
			w := r.outW
			if ll.Stream == "stderr" {
				w = r.errW
			}
			_, err := io.WriteString(w, ll.Text+"\n")
			return err
		})
		if err == nil || errors.Is(err, context.Canceled) {
			err = io.EOF
		}
		r.outW.CloseWithError(err)
		r.errW.CloseWithError(err)
	}()
	return nil
}

func (r *dynoRun) Diagnose(context.Context) string { return "" }
func (r *dynoRun) Stdout() io.ReadCloser           { return r.outR }
func (r *dynoRun) Stderr() io.ReadCloser           { return r.errR }
func (r *dynoRun) Name() string                    { return r.name }

func (r *dynoRun) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return ""
	}
	return "dyno " + r.spec.ID
}

// Wait waits for the dyno to exit; a non-zero exit is an error.
func (r *dynoRun) Wait(ctx context.Context) error {
	st, err := r.rt.Wait(ctx, r.spec.ID)
	if err != nil {
		return fmt.Errorf("wait for plugin dyno %s: %w", r.spec.ID, err)
	}
	// Logs ends once the dyno's output is delivered; do not wait for ever
	// on a runtime that keeps it open.
	select {
	case <-r.logsDone:
	case <-time.After(5 * time.Second):
		r.stopLogs()
	}
	var status string
	switch {
	case st.OOMKilled:
		status = fmt.Sprintf("out of memory: the %s dyno's limit is %d MB", r.spec.Size, r.spec.Limits.MemoryBytes>>20)
	case st.ExitCode != nil && *st.ExitCode != 0:
		status = fmt.Sprintf("exit status %d", *st.ExitCode)
	case st.Signal != "":
		status = "killed by " + st.Signal
	}
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
	if status != "" {
		return fmt.Errorf("plugin dyno %s: %s", r.spec.ID, status)
	}
	return nil
}

// ExitStatus says how the dyno ended ("exit status 3", "killed by
// SIGKILL", "out of memory: …"), or "" while it runs or after exit 0.
func (r *dynoRun) ExitStatus() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Kill stops the dyno (SIGTERM, SIGKILL after the grace).
func (r *dynoRun) Kill(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.grace+30*time.Second)
	defer cancel()
	_, err := r.rt.Stop(ctx, r.spec.ID, r.grace)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("stop plugin dyno %s: %w", r.spec.ID, err)
	}
	return nil
}

func (r *dynoRun) stopLogs() {
	r.mu.Lock()
	cancel := r.cancelLogs
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	<-r.logsDone
}

// PluginToHost maps the socket the plugin announces (a path in the dyno's
// socket dir) to the host's path of the same file.
func (r *dynoRun) PluginToHost(network, addr string) (string, string, error) {
	return translate(network, addr, r.dynoDir, r.hostDir)
}

// HostToPlugin is the reverse of PluginToHost.
func (r *dynoRun) HostToPlugin(network, addr string) (string, string, error) {
	return translate(network, addr, r.hostDir, r.dynoDir)
}

func translate(network, addr, from, to string) (string, string, error) {
	if network != "unix" {
		return "", "", fmt.Errorf("plugin in a dyno announced a %s address %q; only a Unix socket in the shared directory can be reached: %w", network, addr, core.ErrPluginFailed)
	}
	rel, err := filepath.Rel(from, filepath.Clean(addr))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", "", fmt.Errorf("plugin socket %q is outside the shared directory %s: %w", addr, from, core.ErrPluginFailed)
	}
	return network, filepath.Join(to, rel), nil
}

func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
