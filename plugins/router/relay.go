package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"
)

// proxy relays a routed net/http request (HTTP/2, or an app with
// middleware) to one of its app's backends over the same pooled
// connections as the fast path, and writes the response through w.
func (h *httpHandler) proxy(w http.ResponseWriter, req *http.Request) {
	m := req.Context().Value(metaKey{}).(*reqMeta)
	r := h.r
	app := m.app
	host, _ := normalizeHost(nil, []byte(req.Host))
	fail := func(code *hcode) {
		m.code = code
		writePage(w, code, m.e.requestID, req.Method == http.MethodHead)
	}
	var bc *bconn
	var pool *connPool
	for try := 0; ; try++ {
		if try > 0 {
			if app = r.snap.Load().lookup(host); app == nil {
				fail(errNoApp)
				return
			}
			if code := r.routeError(app); code != nil {
				fail(code)
				return
			}
		}
		b, code := r.dispatch(app, host)
		if code != nil {
			fail(code)
			return
		}
		m.backend, m.e.dyno, pool = b, b.dyno, b.pool
		var retry bool
		bc, retry, code = h.send(pool, req, m, try)
		if code != nil {
			pool.inflight.Add(-1)
			fail(code)
			return
		}
		if !retry {
			break
		}
		pool.inflight.Add(-1)
	}
	defer pool.inflight.Add(-1)
	keep, code := h.relay(w, req, bc, m)
	m.e.service = time.Since(m.sentAt)
	if code != nil {
		bc.c.Close()
		m.code = code
		if !m.wrote {
			writePage(w, code, m.e.requestID, req.Method == http.MethodHead)
		}
		return
	}
	if keep {
		pool.put(bc)
	} else {
		bc.c.Close()
	}
}

// netHopHeaders are not forwarded either way (besides those named by
// Connection), or are set by the router.
var netHopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "X-Forwarded-For": true, "X-Forwarded-Proto": true,
	"X-Forwarded-Port": true, "X-Request-Start": true, "X-Request-Id": true, "Expect": true,
}

