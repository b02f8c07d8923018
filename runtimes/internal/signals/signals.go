// Package signals maps Heroku-style signal names ("TERM", "SIGUSR1", "9")
// to signal numbers and back, for the dyno runtimes.
package signals

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/paasd/paasd/core"
)

// Parse returns the signal named s: a name with or without the "SIG"
// prefix, in any case, or a number. It returns an error wrapping
// core.ErrInvalid naming s for anything else.
func Parse(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %q: number out of range: %w", s, core.ErrInvalid)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("signal %q: unknown signal name: %w", s, core.ErrInvalid)
	}
	return sig, nil
}

// Name returns the signal's name without the "SIG" prefix ("KILL").
func Name(sig syscall.Signal) string {
	n := unix.SignalName(sig)
	if n == "" {
		return strconv.Itoa(int(sig))
	}
	return strings.TrimPrefix(n, "SIG")
}
