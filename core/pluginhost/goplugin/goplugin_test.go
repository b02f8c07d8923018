package goplugin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/core/wire"
)

// load loads the test plugin as a drain through pluginhost.Host and closes
// it at the end of the test.
func load(t *testing.T, o *goplugin.Opener) (*pluginhost.Loaded, *recorder) {
	t.Helper()
	rec := newRecorder()
	if o.Logger == nil {
		o.Logger = slog.New(rec)
	}
	h := &pluginhost.Host{GoPlugin: o, Validator: fakeValidator{}, Logger: slog.New(rec), DescribeTimeout: time.Minute}
	l, err := h.Load(context.Background(), core.ContractDrain, "plugin:"+testPlugin, json.RawMessage(`{"tag":"t1"}`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return l, rec
}

func deliver(ctx context.Context, d core.LogDrain, app, url string) (core.DeliverResult, error) {
	return d.Deliver(ctx, core.DrainBatch{
		DrainID: "d.1", URL: url, AppName: app, FrameID: "f1",
		Messages: []core.LogMessage{{Time: time.Unix(1, 0), Priority: 190, Host: "host", App: "app", ProcID: "web.1", Text: "hello"}, {Text: "world"}},
	})
}

func pidOf(t *testing.T, d core.LogDrain) int {
	t.Helper()
	res, err := deliver(context.Background(), d, "pid", "")
	if err != nil {
		t.Fatalf("Deliver pid: %v", err)
	}
	return res.Accepted
}

func TestLoadAndDeliver(t *testing.T) {
	l, _ := load(t, &goplugin.Opener{})
	if l.Info.ID != "paasd.test.drain" || l.APIVersion != 1 {
		t.Fatalf("loaded %+v at API version %d", l.Info, l.APIVersion)
	}
	d := l.Drain()
	if d == nil {
		t.Fatalf("Impl %T is not a drain", l.Impl)
	}
	res, err := deliver(context.Background(), d, "myapp", "syslog://logs.example.com:514")
	if err != nil || res.Accepted != 2 {
		t.Fatalf("Deliver = %+v, %v; want 2 accepted", res, err)
	}
}

func TestPluginErrorsCrossAsSentinels(t *testing.T) {
	l, _ := load(t, &goplugin.Opener{})
	_, err := deliver(context.Background(), l.Drain(), "missing", "")
	if !errors.Is(err, core.ErrNotFound) || !wire.IsRemote(err) {
		t.Fatalf("Deliver missing = %v; want a remote error wrapping ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), `app "missing"`) || !strings.Contains(err.Error(), "plugin:"+testPlugin) {
		t.Fatalf("error %q does not carry the plugin's message and name", err)
	}
}

func TestCrashMidCallRestarts(t *testing.T) {
	tests := []struct {
		desc  string
		crash func(t *testing.T, d core.LogDrain, rec *recorder) error
	}{
		{
			desc: "kill -9 while a call is in flight",
			crash: func(t *testing.T, d core.LogDrain, rec *recorder) error {
				pid := pidOf(t, d)
				errc := make(chan error, 1)
				go func() {
					_, err := deliver(context.Background(), d, "sleep", "10m")
					errc <- err
				}()
				rec.wait(t, "saying the plugin sleeps", func(r logRecord) bool { return strings.Contains(r.attrs["line"], "sleeping for 10m") })
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Fatalf("kill -9 %d: %v", pid, err)
				}
				select {
				case err := <-errc:
					return err
				case <-time.After(60 * time.Second):
					t.Fatal("call in flight did not return within 60 s of kill -9")
				}
				return nil
			},
		},
		{
			desc: "plugin exits in the middle of the call",
			crash: func(t *testing.T, d core.LogDrain, _ *recorder) error {
				_, err := deliver(context.Background(), d, "crash", "")
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			l, rec := load(t, &goplugin.Opener{MinBackoff: 10 * time.Millisecond})
			d := l.Drain()
			before := pidOf(t, d)
			err := tt.crash(t, d, rec)
			if !errors.Is(err, core.ErrUnavailable) {
				t.Fatalf("call during crash = %v; want ErrUnavailable", err)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), "plugin:"+testPlugin) {
				t.Fatalf("error %q does not name the plugin", err)
			}
			// Calls fail fast with ErrUnavailable until the restart is done;
			// success needs the replayed Configure (the plugin refuses
			// Deliver before it).
			limit := time.Now().Add(60 * time.Second)
			for {
				res, err := deliver(context.Background(), d, "myapp", "")
				if err == nil {
					if res.Accepted != 2 {
						t.Fatalf("Deliver after restart = %+v", res)
					}
					break
				}
				if !errors.Is(err, core.ErrUnavailable) {
					t.Fatalf("Deliver while restarting = %v; want ErrUnavailable", err)
				}
				if time.Now().After(limit) {
					t.Fatalf("plugin not usable again within 60 s: %v", err)
				}
				rec.wait(t, "about the restart", func(r logRecord) bool { return true })
			}
			if after := pidOf(t, d); after == before {
				t.Fatalf("pid %d unchanged after the crash", after)
			}
			rec.wait(t, "saying the process restarted", func(r logRecord) bool { return r.msg == "plugin process restarted" })
		})
	}
}

func TestCloseKillsProcess(t *testing.T) {
	l, _ := load(t, &goplugin.Opener{})
	pid := pidOf(t, l.Drain())
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d still exists after Close (kill -0: %v)", pid, err)
	}
	if _, err := deliver(context.Background(), l.Drain(), "myapp", ""); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Deliver after Close = %v; want ErrUnavailable", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	goodSum, err := fileSum(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	badSum := strings.Repeat("ab", 32)
	tests := []struct {
		desc   string
		path   string
		opener goplugin.Opener
		want   error
		says   []string
	}{
		{desc: "missing file", path: filepath.Join(dir, "nope"), want: core.ErrNotFound, says: []string{"no plugin executable: file does not exist"}},
		{desc: "directory", path: dir, want: core.ErrPluginFailed, says: []string{"a directory, not a plugin executable"}},
		{desc: "not executable", path: notExec, want: core.ErrPluginFailed, says: []string{"not executable"}},
		{desc: "exits at once", path: "/bin/true", want: core.ErrPluginFailed, says: []string{"not a paasd plugin"}},
		{desc: "prints something else", path: script("chatty", "echo hello from a script; sleep 1"), want: core.ErrPluginFailed, says: []string{"not a paasd plugin", "hello from a script"}},
		{desc: "wrong contract API version", path: script("v7", "PAASD_TESTPLUGIN_VERSIONS=7,8 exec "+testPlugin), want: core.ErrUnsupported, says: []string{"host speaks [1]", "versions [7 8]"}},
		{desc: "checksum mismatch", path: testPlugin, opener: goplugin.Opener{Checksums: map[string]string{testPlugin: badSum}}, want: core.ErrPluginFailed, says: []string{"checksum mismatch", badSum, goodSum}},
		{desc: "checksum not hex", path: testPlugin, opener: goplugin.Opener{Checksums: map[string]string{testPlugin: "xyz"}}, want: core.ErrInvalid, says: []string{"not a hex SHA-256"}},
		{desc: "checksum required", path: testPlugin, opener: goplugin.Opener{RequireChecksum: true}, want: core.ErrPluginFailed, says: []string{"no pinned checksum"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			o := tt.opener
			o.Logger = slog.New(newRecorder())
			h := &pluginhost.Host{GoPlugin: &o}
			defer h.Close()
			ref := "plugin:" + tt.path
			_, err := h.Load(context.Background(), core.ContractDrain, ref, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Load = %v; want an error wrapping %v", err, tt.want)
			}
			t.Logf("error: %v", err)
			msg := err.Error()
			if !strings.HasPrefix(msg, ref+": ") {
				t.Errorf("error %q does not start with the reference %q", msg, ref)
			}
			for _, s := range tt.says {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not say %q", msg, s)
				}
			}
		})
	}
}

