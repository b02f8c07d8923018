package conformance

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// RuntimeTarget is a dyno runtime under test.
type RuntimeTarget struct {
	// New returns a configured runtime keeping its state in stateDir. The
	// recover check calls it twice with the same dir, without closing the
	// first instance.
	New func(ctx context.Context, stateDir string) (core.DynoRuntime, error)
	// Stack is DynoSpec.Stack for every dyno; empty means the default.
	Stack string
	// Slug is a slug tarball whose root holds [RuntimeAppName]. Empty means
	// the suite builds one from the running executable, which must then call
	// [RunRuntimeApp] early.
	Slug string
	// Host is the address the runtime's dynos bind by default, used to find
	// a free $PORT: "127.0.0.1" (the default) for host-network runtimes.
	Host string
}

// Runtime runs the dyno runtime suite against target under go test.
// The slug it builds (when target.Slug is empty) is removed at the end.
func Runtime(t *testing.T, target RuntimeTarget) {
	t.Helper()
	rs := &runtimeSuite{target: target}
	t.Cleanup(func() {
		if rs.slug != "" && target.Slug == "" {
			_ = os.Remove(rs.slug)
		}
	})
	RunTest(t, rs.suite())
}

// RuntimeSuite returns the dyno runtime contract's checks bound to target.
func RuntimeSuite(target RuntimeTarget) Suite {
	return (&runtimeSuite{target: target}).suite()
}

func (rs *runtimeSuite) suite() Suite {
	target := rs.target
	return Suite{
		Contract: core.ContractRuntime,
		Describe: func(ctx context.Context) (core.PluginInfo, error) {
			dir, err := os.MkdirTemp("", "paasd-conformance-describe-")
			if err != nil {
				return core.PluginInfo{}, fmt.Errorf("temp dir: %w", err)
			}
			defer os.RemoveAll(dir)
			rt, err := target.New(ctx, dir)
			if err != nil {
				return core.PluginInfo{}, err
			}
			return rt.Describe(ctx)
		},
		Timeout: 2 * time.Minute,
		Checks: []Check{
			{ID: "runtime.not_found", Level: Must, Title: "every method taking an id returns ErrNotFound for an unknown dyno", Run: rs.notFound},
			{ID: "runtime.start.env", Level: Must, Title: "the dyno's environment is exactly the spec's (config vars, PORT, DYNO), not the host's", Run: rs.env},
			{ID: "runtime.start.address", Level: Must, Title: "a web dyno's $PORT is reachable at Address and the dyno becomes up", Run: rs.address},
			{ID: "runtime.stop.term", Level: Must, Title: "Stop sends SIGTERM and a dyno that exits within grace is not killed", Run: rs.stopTerm},
			{ID: "runtime.stop.kill", Level: Must, Title: "Stop sends SIGKILL after grace and reports Killed", Run: rs.stopKill},
			{ID: "runtime.stop.exited", Level: Must, Title: "stopping a dyno that has exited is not an error", Run: rs.stopExited},
			{ID: "runtime.signal", Level: Must, Title: "Signal delivers a named signal; an unknown name is ErrInvalid", Run: rs.signal},
			{ID: "runtime.wait.exit_code", Level: Must, Title: "Wait returns the exit code; non-zero exits are crashed", Run: rs.exitCode},
			{ID: "runtime.inspect.list", Level: Must, Title: "Inspect and List report id, name, labels and state", Run: rs.inspectList},
			{ID: "runtime.logs.order", Level: Must, Title: "Logs delivers stdout lines in order, stderr with its stream, and returns at exit", Run: rs.logsOrder},
			{ID: "runtime.logs.split", Level: Should, Title: "lines over 10,000 bytes are split", Run: rs.logsSplit},
			{ID: "runtime.remove", Level: Must, Title: "Remove refuses a running dyno and forgets an exited one", Run: rs.remove},
			{ID: "runtime.attach.tty", Level: Must, Capability: core.RuntimeCapAttach, Title: "a TTY dyno attaches, sees resizes and returns its exit code", Run: rs.attach},
			{ID: "runtime.isolation.network", Level: Must, Capability: core.RuntimeCapIsolation, Title: "a dyno cannot reach another dyno", Run: rs.isolationNet},
			{ID: "runtime.isolation.fs", Level: Must, Capability: core.RuntimeCapIsolation, Title: "files written by a dyno are gone for the next dyno (ephemeral file system)", Run: rs.isolationFS},
			{ID: "runtime.limits.memory", Level: Must, Capability: core.RuntimeCapLimits, Title: "a dyno over its memory quota is OOM-killed and reported OOMKilled", Run: rs.limitsMemory},
			{ID: "runtime.limits.pids", Level: Must, Capability: core.RuntimeCapLimits, Title: "a fork bomb is contained by the pids limit", Run: rs.limitsPids},
			{ID: "runtime.seccomp", Level: Must, Capability: core.RuntimeCapSeccomp, Title: "a dyno runs under a seccomp filter that refuses keyctl, personality flags and mount", Run: rs.seccomp},
			{ID: "runtime.recover", Level: Must, Capability: core.RuntimeCapRecover, Title: "a new runtime over the same state dir lists a running dyno and can stop it", Run: rs.recoverCheck},
		},
	}
}

