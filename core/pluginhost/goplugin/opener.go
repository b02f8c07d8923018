package goplugin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/wire"
)

// Defaults of the [Opener] fields.
const (
	DefaultCallTimeout  = 30 * time.Second
	DefaultStartTimeout = time.Minute
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	// stableAfter is how long a process must have run for its exit to count
	// as a fresh failure rather than one more in a crash loop.
	stableAfter = time.Minute
	// exitGrace is how long a call whose connection broke waits for
	// go-plugin to report the process's exit, to name the cause.
	exitGrace = 500 * time.Millisecond
	// maxMessage bounds one gRPC message in either direction.
	maxMessage = 64 << 20
	// windowSize is the HTTP/2 flow-control window of plugin connections.
	windowSize = 4 << 20
)

// Opener starts paasd plugins as HashiCorp go-plugin processes speaking
// gRPC, and implements pluginhost.Opener. The zero value is ready to use with
// the documented defaults. An Opener is safe for concurrent use; it must not
// be changed after its first Open.
//
// Every process is started with go-plugin's AutoMTLS (a one-time client and
// server certificate: only this host can talk to the plugin, and only to the
// process it started), without paasd's own environment unless InheritEnv is
// set, and with its stderr and stdout forwarded to Logger.
//
// Errors from Open and from calls do not repeat the plugin's path:
// pluginhost.Host and wire.Client prefix the reference.
type Opener struct {
	// CallTimeout bounds each call that has no entry in MethodTimeouts, in
	// addition to the caller's ctx. Zero means DefaultCallTimeout (30 s).
	CallTimeout time.Duration
	// MethodTimeouts overrides CallTimeout per wire method name. A negative
	// value means the call is bounded by the caller's ctx only. Nil means
	// the long-running methods Compile (buildpack), Wait and Stop (dyno
	// runtime) are bounded by the caller's ctx only. Streaming methods
	// (runtime and router Logs) are always bounded by the caller's ctx only.
	MethodTimeouts map[string]time.Duration
	// StartTimeout bounds starting a process and its go-plugin handshake.
	// Zero means DefaultStartTimeout (1 min).
	StartTimeout time.Duration
	// Checksums pins plugin executables: path → hex SHA-256 of the file.
	// A pinned file whose content differs is refused before it runs, at
	// load and at every restart. Paths are compared after filepath.Abs.
	// Nil pins nothing.
	Checksums map[string]string
	// RequireChecksum refuses to start any plugin not listed in Checksums.
	RequireChecksum bool
	// InheritEnv passes paasd's own environment to plugins. The default
	// (false) starts them with only Env and go-plugin's handshake variables,
	// so that secrets in paasd's environment do not leak to plugins.
	InheritEnv bool
	// Env lists extra "KEY=value" variables for every plugin process.
	Env []string
	// Logger receives go-plugin's log and the plugins' output, each record
	// carrying a "plugin" attribute with the path. Nil means slog.Default().
	Logger *slog.Logger
	// MinBackoff is the delay before the first restart of a crashed plugin;
	// it doubles with each crash in a row, up to MaxBackoff. Zero means
	// DefaultMinBackoff (100 ms) and DefaultMaxBackoff (30 s). A process
	// that ran for a minute before it exited restarts after MinBackoff again.
	MinBackoff, MaxBackoff time.Duration

	// grpcOnly turns the call channel off (benchmarks compare against it).
	grpcOnly bool
}

var _ pluginhost.Opener = (*Opener)(nil)

