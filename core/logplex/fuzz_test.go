package logplex

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzDynoWriter checks that however a dyno's output is cut into writes,
// the lines Logplex records are those of the whole output split on '\n'
// (a trailing "\r" dropped, long lines chunked).
func FuzzDynoWriter(f *testing.F) {
	f.Add("hello\nworld\n", uint8(3))
	f.Add("a\r\nb\n\npartial", uint8(1))
	f.Add(strings.Repeat("x", 40)+"\n", uint8(7))
	f.Add("é\n", uint8(1))
	f.Fuzz(func(t *testing.T, out string, step uint8) {
		const max = 16
		lp := New(Config{MaxLineBytes: max, BufferLines: 100000})
		defer lp.Close()
		w := lp.Dyno("a", "web.1")
		n := int(step%32) + 1
		for i := 0; i < len(out); i += n {
			if _, err := w.Write([]byte(out[i:min(i+n, len(out))])); err != nil {
				t.Fatal(err)
			}
		}
		_ = w.Close()
		var got strings.Builder
		for _, m := range lp.Recent("a", 100000, Filter{}) {
			if len(m.Text) > max {
				t.Fatalf("message of %d bytes over the %d limit", len(m.Text), max)
			}
			got.WriteString(m.Text)
		}
		// Compare the text with line ends removed; chunk boundaries of an
		// unterminated partial flushed early may differ, not the bytes.
		var want strings.Builder
		for _, l := range strings.Split(out, "\n") {
			want.WriteString(strings.TrimSuffix(l, "\r"))
		}
		g, wnt := got.String(), want.String()
		if g != wnt && strings.ReplaceAll(g, "\r", "") != strings.ReplaceAll(wnt, "\r", "") {
			t.Fatalf("recorded %q, want %q", g, wnt)
		}
	})
}

// FuzzSessionToken checks that no token but a minted one opens a session,
// and that nothing panics on arbitrary input.
func FuzzSessionToken(f *testing.F) {
	lp := New(Config{})
	defer lp.Close()
	s, err := NewSessions(lp, SessionConfig{Key: []byte(strings.Repeat("k", 32)), Now: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		f.Fatal(err)
	}
	sess, _ := s.Create(SessionRequest{App: "myapp"})
	good := sess.LogplexURL[strings.LastIndex(sess.LogplexURL, "/")+1:]
	f.Add(good)
	f.Add("")
	f.Add(".")
	f.Add("eyJhcHAiOiJ4In0.AAAA")
	f.Add(good + "x")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.verify(tok)
		if err == nil && tok != good {
			// Another encoding of the same signed payload is acceptable
			// only if it carries the same claims.
			if c.App != "myapp" {
				t.Fatalf("forged token %q accepted for app %q", tok, c.App)
			}
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = "/log-sessions/" + tok
		s.ServeHTTP(rec, req)
		if want := http.StatusForbidden; err != nil && rec.Code != want {
			t.Fatalf("bad token %q answered %d, want %d", tok, rec.Code, want)
		}
	})
}
