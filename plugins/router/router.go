// Package router is paasd's reference router: it routes APP.<base domain>
// and custom domains to an app's web dynos, with Heroku's timeouts, error
// codes (H10–H99) and router log lines.
//
// The HTTP/1.x path is the router's own: it parses requests by hand and
// relays them over pooled keep-alive connections to the backends, without
// net/http on the hot path. HTTP/2 (over TLS, by ALPN) and apps with wasm
// middleware go through a net/http handler sharing the same routing, error
// pages and log lines.
//
// # Notes
//
//   - The route table is an immutable snapshot behind an atomic pointer: a
//     request loads it once and never takes a lock to route.
//   - Certificates come from Route.Certificates, chosen by SNI; paasd's
//     ACME client (core/acme) puts the ones it obtains there too, and the
//     router answers its HTTP-01 challenges through SetACMEChallenge.
package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paasd/paasd/core"
)

var (
	_ core.Router          = (*Router)(nil)
	_ core.RouterLogSource = (*Router)(nil)
)

// PluginID is the reference router's plugin id.
const PluginID = "paasd.router.reference"

// Options configure a Router. The zero value of every field is its
// documented default.
type Options struct {
	// BaseDomain: every app answers at APP.<BaseDomain>. Default "localhost".
	BaseDomain string
	// RequestTimeout is the time a backend has to start its response after
	// receiving the request (H12). Default 30 s.
	RequestTimeout time.Duration
	// IdleTimeout is the rolling window in which some byte must move either
	// way once the response started (H15). Default 55 s.
	IdleTimeout time.Duration
	// BootTimeout bounds how long a request to an idle app waits for it to
	// wake (H20). Default 75 s.
	BootTimeout time.Duration
	// ConnectTimeout bounds dialing a backend (H19). Default 5 s.
	ConnectTimeout time.Duration
	// ClientIdleTimeout closes a keep-alive client connection idle this
	// long between requests. Default 90 s.
	ClientIdleTimeout time.Duration
	// MaxRequestLine is the longest request line accepted (else 414), and
	// the longest single header line. Default 8192 bytes.
	MaxRequestLine int
	// MaxHeaderBytes is the largest header section accepted (else 431).
	// Default 64 KiB.
	MaxHeaderBytes int
	// MaxBodyBytes is the largest request body accepted (else 413). Zero
	// means no limit.
	MaxBodyBytes int64
	// MaxIdlePerBackend is how many idle keep-alive connections are kept
	// per backend. Default 512.
	MaxIdlePerBackend int
	// Via is the Via header value added both ways. Default "1.1 vegur".
	Via string
	// Wake is called (once per app at a time) when a request reaches an app
	// in state idle; the request is held until a route table shows the app
	// running with backends, or BootTimeout passes (H20). Nil: nothing is
	// woken and requests to idle apps wait for a route table to wake them.
	Wake func(ctx context.Context, app string) error
	// OnLog, if set, receives every router log line, off the request path.
	OnLog func(app string, msg core.LogMessage)
	// LogBuffer is the bounded queue of log lines; lines beyond it are
	// dropped and counted. Default 4096.
	LogBuffer int
	// Middleware configures wasm middleware.
	Middleware MiddlewareOptions
	// DefaultCertificate is served to TLS clients whose SNI name (or lack
	// of one) matches no route's certificate. Nil: such handshakes fail.
	DefaultCertificate *tls.Certificate
	// ACMEChallenge, if set, answers ACME HTTP-01 challenges: plain-HTTP
	// GET requests for /.well-known/acme-challenge/TOKEN. It returns the
	// key authorization to serve for host and path, or false to route the
	// request to the app as usual. paasd sets it with SetACMEChallenge.
	ACMEChallenge func(host, path string) (keyAuth string, ok bool)
}