type runtimeSuite struct {
	target  RuntimeTarget
	slugMu  sync.Mutex
	slug    string
	slugErr error
	seq     int
}

// appSlug returns the slug holding the conformance app.
func (rs *runtimeSuite) appSlug() (string, error) {
	if rs.target.Slug != "" {
		return rs.target.Slug, nil
	}
	rs.slugMu.Lock()
	defer rs.slugMu.Unlock()
	if rs.slug != "" || rs.slugErr != nil {
		return rs.slug, rs.slugErr
	}
	rs.slug, rs.slugErr = buildAppSlug()
	return rs.slug, rs.slugErr
}

// buildAppSlug writes a slug holding the running executable as the app, in
// the temp dir, reused while the executable is unchanged.
func buildAppSlug() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("conformance app: %w", err)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return "", fmt.Errorf("conformance app: %w", err)
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("paasd-conformance-slug-%d-%d.tar", fi.Size(), fi.ModTime().UnixNano()))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	src, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("conformance app: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(os.TempDir(), "paasd-conformance-slug-*.tmp")
	if err != nil {
		return "", fmt.Errorf("conformance slug: %w", err)
	}
	defer os.Remove(tmp.Name())
	tw := tar.NewWriter(tmp)
	err = tw.WriteHeader(&tar.Header{Name: RuntimeAppName, Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg, ModTime: fi.ModTime()})
	if err == nil {
		_, err = io.Copy(tw, src)
	}
	if err == nil {
		err = tw.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		return "", fmt.Errorf("conformance slug: %w", err)
	}
	return out, nil
}

// newRuntime makes a runtime for one check, with its own state dir.
func (rs *runtimeSuite) newRuntime(t *T) (core.DynoRuntime, string) {
	dir := t.TempDir()
	rt, err := rs.target.New(t.Context(), dir)
	if err != nil {
		t.Fatalf("new runtime: %v", err)
	}
	return rt, dir
}

// spec returns a dyno spec for command with a fresh id, registering a
// cleanup that stops and removes the dyno.
func (rs *runtimeSuite) spec(t *T, rt core.DynoRuntime, typ, command string) core.DynoSpec {
	rs.slugMu.Lock()
	rs.seq++
	n := rs.seq
	rs.slugMu.Unlock()
	id := fmt.Sprintf("conf-%d-%d", os.Getpid(), n)
	name := fmt.Sprintf("%s.%d", typ, n)
	s := core.DynoSpec{
		ID: id, App: "conformance", Name: name, Type: typ, Release: 1, Command: command,
		Env:   map[string]string{"DYNO": name, "PS": name, "FOO": "bar baz"},
		Stack: rs.target.Stack, Labels: map[string]string{"check": "conformance"},
	}
	if typ == "web" {
		port := rs.freePort(t)
		s.Port = port
		s.Env["PORT"] = strconv.Itoa(port)
	}
	slug, err := rs.appSlug()
	if err != nil {
		t.Fatalf("%v", err)
	}
	s.Slug = slug
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = rt.Stop(ctx, id, time.Second)
		_ = rt.Remove(ctx, id)
	})
	return s
}

