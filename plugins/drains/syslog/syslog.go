// Package syslogdrain is paasd's reference syslog log drain: it delivers
// batches to syslog://host:port (TCP) and syslog+tls://host:port (TLS with
// certificate verification) as RFC 5424 messages in RFC 6587 octet-counted
// frames, keeping one connection per drain URL and reconnecting with
// exponential backoff.
//
// # Notes
//
// Syslog has no acknowledgements: a batch counts as delivered once it is
// written to the connection. A connection the receiver closed is noticed by
// a reader goroutine and replaced on the next batch; a batch whose write
// fails is reported with core.ErrUnavailable and Logplex redelivers it, so
// delivery is at-least-once.
package syslogdrain

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// Capabilities declared by this drain (and used by the conformance suite).
const (
	CapSyslog    = "syslog"
	CapSyslogTLS = "syslog-tls"
)

// ConfigSchema is the CUE definition of Config.
const ConfigSchema = `{
	tls_ca_pem?: string
	flavor?: "rfc5424" | "heroku"
	dial_timeout_ms?: int & >=0
	backoff_max_ms?: int & >=0
}`

// Config configures the drain; the zero value is the documented default.
type Config struct {
	// TLSCAPEM holds extra PEM root certificates trusted for syslog+tls,
	// besides the system's.
	TLSCAPEM string `json:"tls_ca_pem,omitempty"`
	// Flavor is "rfc5424" (default: with the STRUCTURED-DATA NILVALUE, as
	// rsyslog and other RFC 5424 receivers expect) or "heroku" (Heroku's
	// header without STRUCTURED-DATA).
	Flavor string `json:"flavor,omitempty"`
	// DialTimeoutMS bounds connecting (and the TLS handshake); 0 means 10 s.
	DialTimeoutMS int `json:"dial_timeout_ms,omitempty"`
	// BackoffMaxMS caps the wait between reconnection attempts, which starts
	// at 100 ms and doubles; 0 means 30 s.
	BackoffMaxMS int `json:"backoff_max_ms,omitempty"`
}

// Drain delivers to syslog receivers. Make it with New; it is safe for
// concurrent use, with one connection per drain URL.
type Drain struct {
	mu     sync.Mutex
	cfg    Config
	flavor syslog.Flavor
	roots  *x509.CertPool
	conns  map[string]*conn
	live   map[net.Conn]struct{} // open connections, closed by Close without waiting for writers
	closed bool
}

var (
	_ core.LogDrain      = (*Drain)(nil)
	_ core.HealthChecker = (*Drain)(nil)
	_ io.Closer          = (*Drain)(nil)
)

// New returns a drain with the default configuration.
func New() *Drain {
	d := &Drain{conns: map[string]*conn{}, live: map[net.Conn]struct{}{}}
	_ = d.apply(Config{})
	return d
}

// Factory returns a logplex.DrainFactory making one configured Drain per
// drain URL, for the syslog and syslog+tls schemes.
func Factory(cfg Config) (logplex.DrainFactoryFunc, error) {
	if err := New().apply(cfg); err != nil {
		return nil, err
	}
	return func(_ context.Context, u *url.URL) (core.LogDrain, error) {
		if _, err := target(u.String()); err != nil {
			return nil, err
		}
		d := New()
		_ = d.apply(cfg)
		return d, nil
	}, nil
}

// Describe says what the drain is.
func (d *Drain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID: "paasd.drain.syslog", Contract: core.ContractDrain, APIVersions: core.DrainAPIVersions,
		Version: "1.0.0", Capabilities: []string{CapSyslog, CapSyslogTLS}, ConfigSchema: ConfigSchema,
	}, nil
}

// Configure applies a Config given as JSON.
func (d *Drain) Configure(_ context.Context, req core.ConfigureRequest) error {
	var cfg Config
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &cfg); err != nil {
			return fmt.Errorf("syslog drain config: %w: %w", err, core.ErrInvalid)
		}
	}
	return d.apply(cfg)
}

func (d *Drain) apply(cfg Config) error {
	var f syslog.Flavor
	switch cfg.Flavor {
	case "", "rfc5424":
		f = syslog.RFC5424
	case "heroku":
		f = syslog.Heroku
	default:
		return fmt.Errorf("syslog drain config: flavor %q: want rfc5424 or heroku: %w", cfg.Flavor, core.ErrInvalid)
	}
	if cfg.DialTimeoutMS < 0 || cfg.BackoffMaxMS < 0 {
		return fmt.Errorf("syslog drain config: negative timeout: %w", core.ErrInvalid)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if cfg.TLSCAPEM != "" && !roots.AppendCertsFromPEM([]byte(cfg.TLSCAPEM)) {
		return fmt.Errorf("syslog drain config: tls_ca_pem holds no PEM certificate: %w", core.ErrInvalid)
	}
	d.mu.Lock()
	d.cfg, d.flavor, d.roots = cfg, f, roots
	d.mu.Unlock()
	return nil
}

// Health reports whether the drain is usable.
func (d *Drain) Health(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("syslog drain closed: %w", core.ErrUnavailable)
	}
	return nil
}

type dest struct {
	addr string
	tls  bool
	host string
}