func (o *Options) setDefaults() {
	if o.BaseDomain == "" {
		o.BaseDomain = "localhost"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RequestTimeout, 30*time.Second)
	def(&o.IdleTimeout, 55*time.Second)
	def(&o.BootTimeout, 75*time.Second)
	def(&o.ConnectTimeout, 5*time.Second)
	def(&o.ClientIdleTimeout, 90*time.Second)
	if o.MaxRequestLine <= 0 {
		o.MaxRequestLine = 8192
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.MaxIdlePerBackend <= 0 {
		o.MaxIdlePerBackend = 512
	}
	if o.Via == "" {
		o.Via = "1.1 vegur"
	}
	o.Middleware.setDefaults()
}

// Router is the reference router. Create it with New; serve with Serve and
// ServeTLS (or configure addresses through Configure); feed it route tables
// with SetRoutes.
type Router struct {
	opts       Options
	baseDomain string
	snap       atomic.Pointer[snapshot]
	logs       *logBus
	closing    atomic.Bool
	ctx        context.Context
	cancel     context.CancelFunc

	mu        sync.Mutex // SetRoutes, pools, listeners, wakes
	pools     map[string]*connPool
	listeners []net.Listener
	httpAddr  string
	httpsAddr string
	waking    map[string]bool
	wasm      *wasmHost
	h2        *http.Server
	h2ln      *chanListener
	handler   *httpHandler
	acme      atomic.Pointer[func(host, path string) (string, bool)]
	writers   bufPool[*bufio.Writer]
	copyBufs  sync.Pool
	conns     sync.Pool
}

// New returns a Router with opts; it routes nothing until SetRoutes.
func New(opts Options) *Router {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{opts: opts, baseDomain: opts.BaseDomain, ctx: ctx, cancel: cancel,
		pools: map[string]*connPool{}, waking: map[string]bool{}}
	r.logs = newLogBus(opts.LogBuffer, opts.OnLog)
	if opts.ACMEChallenge != nil {
		r.acme.Store(&opts.ACMEChallenge)
	}
	r.snap.Store(&snapshot{hosts: map[string]*appRoute{}, certs: map[string]*tls.Certificate{}, changed: make(chan struct{})})
	r.writers = bufPool[*bufio.Writer]{
		new:   func(c net.Conn, _ int) *bufio.Writer { return bufio.NewWriterSize(c, 16<<10) },
		reset: func(b *bufio.Writer, c net.Conn) { b.Reset(c) },
	}
	r.conns.New = newConn
	r.copyBufs.New = func() any { b := make([]byte, 32<<10); return &b }
	r.wasm = newWasmHost(opts.Middleware)
	r.handler = &httpHandler{r: r}
	go r.logs.run(ctx)
	return r
}

// bufPool recycles bufio readers and writers.
type bufPool[T interface{ comparable }] struct {
	p     sync.Pool
	new   func(c net.Conn, size int) T
	reset func(b T, c net.Conn)
}

func (p *bufPool[T]) get(c net.Conn, size int) T {
	if v := p.p.Get(); v != nil {
		b := v.(T)
		p.reset(b, c)
		return b
	}
	return p.new(c, size)
}

func (p *bufPool[T]) put(b T) {
	p.reset(b, nil)
	p.p.Put(b)
}

// Describe implements core.Plugin.
func (r *Router) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID: PluginID, Contract: core.ContractRouter, APIVersions: core.RouterAPIVersions, Version: "0.1.0",
		Capabilities: []string{core.RouterCapTLS, core.RouterCapWebSocket, core.RouterCapMiddleware, core.RouterCapLogs},
		ConfigSchema: ConfigSchema,
	}, nil
}

// ConfigSchema is the CUE definition of Config.
const ConfigSchema = `{
	base_domain?:     string & =~"^[a-z0-9.-]+$"
	http_addr?:       string
	https_addr?:      string
	request_timeout?: string
	idle_timeout?:    string
	boot_timeout?:    string
	max_body_bytes?:  int & >=0
	via?:             string
	default_cert_file?: string
	default_key_file?:  string
}`

// Config is the JSON configuration accepted by Configure.
type Config struct {
	// BaseDomain overrides Options.BaseDomain.
	BaseDomain string `json:"base_domain,omitempty"`
	// HTTPAddr, if set, is a TCP address the router listens on for HTTP.
	HTTPAddr string `json:"http_addr,omitempty"`
	// HTTPSAddr, if set, is a TCP address for HTTPS (SNI certificates).
	HTTPSAddr string `json:"https_addr,omitempty"`
	// RequestTimeout, IdleTimeout, BootTimeout are Go durations ("30s").
	RequestTimeout string `json:"request_timeout,omitempty"`
	IdleTimeout    string `json:"idle_timeout,omitempty"`
	BootTimeout    string `json:"boot_timeout,omitempty"`
	// MaxBodyBytes overrides Options.MaxBodyBytes.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// Via overrides Options.Via.
	Via string `json:"via,omitempty"`
	// DefaultCertFile and DefaultKeyFile, if set, are a PEM certificate
	// and key loaded as Options.DefaultCertificate (paasd's wildcard for
	// APP.<base domain>).
	DefaultCertFile string `json:"default_cert_file,omitempty"`
	DefaultKeyFile  string `json:"default_key_file,omitempty"`
}