func (rs *runtimeSuite) freePort(t *T) int {
	host := rs.target.Host
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func start(t *T, rt core.DynoRuntime, s core.DynoSpec) core.DynoStatus {
	st, err := rt.Start(t.Context(), s)
	if err != nil {
		t.Fatalf("start %s (%q): %v", s.ID, s.Command, err)
	}
	if st.ID != s.ID {
		t.Errorf("Start returned id %q, want %q", st.ID, s.ID)
	}
	return st
}

// waitLog waits until the dyno has logged a line containing want.
func waitLog(t *T, rt core.DynoRuntime, id, want string) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	found := errors.New("found")
	var seen []string
	err := rt.Logs(ctx, id, func(l core.LogLine) error {
		seen = append(seen, l.Text)
		if strings.Contains(l.Text, want) {
			return found
		}
		return nil
	})
	if !errors.Is(err, found) {
		t.Fatalf("dyno %s never logged %q (logs: %v, err %v)", id, want, seen, err)
	}
}

// collectLogs returns all lines of an exited dyno.
func collectLogs(t *T, rt core.DynoRuntime, id string) []core.LogLine {
	var out []core.LogLine
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := rt.Logs(ctx, id, func(l core.LogLine) error { out = append(out, l); return nil }); err != nil {
		t.Fatalf("logs %s: %v", id, err)
	}
	return out
}

// waitUp polls addr until an HTTP GET of path answers, and returns the body.
func httpGet(t *T, addr, path string) string {
	deadline := time.Now().Add(60 * time.Second)
	c := &http.Client{Timeout: 10 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		resp, err := c.Get("http://" + addr + path)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return string(b)
			}
		}
		last = err
		select {
		case <-t.Context().Done():
			t.Fatalf("GET %s%s: %v", addr, path, t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("GET %s%s: no answer within 60s: %v", addr, path, last)
	return ""
}

func wait(t *T, rt core.DynoRuntime, id string) core.DynoStatus {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	st, err := rt.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return st
}

func (rs *runtimeSuite) notFound(t *T) {
	rt, _ := rs.newRuntime(t)
	ctx := t.Context()
	const id = "no-such-dyno"
	_, e1 := rt.Inspect(ctx, id)
	_, e2 := rt.Stop(ctx, id, time.Second)
	e3 := rt.Signal(ctx, id, "TERM")
	_, e4 := rt.Wait(ctx, id)
	e5 := rt.Logs(ctx, id, func(core.LogLine) error { return nil })
	e6 := rt.Remove(ctx, id)
	for i, err := range []error{e1, e2, e3, e4, e5, e6} {
		if !errors.Is(err, core.ErrNotFound) {
			t.Errorf("%s: got %v, want an error wrapping ErrNotFound", []string{"Inspect", "Stop", "Signal", "Wait", "Logs", "Remove"}[i], err)
		}
	}
	if a, ok := rt.(core.Attacher); ok {
		if _, err := a.Attach(ctx, id, core.AttachIO{}); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("Attach: got %v, want ErrNotFound", err)
		}
	}
}

// hostOnly are variables a shell or runtime may add on its own.
var allowedExtraEnv = map[string]bool{"PWD": true, "SHLVL": true, "_": true, "HOME": true, "PATH": true, "HOSTNAME": true, "TERM": true, "OLDPWD": true}

func (rs *runtimeSuite) env(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "web", "exec ./"+RuntimeAppName+" serve")
	st := start(t, rt, s)
	if st.Address == "" {
		st, _ = rt.Inspect(t.Context(), s.ID)
	}
	body := httpGet(t, st.Address, "/env")
	var env map[string]string
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("decode env %q: %v", body, err)
	}
	for k, v := range s.Env {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	for k := range env {
		if _, ok := s.Env[k]; !ok && !allowedExtraEnv[k] {
			t.Errorf("env %s=%q is not in the spec (host environment leaked?)", k, env[k])
		}
	}
}

