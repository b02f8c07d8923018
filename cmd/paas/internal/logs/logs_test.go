package logs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestStream(t *testing.T) {
	tests := []struct {
		desc  string
		ctype string
		body  string
		want  []string
	}{
		{"server-sent events", "text/event-stream", "data: line one\n\ndata: line two\n\n", []string{"line one", "line two"}},
		{"comments and other fields", "text/event-stream; charset=utf-8", ": keep-alive\nid: 3\ndata: x\n\n", []string{"x"}},
		{"multi-line event", "text/event-stream", "data: a\ndata: b\n\n", []string{"a\nb"}},
		{"last event without blank line", "text/event-stream", "data: tail", []string{"tail"}},
		{"CRLF", "text/event-stream", "data: crlf\r\n\r\n", []string{"crlf"}},
		{"plain text", "text/plain", "2026-01-02T03:04:05Z app[web.1]: hi\nsecond\n", []string{"2026-01-02T03:04:05Z app[web.1]: hi", "second"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var got []string
			err := Stream(strings.NewReader(tt.body), tt.ctype, func(l string) error { got = append(got, l); return nil })
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	err := Stream(strings.NewReader(strings.Repeat("x", MaxLine+10)), "text/plain", func(string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("overlong line: %v", err)
	}
	stop := errors.New("stop")
	if err := Stream(strings.NewReader("a\nb\n"), "", func(string) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error: %v", err)
	}
}

// FuzzStream: any body either streams or fails cleanly; SSE events never
// hold a raw "data:" prefix.
func FuzzStream(f *testing.F) {
	f.Add("data: a\n\ndata: b\n\n", true)
	f.Add(": c\nevent: x\ndata:\n\n", true)
	f.Add("plain\nlines", false)
	f.Fuzz(func(t *testing.T, body string, sse bool) {
		ct := "text/plain"
		if sse {
			ct = "text/event-stream"
		}
		n := 0
		Stream(strings.NewReader(body), ct, func(l string) error {
			n++
			if len(l) > len(body) {
				t.Fatalf("line longer than the body")
			}
			return nil
		})
		if n > strings.Count(body, "\n")+1 {
			t.Fatalf("%d lines from %d newlines", n, strings.Count(body, "\n"))
		}
	})
}
