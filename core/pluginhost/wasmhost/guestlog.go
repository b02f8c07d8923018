package wasmhost

import (
	"bytes"
	"io"
	"log/slog"
	"strconv"
)

// maxLine is the longest guest output line logged as one record.
const maxLine = 4096

// headSize is how much of a call's stderr is kept for error messages: a Go
// guest prints "panic: …" or "fatal error: …" first, then goroutine dumps.
const headSize = 1024

// guestLog copies a guest's stdout or stderr to a slog.Logger, one record per
// line, at most limit bytes per call. An instance runs one call at a time and
// the guest writes from that call, so guestLog needs no locking.
type guestLog struct {
	logger  *slog.Logger
	module  string
	stream  string
	limit   int
	used    int
	dropped bool
	line    []byte
	head    []byte
	// tee, when set, receives every byte as written (a buildpack's build
	// output), unbounded by limit.
	tee io.Writer
}

func newGuestLog(l *slog.Logger, module, stream string, limit int) *guestLog {
	return &guestLog{logger: l, module: module, stream: stream, limit: limit}
}

// Write implements io.Writer; it never fails.
func (g *guestLog) Write(p []byte) (int, error) {
	n := len(p)
	if g.tee != nil {
		_, _ = g.tee.Write(p)
	}
	if room := headSize - len(g.head); room > 0 {
		g.head = append(g.head, p[:min(room, len(p))]...)
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			g.add(p)
			break
		}
		g.add(p[:i])
		g.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (g *guestLog) add(p []byte) {
	if room := maxLine - len(g.line); room < len(p) {
		p = p[:max(room, 0)]
	}
	g.line = append(g.line, p...)
}

func (g *guestLog) emit() {
	line := g.line
	g.line = g.line[:0]
	if g.used+len(line) > g.limit {
		if !g.dropped {
			g.dropped = true
			g.logger.Warn("wasm guest output over the per-call limit; dropping the rest of this call's output", "module", g.module, "stream", g.stream, "limit", g.limit)
		}
		return
	}
	g.used += len(line)
	g.logger.Info(string(line), "module", g.module, "stream", g.stream)
}

// reset starts a new call's budget.
func (g *guestLog) reset() {
	g.used, g.dropped = 0, false
	g.head = g.head[:0]
}

// flush logs a partial last line.
func (g *guestLog) flush() {
	if len(g.line) > 0 {
		g.emit()
	}
}

// note returns the first paragraph of this call's output as
// ` (stderr: "…")`, or "".
func (g *guestLog) note() string {
	t, _, _ := bytes.Cut(g.head, []byte("\n\n"))
	t = bytes.TrimSpace(t)
	if len(t) == 0 {
		return ""
	}
	return " (stderr: " + strconv.Quote(string(t)) + ")"
}