func (rs *runtimeSuite) address(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "web", "exec ./"+RuntimeAppName+" serve")
	st := start(t, rt, s)
	if st.State != core.DynoStarting && st.State != core.DynoUp {
		t.Errorf("state after Start = %q, want starting or up", st.State)
	}
	if st.Address == "" {
		t.Fatalf("Start returned no Address for a web dyno")
	}
	if _, port, _ := net.SplitHostPort(st.Address); port != strconv.Itoa(s.Port) {
		t.Errorf("Address %s does not use the spec's port %d", st.Address, s.Port)
	}
	if got := httpGet(t, st.Address, "/"); got != "ok" {
		t.Fatalf("GET / = %q, want ok", got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := rt.Inspect(t.Context(), s.ID)
		if err != nil {
			t.Fatalf("inspect: %v", err)
		}
		if st.State == core.DynoUp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %q 30s after the port answered, want up", st.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (rs *runtimeSuite) stopTerm(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "worker", `trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.1; done`)
	start(t, rt, s)
	waitLog(t, rt, s.ID, "ready")
	res, err := rt.Stop(t.Context(), s.ID, 30*time.Second)
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	if res.Killed {
		t.Errorf("Killed = true for a dyno that exits on SIGTERM")
	}
	if res.Status.State != core.DynoDown && res.Status.State != core.DynoCrashed {
		t.Errorf("state after Stop = %q, want down", res.Status.State)
	}
	var sawTerm bool
	for _, l := range collectLogs(t, rt, s.ID) {
		sawTerm = sawTerm || strings.Contains(l.Text, "got TERM")
	}
	if !sawTerm {
		t.Errorf("the dyno's TERM trap did not run")
	}
}

func (rs *runtimeSuite) stopKill(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "worker", `trap '' TERM; echo ready; while :; do sleep 1; done`)
	start(t, rt, s)
	waitLog(t, rt, s.ID, "ready")
	res, err := rt.Stop(t.Context(), s.ID, time.Second)
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !res.Killed {
		t.Errorf("Killed = false for a dyno that ignores SIGTERM")
	}
	if res.Status.ExitCode == nil && res.Status.Signal == "" {
		t.Errorf("status after a kill has neither exit code nor signal: %+v", res.Status)
	}
	if res.Status.State == core.DynoUp || res.Status.State == core.DynoStarting {
		t.Errorf("state after Stop = %q", res.Status.State)
	}
}

func (rs *runtimeSuite) stopExited(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "run", `exit 0`)
	start(t, rt, s)
	wait(t, rt, s.ID)
	res, err := rt.Stop(t.Context(), s.ID, time.Second)
	if err != nil {
		t.Fatalf("stop of an exited dyno: %v", err)
	}
	if res.Killed {
		t.Errorf("Killed = true for an exited dyno")
	}
}

func (rs *runtimeSuite) signal(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "worker", `trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.1; done`)
	start(t, rt, s)
	waitLog(t, rt, s.ID, "ready")
	if err := rt.Signal(t.Context(), s.ID, "NOSUCHSIG"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Signal NOSUCHSIG: got %v, want ErrInvalid", err)
	}
	if err := rt.Signal(t.Context(), s.ID, "USR1"); err != nil {
		t.Fatalf("signal USR1: %v", err)
	}
	waitLog(t, rt, s.ID, "got USR1")
	st, err := rt.Inspect(t.Context(), s.ID)
	if err != nil || st.ExitCode != nil {
		t.Errorf("after USR1 the dyno should still run: %+v, %v", st, err)
	}
}

func (rs *runtimeSuite) exitCode(t *T) {
	rt, _ := rs.newRuntime(t)
	for _, tc := range []struct {
		cmd   string
		code  int
		state core.DynoState
	}{{"exit 3", 3, core.DynoCrashed}, {"true", 0, core.DynoDown}} {
		s := rs.spec(t, rt, "run", tc.cmd)
		start(t, rt, s)
		st := wait(t, rt, s.ID)
		if st.ExitCode == nil || *st.ExitCode != tc.code {
			t.Errorf("%q: exit code %v, want %d", tc.cmd, st.ExitCode, tc.code)
		}
		if st.State != tc.state {
			t.Errorf("%q: state %q, want %q", tc.cmd, st.State, tc.state)
		}
		if st.FinishedAt.IsZero() {
			t.Errorf("%q: FinishedAt not set", tc.cmd)
		}
	}
}

