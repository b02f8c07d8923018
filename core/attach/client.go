package attach

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/paasd/paasd/core"
)

// Conn is an attached session, client side.
type Conn struct {
	rwc io.ReadWriteCloser
	r   *bufio.Reader
	wmu sync.Mutex
}

// RemoteError is a session that ended with a FrameError from the server.
type RemoteError struct{ Message string }

// Error returns the server's message.
func (e *RemoteError) Error() string { return e.Message }

// HTTPError is an attach request the server refused with an HTTP error.
type HTTPError struct {
	Status int
	// ID and Message come from a Heroku-style JSON error body, when there
	// is one.
	ID, Message string
}

// Error returns the server's message, or the status.
func (e *HTTPError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("attach refused: HTTP %d", e.Status)
}

// Dial asks url for an attach session with client (nil means
// http.DefaultClient). header is added to the request (authentication);
// size, when not zero, is sent as the initial terminal size.
func Dial(ctx context.Context, client *http.Client, url string, header http.Header, size core.TermSize) (*Conn, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", Protocol)
	if size.Rows > 0 && size.Cols > 0 {
		req.Header.Set(SizeHeader, fmt.Sprintf("%dx%d", size.Rows, size.Cols))
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		defer res.Body.Close()
		he := &HTTPError{Status: res.StatusCode}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		var e struct{ ID, Message string }
		if json.Unmarshal(body, &e) == nil {
			he.ID, he.Message = e.ID, e.Message
		}
		return nil, he
	}
	rwc, ok := res.Body.(io.ReadWriteCloser)
	if !ok {
		res.Body.Close()
		return nil, fmt.Errorf("attach: the HTTP client cannot switch protocols: %w", core.ErrUnsupported)
	}
	return &Conn{rwc: rwc, r: bufio.NewReader(rwc)}, nil
}

// Resize sends a terminal size.
func (c *Conn) Resize(s core.TermSize) error { return c.write(FrameResize, ResizePayload(s)) }

// Close closes the connection.
func (c *Conn) Close() error { return c.rwc.Close() }

func (c *Conn) write(t FrameType, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return WriteFrame(c.rwc, t, p)
}

// Run copies stdin to the dyno (then signals its end) and the dyno's
// output to stdout, sends every size from resize, and returns the dyno's
// exit code. It returns a *RemoteError when the server reports a failure,
// and ctx's error if ctx ends first. Run closes the connection.
func (c *Conn) Run(ctx context.Context, stdin io.Reader, stdout io.Writer, resize <-chan core.TermSize) (int, error) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if stdin != nil {
		go func() {
			buf := make([]byte, 4096)
			for {
				n, err := stdin.Read(buf)
				if n > 0 {
					if c.write(FrameStdin, buf[:n]) != nil {
						return
					}
				}
				if err != nil {
					c.write(FrameStdinEOF, nil)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	defer close(done)
	if resize != nil {
		go func() {
			for {
				select {
				case s, ok := <-resize:
					if !ok {
						return
					}
					if c.Resize(s) != nil {
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	for {
		f, err := ReadFrame(c.r)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return 0, errors.New("attach: the connection closed before the dyno's exit code arrived")
			}
			return 0, fmt.Errorf("attach: %w", err)
		}
		switch f.Type {
		case FrameOutput:
			if _, err := stdout.Write(f.Payload); err != nil {
				return 0, fmt.Errorf("attach: write output: %w", err)
			}
		case FrameExit:
			return f.ExitCode(), nil
		case FrameError:
			return 0, &RemoteError{Message: string(f.Payload)}
		default:
			return 0, fmt.Errorf("server sent frame %q: %w", f.Type, ErrProtocol)
		}
	}
}
