package goplugin

// GRPCOnly makes o carry unary calls over gRPC, without the call channel, as
// before it existed: the baseline of the benchmarks.
func GRPCOnly(o *Opener) { o.grpcOnly = true }
