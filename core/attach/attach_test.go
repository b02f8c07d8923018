package attach_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/attach"
	"github.com/paasd/paasd/internal/testenv"
)

// ptyShell is an attach function that runs /bin/sh in a real
// pseudo-terminal, as a runtime's Attach does for a one-off dyno.
func ptyShell(t *testing.T, gotApp, gotDyno *string) attach.Func {
	return func(ctx context.Context, app, dynoID string, aio core.AttachIO) (int, error) {
		*gotApp, *gotDyno = app, dynoID
		cmd := exec.CommandContext(ctx, "/bin/sh")
		cmd.Env = []string{"PS1=$ ", "TERM=dumb", "PATH=/usr/bin:/bin"}
		size := <-aio.Resize // the initial size is always sent by this test's client
		ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: size.Rows, Cols: size.Cols})
		if err != nil {
			return 0, fmt.Errorf("start shell: %w", err)
		}
		// The resizer must be gone before ptmx closes (Setsize uses its fd).
		stop, resized := make(chan struct{}), make(chan struct{})
		defer ptmx.Close()
		defer func() { close(stop); <-resized }()
		go func() {
			defer close(resized)
			for {
				select {
				case s := <-aio.Resize:
					pty.Setsize(ptmx, &pty.Winsize{Rows: s.Rows, Cols: s.Cols})
				case <-stop:
					return
				}
			}
		}()
		go io.Copy(ptmx, aio.Stdin)
		copied := make(chan struct{})
		go func() { io.Copy(aio.Stdout, ptmx); close(copied) }()
		err = cmd.Wait()
		<-copied
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), nil
		}
		return 0, err
	}
}

// lockedBuffer is written by the client's reader and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitFor(t *testing.T, out *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never contained %q; got %q", want, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAttachPTYEndToEnd(t *testing.T) {
	testenv.NeedCommand(t, "stty")
	var app, dyno string
	mux := http.NewServeMux()
	mux.Handle("GET /apps/{app}/dynos/{dyno}/attach", &attach.Handler{Attach: ptyShell(t, &app, &dyno)})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	conn, err := attach.Dial(ctx, srv.Client(), srv.URL+"/apps/myapp/dynos/run.1234/attach",
		http.Header{"Authorization": {"Bearer x"}}, core.TermSize{Rows: 40, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW := io.Pipe()
	resize := make(chan core.TermSize)
	out := &lockedBuffer{}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := conn.Run(ctx, stdinR, out, resize)
		done <- result{code, err}
	}()

	io.WriteString(stdinW, "stty size\n")
	waitFor(t, out, "40 100")
	resize <- core.TermSize{Rows: 33, Cols: 77}
	// The resize frame and the next stdin frame travel in order, but the
	// shell's Setsize runs in another goroutine: ask until it shows.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "33 77") {
		if time.Now().After(deadline) {
			t.Fatalf("resize never reached the pty: %q", out.String())
		}
		io.WriteString(stdinW, "stty size\n")
		time.Sleep(50 * time.Millisecond)
	}
	// Ctrl-C travels as a byte; the pty turns it into SIGINT for sleep.
	io.WriteString(stdinW, "echo st$((1+1))arted; sleep 100\n")
	waitFor(t, out, "st2arted") // the echoed input line has no "st2arted"
	// A SIGINT that lands between the shell's fork and sleep's exec is
	// lost (and a ^C flushes typed-ahead input), so send both again until
	// the marker shows.
	deadline = time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "marker-42") {
		if time.Now().After(deadline) {
			t.Fatalf("Ctrl-C never interrupted sleep: %q", out.String())
		}
		io.WriteString(stdinW, "\x03")
		io.WriteString(stdinW, "echo marker-$((40+2))\n")
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end) && !strings.Contains(out.String(), "marker-42"); {
			time.Sleep(20 * time.Millisecond)
		}
	}
	io.WriteString(stdinW, "exit 7\n")

	select {
	case r := <-done:
		if r.err != nil || r.code != 7 {
			t.Fatalf("Run = %d, %v; want 7, nil; output %q", r.code, r.err, out.String())
		}
	case <-ctx.Done():
		t.Fatalf("session did not end: %q", out.String())
	}
	if app != "myapp" || dyno != "run.1234" {
		t.Fatalf("attach func got app %q dyno %q", app, dyno)
	}
}

