package router

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"time"
)

// maxResponseHead bounds a backend's response head.
const maxResponseHead = 64 << 10

// errBodyLimit is returned while copying a request body over the limit.
var errBodyLimit = errors.New("request body over the limit")

// proxy forwards the current request to one of app's backends over a
// pooled connection and streams the response back. It reports whether the
// client connection may serve another request.
func (c *conn) proxy(app *appRoute) bool {
	q := &c.q
	r := c.r
	e := entry{method: q.method, path: q.target, host: q.rawHost, requestID: q.requestID,
		connect: -1, service: -1, protocol: c.proto}
	e.fwd = c.fwd()
	var bc *bconn
	var pool *connPool
	var sentAt time.Time
	for try := 0; ; try++ {
		if try > 0 {
			// Route again with the current table: the backend that just
			// failed us may have been removed meanwhile.
			if app = r.snap.Load().lookup(q.host); app == nil {
				return c.writeError(errNoApp, nil, true)
			}
			if code := r.routeError(app); code != nil {
				return c.writeError(code, app, true)
			}
		}
		b, code := c.dispatch(app)
		if code != nil {
			return c.writeError(code, app, true)
		}
		pool = b.pool
		e.dyno = b.dyno
		var retry bool
		var ecode *hcode
		bc, sentAt, retry, ecode = c.send(pool, &e, try)
		if ecode != nil {
			pool.inflight.Add(-1)
			return c.finishError(ecode, app, &e, true)
		}
		if retry {
			pool.inflight.Add(-1)
			continue
		}
		break
	}
	defer pool.inflight.Add(-1)
	keep, status, n, code := c.relayResponse(bc, q)
	e.service = time.Since(sentAt)
	e.status = status
	e.bytes = n
	if code != nil {
		bc.c.Close()
		if n == 0 && code != errH27 {
			return c.finishError(code, app, &e, true)
		}
		e.code = code
		if code == errH27 {
			e.status = code.logStatus()
		}
		r.logEntry(app, &e)
		return false
	}
	if keep {
		pool.put(bc)
	} else {
		bc.c.Close()
	}
	r.logEntry(app, &e)
	return !q.closeConn
}

// dispatch picks a backend that is still in the current table and marks it
// as being dispatched to (the caller's send ends that).
func (c *conn) dispatch(app *appRoute) (*backend, *hcode) {
	return c.r.dispatch(app, c.q.host)
}

// dispatch picks a backend of app (found again by host if its table was
// replaced) that is still in the current table, and marks it dispatching
// and in flight. The in-flight count starts here, before the first byte of
// the request is written, so that least-conn and p2c see a backend busy
// from the moment it is chosen; the caller decrements it when the request
// ends, fails or is routed again.
func (r *Router) dispatch(app *appRoute, host []byte) (*backend, *hcode) {
	for attempt := 0; ; attempt++ {
		b := app.pick()
		if b == nil {
			return nil, errH14
		}
		b.pool.dispatching.Add(1)
		if !b.pool.retired.Load() {
			b.pool.inflight.Add(1)
			return b, nil
		}
		b.pool.dispatching.Add(-1)
		if attempt > 8 {
			return nil, errH14
		}
		if app = r.snap.Load().lookup(host); app == nil {
			return nil, errNoApp
		}
	}
}

