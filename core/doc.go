// Package core holds paasd's nouns (apps, releases, formation, dynos, …) and the
// Go interfaces of its five extension contracts: buildpacks, dyno runtimes,
// routers, log drains and add-on brokers.
//
// Package core does no I/O. Its subpackages do: core/wire carries contract
// calls across a process or sandbox boundary as JSON, core/pluginhost loads an
// implementation from a reference string (builtin:, plugin:, wasm:), and the
// dyno manager, build pipeline, Logplex and store live beside them.
//
// # Contracts
//
// Every contract is a small required interface that embeds [Plugin]; optional
// capabilities are separate interfaces that an implementation may also satisfy
// (for example [Attacher] for dyno runtimes) and declares in
// [PluginInfo.Capabilities]. Each contract's messages are defined in CUE under
// schemas/ and are validated whenever they cross a plugin boundary.
//
// # Errors
//
// Implementations report failures by wrapping the sentinel errors in errors.go
// with %w; the core maps them to HTTP and gRPC codes only at its edges.
package core
