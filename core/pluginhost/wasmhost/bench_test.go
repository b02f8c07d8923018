package wasmhost_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost/wasmhost"
	"github.com/paasd/paasd/core/pluginhost/wasminstrument"
	"github.com/paasd/paasd/core/wire"
)

// quietDrain is the builtin peer of the guest's "quiet" behaviour.
type quietDrain struct{}

var _ core.LogDrain = quietDrain{}

func (quietDrain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "bench.drain", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}
func (quietDrain) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (quietDrain) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

// BenchmarkDeliver1KiB is one Deliver of a batch with one 1 KiB message,
// through the same wire client, into a builtin (in-process wire mux) and into
// a Wasm module. p50-ns and p99-ns are per-call latencies.
func BenchmarkDeliver1KiB(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := wasmhost.New(wasmhost.Options{CacheDir: sharedCacheDir, Logger: logger})
	b.Cleanup(func() { _ = o.Close() })
	m, err := o.OpenModule(context.Background(), guests["drain"], core.ContractDrain)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	m2, err := o.OpenModule(context.Background(), jsonv2Guest(b), core.ContractDrain)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m2.Close() })
	oc := wasmhost.New(wasmhost.Options{CacheDir: sharedCacheDir, Logger: logger})
	wasmhost.NoInstrument(oc)
	b.Cleanup(func() { _ = oc.Close() })
	mc, err := oc.OpenModule(context.Background(), guests["drain"], core.ContractDrain)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mc.Close() })
	batch := core.DrainBatch{DrainID: "quiet", URL: "syslog://127.0.0.1:514", AppName: "myapp", FrameID: "f-1",
		Messages: []core.LogMessage{{Time: time.Now().UTC(), Priority: 190, Host: "host", App: "app", ProcID: "web.1",
			Text: strings.Repeat("x", 1024)}}}
	peers := []struct {
		name string
		conn wire.Conn
	}{
		{"builtin", wire.NewDrainMux(quietDrain{})},
		{"wasm", m},
		{"wasm-ctxwatch", mc},
		{"wasm-jsonv2", m2},
	}
	if m3 := baselineModule(b, o); m3 != nil {
		peers = append(peers, struct {
			name string
			conn wire.Conn
		}{"wasm-baseline", m3})
	}
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			d := wire.NewDrainClient(&wire.Client{Conn: p.conn, Name: p.name, Contract: core.ContractDrain})
			ctx := context.Background()
			var r0, r1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				res, err := d.Deliver(ctx, batch)
				lat = append(lat, time.Since(start))
				if err != nil || res.Accepted != 1 {
					b.Fatalf("deliver = %+v, %v", res, err)
				}
			}
			b.StopTimer()
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
			cpu := (r1.Utime.Nano() + r1.Stime.Nano()) - (r0.Utime.Nano() + r0.Stime.Nano())
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}

// BenchmarkHealth is the cost of one call that carries no data: the host's
// per-call overhead (pool, deadline, one crossing) against a builtin.
func BenchmarkHealth(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := wasmhost.New(wasmhost.Options{CacheDir: sharedCacheDir, Logger: logger})
	b.Cleanup(func() { _ = o.Close() })
	m, err := o.OpenModule(context.Background(), guests["drain"], core.ContractDrain)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	oc := wasmhost.New(wasmhost.Options{CacheDir: sharedCacheDir, Logger: logger})
	wasmhost.NoInstrument(oc)
	b.Cleanup(func() { _ = oc.Close() })
	mc, err := oc.OpenModule(context.Background(), guests["drain"], core.ContractDrain)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mc.Close() })
	for _, p := range []struct {
		name string
		conn wire.Conn
	}{{"builtin", wire.NewDrainMux(quietDrain{})}, {"wasm", m}, {"wasm-ctxwatch", mc}, {"wasm-baseline", baselineModule(b, o)}} {
		if p.conn == nil {
			continue
		}
		b.Run(p.name, func(b *testing.B) {
			d := wire.NewDrainClient(&wire.Client{Conn: p.conn, Name: p.name, Contract: core.ContractDrain})
			for range b.N {
				if err := d.Health(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var (
	jsonv2Once sync.Once
	jsonv2Path string
	jsonv2Err  error
)

// jsonv2Guest builds the drain guest with GOEXPERIMENT=jsonv2 (encoding/json
// on the json/v2 engine), once per package run.
func jsonv2Guest(b *testing.B) string {
	jsonv2Once.Do(func() {
		jsonv2Path = filepath.Join(filepath.Dir(guests["drain"]), "drain-jsonv2.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", jsonv2Path, guestSources["drain"])
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOEXPERIMENT=jsonv2")
		if out, err := cmd.CombinedOutput(); err != nil {
			jsonv2Err = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if jsonv2Err != nil {
		b.Fatal(jsonv2Err)
	}
	return jsonv2Path
}

// BenchmarkOpen is loading a module: cold (empty compilation cache, so a
// full compile) against cached (machine code read from the on-disk cache).
func BenchmarkOpen(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(b *testing.B, dir string) {
		o := wasmhost.New(wasmhost.Options{CacheDir: dir, Logger: logger, PoolSize: 1})
		m, err := o.OpenModule(context.Background(), guests["drain"], core.ContractDrain)
		if err != nil {
			b.Fatal(err)
		}
		_ = m.Close()
		_ = o.Close()
	}
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			dir := b.TempDir()
			b.StartTimer()
			open(b, dir)
		}
	})
	b.Run("cached", func(b *testing.B) {
		dir := b.TempDir()
		open(b, dir)
		b.ResetTimer()
		for range b.N {
			open(b, dir)
		}
	})
}

// baselineModule opens the guest named by PAASD_WASM_BASELINE_GUEST (one
// built from an earlier tree, to compare in the same run), or returns nil.
func baselineModule(b *testing.B, o *wasmhost.Opener) wire.Conn {
	p := os.Getenv("PAASD_WASM_BASELINE_GUEST")
	if p == "" {
		return nil
	}
	m, err := o.OpenModule(context.Background(), p, core.ContractDrain)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return m
}

// BenchmarkInstrument is rewriting the drain guest (a 3–4 MB Go module),
// which every load does before compiling or reading the compilation cache.
func BenchmarkInstrument(b *testing.B) {
	bin, err := os.ReadFile(guests["drain"])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bin)))
	for range b.N {
		if _, err := wasminstrument.Instrument(bin); err != nil {
			b.Fatal(err)
		}
	}
}
