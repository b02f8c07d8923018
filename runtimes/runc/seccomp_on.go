//go:build seccomp && cgo

package runc

// seccompBuilt is true when libcontainer was built with libseccomp (the
// "seccomp" build tag), so that dynos get the default seccomp profile.
const seccompBuilt = true
