package runc

import (
	"archive/tar"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/runtimes/internal/seccompexec"
)

// runDyno starts command in a fresh dyno, waits for it and returns its exit
// code and output.
func runDyno(t *testing.T, r *Runtime, id string, spec core.DynoSpec) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec.ID = id
	spec.Name = "run.1"
	if _, err := r.Start(ctx, spec); err != nil {
		t.Fatalf("start: %v", err)
	}
	defer r.Remove(context.Background(), id)
	var out strings.Builder
	if err := r.Logs(ctx, id, func(l core.LogLine) error { out.WriteString(l.Text + "\n"); return nil }); err != nil {
		t.Fatalf("logs: %v", err)
	}
	st, err := r.Wait(ctx, id)
	if err != nil || st.ExitCode == nil {
		t.Fatalf("wait: %+v %v", st, err)
	}
	return *st.ExitCode, out.String()
}

// TestSandbox checks the confinement a dyno runs under, from inside it.
func TestSandbox(t *testing.T) {
	testenv.NeedRoot(t)
	r, err := New(testConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		command string
		want    string // in the output
	}{
		{desc: "unprivileged user", command: "id -u; id -g", want: "65534\n65534\n"},
		{desc: "no capabilities", command: "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status", want: "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"},
		{desc: "no new privileges", command: "grep NoNewPrivs /proc/self/status", want: "NoNewPrivs:\t1"},
		{desc: "hostname is the dyno id", command: "hostname", want: "sandbox-hostname\n"},
		{desc: "read-only stack", command: "touch /usr/x 2>/dev/null && echo writable || echo read-only", want: "read-only"},
		{desc: "writable app and tmp", command: "touch /app/x /tmp/x && echo ok", want: "ok"},
		{desc: "own pid namespace", command: "echo $$", want: "1\n"},
		{desc: "env is the spec's", command: "env | sort | grep -v -E '^(PWD|SHLVL|_)='", want: "FOO=bar\n"},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			id := "sandbox-" + string(rune('a'+i))
			if tc.desc == "hostname is the dyno id" {
				id = "sandbox-hostname"
			}
			code, out := runDyno(t, r, id, core.DynoSpec{Command: tc.command, Env: map[string]string{"FOO": "bar"}})
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output %q; want %q", code, out, tc.want)
			}
		})
	}
}

// TestSeccomp checks the default seccomp profile from inside dynos: the
// filter is installed, refused calls fail and ordinary programs still run.
func TestSeccomp(t *testing.T) {
	testenv.NeedRoot(t)
	if !seccompexec.Supported() {
		t.Skip("the seccomp wrapper is x86-64 only")
	}
	r, err := New(testConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := r.Describe(context.Background())
	if !info.HasCapability(core.RuntimeCapSeccomp) {
		t.Errorf("capabilities %v lack %q", info.Capabilities, core.RuntimeCapSeccomp)
	}
	slugPath := benchSlug(t)
	tests := []struct {
		desc    string
		command string
		want    string // in the output
	}{
		{desc: "filter installed", command: "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status", want: "NoNewPrivs:\t1\nSeccomp:\t2\n"},
		{desc: "pid 1 is the shell", command: "tr '\\0' ' ' </proc/1/cmdline; echo", want: "/bin/sh -c "},
		{desc: "unshare refused", command: "if command -v unshare >/dev/null; then unshare -U true 2>/dev/null; echo rc=$?; else echo rc=none; fi", want: "rc="},
		{desc: "keyctl, personality and mount refused", command: "./" + conformance.RuntimeAppName + " syscalls", want: "seccomp: 2\nkeyctl: EPERM\npersonality: EPERM\nmount: EPERM\n"},
		{desc: "ordinary programs run", command: "ls / >/dev/null && sh -c 'echo $((6*7))' | cat && sleep 0.01 && echo done", want: "42\ndone\n"},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, out := runDyno(t, r, "seccomp-"+string(rune('a'+i)), core.DynoSpec{Command: tc.command, Slug: slugPath})
			if code != 0 || !strings.Contains(out, tc.want) || strings.Contains(out, "rc=0") {
				t.Fatalf("exit %d, output %q; want %q", code, out, tc.want)
			}
		})
	}
	t.Run("no_seccomp", func(t *testing.T) {
		cfg := testConfig(t.TempDir())
		cfg.NoSeccomp = true
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := r.Describe(context.Background())
		if info.HasCapability(core.RuntimeCapSeccomp) {
			t.Errorf("no_seccomp runtime declares %q", core.RuntimeCapSeccomp)
		}
		code, out := runDyno(t, r, "seccomp-off", core.DynoSpec{Command: "grep '^Seccomp:' /proc/self/status"})
		if code != 0 || !strings.Contains(out, "Seccomp:\t0") {
			t.Fatalf("exit %d, output %q; want no filter", code, out)
		}
	})
}

