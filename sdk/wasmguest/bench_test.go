package wasmguest_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
	"github.com/paasd/paasd/sdk/wasmguest"
)

// BenchmarkDispatcherDeliver is the guest's side of one 1 KiB Deliver,
// without the host: run it under GOOS=wasip1 GOARCH=wasm (go test -exec
// with a Wasm runtime) to see what the Go code costs in Wasm.
func BenchmarkDispatcherDeliver(b *testing.B) {
	req, err := json.Marshal(core.DrainBatch{DrainID: "quiet", URL: "syslog://127.0.0.1:514", AppName: "myapp", FrameID: "f-1",
		Messages: []core.LogMessage{{Time: time.Now().UTC(), Priority: 190, Host: "host", App: "app", ProcID: "web.1",
			Text: strings.Repeat("x", 1024)}}})
	if err != nil {
		b.Fatal(err)
	}
	d := wasmguest.NewDispatcher(drain{})
	for _, m := range []struct{ name, method, req string }{
		{"deliver", wire.MethodDeliver, string(req)},
		{"health", wire.MethodHealth, "{}"},
	} {
		b.Run(m.name, func(b *testing.B) {
			in := []byte(m.req)
			b.ReportAllocs()
			for range b.N {
				if out := d.Call(m.method, in); out[0] != wasmguest.StatusOK {
					b.Fatalf("%s", out)
				}
			}
		})
	}
}