// send gets a connection to pool's backend, writes the request and waits
// for the first response byte. retry is set when a reused keep-alive
// connection turned out dead before anything was exchanged (safe to route
// again); code is set for a failure to report.
func (c *conn) send(pool *connPool, e *entry, try int) (bc *bconn, sentAt time.Time, retry bool, code *hcode) {
	q := &c.q
	r := c.r
	dispatched := false
	undispatch := func() {
		if !dispatched {
			dispatched = true
			pool.dispatching.Add(-1)
		}
	}
	defer undispatch()
	tConnect := time.Now()
	var err error
	if try < 2 {
		bc, err = pool.get()
	} else {
		bc, err = pool.dial()
	}
	e.connect = time.Since(tConnect)
	if err != nil {
		switch {
		case isTimeout(err):
			return nil, sentAt, false, errH19
		case isRefused(err):
			return nil, sentAt, false, errH21
		}
		return nil, sentAt, false, errH99
	}
	c.writeRequestHead(bc.bw)
	err = bc.bw.Flush()
	undispatch()
	if err == nil && q.hasBody() {
		err = c.copyRequestBody(bc.bw)
		if err == nil {
			err = bc.bw.Flush()
		}
	}
	sentAt = time.Now()
	// A dead keep-alive connection, or a dyno that was removed from the
	// table and closed our idempotent request unanswered (a deploy), is
	// routed again: nothing reached the app.
	canRetry := func() bool {
		return !q.hasBody() && try < 3 && (bc.reused || (pool.retired.Load() && idempotent(q.method)))
	}
	if err != nil {
		bc.c.Close()
		switch {
		case errors.Is(err, errBodyLimit):
			return nil, sentAt, false, errBodyTooLarge
		case isClientErr(err):
			return nil, sentAt, false, errH27
		case canRetry():
			return nil, sentAt, true, nil
		}
		return nil, sentAt, false, errH18
	}
	_ = bc.c.SetReadDeadline(sentAt.Add(r.opts.RequestTimeout))
	if _, err = bc.br.Peek(1); err != nil {
		bc.c.Close()
		e.service = time.Since(sentAt)
		switch {
		case isTimeout(err):
			return nil, sentAt, false, errH12
		case canRetry() && isClosed(err):
			return nil, sentAt, true, nil
		}
		return nil, sentAt, false, errH13
	}
	return bc, sentAt, false, nil
}

// idempotent reports whether a request method may be sent twice.
func idempotent(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
		return true
	}
	return false
}

// isClientErr marks errors from reading the client's request body.
type clientErr struct{ err error }

func (e clientErr) Error() string { return "client: " + e.err.Error() }
func (e clientErr) Unwrap() error { return e.err }

func isClientErr(err error) bool {
	var ce clientErr
	return errors.As(err, &ce)
}

// finishError sends code's page (when nothing was sent yet) and logs.
func (c *conn) finishError(code *hcode, app *appRoute, e *entry, closeConn bool) bool {
	q := &c.q
	e.code = code
	e.status = code.logStatus()
	if code != errH27 {
		resp := code.response(q.requestID, headerIs(q.method, "head"), closeConn)
		e.bytes = int64(len(resp))
		_, _ = c.bw.Write(resp)
		_ = c.bw.Flush()
	}
	c.r.logEntry(app, e)
	return !closeConn
}

// writeRequestHead writes the request line and headers for the backend:
// the client's headers minus hop-by-hop ones, plus X-Forwarded-For/Proto/
// Port, X-Request-Id, X-Request-Start and Via.
func (c *conn) writeRequestHead(w *bufio.Writer) {
	q := &c.q
	r := c.r
	w.Write(q.method)
	w.WriteByte(' ')
	w.Write(q.target)
	w.WriteString(" HTTP/1.1\r\n")
	for _, h := range c.hdrs {
		name := c.head[h.ns:h.ne]
		if dropRequestHeader(name, q) {
			continue
		}
		w.Write(c.head[h.ns:h.ve])
		w.WriteString("\r\n")
	}
	if q.rawHost == nil {
		w.WriteString("Host: ")
		w.Write(q.host)
		w.WriteString("\r\n")
	}
	if q.chunked {
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if q.upgrade {
		w.WriteString("Connection: Upgrade\r\n")
	}
	w.WriteString("X-Forwarded-For: ")
	w.Write(c.xffBuf)
	w.WriteString("\r\nX-Forwarded-Proto: ")
	w.WriteString(c.proto)
	w.WriteString("\r\nX-Forwarded-Port: ")
	w.Write(c.localPort)
	w.WriteString("\r\nX-Request-Id: ")
	w.Write(q.requestID)
	w.WriteString("\r\nX-Request-Start: ")
	var num [20]byte
	w.Write(strconv.AppendInt(num[:0], q.start.UnixMilli(), 10))
	w.WriteString("\r\nVia: ")
	w.WriteString(r.opts.Via)
	w.WriteString("\r\n\r\n")
}

// dropRequestHeader reports whether a client header is not forwarded as is.
func dropRequestHeader(name []byte, q *request) bool {
	switch len(name) {
	case 2:
		return headerIs(name, "te")
	case 6:
		return headerIs(name, "expect")
	case 7:
		return headerIs(name, "upgrade") && !q.upgrade
	case 10:
		return headerIs(name, "connection") || headerIs(name, "keep-alive")
	case 12:
		return headerIs(name, "x-request-id")
	case 15:
		return headerIs(name, "x-forwarded-for")
	case 16:
		return headerIs(name, "proxy-connection") || headerIs(name, "x-forwarded-port")
	case 17:
		return headerIs(name, "x-forwarded-proto") || headerIs(name, "transfer-encoding") || headerIs(name, "x-request-start")
	}
	if q.connTokens != nil && hasToken(q.connTokens, lowerASCII(name)) {
		return true
	}
	return false
}

func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}

