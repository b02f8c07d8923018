//go:build wasip1

package wasmguest

import (
	"fmt"
	"unsafe"

	"github.com/paasd/paasd/core"
)

// The guest's one dispatcher and input buffer. A Wasm instance runs one call
// at a time, so these need no locking; they are package state only because
// exported Wasm functions cannot carry a receiver.
var (
	served *Dispatcher
	inBuf  []byte
)

// Serve installs impl behind the module's exports. Call it once, from an init
// function of the guest's main package; a second call replaces the first.
func Serve(impl core.Plugin) {
	served = NewDispatcher(impl)
}

//go:wasmexport paasd_abi_version
func paasdABIVersion() int32 { return ABIVersion }

// paasdAlloc returns a buffer of size bytes in linear memory for the host to
// write the method name and request into. It stays valid, at the same
// address, until the next paasd_alloc: the host reuses it for every call that
// fits. Call arguments are checked against it.
//
//go:wasmexport paasd_alloc
func paasdAlloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	if uint32(cap(inBuf)) < size {
		inBuf = make([]byte, size)
	}
	inBuf = inBuf[:size]
	return uint32(uintptr(unsafe.Pointer(&inBuf[0])))
}

// paasdCall runs one call and returns ptr<<32|len of the result, which stays
// valid until the next paasd_call.
//
//go:wasmexport paasd_call
func paasdCall(methodPtr, methodLen, reqPtr, reqLen uint32) uint64 {
	d := served
	if d == nil {
		d = NewDispatcher(nil)
		served = d
	}
	method, mok := input(methodPtr, methodLen)
	req, rok := input(reqPtr, reqLen)
	var out []byte
	if !mok || !rok {
		out = d.Fail(fmt.Errorf("wasmguest: paasd_call arguments (%d,%d,%d,%d) lie outside the paasd_alloc buffer: %w",
			methodPtr, methodLen, reqPtr, reqLen, core.ErrInvalid))
	} else {
		out = d.Call(string(method), req)
	}
	return uint64(uintptr(unsafe.Pointer(&out[0])))<<32 | uint64(len(out))
}

// input returns the part of the paasd_alloc buffer at [ptr, ptr+n).
func input(ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if len(inBuf) == 0 {
		return nil, false
	}
	base := uint64(uintptr(unsafe.Pointer(&inBuf[0])))
	start, end := uint64(ptr), uint64(ptr)+uint64(n)
	if start < base || end > base+uint64(len(inBuf)) {
		return nil, false
	}
	return inBuf[start-base : end-base], true
}
