package router

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/paasd/paasd/core"
)

// hdr locates one header line in conn.head by offsets.
type hdr struct{ ns, ne, vs, ve int }

// request is the parsed head of one client request; its byte slices point
// into the conn's buffers and are valid until the next request.
type request struct {
	method, target []byte
	minor          int
	host           []byte // normalised
	rawHost        []byte
	contentLength  int64 // -1: none
	chunked        bool
	closeConn      bool
	upgrade        bool
	expect100      bool
	requestID      []byte
	xff            []byte // incoming X-Forwarded-For
	connTokens     []byte // extra Connection tokens (headers to drop)
	start          time.Time
}

func (q *request) hasBody() bool { return q.chunked || q.contentLength > 0 }

// conn is one client connection served by the HTTP/1.x fast path.
type conn struct {
	r         *Router
	c         net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	tls       bool
	proto     string // "http" or "https"
	remoteIP  []byte
	localPort []byte

	head    []byte // raw header lines of the current request
	hdrs    []hdr
	hostBuf []byte
	idBuf   [36]byte
	xffBuf  []byte
	resp    []byte // response head scratch
	// flushErr and wdSet are the state of a streaming relay.
	flushErr error
	wdSet    bool
	// rolling is set while a request body is read: each network read then
	// pushes the idle deadline forward (a long upload is fine, a stalled
	// one is not).
	rolling bool
	q       request
}

// clientSource is what a conn's bufio.Reader reads from.
type clientSource struct{ c *conn }

func (s clientSource) Read(p []byte) (int, error) {
	c := s.c
	if c.rolling {
		_ = c.c.SetReadDeadline(time.Now().Add(c.r.opts.IdleTimeout))
	}
	return c.c.Read(p)
}

func newConn() any {
	return &conn{head: make([]byte, 0, 4096), hdrs: make([]hdr, 0, 32), hostBuf: make([]byte, 0, 64), xffBuf: make([]byte, 0, 64)}
}

// serveConn runs the HTTP/1.x loop on c until the client or the router is
// done with it.
func (r *Router) serveConn(nc net.Conn, isTLS bool) {
	c := r.conns.Get().(*conn)
	c.r, c.c, c.tls = r, nc, isTLS
	c.proto = "http"
	if isTLS {
		c.proto = "https"
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(clientSource{c}, r.opts.MaxRequestLine+2)
	} else {
		c.br.Reset(clientSource{c})
	}
	c.bw = r.writers.get(nc, 0)
	c.remoteIP = c.remoteIP[:0]
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.remoteIP, _ = ta.IP.AppendText(c.remoteIP)
	} else if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		c.remoteIP = append(c.remoteIP, host...)
	}
	c.localPort = c.localPort[:0]
	if ta, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		c.localPort = strconv.AppendInt(c.localPort, int64(ta.Port), 10)
	}
	defer func() {
		_ = c.bw.Flush()
		nc.Close()
		r.writers.put(c.bw)
		c.r, c.c, c.bw = nil, nil, nil
		r.conns.Put(c)
	}()
	for {
		if c.br.Buffered() == 0 {
			_ = nc.SetReadDeadline(time.Now().Add(r.opts.ClientIdleTimeout))
		}
		if !c.serveOne() {
			return
		}
		if r.closing.Load() {
			return
		}
	}
}