// Open starts the plugin at path for contract c and returns a wire.Conn to it
// (which also implements wire.Streamer) and an io.Closer that kills the
// process and stops restarts.
//
// Errors wrap core.ErrNotFound for a missing file, core.ErrPluginFailed for
// a file that is not executable, fails its checksum, or does not complete
// the paasd go-plugin handshake (not a paasd plugin), core.ErrUnsupported
// when the plugin speaks none of the host's API versions of c, and
// core.ErrInvalid for a bad Checksums entry.
//
// The returned Conn watches the process: when it exits, calls in flight and
// new calls fail at once with an error wrapping core.ErrUnavailable while
// the Conn restarts the process in the background (exponential backoff, see
// MinBackoff) and replays the last successful Configure call to it.
func (o *Opener) Open(ctx context.Context, path string, c core.Contract) (wire.Conn, io.Closer, error) {
	if !c.Valid() {
		return nil, nil, fmt.Errorf("unknown contract %q: %w", c, core.ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin path %q: %w: %w", path, err, core.ErrInvalid)
	}
	inst, err := o.start(ctx, abs, c, nil)
	if err != nil {
		return nil, nil, err
	}
	cn := &conn{o: o, path: abs, contract: c, inst: inst, stop: make(chan struct{}), log: o.logger().With("plugin", abs)}
	cn.wg.Add(1)
	go cn.supervise(inst)
	return cn, cn, nil
}

// RunOptions say how [Opener.OpenIn] runs a plugin process somewhere other
// than on the host, e.g. in a dyno ([DynoRunner]).
type RunOptions struct {
	// Runner starts the process: it gets the command go-plugin would run
	// (the plugin's path and go-plugin's handshake environment: magic
	// cookie, PLUGIN_PROTOCOL_VERSIONS, PLUGIN_CLIENT_CERT,
	// PLUGIN_UNIX_SOCKET_DIR) and the host directory go-plugin created for
	// the plugin's Unix socket, which the runner must share with the
	// process and translate (runner.AddrTranslator). Required.
	Runner func(l hclog.Logger, cmd *exec.Cmd, socketDir string) (runner.Runner, error)
	// SocketTempDir is where go-plugin creates the socket directory; it
	// should be a directory only paasd can enter. Empty means os.TempDir().
	SocketTempDir string
}

// OpenIn is [Opener.Open] for a process started by opts.Runner instead of
// on the host: go-plugin's handshake and AutoMTLS are the same, the gRPC
// connection crosses the runner's shared Unix socket directory, and unary
// calls stay on gRPC (the call channel needs a host socket the process
// cannot reach). The process is not restarted: once it exits, every call
// fails with an error wrapping core.ErrUnavailable that names the runner's
// id (e.g. the dyno). Close asks the process to exit, then kills it through
// the runner.
func (o *Opener) OpenIn(ctx context.Context, path string, c core.Contract, opts RunOptions) (wire.Conn, io.Closer, error) {
	if !c.Valid() {
		return nil, nil, fmt.Errorf("unknown contract %q: %w", c, core.ErrInvalid)
	}
	if opts.Runner == nil {
		return nil, nil, fmt.Errorf("no plugin runner: %w", core.ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin path %q: %w: %w", path, err, core.ErrInvalid)
	}
	inst, err := o.start(ctx, abs, c, &opts)
	if err != nil {
		return nil, nil, err
	}
	cn := &conn{o: o, path: abs, contract: c, inst: inst, stop: make(chan struct{}), log: o.logger().With("plugin", abs), once: true}
	cn.wg.Add(1)
	go cn.supervise(inst)
	return cn, cn, nil
}

func (o *Opener) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

func (o *Opener) timeout(method string) time.Duration {
	if d, ok := o.MethodTimeouts[method]; ok {
		return d
	}
	if o.MethodTimeouts == nil {
		switch method {
		case wire.MethodCompile, wire.MethodWait, wire.MethodStop:
			return -1
		}
	}
	if o.CallTimeout > 0 {
		return o.CallTimeout
	}
	return DefaultCallTimeout
}

func (o *Opener) backoff(failures int) time.Duration {
	lo, hi := o.MinBackoff, o.MaxBackoff
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	d := lo
	for i := 0; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// checkFile refuses a missing, non-executable or checksum-mismatched file.
func (o *Opener) checkFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no plugin executable: file does not exist: %w", core.ErrNotFound)
	case err != nil:
		return fmt.Errorf("plugin executable: %w: %w", err, core.ErrPluginFailed)
	case fi.IsDir():
		return fmt.Errorf("a directory, not a plugin executable: %w", core.ErrPluginFailed)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("file is not executable (mode %s): %w", fi.Mode().Perm(), core.ErrPluginFailed)
	}
	want, pinned, err := o.pinned(path)
	if err != nil {
		return err
	}
	if !pinned {
		if o.RequireChecksum {
			return fmt.Errorf("no pinned checksum and RequireChecksum is set; refusing to run it: %w", core.ErrPluginFailed)
		}
		return nil
	}
	got, err := fileSHA256(path)
	if err != nil {
		return fmt.Errorf("checksum: %w: %w", err, core.ErrPluginFailed)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("checksum mismatch: file has sha256 %x, pinned %x; refusing to run it: %w", got, want, core.ErrPluginFailed)
	}
	return nil
}

// pinned returns the pinned SHA-256 of path, if any.
func (o *Opener) pinned(path string) ([]byte, bool, error) {
	for p, sum := range o.Checksums {
		ap, err := filepath.Abs(p)
		if err != nil || ap != path {
			continue
		}
		b, err := hex.DecodeString(strings.TrimSpace(sum))
		if err != nil || len(b) != sha256.Size {
			return nil, false, fmt.Errorf("pinned checksum is not a hex SHA-256: %q: %w", sum, core.ErrInvalid)
		}
		return b, true, nil
	}
	return nil, false, nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// instance is one running plugin process.
type instance struct {
	client  *plugin.Client
	rpc     *rpcClient
	pid     int
	started time.Time
	// who names the process in errors: "plugin process (pid N)", or the
	// runner's id for a process started by a RunOptions.Runner.
	who string
	// status, if set, says how the process ended ("exit status 3"), once
	// it has.
	status func() string
}

// exitedAs is " (how it ended)" when the runner knows, else "".
func (i *instance) exitedAs() string {
	if i.status == nil {
		return ""
	}
	if s := i.status(); s != "" {
		return " (" + s + ")"
	}
	return ""
}

func (i *instance) exited() bool { return i.rpc.done.Err() != nil }

// start starts one process and completes the handshake.
func (o *Opener) start(ctx context.Context, path string, c core.Contract, run *RunOptions) (*instance, error) {
	if err := o.checkFile(path); err != nil {
		return nil, err
	}
	startTimeout := o.StartTimeout
	if startTimeout <= 0 {
		startTimeout = DefaultStartTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		startTimeout = min(startTimeout, time.Until(dl))
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return nil, fmt.Errorf("start plugin: %w: %w", ctx.Err(), core.ErrUnavailable)
	case ctx.Err() != nil || startTimeout <= 0:
		return nil, fmt.Errorf("start plugin: %w: %w", context.DeadlineExceeded, core.ErrTimeout)
	}
	log := o.logger().With("plugin", path)
	var secure *plugin.SecureConfig
	if want, ok, _ := o.pinned(path); ok {
		// go-plugin checks again right before it runs the file.
		secure = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}
	cmd := exec.Command(path)
	cmd.Env = append([]string(nil), o.Env...)
	dieWithParent(cmd)
	tail := &tailBuffer{}
	hostVersions := pluginhost.HostVersions(c)
	var runnerFunc func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error)
	var sockets *plugin.UnixSocketConfig
	var rn runner.Runner
	if run != nil {
		// go-plugin builds the command's environment on a command of its
		// own when a RunnerFunc is set: hand it the path and o.Env.
		secure = nil // checked above; go-plugin cannot check a runner's file
		runnerFunc = func(l hclog.Logger, gc *exec.Cmd, dir string) (runner.Runner, error) {
			gc.Path, gc.Args = path, []string{path}
			gc.Env = append(append([]string(nil), o.Env...), gc.Env...)
			r, err := run.Runner(l, gc, dir)
			rn = r
			return r, err
		}
		sockets = &plugin.UnixSocketConfig{TempDir: run.SocketTempDir}
		cmd = nil
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake(),
		VersionedPlugins: pluginSets(c, hostVersions, &grpcPlugin{}),
		Cmd:              cmd,
		RunnerFunc:       runnerFunc,
		UnixSocketConfig: sockets,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      !o.InheritEnv,
		StartTimeout:     startTimeout,
		Logger:           newSlogAdapter(log, path),
		Stderr:           tail,
		SyncStdout:       &lineLogger{l: log, msg: "plugin output", stream: "stdout"},
		SyncStderr:       &lineLogger{l: log, msg: "plugin output", stream: "stderr"},
		GRPCDialOptions:  dialOptions(),
	})
	proto, err := client.Client()
	if err != nil {
		client.Kill() // waits for the stderr reader, so tail is complete
		return nil, classifyStartError(c, hostVersions, err, tail)
	}
	raw, err := proto.Dispense(string(c))
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispense %s plugin: %w: %w", c, err, core.ErrPluginFailed)
	}
	rc, ok := raw.(*rpcClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("dispense %s plugin: unexpected client %T: %w", c, raw, core.ErrPluginFailed)
	}
	switch ch, err := o.attach(ctx, rc.cc, run != nil); {
	case err != nil:
		log.Warn("plugin call channel not available; calls go over gRPC", "err", err)
	case ch != nil:
		rc.calls.Store(ch)
		context.AfterFunc(rc.done, ch.close)
	}
	pid := 0
	if rc := client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}
	who := fmt.Sprintf("plugin process (pid %d)", pid)
	runnerID := ""
	if rn != nil {
		runnerID = rn.ID()
	}
	if run != nil {
		who = fmt.Sprintf("plugin process (in %s)", runnerID)
	}
	log.Debug("plugin process started", "pid", pid, "runner", runnerID, "contract", c, "api_version", client.NegotiatedVersion())
	inst := &instance{client: client, rpc: rc, pid: pid, started: time.Now(), who: who}
	if es, ok := rn.(interface{ ExitStatus() string }); ok {
		inst.status = es.ExitStatus
	}
	return inst, nil
}