func TestChecksumPinned(t *testing.T) {
	sum, err := fileSum(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := load(t, &goplugin.Opener{Checksums: map[string]string{testPlugin: sum}, RequireChecksum: true})
	if _, err := deliver(context.Background(), l.Drain(), "myapp", ""); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
}

func fileSum(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

func TestSchemaBreakingResponseRejected(t *testing.T) {
	l, _ := load(t, &goplugin.Opener{})
	_, err := deliver(context.Background(), l.Drain(), "bad", "")
	if !errors.Is(err, core.ErrSchemaViolation) {
		t.Fatalf("Deliver bad = %v; want ErrSchemaViolation", err)
	}
	for _, s := range []string{"plugin:" + testPlugin, "Deliver", "accepted"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
}

func TestStderrReachesLogger(t *testing.T) {
	_, rec := load(t, &goplugin.Opener{})
	r := rec.wait(t, "with the plugin's Configure line", func(r logRecord) bool {
		return strings.Contains(r.attrs["line"], `testplugin configured: api 1 config {"tag":"t1"}`)
	})
	if r.attrs["plugin"] != testPlugin || r.level != slog.LevelInfo {
		t.Fatalf("stderr record %+v: want level INFO and plugin=%s", r, testPlugin)
	}
}

func TestCallDeadline(t *testing.T) {
	l, _ := load(t, &goplugin.Opener{CallTimeout: 300 * time.Millisecond})
	d := l.Drain()
	_, err := deliver(context.Background(), d, "sleep", "10m")
	if !errors.Is(err, core.ErrTimeout) {
		t.Fatalf("Deliver sleep = %v; want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "per-call deadline of 300ms") {
		t.Errorf("error %q does not say which deadline", err)
	}
	// The caller's own deadline is also a timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := deliver(ctx, d, "sleep", "10m"); !errors.Is(err, core.ErrTimeout) {
		t.Fatalf("Deliver with caller deadline = %v; want ErrTimeout", err)
	}
	// A timeout is not a crash: the same process answers the next call.
	if _, err := deliver(context.Background(), d, "myapp", ""); err != nil {
		t.Fatalf("Deliver after timeout: %v", err)
	}
}

func TestRouterLogsStream(t *testing.T) {
	rec := newRecorder()
	o := &goplugin.Opener{Env: []string{"PAASD_TESTPLUGIN_CONTRACT=router"}, Logger: slog.New(rec)}
	h := &pluginhost.Host{GoPlugin: o}
	defer h.Close()
	l, err := h.Load(context.Background(), core.ContractRouter, "plugin:"+testPlugin, nil)
	if err != nil {
		t.Fatalf("Load router: %v", err)
	}
	ls, ok := l.Impl.(core.RouterLogSource)
	if !ok || !l.Info.HasCapability(core.RouterCapLogs) {
		t.Fatalf("router %+v offers no Logs", l.Info)
	}
	var got []string
	err = ls.Logs(context.Background(), func(app string, msg core.LogMessage) error {
		got = append(got, app+" "+msg.ProcID+" "+msg.Text)
		return nil
	})
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	want := []string{
		`myapp router at=info method=GET path="/1" status=200`,
		`myapp router at=info method=GET path="/2" status=200`,
		`myapp router at=info method=GET path="/3" status=200`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Logs gave\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A receiver that gives up ends the stream with its own error.
	stop := errors.New("enough")
	err = ls.Logs(context.Background(), func(string, core.LogMessage) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("Logs with a failing receiver = %v; want %v", err, stop)
	}
}

func TestWrongContract(t *testing.T) {
	h := &pluginhost.Host{GoPlugin: &goplugin.Opener{Logger: slog.New(newRecorder())}}
	defer h.Close()
	_, err := h.Load(context.Background(), core.ContractBroker, "plugin:"+testPlugin, nil)
	if !errors.Is(err, core.ErrUnsupported) || !strings.Contains(err.Error(), `implements the "drain" contract`) {
		t.Fatalf("Load as broker = %v; want ErrUnsupported naming the drain contract", err)
	}
}

func TestPluginEnvironment(t *testing.T) {
	t.Setenv("PAASD_TEST_SECRET", "hunter2")
	tests := []struct {
		desc   string
		opener goplugin.Opener
		want   map[string]int
	}{
		{desc: "host env withheld by default", opener: goplugin.Opener{Env: []string{"GIVEN=1"}},
			want: map[string]int{"PAASD_TEST_SECRET": 0, "GIVEN": 1, goplugin.MagicCookieKey: 1}},
		{desc: "InheritEnv passes it on", opener: goplugin.Opener{InheritEnv: true},
			want: map[string]int{"PAASD_TEST_SECRET": 1, "GIVEN": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			l, _ := load(t, &tt.opener)
			for name, want := range tt.want {
				res, err := deliver(context.Background(), l.Drain(), "getenv", name)
				if err != nil || res.Accepted != want {
					t.Errorf("plugin sees %s: got %d (%v), want %d", name, res.Accepted, err, want)
				}
			}
		})
	}
}

// children lists this test process's child processes running the test plugin.
func children(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		if exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); exe == testPlugin {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestCloseStopsRestarts(t *testing.T) {
	l, _ := load(t, &goplugin.Opener{MinBackoff: time.Millisecond})
	if _, err := deliver(context.Background(), l.Drain(), "crash", ""); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("crash = %v; want ErrUnavailable", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if pids := children(t); len(pids) > 0 {
		t.Fatalf("plugin processes %v still running after Close", pids)
	}
	_, err := deliver(context.Background(), l.Drain(), "myapp", "")
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Deliver after Close = %v; want ErrUnavailable saying closed", err)
	}
}

func TestNewTestConn(t *testing.T) {
	conn, info := goplugin.NewTestConn(t, countDrain{})
	d := wire.NewDrainClient(&wire.Client{Conn: conn, Name: "test:" + info.ID, Contract: info.Contract})
	res, err := deliver(context.Background(), d, "myapp", "")
	if err != nil || res.Accepted != 2 {
		t.Fatalf("Deliver over the in-process harness = %+v, %v", res, err)
	}
	if _, err := d.Describe(context.Background()); err != nil {
		t.Fatalf("Describe: %v", err)
	}
}

func TestNegotiatesHighestCommonVersion(t *testing.T) {
	// The plugin speaks 1 and 2; this host speaks 1 (core.DrainAPIVersions).
	p := filepath.Join(t.TempDir(), "v12")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nPAASD_TESTPLUGIN_VERSIONS=1,2 exec "+testPlugin+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &pluginhost.Host{GoPlugin: &goplugin.Opener{Logger: slog.New(newRecorder())}}
	defer h.Close()
	l, err := h.Load(context.Background(), core.ContractDrain, "plugin:"+p, json.RawMessage(`{}`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if l.APIVersion != 1 || len(l.Info.APIVersions) != 2 {
		t.Fatalf("negotiated %d from %v; want 1", l.APIVersion, l.Info.APIVersions)
	}
}

func TestStreamFailsWhenPluginDies(t *testing.T) {
	o := &goplugin.Opener{Env: []string{"PAASD_TESTPLUGIN_CONTRACT=router", "PAASD_TESTPLUGIN_LOGS=forever"}, Logger: slog.New(newRecorder())}
	h := &pluginhost.Host{GoPlugin: o}
	defer h.Close()
	l, err := h.Load(context.Background(), core.ContractRouter, "plugin:"+testPlugin, nil)
	if err != nil {
		t.Fatalf("Load router: %v", err)
	}
	pids := children(t)
	if len(pids) != 1 {
		t.Fatalf("want one plugin process, have %v", pids)
	}
	first := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- l.Impl.(core.RouterLogSource).Logs(context.Background(), func(string, core.LogMessage) error {
			first <- struct{}{}
			return nil
		})
	}()
	select {
	case <-first:
	case err := <-errc:
		t.Fatalf("Logs ended before its first line: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("no log line within 60 s")
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("Logs after kill -9 = %v; want ErrUnavailable", err)
		}
		t.Logf("error: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("stream did not end within 60 s of kill -9")
	}
}
