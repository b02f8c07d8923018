// Package wasmguest turns a contract implementation written in plain Go into a
// paasd WebAssembly plugin.
//
// A guest is a Go main package built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o drain.wasm .
//
// whose init function hands its implementation to [Serve]:
//
//	func init() { wasmguest.Serve(&Drain{}) }
//	func main() {} // required by the toolchain, never run in a reactor
//
// Serve asks the implementation to Describe itself, picks the contract it
// declares and dispatches every call from the host to it through the same
// wire mux the go-plugin transport uses (wire.NewMuxFor). The package exports
// the functions of the paasd Wasm ABI version 1 (see docs/wasm-abi.md):
// paasd_abi_version, paasd_alloc and paasd_call. The host loads the module
// with "wasm:PATH".
//
// # Notes
//
//   - Call Serve from init, not main: the host runs the reactor's _initialize
//     (which runs init functions) and never runs main.
//   - The host runs several instances of the module, one call at a time
//     each, and may replace an instance at any time; it replays the last
//     Configure into every new instance. Keep no state that must be shared
//     between calls beyond what Configure sets.
//   - A guest has no filesystem, environment, network, real clock or real
//     randomness unless the host operator grants them; buildpacks see the
//     directories of each call at /build, /cache and /env.
//   - Standard output and error go to the host's log, bounded per call. A
//     buildpack's Compile gets os.Stdout as its Output: during a Compile the
//     host streams standard output and error to the build's output as they
//     are written.
//   - Calls get a context.Background(): the host enforces the deadline by
//     stopping the instance, so a guest needs no cancellation logic.
//   - The hottest messages (a drain's Deliver, Health) are decoded and
//     encoded by core/wire without reflection, which matters in Wasm, where
//     Go code runs several times slower than natively. Other messages use
//     encoding/json; building with GOEXPERIMENT=jsonv2 makes those about
//     twice as fast (optional; see docs/wasm-abi.md).
package wasmguest

// ABIVersion is the version of the paasd Wasm ABI this package implements;
// the host refuses a module whose paasd_abi_version differs from its own.
const ABIVersion = 1

// Result status bytes: the first byte of every paasd_call result.
const (
	// StatusOK means the rest of the result is the JSON response.
	StatusOK byte = 0
	// StatusError means the rest of the result is a wire.EncodeError body.
	StatusError byte = 1
)
