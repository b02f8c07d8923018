//go:build !linux

package conformance

import "fmt"

// appSyscalls reports that seccomp is a Linux feature.
func appSyscalls() { fmt.Println("seccomp: unsupported") }
