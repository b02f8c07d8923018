// Package procfile parses Heroku Procfiles: one "<type>: <command>" per line.
//
// # Rules
//
//   - A process type name is 1..63 letters, digits, underscores and dashes
//     (Heroku's [A-Za-z0-9_-]); the colon follows it directly.
//   - Space around the colon and at either end of the line is ignored; the
//     command is the rest of the line and must not be empty.
//   - Blank lines and lines whose first non-blank character is '#' are
//     ignored. CRLF line endings are accepted.
//   - A process type may appear once: a duplicate is an error naming both
//     lines (Heroku silently keeps the last one; an error is kinder).
//   - The file is UTF-8, without control characters other than tab, and at
//     most [MaxSize] bytes.
//
// Errors wrap core.ErrInvalid and name the line.
package procfile

import (
	"bufio"
	"bytes"
	"encoding/json"

	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// MaxSize is the largest Procfile accepted, in bytes.
const MaxSize = 64 << 10

// MaxTypeLen is the longest process type name.
const MaxTypeLen = 63

// MaxCommandLen is the longest command, in characters.
const MaxCommandLen = 4096

// Process is one process type and its command.
type Process struct {
	// Type is the process type name, e.g. "web".
	Type string
	// Command is run with /bin/sh -c in the app's directory.
	Command string
	// Line is the 1-based line it was declared on.
	Line int
}

// Procfile is a parsed Procfile, in file order.
type Procfile []Process

// Map returns the process types as a map from type to command.
func (p Procfile) Map() map[string]string {
	m := make(map[string]string, len(p))
	for _, proc := range p {
		m[proc.Type] = proc.Command
	}
	return m
}

// Lookup returns the command of process type t.
func (p Procfile) Lookup(t string) (string, bool) {
	for _, proc := range p {
		if proc.Type == t {
			return proc.Command, true
		}
	}
	return "", false
}

// Validate checks p against the "#Procfile" CUE definition with v (a
// *schemas.Validator); Parse's rules imply it, so this is a second line of
// defence for Procfiles built by other means.
func (p Procfile) Validate(v wire.Validator) error {
	b, err := json.Marshal(p.Map())
	if err != nil {
		return fmt.Errorf("procfile: encode: %w", err)
	}
	if err := v.Validate("#Procfile", b); err != nil {
		return fmt.Errorf("procfile: %w", err)
	}
	return nil
}

// Parse reads a Procfile. An empty file (or one with only comments) gives an
// empty Procfile and no error.
func Parse(r io.Reader) (Procfile, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("procfile: read: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("procfile: larger than %d bytes: %w", MaxSize, core.ErrInvalid)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	var out Procfile
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxSize+1)
	for n := 1; sc.Scan(); n++ {
		proc, ok, err := parseLine(sc.Text(), n)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if first, dup := seen[proc.Type]; dup {
			return nil, fmt.Errorf("procfile: line %d: duplicate process type %q (first declared on line %d): %w", n, proc.Type, first, core.ErrInvalid)
		}
		seen[proc.Type] = n
		out = append(out, proc)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("procfile: %w: %w", err, core.ErrInvalid)
	}
	return out, nil
}

// parseLine parses line n; ok is false for a blank or comment line.
func parseLine(line string, n int) (Process, bool, error) {
	line = strings.TrimSuffix(line, "\r")
	if !utf8.ValidString(line) {
		return Process{}, false, fmt.Errorf("procfile: line %d: not valid UTF-8: %w", n, core.ErrInvalid)
	}
	for _, c := range line {
		if c != '\t' && (c < 0x20 || c == 0x7f) {
			return Process{}, false, fmt.Errorf("procfile: line %d: control character %q: %w", n, c, core.ErrInvalid)
		}
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return Process{}, false, nil
	}
	name, command, found := strings.Cut(trimmed, ":")
	if !found {
		return Process{}, false, fmt.Errorf("procfile: line %d: %q is not \"<process type>: <command>\": %w", n, clip(trimmed), core.ErrInvalid)
	}
	if err := checkType(name); err != nil {
		return Process{}, false, fmt.Errorf("procfile: line %d: %w", n, err)
	}
	command = strings.TrimSpace(command)
	if command == "" {
		return Process{}, false, fmt.Errorf("procfile: line %d: process type %q has no command: %w", n, name, core.ErrInvalid)
	}
	if utf8.RuneCountInString(command) > MaxCommandLen {
		return Process{}, false, fmt.Errorf("procfile: line %d: command of %q is longer than %d characters: %w", n, name, MaxCommandLen, core.ErrInvalid)
	}
	return Process{Type: name, Command: command, Line: n}, true, nil
}

// CheckType returns an error wrapping core.ErrInvalid when t is not a valid
// process type name.
func CheckType(t string) error { return checkType(t) }

func checkType(t string) error {
	if t == "" {
		return fmt.Errorf("empty process type name: %w", core.ErrInvalid)
	}
	if len(t) > MaxTypeLen {
		return fmt.Errorf("process type name %q is %d characters, more than %d: %w", clip(t), len(t), MaxTypeLen, core.ErrInvalid)
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("invalid process type name %q: %q is not a letter, digit, '_' or '-': %w", clip(t), c, core.ErrInvalid)
		}
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:77] + "..."
}
