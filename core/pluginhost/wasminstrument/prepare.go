package wasminstrument

import (
	"context"
	"errors"

	"github.com/tetratelabs/wazero"
)

// ErrDisabled is the Reason of a module prepared with instrumentation
// turned off.
var ErrDisabled = errors.New("instrumentation turned off")

// Prepared is a module ready to compile, with how its calls are to be
// stopped: by its own instrumentation, or by wazero's context watching.
type Prepared struct {
	// Code is what to compile: the instrumented module, or the original
	// bytes when it could not be instrumented.
	Code []byte
	// Instrumented reports whether Code is instrumented.
	Instrumented bool
	// Reason says why the module is not instrumented (it wraps
	// ErrUninstrumentable or ErrDisabled); nil when it is. Hosts log it.
	Reason error
}

// Prepare instruments bin when the rewriter can and otherwise keeps it as
// is, to run with wazero's WithCloseOnContextDone (slower per call but as
// safe). disable keeps every module un-instrumented (to compare). It fails,
// wrapping ErrMalformed or ErrReserved, for bytes that must not reach wazero
// at all: a malformed module (wazero's decoder trusts declared sizes and may
// allocate gigabytes for a few corrupt bytes) or one importing from Module.
func Prepare(bin []byte, disable bool) (Prepared, error) {
	code, err := Instrument(bin)
	switch {
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrReserved):
		return Prepared{}, err
	case err == nil && disable:
		err = ErrDisabled
	}
	if err != nil {
		return Prepared{Code: bin, Reason: err}, nil
	}
	return Prepared{Code: code, Instrumented: true}, nil
}

// Configure returns cfg set up for p: unchanged when p is instrumented, with
// WithCloseOnContextDone(true) when it is not.
func (p Prepared) Configure(cfg wazero.RuntimeConfig) wazero.RuntimeConfig {
	if p.Instrumented {
		return cfg
	}
	return cfg.WithCloseOnContextDone(true)
}

// Instantiate adds to rt what p needs before it is compiled: the
// paasd:instrument host module when p is instrumented, nothing otherwise.
func (p Prepared) Instantiate(ctx context.Context, rt wazero.Runtime) error {
	if !p.Instrumented {
		return nil
	}
	return Instantiate(ctx, rt)
}
