// Command drainguest is a log drain guest for wasmhost's tests: the batch's
// DrainID picks a behaviour.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk/wasmguest"
)

// Drain misbehaves on request.
type Drain struct{ n int }

var _ core.LogDrain = (*Drain)(nil)

var sink int

func (d *Drain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.drain.guest", Contract: core.ContractDrain, APIVersions: []int{1}, ConfigSchema: "{n?: int}"}, nil
}

func (d *Drain) Configure(_ context.Context, req core.ConfigureRequest) error {
	var cfg struct {
		N int `json:"n"`
	}
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &cfg); err != nil {
			return fmt.Errorf("config: %w: %w", err, core.ErrInvalid)
		}
	}
	d.n = cfg.N
	return nil
}

func (d *Drain) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	switch {
	case b.DrainID == "loop":
		for i := 0; ; i++ {
			sink = i
		}
	case b.DrainID == "grow":
		var keep [][]byte
		for {
			buf := make([]byte, 1<<20)
			buf[0] = 1
			keep = append(keep, buf)
			sink += len(keep)
		}
	case b.DrainID == "panic":
		panic("guest panics on purpose")
	case b.DrainID == "config":
		return core.DeliverResult{Accepted: d.n}, nil
	case b.DrainID == "env":
		return core.DeliverResult{Accepted: len(os.Environ())}, nil
	case b.DrainID == "stderr":
		for i := 0; i < 10000; i++ {
			fmt.Fprintf(os.Stderr, "noisy line %d %s\n", i, strings.Repeat("x", 100))
		}
	case strings.HasPrefix(b.DrainID, "open:"):
		data, err := os.ReadFile(strings.TrimPrefix(b.DrainID, "open:"))
		if err != nil {
			return core.DeliverResult{}, fmt.Errorf("open: %w: %w", err, core.ErrPermissionDenied)
		}
		return core.DeliverResult{Accepted: len(data)}, nil
	case strings.HasPrefix(b.DrainID, "write:"):
		if err := os.WriteFile(strings.TrimPrefix(b.DrainID, "write:"), []byte("from guest"), 0o644); err != nil {
			return core.DeliverResult{}, fmt.Errorf("write: %w: %w", err, core.ErrPermissionDenied)
		}
	case b.DrainID == "year":
		return core.DeliverResult{Accepted: time.Now().Year()}, nil
	case b.DrainID == "quiet":
		return core.DeliverResult{Accepted: len(b.Messages)}, nil
	case b.DrainID == "fail":
		return core.DeliverResult{}, fmt.Errorf("drain %q refuses: %w", b.URL, core.ErrUnavailable)
	}
	fmt.Println("delivered", len(b.Messages), "messages for", b.AppName)
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

func init() { wasmguest.Serve(&Drain{}) }

func main() {}