// TestForkBombContained runs a real fork bomb in a dyno with a pids limit:
// the dyno cannot exceed it, the host can still fork, and Stop ends it.
func TestForkBombContained(t *testing.T) {
	testenv.NeedRoot(t)
	r, err := New(testConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const limit = 64
	spec := core.DynoSpec{ID: "forkbomb", Name: "run.1", Command: "b() { b | b & }; b; exec sleep 600",
		Limits: core.DynoLimits{MemoryBytes: 256 << 20, Pids: limit}}
	if _, err := r.Start(ctx, spec); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = r.Stop(context.Background(), spec.ID, 0)
		_ = r.Remove(context.Background(), spec.ID)
	}()
	d, err := r.get(spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.started()
	if err != nil {
		t.Fatal(err)
	}
	// The bomb hits the limit: the kernel counts refused forks in
	// pids.events; the dyno never has more processes than its limit.
	st, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	dir := st.CgroupPaths["pids"] // cgroup v1 (or hybrid)
	if dir == "" {
		dir = st.CgroupPaths[""] // cgroup v2
	}
	events := filepath.Join(dir, "pids.events")
	refused := ""
	for ctx.Err() == nil && (refused == "" || refused == "0") {
		time.Sleep(100 * time.Millisecond)
		if pids, err := c.Processes(); err == nil && len(pids) > limit {
			t.Errorf("dyno has %d processes, over its pids limit %d", len(pids), limit)
		}
		b, _ := os.ReadFile(events)
		refused = strings.TrimSpace(strings.TrimPrefix(string(b), "max "))
	}
	if ctx.Err() != nil {
		t.Fatalf("the fork bomb never hit the pids limit (%s: %q)", events, refused)
	}
	// The host is unharmed: it still forks and execs.
	if out, err := exec.CommandContext(ctx, "/bin/sh", "-c", "echo host-ok").Output(); err != nil || string(out) != "host-ok\n" {
		t.Errorf("host fork during the bomb: %q %v", out, err)
	}
	if _, err := r.Stop(ctx, spec.ID, time.Second); err != nil {
		t.Fatalf("stop the bomb: %v", err)
	}
	if pids, err := c.Processes(); err == nil && len(pids) > 0 {
		t.Errorf("%d processes left after Stop", len(pids))
	}
}

// TestTarballStack makes a tiny stack tarball (the host's /bin/sh and the
// libraries it needs) and runs a dyno on it.
func TestTarballStack(t *testing.T) {
	testenv.NeedRoot(t)
	ldd := testenv.NeedCommand(t, "ldd")
	out, err := exec.Command(ldd, "/bin/sh").Output()
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"/bin/sh"}
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				files = append(files, f)
			}
		}
	}
	stacksDir := t.TempDir()
	tf, err := os.Create(filepath.Join(stacksDir, "tiny@1.tar"))
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(tf)
	for _, d := range []string{"bin/", "lib/", "lib64/", "lib/x86_64-linux-gnu/", "usr/", "usr/bin/"} {
		_ = tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755})
	}
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(real)
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(f, "/"), Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tf.Close()
	cfg := testConfig(t.TempDir())
	cfg.StacksDir = stacksDir
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Only the shell exists in this stack: "ls" must not be found.
	code, got := runDyno(t, r, "tiny-stack", core.DynoSpec{Stack: "tiny@1", Command: "echo on-tiny; ls / || echo no-ls"})
	if code != 0 || !strings.Contains(got, "on-tiny") || !strings.Contains(got, "no-ls") {
		t.Fatalf("exit %d, output %q", code, got)
	}
}

