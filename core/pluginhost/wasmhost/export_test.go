package wasmhost

// NoInstrument makes o load modules un-instrumented, with wazero's
// WithCloseOnContextDone: the host before instrumentation, to compare.
func NoInstrument(o *Opener) { o.noInstrument = true }
