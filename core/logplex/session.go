package logplex

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// DefaultSessionTTL is how long a log-session URL may be opened (360 s).
const DefaultSessionTTL = 360 * time.Second

// SessionConfig configures [Sessions].
type SessionConfig struct {
	// Key signs session tokens (HMAC-SHA256); at least 32 bytes. Keep it
	// secret and stable across restarts if URLs must survive them.
	Key []byte
	// BaseURL is where the Sessions handler is mounted, without the
	// trailing "/log-sessions/…", e.g. "https://paasd.example.com".
	BaseURL string
	// TTL is how long a minted URL may be opened; 0 means 360 s. A tail
	// opened in time streams until the client goes away.
	TTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Sessions mints signed log-session URLs and serves them (http.Handler for
// "…/log-sessions/<token>").
type Sessions struct {
	lp  *Logplex
	cfg SessionConfig
}

// NewSessions returns Sessions serving lp's logs. It returns an error
// wrapping core.ErrInvalid when the key is shorter than 32 bytes.
func NewSessions(lp *Logplex, cfg SessionConfig) (*Sessions, error) {
	if len(cfg.Key) < 32 {
		return nil, fmt.Errorf("log sessions: key of %d bytes, want at least 32: %w", len(cfg.Key), core.ErrInvalid)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	return &Sessions{lp: lp, cfg: cfg}, nil
}

// SessionRequest is what a log session shows; the fields are the Platform
// API's log-session create parameters.
type SessionRequest struct {
	App string `json:"app"`
	// Dyno filters by process: "web.1", "web", "router".
	Dyno string `json:"dyno,omitempty"`
	// Source filters by source: "app" or "heroku".
	Source string `json:"source,omitempty"`
	// Lines is how many recent lines to show first; 0 means 100, at most
	// the buffer size (1,500).
	Lines int `json:"lines,omitempty"`
	// Tail keeps the stream open with new lines.
	Tail bool `json:"tail,omitempty"`
}

// Session is a minted log session.
type Session struct {
	// ID is the session's id (a UUID).
	ID string `json:"id"`
	// LogplexURL is the signed URL to GET, as in the Platform API's
	// log-session "logplex_url".
	LogplexURL string    `json:"logplex_url"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

type sessionClaims struct {
	ID string `json:"id"`
	SessionRequest
	Exp int64 `json:"exp"`
}

// Create mints a session URL for req. It returns an error wrapping
// core.ErrInvalid for an empty app, negative lines or an unknown source.
func (s *Sessions) Create(req SessionRequest) (Session, error) {
	if err := checkApp(req.App); err != nil {
		return Session{}, err
	}
	if req.Lines < 0 {
		return Session{}, fmt.Errorf("log session: lines %d is negative: %w", req.Lines, core.ErrInvalid)
	}
	if req.Source != "" && req.Source != "app" && req.Source != "heroku" {
		return Session{}, fmt.Errorf("log session: source %q: want app or heroku: %w", req.Source, core.ErrInvalid)
	}
	now := s.cfg.Now()
	c := sessionClaims{ID: newUUID(), SessionRequest: req, Exp: now.Add(s.cfg.TTL).Unix()}
	payload, err := json.Marshal(c)
	if err != nil {
		return Session{}, fmt.Errorf("log session: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.sign(payload))
	return Session{ID: c.ID, LogplexURL: s.cfg.BaseURL + "/log-sessions/" + tok, CreatedAt: now, ExpiresAt: time.Unix(c.Exp, 0).UTC()}, nil
}

func (s *Sessions) sign(payload []byte) []byte {
	h := hmac.New(sha256.New, s.cfg.Key)
	h.Write([]byte("paasd-log-session\x00"))
	h.Write(payload)
	return h.Sum(nil)
}

var errSessionExpired = errors.New("log session expired")

// verify returns the claims of a well-signed, unexpired token.
func (s *Sessions) verify(tok string) (sessionClaims, error) {
	var c sessionClaims
	p, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return c, fmt.Errorf("log session token: malformed: %w", core.ErrPermissionDenied)
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.sign(payload)) {
		return c, fmt.Errorf("log session token: bad signature: %w", core.ErrPermissionDenied)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, fmt.Errorf("log session token: %w: %w", err, core.ErrPermissionDenied)
	}
	if s.cfg.Now().Unix() > c.Exp {
		return c, fmt.Errorf("log session %s: %w: %w", c.ID, errSessionExpired, core.ErrGone)
	}
	return c, nil
}

// ServeHTTP serves GET …/log-sessions/<token>: the session's recent lines in
// the `heroku logs` format, one per line, then — for a tail — new lines as
// they come until the client goes away. The query parameters num, tail, ps
// and source override the session's lines, tail, dyno and source. It answers
// 403 for a forged token and 410 for an expired one.
func (s *Sessions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	i := strings.LastIndex(r.URL.Path, "/log-sessions/")
	if i < 0 {
		http.NotFound(w, r)
		return
	}
	c, err := s.verify(r.URL.Path[i+len("/log-sessions/"):])
	switch {
	case errors.Is(err, core.ErrGone):
		http.Error(w, "log session expired; create a new one", http.StatusGone)
		return
	case err != nil:
		http.Error(w, "invalid log session", http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	if v := q.Get("num"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("num %q: want a non-negative integer", v), http.StatusBadRequest)
			return
		}
		c.Lines = n
	}
	if v := q.Get("tail"); v != "" {
		c.Tail = v == "1" || v == "true"
	}
	if q.Has("ps") {
		c.Dyno = q.Get("ps")
	}
	if q.Has("source") {
		c.Source = q.Get("source")
	}
	lines := c.Lines
	if lines <= 0 {
		lines = DefaultRecent
	}
	// EventSource clients (the Heroku CLI) ask for text/event-stream and
	// get one "data:" event per line; everyone else gets plain lines.
	appendLine := AppendLogLine
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		appendLine = appendEvent
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	f := Filter{Source: c.Source, Ps: c.Dyno}
	if !c.Tail {
		var buf []byte
		for _, m := range s.lp.Recent(c.App, lines, f) {
			buf = appendLine(buf, &m)
		}
		_, _ = w.Write(buf)
		return
	}
	t, err := s.lp.Tail(c.App, TailOptions{Filter: f, Backlog: lines})
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer t.Close()
	fl, _ := w.(http.Flusher)
	w.WriteHeader(http.StatusOK)
	if fl != nil {
		fl.Flush()
	}
	s.stream(r.Context(), w, fl, t, appendLine)
}

func (s *Sessions) stream(ctx context.Context, w http.ResponseWriter, fl http.Flusher, t *Tail, appendLine func([]byte, *core.LogMessage) []byte) {
	var msgs []core.LogMessage
	var buf []byte
	for {
		var err error
		msgs, err = t.Next(ctx, msgs)
		if err != nil {
			return
		}
		buf = buf[:0]
		for i := range msgs {
			buf = appendLine(buf, &msgs[i])
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// appendEvent appends m as one Server-Sent Event whose data is the
// `heroku logs` line. A line holding newlines becomes several data fields.
func appendEvent(dst []byte, m *core.LogMessage) []byte {
	line := AppendLogLine(nil, m)
	line = line[:len(line)-1]
	for _, part := range strings.Split(string(line), "\n") {
		dst = append(dst, "data: "...)
		dst = append(dst, strings.TrimSuffix(part, "\r")...)
		dst = append(dst, '\n')
	}
	return append(dst, '\n')
}

// AppendLogLine appends m in the `heroku logs` format with a newline:
//
//	2026-11-22T01:02:03.123456+00:00 app[web.1]: text
func AppendLogLine(dst []byte, m *core.LogMessage) []byte {
	dst = syslog.AppendTimestamp(dst, m.Time)
	dst = append(dst, ' ')
	dst = append(dst, m.App...)
	dst = append(dst, '[')
	dst = append(dst, m.ProcID...)
	dst = append(dst, "]: "...)
	dst = append(dst, m.Text...)
	return append(dst, '\n')
}
