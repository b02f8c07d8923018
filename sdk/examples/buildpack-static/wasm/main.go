// Command wasm serves the example static-site buildpack (package static) as a
// paasd WebAssembly module, a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o buildpack-static.wasm .
//
// The host mounts each call's build, cache and env dirs at /build, /cache
// and /env; the module sees nothing else of the host.
package main

import (
	"github.com/paasd/paasd/sdk/examples/buildpack-static/static"
	"github.com/paasd/paasd/sdk/wasmguest"
)

func init() { wasmguest.Serve(static.New("wasm")) }

func main() {}