// copyRequestBody copies the request body from the client to w, enforcing
// the body limit. Chunked bodies are passed through as chunks.
func (c *conn) copyRequestBody(w *bufio.Writer) error {
	q := &c.q
	limit := c.r.opts.MaxBodyBytes
	if !q.chunked {
		_, err := io.CopyN(w, clientReader{c.br}, q.contentLength)
		if errors.Is(err, io.EOF) {
			return clientErr{io.ErrUnexpectedEOF}
		}
		return err
	}
	return copyChunked(w, c.br, limit, wrapClient, keepErr)
}

// clientReader marks read errors as the client's.
type clientReader struct{ r io.Reader }

func (cr clientReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = clientErr{err}
	}
	return n, err
}

func wrapClient(err error) error { return clientErr{err} }
func keepErr(err error) error    { return err }

// writeFailure marks an error from the writer side of a copy.
type writeFailure struct{ err error }

func (w writeFailure) Error() string { return w.err.Error() }

// markedWriter wraps its writer's errors in writeFailure.
type markedWriter struct{ w io.Writer }

func (m markedWriter) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	if err != nil {
		err = writeFailure{err}
	}
	return n, err
}

// copyChunked passes a chunked body from r to w unchanged, checking its
// framing and that the data stays within limit (0: no limit). rerr and werr
// classify read and write errors.
func copyChunked(w io.Writer, r *bufio.Reader, limit int64, rerr, werr func(error) error) error {
	var total int64
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return rerr(err)
		}
		size, ok := parseChunkSize(bytes.TrimRight(line, "\r\n"))
		if !ok {
			return rerr(fmt.Errorf("chunk size line %q: %w", truncate(line), errMalformed))
		}
		total += size
		if limit > 0 && total > limit {
			return errBodyLimit
		}
		if _, err := w.Write(line); err != nil {
			return werr(err)
		}
		if size == 0 {
			// Trailer section up to the empty line.
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return rerr(err)
				}
				if _, err := w.Write(line); err != nil {
					return werr(err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(markedWriter{w}, r, size); err != nil {
			var we writeFailure
			if errors.As(err, &we) {
				return werr(we.err)
			}
			return rerr(err)
		}
		crlf, err := r.ReadSlice('\n')
		if err != nil {
			return rerr(err)
		}
		if len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return rerr(fmt.Errorf("chunk data overruns its size: %w", errMalformed))
		}
		if _, err := w.Write(crlf); err != nil {
			return werr(err)
		}
	}
}

