package router

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"

	handlerapi "github.com/http-wasm/http-wasm-host-go/api/handler"
)

// mwHost is the router's implementation of the http-wasm host functions
// (handlerapi.Host): the guest reads and changes the request and response
// of the mwState in its context. Trailers are not offered.
type mwHost struct{}

var _ handlerapi.Host = mwHost{}

type mwStateKey struct{}

// mwState is one request's state inside one middleware.
type mwState struct {
	r        *http.Request
	features handlerapi.Features
	// Before next: what the guest sets for a response it may send itself.
	hdr    http.Header
	status int
	body   bytes.Buffer
	// After next: the response of the rest of the chain.
	afterNext bool
	out       *recorder     // pass-through (status readable)
	buffered  *heldResponse // FeatureBufferResponse
	// reqBody records what the guest read when FeatureBufferRequest is on.
	reqBody *bytes.Buffer
}

func stateOf(ctx context.Context) *mwState { return ctx.Value(mwStateKey{}).(*mwState) }

// respHeader is the header map the guest's response-header calls act on.
func (s *mwState) respHeader() http.Header {
	switch {
	case s.buffered != nil:
		return s.buffered.header
	case s.afterNext:
		return s.out.Header()
	}
	return s.hdr
}

// heldResponse buffers the rest of the chain's response for a guest that
// enabled FeatureBufferResponse.
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }
func (h *heldResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}
func (h *heldResponse) Write(p []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(p)
}

// release sends the held response on.
func (h *heldResponse) release(w http.ResponseWriter) {
	dst := w.Header()
	for k := range dst {
		delete(dst, k)
	}
	for k, v := range h.header {
		dst[k] = v
	}
	dst.Del("Content-Length")
	if h.status == 0 {
		h.status = http.StatusOK
	}
	w.WriteHeader(h.status)
	_, _ = w.Write(h.body.Bytes())
}

// teeBody records what the guest reads of the request body.
type teeBody struct {
	r   io.ReadCloser
	buf *bytes.Buffer
}

func (t teeBody) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.buf.Write(p[:n])
	return n, err
}
func (t teeBody) Close() error { return t.r.Close() }

func (mwHost) EnableFeatures(ctx context.Context, f handlerapi.Features) handlerapi.Features {
	f &^= handlerapi.FeatureTrailers
	if s, ok := ctx.Value(mwStateKey{}).(*mwState); ok {
		s.features = s.features.WithEnabled(f)
		if f.IsEnabled(handlerapi.FeatureBufferRequest) && s.reqBody == nil && s.r.Body != nil {
			s.reqBody = &bytes.Buffer{}
			s.r.Body = teeBody{r: s.r.Body, buf: s.reqBody}
		}
		return s.features
	}
	return f
}

func (mwHost) GetMethod(ctx context.Context) string          { return stateOf(ctx).r.Method }
func (mwHost) SetMethod(ctx context.Context, m string)       { stateOf(ctx).r.Method = m }
func (mwHost) GetProtocolVersion(ctx context.Context) string { return stateOf(ctx).r.Proto }
func (mwHost) GetSourceAddr(ctx context.Context) string      { return stateOf(ctx).r.RemoteAddr }

func (mwHost) GetURI(ctx context.Context) string { return stateOf(ctx).r.URL.RequestURI() }

func (mwHost) SetURI(ctx context.Context, uri string) {
	r := stateOf(ctx).r
	if uri == "" {
		uri = "/"
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		panic(err) // becomes the guest call's error
	}
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.URL.ForceQuery = u.Path, u.RawPath, u.RawQuery, u.ForceQuery
	r.RequestURI = uri
}

