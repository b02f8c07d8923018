package router

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paasd/paasd/core"
)

// httpHandler serves requests that come through net/http: HTTP/2 and apps
// with wasm middleware. It routes, logs and answers errors exactly like the
// fast path.
type httpHandler struct {
	r *Router
}

// reqMeta travels in the request context from routing to the proxy.
type reqMeta struct {
	app     *appRoute
	e       entry
	code    *hcode
	sentAt  time.Time
	backend *backend
	proto   string
	// wrote is set once the backend's response head went to the client.
	wrote bool
}

type metaKey struct{}

// ServeHTTP implements http.Handler.
func (h *httpHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r := h.r
	m := &reqMeta{proto: "http"}
	if req.TLS != nil {
		m.proto = "https"
	}
	id := []byte(req.Header.Get("X-Request-Id"))
	if !ValidRequestID(id) {
		var b [36]byte
		newRequestID(&b)
		id = b[:]
	}
	remote, _, _ := net.SplitHostPort(req.RemoteAddr)
	fwd := remote
	if prior := req.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		fwd = strings.Join(prior, ", ") + ", " + remote
	}
	m.e = entry{method: []byte(req.Method), path: []byte(req.URL.RequestURI()), host: []byte(req.Host), requestID: id,
		fwd: []byte(fwd), connect: -1, service: -1, protocol: m.proto}
	host, ok := normalizeHost(nil, []byte(req.Host))
	var app *appRoute
	if ok {
		app = r.snap.Load().lookup(host)
	}
	if app == nil {
		h.fail(w, m, errNoApp)
		return
	}
	m.app = app
	if code := r.routeError(app); code != nil {
		h.fail(w, m, code)
		return
	}
	if app.route.State == core.AppIdle {
		var code *hcode
		if app, code = r.waitAwake(app); code != nil {
			m.app = app
			h.fail(w, m, code)
			return
		}
		m.app = app
	}
	if r.opts.MaxBodyBytes > 0 {
		if req.ContentLength > r.opts.MaxBodyBytes {
			h.fail(w, m, errBodyTooLarge)
			return
		}
		req.Body = http.MaxBytesReader(w, req.Body, r.opts.MaxBodyBytes)
	}
	rec := &recorder{ResponseWriter: w}
	ctx := context.WithValue(req.Context(), metaKey{}, m)
	req = req.WithContext(ctx)
	req.Header.Set("X-Request-Id", string(id))
	if app.mw != nil {
		if code, why := app.mw.serve(rec, req, http.HandlerFunc(h.proxy)); code != nil && m.code == nil {
			m.code = code
			m.e.detail = why
			if !rec.wrote {
				writePage(rec, code, id, req.Method == http.MethodHead)
			}
		}
	} else {
		h.proxy(rec, req)
	}
	e := &m.e
	if e.service < 0 && !m.sentAt.IsZero() {
		e.service = time.Since(m.sentAt)
	}
	e.code = m.code
	e.status = rec.status
	if m.code != nil {
		e.status = m.code.logStatus()
	}
	if e.status == 0 {
		e.status = http.StatusOK
	}
	e.bytes = rec.n
	r.logEntry(m.app, e)
}

// fail answers with code's page and logs it.
func (h *httpHandler) fail(w http.ResponseWriter, m *reqMeta, code *hcode) {
	rec := &recorder{ResponseWriter: w}
	writePage(rec, code, m.e.requestID, string(m.e.method) == http.MethodHead)
	m.e.code = code
	m.e.status = code.logStatus()
	m.e.bytes = rec.n
	h.r.logEntry(m.app, &m.e)
}

func writePage(w http.ResponseWriter, code *hcode, id []byte, head bool) {
	if code == errH27 {
		return
	}
	body := code.page()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Request-Id", string(id))
	w.WriteHeader(code.Status)
	if !head {
		_, _ = w.Write(body)
	}
}

func localPort(req *http.Request) string {
	if a, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := a.(*net.TCPAddr); ok {
			return strconv.Itoa(ta.Port)
		}
	}
	return ""
}

