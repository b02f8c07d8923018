// Package logplex collates an app's logs — dyno output, router lines, the
// platform's own heroku[…] lines — into one ordered stream per app, keeps
// the most recent lines in a ring buffer, serves live tails, and forwards the
// stream to the app's log drains.
//
// A [Logplex] holds one channel per app. Writers never wait for readers: a
// live tail ([Tail]) and a drain each have a bounded buffer, and a reader
// that falls behind loses lines (counted, and reported in-stream with
// Heroku's L11 and L10 error lines) instead of slowing the app down.
//
// Drains are core.LogDrain implementations made per drain URL by a
// [DrainFactory] (see [Schemes] to dispatch on the URL scheme), optionally
// behind a chain of core.LogFilter stages. Delivery is retried with backoff
// keeping the batch's FrameID, so receivers can drop duplicates.
//
// [Sessions] mints short-lived signed log-session URLs and serves them in
// the `heroku logs` format.
//
// # Notes
//
// Order: messages are appended to an app's stream in arrival order, under
// the channel's lock; a message with a zero Time is stamped on arrival, so
// the stream is time-ordered for every writer that leaves Time zero (dyno
// output through [Logplex.Dyno] and [Logplex.WriteLine] do).
//
// There is no global state: every Logplex is independent.
package logplex

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/paasd/paasd/core"
)

// Heroku's defaults.
const (
	// DefaultBufferLines is the per-app recent-lines buffer (1,500 lines).
	DefaultBufferLines = 1500
	// DefaultMaxLineBytes is where dyno lines are split into chunks.
	DefaultMaxLineBytes = 10000
	// DefaultMaxDrains is the most drains an app may have.
	DefaultMaxDrains = 6
	// DefaultDrainBuffer is each drain's buffer, in messages.
	DefaultDrainBuffer = 1024
	// DefaultTailBuffer is each live tail's buffer, in messages.
	DefaultTailBuffer = 1024
	// DefaultDrainBatch is the most messages handed to a drain in one batch.
	DefaultDrainBatch = 500
	// DefaultRecent is how many lines Recent and log sessions return when
	// the caller asks for none (`heroku logs` shows 100).
	DefaultRecent = 100
)

// Config configures a Logplex. The zero value of every field is its
// documented default.
type Config struct {
	// BufferLines is the number of recent lines kept per app; 0 means 1,500.
	BufferLines int
	// MaxLineBytes is the length at which a line's text is split into
	// several messages; 0 means 10,000 bytes.
	MaxLineBytes int
	// MaxDrains is the most drains per app; 0 means 6.
	MaxDrains int
	// DrainBuffer is each drain's buffer in messages; 0 means 1,024.
	DrainBuffer int
	// DrainBatch is the most messages per delivered batch; 0 means 500.
	DrainBatch int
	// TailBuffer is a live tail's default buffer in messages; 0 means 1,024.
	TailBuffer int
	// Host is the RFC 5424 HOSTNAME stamped on messages that have none;
	// "" means "host", as Heroku sends.
	Host string
	// Drains makes the LogDrain for a drain URL; nil means AddDrain fails
	// with core.ErrUnsupported.
	Drains DrainFactory
	// Retry is the drain redelivery policy; the zero value is documented on
	// RetryPolicy.
	Retry RetryPolicy
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.BufferLines, DefaultBufferLines)
	def(&c.MaxLineBytes, DefaultMaxLineBytes)
	def(&c.MaxDrains, DefaultMaxDrains)
	def(&c.DrainBuffer, DefaultDrainBuffer)
	def(&c.DrainBatch, DefaultDrainBatch)
	def(&c.TailBuffer, DefaultTailBuffer)
	if c.Host == "" {
		c.Host = "host"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Retry.setDefaults()
}

// Logplex routes log messages per app. Create one with [New]; it is safe for
// concurrent use. Close stops its drains and ends its tails.
type Logplex struct {
	cfg Config

	mu     sync.RWMutex
	apps   map[string]*channel
	tokens map[string]tokenOwner
	closed bool
}

type tokenOwner struct{ app, name string }

// New returns a Logplex configured by cfg.
func New(cfg Config) *Logplex {
	cfg.setDefaults()
	return &Logplex{cfg: cfg, apps: map[string]*channel{}, tokens: map[string]tokenOwner{}}
}

// channel is one app's stream.
type channel struct {
	app string

	mu     sync.Mutex
	ring   []core.LogMessage
	head   int // index of the oldest message
	n      int
	tails  []*Tail
	drains []*drain
	tokens map[string]string // source name -> token
}

func (c *channel) push(m core.LogMessage) {
	if c.n < len(c.ring) {
		c.ring[(c.head+c.n)%len(c.ring)] = m
		c.n++
		return
	}
	c.ring[c.head] = m
	c.head = (c.head + 1) % len(c.ring)
}

// at returns the i-th oldest buffered message.
func (c *channel) at(i int) *core.LogMessage { return &c.ring[(c.head+i)%len(c.ring)] }

