//go:build !seccomp || !cgo

package runc

// seccompBuilt is false without the "seccomp" build tag: libcontainer then
// cannot load a seccomp filter and dynos run without one.
const seccompBuilt = false
