package logplex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// DrainFactory makes the core.LogDrain that delivers to one drain URL. The
// host plugs in builtin drains, go-plugin drains and so on behind it.
// NewDrain returns an error wrapping core.ErrInvalid for a URL it cannot
// serve. If the drain it returns implements io.Closer, Logplex closes it
// when the drain is removed.
//
// Logplex calls a drain's Deliver from one goroutine per drain, and reuses
// the batch's Messages slice once Deliver returns: a drain must not keep it.
type DrainFactory interface {
	NewDrain(ctx context.Context, u *url.URL) (core.LogDrain, error)
}

// DrainFactoryFunc adapts a function to DrainFactory.
type DrainFactoryFunc func(ctx context.Context, u *url.URL) (core.LogDrain, error)

// NewDrain calls f.
func (f DrainFactoryFunc) NewDrain(ctx context.Context, u *url.URL) (core.LogDrain, error) {
	return f(ctx, u)
}

// Shared returns a DrainFactory that serves every drain URL with the one
// drain d — for a go-plugin or Wasm drain the host loaded once (each batch
// carries its URL). Logplex never closes d, even if it is an io.Closer; its
// owner does.
func Shared(d core.LogDrain) DrainFactory {
	return DrainFactoryFunc(func(context.Context, *url.URL) (core.LogDrain, error) {
		return sharedDrain{d}, nil
	})
}

// sharedDrain hides its drain's Close from Logplex.
type sharedDrain struct{ core.LogDrain }

// Schemes is a DrainFactory dispatching on the URL scheme ("syslog",
// "syslog+tls", "https", "http", …).
type Schemes map[string]DrainFactory

// NewDrain calls the factory for u's scheme, or returns an error wrapping
// core.ErrInvalid that lists the schemes served.
func (s Schemes) NewDrain(ctx context.Context, u *url.URL) (core.LogDrain, error) {
	f, ok := s[u.Scheme]
	if !ok {
		known := make([]string, 0, len(s))
		for k := range s {
			known = append(known, k+"://")
		}
		sort.Strings(known)
		return nil, fmt.Errorf("drain URL %q: unsupported scheme %q (want one of %s): %w",
			u.Redacted(), u.Scheme, strings.Join(known, ", "), core.ErrInvalid)
	}
	return f.NewDrain(ctx, u)
}

// RetryPolicy says how a drain's failed batch is retried. The zero value
// means: 10 attempts, backoff from 100 ms doubling to 30 s, 30 s per attempt.
type RetryPolicy struct {
	// Attempts is the most deliveries of one batch; 0 means 10. A batch
	// that still fails is dropped and counted.
	Attempts int
	// Min and Max bound the backoff between attempts; 0 means 100 ms and 30 s.
	Min, Max time.Duration
	// Timeout bounds one Deliver call; 0 means 30 s.
	Timeout time.Duration
}

func (p *RetryPolicy) setDefaults() {
	if p.Attempts <= 0 {
		p.Attempts = 10
	}
	if p.Min <= 0 {
		p.Min = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Second
	}
}

// DrainOptions configures a drain when it is added.
type DrainOptions struct {
	// ID is the drain token ("d.<uuid>") to use, e.g. the one the store
	// gave the drain; empty generates one.
	ID string
	// Filters run in order on every batch before delivery (e.g. Wasm
	// redaction filters); a filter error drops the batch and is counted.
	Filters []core.LogFilter
}

