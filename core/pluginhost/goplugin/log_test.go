package goplugin

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSlogAdapterLevels(t *testing.T) {
	tests := []struct {
		desc  string
		named string
		args  []any
		want  string
	}{
		{desc: "plain stderr line raised to INFO", named: "drain", want: "level=INFO msg=hello"},
		{desc: "JSON hclog line keeps its level", named: "drain", args: []any{"timestamp", "t"}, want: "level=DEBUG msg=hello"},
		{desc: "go-plugin's own named logger keeps its level", named: "stdio", want: "level=DEBUG msg=hello"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
			newSlogAdapter(l, "/usr/lib/paasd/drain").Named(tt.named).Debug("hello", tt.args...)
			if !strings.Contains(buf.String(), tt.want) {
				t.Fatalf("logged %q; want %q", buf.String(), tt.want)
			}
		})
	}
}

func TestLineLogger(t *testing.T) {
	var buf bytes.Buffer
	w := &lineLogger{l: slog.New(slog.NewTextHandler(&buf, nil)), msg: "plugin output", stream: "stderr"}
	for _, chunk := range []string{"one\ntw", "o\n\n", "three"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	got := buf.String()
	if strings.Count(got, "msg=\"plugin output\"") != 2 || !strings.Contains(got, "line=one") || !strings.Contains(got, "line=two") {
		t.Fatalf("logged %q; want lines one and two only (three is incomplete)", got)
	}
}

func TestTailBuffer(t *testing.T) {
	var tb tailBuffer
	tb.Write([]byte(strings.Repeat("x", 3*tailSize) + "\nlast but one\n\nlast\n"))
	if got := tb.lines(2); got != "last but one; last" {
		t.Fatalf("lines(2) = %q", got)
	}
}