// readHead reads and parses one request head into c.q. It returns a non-nil
// hcode (and keep=false) for a request that gets an error response, and
// ok=false with no code when the connection just ended.
func (c *conn) readHead() (code *hcode, ok bool) {
	var line []byte
	var err error
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return errURITooLong, false
			}
			return nil, false
		}
		if len(bytes.TrimRight(line, "\r\n")) > 0 {
			break
		}
	}
	c.head = append(c.head[:0], line...)
	q := &c.q
	*q = request{contentLength: -1, start: time.Now()}
	method, target, minor, perr := parseRequestLine(bytes.TrimRight(c.head, "\r\n"))
	if perr != nil {
		return errBadRequest, false
	}
	q.minor = minor
	mEnd := len(method)
	tStart := mEnd + 1
	tEnd := tStart + len(target)
	c.hdrs = c.hdrs[:0]
	total := 0
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return errHeaderTooLarge, false
			}
			return nil, false
		}
		total += len(line)
		if total > c.r.opts.MaxHeaderBytes {
			return errHeaderTooLarge, false
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			break
		}
		if trimmed[0] == ' ' || trimmed[0] == '\t' {
			return errBadRequest, false // obsolete line folding
		}
		name, value, perr := parseHeaderLine(trimmed)
		if perr != nil {
			return errBadRequest, false
		}
		base := len(c.head)
		c.head = append(c.head, trimmed...)
		ns := base
		ne := ns + len(name)
		vs := base + (cap(trimmed) - cap(value))
		ve := vs + len(value)
		c.hdrs = append(c.hdrs, hdr{ns, ne, vs, ve})
	}
	q.method = c.head[:mEnd]
	q.target = c.head[tStart:tEnd]
	seenCL := false
	for _, h := range c.hdrs {
		name, value := c.head[h.ns:h.ne], c.head[h.vs:h.ve]
		switch len(name) {
		case 4:
			if headerIs(name, "host") {
				if q.rawHost != nil {
					return errBadRequest, false
				}
				q.rawHost = value
			}
		case 6:
			if headerIs(name, "expect") && headerIs(value, "100-continue") {
				q.expect100 = true
			}
		case 7:
			if headerIs(name, "upgrade") {
				q.upgrade = true
			}
		case 10:
			if headerIs(name, "connection") {
				for _, tok := range bytes.Split(value, []byte(",")) {
					tok = bytes.Trim(tok, " \t")
					switch {
					case headerIs(tok, "close"):
						q.closeConn = true
					case headerIs(tok, "keep-alive"):
						if minor == 0 {
							q.closeConn = false
						}
					case headerIs(tok, "upgrade"), len(tok) == 0:
					default:
						q.connTokens = value
					}
				}
			}
		case 12:
			if headerIs(name, "x-request-id") {
				q.requestID = value
			}
		case 14:
			if headerIs(name, "content-length") {
				n, ok := parseContentLength(value)
				if !ok || (seenCL && n != q.contentLength) {
					return errBadRequest, false
				}
				seenCL = true
				q.contentLength = n
			}
		case 15:
			if headerIs(name, "x-forwarded-for") {
				q.xff = value
			}
		case 17:
			if headerIs(name, "transfer-encoding") {
				if !headerIs(value, "chunked") || q.chunked {
					return errBadRequest, false
				}
				q.chunked = true
			}
		}
	}
	if minor == 0 && !hasConnKeepAlive(c) {
		q.closeConn = true
	}
	if q.chunked && seenCL {
		return errBadRequest, false // request smuggling guard
	}
	if q.chunked && minor == 0 {
		return errBadRequest, false
	}
	if string(q.method) == "CONNECT" {
		return errBadRequest, false // the router is not a forward proxy
	}
	// Absolute-form targets (RFC 9112 3.2.2) must name the Host they are
	// sent with; they are forwarded in origin form.
	if auth, path, ok := splitAbsoluteTarget(q.target); ok {
		if q.rawHost != nil && !bytes.EqualFold(auth, q.rawHost) {
			return errBadRequest, false
		}
		if q.rawHost == nil {
			q.rawHost = auth
		}
		q.target = path
	}
	if q.rawHost == nil {
		if minor == 1 {
			return errBadRequest, false
		}
	}
	var okHost bool
	c.hostBuf, okHost = normalizeHost(c.hostBuf, q.rawHost)
	if !okHost && q.rawHost != nil {
		return errBadRequest, false
	}
	q.host = c.hostBuf
	if q.requestID == nil || !ValidRequestID(q.requestID) {
		newRequestID(&c.idBuf)
		q.requestID = c.idBuf[:]
	}
	if c.r.opts.MaxBodyBytes > 0 && q.contentLength > c.r.opts.MaxBodyBytes {
		return errBodyTooLarge, false
	}
	return nil, true
}

