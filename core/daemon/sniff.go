package daemon

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// sniffListener serves HTTP and HTTPS on one port: it reads the first byte
// of each connection, and a TLS handshake record (0x16) makes it a TLS
// server connection, anything else plain. The Heroku CLI names git remotes
// https://<api host>/APP.git, so git pushes arrive over TLS on the port
// that also answers plain HTTP. Sniffing happens off the Accept path, so a
// client that sends nothing delays nobody else.
type sniffListener struct {
	net.Listener
	tls *tls.Config

	conns     chan net.Conn
	errs      chan error
	closeOnce sync.Once
	done      chan struct{}
}

// sniffTimeout bounds how long a new connection may stay silent.
const sniffTimeout = 30 * time.Second

func newSniffListener(ln net.Listener, cfg *tls.Config) *sniffListener {
	s := &sniffListener{Listener: ln, tls: cfg, conns: make(chan net.Conn), errs: make(chan error, 1), done: make(chan struct{})}
	go s.acceptLoop()
	return s
}

func (s *sniffListener) acceptLoop() {
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case s.errs <- err:
			case <-s.done:
			}
			return
		}
		go s.sniff(c)
	}
}

func (s *sniffListener) sniff(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 1)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 {
		out = tls.Server(out, s.tls)
	}
	select {
	case s.conns <- out:
	case <-s.done:
		c.Close()
	}
}

// Accept implements net.Listener.
func (s *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case err := <-s.errs:
		return nil, err
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (s *sniffListener) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return s.Listener.Close()
}

// peekedConn reads through the reader that holds the sniffed byte.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read implements io.Reader.
func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
