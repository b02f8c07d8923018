// Package attach is paasd's protocol for attaching a terminal to a one-off
// dyno (`paas run`), playing the part of Heroku's rendezvous service. It
// holds both sides: [Handler], an http.Handler the API mounts, and [Dial],
// the client the CLI uses.
//
// # Protocol
//
// The client asks for an HTTP Upgrade:
//
//	GET /apps/{app}/dynos/{dyno}/attach HTTP/1.1
//	Connection: Upgrade
//	Upgrade: paasd-attach
//	Paasd-Term-Size: 24x80            (optional: rows x columns)
//
// The server answers "101 Switching Protocols" with "Upgrade: paasd-attach"
// (or an ordinary error response, e.g. a Heroku-style JSON error), and the
// connection becomes a bidirectional stream of frames: a type byte, a
// big-endian uint32 payload length, the payload (at most [MaxPayload]).
// The client sends stdin bytes ([FrameStdin]), the end of stdin
// ([FrameStdinEOF]) and terminal sizes ([FrameResize]); the server sends
// terminal output ([FrameOutput]) and finally either the exit code
// ([FrameExit]) or an error message ([FrameError]), then closes.
//
// # Notes
//
// Ctrl-C is not a frame: the client's terminal is in raw mode, so it is the
// byte 0x03 in the stdin stream, which the dyno's pseudo-terminal turns into
// SIGINT for the foreground process, as on Heroku. Authentication is the
// mounting server's business: wrap the Handler.
package attach

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/paasd/paasd/core"
)

// Protocol is the Upgrade token.
const Protocol = "paasd-attach"

// SizeHeader carries the initial terminal size, "ROWSxCOLS".
const SizeHeader = "Paasd-Term-Size"

// Func connects a one-off dyno of app to io and returns the dyno's exit
// code once it exits. It is the shape of the dyno manager's Attach. app
// and dynoID are the {app} and {dyno} path segments as the client sent
// them: an app name or id, a dyno name ("run.4821", what paas sends) or
// id; the function resolves them and answers an error wrapping
// core.ErrNotFound for an unknown dyno. A returned error reaches the client
// as a FrameError with its message.
type Func func(ctx context.Context, app, dynoID string, io core.AttachIO) (exitCode int, err error)

// Handler serves the attach endpoint. The app and dyno come from the
// request's path values "app" and "dyno" (mount it on a pattern such as
// "GET /apps/{app}/dynos/{dyno}/attach"); without them, from the last
// path segments /apps/APP/dynos/DYNO/attach.
type Handler struct {
	// Attach runs the session; required.
	Attach Func
	// Logger receives session errors; nil discards them.
	Logger *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// ParseSize parses "ROWSxCOLS".
func ParseSize(s string) (core.TermSize, error) {
	r, c, ok := strings.Cut(strings.TrimSpace(s), "x")
	if !ok {
		return core.TermSize{}, fmt.Errorf("terminal size %q is not ROWSxCOLS: %w", s, core.ErrInvalid)
	}
	rows, err1 := strconv.ParseUint(r, 10, 16)
	cols, err2 := strconv.ParseUint(c, 10, 16)
	if err1 != nil || err2 != nil {
		return core.TermSize{}, fmt.Errorf("terminal size %q is not ROWSxCOLS with numbers up to 65535: %w", s, core.ErrInvalid)
	}
	return core.TermSize{Rows: uint16(rows), Cols: uint16(cols)}, nil
}

func pathTarget(r *http.Request) (app, dyno string) {
	app, dyno = r.PathValue("app"), r.PathValue("dyno")
	if app != "" && dyno != "" {
		return app, dyno
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if n := len(parts); n >= 5 && parts[n-5] == "apps" && parts[n-3] == "dynos" && parts[n-1] == "attach" {
		return parts[n-4], parts[n-2]
	}
	return "", ""
}

func httpError(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"id\":%q,\"message\":%q}\n", id, msg)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	app, dyno := pathTarget(r)
	if app == "" {
		httpError(w, http.StatusNotFound, "not_found", "Not found: attach URLs are /apps/APP/dynos/DYNO/attach.")
		return
	}
	if !headerHas(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), Protocol) {
		w.Header().Set("Upgrade", Protocol)
		httpError(w, http.StatusUpgradeRequired, "bad_request", "This endpoint needs Connection: Upgrade and Upgrade: "+Protocol+".")
		return
	}
	var initial *core.TermSize
	if v := r.Header.Get(SizeHeader); v != "" {
		s, err := ParseSize(v)
		if err != nil {
			httpError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		initial = &s
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal_server_error", "cannot take over the connection: "+err.Error())
		return
	}
	defer conn.Close()
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + Protocol + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	// The request's context ends when the handler returns; the session's
	// own context ends when the client goes away.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	s := &serverSession{conn: conn, cancel: cancel}
	code, err := s.run(ctx, brw.Reader, initial, func(aio core.AttachIO) (int, error) {
		return h.Attach(ctx, app, dyno, aio)
	})
	if err != nil {
		log.Warn("attach session failed", "app", app, "dyno", dyno, "err", err)
		s.write(FrameError, []byte(err.Error()))
		return
	}
	s.write(FrameExit, ExitPayload(code))
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// serverSession is one attached connection, server side.
type serverSession struct {
	conn   io.Writer
	cancel context.CancelFunc
	mu     sync.Mutex
	broken bool
}

// write sends one frame; writes are serialized, and after a failed write
// the session is cancelled and later writes are dropped.
func (s *serverSession) write(t FrameType, p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return io.ErrClosedPipe
	}
	if err := WriteFrame(s.conn, t, p); err != nil {
		s.broken = true
		s.cancel()
		return err
	}
	return nil
}

// outputWriter frames what the dyno writes.
type outputWriter struct{ s *serverSession }

// Write sends p as output frames of at most MaxPayload bytes.
func (o outputWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := p[:min(len(p), MaxPayload)]
		if err := o.s.write(FrameOutput, c); err != nil {
			return n, err
		}
		n += len(c)
		p = p[len(c):]
	}
	return n, nil
}

func (s *serverSession) run(ctx context.Context, r *bufio.Reader, initial *core.TermSize, attach func(core.AttachIO) (int, error)) (int, error) {
	stdinR, stdinW := io.Pipe()
	resize := make(chan core.TermSize, 1)
	if initial != nil {
		resize <- *initial
	}
	go func() {
		// Reads client frames until the client goes or breaks the protocol;
		// either ends the session.
		defer s.cancel()
		eof := false
		for {
			f, err := ReadFrame(r)
			if err != nil {
				stdinW.CloseWithError(fmt.Errorf("client gone: %w", err))
				return
			}
			switch f.Type {
			case FrameStdin:
				if eof {
					continue
				}
				if _, err := stdinW.Write(f.Payload); err != nil {
					eof = true
				}
			case FrameStdinEOF:
				eof = true
				stdinW.Close()
			case FrameResize:
				// Keep only the latest size when the consumer lags.
				select {
				case <-resize:
				default:
				}
				select {
				case resize <- f.Size():
				default:
				}
			default:
				stdinW.CloseWithError(fmt.Errorf("client sent frame %q: %w", f.Type, ErrProtocol))
				return
			}
		}
	}()
	code, err := attach(core.AttachIO{Stdin: stdinR, Stdout: outputWriter{s}, Resize: resize})
	stdinR.Close()
	if err != nil {
		return 0, err
	}
	if ctx.Err() != nil && s.broken {
		return 0, errors.New("client connection lost")
	}
	return code, nil
}