// send writes req to a pooled connection and waits for the first response
// byte, like conn.send.
func (h *httpHandler) send(pool *connPool, req *http.Request, m *reqMeta, try int) (bc *bconn, retry bool, code *hcode) {
	r := h.r
	dispatched := false
	undispatch := func() {
		if !dispatched {
			dispatched = true
			pool.dispatching.Add(-1)
		}
	}
	defer undispatch()
	t0 := time.Now()
	var err error
	if try < 2 {
		bc, err = pool.get()
	} else {
		bc, err = pool.dial()
	}
	m.e.connect = time.Since(t0)
	if err != nil {
		switch {
		case isTimeout(err):
			return nil, false, errH19
		case isRefused(err):
			return nil, false, errH21
		}
		return nil, false, errH99
	}
	w := bc.bw
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(req.Host)
	w.WriteString("\r\n")
	var conTokens []string
	for _, v := range req.Header["Connection"] {
		for _, t := range bytes.Split([]byte(v), []byte(",")) {
			conTokens = append(conTokens, http.CanonicalHeaderKey(string(bytes.TrimSpace(t))))
		}
	}
	for k, vs := range req.Header {
		if netHopHeaders[k] || k == "Host" || k == "Content-Length" || contains(conTokens, k) {
			continue
		}
		for _, v := range vs {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	hasBody := req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0
	switch {
	case hasBody && req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.FormatInt(req.ContentLength, 10))
		w.WriteString("\r\n")
	case hasBody:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	w.WriteString("X-Forwarded-For: ")
	w.Write(m.e.fwd)
	w.WriteString("\r\nX-Forwarded-Proto: ")
	w.WriteString(m.proto)
	w.WriteString("\r\nX-Forwarded-Port: ")
	w.WriteString(localPort(req))
	w.WriteString("\r\nX-Request-Id: ")
	w.Write(m.e.requestID)
	w.WriteString("\r\nX-Request-Start: ")
	w.WriteString(strconv.FormatInt(time.Now().UnixMilli(), 10))
	w.WriteString("\r\nVia: ")
	w.WriteString(r.opts.Via)
	w.WriteString("\r\n\r\n")
	err = w.Flush()
	undispatch()
	if err == nil && hasBody {
		err = copyRequest(w, req)
		if err == nil {
			err = w.Flush()
		}
	}
	m.sentAt = time.Now()
	canRetry := func() bool {
		return !hasBody && try < 3 && (bc.reused || (pool.retired.Load() && idempotent([]byte(req.Method))))
	}
	if err != nil {
		bc.c.Close()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, false, errBodyTooLarge
		case isClientErr(err):
			return nil, false, errH27
		case canRetry():
			return nil, true, nil
		}
		return nil, false, errH18
	}
	_ = bc.c.SetReadDeadline(m.sentAt.Add(r.opts.RequestTimeout))
	if _, err = bc.br.Peek(1); err != nil {
		bc.c.Close()
		switch {
		case isTimeout(err):
			return nil, false, errH12
		case canRetry() && isClosed(err):
			return nil, true, nil
		}
		return nil, false, errH13
	}
	return bc, false, nil
}

// copyRequest copies req's body, chunked when its length is unknown.
func copyRequest(w *bufio.Writer, req *http.Request) error {
	src := clientReader{req.Body}
	if req.ContentLength > 0 {
		_, err := io.CopyN(w, src, req.ContentLength)
		if errors.Is(err, io.EOF) {
			return clientErr{io.ErrUnexpectedEOF}
		}
		return err
	}
	cw := httputil.NewChunkedWriter(w)
	if _, err := io.Copy(cw, src); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// relay reads the backend's response from bc and writes it through w.
func (h *httpHandler) relay(w http.ResponseWriter, req *http.Request, bc *bconn, m *reqMeta) (keep bool, code *hcode) {
	r := h.r
	for {
		line, err := bc.br.ReadSlice('\n')
		if err != nil {
			if isTimeout(err) {
				return false, errH12
			}
			return false, errH13
		}
		minor, status, perr := parseStatusLine(bytes.TrimRight(line, "\r\n"))
		if perr != nil {
			return false, errH17
		}
		hdr := http.Header{}
		headBytes := 0
		var cl int64 = -1
		chunked, backendClose := false, minor == 0
		for {
			hl, err := bc.br.ReadSlice('\n')
			if err != nil {
				if isTimeout(err) {
					return false, errH12
				}
				return false, errH17
			}
			t := bytes.TrimRight(hl, "\r\n")
			if len(t) == 0 {
				break
			}
			name, value, perr := parseHeaderLine(t)
			if perr != nil {
				return false, errH17
			}
			switch {
			case headerIs(name, "connection"):
				backendClose = backendClose || hasToken(value, "close")
				continue
			case headerIs(name, "transfer-encoding"):
				if !hasToken(value, "chunked") {
					return false, errH17
				}
				chunked = true
				continue
			case headerIs(name, "content-length"):
				v, ok := parseContentLength(value)
				if !ok || (cl >= 0 && cl != v) {
					return false, errH17
				}
				cl = v
			case headerIs(name, "keep-alive"), headerIs(name, "proxy-connection"), headerIs(name, "upgrade"):
				continue
			}
			if headBytes += len(hl); headBytes > maxResponseHead {
				return false, errH17
			}
			hdr.Add(string(name), string(value))
		}
		if chunked && cl >= 0 {
			return false, errH17
		}
		if status == 101 {
			return false, errH17 // upgrades are only relayed on the fast path
		}
		if status < 200 {
			continue // informational responses are not relayed here
		}
		dst := w.Header()
		for k, v := range hdr {
			dst[k] = v
		}
		dst.Add("Via", r.opts.Via)
		w.WriteHeader(status)
		m.wrote = true
		noBody := req.Method == http.MethodHead || status == 204 || status == 304
		if noBody {
			return !backendClose, nil
		}
		var src io.Reader = bc.br
		switch {
		case chunked:
			src = httputil.NewChunkedReader(bc.br)
		case cl >= 0:
			src = io.LimitReader(bc.br, cl)
		default:
			backendClose = true
		}
		flusher, _ := w.(http.Flusher)
		idle := r.opts.IdleTimeout
		bc.onRead = func() {
			_ = bc.c.SetReadDeadline(time.Now().Add(idle))
			if flusher != nil {
				flusher.Flush()
			}
		}
		buf := r.copyBufs.Get().(*[]byte)
		var got int64
		var werr, rerr error
		for {
			n, err := src.Read(*buf)
			if n > 0 {
				if _, werr = w.Write((*buf)[:n]); werr != nil {
					break
				}
				got += int64(n)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					rerr = err
				}
				break
			}
		}
		r.copyBufs.Put(buf)
		bc.onRead = nil
		switch {
		case werr != nil:
			return false, errH27
		case rerr != nil && isTimeout(rerr):
			return false, errH15
		case rerr != nil:
			return false, errH18
		case cl >= 0 && got < cl:
			return false, errH18
		}
		return !backendClose, nil
	}
}