// Configure implements core.Plugin: it applies the JSON Config and starts
// listening on its addresses. It returns an error wrapping core.ErrInvalid
// for a bad config.
func (r *Router) Configure(ctx context.Context, req core.ConfigureRequest) error {
	if len(req.Config) == 0 {
		return nil
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(req.Config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("router config: %w: %w", err, core.ErrInvalid)
	}
	dur := func(name, s string, dst *time.Duration) error {
		if s == "" {
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("router config: %s %q is not a positive duration: %w", name, s, core.ErrInvalid)
		}
		*dst = d
		return nil
	}
	if err := errors.Join(dur("request_timeout", cfg.RequestTimeout, &r.opts.RequestTimeout),
		dur("idle_timeout", cfg.IdleTimeout, &r.opts.IdleTimeout),
		dur("boot_timeout", cfg.BootTimeout, &r.opts.BootTimeout)); err != nil {
		return err
	}
	if cfg.BaseDomain != "" {
		r.opts.BaseDomain, r.baseDomain = cfg.BaseDomain, cfg.BaseDomain
	}
	if cfg.MaxBodyBytes > 0 {
		r.opts.MaxBodyBytes = cfg.MaxBodyBytes
	}
	if cfg.Via != "" {
		r.opts.Via = cfg.Via
	}
	if cfg.DefaultCertFile != "" || cfg.DefaultKeyFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.DefaultCertFile, cfg.DefaultKeyFile)
		if err != nil {
			return fmt.Errorf("router config: default_cert_file/default_key_file: %w: %w", err, core.ErrInvalid)
		}
		r.opts.DefaultCertificate = &c
	}
	if cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("router config: http_addr: %w: %w", err, core.ErrInvalid)
		}
		r.mu.Lock()
		r.httpAddr = ln.Addr().String()
		r.mu.Unlock()
		go r.Serve(ln) //nolint:errcheck // ends with Close
	}
	if cfg.HTTPSAddr != "" {
		ln, err := net.Listen("tcp", cfg.HTTPSAddr)
		if err != nil {
			return fmt.Errorf("router config: https_addr: %w: %w", err, core.ErrInvalid)
		}
		r.mu.Lock()
		r.httpsAddr = ln.Addr().String()
		r.mu.Unlock()
		go r.ServeTLS(ln) //nolint:errcheck // ends with Close
	}
	return nil
}

// SetWake sets Options.Wake after New: paasd wires the router it loads to
// the platform that wakes sleeping apps.
func (r *Router) SetWake(fn func(ctx context.Context, app string) error) {
	r.mu.Lock()
	r.opts.Wake = fn
	r.mu.Unlock()
}

// SetACMEChallenge sets Options.ACMEChallenge after New: paasd wires the
// router it loads to its ACME client (automated certificate management).
func (r *Router) SetACMEChallenge(fn func(host, path string) (keyAuth string, ok bool)) {
	if fn == nil {
		r.acme.Store(nil)
		return
	}
	r.acme.Store(&fn)
}

// HTTPAddr is the address Configure's http_addr listens on, or "".
func (r *Router) HTTPAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.httpAddr
}

// HTTPSAddr is the address Configure's https_addr listens on, or "".
func (r *Router) HTTPSAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.httpsAddr
}

// SetRoutes implements core.Router. An older Version than the current
// table's is ignored. Once it returns, no new request goes to a backend
// absent from t.
func (r *Router) SetRoutes(ctx context.Context, t core.RouteTable) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	if t.Version < old.version {
		return nil
	}
	used := map[string]*connPool{}
	s, err := r.buildSnapshot(t, func(addr string) *connPool {
		p := r.pools[addr]
		if p == nil {
			p = newConnPool(addr, r.opts.MaxIdlePerBackend, r.opts.ConnectTimeout)
		}
		used[addr] = p
		return p
	})
	if err != nil {
		return fmt.Errorf("set routes (version %d): %w", t.Version, err)
	}
	r.snap.Store(s)
	close(old.changed)
	var retired []*connPool
	for addr, p := range r.pools {
		if used[addr] == nil {
			p.retire()
			retired = append(retired, p)
		}
	}
	r.pools = used
	// Requests that picked a retired backend just before the swap are
	// either sending their head now or will notice the retirement; wait
	// for the former so that none reaches it after we return.
	for _, p := range retired {
		for p.dispatching.Load() > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("set routes: waiting for requests in dispatch to %s: %w", p.addr, ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
	}
	return nil
}

// Logs implements core.RouterLogSource.
func (r *Router) Logs(ctx context.Context, fn func(app string, msg core.LogMessage) error) error {
	return r.logs.subscribe(ctx, fn)
}

// DroppedLogLines is how many log lines were dropped because consumers
// were too slow.
func (r *Router) DroppedLogLines() int64 { return r.logs.dropped.Load() }

