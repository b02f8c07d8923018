//go:build wasip1

// Command loop is a broken http-wasm guest whose handle_request never
// returns; the router must stop it at its time limit.
package main

var n uint64

//go:wasmexport handle_request
func handleRequest() uint64 {
	for {
		n++
	}
}

//go:wasmexport handle_response
func handleResponse(reqCtx uint32, isError uint32) {}

func main() {}