func (rs *runtimeSuite) inspectList(t *T) {
	rt, _ := rs.newRuntime(t)
	a := rs.spec(t, rt, "worker", "sleep 600")
	b := rs.spec(t, rt, "worker", "sleep 600")
	start(t, rt, a)
	start(t, rt, b)
	st, err := rt.Inspect(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	if st.ID != a.ID || st.Name != a.Name || st.Labels["check"] != "conformance" || st.StartedAt.IsZero() {
		t.Errorf("Inspect = %+v; want id %s, name %s, labels and started_at", st, a.ID, a.Name)
	}
	if st.State != core.DynoUp && st.State != core.DynoStarting {
		t.Errorf("state %q, want up", st.State)
	}
	list, err := rt.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	seen := map[string]bool{}
	for _, d := range list {
		seen[d.ID] = true
	}
	if !seen[a.ID] || !seen[b.ID] {
		t.Errorf("List = %v, want both %s and %s", list, a.ID, b.ID)
	}
}

func (rs *runtimeSuite) logsOrder(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "run", `i=1; while [ $i -le 200 ]; do echo line $i; i=$((i+1)); done; echo oops >&2`)
	start(t, rt, s)
	lines := collectLogs(t, rt, s.ID)
	n := 0
	var sawErr bool
	for _, l := range lines {
		switch l.Stream {
		case "stdout":
			n++
			if want := fmt.Sprintf("line %d", n); l.Text != want {
				t.Fatalf("stdout line %d = %q, want %q", n, l.Text, want)
			}
		case "stderr":
			sawErr = sawErr || l.Text == "oops"
		default:
			t.Errorf("line %q has stream %q", l.Text, l.Stream)
		}
		if l.Time.IsZero() {
			t.Errorf("line %q has no time", l.Text)
		}
	}
	if n != 200 {
		t.Errorf("got %d stdout lines, want 200", n)
	}
	if !sawErr {
		t.Errorf("stderr line missing")
	}
}

func (rs *runtimeSuite) logsSplit(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "run", `head -c 25000 /dev/zero | tr '\0' x; echo`)
	start(t, rt, s)
	total := 0
	for _, l := range collectLogs(t, rt, s.ID) {
		if len(l.Text) > 10000 {
			t.Errorf("line of %d bytes delivered", len(l.Text))
		}
		total += len(l.Text)
	}
	if total != 25000 {
		t.Errorf("got %d bytes, want 25000", total)
	}
}

func (rs *runtimeSuite) remove(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "worker", "sleep 600")
	start(t, rt, s)
	if err := rt.Remove(t.Context(), s.ID); err == nil {
		t.Errorf("Remove of a running dyno succeeded")
	}
	if _, err := rt.Stop(t.Context(), s.ID, 5*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := rt.Remove(t.Context(), s.ID); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := rt.Inspect(t.Context(), s.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Inspect after Remove: %v, want ErrNotFound", err)
	}
}

func (rs *runtimeSuite) attach(t *T) {
	rt, _ := rs.newRuntime(t)
	a, ok := rt.(core.Attacher)
	if !ok {
		t.Fatalf("declares attach but does not implement core.Attacher")
	}
	s := rs.spec(t, rt, "run", `read x; stty size; echo "got $x"; exit 7`)
	s.TTY = true
	start(t, rt, s)
	resize := make(chan core.TermSize, 1)
	resize <- core.TermSize{Rows: 33, Cols: 101}
	pr, pw := io.Pipe()
	var out lockedBuffer
	done := make(chan struct{})
	var code int
	var err error
	go func() {
		defer close(done)
		code, err = a.Attach(t.Context(), s.ID, core.AttachIO{Stdin: pr, Stdout: &out, Resize: resize})
	}()
	_, _ = pw.Write([]byte("hello\n"))
	select {
	case <-done:
	case <-t.Context().Done():
		t.Fatalf("attach did not return; output so far %q", out.String())
	}
	pw.Close()
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	if code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	if o := out.String(); !strings.Contains(o, "33 101") || !strings.Contains(o, "got hello") {
		t.Errorf("terminal output %q: want the size 33 101 and the echoed input", o)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (rs *runtimeSuite) isolationNet(t *T) {
	rt, _ := rs.newRuntime(t)
	a := rs.spec(t, rt, "web", "exec ./"+RuntimeAppName+" serve")
	b := rs.spec(t, rt, "web", "exec ./"+RuntimeAppName+" serve")
	sa := start(t, rt, a)
	sb := start(t, rt, b)
	httpGet(t, sb.Address, "/")
	if got := httpGet(t, sa.Address, "/dial?addr="+sb.Address); got == "ok" {
		t.Errorf("dyno %s reached dyno %s at %s", a.ID, b.ID, sb.Address)
	}
}

func (rs *runtimeSuite) isolationFS(t *T) {
	rt, _ := rs.newRuntime(t)
	mark := fmt.Sprintf("paasd-mark-%d", time.Now().UnixNano())
	w := rs.spec(t, rt, "run", fmt.Sprintf("echo x > %s && echo x > /tmp/%s", mark, mark))
	start(t, rt, w)
	if st := wait(t, rt, w.ID); st.ExitCode == nil || *st.ExitCode != 0 {
		t.Fatalf("writer failed: %+v %v", st, collectLogs(t, rt, w.ID))
	}
	r := rs.spec(t, rt, "run", fmt.Sprintf("if [ -e %s ] || [ -e /tmp/%s ]; then exit 1; fi", mark, mark))
	start(t, rt, r)
	if st := wait(t, rt, r.ID); st.ExitCode == nil || *st.ExitCode != 0 {
		t.Errorf("a file written by one dyno is visible to the next")
	}
}

func (rs *runtimeSuite) limitsMemory(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "worker", "exec ./"+RuntimeAppName+" hog")
	s.Limits = core.DynoLimits{MemoryBytes: 64 << 20, Pids: 256}
	start(t, rt, s)
	st := wait(t, rt, s.ID)
	if !st.OOMKilled {
		t.Errorf("a dyno allocating past 64 MB exited without OOMKilled: %+v", st)
	}
}

func (rs *runtimeSuite) limitsPids(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "worker", `i=0; while [ $i -lt 100 ]; do sleep 600 & i=$((i+1)); done; echo spawned; sleep 600`)
	s.Limits = core.DynoLimits{MemoryBytes: 256 << 20, Pids: 20}
	start(t, rt, s)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var lines []string
	stop := errors.New("stop")
	_ = rt.Logs(ctx, s.ID, func(l core.LogLine) error {
		lines = append(lines, l.Text)
		if l.Stream == "stderr" && (strings.Contains(strings.ToLower(l.Text), "fork") || strings.Contains(l.Text, "Resource temporarily unavailable")) {
			return stop
		}
		return nil
	})
	if ctx.Err() != nil {
		t.Fatalf("no fork failure logged with a pids limit of 20: %v", lines)
	}
	if res, err := rt.Stop(t.Context(), s.ID, 5*time.Second); err != nil {
		t.Fatalf("stop the contained fork bomb: %v (%+v)", err, res)
	}
}

