package wasmhost_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/wasmhost"
	"github.com/paasd/paasd/core/pluginhost/wasminstrument"
	"github.com/paasd/paasd/core/wire"
)

// testOptions are Options for tests: a per-test cache dir and a logger.
func testOptions(t *testing.T) (wasmhost.Options, *logBuffer) {
	t.Helper()
	logger, buf := newLogger()
	return wasmhost.Options{CacheDir: sharedCacheDir, Logger: logger}, buf
}

func load(t *testing.T, opts wasmhost.Options, c core.Contract, guest string, config json.RawMessage) *pluginhost.Loaded {
	t.Helper()
	o := wasmhost.New(opts)
	t.Cleanup(func() { _ = o.Close() })
	h := &pluginhost.Host{Wasm: o, Logger: opts.Logger}
	t.Cleanup(func() { _ = h.Close() })
	l, err := h.Load(context.Background(), c, "wasm:"+guests[guest], config)
	if err != nil {
		t.Fatalf("load %s: %v", guest, err)
	}
	return l
}

func batch(id string, n int) core.DrainBatch {
	b := core.DrainBatch{DrainID: id, URL: "syslog+tls://logs.example.com:6514", AppName: "myapp", FrameID: "f-1"}
	for i := range n {
		b.Messages = append(b.Messages, core.LogMessage{
			Time: time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC), Priority: 190, Host: "host",
			App: "app", ProcID: "web.1", Text: "line " + strings.Repeat("x", i) + " password=hunter2",
		})
	}
	return b
}

func TestLoadAndCallExampleDrain(t *testing.T) {
	opts, logs := testOptions(t)
	l := load(t, opts, core.ContractDrain, "logdrain", nil)
	if l.Info.ID != "example.drain.redact" || l.APIVersion != 1 || !l.Info.HasCapability(core.DrainCapFilter) {
		t.Fatalf("info = %+v, api %d", l.Info, l.APIVersion)
	}
	ctx := context.Background()
	res, err := l.Drain().Deliver(ctx, batch("d.1", 3))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 {
		t.Fatalf("accepted %d, want 3", res.Accepted)
	}
	if !strings.Contains(logs.String(), "password=[REDACTED]") || !strings.Contains(logs.String(), "stream=stdout") {
		t.Fatalf("guest stdout did not reach the host log:\n%s", logs)
	}
	f, ok := l.Impl.(core.LogFilter)
	if !ok {
		t.Fatal("the wasm drain client does not offer Filter")
	}
	out, err := f.Filter(ctx, batch("d.1", 2).Messages)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[1].Text != "line x password=[REDACTED]" {
		t.Fatalf("filter = %+v", out)
	}
	_, err = l.Drain().Deliver(ctx, core.DrainBatch{FrameID: "f-2"})
	if !errors.Is(err, core.ErrInvalid) || !wire.IsRemote(err) || !strings.Contains(err.Error(), "no app name") {
		t.Fatalf("guest error = %v, want a remote ErrInvalid", err)
	}
}

