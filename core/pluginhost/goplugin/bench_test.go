package goplugin_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/core/wire"
)

// countDrain is the builtin peer of the test plugin's default Deliver.
type countDrain struct{}

var _ core.LogDrain = countDrain{}

func (countDrain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "paasd.bench.drain", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}
func (countDrain) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (countDrain) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

// benchBatch is one batch holding one message with a 1 KiB body.
func benchBatch() core.DrainBatch {
	return core.DrainBatch{
		DrainID: "d.0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", URL: "syslog+tls://logs.example.com:6514",
		AppName: "myapp", FrameID: "f-000001",
		Messages: []core.LogMessage{{
			Time: time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC), Priority: 190,
			Host: "host", App: "app", ProcID: "web.1", Text: strings.Repeat("x", 1024),
		}},
	}
}

// maxSamples bounds the per-call durations a benchmark keeps; beyond it,
// samples wrap around (later calls replace earlier ones).
const maxSamples = 1 << 20

// benchDeliver runs d.Deliver b.N times and reports the per-call median and
// 99th percentile next to ns/op.
func benchDeliver(b *testing.B, d core.LogDrain) {
	batch := benchBatch()
	ctx := context.Background()
	durs := make([]time.Duration, min(b.N, maxSamples))
	for i := range durs {
		durs[i] = 1 // fault the pages in before timing
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		res, err := d.Deliver(ctx, batch)
		durs[i%len(durs)] = time.Since(start)
		if err != nil || res.Accepted != 1 {
			b.Fatalf("Deliver = %+v, %v", res, err)
		}
	}
	b.StopTimer()
	slices.Sort(durs)
	pct := func(p float64) float64 {
		return float64(durs[int(p*float64(len(durs)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkDeliver1KiB compares one Deliver round trip with a 1 KiB message
// through the ways paasd can reach a drain: a direct Go call (a builtin),
// the wire layer in-process (client → JSON → Mux → JSON), the same wire
// service over an in-process gRPC connection (no process, no TLS), and a
// go-plugin process over gRPC with AutoMTLS.
func BenchmarkDeliver1KiB(b *testing.B) {
	b.Run("direct", func(b *testing.B) { benchDeliver(b, countDrain{}) })
	b.Run("wire-in-process", func(b *testing.B) {
		c := &wire.Client{Conn: wire.NewDrainMux(countDrain{}), Name: "builtin:bench", Contract: core.ContractDrain, Validator: wire.NoValidation{}}
		benchDeliver(b, wire.NewDrainClient(c))
	})
	b.Run("grpc-in-process", func(b *testing.B) {
		conn, _ := goplugin.NewTestConn(b, countDrain{})
		c := &wire.Client{Conn: conn, Name: "test:bench", Contract: core.ContractDrain, Validator: wire.NoValidation{}}
		benchDeliver(b, wire.NewDrainClient(c))
	})
	b.Run("goplugin-grpc", func(b *testing.B) {
		o := &goplugin.Opener{Logger: slog.New(slog.DiscardHandler)}
		goplugin.GRPCOnly(o)
		h := &pluginhost.Host{GoPlugin: o, Logger: slog.New(slog.DiscardHandler)}
		defer h.Close()
		l, err := h.Load(context.Background(), core.ContractDrain, "plugin:"+testPlugin, nil)
		if err != nil {
			b.Fatalf("Load: %v", err)
		}
		benchDeliver(b, l.Drain())
	})
	b.Run("goplugin", func(b *testing.B) {
		h := &pluginhost.Host{
			GoPlugin: &goplugin.Opener{Logger: slog.New(slog.DiscardHandler)},
			Logger:   slog.New(slog.DiscardHandler),
		}
		defer h.Close()
		l, err := h.Load(context.Background(), core.ContractDrain, "plugin:"+testPlugin, nil)
		if err != nil {
			b.Fatalf("Load: %v", err)
		}
		benchDeliver(b, l.Drain())
	})
}