// logEntry queues e's log line for app (or "" without an app).
func (r *Router) logEntry(app *appRoute, e *entry) {
	name := ""
	if app != nil {
		name = app.route.App
	}
	r.logs.emit(name, e)
}

// routeError is the H code an app's state calls for before any backend is
// tried, or nil.
func (r *Router) routeError(app *appRoute) *hcode {
	switch {
	case app.route.Maintenance:
		return errH80
	case app.route.State == core.AppBlank:
		return errH81
	case app.route.State == core.AppCrashed:
		return errH10
	case app.route.State == core.AppIdle:
		return nil
	case len(app.backends) == 0:
		return errH14
	}
	return nil
}

// waitAwake wakes an idle app and waits until a route table shows it with
// backends. It returns the app's new route, or H20 (or another route
// error) when that does not happen in time.
func (r *Router) waitAwake(app *appRoute) (*appRoute, *hcode) {
	name := app.route.App
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.BootTimeout)
	defer cancel()
	r.mu.Lock()
	if !r.waking[name] && r.opts.Wake != nil {
		r.waking[name] = true
		go func() {
			wctx, wcancel := context.WithTimeout(r.ctx, r.opts.BootTimeout)
			defer wcancel()
			_ = r.opts.Wake(wctx, name)
			r.mu.Lock()
			delete(r.waking, name)
			r.mu.Unlock()
		}()
	}
	r.mu.Unlock()
	for {
		s := r.snap.Load()
		var cur *appRoute
		for _, a := range s.hosts {
			if a.route.App == name {
				cur = a
				break
			}
		}
		if cur == nil {
			return nil, errNoApp
		}
		if cur.route.State != core.AppIdle {
			if code := r.routeError(cur); code != nil {
				return cur, code
			}
			return cur, nil
		}
		select {
		case <-s.changed:
		case <-ctx.Done():
			return cur, errH20
		}
	}
}

// Serve serves HTTP/1.x on ln until Close. It returns nil after Close.
func (r *Router) Serve(ln net.Listener) error {
	return r.serve(ln, false)
}

// ServeTLS serves HTTPS on ln until Close, choosing each connection's
// certificate by SNI from the route table; HTTP/2 is negotiated by ALPN.
func (r *Router) ServeTLS(ln net.Listener) error {
	return r.serve(ln, true)
}

func (r *Router) serve(ln net.Listener, isTLS bool) error {
	r.mu.Lock()
	if r.closing.Load() {
		r.mu.Unlock()
		ln.Close()
		return nil
	}
	r.listeners = append(r.listeners, ln)
	r.mu.Unlock()
	var tlsConf *tls.Config
	if isTLS {
		tlsConf = r.tlsConfig()
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if r.closing.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return fmt.Errorf("router accept on %s: %w", ln.Addr(), err)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		if !isTLS {
			go r.serveConn(c, false)
			continue
		}
		go r.serveTLSConn(tls.Server(c, tlsConf))
	}
}

func (r *Router) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := r.snap.Load().certFor(hello.ServerName); c != nil {
				return c, nil
			}
			if r.opts.DefaultCertificate != nil {
				return r.opts.DefaultCertificate, nil
			}
			return nil, fmt.Errorf("no certificate for server name %q: %w", hello.ServerName, core.ErrNotFound)
		},
	}
}

func (r *Router) serveTLSConn(c *tls.Conn) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.Handshake(); err != nil {
		c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	if c.ConnectionState().NegotiatedProtocol == "h2" {
		r.h2Listener().push(c)
		return
	}
	r.serveConn(c, true)
}

// h2Listener starts, once, the net/http server that serves HTTP/2.
func (r *Router) h2Listener() *chanListener {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.h2ln == nil {
		r.h2ln = newChanListener()
		r.h2 = &http.Server{Handler: r.handler, TLSConfig: r.tlsConfig(), IdleTimeout: r.opts.ClientIdleTimeout,
			MaxHeaderBytes: r.opts.MaxHeaderBytes}
		go r.h2.Serve(r.h2ln) //nolint:errcheck // ends with Close
	}
	return r.h2ln
}

// Close stops the listeners and releases backend connections and wasm
// modules. Requests in flight end when their connections do.
func (r *Router) Close() error {
	r.closing.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ln := range r.listeners {
		ln.Close()
	}
	if r.h2 != nil {
		r.h2.Close()
	}
	for _, p := range r.pools {
		p.retire()
	}
	r.cancel()
	return r.wasm.close()
}

// chanListener hands already-accepted connections to an http.Server.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }
