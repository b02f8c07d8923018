// Package wasmguest assembles tiny http-wasm guest modules directly in the
// WebAssembly binary format, for tests and benchmarks that need a guest
// without a wasm toolchain (no TinyGo, no wat2wasm here) and without the
// instantiation cost of a Go runtime.
package wasmguest

// AddHeader returns a module that, in handle_request, adds name: value to
// the request headers and respName: value to the response headers, then
// calls the next handler. handle_response does nothing.
func AddHeader(hdrName, respName, value string) []byte {
	data := []byte(hdrName + respName + value)
	nameOff, respOff, valOff := 0, len(hdrName), len(hdrName)+len(respName)

	var body []byte
	call := func(kind int, off, n int) {
		body = append(body, 0x41)
		body = sleb(body, int64(kind))
		body = append(body, 0x41)
		body = sleb(body, int64(off))
		body = append(body, 0x41)
		body = sleb(body, int64(n))
		body = append(body, 0x41)
		body = sleb(body, int64(valOff))
		body = append(body, 0x41)
		body = sleb(body, int64(len(value)))
		body = append(body, 0x10, 0x00) // call import 0
	}
	call(0, nameOff, len(hdrName))        // header_kind_request
	call(1, respOff, len(respName))       // header_kind_response
	body = append(body, 0x42, 0x01, 0x0b) // i64.const 1 (call next); end
	return assembleWithData(body, data)
}

// Loop returns a module whose handle_request never returns.
func Loop() []byte {
	// loop; br 0; end; unreachable; end
	return assemble([]byte{0x03, 0x40, 0x0c, 0x00, 0x0b, 0x00, 0x0b})
}

// LoopSIMD returns a module whose handle_request uses a SIMD instruction
// and then never returns: the host cannot instrument it and must stop it by
// other means.
func LoopSIMD() []byte {
	body := append([]byte{0xfd, 0x0c}, make([]byte, 16)...) // v128.const 0
	// drop; loop; br 0; end; unreachable; end
	return assemble(append(body, 0x1a, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x00, 0x0b))
}

// assemble builds the module around handle_request's body (without the
// locals prefix); data is placed at offset 0 of a one-page memory.
func assemble(reqBody []byte) []byte {
	return assembleWithData(reqBody, nil)
}

func assembleWithData(reqBody, data []byte) []byte {
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	// Types: 0 (i32 x5)->(), 1 ()->i64, 2 (i32 i32)->().
	m = section(m, 1, vec(3,
		[]byte{0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00},
		[]byte{0x60, 0x00, 0x01, 0x7e},
		[]byte{0x60, 0x02, 0x7f, 0x7f, 0x00}))
	imp := append(name("http_handler"), name("add_header_value")...)
	imp = append(imp, 0x00, 0x00)
	m = section(m, 2, vec(1, imp))
	m = section(m, 3, vec(2, []byte{0x01}, []byte{0x02}))
	m = section(m, 5, vec(1, []byte{0x01, 0x01, 0x01}))
	m = section(m, 7, vec(3,
		append(name("handle_request"), 0x00, 0x01),
		append(name("handle_response"), 0x00, 0x02),
		append(name("memory"), 0x02, 0x00)))
	f1 := append([]byte{0x00}, reqBody...)
	f2 := []byte{0x00, 0x0b}
	m = section(m, 10, vec(2, uleb(nil, uint64(len(f1))), f1, uleb(nil, uint64(len(f2))), f2))
	if len(data) > 0 {
		seg := []byte{0x00, 0x41, 0x00, 0x0b}
		seg = uleb(seg, uint64(len(data)))
		seg = append(seg, data...)
		m = section(m, 11, vec(1, seg))
	}
	return m
}

func section(m []byte, id byte, content []byte) []byte {
	m = append(m, id)
	m = uleb(m, uint64(len(content)))
	return append(m, content...)
}

// vec prefixes the count n (of entries, which may span several parts).
func vec(n int, parts ...[]byte) []byte {
	out := uleb(nil, uint64(n))
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func name(s string) []byte { return append(uleb(nil, uint64(len(s))), s...) }

func uleb(b []byte, v uint64) []byte {
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

func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
