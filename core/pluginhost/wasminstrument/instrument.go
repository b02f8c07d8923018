// Package wasminstrument rewrites WebAssembly modules so that a runaway
// guest can be stopped cheaply, and provides the host side of that rewrite.
//
// Before a module is compiled the host rewrites it ([Instrument]) so that
// every function entry and every loop header counts down a budget held in a
// new mutable i32 global. When the budget runs out the code calls the
// imported host function paasd:instrument.yield ([Instantiate] adds it to a
// runtime), which stops the call if its context is done or the module was
// closed, and otherwise returns a fresh budget. A runaway guest is thus
// stopped within one budget of ticks after its deadline, without wazero's
// WithCloseOnContextDone (which starts a goroutine and a timer for every
// call). [Prepare] makes the whole decision for a host: instrument the module
// when the rewriter can, fall back to WithCloseOnContextDone when it cannot.
//
// The paasd Wasm plugin host (core/pluginhost/wasmhost) and the router's
// http-wasm middleware host (plugins/router) both use it; docs/wasm-abi.md
// describes the rewrite.
package wasminstrument

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

const (
	// Module is the import module name reserved for the host's
	// instrumentation; a guest may not import from it.
	Module = "paasd:instrument"
	// instrumentYield is the field name of the yield function.
	instrumentYield = "yield"
	// instrumentBudget is how many ticks (function entries and loop
	// iterations) a guest runs between two checks of its call's context.
	instrumentBudget = 16384
)

// maxLocals is the most locals a function may declare (the limit browsers'
// engines set); wazero would allocate a slice of that many before checking.
const maxLocals = 50000

// ErrUninstrumentable is returned by Instrument for a module that uses a
// WebAssembly feature the rewriter does not handle.
var ErrUninstrumentable = errors.New("uses a WebAssembly feature the host does not instrument")

// ErrMalformed is returned by Instrument for bytes that are not a well-formed
// WebAssembly binary module.
var ErrMalformed = errors.New("malformed WebAssembly binary")

// instrumentError carries an error out of the parser through panic; it is
// recovered by Instrument and never escapes.
type instrumentError struct{ err error }

func fail(sentinel error, format string, args ...any) {
	panic(instrumentError{fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), sentinel)})
}

// Instrument returns bin with the countdown checks inserted. Errors wrap
// ErrMalformed, ErrUninstrumentable or ErrReserved; either way bin is left
// untouched. The result must be run in a runtime that [Instantiate] set up.
func Instrument(bin []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			ie, ok := r.(instrumentError)
			if !ok {
				panic(r)
			}
			out, err = nil, ie.err
		}
	}()
	return rewrite(bin), nil
}

// reader reads a byte slice; every read past its end fails as malformed.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) eof() bool { return r.pos >= len(r.b) }

