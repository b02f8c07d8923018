package wasmhost

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

func TestBuildpackMounts(t *testing.T) {
	dir := t.TempDir()
	q, _ := json.Marshal(dir)
	tests := []struct {
		desc   string
		method string
		req    string
		ok     bool
		want   error
		mounts int
		field  string
	}{
		{desc: "describe carries no dirs", method: wire.MethodDescribe, req: `{}`},
		{desc: "detect", method: wire.MethodDetect, req: `{"build_dir":` + string(q) + `}`, ok: true, mounts: 1},
		{desc: "compile, all three", method: wire.MethodCompile,
			req: `{"build_dir":` + string(q) + `,"cache_dir":` + string(q) + `,"env_dir":` + string(q) + `,"stack":"heroku-24"}`, ok: true, mounts: 3},
		{desc: "empty dirs are not mounted", method: wire.MethodCompile, req: `{"build_dir":""}`},
		{desc: "missing dir", method: wire.MethodDetect, req: `{"build_dir":"/nonexistent/x"}`, want: core.ErrInvalid, field: "build_dir"},
		{desc: "dir is a number", method: wire.MethodRelease, req: `{"build_dir":3}`, want: core.ErrInvalid, field: "build_dir"},
		{desc: "not JSON", method: wire.MethodDetect, req: `{`, want: core.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			mounts, out, ok, err := buildpackMounts(tt.method, []byte(tt.req))
			if tt.want != nil {
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.field) {
					t.Fatalf("err = %v, want %v naming %q", err, tt.want, tt.field)
				}
				return
			}
			if err != nil || ok != tt.ok || len(mounts) != tt.mounts {
				t.Fatalf("mounts %v, ok %v, err %v", mounts, ok, err)
			}
			if ok && strings.Contains(string(out), dir) {
				t.Fatalf("host path left in rewritten request %s", out)
			}
		})
	}
}

// FuzzBuildpackMounts: any request gives an error or a rewritten request
// that is JSON and names no host path.
func FuzzBuildpackMounts(f *testing.F) {
	f.Add(`{"build_dir":"/tmp","cache_dir":"/tmp","env_dir":"/tmp"}`)
	f.Add(`{"build_dir":""}`)
	f.Add(`{"build_dir":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, req string) {
		mounts, out, ok, err := buildpackMounts(wire.MethodCompile, []byte(req))
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !ok {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("rewritten request is not JSON: %q", out)
		}
		for _, m := range mounts {
			switch m.GuestPath {
			case "/build", "/cache", "/env":
			default:
				t.Fatalf("mount at %q", m.GuestPath)
			}
		}
	})
}

// FuzzGuestLog: any output is logged within the per-call budget and
// never fails the guest's write.
func FuzzGuestLog(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), 5)
	f.Add([]byte(strings.Repeat("x", 10000)), 100)
	f.Add([]byte("panic: boom\n\ngoroutine 1\n"), 1<<16)
	f.Fuzz(func(t *testing.T, p []byte, limit int) {
		if limit <= 0 {
			limit = 1
		}
		var logged int
		h := slog.NewTextHandler(io.Discard, nil)
		g := newGuestLog(slog.New(countHandler{h, &logged}), "m", "stderr", limit)
		g.reset()
		for len(p) > 0 {
			n := min(len(p), 7)
			if w, err := g.Write(p[:n]); w != n || err != nil {
				t.Fatalf("write = %d, %v", w, err)
			}
			p = p[n:]
		}
		g.flush()
		if logged > limit {
			t.Fatalf("logged %d bytes, limit %d", logged, limit)
		}
		_ = g.note()
	})
}

// countHandler counts the bytes of guest lines logged.
type countHandler struct {
	slog.Handler
	n *int
}

func (c countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		*c.n += len(r.Message)
	}
	return nil
}

// BenchmarkCrossing is the bare cost of calling the guest's trivial
// paasd_abi_version export: a lower bound for any call into a Go guest.
func BenchmarkCrossing(b *testing.B) {
	path := os.Getenv("PAASD_WASM_GUEST")
	if path == "" {
		b.Skip("set PAASD_WASM_GUEST to a built guest .wasm")
	}
	o := New(Options{CacheDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m, err := o.OpenModule(context.Background(), path, core.ContractDrain)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	inst := <-m.idle
	stack := make([]uint64, 1)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if err := inst.version.CallWithStack(ctx, stack); err != nil {
			b.Fatal(err)
		}
	}
}