// relayResponse reads the backend's response head and streams the response
// to the client. keep reports whether bc may be reused; n counts bytes sent
// to the client; code is set when the exchange failed.
func (c *conn) relayResponse(bc *bconn, q *request) (keep bool, status int, n int64, code *hcode) {
	r := c.r
	isHead := headerIs(q.method, "head")
	for {
		line, err := bc.br.ReadSlice('\n')
		if err != nil {
			if isTimeout(err) {
				return false, 0, n, errH12
			}
			return false, 0, n, errH13
		}
		minor, st, perr := parseStatusLine(bytes.TrimRight(line, "\r\n"))
		if perr != nil {
			return false, 0, n, errH17
		}
		status = st
		w := c.bw
		// The head is built aside and written only once it is known good,
		// so that an H17 can still be answered with a clean error page.
		h := append(c.resp[:0], "HTTP/1.1"...)
		h = append(h, bytes.TrimRight(line, "\r\n")[8:]...)
		h = append(h, "\r\n"...)
		var cl int64 = -1
		chunked, backendClose := false, minor == 0
		upgrade := false
		for {
			hl, err := bc.br.ReadSlice('\n')
			if err != nil {
				if isTimeout(err) {
					return false, status, 0, errH12
				}
				return false, status, 0, errH17
			}
			t := bytes.TrimRight(hl, "\r\n")
			if len(t) == 0 {
				break
			}
			name, value, perr := parseHeaderLine(t)
			if perr != nil {
				return false, status, 0, errH17
			}
			switch len(name) {
			case 10:
				if headerIs(name, "connection") {
					if hasToken(value, "close") {
						backendClose = true
					}
					if hasToken(value, "keep-alive") && minor == 0 {
						backendClose = false
					}
					continue
				}
				if headerIs(name, "keep-alive") {
					continue
				}
			case 14:
				if headerIs(name, "content-length") {
					v, ok := parseContentLength(value)
					if !ok || (cl >= 0 && cl != v) {
						return false, status, 0, errH17
					}
					cl = v
				}
			case 17:
				if headerIs(name, "transfer-encoding") {
					if !hasToken(value, "chunked") {
						return false, status, 0, errH17
					}
					chunked = true
					if q.minor == 0 {
						continue
					}
				}
			case 7:
				if headerIs(name, "upgrade") {
					upgrade = true
				}
			case 16:
				if headerIs(name, "proxy-connection") {
					continue
				}
			}
			h = append(h, t...)
			h = append(h, "\r\n"...)
			if len(h) > maxResponseHead {
				return false, status, 0, errH17
			}
		}
		c.resp = h
		if chunked && cl >= 0 {
			return false, status, n, errH17 // RFC 9112 6.1: never both
		}
		if status >= 100 && status < 200 && status != 101 {
			h = append(h, "\r\n"...)
			hw := int64(len(h))
			w.Write(h)
			if err := w.Flush(); err != nil {
				return false, status, n, errH27
			}
			n += hw
			continue
		}
		if status == 101 {
			if !q.upgrade || !upgrade {
				return false, status, n, errH17
			}
			h = append(h, "Connection: Upgrade\r\n\r\n"...)
			hw := int64(len(h))
			w.Write(h)
			if err := w.Flush(); err != nil {
				return false, status, n, errH27
			}
			n += hw + c.tunnel(bc)
			return false, status, n, nil
		}
		noBody := isHead || status == 204 || status == 304
		clientClose := q.closeConn
		if !noBody && !chunked && cl < 0 {
			clientClose = true // body runs until the backend closes
			backendClose = true
		}
		if chunked && q.minor == 0 {
			clientClose = true
		}
		h = append(h, "Via: "...)
		h = append(h, r.opts.Via...)
		if clientClose {
			h = append(h, "\r\nConnection: close"...)
			q.closeConn = true
		}
		h = append(h, "\r\n\r\n"...)
		c.resp = h
		w.Write(h)
		n += int64(len(h))
		if noBody {
			if err := w.Flush(); err != nil {
				return false, status, n, errH27
			}
			return !backendClose, status, n, nil
		}
		var body int64
		c.flushErr, c.wdSet = nil, false
		bc.streamTo = c
		switch {
		case chunked && q.minor == 0:
			body, err = c.copyIdle(w, bc, httputil.NewChunkedReader(bc.br), -1)
		case chunked:
			body, err = c.copyChunkedResponse(w, bc)
		default:
			body, err = c.copyIdle(w, bc, bc.br, cl)
		}
		bc.streamTo = nil
		n += body
		if err == nil && c.flushErr != nil {
			err = c.flushErr
		}
		if err == nil {
			err = w.Flush()
			if err != nil {
				err = clientErr{err}
			}
		}
		if err != nil {
			switch {
			case isClientErr(err):
				return false, status, n, errH27
			case isTimeout(err):
				return false, status, n, errH15
			default:
				return false, status, n, errH18
			}
		}
		if c.wdSet {
			_ = c.c.SetWriteDeadline(time.Time{})
		}
		return !backendClose, status, n, nil
	}
}

