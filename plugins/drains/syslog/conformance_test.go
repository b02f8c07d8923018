package syslogdrain

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// TestConformance runs the drain delivery suite against real receivers.
func TestConformance(t *testing.T) {
	info, err := New().Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conformance.RunTest(t, conformance.DrainDeliverySuite(info, func(ct *conformance.T, env conformance.DrainEnv) core.LogDrain {
		cfg, _ := json.Marshal(Config{TLSCAPEM: env.CAPEM})
		d := New()
		if err := d.Configure(ct.Context(), core.ConfigureRequest{APIVersion: 1, Config: cfg}); err != nil {
			ct.Fatalf("configure: %v", err)
		}
		return d
	}))
}

// TestConformanceOverWire runs the suite through the JSON wire layer that
// carries go-plugin and Wasm calls, so that errors keep their sentinels
// across the boundary.
func TestConformanceOverWire(t *testing.T) {
	info, err := New().Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conformance.RunTest(t, conformance.DrainDeliverySuite(info, func(ct *conformance.T, env conformance.DrainEnv) core.LogDrain {
		impl := New()
		ct.Cleanup(func() { _ = impl.Close() })
		d := wire.NewDrainClient(&wire.Client{Conn: wire.NewDrainMux(impl), Name: "builtin:test", Contract: core.ContractDrain})
		cfg, _ := json.Marshal(Config{TLSCAPEM: env.CAPEM})
		if err := d.Configure(ct.Context(), core.ConfigureRequest{APIVersion: 1, Config: cfg}); err != nil {
			ct.Fatalf("configure over the wire: %v", err)
		}
		return d
	}))
}