func (r *reader) byte() byte {
	if r.pos >= len(r.b) {
		fail(ErrMalformed, "unexpected end at offset %d", r.pos)
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) bytes(n uint32) []byte {
	if uint64(n) > uint64(len(r.b)-r.pos) {
		fail(ErrMalformed, "length %d at offset %d runs past the end", n, r.pos)
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s
}

// u32 reads an unsigned LEB128 of at most 32 bits.
func (r *reader) u32() uint32 {
	var v uint32
	for i := 0; ; i++ {
		c := r.byte()
		if i == 4 && c&0xf0 != 0 {
			fail(ErrMalformed, "u32 LEB128 too long or too large at offset %d", r.pos-1)
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v
		}
	}
}

// count reads the length of a vector; each element takes at least one
// byte, so a count larger than the bytes left is malformed (and is refused
// before anything is allocated for it).
func (r *reader) count() uint32 {
	n := r.u32()
	if uint64(n) > uint64(len(r.b)-r.pos) {
		fail(ErrMalformed, "vector of %d elements at offset %d runs past the end", n, r.pos)
	}
	return n
}

// skipLEB skips a signed or unsigned LEB128 of at most maxBytes bytes and
// returns its raw bytes.
func (r *reader) skipLEB(maxBytes int) []byte {
	start := r.pos
	for i := 0; ; i++ {
		if i == maxBytes {
			fail(ErrMalformed, "LEB128 too long at offset %d", start)
		}
		if r.byte()&0x80 == 0 {
			return r.b[start:r.pos]
		}
	}
}

// name reads a vec(byte) name.
func (r *reader) name() []byte { return r.bytes(r.u32()) }

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

// section is one section of a module.
type section struct {
	id   byte
	body []byte
}

// sectionRank orders the non-custom sections as the binary format requires.
var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}

// rewriter holds what the rewrite of one module needs.
type rewriter struct {
	importedFuncs uint32 // imported functions before the rewrite
	yieldFunc     uint32 // function index of the yield import
	budgetGlobal  uint32 // global index of the budget
	checkCode     []byte // the countdown check
}

// fn maps a function index of the input to the output's.
func (rw *rewriter) fn(i uint32) uint32 {
	if i < rw.importedFuncs {
		return i
	}
	if i == ^uint32(0) {
		fail(ErrMalformed, "function index %d out of range", i)
	}
	return i + 1
}

func rewrite(bin []byte) []byte {
	r := &reader{b: bin}
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		fail(ErrMalformed, "no \\0asm magic")
	}
	if string(bin[4:8]) != "\x01\x00\x00\x00" {
		fail(ErrUninstrumentable, "binary version %x (a component?)", bin[4:8])
	}
	r.pos = 8
	var secs []section
	lastRank := 0
	for !r.eof() {
		id := r.byte()
		body := r.name()
		if id != 0 {
			rank, ok := sectionRank[id]
			if !ok {
				if id == 13 {
					fail(ErrUninstrumentable, "tag section (exception handling)")
				}
				fail(ErrMalformed, "unknown section id %d", id)
			}
			if rank <= lastRank {
				fail(ErrMalformed, "section %d out of order or repeated", id)
			}
			lastRank = rank
		}
		secs = append(secs, section{id, body})
	}
	find := func(id byte) int {
		for i, s := range secs {
			if s.id == id {
				return i
			}
		}
		return -1
	}
	// insert adds an empty section id at its place and returns its index.
	insert := func(id byte) int {
		if i := find(id); i >= 0 {
			return i
		}
		at := len(secs)
		for i, s := range secs {
			if s.id != 0 && sectionRank[s.id] > sectionRank[id] {
				at = i
				break
			}
		}
		secs = append(secs[:at], append([]section{{id: id, body: []byte{0}}}, secs[at:]...)...)
		return at
	}

	rw := &rewriter{}
	// Types: find or add () -> i32.
	ti := insert(1)
	yieldType, types := rewriteTypes(secs[ti].body)
	secs[ti].body = types
	// Imports: count, check, append the yield import.
	ii := insert(2)
	var importedGlobals uint32
	secs[ii].body, rw.importedFuncs, importedGlobals = rewriteImports(secs[ii].body, yieldType)
	rw.yieldFunc = rw.importedFuncs
	// Globals: remap init expressions, append the budget.
	gi := insert(6)
	secs[gi].body, rw.budgetGlobal = rw.rewriteGlobals(secs[gi].body, importedGlobals)

	rw.checkCode = rw.check(nil)
	size := 8
	for _, s := range secs {
		size += 6 + len(s.body)
	}
	out := append(make([]byte, 0, size+size/4), bin[:8]...)
	var funcs uint32
	dataCount := int64(-1)
	for _, s := range secs {
		body := s.body
		switch s.id {
		case 0:
			body = rw.rewriteCustom(body)
			if body == nil {
				continue
			}
		case 4, 5:
			checkTablesOrMemories(s.id, body)
		case 7:
			body = rw.rewriteExports(body)
		case 3, 11:
			n := (&reader{b: body}).count()
			if s.id == 3 {
				funcs = n
			} else if dataCount >= 0 && int64(n) != dataCount {
				fail(ErrMalformed, "data count %d but %d data segments", dataCount, n)
			}
		case 12:
			dataCount = int64((&reader{b: body}).u32())
		case 8:
			sr := &reader{b: body}
			body = appendU32(nil, rw.fn(sr.u32()))
			if !sr.eof() {
				fail(ErrMalformed, "start section has trailing bytes")
			}
		case 9:
			body = rw.rewriteElems(body)
		case 10:
			if n := (&reader{b: body}).count(); n != funcs {
				fail(ErrMalformed, "%d function declarations but %d bodies", funcs, n)
			}
			body = rw.rewriteCode(body)
		}
		out = append(out, s.id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	return out
}

// valType checks a value type byte.
func valType(c byte) byte {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return c
	}
	fail(ErrUninstrumentable, "value type 0x%02x (typed references or GC)", c)
	return 0
}

// refType checks a reference type byte.
func refType(c byte) {
	if c != 0x70 && c != 0x6f {
		fail(ErrUninstrumentable, "reference type 0x%02x (typed references or GC)", c)
	}
}

// rewriteTypes returns the type index of () -> i32, appending it if absent.
func rewriteTypes(body []byte) (uint32, []byte) {
	r := &reader{b: body}
	n := r.count()
	found := ^uint32(0)
	for i := range n {
		if c := r.byte(); c != 0x60 {
			fail(ErrUninstrumentable, "type %d is not a function type (0x%02x: GC or rec types)", i, c)
		}
		np := r.count()
		for range np {
			valType(r.byte())
		}
		nr := r.count()
		var last byte
		for range nr {
			last = valType(r.byte())
		}
		if found == ^uint32(0) && np == 0 && nr == 1 && last == 0x7f {
			found = i
		}
	}
	if !r.eof() {
		fail(ErrMalformed, "type section has trailing bytes")
	}
	if found != ^uint32(0) {
		return found, body
	}
	if n == ^uint32(0) {
		fail(ErrMalformed, "too many types")
	}
	r2 := &reader{b: body}
	r2.u32()
	out := appendU32(nil, n+1)
	out = append(out, body[r2.pos:]...)
	return n, append(out, 0x60, 0x00, 0x01, 0x7f)
}

// limits skips table or memory limits.
func limits(r *reader) {
	switch f := r.byte(); f {
	case 0:
		r.u32()
	case 1:
		r.u32()
		r.u32()
	default:
		fail(ErrUninstrumentable, "limits flag 0x%02x (shared memory, threads or memory64)", f)
	}
}

// checkTablesOrMemories refuses tables and memories of proposals the
// rewriter does not know (shared memory, memory64, table initializers).
func checkTablesOrMemories(id byte, body []byte) {
	r := &reader{b: body}
	for range r.count() {
		if id == 4 {
			refType(r.byte())
		}
		limits(r)
	}
	if !r.eof() {
		fail(ErrMalformed, "section %d has trailing bytes", id)
	}
}

// rewriteImports counts the imported functions and globals and appends the
// yield import.
func rewriteImports(body []byte, yieldType uint32) (out []byte, funcs, globals uint32) {
	r := &reader{b: body}
	n := r.count()
	start := r.pos
	for range n {
		mod := r.name()
		r.name()
		if string(mod) == Module {
			fail(ErrReserved, "imports from %q", Module)
		}
		switch k := r.byte(); k {
		case 0:
			r.u32()
			funcs++
		case 1:
			refType(r.byte())
			limits(r)
		case 2:
			limits(r)
		case 3:
			valType(r.byte())
			if m := r.byte(); m > 1 {
				fail(ErrMalformed, "global mutability 0x%02x", m)
			}
			globals++
		default:
			fail(ErrUninstrumentable, "import kind 0x%02x (tags: exception handling)", k)
		}
	}
	if !r.eof() {
		fail(ErrMalformed, "import section has trailing bytes")
	}
	if n == ^uint32(0) {
		fail(ErrMalformed, "too many imports")
	}
	out = appendU32(nil, n+1)
	out = append(out, body[start:]...)
	out = appendName(out, Module)
	out = appendName(out, instrumentYield)
	out = append(out, 0)
	out = appendU32(out, yieldType)
	return out, funcs, globals
}

// ErrReserved is returned for a module that imports from Module.
var ErrReserved = errors.New("uses the import module name reserved for the host")

// rewriteGlobals remaps the globals' init expressions and appends the
// budget global.
func (rw *rewriter) rewriteGlobals(body []byte, imported uint32) ([]byte, uint32) {
	r := &reader{b: body}
	n := r.count()
	if n == ^uint32(0) || uint64(n)+uint64(imported) >= 1<<32-1 {
		fail(ErrMalformed, "too many globals")
	}
	out := appendU32(nil, n+1)
	for range n {
		out = append(out, valType(r.byte()))
		m := r.byte()
		if m > 1 {
			fail(ErrMalformed, "global mutability 0x%02x", m)
		}
		out = append(out, m)
		out = rw.constExpr(r, out)
	}
	if !r.eof() {
		fail(ErrMalformed, "global section has trailing bytes")
	}
	out = append(out, 0x7f, 0x01, 0x41)
	out = appendU32(out, instrumentBudget) // positive and < 2^20: same bytes as s32
	out = append(out, 0x0b)
	return out, imported + n
}

// constExpr copies a constant expression up to and including its end.
func (rw *rewriter) constExpr(r *reader, out []byte) []byte {
	for {
		op := r.byte()
		if op == 0x0b {
			return append(out, op)
		}
		out = rw.instr(r, op, out)
	}
}

func (rw *rewriter) rewriteExports(body []byte) []byte {
	r := &reader{b: body}
	n := r.count()
	out := appendU32(nil, n)
	for range n {
		name := r.name()
		out = appendU32(out, uint32(len(name)))
		out = append(out, name...)
		k := r.byte()
		out = append(out, k)
		idx := r.u32()
		if k == 0 {
			idx = rw.fn(idx)
		} else if k > 3 {
			fail(ErrUninstrumentable, "export kind 0x%02x (tags: exception handling)", k)
		}
		out = appendU32(out, idx)
	}
	if !r.eof() {
		fail(ErrMalformed, "export section has trailing bytes")
	}
	return out
}

func (rw *rewriter) rewriteElems(body []byte) []byte {
	r := &reader{b: body}
	n := r.count()
	out := appendU32(nil, n)
	funcs := func() {
		k := r.count()
		out = appendU32(out, k)
		for range k {
			out = appendU32(out, rw.fn(r.u32()))
		}
	}
	exprs := func() {
		k := r.count()
		out = appendU32(out, k)
		for range k {
			out = rw.constExpr(r, out)
		}
	}
	for range n {
		flags := r.u32()
		out = appendU32(out, flags)
		switch flags {
		case 0:
			out = rw.constExpr(r, out)
			funcs()
		case 1, 3:
			kind := r.byte()
			if kind != 0 {
				fail(ErrMalformed, "element kind 0x%02x", kind)
			}
			out = append(out, kind)
			funcs()
		case 2:
			out = appendU32(out, r.u32())
			out = rw.constExpr(r, out)
			kind := r.byte()
			if kind != 0 {
				fail(ErrMalformed, "element kind 0x%02x", kind)
			}
			out = append(out, kind)
			funcs()
		case 4:
			out = rw.constExpr(r, out)
			exprs()
		case 5, 7:
			t := r.byte()
			refType(t)
			out = append(out, t)
			exprs()
		case 6:
			out = appendU32(out, r.u32())
			out = rw.constExpr(r, out)
			t := r.byte()
			refType(t)
			out = append(out, t)
			exprs()
		default:
			fail(ErrMalformed, "element segment flags %d", flags)
		}
	}
	if !r.eof() {
		fail(ErrMalformed, "element section has trailing bytes")
	}
	return out
}

// check appends the countdown check.
func (rw *rewriter) check(out []byte) []byte {
	g := rw.budgetGlobal
	out = appendU32(append(out, 0x23), g)     // global.get $budget
	out = append(out, 0x41, 0x01, 0x6b, 0x24) // i32.const 1; i32.sub; global.set
	out = appendU32(out, g)                   //   $budget
	out = appendU32(append(out, 0x23), g)     // global.get $budget
	out = append(out, 0x41, 0x00, 0x4c)       // i32.const 0; i32.le_s
	out = append(out, 0x04, 0x40, 0x10)       // if; call
	out = appendU32(out, rw.yieldFunc)        //   $yield
	out = appendU32(append(out, 0x24), g)     //   global.set $budget
	return append(out, 0x0b)                  // end
}

func (rw *rewriter) rewriteCode(body []byte) []byte {
	r := &reader{b: body}
	n := r.count()
	out := appendU32(make([]byte, 0, len(body)+len(body)/4), n) // checks add ~10-20 %
	var fn []byte
	for range n {
		fr := &reader{b: r.name()}
		fn = fn[:0]
		nl := fr.count()
		fn = appendU32(fn, nl)
		var locals uint64
		for range nl {
			k := fr.u32()
			if locals += uint64(k); locals > maxLocals {
				fail(ErrMalformed, "function with more than %d locals", maxLocals)
			}
			fn = appendU32(fn, k)
			fn = append(fn, valType(fr.byte()))
		}
		// The entry check is left out when it is redundant: in a function
		// that calls nothing (its only unbounded part is its loops, which
		// are checked), and in one whose first loop is reached
		// unconditionally by straight-line code, as in every Go function
		// (global.get; local.set; block; loop).
		head := len(fn)
		straight, loopFirst, calls := true, false, false
		for !fr.eof() {
			op := fr.byte()
			fn = rw.instr(fr, op, fn)
			switch {
			case op == 0x03:
				fn = append(fn, rw.checkCode...)
				loopFirst = loopFirst || straight
				straight = false
			case op == 0x10, op == 0x11:
				calls = true
				straight = false
			case op == 0x01, op == 0x02, op >= 0x20 && op <= 0x24, op >= 0x41 && op <= 0x44:
				// nop, block, locals, globals, constants: straight-line
			default:
				straight = false
			}
		}
		size := len(fn)
		entry := calls && !loopFirst
		if entry {
			size += len(rw.checkCode)
		}
		out = appendU32(out, uint32(size))
		out = append(out, fn[:head]...)
		if entry {
			out = append(out, rw.checkCode...)
		}
		out = append(out, fn[head:]...)
	}
	if !r.eof() {
		fail(ErrMalformed, "code section has trailing bytes")
	}
	return out
}

// blockType copies a block type.
func blockType(r *reader, out []byte) []byte {
	return append(out, r.skipLEB(5)...) // 0x40, a value type, or an s33 type index
}

// instr copies the immediates of the instruction op (already read), with
// function indices remapped.
func (rw *rewriter) instr(r *reader, op byte, out []byte) []byte {
	out = append(out, op)
	u32 := func() { out = appendU32(out, r.u32()) }
	switch {
	case op == 0x00, op == 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b,
		op >= 0x45 && op <= 0xc4, op == 0xd1:
		return out
	case op >= 0x02 && op <= 0x04: // block, loop, if
		return blockType(r, out)
	case op == 0x0c, op == 0x0d: // br, br_if
		u32()
	case op == 0x0e: // br_table
		n := r.count()
		out = appendU32(out, n)
		for range n {
			u32()
		}
		u32()
	case op == 0x10: // call
		out = appendU32(out, rw.fn(r.u32()))
	case op == 0x11: // call_indirect
		u32()
		u32()
	case op == 0x1c: // select t*
		n := r.count()
		out = appendU32(out, n)
		for range n {
			out = append(out, valType(r.byte()))
		}
	case op >= 0x20 && op <= 0x26: // locals, globals, table.get/set
		u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
		align := r.u32()
		if align&0x40 != 0 {
			fail(ErrUninstrumentable, "memarg with a memory index (multiple memories)")
		}
		out = appendU32(out, align)
		u32()
	case op == 0x3f, op == 0x40: // memory.size, memory.grow
		u32()
	case op == 0x41:
		out = append(out, r.skipLEB(5)...)
	case op == 0x42:
		out = append(out, r.skipLEB(10)...)
	case op == 0x43:
		out = append(out, r.bytes(4)...)
	case op == 0x44:
		out = append(out, r.bytes(8)...)
	case op == 0xd0: // ref.null
		t := r.byte()
		refType(t)
		out = append(out, t)
	case op == 0xd2: // ref.func
		out = appendU32(out, rw.fn(r.u32()))
	case op == 0xfc:
		sub := r.u32()
		out = appendU32(out, sub)
		switch {
		case sub <= 7: // saturating truncations
		case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
			u32()
			u32()
		case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
			u32()
		default:
			fail(ErrUninstrumentable, "instruction 0xfc %d", sub)
		}
	default:
		fail(ErrUninstrumentable, "instruction 0x%02x (%s)", op, opFeature(op))
	}
	return out
}

// opFeature names the proposal an instruction the rewriter refuses comes from.
func opFeature(op byte) string {
	switch {
	case op >= 0x06 && op <= 0x0a, op == 0x18, op == 0x19, op == 0x1f:
		return "exception handling"
	case op >= 0x12 && op <= 0x15:
		return "tail calls or typed function references"
	case op >= 0xd3 && op <= 0xd6, op == 0xfb:
		return "typed references or GC"
	case op == 0xfd:
		return "SIMD"
	case op == 0xfe:
		return "threads"
	}
	return "unknown opcode"
}

// rewriteCustom drops the custom sections whose contents refer to code
// offsets (DWARF) and renumbers the function names of the name section;
// nil means drop.
func (rw *rewriter) rewriteCustom(body []byte) []byte {
	r := &reader{b: body}
	name := string(r.name())
	switch {
	case strings.HasPrefix(name, ".debug_"), name == "sourceMappingURL", name == "external_debug_info":
		return nil
	case name != "name":
		return body
	}
	out := append([]byte(nil), body[:r.pos]...)
	names, ok := rw.rewriteNames(r)
	if !ok {
		return nil
	}
	return append(out, names...)
}

// rewriteNames renumbers the module, function and local names subsections
// of a name section and drops the others; ok is false when it is malformed.
func (rw *rewriter) rewriteNames(r *reader) (out []byte, ok bool) {
	defer func() {
		if rec := recover(); rec != nil {
			if _, mine := rec.(instrumentError); !mine {
				panic(rec)
			}
			out, ok = nil, false
		}
	}()
	for !r.eof() {
		id := r.byte()
		sub := &reader{b: r.name()}
		var b []byte
		switch id {
		case 0:
			b = sub.b
		case 1, 2:
			n := sub.count()
			b = appendU32(nil, n)
			for range n {
				b = appendU32(b, rw.fn(sub.u32()))
				if id == 1 {
					nm := sub.name()
					b = append(appendU32(b, uint32(len(nm))), nm...)
					continue
				}
				k := sub.count()
				b = appendU32(b, k)
				for range k {
					b = appendU32(b, sub.u32())
					nm := sub.name()
					b = append(appendU32(b, uint32(len(nm))), nm...)
				}
			}
		default:
			continue
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(b)))
		out = append(out, b...)
	}
	return out, true
}

// yield is the host side of paasd:instrument.yield: it stops the call when
// its context is done or the module was closed, and otherwise returns a
// fresh budget.
func yield(ctx context.Context, mod api.Module, stack []uint64) {
	code := uint32(0)
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		code = sys.ExitCodeDeadlineExceeded
	case err != nil:
		code = sys.ExitCodeContextCanceled
	case !mod.IsClosed():
		stack[0] = instrumentBudget
		return
	}
	_ = mod.CloseWithExitCode(context.Background(), code)
	panic(sys.NewExitError(code))
}

// Instantiate adds the paasd:instrument host module, whose yield stops a
// call once its context is done, to rt. Instrumented modules need it.
func Instantiate(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(Module).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(yield), nil, []api.ValueType{api.ValueTypeI32}).
		WithName(instrumentYield).
		Export(instrumentYield).
		Instantiate(ctx)
	return err
}
