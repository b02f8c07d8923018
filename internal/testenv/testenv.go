// Package testenv tells tests what the machine offers: root, commands,
// services. A test that needs something missing is skipped with the reason
// on a developer's machine, and fails under CI (CI=true), where
// scripts/setup.sh must have provided it.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (the CI environment variable is
// "true"), where missing system parts are failures, not skips.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips t with reason, or fails it under CI.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI must provide this (see scripts/setup.d): %s", reason)
	}
	t.Skip(reason)
}

// NeedRoot skips (fails under CI) unless the test runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root (containers, cgroups, network namespaces)")
	}
}

// NeedCommand returns the path of name, or skips (fails under CI) when it is
// not installed.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed")
	}
	return p
}

// Short skips t in -short mode with reason; for end-to-end tests.
func Short(t testing.TB, reason string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: " + reason)
	}
}
