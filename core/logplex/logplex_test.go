package logplex

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// fakeDrain is a core.LogDrain built from a function field.
type fakeDrain struct {
	deliver func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error)
}

func (f *fakeDrain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.drain.fake", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}
func (f *fakeDrain) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (f *fakeDrain) Deliver(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	return f.deliver(ctx, b)
}

var _ core.LogDrain = (*fakeDrain)(nil)

// recorder collects delivered batches.
type recorder struct {
	mu      sync.Mutex
	batches []core.DrainBatch
	msgs    []core.LogMessage
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	r.mu.Lock()
	r.batches = append(r.batches, b)
	r.msgs = append(r.msgs, b.Messages...)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

// waitFor waits (generously) until cond holds over the messages so far.
func (r *recorder) waitFor(t *testing.T, what string, cond func(msgs []core.LogMessage) bool) []core.LogMessage {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		msgs := append([]core.LogMessage(nil), r.msgs...)
		r.mu.Unlock()
		if cond(msgs) {
			return msgs
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; have %d messages", what, len(msgs))
		}
	}
}

func factoryOf(d core.LogDrain) DrainFactory {
	return DrainFactoryFunc(func(context.Context, *url.URL) (core.LogDrain, error) { return d, nil })
}

func TestRecentAndFilter(t *testing.T) {
	lp := New(Config{BufferLines: 5})
	defer lp.Close()
	for _, w := range []struct{ source, ps, text string }{
		{"app", "web.1", "a"}, {"heroku", "router", "b"}, {"app", "web.2", "c"},
		{"heroku", "web.1", "d"}, {"app", "worker.1", "e"}, {"app", "web.10", "f"}, {"app", "api", "g"},
	} {
		if err := lp.WriteLine("myapp", w.source, w.ps, w.text); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		desc string
		n    int
		f    Filter
		want string
	}{
		{"ring keeps the last 5", 0, Filter{}, "cdefg"},
		{"n limits from the newest", 2, Filter{}, "fg"},
		{"source app", 0, Filter{Source: "app"}, "cefg"},
		{"source heroku", 0, Filter{Source: "heroku"}, "d"},
		{"ps web.1 matches app and heroku lines", 0, Filter{Ps: "web.1"}, "d"},
		{"ps web matches every web dyno", 0, Filter{Ps: "web"}, "cdf"},
		{"ps web and source app", 0, Filter{Ps: "web", Source: "app"}, "cf"},
		{"ps router", 0, Filter{Ps: "router"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var got strings.Builder
			for _, m := range lp.Recent("myapp", tc.n, tc.f) {
				got.WriteString(m.Text)
			}
			if got.String() != tc.want {
				t.Errorf("got %q, want %q", got.String(), tc.want)
			}
		})
	}
	if got := lp.Recent("nosuchapp", 10, Filter{}); len(got) != 0 {
		t.Errorf("unknown app: got %d messages", len(got))
	}
	msgs := lp.Recent("myapp", 0, Filter{})
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Time.Before(msgs[i-1].Time) {
			t.Errorf("stream not time-ordered at %d", i)
		}
	}
	if msgs[0].Host != "host" || msgs[0].Priority != 190 {
		t.Errorf("defaults not applied: %+v", msgs[0])
	}
}

func TestWriteErrors(t *testing.T) {
	lp := New(Config{})
	if err := lp.WriteLine("", "app", "web.1", "x"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("empty app: %v", err)
	}
	lp.Close()
	if err := lp.WriteLine("a", "app", "web.1", "x"); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("after close: %v", err)
	}
}

