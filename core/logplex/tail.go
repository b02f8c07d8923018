package logplex

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// TailOptions configures a live tail.
type TailOptions struct {
	// Filter selects the messages the tail receives.
	Filter Filter
	// Backlog is how many recent matching messages the tail starts with
	// (taken atomically with the subscription, so none is missed or
	// repeated); 0 means none.
	Backlog int
	// Buffer is the most messages held for the reader; 0 means the
	// Logplex's TailBuffer (1,024). When it is full, new messages are
	// dropped and counted, and the reader gets one Heroku L11 line.
	Buffer int
}

// Tail is a live subscription to an app's stream. Its reader never slows
// the writers: see TailOptions.Buffer. Next and Close may be called from
// different goroutines; Next from one goroutine at a time.
type Tail struct {
	filter Filter
	host   string
	now    func() time.Time

	mu           sync.Mutex
	buf          []core.LogMessage
	head, n      int
	dropped      int // since the last L11 line
	droppedSince time.Time
	totalDropped int64
	ended        bool
	notify       chan struct{}

	remove func()
}

// Tail subscribes to app's stream. The tail ends when Close is called, the
// app is removed or the Logplex is closed.
func (l *Logplex) Tail(app string, opts TailOptions) (*Tail, error) {
	if err := checkApp(app); err != nil {
		return nil, err
	}
	c := l.channel(app)
	if c == nil {
		return nil, fmt.Errorf("logplex: closed: %w", core.ErrUnavailable)
	}
	size := opts.Buffer
	if size <= 0 {
		size = l.cfg.TailBuffer
	}
	t := &Tail{filter: opts.Filter, host: l.cfg.Host, now: l.cfg.Now, notify: make(chan struct{}, 1)}
	c.mu.Lock()
	var backlog []core.LogMessage
	if opts.Backlog > 0 {
		backlog = c.recentLocked(opts.Backlog, opts.Filter)
	}
	t.buf = make([]core.LogMessage, max(size, len(backlog)))
	t.n = copy(t.buf, backlog)
	c.tails = append(c.tails, t)
	c.mu.Unlock()
	if t.n > 0 {
		t.notify <- struct{}{}
	}
	t.remove = func() {
		c.mu.Lock()
		for i, x := range c.tails {
			if x == t {
				c.tails = append(c.tails[:i:i], c.tails[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
	}
	return t, nil
}

// offer is called with the channel locked; it never blocks.
func (t *Tail) offer(m *core.LogMessage) {
	t.mu.Lock()
	if t.n == len(t.buf) {
		if t.dropped == 0 {
			t.droppedSince = m.Time
		}
		t.dropped++
		t.totalDropped++
		t.mu.Unlock()
		return
	}
	t.buf[(t.head+t.n)%len(t.buf)] = *m
	t.n++
	t.mu.Unlock()
}

// wake signals the reader; called after offers.
func (t *Tail) wake() {
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// Next appends the available messages to dst[:0] and returns it, waiting
// until there is at least one. After an overflow, the messages that were
// buffered are followed by one line
//
//	heroku[logplex]: Error L11 (Tail buffer overflow) -> This tail session dropped N messages since TIME
//
// It returns core.ErrGone (wrapped) once the tail has ended and is drained,
// and ctx's error when ctx ends first.
func (t *Tail) Next(ctx context.Context, dst []core.LogMessage) ([]core.LogMessage, error) {
	dst = dst[:0]
	for {
		t.mu.Lock()
		for t.n > 0 {
			dst = append(dst, t.buf[t.head])
			t.buf[t.head] = core.LogMessage{}
			t.head = (t.head + 1) % len(t.buf)
			t.n--
		}
		if t.dropped > 0 {
			dst = append(dst, core.LogMessage{
				Time: t.now(), Priority: 190, Host: t.host, App: "heroku", ProcID: "logplex",
				Text: "Error L11 (Tail buffer overflow) -> This tail session dropped " + strconv.Itoa(t.dropped) +
					" messages since " + string(syslog.AppendTimestamp(nil, t.droppedSince)),
			})
			t.dropped = 0
		}
		ended := t.ended
		t.mu.Unlock()
		if len(dst) > 0 {
			return dst, nil
		}
		if ended {
			return dst, fmt.Errorf("logplex: tail ended: %w", core.ErrGone)
		}
		select {
		case <-t.notify:
		case <-ctx.Done():
			return dst, ctx.Err()
		}
	}
}

// Dropped returns how many messages this tail has dropped in all.
func (t *Tail) Dropped() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.totalDropped
}

// Close unsubscribes the tail; a blocked Next returns.
func (t *Tail) Close() error {
	t.remove()
	t.end()
	return nil
}

func (t *Tail) end() {
	t.mu.Lock()
	t.ended = true
	t.mu.Unlock()
	t.wake()
}
