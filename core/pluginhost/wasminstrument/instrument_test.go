package wasminstrument

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// wmod assembles a module from sections (id, body).
func wmod(secs ...[]byte) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range secs {
		out = append(out, s[0])
		out = appendU32(out, uint32(len(s)-1))
		out = append(out, s[1:]...)
	}
	return out
}

// sec is a section: id, then a vec of the items.
func sec(id byte, items ...[]byte) []byte {
	b := appendU32([]byte{id}, uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

// body is a function body with no locals.
func body(code ...byte) []byte {
	b := append([]byte{0}, code...)
	return append(appendU32(nil, uint32(len(b))), b...)
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func name(s string) []byte { return appendName(nil, s) }

// testModule imports env.inc (i32)->i32 and defines, in order:
//
//	2 loop():        an infinite loop
//	3 fib(i32)->i32: exponential recursion, no loop
//	4 sum(i32)->i32: 0+1+...+(n-1) with a loop, calling env.inc
//	5 get()->i32:    call_indirect through a table filled by an element
//	                 segment (ref to sum) and set by the start function
//	6 start():       sets global 0 to 42
//
// It exports them and a table, so that every kind of function index is
// renumbered.
func testModule() []byte {
	types := sec(1,
		[]byte{0x60, 0x01, 0x7f, 0x01, 0x7f}, // 0: (i32)->i32
		[]byte{0x60, 0x00, 0x00},             // 1: ()->()
		[]byte{0x60, 0x00, 0x01, 0x7f},       // 2: ()->i32
	)
	imports := sec(2,
		cat(name("env"), name("inc"), []byte{0x00, 0x00}),
		cat(name("env"), name("dec"), []byte{0x00, 0x00}),
	)
	funcs := sec(3, []byte{1}, []byte{0}, []byte{0}, []byte{2}, []byte{1})
	table := sec(4, []byte{0x70, 0x00, 0x01})
	globals := sec(6, []byte{0x7f, 0x01, 0x41, 0x00, 0x0b})
	exports := sec(7,
		cat(name("loop"), []byte{0x00, 2}),
		cat(name("fib"), []byte{0x00, 3}),
		cat(name("sum"), []byte{0x00, 4}),
		cat(name("get"), []byte{0x00, 5}),
		cat(name("g"), []byte{0x03, 0}),
	)
	start := []byte{8, 6}
	elems := sec(9, []byte{0x00, 0x41, 0x00, 0x0b, 0x01, 4}) // table[0] = sum
	code := sec(10,
		body(0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b), // loop br 0 end end
		body( // fib: n<2 ? n : fib(n-1)+fib(n-2)
			0x20, 0x00, 0x41, 0x02, 0x48, // local.get 0; i32.const 2; i32.lt_s
			0x04, 0x7f, 0x20, 0x00, // if (result i32) local.get 0
			0x05,                                  // else
			0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 3, // fib(n-1)
			0x20, 0x00, 0x41, 0x02, 0x6b, 0x10, 3, // fib(n-2)
			0x6a, 0x0b, 0x0b), // i32.add end end
		append([]byte{}, func() []byte { // sum with one local (i32 acc) and (i32 i)
			b := []byte{0x01, 0x02, 0x7f, // 2 locals i32
				0x02, 0x40, 0x03, 0x40, // block loop
				0x20, 0x02, 0x20, 0x00, 0x4e, 0x0d, 0x01, // i >= n: br_if 1
				0x20, 0x01, 0x20, 0x02, 0x6a, 0x21, 0x01, // acc += i
				0x20, 0x02, 0x10, 0x00, 0x21, 0x02, // i = inc(i)
				0x0c, 0x00, 0x0b, 0x0b, // br 0 end end
				0x20, 0x01, 0x0b}
			return append(appendU32(nil, uint32(len(b))), b...)
		}()...),
		body(0x41, 0x0a, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b), // call_indirect (type 0) table 0 with 10
		body(0x41, 42, 0x24, 0x00, 0x0b),
	)
	fnNames := cat([]byte{2}, []byte{0}, name("inc"), []byte{4}, name("sum"))
	names := cat([]byte{0}, name("name"), []byte{1}, appendU32(nil, uint32(len(fnNames))), fnNames)
	return wmod(types, imports, funcs, table, globals, exports, start, elems, code, names)
}

// newTestRuntime returns a runtime with env.inc/dec and, when instrumented,
// paasd:instrument.
func newTestRuntime(t testing.TB, ctx context.Context, instrumented bool) wazero.Runtime {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithMemoryLimitPages(16))
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	instantiateEnv(t, ctx, rt)
	if instrumented {
		if err := Instantiate(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	return rt
}

// instantiateEnv adds env.inc and env.dec, which the test module imports,
// to rt.
func instantiateEnv(t testing.TB, ctx context.Context, rt wazero.Runtime) {
	inc := func(_ context.Context, stack []uint64) { stack[0] = uint64(uint32(stack[0]) + 1) }
	_, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithGoFunction(api.GoFunc(inc), []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).Export("inc").
		NewFunctionBuilder().WithGoFunction(api.GoFunc(inc), []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).Export("dec").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
}

// TestInstrumentBehavesIdentically runs the test module as is and
// instrumented: same results, same start function effect, same names.
func TestInstrumentBehavesIdentically(t *testing.T) {
	ctx := context.Background()
	raw := testModule()
	inst, err := Instrument(raw)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		fib, sum, get uint64
		g             uint64
		sumName       string
	}
	run := func(bin []byte, instrumented bool) result {
		rt := newTestRuntime(t, ctx, instrumented)
		mod, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatalf("instantiate (instrumented %v): %v", instrumented, err)
		}
		call := func(name string, args ...uint64) uint64 {
			res, err := mod.ExportedFunction(name).Call(ctx, args...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return res[0]
		}
		return result{fib: call("fib", 20), sum: call("sum", 100000), get: call("get"),
			g: mod.ExportedGlobal("g").Get(), sumName: mod.ExportedFunction("sum").Definition().DebugName()}
	}
	want := run(raw, false)
	if want.fib != 6765 || want.sum != 4999950000%(1<<32) || want.get != 45 || want.g != 42 {
		t.Fatalf("the test module itself is wrong: %+v", want)
	}
	if got := run(inst, true); got != want {
		t.Fatalf("instrumented: %+v, want %+v", got, want)
	}
}

// TestInstrumentStopsRunaways: a loop and a loop-free exponential recursion
// are stopped when their context is done, with wazero's exit codes.
func TestInstrumentStopsRunaways(t *testing.T) {
	inst, err := Instrument(testModule())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc   string
		fn     string
		args   []uint64
		cancel bool
		code   uint32
	}{
		{desc: "loop past its deadline", fn: "loop", code: sys.ExitCodeDeadlineExceeded},
		{desc: "recursion past its deadline", fn: "fib", args: []uint64{60}, code: sys.ExitCodeDeadlineExceeded},
		{desc: "loop cancelled", fn: "loop", cancel: true, code: sys.ExitCodeContextCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rt := newTestRuntime(t, context.Background(), true)
			mod, err := rt.InstantiateWithConfig(context.Background(), inst, wazero.NewModuleConfig().WithName(""))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if tt.cancel {
				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
			}
			_, err = mod.ExportedFunction(tt.fn).Call(ctx, tt.args...)
			var exit *sys.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tt.code {
				t.Fatalf("err = %v, want exit code %d", err, tt.code)
			}
			if !mod.IsClosed() {
				t.Fatal("the stopped instance is not closed")
			}
		})
	}
}

// TestInstrumentRefuses: modules the rewriter does not handle are refused
// with the matching error, never rewritten wrongly.
func TestInstrumentRefuses(t *testing.T) {
	types := sec(1, []byte{0x60, 0x00, 0x00})
	funcs := sec(3, []byte{0})
	tests := []struct {
		desc string
		bin  []byte
		want error
	}{
		{desc: "empty", bin: nil, want: ErrMalformed},
		{desc: "no magic", bin: []byte("\x00asn\x01\x00\x00\x00"), want: ErrMalformed},
		{desc: "component", bin: []byte("\x00asm\x0d\x00\x01\x00"), want: ErrUninstrumentable},
		{desc: "truncated section", bin: append(wmod(types), 0x03, 0x05, 0x01), want: ErrMalformed},
		{desc: "reserved import", bin: wmod(types, sec(2, cat(name(Module), name("yield"), []byte{0x00, 0x00}))), want: ErrReserved},
		{desc: "SIMD", bin: wmod(types, funcs, sec(10, body(0xfd, 0x0c, 0x0b))), want: ErrUninstrumentable},
		{desc: "tail call", bin: wmod(types, funcs, sec(10, body(0x12, 0x00, 0x0b))), want: ErrUninstrumentable},
		{desc: "atomics", bin: wmod(types, funcs, sec(10, body(0xfe, 0x03, 0x00, 0x0b))), want: ErrUninstrumentable},
		{desc: "exceptions", bin: wmod(types, funcs, sec(10, body(0x06, 0x40, 0x0b, 0x0b))), want: ErrUninstrumentable},
		{desc: "shared memory", bin: wmod(types, sec(5, []byte{0x03, 0x01, 0x01})), want: ErrUninstrumentable},
		{desc: "LEB128 too long", bin: wmod(types, funcs, sec(10, body(0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b))), want: ErrMalformed},
		{desc: "section out of order", bin: wmod(funcs, types), want: ErrMalformed},
		{desc: "huge data count", bin: []byte("\x00asm\x01\x00\x00\x00\x0b0\xaa\xaa\xaa0"), want: ErrMalformed},
		{desc: "bodies do not match declarations", bin: wmod(types, funcs, sec(10)), want: ErrMalformed},
		{desc: "too many locals", bin: wmod(types, funcs, sec(10, []byte{0x07, 0x01, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b})), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			out, err := Instrument(tt.bin)
			if !errors.Is(err, tt.want) || out != nil {
				t.Fatalf("instrument = %d bytes, %v; want %v", len(out), err, tt.want)
			}
		})
	}
}

// FuzzInstrument: the rewriter never panics; when wazero accepts a module,
// the rewriter either refuses it as uninstrumentable or returns a module
// wazero accepts too.
func FuzzInstrument(f *testing.F) {
	f.Add(testModule())
	f.Add(wmod(sec(1, []byte{0x60, 0x00, 0x00}), sec(3, []byte{0}), sec(10, body(0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b))))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add(wmod(sec(5, []byte{0x00, 0x01}), sec(11, []byte{0x00, 0x41, 0x00, 0x0b, 0x01, 'x'})))
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { _ = rt.Close(ctx) })
	accepts := func(bin []byte) error {
		cm, err := rt.CompileModule(ctx, bin)
		if err == nil {
			_ = cm.Close(ctx)
		}
		return err
	}
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := Instrument(bin)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUninstrumentable) && !errors.Is(err, ErrReserved) {
				t.Fatalf("error %v wraps no instrument sentinel", err)
			}
			return // wazero is not asked about bytes the rewriter refuses: its decoder may allocate gigabytes
		}
		if accepts(bin) != nil {
			return // invalid in ways the rewriter does not check
		}
		if err := accepts(out); err != nil {
			t.Fatalf("wazero accepts the module but not its instrumented form: %v", err)
		}
	})
}