func TestLongLinesAreChunked(t *testing.T) {
	lp := New(Config{MaxLineBytes: 10})
	defer lp.Close()
	tests := []struct {
		desc, text string
		want       []string
	}{
		{"exact size is one message", "0123456789", []string{"0123456789"}},
		{"split at the limit", "0123456789abcdefghijXY", []string{"0123456789", "abcdefghij", "XY"}},
		{"never inside a UTF-8 character", "012345678é", []string{"012345678", "é"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			app := "chunk-" + tc.desc
			if err := lp.WriteLine(app, "app", "web.1", tc.text); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range lp.Recent(app, 100, Filter{}) {
				got = append(got, m.Text)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDynoWriter(t *testing.T) {
	lp := New(Config{})
	defer lp.Close()
	w := lp.Dyno("myapp", "web.1")
	for _, p := range []string{"hel", "lo\r\nwor", "ld\n\npartial"} {
		if _, err := io.WriteString(w, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range lp.Recent("myapp", 10, Filter{}) {
		if m.App != "app" || m.ProcID != "web.1" {
			t.Errorf("wrong source: %+v", m)
		}
		got = append(got, m.Text)
	}
	if want := []string{"hello", "world", "", "partial"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTailBacklogAndOverflow(t *testing.T) {
	lp := New(Config{})
	defer lp.Close()
	ctx := context.Background()
	_ = lp.WriteLine("myapp", "app", "web.1", "before")
	_ = lp.Router("myapp", "at=info path=/")
	tail, err := lp.Tail("myapp", TailOptions{Filter: Filter{Source: "app"}, Backlog: 10, Buffer: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	for i := range 6 {
		_ = lp.WriteLine("myapp", "app", "web.1", fmt.Sprint(i))
		_ = lp.Router("myapp", "filtered out")
	}
	msgs, err := tail.Next(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Text)
	}
	// The backlog (1 line) plus 2 more fill the 3-line buffer; 4 are dropped.
	if len(got) != 4 || got[0] != "before" || got[1] != "0" || got[2] != "1" ||
		!strings.HasPrefix(got[3], "Error L11 (Tail buffer overflow) -> This tail session dropped 4 messages since ") {
		t.Fatalf("got %q", got)
	}
	if msgs[3].App != "heroku" || msgs[3].ProcID != "logplex" {
		t.Errorf("L11 line from %s[%s]", msgs[3].App, msgs[3].ProcID)
	}
	if tail.Dropped() != 4 {
		t.Errorf("Dropped() = %d", tail.Dropped())
	}
	// The tail resumes after the overflow.
	_ = lp.WriteLine("myapp", "app", "web.1", "after")
	msgs, err = tail.Next(ctx, msgs)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "after" {
		t.Fatalf("after overflow: %v %+v", err, msgs)
	}
	// Close ends a blocked Next.
	go tail.Close()
	if _, err := tail.Next(ctx, msgs); !errors.Is(err, core.ErrGone) {
		t.Errorf("after Close: %v", err)
	}
}

func TestDrainDeliversInOrder(t *testing.T) {
	rec := newRecorder()
	lp := New(Config{Drains: factoryOf(&fakeDrain{deliver: rec.Deliver}), DrainBatch: 7})
	defer lp.Close()
	st, err := lp.AddDrain(context.Background(), "myapp", "syslog://logs.example.com:514", DrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.ID, "d.") || len(st.ID) != 38 {
		t.Errorf("drain id %q", st.ID)
	}
	for i := range 100 {
		_ = lp.WriteLine("myapp", "app", "web.1", fmt.Sprint(i))
	}
	msgs := rec.waitFor(t, "100 messages", func(m []core.LogMessage) bool { return len(m) >= 100 })
	for i, m := range msgs {
		if m.Text != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, m.Text)
		}
	}
	rec.mu.Lock()
	for _, b := range rec.batches {
		if len(b.Messages) > 7 || b.DrainID != st.ID || b.AppName != "myapp" || b.URL != "syslog://logs.example.com:514" || b.FrameID == "" {
			t.Errorf("bad batch: %d messages, %+v", len(b.Messages), b.DrainID)
		}
	}
	rec.mu.Unlock()
	var s DrainStatus
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if s = lp.Drains("myapp")[0]; s.Delivered == 100 {
			break
		}
	}
	if s.Delivered != 100 || s.Dropped != 0 {
		t.Errorf("status %+v", s)
	}
}

func TestDrainOverflowDropsOldestWithL10(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	rec := newRecorder()
	first := true
	drain := &fakeDrain{deliver: func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
		if first {
			first = false
			entered <- struct{}{}
			<-release
		}
		return rec.Deliver(ctx, b)
	}}
	lp := New(Config{Drains: factoryOf(drain), DrainBuffer: 10})
	defer lp.Close()
	if _, err := lp.AddDrain(context.Background(), "myapp", "https://example.com/logs", DrainOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = lp.WriteLine("myapp", "app", "web.1", "first")
	<-entered // the worker is stuck delivering "first"
	for i := range 25 {
		_ = lp.WriteLine("myapp", "app", "web.1", fmt.Sprint(i))
	}
	if s := lp.Drains("myapp")[0]; s.Dropped != 15 || s.Buffered != 10 {
		t.Errorf("status while stuck: %+v", s)
	}
	close(release)
	msgs := rec.waitFor(t, "12 messages", func(m []core.LogMessage) bool { return len(m) >= 12 })
	if msgs[0].Text != "first" {
		t.Errorf("first: %q", msgs[0].Text)
	}
	if !strings.HasPrefix(msgs[1].Text, "Error L10 (output buffer overflow): 15 messages dropped since ") || msgs[1].ProcID != "logplex" {
		t.Errorf("L10 line: %+v", msgs[1])
	}
	for i, m := range msgs[2:] {
		if want := fmt.Sprint(15 + i); m.Text != want {
			t.Errorf("message %d = %q, want %q (oldest dropped)", i, m.Text, want)
		}
	}
}

func TestDrainRetryKeepsFrameID(t *testing.T) {
	var mu sync.Mutex
	var frames []string
	rec := newRecorder()
	drain := &fakeDrain{deliver: func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
		mu.Lock()
		frames = append(frames, b.FrameID)
		n := len(frames)
		mu.Unlock()
		if n < 3 {
			return core.DeliverResult{}, fmt.Errorf("receiver said 503: %w", core.ErrUnavailable)
		}
		return rec.Deliver(ctx, b)
	}}
	lp := New(Config{Drains: factoryOf(drain), Retry: RetryPolicy{Min: time.Millisecond, Max: 2 * time.Millisecond}})
	defer lp.Close()
	if _, err := lp.AddDrain(context.Background(), "myapp", "https://example.com/logs", DrainOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = lp.WriteLine("myapp", "app", "web.1", "hello")
	rec.waitFor(t, "the message", func(m []core.LogMessage) bool { return len(m) == 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(frames) != 3 || frames[0] != frames[1] || frames[1] != frames[2] {
		t.Errorf("frame ids across retries: %q", frames)
	}
	s := lp.Drains("myapp")[0]
	if s.Retries != 2 || !strings.Contains(s.LastError, "503") {
		t.Errorf("status %+v", s)
	}
}

func TestDrainPermanentErrorDropsBatch(t *testing.T) {
	calls := 0
	var mu sync.Mutex
	done := make(chan struct{}, 10)
	drain := &fakeDrain{deliver: func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		done <- struct{}{}
		return core.DeliverResult{}, fmt.Errorf("bad certificate: %w", core.ErrInvalid)
	}}
	lp := New(Config{Drains: factoryOf(drain)})
	defer lp.Close()
	_, _ = lp.AddDrain(context.Background(), "myapp", "https://example.com/logs", DrainOptions{})
	_ = lp.WriteLine("myapp", "app", "web.1", "hello")
	<-done
	var s DrainStatus
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if s = lp.Drains("myapp")[0]; s.Dropped == 1 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 || s.Dropped != 1 || s.Retries != 0 || !strings.Contains(s.LastError, "bad certificate") {
		t.Errorf("calls %d, status %+v", calls, s)
	}
}

func TestDeadDrainBlocksNobody(t *testing.T) {
	stuck := &fakeDrain{deliver: func(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
		<-ctx.Done() // never answers
		return core.DeliverResult{}, ctx.Err()
	}}
	rec := newRecorder()
	lp := New(Config{
		Drains:      Schemes{"syslog": factoryOf(stuck), "https": factoryOf(&fakeDrain{deliver: rec.Deliver})},
		DrainBuffer: 100000,
	})
	defer lp.Close()
	ctx := context.Background()
	if _, err := lp.AddDrain(ctx, "myapp", "syslog://dead.example.com:514", DrainOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := lp.AddDrain(ctx, "myapp", "https://alive.example.com/", DrainOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	for i := range n {
		_ = lp.WriteLine("myapp", "app", "web.1", fmt.Sprint(i))
	}
	rec.waitFor(t, "every message at the live drain", func(m []core.LogMessage) bool { return len(m) == n })
}

func TestAddDrainErrors(t *testing.T) {
	lp := New(Config{Drains: Schemes{"syslog": factoryOf(&fakeDrain{deliver: newRecorder().Deliver})}})
	defer lp.Close()
	ctx := context.Background()
	for i := range 6 {
		if _, err := lp.AddDrain(ctx, "myapp", fmt.Sprintf("syslog://h:%d", 1000+i), DrainOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		desc, url string
		want      error
		sub       string
	}{
		{"seventh drain", "syslog://h:2000", core.ErrConflict, "already has 6 drains"},
		{"duplicate", "syslog://h:1000", core.ErrAlreadyExists, "already drains to"},
		{"unknown scheme", "ftp://h/", core.ErrInvalid, `unsupported scheme "ftp" (want one of syslog://)`},
		{"no host", "syslog:///x", core.ErrInvalid, "want scheme://host"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			app := "myapp"
			if tc.want == core.ErrInvalid {
				app = "other"
			}
			_, err := lp.AddDrain(ctx, app, tc.url, DrainOptions{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.sub) {
				t.Errorf("err = %v, want %v containing %q", err, tc.want, tc.sub)
			}
		})
	}
	if err := lp.RemoveDrain("myapp", "syslog://h:1000"); err != nil {
		t.Fatal(err)
	}
	if err := lp.RemoveDrain("myapp", "syslog://h:1000"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	if _, err := lp.AddDrain(ctx, "myapp", "syslog://h:2000", DrainOptions{}); err != nil {
		t.Errorf("after removing one: %v", err)
	}
}

type redact struct{}

func (redact) Filter(_ context.Context, msgs []core.LogMessage) ([]core.LogMessage, error) {
	out := msgs[:0]
	for _, m := range msgs {
		if strings.Contains(m.Text, "drop") {
			continue
		}
		m.Text = strings.ReplaceAll(m.Text, "secret", "[REDACTED]")
		out = append(out, m)
	}
	return out, nil
}

func TestDrainFilters(t *testing.T) {
	rec := newRecorder()
	lp := New(Config{Drains: factoryOf(&fakeDrain{deliver: rec.Deliver})})
	defer lp.Close()
	if _, err := lp.AddDrain(context.Background(), "myapp", "https://x/", DrainOptions{Filters: []core.LogFilter{redact{}}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a secret", "drop me", "end"} {
		_ = lp.WriteLine("myapp", "app", "web.1", s)
	}
	msgs := rec.waitFor(t, "end", func(m []core.LogMessage) bool { return len(m) > 0 && m[len(m)-1].Text == "end" })
	if len(msgs) != 2 || msgs[0].Text != "a [REDACTED]" {
		t.Errorf("got %+v", msgs)
	}
	// The buffer keeps the original.
	if r := lp.Recent("myapp", 3, Filter{}); r[0].Text != "a secret" {
		t.Errorf("recent buffer changed by a filter: %q", r[0].Text)
	}
}

func TestTokens(t *testing.T) {
	lp := New(Config{})
	defer lp.Close()
	a, _ := lp.Token("myapp", "app")
	b, _ := lp.Token("myapp", "app")
	h, _ := lp.Token("myapp", "heroku")
	if a != b || a == h || !strings.HasPrefix(a, "t.") || len(a) != 38 {
		t.Errorf("tokens %q %q %q", a, b, h)
	}
	app, name, err := lp.TokenOwner(h)
	if err != nil || app != "myapp" || name != "heroku" {
		t.Errorf("owner: %s %s %v", app, name, err)
	}
	lp.RemoveApp("myapp")
	if _, _, err := lp.TokenOwner(h); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("after RemoveApp: %v", err)
	}
}

func TestSessions(t *testing.T) {
	lp := New(Config{})
	defer lp.Close()
	now := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	clock := func() time.Time { return now }
	key := []byte(strings.Repeat("k", 32))
	s, err := NewSessions(lp, SessionConfig{Key: key, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSessions(lp, SessionConfig{Key: []byte("short")}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("short key: %v", err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.cfg.BaseURL = srv.URL
	lp.cfg.Now = func() time.Time { return time.Date(2026, 11, 22, 1, 2, 3, 123456000, time.UTC) }
	_ = lp.WriteLine("myapp", "app", "web.1", "hello")
	_ = lp.Router("myapp", "at=info path=/")
	_ = lp.State("myapp", "web.1", "State changed from starting to up")

	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		desc  string
		req   SessionRequest
		query string
		want  string
	}{
		{"all lines", SessionRequest{App: "myapp"}, "",
			"2026-11-22T01:02:03.123456+00:00 app[web.1]: hello\n" +
				"2026-11-22T01:02:03.123456+00:00 heroku[router]: at=info path=/\n" +
				"2026-11-22T01:02:03.123456+00:00 heroku[web.1]: State changed from starting to up\n"},
		{"dyno filter", SessionRequest{App: "myapp", Dyno: "web.1"}, "",
			"2026-11-22T01:02:03.123456+00:00 app[web.1]: hello\n2026-11-22T01:02:03.123456+00:00 heroku[web.1]: State changed from starting to up\n"},
		{"source filter", SessionRequest{App: "myapp", Source: "heroku", Lines: 1}, "",
			"2026-11-22T01:02:03.123456+00:00 heroku[web.1]: State changed from starting to up\n"},
		{"query overrides", SessionRequest{App: "myapp"}, "?num=1&ps=router",
			"2026-11-22T01:02:03.123456+00:00 heroku[router]: at=info path=/\n"},
	}
	t.Run("event stream for EventSource clients", func(t *testing.T) {
		sess, err := s.Create(SessionRequest{App: "myapp", Dyno: "router"})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, sess.LogplexURL, nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		want := "data: 2026-11-22T01:02:03.123456+00:00 heroku[router]: at=info path=/\n\n"
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || string(b) != want {
			t.Errorf("%s %q\nwant %q", ct, b, want)
		}
	})
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			sess, err := s.Create(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !sess.ExpiresAt.Equal(now.Add(360 * time.Second)) {
				t.Errorf("expires %v", sess.ExpiresAt)
			}
			code, body := get(sess.LogplexURL + tc.query)
			if code != 200 || body != tc.want {
				t.Errorf("%d %q\nwant %q", code, body, tc.want)
			}
		})
	}

	sess, _ := s.Create(SessionRequest{App: "myapp"})
	t.Run("forged token", func(t *testing.T) {
		i := strings.LastIndex(sess.LogplexURL, ".")
		if code, _ := get(sess.LogplexURL[:i+1] + "AAAA"); code != http.StatusForbidden {
			t.Errorf("code %d", code)
		}
		other, _ := NewSessions(lp, SessionConfig{Key: []byte(strings.Repeat("x", 32)), Now: clock, BaseURL: srv.URL})
		o, _ := other.Create(SessionRequest{App: "myapp"})
		if code, _ := get(o.LogplexURL); code != http.StatusForbidden {
			t.Errorf("other key: code %d", code)
		}
	})
	t.Run("expired after 360 s", func(t *testing.T) {
		now = now.Add(361 * time.Second)
		if code, _ := get(sess.LogplexURL); code != http.StatusGone {
			t.Errorf("code %d", code)
		}
		now = now.Add(-361 * time.Second)
	})
	t.Run("bad input", func(t *testing.T) {
		for _, r := range []SessionRequest{{}, {App: "a", Lines: -1}, {App: "a", Source: "nope"}} {
			if _, err := s.Create(r); !errors.Is(err, core.ErrInvalid) {
				t.Errorf("%+v: %v", r, err)
			}
		}
	})
	t.Run("tail streams new lines", func(t *testing.T) {
		tsess, _ := s.Create(SessionRequest{App: "myapp", Tail: true, Lines: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tsess.LogplexURL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		line, _ := br.ReadString('\n')
		if !strings.HasSuffix(line, "heroku[web.1]: State changed from starting to up\n") {
			t.Fatalf("backlog line %q", line)
		}
		_ = lp.WriteLine("myapp", "app", "web.2", "live")
		line, _ = br.ReadString('\n')
		if !strings.HasSuffix(line, " app[web.2]: live\n") {
			t.Fatalf("live line %q", line)
		}
	})
}

type closingDrain struct {
	fakeDrain
	closed bool
}

func (c *closingDrain) Close() error { c.closed = true; return nil }

func TestSharedDrainIsNotClosed(t *testing.T) {
	rec := newRecorder()
	shared := &closingDrain{fakeDrain: fakeDrain{deliver: rec.Deliver}}
	lp := New(Config{Drains: Schemes{"https": Shared(shared)}})
	ctx := context.Background()
	for _, u := range []string{"https://a.example.com/", "https://b.example.com/"} {
		if _, err := lp.AddDrain(ctx, "myapp", u, DrainOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_ = lp.WriteLine("myapp", "app", "web.1", "x")
	rec.waitFor(t, "both drains", func(m []core.LogMessage) bool { return len(m) == 2 })
	if err := lp.RemoveDrain("myapp", "https://a.example.com/"); err != nil {
		t.Fatal(err)
	}
	lp.Close()
	if shared.closed {
		t.Errorf("Logplex closed a shared drain")
	}
}