// beforeBackendRead runs before each network read of a streaming response
// body: it pushes the rolling idle deadline forward and flushes what the
// client has not yet got (so streams and long polls reach it as they come).
func (c *conn) beforeBackendRead(bc *bconn) {
	idle := c.r.opts.IdleTimeout
	now := time.Now()
	_ = bc.c.SetReadDeadline(now.Add(idle))
	if c.bw.Buffered() > 0 && c.flushErr == nil {
		_ = c.c.SetWriteDeadline(now.Add(idle))
		c.wdSet = true
		if err := c.bw.Flush(); err != nil {
			c.flushErr = clientErr{err}
		}
	}
}

// copyIdle copies a response body (n bytes, or until EOF when n < 0),
// failing when either side stays idle longer than the idle timeout.
func (c *conn) copyIdle(w *bufio.Writer, bc *bconn, src io.Reader, n int64) (int64, error) {
	if n >= 0 && int64(bc.br.Buffered()) >= n && src == io.Reader(bc.br) {
		// The whole body is already here: the common small response.
		b, _ := bc.br.Peek(int(n))
		m, err := w.Write(b)
		_, _ = bc.br.Discard(m)
		if err != nil {
			return int64(m), clientErr{err}
		}
		return int64(m), nil
	}
	buf := c.r.copyBufs.Get().(*[]byte)
	defer c.r.copyBufs.Put(buf)
	var total int64
	for n < 0 || total < n {
		want := int64(len(*buf))
		if n >= 0 && n-total < want {
			want = n - total
		}
		m, rerr := src.Read((*buf)[:want])
		if m > 0 {
			if _, err := w.Write((*buf)[:m]); err != nil {
				return total, clientErr{err}
			}
			total += int64(m)
		}
		if rerr != nil {
			var ce clientErr
			switch {
			case errors.As(rerr, &ce):
				return total, rerr
			case errors.Is(rerr, io.EOF) && n < 0:
				return total, nil
			case errors.Is(rerr, io.EOF):
				return total, io.ErrUnexpectedEOF
			}
			return total, rerr
		}
	}
	return total, nil
}

// copyChunkedResponse passes a chunked response body through.
func (c *conn) copyChunkedResponse(w *bufio.Writer, bc *bconn) (int64, error) {
	cw := &countWriter{w: w}
	err := copyChunked(cw, bc.br, 0, keepErr, wrapClient)
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (cw *countWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}

// tunnel copies bytes both ways after a 101 Switching Protocols until
// either side closes; it returns the bytes sent to the client.
func (c *conn) tunnel(bc *bconn) int64 {
	_ = bc.c.SetReadDeadline(time.Time{})
	_ = c.c.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		// client → backend, including anything the client already sent.
		if n := c.br.Buffered(); n > 0 {
			b, _ := c.br.Peek(n)
			_, _ = bc.c.Write(b)
			_, _ = c.br.Discard(n)
		}
		_, _ = io.Copy(bc.c, c.c)
		closeWrite(bc.c)
		close(done)
	}()
	var n int64
	if k := bc.br.Buffered(); k > 0 {
		b, _ := bc.br.Peek(k)
		m, _ := c.c.Write(b)
		n += int64(m)
		_, _ = bc.br.Discard(k)
	}
	m, _ := io.Copy(c.c, bc.c)
	n += m
	closeWrite(c.c)
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	<-done
	bc.c.Close()
	c.q.closeConn = true
	return n
}

// closeWrite half-closes a connection when it can.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}
