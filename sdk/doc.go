// Package sdk is what a third-party paasd plugin imports.
//
// A plugin is a Go program whose main makes one call, [Serve], with a value
// implementing one of the five contracts of package core (core.LogDrain,
// core.Buildpack, core.DynoRuntime, core.Router, core.AddonBroker). paasd
// loads it with the reference "plugin:/path/to/binary": it starts the binary
// as a separate process (HashiCorp go-plugin over gRPC with mutual TLS),
// asks it to Describe itself, negotiates the contract API version, validates
// the configuration against the plugin's CUE config schema, and calls
// Configure before any contract method.
//
// # Writing a plugin
//
//   - Describe must not depend on configuration: it is called before
//     Configure, and the contract and API versions it returns decide how the
//     plugin is served.
//   - Return errors wrapping the sentinels of package core (core.ErrNotFound,
//     core.ErrInvalid, …): they cross the process boundary as wire codes and
//     errors.Is works on them in paasd.
//   - Every answer is checked against the contract's CUE definition in paasd
//     before it is used; an answer that breaks it fails the call with
//     core.ErrSchemaViolation naming the field.
//   - Write diagnostics to stderr (or os.Stdout); paasd logs each line with
//     the plugin's path.
//
// # Notes
//
//   - The plugin must not print to stdout before Serve: go-plugin's handshake
//     line is the first line the host reads there.
//   - Running the binary by hand prints a message and exits: it expects the
//     go-plugin magic cookie in its environment. The cookie is a guard
//     against mistakes, not a security measure.
//   - paasd restarts a plugin process that exits and calls Configure again
//     with the same configuration; keep no state you cannot rebuild from it.
//   - The plugin gets only the environment paasd's operator grants it, not
//     paasd's own.
package sdk
