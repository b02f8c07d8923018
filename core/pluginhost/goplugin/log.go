package goplugin

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// slogAdapter is an hclog.Logger that writes to a *slog.Logger, so that
// go-plugin's own log and the plugin's stderr (which go-plugin parses,
// JSON hclog lines keeping their level) reach paasd's log.
//
// go-plugin logs the plugin's stderr through logger.Named(<binary name>);
// a plain (non-JSON) stderr line arrives at Debug level there. The adapter
// marks that logger as plugin output and raises plain lines to Info, because
// a plugin author who writes to stderr means it to be seen. go-plugin's own
// messages (e.g. Named("stdio")) keep their level.
type slogAdapter struct {
	l      *slog.Logger
	name   string
	args   []any
	output bool // the logger go-plugin uses for the plugin's stderr
	// outputName is the name go-plugin gives that logger: the base name
	// of the plugin's executable.
	outputName string
}

var _ hclog.Logger = (*slogAdapter)(nil)

func newSlogAdapter(l *slog.Logger, executable string) *slogAdapter {
	return &slogAdapter{l: l, outputName: filepath.Base(executable)}
}

var hclogToSlog = map[hclog.Level]slog.Level{
	hclog.Trace: slog.LevelDebug - 4,
	hclog.Debug: slog.LevelDebug,
	hclog.Info:  slog.LevelInfo,
	hclog.Warn:  slog.LevelWarn,
	hclog.Error: slog.LevelError,
}

func (a *slogAdapter) Log(level hclog.Level, msg string, args ...any) {
	lvl, ok := hclogToSlog[level]
	if !ok {
		lvl = slog.LevelInfo
	}
	if a.output && level <= hclog.Debug && !hasKey(args, "timestamp") {
		lvl = slog.LevelInfo // a plain stderr line, not a JSON hclog entry
	}
	ctx := context.Background()
	if !a.l.Enabled(ctx, lvl) {
		return
	}
	all := make([]any, 0, len(a.args)+len(args)+2)
	if a.name != "" {
		all = append(all, "logger", a.name)
	}
	all = append(all, a.args...)
	all = append(all, args...)
	a.l.Log(ctx, lvl, msg, all...)
}

func hasKey(args []any, key string) bool {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == key {
			return true
		}
	}
	return false
}

func (a *slogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *slogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *slogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *slogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *slogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *slogAdapter) enabled(l hclog.Level) bool {
	return a.l.Enabled(context.Background(), hclogToSlog[l])
}

func (a *slogAdapter) IsTrace() bool { return a.enabled(hclog.Trace) }
func (a *slogAdapter) IsDebug() bool { return a.enabled(hclog.Debug) }
func (a *slogAdapter) IsInfo() bool  { return a.enabled(hclog.Info) }
func (a *slogAdapter) IsWarn() bool  { return a.enabled(hclog.Warn) }
func (a *slogAdapter) IsError() bool { return a.enabled(hclog.Error) }

func (a *slogAdapter) ImpliedArgs() []any { return a.args }

func (a *slogAdapter) With(args ...any) hclog.Logger {
	b := *a
	b.args = append(append([]any(nil), a.args...), args...)
	return &b
}

func (a *slogAdapter) Name() string { return a.name }

func (a *slogAdapter) Named(name string) hclog.Logger {
	b := *a
	if b.name != "" {
		b.name += "." + name
	} else {
		b.name = name
	}
	b.output = a.name == "" && name == a.outputName
	return &b
}

func (a *slogAdapter) ResetNamed(name string) hclog.Logger {
	b := *a
	b.name = name
	return &b
}

// SetLevel is a no-op: the slog handler decides what is kept.
func (a *slogAdapter) SetLevel(hclog.Level) {}

// GetLevel returns Trace so that go-plugin passes every line on and the slog
// handler decides.
func (a *slogAdapter) GetLevel() hclog.Level { return hclog.Trace }

func (a *slogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *slogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineLogger{l: a.l, msg: "plugin log"}
}

// lineLogger logs each complete line written to it at Info. It receives the
// plugin's os.Stdout and os.Stderr after the handshake (go-plugin's stdio
// forwarding).
type lineLogger struct {
	l      *slog.Logger
	msg    string
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		if line == "" {
			continue
		}
		if w.stream != "" {
			w.l.Info(w.msg, "stream", w.stream, "line", line)
		} else {
			w.l.Info(w.msg, "line", line)
		}
	}
	if len(w.buf) > 64<<10 { // an endless line: log what we have
		w.l.Info(w.msg, "stream", w.stream, "line", string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// tailBuffer keeps the last bytes of the plugin's raw stderr so that a load
// failure can quote what the plugin said.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 2 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

// lines returns the last n non-empty lines, joined by "; ".
func (t *tailBuffer) lines(n int) string {
	t.mu.Lock()
	s := string(t.buf)
	t.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "; ")
}
