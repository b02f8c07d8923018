package main_test

// paas run end to end: the built binary creates a one-off dyno through an
// API endpoint and attaches over the paasd-attach protocol (core/attach) to
// a real shell in a real pseudo-terminal. paasd does not mount the attach
// endpoint yet, so the API here is a small handler with the same
// POST /apps/{app}/dynos shape plus attach.Handler.

import (
	"bytes"
	"context"
	"encoding/json"
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

// fakeRunAPI serves POST /apps/{app}/dynos and the attach endpoint, with
// fn as the dyno.
func fakeRunAPI(t *testing.T, fn attach.Func) (*httptest.Server, *[]map[string]any) {
	var mu sync.Mutex
	var bodies []map[string]any
	mux := http.NewServeMux()
	mux.HandleFunc("POST /apps/{app}/dynos", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			w.WriteHeader(401)
			return
		}
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"id":"0b6c4b5e-0000-4000-8000-000000000001","name":"run.4821","type":"run","size":"basic","state":"starting","command":%q,"attach_url":null}`, body["command"])
	})
	ah := &attach.Handler{Attach: fn}
	mux.HandleFunc("GET /apps/{app}/dynos/{dyno}/attach", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			w.WriteHeader(401)
			return
		}
		ah.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &bodies
}

func TestRunPipesAndExitCode(t *testing.T) {
	srv, bodies := fakeRunAPI(t, func(ctx context.Context, app, dyno string, aio core.AttachIO) (int, error) {
		in, err := io.ReadAll(aio.Stdin)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(aio.Stdout, "%s/%s got: %s", app, dyno, in)
		return 3, nil
	})
	cmd := exec.Command(paasBin, "run", "cat", "-n", "-a", "myapp", "--size", "standard-2x", "-e", "A=1;B=2")
	cmd.Env = []string{"PAAS_API_URL=" + srv.URL, "PAAS_API_KEY=secret", "HOME=" + t.TempDir(), "TERM=xterm"}
	cmd.Stdin = strings.NewReader("hello\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("paas run: %v, want exit 3; stderr %q", err, errb.String())
	}
	if out.String() != "myapp/run.4821 got: hello\n" {
		t.Fatalf("stdout = %q", out.String())
	}
	if !strings.Contains(errb.String(), "Running `cat -n` on ⬢ myapp... starting, run.4821 (Basic)") {
		t.Fatalf("stderr = %q", errb.String())
	}
	b := (*bodies)[0]
	env, _ := b["env"].(map[string]any)
	if b["command"] != "cat -n" || b["attach"] != true || b["size"] != "standard-2x" || env["A"] != "1" || env["B"] != "2" || env["TERM"] != "xterm" {
		t.Fatalf("dyno request = %v", b)
	}
}

func TestRunDetached(t *testing.T) {
	srv, bodies := fakeRunAPI(t, nil)
	cmd := exec.Command(paasBin, "run:detached", "-a", "myapp", "rake", "db:migrate")
	cmd.Env = []string{"PAAS_API_URL=" + srv.URL, "PAAS_API_KEY=secret", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run:detached: %v %s", err, out)
	}
	if !strings.Contains(string(out), "Running `rake db:migrate` on ⬢ myapp... done, run.4821 (Basic)") ||
		!strings.Contains(string(out), "Run paas logs --app myapp --dyno run.4821 to view the output.") {
		t.Fatalf("output = %q", out)
	}
	if (*bodies)[0]["attach"] != false {
		t.Fatalf("detached dyno asked for attach: %v", (*bodies)[0])
	}
}

// lockedBuffer collects the terminal's output.
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

// TestRunTTY runs paas inside a pseudo-terminal, as a user's shell would:
// paas puts it in raw mode, sends its size, follows SIGWINCH, and passes
// keystrokes (Ctrl-C included) to a shell in the dyno's own pty.
func TestRunTTY(t *testing.T) {
	testenv.NeedCommand(t, "stty")
	srv, _ := fakeRunAPI(t, func(ctx context.Context, app, dyno string, aio core.AttachIO) (int, error) {
		sh := exec.CommandContext(ctx, "/bin/sh")
		sh.Env = []string{"PS1=$ ", "TERM=dumb", "PATH=/usr/bin:/bin"}
		size := core.TermSize{Rows: 24, Cols: 80}
		select {
		case size = <-aio.Resize:
		case <-time.After(5 * time.Second):
		}
		ptmx, err := pty.StartWithSize(sh, &pty.Winsize{Rows: size.Rows, Cols: size.Cols})
		if err != nil {
			return 0, err
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
		err = sh.Wait()
		<-copied
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), nil
		}
		return 0, err
	})
	cmd := exec.Command(paasBin, "run", "-a", "myapp", "bash")
	cmd.Env = []string{"PAAS_API_URL=" + srv.URL, "PAAS_API_KEY=secret", "HOME=" + t.TempDir(), "TERM=dumb"}
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 90})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	out := &lockedBuffer{}
	go io.Copy(out, term)
	waitFor := func(want string, poke string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("terminal never showed %q:\n%s", want, out.String())
			}
			if poke != "" {
				io.WriteString(term, poke)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// On a terminal the action line ends, after the spinner, with the status.
	waitFor("\r\x1b[KRunning `bash` on ⬢ myapp... starting, run.4821 (Basic)\r\n", "")
	// Raw mode: paas sends "\r" as typed; the dyno's pty turns it into "\n".
	waitFor("30 90", "stty size\r")
	pty.Setsize(term, &pty.Winsize{Rows: 20, Cols: 60})
	cmd.Process.Signal(sigwinch)
	waitFor("20 60", "stty size\r")
	io.WriteString(term, "echo st$((1+1))arted; sleep 100\r")
	waitFor("st2arted", "")
	io.WriteString(term, "\x03")
	waitFor("marker-42", "echo marker-$((40+2))\r")
	io.WriteString(term, "exit 5\r")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 5 {
			t.Fatalf("paas run exited with %v, want 5\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("paas run did not exit:\n%s", out.String())
	}
}
