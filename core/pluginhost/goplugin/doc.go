// Package goplugin runs paasd plugins as separate processes with HashiCorp
// go-plugin over gRPC: [Opener] is the host side (a pluginhost.Opener for
// plugin:PATH references) and [Serve] the plugin side (plugin authors call
// sdk.Serve, which wraps it).
//
// # Handshake and versions
//
// Host and plugin share a magic cookie ([MagicCookieKey]=[MagicCookieValue])
// and one go-plugin plugin per contract, named after it ("drain", …), in
// VersionedPlugins keyed by contract API version: the host offers the
// versions pluginhost.HostVersions gives for the contract, the plugin the
// versions its Describe lists, and go-plugin picks the highest common one.
// No common version fails the load with core.ErrUnsupported, quoting both
// lists. pluginhost.Host then negotiates again from Describe (same answer).
//
// # The wire service
//
// One hand-written gRPC service, paasd.plugin.v1.Wire, carries every
// contract: a unary Call(method, JSON) → JSON and a server-streaming
// Stream(method, JSON) → JSON messages (runtime and router Logs). Messages
// are wrapperspb.BytesValue frames, so no generated code is needed. A
// plugin's error crosses as a wire.EncodeError body and comes back as a
// *wire.RemoteError that unwraps to the same core sentinel.
//
// # Notes
//
//   - Crashes: a Conn from [Opener.Open] watches its process. When it exits,
//     calls in flight and new calls fail at once with core.ErrUnavailable,
//     and the Conn restarts the process in the background (exponential
//     backoff from MinBackoff to MaxBackoff) and replays the last successful
//     Configure before it serves calls again.
//   - Deadlines: every unary call is bounded by CallTimeout (30 s) unless the
//     method is long-running (Compile, Wait, Stop) or MethodTimeouts says
//     otherwise; streams are bounded by the caller's ctx. A passed deadline
//     is core.ErrTimeout, and does not restart the plugin.
//   - Elsewhere: [Opener.OpenIn] starts the process through a go-plugin
//     runner instead (go-plugin's RunnerFunc), e.g. [DynoRunner] in a dyno
//     of a core.DynoRuntime, with the socket directory shared and the
//     announced address translated; it is not restarted.
//   - Security: the magic cookie is not security. Plugins are separate
//     processes (a crash cannot take paasd down); AutoMTLS binds the gRPC
//     connection to the process paasd started; Checksums pins executables;
//     paasd's environment is withheld unless InheritEnv is set.
package goplugin
