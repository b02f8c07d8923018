package logtail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

func TestFollow(t *testing.T) {
	long := strings.Repeat("x", MaxLine+5)
	tests := []struct {
		desc string
		out  string
		want []string
	}{
		{desc: "lines in order", out: "a\nb\nc\n", want: []string{"a", "b", "c"}},
		{desc: "final line without newline", out: "a\nb", want: []string{"a", "b"}},
		{desc: "long line split", out: long + "\n", want: []string{long[:MaxLine], "xxxxx"}},
		{desc: "crlf trimmed", out: "a\r\n", want: []string{"a"}},
		{desc: "empty", out: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "stdout.log")
			if err := os.WriteFile(p, []byte(tc.out), 0o600); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			close(exited)
			var got []string
			err := Follow(context.Background(), []Source{{p, "stdout"}, {p + ".missing", "stderr"}}, exited, func(l core.LogLine) error {
				if l.Stream != "stdout" {
					t.Errorf("stream %q", l.Stream)
				}
				got = append(got, l.Text)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzFollow checks that whatever a dyno writes, Follow delivers every byte
// except newlines (and a CR before one), in order, in lines of at most
// MaxLine bytes.
func FuzzFollow(f *testing.F) {
	f.Add([]byte("a\nb\n"))
	f.Add([]byte("no newline"))
	f.Add([]byte(strings.Repeat("y", MaxLine*2+3)))
	f.Add([]byte("\r\n\n\r"))
	f.Fuzz(func(t *testing.T, out []byte) {
		p := filepath.Join(t.TempDir(), "stdout.log")
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		close(exited)
		var got strings.Builder
		err := Follow(context.Background(), []Source{{p, "stdout"}}, exited, func(l core.LogLine) error {
			if len(l.Text) > MaxLine {
				t.Fatalf("line of %d bytes", len(l.Text))
			}
			got.WriteString(l.Text)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n", "")
		// A CR that ends a chunk split at MaxLine is trimmed too; compare
		// without CRs.
		if strings.ReplaceAll(got.String(), "\r", "") != strings.ReplaceAll(want, "\r", "") {
			t.Fatalf("delivered %q, want %q", got.String(), want)
		}
	})
}
