package httpsdrain

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
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
