package attach

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
)

// Rendezvous is Heroku's rendezvous service, which the official Heroku
// CLI's `heroku run` speaks: creating a one-off dyno with attach: true
// answers an attach_url rendezvous://HOST:PORT/SECRET; the CLI opens a TLS
// connection to HOST:PORT, writes SECRET and CRLF, discards the first
// chunk it reads (Heroku sends "rendezvous\r\n"), and from then on the
// connection is the dyno's terminal, raw in both directions. There are no
// frames: the exit code travels in the output (`heroku run --exit-code`
// appends `; echo "\uFFFF heroku-command-exit-status: $?"` to the command),
// and the server closes the connection when the dyno exits. A client that
// closes its side ends the session, and with it the one-off dyno.
//
// Secrets are single-use and expire after TTL. Rendezvous does not listen
// by itself: [Rendezvous.Serve] takes a TLS listener.
type Rendezvous struct {
	// Dynos attaches the terminal; required.
	Dynos AppAttacher
	// Port is the port put in attach URLs (the listener's port).
	Port string
	// TTL is how long a secret may wait for its client; default 5 minutes.
	TTL time.Duration
	// Logger receives session errors; nil discards them.
	Logger *slog.Logger

	mu      sync.Mutex
	tickets map[string]ticket
}

// AppAttacher attaches a terminal to a one-off dyno of an app; the dyno
// is named by name or id. It is the shape of the API's DynoAttacher.
type AppAttacher interface {
	Attach(ctx context.Context, a core.App, dyno string, tio core.AttachIO) (exitCode int, err error)
}

type ticket struct {
	app     core.App
	dyno    string
	size    core.TermSize
	expires time.Time
}

// RendezvousGreeting is what the server writes once the secret is
// accepted; the CLI discards it.
const RendezvousGreeting = "rendezvous\r\n"

// maxSecretLine bounds the first line a client may send.
const maxSecretLine = 256

// AttachURL issues a single-use rendezvous://host:Port/SECRET URL for dyno
// of app a. host is the name the client used to reach the API; size, if
// not zero, is the terminal's initial size.
func (r *Rendezvous) AttachURL(a core.App, dyno, host string, size core.TermSize) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("rendezvous secret: %w", err)
	}
	secret := hex.EncodeToString(b[:])
	ttl := r.TTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	now := time.Now()
	r.mu.Lock()
	if r.tickets == nil {
		r.tickets = make(map[string]ticket)
	}
	for s, t := range r.tickets {
		if now.After(t.expires) {
			delete(r.tickets, s)
		}
	}
	r.tickets[secret] = ticket{app: a, dyno: dyno, size: size, expires: now.Add(ttl)}
	r.mu.Unlock()
	return "rendezvous://" + net.JoinHostPort(host, r.Port) + "/" + secret, nil
}

// take redeems a secret once.
func (r *Rendezvous) take(secret string) (ticket, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tickets[secret]
	delete(r.tickets, secret)
	if !ok || time.Now().After(t.expires) {
		return ticket{}, false
	}
	return t, true
}

// Serve accepts rendezvous connections on ln (a TLS listener) until it
// fails or is closed; it then returns that error.
func (r *Rendezvous) Serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go r.serveConn(c)
	}
}

func (r *Rendezvous) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Rendezvous) serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(c, maxSecretLine)
	line, err := br.ReadSlice('\n')
	if err != nil {
		if !errors.Is(err, io.EOF) {
			r.log().Debug("rendezvous: no secret line", "remote", c.RemoteAddr(), "err", err)
		}
		return
	}
	secret := strings.TrimSpace(string(line))
	// The CLI sends the URL's path and query; the secret is the path.
	secret, _, _ = strings.Cut(secret, "?")
	t, ok := r.take(secret)
	if !ok {
		io.WriteString(c, "! Unknown or expired rendezvous secret.\r\n")
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(c, RendezvousGreeting); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tio := core.AttachIO{Stdin: &cancelOnEOF{r: br, cancel: cancel}, Stdout: c}
	if t.size.Rows > 0 && t.size.Cols > 0 {
		sizes := make(chan core.TermSize, 1)
		sizes <- t.size
		tio.Resize = sizes
	}
	if _, err := r.Dynos.Attach(ctx, t.app, t.dyno, tio); err != nil && ctx.Err() == nil {
		r.log().Warn("rendezvous session failed", "app", t.app.Name, "dyno", t.dyno, "err", err)
		io.WriteString(c, "! "+err.Error()+"\r\n")
	}
}

// cancelOnEOF ends the session when the client closes its side: on
// Heroku, a one-off dyno lives as long as its rendezvous connection.
type cancelOnEOF struct {
	r      io.Reader
	cancel context.CancelFunc
}

// Read implements io.Reader.
func (c *cancelOnEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil {
		c.cancel()
	}
	return n, err
}