func TestDrainClientOverModule(t *testing.T) {
	opts, _ := testOptions(t)
	o := wasmhost.New(opts)
	t.Cleanup(func() { _ = o.Close() })
	m, err := o.OpenModule(context.Background(), guests["drain"], core.ContractDrain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	d := wire.NewDrainClient(&wire.Client{Conn: m, Name: "wasm:drain", Contract: core.ContractDrain})
	res, err := d.Deliver(context.Background(), batch("ok", 5))
	if err != nil || res.Accepted != 5 {
		t.Fatalf("deliver = %+v, %v", res, err)
	}
	_, err = d.Deliver(context.Background(), batch("fail", 1))
	if !errors.Is(err, core.ErrUnavailable) || !wire.IsRemote(err) {
		t.Fatalf("err = %v, want the guest's ErrUnavailable", err)
	}
	if err := d.Health(context.Background()); err != nil {
		t.Fatalf("health: %v", err)
	}
	_, err = m.Call(context.Background(), "NoSuchMethod", nil)
	if !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("unknown method: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deliver(context.Background(), batch("ok", 1)); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("call after close = %v, want ErrUnavailable", err)
	}
}

func TestFailingCallsDiscardInstance(t *testing.T) {
	tests := []struct {
		desc    string
		opts    func(*wasmhost.Options)
		drainID string
		want    error
		msg     string
	}{
		{desc: "infinite loop stopped at the call limit", opts: func(o *wasmhost.Options) { o.CallTimeout = 500 * time.Millisecond },
			drainID: "loop", want: core.ErrTimeout, msg: "time limit"},
		{desc: "memory growth past the limit", opts: func(o *wasmhost.Options) { o.MemoryLimit = 32 << 20 },
			drainID: "grow", want: core.ErrPluginFailed, msg: "out of memory"},
		{desc: "guest panic", drainID: "panic", want: core.ErrPluginFailed, msg: "guest panics on purpose"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			opts, _ := testOptions(t)
			opts.PoolSize = 1
			if tt.opts != nil {
				tt.opts(&opts)
			}
			l := load(t, opts, core.ContractDrain, "drain", json.RawMessage(`{"n":7}`))
			ctx := context.Background()
			_, err := l.Drain().Deliver(ctx, batch(tt.drainID, 1))
			if !errors.Is(err, tt.want) || wire.IsRemote(err) {
				t.Fatalf("err = %v, want a transport error wrapping %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.msg)
			}
			// The broken instance is gone; a new one serves, configured.
			res, err := l.Drain().Deliver(ctx, batch("config", 1))
			if err != nil {
				t.Fatalf("next call: %v", err)
			}
			if res.Accepted != 7 {
				t.Fatalf("new instance was not reconfigured: accepted %d, want 7", res.Accepted)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		desc     string
		path     string
		contract core.Contract
		want     error
		msg      []string
	}{
		{desc: "missing file", path: filepath.Join(dir, "nope.wasm"), want: core.ErrNotFound, msg: []string{"nope.wasm"}},
		{desc: "not a module", path: write("text.wasm", []byte("#!/bin/sh\necho hi\n")), want: core.ErrInvalid,
			msg: []string{"is not a WebAssembly module"}},
		{desc: "corrupt module", path: write("corrupt.wasm", append([]byte("\x00asm\x01\x00\x00\x00"), 0x01, 0xff)), want: core.ErrInvalid,
			msg: []string{"not a valid WebAssembly module"}},
		{desc: "no ABI export", path: write("empty.wasm", emptyModule), want: core.ErrInvalid,
			msg: []string{"not a paasd Wasm plugin: no paasd_abi_version export"}},
		{desc: "wrong ABI version", path: write("v2.wasm", abiVersionModule(2)), want: core.ErrUnsupported,
			msg: []string{"ABI version 2", "version 1"}},
		{desc: "version ok but no call export", path: write("v1.wasm", abiVersionModule(1)), want: core.ErrInvalid,
			msg: []string{"paasd_alloc"}},
		{desc: "imports from the host's reserved module", path: write("reserved.wasm", reservedImportModule()), want: core.ErrInvalid,
			msg: []string{wasminstrument.Module, "reserved"}},
		{desc: "guest does not implement its declared contract", path: guests["wrongcontract"], want: core.ErrPluginFailed,
			msg: []string{`declares the "drain" contract`}},
		{desc: "guest of another contract", path: guests["drain"], contract: core.ContractBuildpack, want: core.ErrUnsupported,
			msg: []string{`not "buildpack"`}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			opts, _ := testOptions(t)
			o := wasmhost.New(opts)
			t.Cleanup(func() { _ = o.Close() })
			h := &pluginhost.Host{Wasm: o, Logger: opts.Logger}
			defer h.Close()
			c := tt.contract
			if c == "" {
				c = core.ContractDrain
			}
			_, err := h.Load(context.Background(), c, "wasm:"+tt.path, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err = %q, want it to mention %q", err, m)
				}
			}
		})
	}
}

// emptyModule is the smallest valid Wasm module: no exports at all.
var emptyModule = []byte("\x00asm\x01\x00\x00\x00")

// abiVersionModule is a hand-assembled module whose only export is
// paasd_abi_version() returning v (0 ≤ v < 64).
func abiVersionModule(v byte) []byte {
	name := "paasd_abi_version"
	b := append([]byte(nil), emptyModule...)
	b = append(b, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f) // type: () -> i32
	b = append(b, 0x03, 0x02, 0x01, 0x00)                   // function 0 has type 0
	exp := append([]byte{0x01, byte(len(name))}, name...)
	exp = append(exp, 0x00, 0x00) // func index 0
	b = append(b, 0x07, byte(len(exp)))
	b = append(b, exp...)
	b = append(b, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, v, 0x0b) // code: i32.const v; end
	return b
}

func TestConcurrentCallsAcrossPool(t *testing.T) {
	opts, _ := testOptions(t)
	opts.PoolSize = 3
	l := load(t, opts, core.ContractDrain, "drain", json.RawMessage(`{"n":7}`))
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				n := (g+i)%5 + 1
				res, err := l.Drain().Deliver(context.Background(), batch("ok", n))
				if err == nil && res.Accepted != n {
					err = errors.New("wrong accepted count")
				}
				if err != nil {
					errs <- err
				}
				if res, err := l.Drain().Deliver(context.Background(), batch("config", 1)); err != nil || res.Accepted != 7 {
					errs <- errors.New("an instance of the pool was not configured")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSandbox(t *testing.T) {
	granted := t.TempDir()
	if err := os.WriteFile(filepath.Join(granted, "hello.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		mounts   []wasmhost.Mount
		env      map[string]string
		clock    bool
		drainID  string
		accepted int
		want     error
	}{
		{desc: "no filesystem by default", drainID: "open:/etc/passwd", want: core.ErrPermissionDenied},
		{desc: "no environment by default", drainID: "env", accepted: 0},
		{desc: "fake clock by default", drainID: "year", accepted: 2022},
		{desc: "granted clock", clock: true, drainID: "year", accepted: time.Now().Year()},
		{desc: "granted environment", env: map[string]string{"A": "1", "B": "2"}, drainID: "env", accepted: 2},
		{desc: "read-only mount can be read", mounts: []wasmhost.Mount{{HostDir: granted, GuestPath: "/data", ReadOnly: true}},
			drainID: "open:/data/hello.txt", accepted: 5},
		{desc: "read-only mount cannot be written", mounts: []wasmhost.Mount{{HostDir: granted, GuestPath: "/data", ReadOnly: true}},
			drainID: "write:/data/new.txt", want: core.ErrPermissionDenied},
		{desc: "mount does not expose the host root", mounts: []wasmhost.Mount{{HostDir: granted, GuestPath: "/data"}},
			drainID: "open:/data/../../../../etc/passwd", want: core.ErrPermissionDenied},
		{desc: "read-write mount can be written", mounts: []wasmhost.Mount{{HostDir: granted, GuestPath: "/data"}},
			drainID: "write:/data/new.txt", accepted: 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			opts, _ := testOptions(t)
			opts.Mounts, opts.Env, opts.GrantClock = tt.mounts, tt.env, tt.clock
			l := load(t, opts, core.ContractDrain, "drain", nil)
			res, err := l.Drain().Deliver(context.Background(), batch(tt.drainID, 1))
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted != tt.accepted {
				t.Fatalf("accepted %d, want %d", res.Accepted, tt.accepted)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(granted, "new.txt")); err != nil || string(b) != "from guest" {
		t.Fatalf("read-write mount: %q, %v", b, err)
	}
}

func TestBuildpackGetsCallDirs(t *testing.T) {
	opts, _ := testOptions(t)
	l := load(t, opts, core.ContractBuildpack, "buildpack", nil)
	bp := l.Buildpack()
	ctx := context.Background()
	build, cache, env := t.TempDir(), t.TempDir(), t.TempDir()
	det, err := bp.Detect(ctx, core.DetectRequest{BuildDir: build})
	if err != nil || det.Detected {
		t.Fatalf("detect without go.mod = %+v, %v", det, err)
	}
	if err := os.WriteFile(filepath.Join(build, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env, "SECRET"), []byte("s3cr3t"), 0o644); err != nil {
		t.Fatal(err)
	}
	det, err = bp.Detect(ctx, core.DetectRequest{BuildDir: build})
	if err != nil || !det.Detected || det.Name != "Go (wasm) at /build" {
		t.Fatalf("detect = %+v, %v", det, err)
	}
	var out strings.Builder
	res, err := bp.Compile(ctx, core.CompileRequest{BuildDir: build, CacheDir: cache, EnvDir: env, Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Export["BUILD_DIR_SEEN"] != "/build" || !strings.Contains(out.String(), "compiled in /build") {
		t.Fatalf("compile = %+v, output %q", res, out.String())
	}
	if b, err := os.ReadFile(filepath.Join(build, "compiled.txt")); err != nil || string(b) != "compiled with s3cr3t" {
		t.Fatalf("build dir: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(cache, "cached.txt")); err != nil {
		t.Fatalf("cache dir: %v", err)
	}
	rel, err := bp.Release(ctx, core.ReleaseRequest{BuildDir: build})
	if err != nil || rel.DefaultProcessTypes["web"] != "./bin/app" {
		t.Fatalf("release = %+v, %v", rel, err)
	}
	_, err = bp.Detect(ctx, core.DetectRequest{BuildDir: filepath.Join(build, "missing")})
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "build_dir") {
		t.Fatalf("missing build dir = %v, want ErrInvalid naming build_dir", err)
	}
}

func TestGuestOutputIsBounded(t *testing.T) {
	opts, logs := testOptions(t)
	opts.LogLimit = 4096
	l := load(t, opts, core.ContractDrain, "drain", nil)
	if _, err := l.Drain().Deliver(context.Background(), batch("stderr", 1)); err != nil {
		t.Fatal(err)
	}
	s := logs.String()
	if !strings.Contains(s, "noisy line 0 ") || !strings.Contains(s, "over the per-call limit") {
		t.Fatalf("log does not show the start of the output and the drop note:\n%.2000s", s)
	}
	if strings.Contains(s, "noisy line 9999") || len(s) > 64<<10 {
		t.Fatalf("guest output was not bounded: %d bytes of log", len(s))
	}
}

func TestCompilationCacheIsUsed(t *testing.T) {
	logger, _ := newLogger()
	dir := t.TempDir()
	for i := range 2 {
		o := wasmhost.New(wasmhost.Options{CacheDir: dir, Logger: logger})
		m, err := o.OpenModule(context.Background(), guests["logdrain"], core.ContractDrain)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		_ = m.Close()
		_ = o.Close()
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Fatalf("open %d: cache dir %s is empty (%v)", i, dir, err)
		}
	}
}

func TestCallerDeadlineIsATimeout(t *testing.T) {
	opts, _ := testOptions(t)
	l := load(t, opts, core.ContractDrain, "drain", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := l.Drain().Deliver(ctx, batch("loop", 1)); !errors.Is(err, core.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel2() }()
	if _, err := l.Drain().Deliver(ctx2, batch("loop", 1)); !errors.Is(err, core.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrUnavailable and context.Canceled", err)
	}
	if _, err := l.Drain().Deliver(context.Background(), batch("ok", 1)); err != nil {
		t.Fatal(err)
	}
}

func TestTwoLoadsOfOneModuleAreIndependent(t *testing.T) {
	opts, _ := testOptions(t)
	o := wasmhost.New(opts)
	t.Cleanup(func() { _ = o.Close() })
	ctx := context.Background()
	a, err := o.OpenModule(ctx, guests["drain"], core.ContractDrain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := o.OpenModule(ctx, guests["drain"], core.ContractDrain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	d := wire.NewDrainClient(&wire.Client{Conn: b, Name: "b", Contract: core.ContractDrain})
	for range 3 { // the first call reuses the pooled instance, later ones too
		if res, err := d.Deliver(ctx, batch("quiet", 2)); err != nil || res.Accepted != 2 {
			t.Fatalf("deliver after closing the other load = %+v, %v", res, err)
		}
	}
	// A new instance of b, after a's code was released, still runs.
	if _, err := d.Deliver(ctx, batch("panic", 1)); !errors.Is(err, core.ErrPluginFailed) {
		t.Fatalf("panic = %v", err)
	}
	if res, err := d.Deliver(ctx, batch("quiet", 1)); err != nil || res.Accepted != 1 {
		t.Fatalf("deliver on a new instance = %+v, %v", res, err)
	}
}

// reservedImportModule imports paasd:instrument.yield, which only the host's
// instrumentation may.
func reservedImportModule() []byte {
	b := append([]byte(nil), emptyModule...)
	b = append(b, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f) // type: () -> i32
	imp := append([]byte{0x01, byte(len(wasminstrument.Module))}, wasminstrument.Module...)
	imp = append(imp, 5)
	imp = append(imp, "yield"...)
	imp = append(imp, 0x00, 0x00)
	b = append(b, 0x02, byte(len(imp)))
	return append(b, imp...)
}

// TestGoGuestsAreInstrumented: every Go guest the tests build is rewritten
// (not passed to the slower fallback), and loads without the fallback's
// note.
func TestGoGuestsAreInstrumented(t *testing.T) {
	for name, path := range guests {
		t.Run(name, func(t *testing.T) {
			bin, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := wasminstrument.Instrument(bin)
			if err != nil {
				t.Fatalf("instrument: %v", err)
			}
			if len(out) <= len(bin) {
				t.Fatalf("instrumented module is %d bytes, the original %d", len(out), len(bin))
			}
			t.Logf("%d bytes instrumented to %d", len(bin), len(out))
		})
	}
	opts, logs := testOptions(t)
	l := load(t, opts, core.ContractDrain, "drain", nil)
	if _, err := l.Drain().Deliver(context.Background(), batch("ok", 1)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "not instrumented") {
		t.Fatalf("the drain guest fell back:\n%s", logs)
	}
}

// TestCloseStopsRunningGuest: closing a module stops a guest that is in an
// infinite loop with a long time limit; the call fails as unavailable.
func TestCloseStopsRunningGuest(t *testing.T) {
	opts, _ := testOptions(t)
	opts.CallTimeout = time.Hour
	o := wasmhost.New(opts)
	t.Cleanup(func() { _ = o.Close() })
	m, err := o.OpenModule(context.Background(), guests["drain"], core.ContractDrain)
	if err != nil {
		t.Fatal(err)
	}
	d := wire.NewDrainClient(&wire.Client{Conn: m, Name: "loop", Contract: core.ContractDrain})
	done := make(chan error, 1)
	go func() {
		_, err := d.Deliver(context.Background(), batch("loop", 1))
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the call enter the loop (either way it must fail)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, core.ErrUnavailable) || wire.IsRemote(err) {
		t.Fatalf("err = %v, want a transport error wrapping ErrUnavailable", err)
	}
}

// TestDoneContextFailsBeforeTheGuest: a call whose context is already done
// fails without entering the guest, so its instance stays in the pool.
func TestDoneContextFailsBeforeTheGuest(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	tests := []struct {
		desc string
		ctx  context.Context
		want error
	}{
		{desc: "cancelled", ctx: cancelled, want: core.ErrUnavailable},
		{desc: "deadline passed", ctx: expired, want: core.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			opts, logs := testOptions(t)
			opts.PoolSize = 1
			o := wasmhost.New(opts)
			t.Cleanup(func() { _ = o.Close() })
			m, err := o.OpenModule(context.Background(), guests["drain"], core.ContractDrain)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close() })
			for range 3 {
				if _, err := m.Call(tt.ctx, wire.MethodHealth, []byte("{}")); !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
			}
			if strings.Contains(logs.String(), "discarded") {
				t.Fatalf("an instance was discarded:\n%s", logs)
			}
			if _, err := m.Call(context.Background(), wire.MethodHealth, []byte("{}")); err != nil {
				t.Fatal(err)
			}
		})
	}
}