func TestAttachStdinEOFAndErrors(t *testing.T) {
	tests := []struct {
		desc     string
		fn       attach.Func
		stdin    string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"stdin echoed until EOF, then exit code", func(ctx context.Context, app, id string, aio core.AttachIO) (int, error) {
			b, err := io.ReadAll(aio.Stdin)
			if err != nil {
				return 0, err
			}
			fmt.Fprintf(aio.Stdout, "got %q", b)
			return 3, nil
		}, "hello\n", 3, `got "hello\n"`, ""},
		{"large output is split into frames", func(ctx context.Context, app, id string, aio core.AttachIO) (int, error) {
			aio.Stdout.Write(bytes.Repeat([]byte("a"), 3*attach.MaxPayload+5))
			return 0, nil
		}, "", 0, strings.Repeat("a", 3*attach.MaxPayload+5), ""},
		{"attach error reaches the client", func(ctx context.Context, app, id string, aio core.AttachIO) (int, error) {
			return 0, fmt.Errorf("dyno %s is not attachable: %w", id, core.ErrNotFound)
		}, "", 0, "", "dyno run.1 is not attachable"},
		{"negative exit codes survive", func(ctx context.Context, app, id string, aio core.AttachIO) (int, error) {
			return -1, nil
		}, "", -1, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			srv := httptest.NewServer(&attach.Handler{Attach: tt.fn})
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			conn, err := attach.Dial(ctx, nil, srv.URL+"/apps/a/dynos/run.1/attach", nil, core.TermSize{})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			code, err := conn.Run(ctx, strings.NewReader(tt.stdin), &out, nil)
			if tt.wantErr != "" {
				var re *attach.RemoteError
				if !errors.As(err, &re) || !strings.Contains(re.Message, tt.wantErr) {
					t.Fatalf("err = %v, want a RemoteError with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || code != tt.wantCode || out.String() != tt.wantOut {
				t.Fatalf("Run = %d, %v, out %.80q; want %d, %.80q", code, err, out.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
}

func TestAttachRefusals(t *testing.T) {
	srv := httptest.NewServer(&attach.Handler{Attach: func(context.Context, string, string, core.AttachIO) (int, error) { return 0, nil }})
	defer srv.Close()
	tests := []struct {
		desc   string
		path   string
		header http.Header
		status int
	}{
		{"no upgrade", "/apps/a/dynos/run.1/attach", nil, http.StatusUpgradeRequired},
		{"wrong path", "/nope", nil, http.StatusNotFound},
		{"bad size", "/apps/a/dynos/run.1/attach", http.Header{"Connection": {"Upgrade"}, "Upgrade": {attach.Protocol}, attach.SizeHeader: {"big"}}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
		})
	}
	t.Run("Dial reports a JSON error", func(t *testing.T) {
		_, err := attach.Dial(context.Background(), nil, srv.URL+"/nope", nil, core.TermSize{})
		var he *attach.HTTPError
		if !errors.As(err, &he) || he.Status != 404 || he.ID != "not_found" {
			t.Fatalf("err = %#v", err)
		}
	})
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want core.TermSize
		ok   bool
	}{
		{"plain", "24x80", core.TermSize{Rows: 24, Cols: 80}, true},
		{"spaces", " 1x2 ", core.TermSize{Rows: 1, Cols: 2}, true},
		{"no x", "2480", core.TermSize{}, false},
		{"too big", "70000x1", core.TermSize{}, false},
		{"negative", "-1x5", core.TermSize{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := attach.ParseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseSize(%q) = %v, %v", tt.in, got, err)
			}
			if err != nil && !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("err %v is not ErrInvalid", err)
			}
		})
	}
}
