//go:build !wasip1

package wasmguest

import "github.com/paasd/paasd/core"

// Serve installs impl behind the module's exports. It has effect only in a
// GOOS=wasip1 build; elsewhere it does nothing, so that a guest's main
// package, which calls Serve from init, can still be unit-tested natively
// with go test (test the implementation directly, or through
// [NewDispatcher]).
func Serve(impl core.Plugin) { _ = impl }