func hasConnKeepAlive(c *conn) bool {
	for _, h := range c.hdrs {
		if headerIs(c.head[h.ns:h.ne], "connection") && hasToken(c.head[h.vs:h.ve], "keep-alive") {
			return true
		}
	}
	return false
}

// newRequestID writes a random (version 4) UUID.
func newRequestID(dst *[36]byte) {
	const hexd = "0123456789abcdef"
	var u [16]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	j := 0
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = hexd[x>>4]
		dst[j+1] = hexd[x&15]
		j += 2
	}
}

// serveOne serves one request; it reports whether the connection may serve
// another.
func (c *conn) serveOne() bool {
	code, ok := c.readHead()
	if !ok {
		if code != nil {
			c.q.start = time.Now()
			c.writeError(code, nil, true)
		}
		return false
	}
	q := &c.q
	r := c.r
	if !c.tls && bytes.HasPrefix(q.target, acmeChallengePrefix) {
		if fn := r.acme.Load(); fn != nil && (headerIs(q.method, "get") || headerIs(q.method, "head")) {
			if keyAuth, ok := (*fn)(string(q.host), string(q.target)); ok {
				return c.writeACMEChallenge(keyAuth)
			}
		}
	}
	snap := r.snap.Load()
	app := snap.lookup(q.host)
	if app == nil {
		return c.writeError(errNoApp, nil, q.hasBody() || q.closeConn)
	}
	if code := r.routeError(app); code != nil {
		return c.writeError(code, app, q.hasBody() || q.closeConn)
	}
	if app.route.State == core.AppIdle {
		var code *hcode
		app, code = r.waitAwake(app)
		if code != nil {
			return c.writeError(code, app, true)
		}
	}
	if q.expect100 {
		if _, err := c.c.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
			return false
		}
	}
	c.rolling = q.hasBody()
	defer func() { c.rolling = false }()
	if app.mw != nil {
		return c.serveMiddleware(app)
	}
	return c.proxy(app)
}

// acmeChallengePrefix is the path of ACME HTTP-01 challenges (RFC 8555 8.3).
var acmeChallengePrefix = []byte("/.well-known/acme-challenge/")

// writeACMEChallenge answers an ACME HTTP-01 challenge with its key
// authorization and closes the connection.
func (c *conn) writeACMEChallenge(keyAuth string) bool {
	q := &c.q
	body := keyAuth
	if headerIs(q.method, "head") {
		body = ""
	}
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(keyAuth), body)
	_, _ = c.bw.WriteString(resp)
	_ = c.bw.Flush()
	return false
}

// writeError answers with code's page and logs it. It reports whether the
// connection may continue.
func (c *conn) writeError(code *hcode, app *appRoute, closeConn bool) bool {
	q := &c.q
	var n int
	if code != errH27 {
		resp := code.response(q.requestID, headerIs(q.method, "head"), closeConn)
		n = len(resp)
		_, _ = c.bw.Write(resp)
		_ = c.bw.Flush()
	}
	e := entry{code: code, method: q.method, path: q.target, host: q.rawHost, requestID: q.requestID,
		fwd: c.fwd(), connect: -1, service: -1, status: code.logStatus(), bytes: int64(n), protocol: c.proto}
	c.r.logEntry(app, &e)
	return !closeConn
}

// fwd is the X-Forwarded-For value sent to the backend: the client's chain
// plus the peer address.
func (c *conn) fwd() []byte {
	c.xffBuf = c.xffBuf[:0]
	if len(c.q.xff) > 0 {
		c.xffBuf = append(c.xffBuf, c.q.xff...)
		c.xffBuf = append(c.xffBuf, ", "...)
	}
	c.xffBuf = append(c.xffBuf, c.remoteIP...)
	return c.xffBuf
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// isRefused reports whether err is a refused connection.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// isClosed reports whether err means the peer closed the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
