//go:build wasip1

// Command deny is an http-wasm guest (a Go wasip1 reactor) that answers 403
// itself when the request has an X-Deny header, panics when it has
// X-Panic, and otherwise rewrites the path to /allowed and calls next.
package main

import "unsafe"

const kindRequest = 0

//go:wasmimport http_handler get_header_values
func getHeaderValues(kind uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufLimit uint32) uint64

//go:wasmimport http_handler set_status_code
func setStatusCode(code uint32)

//go:wasmimport http_handler write_body
func writeBody(kind uint32, body unsafe.Pointer, bodyLen uint32)

//go:wasmimport http_handler set_uri
func setURI(uri unsafe.Pointer, uriLen uint32)

var buf [256]byte

// has reports whether the request has header name (the count of values is
// the high 32 bits of get_header_values' result).
func has(name string) bool {
	r := getHeaderValues(kindRequest, unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)), unsafe.Pointer(&buf[0]), uint32(len(buf)))
	return r>>32 > 0
}

//go:wasmexport handle_request
func handleRequest() uint64 {
	if has("X-Panic") {
		panic("asked to panic")
	}
	if has("X-Deny") {
		setStatusCode(403)
		body := "denied by middleware\n"
		writeBody(1, unsafe.Pointer(unsafe.StringData(body)), uint32(len(body)))
		return 0
	}
	uri := "/allowed"
	setURI(unsafe.Pointer(unsafe.StringData(uri)), uint32(len(uri)))
	return 1
}

//go:wasmexport handle_response
func handleResponse(reqCtx uint32, isError uint32) {}

func main() {}
