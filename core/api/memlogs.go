package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/paasd/paasd/core"
)

// MemoryLogs is a stand-alone [APILogger] and [LogSessions]: it keeps the
// last RecentLines heroku[api] lines of each app in memory and serves log
// sessions from them, so that "heroku logs" works on a paasd without
// Logplex. Logplex replaces it. Mount it (it is an http.Handler for
// GET /log-sessions/{id}, without authentication: the session id is the
// credential, as with Logplex) and set BaseURL to where it is reachable.
//
// # Notes
//
// Sessions are Server-Sent Events, the format the Heroku CLI (11.x) reads
// logplex_url with: one "data:" event per log line. Without tail the
// stream ends after the recent lines; with tail it stays open and carries
// new lines. A session expires unused after 360 s, as in Logplex.
type MemoryLogs struct {
	// BaseURL is the scheme and host log session URLs start with
	// ("http://127.0.0.1:5000").
	BaseURL string
	// Next, if set, also receives every line (the daemon's slog logger).
	Next APILogger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	lines    map[string][]string // app id → formatted lines
	subs     map[string]map[chan string]struct{}
	sessions map[string]memSession
}

type memSession struct {
	appID   string
	req     LogSessionRequest
	expires time.Time
}

// RecentLines is how many lines MemoryLogs keeps per app (Logplex's 1,500).
const RecentLines = 1500

// sessionTTL is how long an unused log session URL stays valid.
const sessionTTL = 360 * time.Second

var (
	_ APILogger    = (*MemoryLogs)(nil)
	_ LogSessions  = (*MemoryLogs)(nil)
	_ http.Handler = (*MemoryLogs)(nil)
)

func (m *MemoryLogs) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// LogAPI implements APILogger.
func (m *MemoryLogs) LogAPI(ctx context.Context, app core.App, line string) {
	if m.Next != nil {
		m.Next.LogAPI(ctx, app, line)
	}
	formatted := fmt.Sprintf("%s heroku[api]: %s", m.now().UTC().Format("2006-01-02T15:04:05.000000-07:00"), line)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lines == nil {
		m.lines = map[string][]string{}
	}
	ls := append(m.lines[app.ID], formatted)
	if len(ls) > RecentLines {
		ls = ls[len(ls)-RecentLines:]
	}
	m.lines[app.ID] = ls
	for ch := range m.subs[app.ID] {
		select {
		case ch <- formatted:
		default: // a slow reader drops lines rather than block the API
		}
	}
}

// NewLogSession implements LogSessions.
func (m *MemoryLogs) NewLogSession(_ context.Context, app core.App, req LogSessionRequest) (string, error) {
	if m.BaseURL == "" {
		return "", fmt.Errorf("in-memory log sessions have no base URL: %w", core.ErrUnavailable)
	}
	id := uuid.NewString()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions == nil {
		m.sessions = map[string]memSession{}
	}
	now := m.now()
	for k, s := range m.sessions {
		if now.After(s.expires) {
			delete(m.sessions, k)
		}
	}
	m.sessions[id] = memSession{appID: app.ID, req: req, expires: now.Add(sessionTTL)}
	return strings.TrimSuffix(m.BaseURL, "/") + "/log-sessions/" + id, nil
}

// matches reports whether a formatted heroku[api] line passes the
// session's source and dyno filters.
func (s memSession) matches() bool {
	if s.req.Source == "app" {
		return false
	}
	return s.req.Dyno == "" || s.req.Dyno == "api"
}

// ServeHTTP serves GET /log-sessions/{id} as Server-Sent Events.
func (m *MemoryLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/log-sessions/")
	m.mu.Lock()
	s, ok := m.sessions[id]
	if ok {
		delete(m.sessions, id) // one use, like Logplex
	}
	var recent []string
	var ch chan string
	if ok && s.matches() {
		recent = append(recent, m.lines[s.appID]...)
		if s.req.Lines > 0 && len(recent) > s.req.Lines {
			recent = recent[len(recent)-s.req.Lines:]
		} else if s.req.Lines == 0 && len(recent) > 100 {
			recent = recent[len(recent)-100:] // Heroku's default
		}
	}
	if ok && s.req.Tail {
		ch = make(chan string, 256)
		if m.subs == nil {
			m.subs = map[string]map[chan string]struct{}{}
		}
		if m.subs[s.appID] == nil {
			m.subs[s.appID] = map[chan string]struct{}{}
		}
		m.subs[s.appID][ch] = struct{}{}
	}
	m.mu.Unlock()
	if !ok || m.now().After(s.expires) {
		http.Error(w, "log session not found or expired", http.StatusNotFound)
		return
	}
	if ch != nil {
		defer func() {
			m.mu.Lock()
			delete(m.subs[s.appID], ch)
			m.mu.Unlock()
		}()
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	for _, l := range recent {
		fmt.Fprintf(w, "data: %s\n\n", l)
	}
	flush()
	if ch == nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case l := <-ch:
			if s.matches() {
				fmt.Fprintf(w, "data: %s\n\n", l)
				flush()
			}
		}
	}
}