// channel returns app's channel, creating it; nil after Close.
func (l *Logplex) channel(app string) *channel {
	l.mu.RLock()
	c := l.apps[app]
	l.mu.RUnlock()
	if c != nil {
		return c
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if c = l.apps[app]; c == nil {
		c = &channel{app: app, ring: make([]core.LogMessage, l.cfg.BufferLines), tokens: map[string]string{}}
		l.apps[app] = c
	}
	return c
}

func (l *Logplex) lookup(app string) *channel {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.apps[app]
}

func checkApp(app string) error {
	if app == "" {
		return fmt.Errorf("logplex: empty app name: %w", core.ErrInvalid)
	}
	return nil
}

// Write appends m to app's stream: the recent buffer, every live tail and
// every drain. A zero m.Time is stamped now, an empty m.Host becomes the
// configured host, and a text longer than MaxLineBytes is split into
// several messages at UTF-8 boundaries. Write never blocks on readers.
// It returns an error wrapping core.ErrInvalid for an empty app name and
// core.ErrUnavailable after Close.
func (l *Logplex) Write(app string, m core.LogMessage) error {
	if err := checkApp(app); err != nil {
		return err
	}
	c := l.channel(app)
	if c == nil {
		return fmt.Errorf("logplex: closed: %w", core.ErrUnavailable)
	}
	var one [1]core.LogMessage
	l.appendMany(c, l.split(one[:0], m))
	return nil
}

// split appends m to dst, as several messages when its text is longer than
// MaxLineBytes (cut at UTF-8 boundaries), with the default host filled in.
func (l *Logplex) split(dst []core.LogMessage, m core.LogMessage) []core.LogMessage {
	if m.Host == "" {
		m.Host = l.cfg.Host
	}
	if len(m.Text) <= l.cfg.MaxLineBytes {
		return append(dst, m)
	}
	text := m.Text
	for len(text) > 0 {
		cut := min(len(text), l.cfg.MaxLineBytes)
		if cut < len(text) {
			for cut > 0 && !utf8.RuneStart(text[cut]) {
				cut--
			}
			if cut == 0 {
				cut = l.cfg.MaxLineBytes
			}
		}
		m.Text = text[:cut]
		dst = append(dst, m)
		text = text[cut:]
	}
	return dst
}

// appendMany appends msgs to c's stream under one lock; messages with a
// zero Time share one arrival stamp.
func (l *Logplex) appendMany(c *channel, msgs []core.LogMessage) {
	if len(msgs) == 0 {
		return
	}
	c.mu.Lock()
	var now time.Time
	for i := range msgs {
		m := &msgs[i]
		if m.Time.IsZero() {
			if now.IsZero() {
				now = l.cfg.Now()
			}
			m.Time = now
		}
		c.push(*m)
		for _, t := range c.tails {
			if t.filter.Match(m) {
				t.offer(m)
			}
		}
		for _, d := range c.drains {
			d.offer(m)
		}
	}
	for _, t := range c.tails {
		t.wake()
	}
	for _, d := range c.drains {
		d.wake()
	}
	c.mu.Unlock()
}

// WriteLine writes one line from source ("app" for dyno output, "heroku" for
// the platform) and process ps ("web.1", "router", "api", …) with
// Logplex's priority 190 (local7.info), stamped now.
func (l *Logplex) WriteLine(app, source, ps, text string) error {
	return l.Write(app, core.LogMessage{Priority: 190, App: source, ProcID: ps, Text: text})
}

// Router writes a router line, heroku[router].
func (l *Logplex) Router(app, text string) error { return l.WriteLine(app, "heroku", "router", text) }

// API writes a platform API line, app[api] (e.g. "Release v3 created by user@example.com").
func (l *Logplex) API(app, text string) error { return l.WriteLine(app, "app", "api", text) }

// State writes a dyno manager line about dyno ps, heroku[web.1]
// (e.g. "State changed from starting to up").
func (l *Logplex) State(app, ps, text string) error { return l.WriteLine(app, "heroku", ps, text) }

// Dyno returns a writer for the output of dyno ps of app: every line written
// to it becomes one app[ps] message (without its newline; a trailing "\r" is
// dropped too). A partial last line is kept until its newline or Close. A
// DynoWriter is not safe for concurrent use; give each stream its own.
func (l *Logplex) Dyno(app, ps string) *DynoWriter {
	return &DynoWriter{l: l, app: app, ps: ps}
}

// DynoWriter turns a dyno's output stream into log lines; see [Logplex.Dyno].
type DynoWriter struct {
	l       *Logplex
	app, ps string
	partial []byte
	batch   []core.LogMessage
}

// Write splits p into lines and writes the complete ones to Logplex under
// one lock and one arrival stamp; the lines of one Write share one string
// allocation.
func (w *DynoWriter) Write(p []byte) (int, error) {
	if err := checkApp(w.app); err != nil {
		return 0, err
	}
	last := bytes.LastIndexByte(p, '\n')
	if last < 0 {
		w.partial = append(w.partial, p...)
		if len(w.partial) >= w.l.cfg.MaxLineBytes {
			return len(p), w.flush()
		}
		return len(p), nil
	}
	var s string
	if len(w.partial) > 0 {
		w.partial = append(w.partial, p[:last+1]...)
		s = string(w.partial)
		w.partial = w.partial[:0]
	} else {
		s = string(p[:last+1])
	}
	w.partial = append(w.partial, p[last+1:]...)
	batch := w.batch[:0]
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s[:i]
		s = s[i+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		batch = w.l.split(batch, core.LogMessage{Priority: 190, App: "app", ProcID: w.ps, Text: line})
	}
	c := w.l.channel(w.app)
	if c == nil {
		return 0, fmt.Errorf("logplex: closed: %w", core.ErrUnavailable)
	}
	w.l.appendMany(c, batch)
	clear(batch)
	w.batch = batch[:0]
	return len(p), nil
}

func (w *DynoWriter) flush() error {
	if len(w.partial) == 0 {
		return nil
	}
	line := string(w.partial)
	w.partial = w.partial[:0]
	return w.l.WriteLine(w.app, "app", w.ps, line)
}

// Close writes a pending partial line.
func (w *DynoWriter) Close() error { return w.flush() }

// Filter selects messages, as `heroku logs --source --dyno` does.
type Filter struct {
	// Source matches the RFC 5424 APP-NAME: "app" or "heroku"; "" is any.
	Source string
	// Ps matches the PROCID: "web.1" exactly, "web" any web dyno (web.N) or
	// "router"; "" is any.
	Ps string
}

// Match reports whether m passes the filter.
func (f Filter) Match(m *core.LogMessage) bool {
	if f.Source != "" && m.App != f.Source {
		return false
	}
	if f.Ps == "" || m.ProcID == f.Ps {
		return true
	}
	return strings.HasPrefix(m.ProcID, f.Ps) && len(m.ProcID) > len(f.Ps) && m.ProcID[len(f.Ps)] == '.' && !strings.Contains(f.Ps, ".")
}

// Recent returns up to n of app's most recent messages that match f, oldest
// first; n <= 0 means 100. An app with no messages gives none.
func (l *Logplex) Recent(app string, n int, f Filter) []core.LogMessage {
	c := l.lookup(app)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recentLocked(n, f)
}

func (c *channel) recentLocked(n int, f Filter) []core.LogMessage {
	if n <= 0 {
		n = DefaultRecent
	}
	n = min(n, c.n)
	out := make([]core.LogMessage, 0, n)
	for i := c.n - 1; i >= 0 && len(out) < n; i-- {
		if m := c.at(i); f.Match(m) {
			out = append(out, *m)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Token returns app's input token for source name (e.g. "app", "heroku"),
// "t.<uuid>", minting it on first use. [Logplex.TokenOwner] maps it back.
func (l *Logplex) Token(app, name string) (string, error) {
	if err := checkApp(app); err != nil {
		return "", err
	}
	c := l.channel(app)
	if c == nil {
		return "", fmt.Errorf("logplex: closed: %w", core.ErrUnavailable)
	}
	c.mu.Lock()
	tok, ok := c.tokens[name]
	if !ok {
		tok = "t." + newUUID()
		c.tokens[name] = tok
	}
	c.mu.Unlock()
	if !ok {
		l.mu.Lock()
		l.tokens[tok] = tokenOwner{app, name}
		l.mu.Unlock()
	}
	return tok, nil
}

// TokenOwner returns the app and source name a token was minted for, or an
// error wrapping core.ErrNotFound.
func (l *Logplex) TokenOwner(token string) (app, name string, err error) {
	l.mu.RLock()
	o, ok := l.tokens[token]
	l.mu.RUnlock()
	if !ok {
		return "", "", fmt.Errorf("logplex: token %q: %w", token, core.ErrNotFound)
	}
	return o.app, o.name, nil
}

// RemoveApp drops app's channel: its buffer, tokens and drains (stopped);
// its live tails end.
func (l *Logplex) RemoveApp(app string) {
	l.mu.Lock()
	c := l.apps[app]
	delete(l.apps, app)
	if c != nil {
		for tok, o := range l.tokens {
			if o.app == app {
				delete(l.tokens, tok)
			}
		}
	}
	l.mu.Unlock()
	if c != nil {
		c.shutdown()
	}
}

// Close stops every drain (without waiting for buffered messages) and ends
// every tail. Writes after Close fail with core.ErrUnavailable.
func (l *Logplex) Close() error {
	l.mu.Lock()
	l.closed = true
	apps := l.apps
	l.apps = map[string]*channel{}
	l.mu.Unlock()
	for _, c := range apps {
		c.shutdown()
	}
	return nil
}

func (c *channel) shutdown() {
	c.mu.Lock()
	tails, drains := c.tails, c.drains
	c.tails, c.drains = nil, nil
	c.mu.Unlock()
	for _, t := range tails {
		t.end()
	}
	for _, d := range drains {
		d.stop()
	}
}
