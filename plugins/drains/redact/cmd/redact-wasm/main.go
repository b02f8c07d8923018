// Command redact-wasm is the redact drain-path filter as a WebAssembly
// module. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o redact.wasm ./plugins/drains/redact/cmd/redact-wasm
//
// and reference it as "wasm:/path/to/redact.wasm".
package main

import (
	"github.com/paasd/paasd/plugins/drains/redact"
	"github.com/paasd/paasd/sdk/wasmguest"
)

func init() { wasmguest.Serve(redact.New()) }

func main() {}
