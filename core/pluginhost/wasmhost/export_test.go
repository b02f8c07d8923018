package wasmhost

// Instrument is instrument, for the external tests.
var Instrument = instrument
