package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk"
)

// stdoutDrain is a log drain that writes each message to stderr, which
// paasd forwards to its own log.
type stdoutDrain struct{ prefix string }

var _ core.LogDrain = (*stdoutDrain)(nil)

// Describe names the plugin, its contract and the contract API versions it
// speaks, and declares its configuration as a CUE struct.
func (d *stdoutDrain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID:           "example.drain.stderr",
		Contract:     core.ContractDrain,
		APIVersions:  []int{1},
		Version:      "1.0.0",
		ConfigSchema: `{ prefix?: string }`,
	}, nil
}

// Configure receives the configuration, already validated against the schema.
func (d *stdoutDrain) Configure(_ context.Context, req core.ConfigureRequest) error {
	cfg := struct {
		Prefix string `json:"prefix"`
	}{Prefix: "log"}
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &cfg); err != nil {
			return fmt.Errorf("config: %v: %w", err, core.ErrInvalid)
		}
	}
	d.prefix = cfg.Prefix
	return nil
}

// Deliver writes the batch; errors wrapping core sentinels keep their
// meaning in paasd.
func (d *stdoutDrain) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	if b.AppName == "" {
		return core.DeliverResult{}, fmt.Errorf("batch without an app name: %w", core.ErrInvalid)
	}
	for _, m := range b.Messages {
		fmt.Fprintf(os.Stderr, "%s %s[%s]: %s\n", d.prefix, b.AppName, m.ProcID, m.Text)
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

// A plugin's main is one call to Serve. Build it with `go build`, then load
// it in paasd as "plugin:/path/to/binary".
func ExampleServe() {
	// func main() {
	sdk.Serve(&stdoutDrain{})
	// }
}

// Check runs the checks Serve makes, for a plugin's own tests.
func ExampleCheck() {
	info, err := sdk.Check(&stdoutDrain{})
	fmt.Println(info.ID, info.Contract, info.APIVersions, err)

	// A value that does not implement the contract it describes is refused.
	_, err = sdk.Check(notADrain{})
	fmt.Println(err)
	// Output:
	// example.drain.stderr drain [1] <nil>
	// plugin "example.notadrain" describes the drain contract but sdk_test.notADrain does not implement its interface: invalid request
}

type notADrain struct{}

func (notADrain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "example.notadrain", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}

func (notADrain) Configure(context.Context, core.ConfigureRequest) error { return nil }