func target(raw string) (dest, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return dest{}, fmt.Errorf("syslog drain URL %q: %w: %w", raw, err, core.ErrInvalid)
	}
	var t dest
	switch u.Scheme {
	case "syslog":
	case "syslog+tls":
		t.tls = true
	default:
		return dest{}, fmt.Errorf("syslog drain URL %q: scheme %q, want syslog or syslog+tls: %w", u.Redacted(), u.Scheme, core.ErrInvalid)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return dest{}, fmt.Errorf("syslog drain URL %q: want %s://host:port: %w", u.Redacted(), u.Scheme, core.ErrInvalid)
	}
	t.addr, t.host = u.Host, u.Hostname()
	return t, nil
}

// conn is one drain URL's connection and reconnection state.
type conn struct {
	mu       sync.Mutex
	c        net.Conn
	dead     chan struct{} // closed when the reader sees the peer go away
	buf      []byte
	enc      syslog.Encoder
	failures int
	retryAt  time.Time
}

// Deliver writes the batch as octet-counted frames to the batch's URL.
func (d *Drain) Deliver(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	t, err := target(b.URL)
	if err != nil {
		return core.DeliverResult{}, err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return core.DeliverResult{}, fmt.Errorf("syslog drain closed: %w", core.ErrUnavailable)
	}
	cn := d.conns[b.URL]
	if cn == nil {
		cn = &conn{}
		d.conns[b.URL] = cn
	}
	cfg, flavor, roots := d.cfg, d.flavor, d.roots
	d.mu.Unlock()

	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.c != nil {
		select {
		case <-cn.dead:
			cn.c.Close()
			cn.c = nil
		default:
		}
	}
	if cn.c == nil {
		if now := time.Now(); now.Before(cn.retryAt) {
			return core.DeliverResult{}, fmt.Errorf("syslog drain %s: reconnecting in %v after %d failure(s): %w",
				t.addr, cn.retryAt.Sub(now).Round(time.Millisecond), cn.failures, core.ErrUnavailable)
		}
		if err := cn.dial(ctx, d, t, cfg, roots); err != nil {
			return core.DeliverResult{}, err
		}
	}
	cn.buf = cn.buf[:0]
	cn.enc.Flavor = flavor
	for i := range b.Messages {
		cn.buf = cn.enc.AppendFrame(cn.buf, b.Messages[i])
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = cn.c.SetWriteDeadline(dl)
	} else {
		_ = cn.c.SetWriteDeadline(time.Time{})
	}
	if _, err := cn.c.Write(cn.buf); err != nil {
		cn.c.Close()
		cn.c = nil
		cn.backoff(cfg)
		sentinel := core.ErrUnavailable
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			sentinel = core.ErrTimeout
		}
		return core.DeliverResult{}, fmt.Errorf("syslog drain %s: write: %w: %w", t.addr, err, sentinel)
	}
	if cap(cn.buf) > 1<<20 {
		cn.buf = nil // do not pin a huge batch's buffer
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

func (cn *conn) backoff(cfg Config) {
	cn.failures++
	maxWait := 30 * time.Second
	if cfg.BackoffMaxMS > 0 {
		maxWait = time.Duration(cfg.BackoffMaxMS) * time.Millisecond
	}
	wait := 100 * time.Millisecond << min(cn.failures-1, 20)
	cn.retryAt = time.Now().Add(min(wait, maxWait))
}

func (cn *conn) dial(ctx context.Context, d *Drain, t dest, cfg Config, roots *x509.CertPool) error {
	timeout := 10 * time.Second
	if cfg.DialTimeoutMS > 0 {
		timeout = time.Duration(cfg.DialTimeoutMS) * time.Millisecond
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var c net.Conn
	var err error
	if t.tls {
		td := tls.Dialer{Config: &tls.Config{ServerName: t.host, RootCAs: roots, MinVersion: tls.VersionTLS12}}
		c, err = td.DialContext(dctx, "tcp", t.addr)
	} else {
		var nd net.Dialer
		c, err = nd.DialContext(dctx, "tcp", t.addr)
	}
	if err != nil {
		cn.backoff(cfg)
		sentinel := core.ErrUnavailable
		if errors.Is(err, context.DeadlineExceeded) {
			sentinel = core.ErrTimeout
		}
		return fmt.Errorf("syslog drain %s: connect: %w: %w", t.addr, err, sentinel)
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		c.Close()
		return fmt.Errorf("syslog drain closed: %w", core.ErrUnavailable)
	}
	d.live[c] = struct{}{}
	d.mu.Unlock()
	cn.failures = 0
	cn.c = c
	dead := make(chan struct{})
	cn.dead = dead
	go func() {
		// Receivers send nothing; any read result means the stream is over.
		_, _ = io.Copy(io.Discard, c)
		c.Close()
		d.mu.Lock()
		delete(d.live, c)
		d.mu.Unlock()
		close(dead)
	}()
	return nil
}

// Close closes every connection; later deliveries fail.
func (d *Drain) Close() error {
	d.mu.Lock()
	d.closed = true
	live := d.live
	d.live = map[net.Conn]struct{}{}
	d.mu.Unlock()
	for c := range live {
		c.Close()
	}
	return nil
}
