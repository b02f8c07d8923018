package router

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paasd/paasd/core"
)

// entry is what one request leaves for its log line.
type entry struct {
	code      *hcode
	method    []byte
	path      []byte
	host      []byte
	requestID []byte
	fwd       []byte
	dyno      string
	connect   time.Duration // <0: not reached
	service   time.Duration // <0: not reached
	status    int
	bytes     int64
	protocol  string
	// detail, if set, is appended as error="…" (e.g. why a middleware failed).
	detail string
}

// appendLogLine renders e in Heroku's router log format:
//
//	at=info method=GET path="/" host=app.localhost request_id=… fwd="127.0.0.1" dyno=web.1 connect=0ms service=2ms status=200 bytes=123 protocol=http
//
// Error lines start with at=error code=H12 desc="Request timeout".
func appendLogLine(b []byte, e *entry) []byte {
	if e.code != nil && e.code.Code != "" {
		b = append(b, "at=error code="...)
		b = append(b, e.code.Code...)
		b = append(b, " desc="...)
		b = appendQuoted(b, []byte(e.code.Desc))
		b = append(b, ' ')
	} else {
		b = append(b, "at=info "...)
	}
	b = append(b, "method="...)
	b = appendBare(b, e.method)
	b = append(b, " path="...)
	b = appendQuoted(b, e.path)
	b = append(b, " host="...)
	b = appendBare(b, e.host)
	b = append(b, " request_id="...)
	b = appendBare(b, e.requestID)
	b = append(b, " fwd="...)
	b = appendQuoted(b, e.fwd)
	b = append(b, " dyno="...)
	b = append(b, e.dyno...)
	b = append(b, " connect="...)
	if e.connect >= 0 {
		b = strconv.AppendInt(b, e.connect.Milliseconds(), 10)
		b = append(b, "ms"...)
	}
	b = append(b, " service="...)
	if e.service >= 0 {
		b = strconv.AppendInt(b, e.service.Milliseconds(), 10)
		b = append(b, "ms"...)
	}
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, e.bytes, 10)
	b = append(b, " protocol="...)
	b = append(b, e.protocol...)
	if e.detail != "" {
		b = append(b, " error="...)
		b = appendQuoted(b, []byte(e.detail))
	}
	return b
}

// appendQuoted appends v in double quotes, escaping quotes, backslashes and
// control characters.
func appendQuoted(b, v []byte) []byte {
	b = append(b, '"')
	for _, c := range v {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < ' ' || c == 0x7f:
			b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendBare appends v with spaces, quotes and control characters replaced
// by '_' so that a hostile value cannot forge key=value pairs.
func appendBare(b, v []byte) []byte {
	for _, c := range v {
		if c <= ' ' || c == '"' || c == 0x7f {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// logEvent is one line on its way to subscribers.
type logEvent struct {
	app string
	msg core.LogMessage
}

// logBus fans router lines out to Logs subscribers and the OnLog callback
// without ever blocking a request: lines go through a bounded channel and
// are counted and dropped when it is full.
type logBus struct {
	ch       chan logEvent
	onLog    func(app string, msg core.LogMessage)
	mu       sync.Mutex
	subs     map[int]chan logEvent
	nextID   int
	subCount atomic.Int64
	dropped  atomic.Int64
	bufPool  sync.Pool
}

func newLogBus(size int, onLog func(string, core.LogMessage)) *logBus {
	if size <= 0 {
		size = 4096
	}
	return &logBus{ch: make(chan logEvent, size), onLog: onLog, subs: map[int]chan logEvent{},
		bufPool: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
}

// wanted reports whether anyone consumes lines; when nobody does, requests
// skip rendering them.
func (l *logBus) wanted() bool {
	return l.onLog != nil || l.subCount.Load() > 0
}

// emit renders and queues e's line for app.
func (l *logBus) emit(app string, e *entry) {
	if !l.wanted() {
		return
	}
	bp := l.bufPool.Get().(*[]byte)
	b := appendLogLine((*bp)[:0], e)
	text := string(b)
	*bp = b
	l.bufPool.Put(bp)
	select {
	case l.ch <- logEvent{app: app, msg: core.LogMessage{Time: time.Now(), Priority: 190, Host: "host", App: "heroku", ProcID: "router", Text: text}}:
	default:
		l.dropped.Add(1)
	}
}

// run delivers queued lines until ctx ends.
func (l *logBus) run(ctx context.Context) {
	var reported int64
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-l.ch:
			if d := l.dropped.Load(); d > reported {
				l.deliver(logEvent{app: ev.app, msg: core.LogMessage{Time: time.Now(), Priority: 190, Host: "host", App: "heroku", ProcID: "router",
					Text: "Error L12 (router log buffer overflow): " + strconv.FormatInt(d-reported, 10) + " lines dropped"}})
				reported = d
			}
			l.deliver(ev)
		}
	}
}

func (l *logBus) deliver(ev logEvent) {
	if l.onLog != nil {
		l.onLog(ev.app, ev.msg)
	}
	l.mu.Lock()
	for _, s := range l.subs {
		select {
		case s <- ev:
		default:
			l.dropped.Add(1)
		}
	}
	l.mu.Unlock()
}

// subscribe streams lines to fn until ctx ends or fn fails.
func (l *logBus) subscribe(ctx context.Context, fn func(app string, msg core.LogMessage) error) error {
	ch := make(chan logEvent, 1024)
	l.mu.Lock()
	id := l.nextID
	l.nextID++
	l.subs[id] = ch
	l.subCount.Add(1)
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.subs, id)
		l.subCount.Add(-1)
		l.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-ch:
			if err := fn(ev.app, ev.msg); err != nil {
				return err
			}
		}
	}
}
