// Package netrc reads and edits ~/.netrc files, keeping everything it does
// not change (comments, other machines, macdef bodies, layout) byte for
// byte, as the Heroku CLI does for its api and git hosts.
package netrc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/paasd/paasd/core"
)

// Machine is one "machine" entry ("default" has Name "").
type Machine struct {
	Name     string
	Login    string
	Password string
	Account  string
	// Default is true for the "default" entry.
	Default bool
}

// File is a parsed netrc file.
type File struct {
	// Machines are the entries in file order.
	Machines []Machine
	// src is the original text; spans locate each machine's entry in it.
	src   string
	spans [][2]int
}

// token is one whitespace-separated word and its byte offsets.
type token struct {
	s          string
	start, end int
}

func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			// A comment runs to the end of the line.
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"':
			start := i
			var b strings.Builder
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			if i >= len(s) {
				return nil, fmt.Errorf("netrc: the quote at byte %d is never closed: %w", start, core.ErrInvalid)
			}
			i++
			out = append(out, token{b.String(), start, i})
		default:
			start := i
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				i++
			}
			out = append(out, token{s[start:i], start, i})
		}
	}
	return out, nil
}

// Parse parses netrc text. Unknown keywords are an error naming them;
// a macdef body (up to the next blank line) is skipped.
func Parse(data []byte) (*File, error) {
	s := string(data)
	f := &File{src: s}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	cur := -1
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		value := func() (string, error) {
			if i+1 >= len(toks) {
				return "", fmt.Errorf("netrc: %q at byte %d has no value: %w", t.s, t.start, core.ErrInvalid)
			}
			i++
			return toks[i].s, nil
		}
		switch t.s {
		case "machine", "default":
			m := Machine{Default: t.s == "default"}
			if !m.Default {
				v, err := value()
				if err != nil {
					return nil, err
				}
				m.Name = v
			}
			f.Machines = append(f.Machines, m)
			f.spans = append(f.spans, [2]int{t.start, toks[i].end})
			cur = len(f.Machines) - 1
		case "login", "password", "account":
			if cur < 0 {
				return nil, fmt.Errorf("netrc: %q at byte %d is outside a machine entry: %w", t.s, t.start, core.ErrInvalid)
			}
			v, err := value()
			if err != nil {
				return nil, err
			}
			switch t.s {
			case "login":
				f.Machines[cur].Login = v
			case "password":
				f.Machines[cur].Password = v
			default:
				f.Machines[cur].Account = v
			}
			f.spans[cur][1] = toks[i].end
		case "macdef":
			if _, err := value(); err != nil {
				return nil, err
			}
			// The body runs to the first empty line.
			end := strings.Index(s[toks[i].end:], "\n\n")
			if end < 0 {
				end = len(s)
			} else {
				end += toks[i].end
			}
			for i+1 < len(toks) && toks[i+1].start < end {
				i++
			}
			cur = -1
		default:
			return nil, fmt.Errorf("netrc: unknown keyword %q at byte %d: %w", t.s, t.start, core.ErrInvalid)
		}
	}
	return f, nil
}

// Machine returns the entry for name, or the default entry, or nil.
func (f *File) Machine(name string) *Machine {
	var def *Machine
	for i := range f.Machines {
		m := &f.Machines[i]
		if !m.Default && m.Name == name {
			return m
		}
		if m.Default && def == nil {
			def = m
		}
	}
	return def
}

func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n\"#\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func entry(m Machine) string {
	var b strings.Builder
	fmt.Fprintf(&b, "machine %s\n  login %s\n  password %s", quote(m.Name), quote(m.Login), quote(m.Password))
	if m.Account != "" {
		fmt.Fprintf(&b, "\n  account %s", quote(m.Account))
	}
	return b.String()
}

// Set adds or replaces the entry for m.Name and returns the new file text;
// the rest of the file is unchanged.
func (f *File) Set(m Machine) []byte {
	out := f.Remove(m.Name)
	s := string(out)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s + entry(m) + "\n")
}

// Remove returns the file text without the entries for name.
func (f *File) Remove(name string) []byte {
	s := f.src
	for i := len(f.Machines) - 1; i >= 0; i-- {
		if f.Machines[i].Default || f.Machines[i].Name != name {
			continue
		}
		start, end := f.spans[i][0], f.spans[i][1]
		// Take the line break that ended the entry with it.
		if end < len(s) && s[end] == '\n' {
			end++
		}
		s = s[:start] + s[end:]
	}
	return []byte(s)
}

// Path returns the netrc path: $NETRC, else ~/.netrc.
func Path(getenv func(string) string) (string, error) {
	if p := getenv("NETRC"); p != "" {
		return p, nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("netrc: no home directory: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".netrc"), nil
}

// Load reads and parses path; a missing file is an empty File.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return &File{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netrc: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Write replaces path with data atomically, mode 0600.
func Write(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".netrc-*")
	if err != nil {
		return fmt.Errorf("netrc: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("netrc: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("netrc: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("netrc: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("netrc: %w", err)
	}
	return nil
}
