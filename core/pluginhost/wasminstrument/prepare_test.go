package wasminstrument

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// TestPrepare: the decision between instrumenting, falling back and
// refusing.
func TestPrepare(t *testing.T) {
	types := sec(1, []byte{0x60, 0x00, 0x00})
	funcs := sec(3, []byte{0})
	simd := wmod(types, funcs, sec(10, body(0xfd, 0x0c, 0x0b)))
	tests := []struct {
		desc         string
		bin          []byte
		disable      bool
		err          error
		instrumented bool
		reason       error
	}{
		{desc: "instrumentable", bin: testModule(), instrumented: true},
		{desc: "instrumentable, turned off", bin: testModule(), disable: true, reason: ErrDisabled},
		{desc: "SIMD falls back", bin: simd, reason: ErrUninstrumentable},
		{desc: "malformed", bin: []byte("\x00asm\x01\x00\x00\x00\x01"), err: ErrMalformed},
		{desc: "reserved import", bin: wmod(types, sec(2, cat(name(Module), name("yield"), []byte{0x00, 0x00}))), err: ErrReserved},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			p, err := Prepare(tt.bin, tt.disable)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Instrumented != tt.instrumented || !errors.Is(p.Reason, tt.reason) || (tt.reason == nil) != (p.Reason == nil) {
				t.Fatalf("Prepare = instrumented %v, reason %v; want %v, %v", p.Instrumented, p.Reason, tt.instrumented, tt.reason)
			}
			if !p.Instrumented && !bytes.Equal(p.Code, tt.bin) {
				t.Fatal("an un-instrumented module's code was changed")
			}
		})
	}
}

// TestPreparedStopsLoop: whichever way a module was prepared, a runtime set
// up with Configure and Instantiate stops its infinite loop once the call's
// context is done.
func TestPreparedStopsLoop(t *testing.T) {
	for _, disable := range []bool{false, true} {
		p, err := Prepare(testModule(), disable)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, p.Configure(wazero.NewRuntimeConfigInterpreter()))
		t.Cleanup(func() { _ = rt.Close(ctx) })
		instantiateEnv(t, ctx, rt)
		if err := p.Instantiate(ctx, rt); err != nil {
			t.Fatal(err)
		}
		mod, err := rt.InstantiateWithConfig(ctx, p.Code, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err = mod.ExportedFunction("loop").Call(cctx)
		cancel()
		if err == nil {
			t.Fatalf("instrumented %v: the loop returned", p.Instrumented)
		}
	}
}