func (rs *runtimeSuite) seccomp(t *T) {
	rt, _ := rs.newRuntime(t)
	s := rs.spec(t, rt, "run", "exec ./"+RuntimeAppName+" syscalls")
	start(t, rt, s)
	if st := wait(t, rt, s.ID); st.ExitCode == nil || *st.ExitCode != 0 {
		t.Fatalf("syscalls app failed: %+v %v", st, collectLogs(t, rt, s.ID))
	}
	got := map[string]string{}
	for _, l := range collectLogs(t, rt, s.ID) {
		if k, v, ok := strings.Cut(l.Text, ": "); ok {
			got[k] = v
		}
	}
	if got["seccomp"] != "2" {
		t.Errorf("/proc/self/status shows Seccomp: %q inside the dyno, want 2 (filter)", got["seccomp"])
	}
	for _, call := range []string{"keyctl", "personality", "mount"} {
		if got[call] != "EPERM" {
			t.Errorf("%s inside the dyno: %q, want EPERM", call, got[call])
		}
	}
}

func (rs *runtimeSuite) recoverCheck(t *T) {
	rt1, dir := rs.newRuntime(t)
	s := rs.spec(t, rt1, "worker", `echo ready; while :; do sleep 0.1; done`)
	start(t, rt1, s)
	waitLog(t, rt1, s.ID, "ready")
	rt2, err := rs.target.New(t.Context(), dir)
	if err != nil {
		t.Fatalf("second runtime over the same state dir: %v", err)
	}
	list, err := rt2.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var found *core.DynoStatus
	for i := range list {
		if list[i].ID == s.ID {
			found = &list[i]
		}
	}
	if found == nil {
		t.Fatalf("the new runtime does not list running dyno %s: %v", s.ID, list)
	}
	if found.State != core.DynoUp && found.State != core.DynoStarting {
		t.Errorf("recovered dyno state %q, want up", found.State)
	}
	waitLog(t, rt2, s.ID, "ready")
	res, err := rt2.Stop(t.Context(), s.ID, 10*time.Second)
	if err != nil {
		t.Fatalf("stop through the new runtime: %v", err)
	}
	if res.Status.State == core.DynoUp {
		t.Errorf("state after stop %q", res.Status.State)
	}
	if err := rt2.Remove(t.Context(), s.ID); err != nil {
		t.Errorf("remove through the new runtime: %v", err)
	}
}