func (mwHost) GetRequestHeaderNames(ctx context.Context) []string {
	r := stateOf(ctx).r
	names := make([]string, 0, len(r.Header)+1)
	if r.Host != "" {
		names = append(names, "Host")
	}
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (mwHost) GetRequestHeaderValues(ctx context.Context, name string) []string {
	r := stateOf(ctx).r
	if textproto.CanonicalMIMEHeaderKey(name) == "Host" {
		return []string{r.Host}
	}
	return r.Header.Values(name)
}

func (mwHost) SetRequestHeaderValue(ctx context.Context, name, value string) {
	r := stateOf(ctx).r
	if textproto.CanonicalMIMEHeaderKey(name) == "Host" {
		r.Host = value
		return
	}
	r.Header.Set(name, value)
}

func (mwHost) AddRequestHeaderValue(ctx context.Context, name, value string) {
	stateOf(ctx).r.Header.Add(name, value)
}

func (mwHost) RemoveRequestHeader(ctx context.Context, name string) { stateOf(ctx).r.Header.Del(name) }

func (mwHost) RequestBodyReader(ctx context.Context) io.ReadCloser {
	r := stateOf(ctx).r
	if r.Body == nil {
		return http.NoBody
	}
	return r.Body
}

func (mwHost) RequestBodyWriter(ctx context.Context) io.Writer {
	s := stateOf(ctx)
	b := &bytes.Buffer{}
	s.r.Body = io.NopCloser(b)
	s.r.ContentLength = -1 // unknown until the guest is done: sent chunked
	s.reqBody = nil
	return b
}

func (mwHost) GetStatusCode(ctx context.Context) uint32 {
	s := stateOf(ctx)
	st := s.status
	switch {
	case s.buffered != nil:
		st = s.buffered.status
	case s.afterNext:
		st = s.out.status
	}
	if st == 0 {
		return http.StatusOK
	}
	return uint32(st)
}

func (mwHost) SetStatusCode(ctx context.Context, code uint32) {
	s := stateOf(ctx)
	switch {
	case s.buffered != nil:
		s.buffered.status = int(code)
	case !s.afterNext:
		s.status = int(code)
	}
}

func (mwHost) GetResponseHeaderNames(ctx context.Context) []string {
	h := stateOf(ctx).respHeader()
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func (mwHost) GetResponseHeaderValues(ctx context.Context, name string) []string {
	return stateOf(ctx).respHeader().Values(name)
}

func (mwHost) SetResponseHeaderValue(ctx context.Context, name, value string) {
	stateOf(ctx).respHeader().Set(name, value)
}

func (mwHost) AddResponseHeaderValue(ctx context.Context, name, value string) {
	stateOf(ctx).respHeader().Add(name, value)
}

func (mwHost) RemoveResponseHeader(ctx context.Context, name string) {
	stateOf(ctx).respHeader().Del(name)
}

func (mwHost) ResponseBodyReader(ctx context.Context) io.ReadCloser {
	s := stateOf(ctx)
	if s.buffered != nil {
		return io.NopCloser(bytes.NewReader(s.buffered.body.Bytes()))
	}
	return io.NopCloser(bytes.NewReader(s.body.Bytes()))
}

func (mwHost) ResponseBodyWriter(ctx context.Context) io.Writer {
	s := stateOf(ctx)
	switch {
	case s.buffered != nil:
		s.buffered.body.Reset()
		return &s.buffered.body
	case s.afterNext:
		return s.out
	}
	s.body.Reset()
	return &s.body
}

// Trailers are not offered (EnableFeatures never grants FeatureTrailers).

func (mwHost) GetRequestTrailerNames(context.Context) []string           { return nil }
func (mwHost) GetRequestTrailerValues(context.Context, string) []string  { return nil }
func (mwHost) SetRequestTrailerValue(context.Context, string, string)    {}
func (mwHost) AddRequestTrailerValue(context.Context, string, string)    {}
func (mwHost) RemoveRequestTrailer(context.Context, string)              {}
func (mwHost) GetResponseTrailerNames(context.Context) []string          { return nil }
func (mwHost) GetResponseTrailerValues(context.Context, string) []string { return nil }
func (mwHost) SetResponseTrailerValue(context.Context, string, string)   {}
func (mwHost) AddResponseTrailerValue(context.Context, string, string)   {}
func (mwHost) RemoveResponseTrailer(context.Context, string)             {}
