// Package ttyio connects a dyno's pseudo-terminal to a core.AttachIO, for
// the dyno runtimes' Attach.
package ttyio

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/creack/pty"

	"github.com/paasd/paasd/core"
)

// Attach copies between a dyno's pty master and aio until the dyno exits,
// then returns its exit code (from code, called after done is closed).
// Sizes already queued on aio.Resize are applied before any input is
// copied, so a caller can set the initial size deterministically.
func Attach(ctx context.Context, id string, f *os.File, aio core.AttachIO, done <-chan struct{}, code func() *int) (int, error) {
	// Apply the sizes already queued before any input reaches the dyno.
	if aio.Resize != nil {
	drain:
		for {
			select {
			case sz, ok := <-aio.Resize:
				if !ok {
					break drain
				}
				_ = pty.Setsize(f, &pty.Winsize{Rows: sz.Rows, Cols: sz.Cols})
			default:
				break drain
			}
		}
	}
	if aio.Stdin != nil {
		go func() {
			// The end of the client's input is what a terminal sends for
			// it: ^D (VEOF in canonical mode), so a shell reading the
			// terminal exits instead of waiting for ever.
			if _, err := io.Copy(f, aio.Stdin); err == nil {
				_, _ = f.Write([]byte{4})
			}
		}()
	}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		if aio.Stdout != nil {
			_, _ = io.Copy(aio.Stdout, f) // ends with EIO once the dyno's side is closed
		} else {
			_, _ = io.Copy(io.Discard, f)
		}
	}()
	for {
		select {
		case sz, ok := <-aio.Resize:
			if !ok {
				aio.Resize = nil
				continue
			}
			_ = pty.Setsize(f, &pty.Winsize{Rows: sz.Rows, Cols: sz.Cols})
		case <-done:
			select {
			case <-outDone:
			case <-ctx.Done():
			}
			c := code()
			if c == nil {
				return -1, fmt.Errorf("attach dyno %s: exit code unknown: %w", id, core.ErrUnavailable)
			}
			return *c, nil
		case <-ctx.Done():
			return -1, fmt.Errorf("attach dyno %s: %w", id, ctx.Err())
		}
	}
}
