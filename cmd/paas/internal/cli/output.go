package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// Hexagon is the app glyph Heroku prints before app names.
const Hexagon = "⬢"

// Errorf writes a message to stderr the way Heroku prints warnings and
// errors: every line prefixed with " ▸    ".
func (e *Env) Errorf(format string, args ...any) {
	FormatError(e.Err, fmt.Sprintf(format, args...))
}

// FormatError writes msg with every line prefixed by " ▸    ".
func FormatError(w interface{ Write([]byte) (int, error) }, msg string) {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(msg, "\n"), "\n") {
		if line == "" {
			b.WriteString(" ▸\n")
			continue
		}
		b.WriteString(" ▸    " + line + "\n")
	}
	w.Write([]byte(b.String()))
}

// Heading prints "=== title".
func (e *Env) Heading(title string) { fmt.Fprintf(e.Out, "=== %s\n", title) }

// Printf writes to stdout.
func (e *Env) Printf(format string, args ...any) { fmt.Fprintf(e.Out, format, args...) }

// KV is one line of a key/value list.
type KV struct{ Key, Value string }

// KeyValues prints "Key: value" lines with the values aligned, as
// `heroku apps:info` and `heroku config` do.
func (e *Env) KeyValues(kvs []KV) { e.Out.Write([]byte(FormatKeyValues(kvs))) }

// FormatKeyValues formats aligned "Key: value" lines; a multi-line value
// continues under its first line.
func FormatKeyValues(kvs []KV) string {
	width := 0
	for _, kv := range kvs {
		width = max(width, utf8.RuneCountInString(kv.Key)+1)
	}
	var b strings.Builder
	for _, kv := range kvs {
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(kv.Key)-1+1)
		lines := strings.Split(kv.Value, "\n")
		b.WriteString(strings.TrimRight(kv.Key+":"+pad+lines[0], " ") + "\n")
		for _, l := range lines[1:] {
			b.WriteString(strings.Repeat(" ", width+1) + l + "\n")
		}
	}
	return b.String()
}

// Table prints rows in columns two spaces apart; with headers, a header
// row underlined with "─" comes first.
func (e *Env) Table(headers []string, rows [][]string) {
	e.Out.Write([]byte(FormatTable(headers, rows)))
}

// FormatTable formats a table (see Table).
func FormatTable(headers []string, rows [][]string) string {
	n := len(headers)
	for _, r := range rows {
		n = max(n, len(r))
	}
	widths := make([]int, n)
	measure := func(r []string) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	measure(headers)
	for _, r := range rows {
		measure(r)
	}
	var b strings.Builder
	line := func(r []string) {
		var l strings.Builder
		for i := 0; i < n; i++ {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			l.WriteString(c)
			if i < n-1 {
				l.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	if len(headers) > 0 {
		line(headers)
		under := make([]string, n)
		for i := range under {
			under[i] = strings.Repeat("─", widths[i])
		}
		line(under)
	}
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// JSON prints v as indented JSON. A json.RawMessage is re-indented.
func (e *Env) JSON(v any) error {
	var b []byte
	var err error
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err = json.Indent(&buf, raw, "", "  "); err == nil {
			b = buf.Bytes()
		}
	} else {
		b, err = json.MarshalIndent(v, "", "  ")
	}
	if err != nil {
		return fmt.Errorf("format JSON: %w", err)
	}
	e.Out.Write(append(b, '\n'))
	return nil
}

// JSONFlag adds --json to cmd.
func JSONFlag(cmd *cobra.Command, p *bool) {
	cmd.Flags().BoolVar(p, "json", false, "output in json format")
}

var spinFrames = []string{"⣾", "⣽", "⣻", "⢿", "⡿", "⣟", "⣯", "⣷"}

// Action prints "msg... " on stderr, runs fn and ends the line with "done"
// (plus ", " and fn's status when not empty), or "!" when fn fails. When
// stdout and stderr are terminals a spinner turns while fn runs.
func (e *Env) Action(msg string, fn func() (status string, err error)) error {
	return e.action(msg, fn, false)
}

// ActionStatus is Action where fn's status replaces "done" ("up, run.1").
func (e *Env) ActionStatus(msg string, fn func() (status string, err error)) error {
	return e.action(msg, fn, true)
}

func (e *Env) action(msg string, fn func() (string, error), replace bool) error {
	animate := e.OutIsTTY() && e.IsTerminal(e.Err)
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if animate {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for i := 0; ; i++ {
				mu.Lock()
				fmt.Fprintf(e.Err, "\r%s... %s", msg, spinFrames[i%len(spinFrames)])
				mu.Unlock()
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
	} else {
		fmt.Fprintf(e.Err, "%s... ", msg)
	}
	status, err := fn()
	close(stop)
	wg.Wait()
	prefix := ""
	if animate {
		prefix = "\r\x1b[K" + msg + "... "
	}
	switch {
	case err != nil:
		fmt.Fprintf(e.Err, "%s!\n", prefix)
	case status != "" && replace:
		fmt.Fprintf(e.Err, "%s%s\n", prefix, status)
	case status != "":
		fmt.Fprintf(e.Err, "%sdone, %s\n", prefix, status)
	default:
		fmt.Fprintf(e.Err, "%sdone\n", prefix)
	}
	return err
}

// Plural returns "1 thing" or "N things".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// TimeFormat is how the CLI prints timestamps (Heroku's releases and ps).
const TimeFormat = "2006/01/02 15:04:05"

// Ago formats d as Heroku's "(~ 1m ago)" does.
func Ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
