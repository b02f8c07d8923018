package router

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/paasd/paasd/core"
)

// Balancer names.
const (
	BalancerRandom    = "random"
	BalancerLeastConn = "least-conn"
	BalancerP2C       = "p2c"
)

// snapshot is an immutable, validated route table. Requests load it once
// through an atomic pointer; SetRoutes replaces it whole.
type snapshot struct {
	version int64
	hosts   map[string]*appRoute
	// certs maps an exact host or a "*.domain" wildcard to its certificate.
	certs map[string]*tls.Certificate
	// changed is closed when a newer snapshot replaces this one; held
	// requests for idle apps wait on it.
	changed chan struct{}
}

// appRoute is one app's entry of a snapshot.
type appRoute struct {
	route    core.Route
	backends []*backend
	balancer string
	mw       *middlewareChain
}

// backend is one routable dyno of a snapshot; pool is shared by every
// snapshot that lists the same address.
type backend struct {
	dyno string
	pool *connPool
}

// lookup returns the app for a normalised host, or nil.
func (s *snapshot) lookup(host []byte) *appRoute {
	return s.hosts[string(host)]
}

// pick chooses a backend with the app's balancer. It returns nil when the
// app has none.
func (a *appRoute) pick() *backend {
	bs := a.backends
	switch len(bs) {
	case 0:
		return nil
	case 1:
		return bs[0]
	}
	switch a.balancer {
	case BalancerLeastConn:
		start := rand.IntN(len(bs))
		best := bs[start]
		bestN := best.pool.inflight.Load()
		for i := 1; i < len(bs); i++ {
			b := bs[(start+i)%len(bs)]
			if n := b.pool.inflight.Load(); n < bestN {
				best, bestN = b, n
			}
		}
		return best
	case BalancerP2C:
		i := rand.IntN(len(bs))
		j := rand.IntN(len(bs) - 1)
		if j >= i {
			j++
		}
		if bs[j].pool.inflight.Load() < bs[i].pool.inflight.Load() {
			return bs[j]
		}
		return bs[i]
	default:
		return bs[rand.IntN(len(bs))]
	}
}

// connPool keeps idle keep-alive connections to one backend address.
type connPool struct {
	addr string
	idle chan *bconn
	// inflight counts requests being served by this backend (least-conn,
	// p2c); dispatching counts requests between picking this backend and
	// having sent it the request head (SetRoutes waits for it to drain).
	inflight    atomic.Int64
	dispatching atomic.Int64
	retired     atomic.Bool
	dialTimeout time.Duration
}

// bconn is one connection to a backend.
type bconn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	reused bool
	// onRead, if set, runs before each read from the network: while a
	// response body streams, it flushes what the client has not yet got
	// and pushes the idle deadline forward.
	onRead func()
	// streamTo, if set, is the fast-path client connection a response body
	// is being relayed to (see conn.beforeBackendRead).
	streamTo *conn
}

// bconnReader is what a bconn's bufio.Reader reads from.
type bconnReader struct{ bc *bconn }

func (r bconnReader) Read(p []byte) (int, error) {
	if c := r.bc.streamTo; c != nil {
		c.beforeBackendRead(r.bc)
	} else if f := r.bc.onRead; f != nil {
		f()
	}
	return r.bc.c.Read(p)
}

func newConnPool(addr string, maxIdle int, dialTimeout time.Duration) *connPool {
	return &connPool{addr: addr, idle: make(chan *bconn, maxIdle), dialTimeout: dialTimeout}
}

// get returns an idle connection, or dials a new one.
func (p *connPool) get() (*bconn, error) {
	select {
	case c := <-p.idle:
		c.reused = true
		return c, nil
	default:
	}
	return p.dial()
}

func (p *connPool) dial() (*bconn, error) {
	c, err := net.DialTimeout("tcp", p.addr, p.dialTimeout)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	bc := &bconn{c: c, bw: bufio.NewWriterSize(c, 16<<10)}
	bc.br = bufio.NewReaderSize(bconnReader{bc}, 16<<10)
	return bc, nil
}