// DrainStatus is a drain's identity and counters, for `drains` output and
// metrics.
type DrainStatus struct {
	// ID is the drain token, "d.<uuid>", sent as Logplex-Drain-Token.
	ID  string `json:"id"`
	URL string `json:"url"`
	// Delivered counts messages the destination accepted.
	Delivered int64 `json:"delivered"`
	// Dropped counts messages lost to buffer overflow, failed batches and
	// filters' errors.
	Dropped int64 `json:"dropped"`
	// Retries counts redelivery attempts.
	Retries int64 `json:"retries"`
	// Buffered is how many messages wait in the drain's buffer.
	Buffered    int       `json:"buffered"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

type drain struct {
	id, url, app string
	impl         core.LogDrain
	filters      []core.LogFilter
	cfg          *Config

	mu           sync.Mutex
	buf          []core.LogMessage
	head, n      int
	dropped      int // since the last L10 line
	droppedSince time.Time
	st           DrainStatus
	notify       chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// AddDrain adds a drain for rawURL to app and starts delivering the app's
// new messages to it. It returns an error wrapping core.ErrInvalid for a
// malformed URL or one no factory serves, core.ErrAlreadyExists when the app
// already drains to rawURL, and core.ErrConflict when the app already has
// the most drains allowed (6 by default).
func (l *Logplex) AddDrain(ctx context.Context, app, rawURL string, opts DrainOptions) (DrainStatus, error) {
	if err := checkApp(app); err != nil {
		return DrainStatus{}, err
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return DrainStatus{}, fmt.Errorf("drain URL %q: want scheme://host[:port][/path]: %w", rawURL, core.ErrInvalid)
	}
	if l.cfg.Drains == nil {
		return DrainStatus{}, fmt.Errorf("logplex: no drain factory configured: %w", core.ErrUnsupported)
	}
	c := l.channel(app)
	if c == nil {
		return DrainStatus{}, fmt.Errorf("logplex: closed: %w", core.ErrUnavailable)
	}
	if err := c.checkDrainSlot(rawURL, l.cfg.MaxDrains); err != nil {
		return DrainStatus{}, err
	}
	impl, err := l.cfg.Drains.NewDrain(ctx, u)
	if err != nil {
		return DrainStatus{}, fmt.Errorf("drain %q for app %s: %w", u.Redacted(), app, err)
	}
	id := opts.ID
	if id == "" {
		id = "d." + newUUID()
	}
	dctx, cancel := context.WithCancel(context.Background())
	d := &drain{
		id: id, url: rawURL, app: app, impl: impl, filters: opts.Filters, cfg: &l.cfg,
		buf: make([]core.LogMessage, l.cfg.DrainBuffer), notify: make(chan struct{}, 1),
		cancel: cancel, done: make(chan struct{}),
	}
	d.st.ID, d.st.URL = d.id, rawURL
	c.mu.Lock()
	if err := c.checkDrainSlotLocked(rawURL, l.cfg.MaxDrains); err != nil {
		c.mu.Unlock()
		cancel()
		closeDrain(impl)
		return DrainStatus{}, err
	}
	c.drains = append(c.drains, d)
	c.mu.Unlock()
	go d.run(dctx)
	return d.status(), nil
}

func (c *channel) checkDrainSlot(rawURL string, max int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checkDrainSlotLocked(rawURL, max)
}

func (c *channel) checkDrainSlotLocked(rawURL string, max int) error {
	for _, d := range c.drains {
		if d.url == rawURL {
			return fmt.Errorf("app %s already drains to %q (%s): %w", c.app, rawURL, d.id, core.ErrAlreadyExists)
		}
	}
	if len(c.drains) >= max {
		return fmt.Errorf("app %s already has %d drains, the most allowed; remove one first: %w", c.app, len(c.drains), core.ErrConflict)
	}
	return nil
}

// RemoveDrain stops and removes app's drain with the given id ("d.<uuid>")
// or URL; buffered messages are discarded. It returns an error wrapping
// core.ErrNotFound when there is no such drain.
func (l *Logplex) RemoveDrain(app, idOrURL string) error {
	c := l.lookup(app)
	var d *drain
	if c != nil {
		c.mu.Lock()
		for i, x := range c.drains {
			if x.id == idOrURL || x.url == idOrURL {
				d = x
				c.drains = append(c.drains[:i:i], c.drains[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
	}
	if d == nil {
		return fmt.Errorf("app %s has no drain %q: %w", app, idOrURL, core.ErrNotFound)
	}
	d.stop()
	return nil
}

// Drains returns the status of app's drains, in the order they were added.
func (l *Logplex) Drains(app string) []DrainStatus {
	c := l.lookup(app)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	ds := append([]*drain(nil), c.drains...)
	c.mu.Unlock()
	out := make([]DrainStatus, len(ds))
	for i, d := range ds {
		out[i] = d.status()
	}
	return out
}

func (d *drain) status() DrainStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.st
	s.Buffered = d.n
	return s
}

// offer is called with the channel locked; it never blocks. A full buffer
// drops its oldest message.
func (d *drain) offer(m *core.LogMessage) {
	d.mu.Lock()
	if d.n == len(d.buf) {
		if d.dropped == 0 {
			d.droppedSince = d.buf[d.head].Time
		}
		d.dropped++
		d.st.Dropped++
		d.buf[d.head] = *m
		d.head = (d.head + 1) % len(d.buf)
	} else {
		d.buf[(d.head+d.n)%len(d.buf)] = *m
		d.n++
	}
	d.mu.Unlock()
}

// wake signals the delivery worker; called after offers.
func (d *drain) wake() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// take moves up to max messages into dst, preceded by an L10 line when
// messages were dropped since the last one.
func (d *drain) take(dst []core.LogMessage, max int) []core.LogMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dropped > 0 {
		dst = append(dst, core.LogMessage{
			Time: d.cfg.Now(), Priority: 190, Host: d.cfg.Host, App: "heroku", ProcID: "logplex",
			Text: "Error L10 (output buffer overflow): " + strconv.Itoa(d.dropped) +
				" messages dropped since " + string(syslog.AppendTimestamp(nil, d.droppedSince)) + ".",
		})
		d.dropped = 0
	}
	for d.n > 0 && len(dst) < max {
		dst = append(dst, d.buf[d.head])
		d.buf[d.head] = core.LogMessage{}
		d.head = (d.head + 1) % len(d.buf)
		d.n--
	}
	return dst
}

func (d *drain) run(ctx context.Context) {
	defer close(d.done)
	var msgs []core.LogMessage
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.notify:
		}
		for ctx.Err() == nil {
			msgs = d.take(msgs[:0], d.cfg.DrainBatch)
			if len(msgs) == 0 {
				break
			}
			d.deliver(ctx, msgs)
		}
	}
}

func (d *drain) deliver(ctx context.Context, msgs []core.LogMessage) {
	n := len(msgs)
	for _, f := range d.filters {
		out, err := f.Filter(ctx, msgs)
		if err != nil {
			d.fail(int64(n), fmt.Errorf("filter: %w", err))
			return
		}
		msgs = out
	}
	if len(msgs) == 0 {
		return
	}
	batch := core.DrainBatch{DrainID: d.id, URL: d.url, AppName: d.app, FrameID: newUUID(), Messages: msgs}
	p := d.cfg.Retry
	wait := p.Min
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, p.Timeout)
		res, err := d.impl.Deliver(actx, batch)
		cancel()
		if err == nil {
			accepted := len(msgs) // a drain that reports no count accepted all
			if res.Accepted > 0 && res.Accepted < accepted {
				accepted = res.Accepted
			}
			d.mu.Lock()
			d.st.Delivered += int64(accepted)
			d.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, core.ErrInvalid) || attempt >= p.Attempts {
			d.fail(int64(len(msgs)), fmt.Errorf("batch %s dropped after %d attempt(s): %w", batch.FrameID, attempt, err))
			return
		}
		d.mu.Lock()
		d.st.Retries++
		d.st.LastError, d.st.LastErrorAt = err.Error(), d.cfg.Now()
		d.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, p.Max)
	}
}

func (d *drain) fail(lost int64, err error) {
	d.mu.Lock()
	d.st.Dropped += lost
	d.st.LastError, d.st.LastErrorAt = err.Error(), d.cfg.Now()
	d.mu.Unlock()
}

func (d *drain) stop() {
	d.cancel()
	<-d.done
	closeDrain(d.impl)
}

func closeDrain(impl core.LogDrain) {
	if c, ok := impl.(io.Closer); ok {
		_ = c.Close()
	}
}
