// Package logtail follows a dyno's stdout and stderr log files line by line.
//
// The dyno runtimes send a dyno's output straight to files in its state
// directory (not through pipes held by paasd), so that a dyno keeps running
// and logging while paasd restarts, and a new runtime instance re-attaches
// to the same output. Follow reads those files from their start.
package logtail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/paasd/paasd/core"
)

// MaxLine is the longest line delivered; longer lines are split into
// chunks of this size, as Logplex does.
const MaxLine = 10000

// PollInterval is how often Follow looks for new output.
const PollInterval = 50 * time.Millisecond

// Source is one output file and the stream name its lines carry.
type Source struct {
	Path   string
	Stream string
}

type follower struct {
	src  Source
	f    *os.File
	buf  []byte
	read []byte
}

// Follow calls fn with every line of the sources, from their start, until
// exited is closed and everything written before has been delivered (then it
// returns nil), ctx ends, or fn returns an error (returned as is). A final
// line without a newline is delivered once exited is closed.
func Follow(ctx context.Context, sources []Source, exited <-chan struct{}, fn func(core.LogLine) error) error {
	fs := make([]*follower, len(sources))
	for i, s := range sources {
		fs[i] = &follower{src: s, read: make([]byte, 32<<10)}
	}
	defer func() {
		for _, f := range fs {
			if f.f != nil {
				f.f.Close()
			}
		}
	}()
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		done := false
		select {
		case <-exited:
			done = true
		default:
		}
		// Read once more after seeing exited, so that output written before
		// the exit is delivered.
		for _, f := range fs {
			if err := f.poll(fn, done); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
		case <-tick.C:
		}
	}
}

// poll reads what is new and delivers complete lines; with final it also
// delivers an incomplete last line.
func (f *follower) poll(fn func(core.LogLine) error, final bool) error {
	if f.f == nil {
		fh, err := os.Open(f.src.Path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("open %s log: %w", f.src.Stream, err)
		}
		f.f = fh
	}
	for {
		n, err := f.f.Read(f.read)
		f.buf = append(f.buf, f.read[:n]...)
		if err := f.deliver(fn); err != nil {
			return err
		}
		if errors.Is(err, io.EOF) || n == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s log: %w", f.src.Stream, err)
		}
	}
	if final && len(f.buf) > 0 {
		line := f.buf
		f.buf = nil
		return fn(core.LogLine{Time: time.Now().UTC(), Stream: f.src.Stream, Text: string(line)})
	}
	return nil
}

// deliver sends the complete lines in buf, splitting long ones.
func (f *follower) deliver(fn func(core.LogLine) error) error {
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 && len(f.buf) < MaxLine {
			return nil
		}
		var line []byte
		switch {
		case i >= 0 && i <= MaxLine:
			line = f.buf[:i]
			f.buf = f.buf[i+1:]
		default:
			line = f.buf[:MaxLine]
			f.buf = f.buf[MaxLine:]
		}
		if err := fn(core.LogLine{Time: time.Now().UTC(), Stream: f.src.Stream, Text: string(bytes.TrimSuffix(line, []byte("\r")))}); err != nil {
			return err
		}
		if len(f.buf) == 0 {
			f.buf = nil
			return nil
		}
	}
}
