package wasmguest

import (
	"context"
	"fmt"
	"os"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// Dispatcher serves the calls of one guest: it is what [Serve] installs
// behind the exports. It is exported so that the encoding can be tested
// without a Wasm runtime.
type Dispatcher struct {
	h   wire.Handler
	err error
	out []byte
}

// NewDispatcher returns a Dispatcher for impl. The contract is the one impl
// declares in Describe; when impl does not implement that contract's
// interface, or Describe fails, every call answers with an error that says so.
func NewDispatcher(impl core.Plugin) *Dispatcher {
	if impl == nil {
		return &Dispatcher{err: fmt.Errorf("wasmguest: Serve was given a nil implementation: %w", core.ErrPluginFailed)}
	}
	info, err := impl.Describe(context.Background())
	if err != nil {
		return &Dispatcher{err: fmt.Errorf("wasmguest: describe: %w", err)}
	}
	if bp, ok := impl.(core.Buildpack); ok && info.Contract == core.ContractBuildpack {
		impl = streamingBuildpack{bp}
	}
	m := wire.NewMuxFor(info.Contract, impl)
	if m == nil {
		return &Dispatcher{err: fmt.Errorf("wasmguest: plugin %q declares the %q contract but %T does not implement its interface: %w",
			info.ID, info.Contract, impl, core.ErrPluginFailed)}
	}
	return &Dispatcher{h: m}
}

// Call runs method with the JSON request req and returns the encoded result:
// [StatusOK] followed by the JSON response, or [StatusError] followed by a
// wire.EncodeError body. The returned slice is reused by the next Call.
func (d *Dispatcher) Call(method string, req []byte) []byte {
	var resp []byte
	err := d.err
	if err == nil {
		resp, err = d.h.Call(context.Background(), method, req)
	}
	if err != nil {
		return d.Fail(err)
	}
	d.out = d.out[:0]
	d.out = append(d.out, StatusOK)
	d.out = append(d.out, resp...)
	return d.out
}

// Fail returns the encoded error result for err ([StatusError] followed by a
// wire.EncodeError body); the slice is reused by the next Call or Fail.
func (d *Dispatcher) Fail(err error) []byte {
	d.out = append(d.out[:0], StatusError)
	d.out = append(d.out, wire.EncodeError(err)...)
	return d.out
}

// streamingBuildpack points Compile's Output at standard output, which the
// host streams to the build's output while the call runs (instead of
// returning it all in the response at the end).
type streamingBuildpack struct{ core.Buildpack }

func (s streamingBuildpack) Compile(ctx context.Context, req core.CompileRequest) (core.CompileResponse, error) {
	req.Output = os.Stdout
	return s.Buildpack.Compile(ctx, req)
}
