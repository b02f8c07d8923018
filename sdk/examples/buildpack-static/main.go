// Command buildpack-static is an example buildpack served as a paasd
// go-plugin; ./wasm serves the same buildpack (package static) as a
// WebAssembly module. Build either and list it in paasd's config:
//
//	go build -o buildpack-static ./sdk/examples/buildpack-static
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared \
//	    -o buildpack-static.wasm ./sdk/examples/buildpack-static/wasm
//	# paasd config: "buildpacks": [{"ref": "wasm:/path/to/buildpack-static.wasm"}]
//
// Its whole main is one sdk.Serve call.
package main

import (
	"github.com/paasd/paasd/sdk"
	"github.com/paasd/paasd/sdk/examples/buildpack-static/static"
)

func main() {
	sdk.Serve(static.New("go-plugin"))
}