// recorder notes the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		if code >= 200 {
			w.wrote = true
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveMiddleware serves the current fast-path request through net/http so
// that the app's wasm middleware can run.
func (c *conn) serveMiddleware(app *appRoute) bool {
	q := &c.q
	u, err := url.ParseRequestURI(string(q.target))
	if err != nil {
		return c.writeError(errBadRequest, app, true)
	}
	hdr := make(http.Header, len(c.hdrs)+4)
	for _, h := range c.hdrs {
		name := c.head[h.ns:h.ne]
		if dropRequestHeader(name, q) && !headerIs(name, "x-request-id") && !headerIs(name, "x-forwarded-for") {
			continue
		}
		k := http.CanonicalHeaderKey(string(name))
		hdr[k] = append(hdr[k], string(c.head[h.vs:h.ve]))
	}
	hdr.Set("X-Request-Id", string(q.requestID))
	req := &http.Request{
		Method: string(q.method), URL: u, RequestURI: string(q.target),
		Proto: "HTTP/1." + strconv.Itoa(q.minor), ProtoMajor: 1, ProtoMinor: q.minor,
		Header: hdr, Host: string(q.rawHost), RemoteAddr: c.c.RemoteAddr().String(),
		ContentLength: 0, Body: http.NoBody,
	}
	if tc, ok := c.c.(*tls.Conn); ok {
		st := tc.ConnectionState()
		req.TLS = &st
	}
	switch {
	case q.chunked:
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
		req.Body = io.NopCloser(httputil.NewChunkedReader(c.br))
		q.closeConn = true
	case q.contentLength > 0:
		req.ContentLength = q.contentLength
		req.Body = io.NopCloser(io.LimitReader(c.br, q.contentLength))
		q.closeConn = true
	}
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, c.c.LocalAddr())
	req = req.WithContext(ctx)
	w := &rawWriter{bw: c.bw, header: http.Header{}, minor: q.minor, head: q.method == nil || headerIs(q.method, "head"), closeConn: q.closeConn}
	c.r.handler.ServeHTTP(w, req)
	if err := w.finish(); err != nil {
		return false
	}
	return !w.closeConn
}

// rawWriter is an http.ResponseWriter on a fast-path connection.
type rawWriter struct {
	bw        *bufio.Writer
	header    http.Header
	minor     int
	head      bool
	closeConn bool
	wrote     bool
	chunked   bool
	remaining int64 // -1: not length-delimited
	err       error
}

func (w *rawWriter) Header() http.Header { return w.header }

func (w *rawWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	if code >= 100 && code < 200 {
		return // informational responses are not relayed on this path
	}
	w.wrote = true
	w.remaining = -1
	noBody := w.head || code == 204 || code == 304
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			w.remaining = n
		}
	}
	w.header.Del("Transfer-Encoding")
	w.header.Del("Connection")
	if !noBody && w.remaining < 0 {
		if w.minor == 1 {
			w.chunked = true
			w.header.Set("Transfer-Encoding", "chunked")
		} else {
			w.closeConn = true
		}
	}
	if w.closeConn {
		w.header.Set("Connection", "close")
	}
	if w.header.Get("Date") == "" {
		w.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	w.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	_ = w.header.Write(w.bw)
	w.bw.WriteString("\r\n")
	if noBody {
		w.head = true
	}
}

func (w *rawWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.head || len(p) == 0 {
		return len(p), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.chunked {
		w.bw.WriteString(strconv.FormatInt(int64(len(p)), 16) + "\r\n")
	}
	n, err := w.bw.Write(p)
	if w.chunked {
		w.bw.WriteString("\r\n")
	}
	w.err = err
	return n, err
}

func (w *rawWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.err = errors.Join(w.err, w.bw.Flush())
}

func (w *rawWriter) finish() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.chunked && !w.head {
		w.bw.WriteString("0\r\n\r\n")
	}
	return errors.Join(w.err, w.bw.Flush())
}
