//go:build wasip1

// Command addheader is an http-wasm guest (a Go wasip1 reactor) that adds
// "X-Middleware: paasd" to the request and "X-Middleware-Seen: yes" to the
// response, then calls the next handler. Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o addheader.wasm .
package main

import "unsafe"

const (
	kindRequest  = 0
	kindResponse = 1
)

//go:wasmimport http_handler add_header_value
func addHeaderValue(kind uint32, name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32)

func add(kind uint32, name, value string) {
	addHeaderValue(kind, unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)),
		unsafe.Pointer(unsafe.StringData(value)), uint32(len(value)))
}

//go:wasmexport handle_request
func handleRequest() uint64 {
	add(kindRequest, "X-Middleware", "paasd")
	add(kindResponse, "X-Middleware-Seen", "yes")
	return 1 // call next
}

//go:wasmexport handle_response
func handleResponse(reqCtx uint32, isError uint32) {}

func main() {}