// put returns a healthy connection for reuse.
func (p *connPool) put(c *bconn) {
	if p.retired.Load() || c.br.Buffered() > 0 {
		c.c.Close()
		return
	}
	select {
	case p.idle <- c:
	default:
		c.c.Close()
	}
}

// retire stops reuse and closes the idle connections.
func (p *connPool) retire() {
	p.retired.Store(true)
	for {
		select {
		case c := <-p.idle:
			c.c.Close()
		default:
			return
		}
	}
}

// buildSnapshot validates t and makes a snapshot. pools gives the existing
// pool for an address or makes one. It returns an error wrapping
// core.ErrInvalid naming the route.
func (r *Router) buildSnapshot(t core.RouteTable, pools func(addr string) *connPool) (*snapshot, error) {
	s := &snapshot{version: t.Version, hosts: map[string]*appRoute{}, certs: map[string]*tls.Certificate{}, changed: make(chan struct{})}
	apps := map[string]bool{}
	var hostBuf []byte
	for i, rt := range t.Routes {
		name := rt.App
		where := fmt.Sprintf("route %d (app %q)", i, name)
		if name == "" {
			return nil, fmt.Errorf("%s: empty app name: %w", where, core.ErrInvalid)
		}
		if apps[name] {
			return nil, fmt.Errorf("%s: app listed twice: %w", where, core.ErrInvalid)
		}
		apps[name] = true
		switch rt.State {
		case "", core.AppRunning, core.AppCrashed, core.AppIdle, core.AppBlank:
		default:
			return nil, fmt.Errorf("%s: unknown state %q (want running, crashed, idle or blank): %w", where, rt.State, core.ErrInvalid)
		}
		a := &appRoute{route: rt, balancer: rt.Balancer}
		switch rt.Balancer {
		case "", BalancerRandom, BalancerLeastConn, BalancerP2C:
		default:
			return nil, fmt.Errorf("%s: unknown balancer %q (want random, least-conn or p2c): %w", where, rt.Balancer, core.ErrInvalid)
		}
		for _, b := range rt.Backends {
			host, port, err := net.SplitHostPort(b.Address)
			if err != nil || host == "" || port == "" {
				return nil, fmt.Errorf("%s: backend %q: address %q is not host:port: %w", where, b.Dyno, b.Address, core.ErrInvalid)
			}
			if b.Dyno == "" {
				return nil, fmt.Errorf("%s: backend %q has no dyno name: %w", where, b.Address, core.ErrInvalid)
			}
			a.backends = append(a.backends, &backend{dyno: b.Dyno, pool: pools(b.Address)})
		}
		hosts := append([]string{name + "." + r.baseDomain}, rt.Hosts...)
		for _, h := range hosts {
			var ok bool
			hostBuf, ok = normalizeHost(hostBuf, []byte(h))
			if !ok || strings.Contains(h, ":") {
				return nil, fmt.Errorf("%s: bad hostname %q: %w", where, h, core.ErrInvalid)
			}
			key := string(hostBuf)
			if other, dup := s.hosts[key]; dup && other != a {
				return nil, fmt.Errorf("%s: hostname %q already routes to app %q: %w", where, h, other.route.App, core.ErrInvalid)
			}
			s.hosts[key] = a
		}
		for j, c := range rt.Certificates {
			cert, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM))
			if err != nil {
				return nil, fmt.Errorf("%s: certificate %d: %w: %w", where, j, err, core.ErrInvalid)
			}
			if len(c.Hosts) == 0 {
				return nil, fmt.Errorf("%s: certificate %d names no hosts: %w", where, j, core.ErrInvalid)
			}
			for _, h := range c.Hosts {
				s.certs[strings.ToLower(h)] = &cert
			}
		}
		if len(rt.Middleware) > 0 {
			mw, err := r.middleware(rt.Middleware)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			a.mw = mw
		}
	}
	return s, nil
}

// certFor returns the certificate for an SNI name, trying the exact name
// then the wildcard of its parent domain.
func (s *snapshot) certFor(name string) *tls.Certificate {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if c := s.certs[name]; c != nil {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return s.certs["*"+name[i:]]
	}
	return nil
}