// classifyStartError turns go-plugin's start error into one clear error
// wrapping the right core sentinel. go-plugin has no typed errors for these
// cases, so its messages are matched.
func classifyStartError(c core.Contract, hostVersions []int, err error, tail *tailBuffer) error {
	said := tail.lines(3)
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("checksum mismatch (file changed while starting); refusing to run it: %w", core.ErrPluginFailed)
	case strings.Contains(msg, "incompatible API version"):
		if said == "" {
			said = msg
		}
		return fmt.Errorf("no common %s contract API version: host speaks %s; plugin said %q: %w",
			c, versionList(hostVersions), said, core.ErrUnsupported)
	case strings.Contains(msg, "exec format error"), strings.Contains(msg, "permission denied"):
		return fmt.Errorf("cannot execute: %w: %w", err, core.ErrPluginFailed)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("no go-plugin handshake within the start timeout (is it a paasd plugin built with sdk.Serve?): %w: %w", err, core.ErrPluginFailed)
	}
	if said != "" {
		return fmt.Errorf("not a paasd plugin or it failed to start (no valid go-plugin handshake: %s; its stderr: %q): %w",
			oneLine(msg), said, core.ErrPluginFailed)
	}
	return fmt.Errorf("not a paasd plugin or it failed to start (no valid go-plugin handshake: %s): %w", oneLine(msg), core.ErrPluginFailed)
}

// oneLine flattens go-plugin's message and drops its generic advice.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "This usually means")
	return strings.Join(strings.Fields(s), " ")
}

// conn is the wire.Conn of one plugin: the current process, and the
// supervisor that restarts it.
type conn struct {
	o        *Opener
	path     string
	contract core.Contract
	log      *slog.Logger

	mu        sync.Mutex
	inst      *instance // nil while restarting or closed
	down      error     // why inst is nil
	configure []byte    // the last successful Configure request
	closed    bool
	// once: no restart (OpenIn); an exited process stays down.
	once bool

	stop chan struct{}
	wg   sync.WaitGroup
}

var (
	_ wire.Conn     = (*conn)(nil)
	_ wire.Streamer = (*conn)(nil)
	_ io.Closer     = (*conn)(nil)
)

func (c *conn) current() (*instance, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, fmt.Errorf("plugin is closed: %w", core.ErrUnavailable)
	case c.inst == nil:
		return nil, c.down
	case c.inst.exited():
		return nil, fmt.Errorf("%s exited%s%s: %w", c.inst.who, c.inst.exitedAs(), c.restarting(), core.ErrUnavailable)
	}
	return c.inst, nil
}

// callContext bounds a call by the method's deadline (if any) and by the
// life of the process.
func (c *conn) callContext(ctx context.Context, method string, inst *instance, stream bool) (context.Context, time.Duration, context.CancelFunc) {
	d := time.Duration(-1)
	if !stream {
		d = c.o.timeout(method)
	}
	var cctx context.Context
	var cancel context.CancelFunc
	if d > 0 {
		cctx, cancel = context.WithTimeout(ctx, d)
	} else {
		cctx, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(inst.rpc.done, cancel)
	return cctx, d, func() { stop(); cancel() }
}

// transportError explains a failed call: the process died, the caller's ctx
// ended, the per-call deadline passed, or the transport failed.
func (c *conn) transportError(ctx, cctx context.Context, d time.Duration, inst *instance, err error) error {
	code := status.Code(err)
	switch {
	case inst.exited():
		return fmt.Errorf("%s exited during the call%s%s: %w", inst.who, inst.exitedAs(), c.restarting(), core.ErrUnavailable)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("caller's deadline passed before the plugin answered: %w", core.ErrTimeout)
	case ctx.Err() != nil:
		return fmt.Errorf("call abandoned: %w", ctx.Err())
	case errors.Is(cctx.Err(), context.DeadlineExceeded) || code == codes.DeadlineExceeded:
		return fmt.Errorf("no answer within the per-call deadline of %s: %w", d, core.ErrTimeout)
	case code == codes.Unavailable || code == codes.Canceled:
		// The connection broke; when the process is dying, go-plugin sees
		// its exit a moment later. Wait briefly to say which it was.
		select {
		case <-inst.rpc.done.Done():
			return fmt.Errorf("%s exited during the call%s%s: %w", inst.who, inst.exitedAs(), c.restarting(), core.ErrUnavailable)
		case <-time.After(exitGrace):
		}
		return fmt.Errorf("%s unreachable: %w: %w", inst.who, err, core.ErrUnavailable)
	case code == codes.ResourceExhausted:
		return fmt.Errorf("message too large for the plugin transport (limit %d bytes): %w: %w", maxMessage, err, core.ErrInvalid)
	}
	return fmt.Errorf("plugin transport: %w: %w", err, core.ErrPluginFailed)
}

// Call implements wire.Conn.
func (c *conn) Call(ctx context.Context, method string, req []byte) ([]byte, error) {
	inst, err := c.current()
	if err != nil {
		return nil, err
	}
	cctx, d, cancel := c.callContext(ctx, method, inst, false)
	defer cancel()
	out, remote, err := inst.rpc.call(cctx, method, req)
	if err != nil {
		// gRPC gives the plugin the same deadline, and its clock may
		// expire it a moment before ours: a plugin that gives up at it
		// answers with a timeout, which is still our deadline passing.
		if remote && errors.Is(err, core.ErrTimeout) {
			select {
			case <-cctx.Done():
			case <-time.After(exitGrace):
			}
		}
		if remote && cctx.Err() == nil {
			return nil, err
		}
		return nil, c.transportError(ctx, cctx, d, inst, err)
	}
	if method == wire.MethodConfigure {
		c.mu.Lock()
		c.configure = append([]byte(nil), req...)
		c.mu.Unlock()
	}
	return out, nil
}

// Stream implements wire.Streamer. A stream is bounded by ctx only, and ends
// with an error wrapping core.ErrUnavailable when the process exits.
func (c *conn) Stream(ctx context.Context, method string, req []byte, recv func([]byte) error) error {
	inst, err := c.current()
	if err != nil {
		return err
	}
	cctx, d, cancel := c.callContext(ctx, method, inst, true)
	defer cancel()
	remote, err := inst.rpc.stream(cctx, method, req, recv)
	if err != nil && (!remote || (cctx.Err() != nil && wire.IsRemote(err))) {
		return c.transportError(ctx, cctx, d, inst, err)
	}
	return err
}

// Close kills the process (go-plugin asks it to exit, then kills it after
// 2 s) and stops restarts. It is safe to call more than once.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	inst := c.inst
	c.inst = nil
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
	if inst != nil {
		inst.client.Kill()
	}
	return nil
}

// supervise waits for the process to exit and restarts it, until Close.
func (c *conn) supervise(inst *instance) {
	defer c.wg.Done()
	failures := 0
	for {
		select {
		case <-c.stop:
			return
		case <-inst.rpc.done.Done():
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.inst = nil
		c.down = fmt.Errorf("%s exited%s%s: %w", inst.who, inst.exitedAs(), c.restarting(), core.ErrUnavailable)
		c.mu.Unlock()
		inst.client.Kill() // reap it and collect its log
		if c.once {
			c.log.Warn("plugin process exited", "process", inst.who, "ran_for", time.Since(inst.started).Round(time.Millisecond))
			return
		}
		if time.Since(inst.started) >= stableAfter {
			failures = 0
		}
		c.log.Warn("plugin process exited; restarting it", "pid", inst.pid, "ran_for", time.Since(inst.started).Round(time.Millisecond))
		for {
			delay := c.o.backoff(failures)
			failures++
			select {
			case <-c.stop:
				return
			case <-time.After(delay):
			}
			next, err := c.restart()
			if err != nil {
				c.log.Error("plugin restart failed", "attempt", failures, "error", err)
				c.mu.Lock()
				c.down = fmt.Errorf("plugin process exited and restart attempt %d failed (%w); retrying: %w", failures, err, core.ErrUnavailable)
				c.mu.Unlock()
				continue
			}
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				next.client.Kill()
				return
			}
			c.inst, c.down = next, nil
			c.mu.Unlock()
			c.log.Info("plugin process restarted", "pid", next.pid, "attempt", failures)
			inst = next
			break
		}
	}
}

// restart starts a new process and replays the last Configure call.
func (c *conn) restart() (*instance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.timeout(wire.MethodConfigure)+c.startTimeout())
	defer cancel()
	go func() { // a Close during a slow start should not wait for it
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	next, err := c.o.start(ctx, c.path, c.contract, nil)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	cfg := c.configure
	c.mu.Unlock()
	if cfg == nil {
		return next, nil
	}
	cctx, d, done := c.callContext(ctx, wire.MethodConfigure, next, false)
	defer done()
	if _, remote, err := next.rpc.call(cctx, wire.MethodConfigure, cfg); err != nil {
		next.client.Kill()
		if !remote {
			err = c.transportError(ctx, cctx, d, next, err)
		}
		return nil, fmt.Errorf("replay Configure: %w", err)
	}
	return next, nil
}

// restarting is what an error says after "exited".
func (c *conn) restarting() string {
	if c.once {
		return ""
	}
	return "; restarting it"
}

func (c *conn) startTimeout() time.Duration {
	if c.o.StartTimeout > 0 {
		return c.o.StartTimeout
	}
	return DefaultStartTimeout
}

// dialOptions are the host's gRPC options: paasd's message limits and a
// fixed flow-control window (which turns off BDP probing: no ping frames
// between small calls).
func dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
		grpc.WithInitialWindowSize(windowSize), grpc.WithInitialConnWindowSize(windowSize),
	}
}

// CheckFile refuses what Open would refuse before starting path: a missing
// or non-executable file, one whose content differs from its Checksums pin,
// or an unpinned one when RequireChecksum is set. Errors wrap
// core.ErrNotFound, core.ErrPluginFailed or core.ErrInvalid.
func (o *Opener) CheckFile(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("plugin path %q: %w: %w", path, err, core.ErrInvalid)
	}
	return o.checkFile(abs)
}
