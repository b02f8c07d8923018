package attach

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// echoDyno upper-cases what it reads until EOF, then exits 0; a cancelled
// context ends it with exit code 130.
type echoDyno struct{}

func (e echoDyno) Attach(ctx context.Context, a core.App, dyno string, tio core.AttachIO) (int, error) {
	if dyno != "run.1" {
		return 0, core.ErrNotFound
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReader(tio.Stdin)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				io.WriteString(tio.Stdout, strings.ToUpper(line))
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
		if ctx.Err() != nil {
			return 130, nil
		}
		return 0, nil
	case <-ctx.Done():
		return 130, nil
	}
}

func TestRendezvous(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	r := &Rendezvous{Dynos: echoDyno{}, Port: port, TTL: time.Minute}
	go r.Serve(ln)
	app := core.App{ID: "a1", Name: "app"}

	dial := func(t *testing.T, secret string) (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(c, secret+"\r\n")
		return c, bufio.NewReader(c)
	}
	secretOf := func(t *testing.T) string {
		u, err := r.AttachURL(app, "run.1", "paasd.example", core.TermSize{})
		if err != nil {
			t.Fatal(err)
		}
		prefix := "rendezvous://paasd.example:" + port + "/"
		if !strings.HasPrefix(u, prefix) {
			t.Fatalf("attach URL %q lacks %q", u, prefix)
		}
		return strings.TrimPrefix(u, prefix)
	}

	t.Run("session", func(t *testing.T) {
		secret := secretOf(t)
		c, br := dial(t, secret)
		if g, _ := br.ReadString('\n'); g != RendezvousGreeting {
			t.Fatalf("greeting %q", g)
		}
		io.WriteString(c, "hello\n")
		if l, _ := br.ReadString('\n'); l != "HELLO\n" {
			t.Fatalf("echo %q", l)
		}
		c.(*net.TCPConn).CloseWrite()
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Fatalf("after EOF: %q %v", rest, err)
		}
		// The secret was used up.
		_, br2 := dial(t, secret)
		if l, _ := br2.ReadString('\n'); !strings.Contains(l, "Unknown or expired") {
			t.Fatalf("second use: %q", l)
		}
	})
	t.Run("unknown secret", func(t *testing.T) {
		_, br := dial(t, "nope")
		if l, _ := br.ReadString('\n'); !strings.Contains(l, "Unknown or expired") {
			t.Fatalf("answer %q", l)
		}
	})
	t.Run("expired secret", func(t *testing.T) {
		old := r.TTL
		r.TTL = time.Nanosecond
		secret := secretOf(t)
		r.TTL = old
		time.Sleep(time.Millisecond)
		_, br := dial(t, secret)
		if l, _ := br.ReadString('\n'); !strings.Contains(l, "Unknown or expired") {
			t.Fatalf("answer %q", l)
		}
	})
}
