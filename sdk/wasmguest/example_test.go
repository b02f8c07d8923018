package wasmguest_test

import (
	"context"
	"fmt"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
	"github.com/paasd/paasd/sdk/wasmguest"
)

// upper is a log drain that accepts everything.
type upper struct{}

func (upper) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "example.drain.upper", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}
func (upper) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (upper) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

// A guest's exports hand each call to a Dispatcher; this is what the host
// receives for a Deliver and for an unknown method. In a guest, call
// wasmguest.Serve(upper{}) from init instead.
func ExampleNewDispatcher() {
	d := wasmguest.NewDispatcher(upper{})
	out := d.Call(wire.MethodDeliver, []byte(`{"app_name":"myapp","messages":[{"text":"hi"}]}`))
	fmt.Println(out[0] == wasmguest.StatusOK, string(out[1:]))
	out = d.Call("Scale", nil)
	fmt.Println(out[0] == wasmguest.StatusError, string(out[1:]))
	// Output:
	// true {"accepted":1}
	// true {"code":"unsupported","message":"method \"Scale\": unsupported"}
}
