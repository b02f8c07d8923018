//go:build !wasip1

package wasmguest

import "github.com/paasd/paasd/core"

// Serve installs impl behind the module's exports. It does something only in
// a GOOS=wasip1 build; elsewhere it panics, because a guest built for another
// target would silently serve nothing.
func Serve(impl core.Plugin) {
	_ = impl
	panic("wasmguest.Serve: build the guest with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared")
}
