// Command logdrain is a paasd log drain written as a WebAssembly plugin. It
// offers the "filter" capability: on the drain path it redacts the values of
// secret-looking key=value pairs (password=…, token=…, secret=…, api_key=…),
// and it delivers a batch by writing the lines to standard output, which the
// host copies into its own log.
//
// Build and load it:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o logdrain.wasm ./sdk/wasmguest/example/logdrain
//	# then reference it as "wasm:/path/to/logdrain.wasm" for the drain contract
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk/wasmguest"
)

// Redactor is a log drain with the filter capability.
type Redactor struct {
	keys []string
}

var (
	_ core.LogDrain  = (*Redactor)(nil)
	_ core.LogFilter = (*Redactor)(nil)
)

// Describe implements core.Plugin.
func (r *Redactor) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID:           "example.drain.redact",
		Contract:     core.ContractDrain,
		APIVersions:  []int{1},
		Version:      "0.1.0",
		Capabilities: []string{core.DrainCapFilter},
	}, nil
}

// Configure implements core.Plugin; the drain takes no configuration.
func (r *Redactor) Configure(context.Context, core.ConfigureRequest) error {
	r.keys = []string{"password", "token", "secret", "api_key"}
	return nil
}

// Filter implements core.LogFilter: it redacts secret values in place.
func (r *Redactor) Filter(_ context.Context, msgs []core.LogMessage) ([]core.LogMessage, error) {
	for i := range msgs {
		msgs[i].Text = r.redact(msgs[i].Text)
	}
	return msgs, nil
}

func (r *Redactor) redact(text string) string {
	fields := strings.Fields(text)
	changed := false
	for i, f := range fields {
		k, _, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		for _, key := range r.keys {
			if strings.EqualFold(k, key) {
				fields[i] = k + "=[REDACTED]"
				changed = true
			}
		}
	}
	if !changed {
		return text
	}
	return strings.Join(fields, " ")
}

// Deliver implements core.LogDrain: it writes each line to standard output.
func (r *Redactor) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	if b.AppName == "" {
		return core.DeliverResult{}, fmt.Errorf("batch %q has no app name: %w", b.FrameID, core.ErrInvalid)
	}
	for _, m := range b.Messages {
		fmt.Fprintf(os.Stdout, "%s %s[%s]: %s\n", b.AppName, m.App, m.ProcID, r.redact(m.Text))
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

func init() { wasmguest.Serve(&Redactor{}) }

func main() {}