// TestMemoryStats reads a running dyno's memory use.
func TestMemoryStats(t *testing.T) {
	testenv.NeedRoot(t)
	r, err := New(testConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.Start(ctx, core.DynoSpec{ID: "mem-1", Name: "web.1", Command: "sleep 600",
		Limits: core.DynoLimits{MemoryBytes: 128 << 20}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = r.Stop(ctx, "mem-1", time.Second)
		_ = r.Remove(ctx, "mem-1")
	}()
	m, err := r.MemoryStats(ctx, "mem-1")
	if err != nil {
		t.Fatal(err)
	}
	if m.UsageBytes <= 0 || m.LimitBytes != 128<<20 {
		t.Fatalf("memory stats %+v", m)
	}
}

// TestSlugOverlay checks that dynos of one slug share its extracted tree
// through an overlay /app, that writes stay private to each dyno, and that
// the tree is deleted with the last dyno using it (when no idle trees are
// kept).
func TestSlugOverlay(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	r, err := New(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !r.overlay {
		testenv.Missing(t, "overlayfs is not available under the state dir")
	}
	r.slugs.idleKeep = 0 // delete trees as soon as no dyno uses them
	slugPath := filepath.Join(t.TempDir(), "slug.tar")
	f, err := os.Create(slugPath)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	_ = tw.WriteHeader(&tar.Header{Name: "./app/Procfile", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5})
	_, _ = tw.Write([]byte("web: "))
	_ = tw.Close()
	f.Close()
	code, out := runDyno(t, r, "ov-1", core.DynoSpec{Slug: slugPath,
		Command: "grep ' /app ' /proc/self/mounts | cut -d' ' -f3; cat Procfile; echo; echo mine > Procfile; cat Procfile"})
	if code != 0 || !strings.Contains(out, "overlay\nweb: \nmine\n") {
		t.Fatalf("exit %d, output %q", code, out)
	}
	code, out = runDyno(t, r, "ov-2", core.DynoSpec{Slug: slugPath, Command: "cat Procfile"})
	if code != 0 || !strings.Contains(out, "web: ") {
		t.Fatalf("second dyno sees another dyno's write: exit %d, output %q", code, out)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "slugs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("slug trees left after the last dyno was removed: %v", ents)
	}
}

// TestReachHost checks that a dyno reaches the host through its bridge
// address (the path egress takes before masquerading).
func TestReachHost(t *testing.T) {
	testenv.NeedRoot(t)
	r, err := New(testConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.net.ensure(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(r.net.gateway.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	slugPath := benchSlug(t)
	code, out := runDyno(t, r, "reach-host", core.DynoSpec{Slug: slugPath,
		Command: "./" + conformance.RuntimeAppName + " dial " + l.Addr().String()})
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("dyno could not reach the host at %s: exit %d, %q", l.Addr(), code, out)
	}
}

// TestHostPorts: with host_ports, a dyno reaches the host on the listed
// ports only; other host ports are refused.
func TestHostPorts(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "iptables")
	cfg := testConfig(t.TempDir())
	cfg.Bridge, cfg.Subnet = "paasdfw0", "10.244.0.0/16"
	gw := "10.244.0.1"
	// The bridge must exist (with its address) before listening on it.
	probe, err := New(Config{StateDir: t.TempDir(), Bridge: cfg.Bridge, Subnet: cfg.Subnet, CgroupParent: cfg.CgroupParent})
	if err != nil {
		t.Fatal(err)
	}
	if err := probe.net.ensure(); err != nil {
		t.Fatal(err)
	}
	listen := func() (net.Listener, int) {
		l, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		return l, l.Addr().(*net.TCPAddr).Port
	}
	allowed, ap := listen()
	defer allowed.Close()
	other, op := listen()
	defer other.Close()
	cfg.HostPorts = []int{ap}
	t.Cleanup(func() { RemoveHostRestriction(cfg.Bridge, cfg.HostPorts) })
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	slugPath := benchSlug(t)
	code, out := runDyno(t, r, "hostports-ok", core.DynoSpec{Slug: slugPath,
		Command: "./" + conformance.RuntimeAppName + " dial " + allowed.Addr().String()})
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("dyno could not reach allowed port %d: exit %d, %q", ap, code, out)
	}
	code, out = runDyno(t, r, "hostports-no", core.DynoSpec{Slug: slugPath,
		Command: "./" + conformance.RuntimeAppName + " dial " + other.Addr().String()})
	if code == 0 {
		t.Fatalf("dyno reached port %d, which host_ports [%d] does not list: %q", op, ap, out)
	}
}
