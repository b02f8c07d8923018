package signals

import (
	"errors"
	"syscall"
	"testing"

	"github.com/paasd/paasd/core"
)

func TestParse(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want syscall.Signal
		err  bool
	}{
		{desc: "bare name", in: "TERM", want: syscall.SIGTERM},
		{desc: "prefixed", in: "SIGUSR1", want: syscall.SIGUSR1},
		{desc: "lower case", in: "hup", want: syscall.SIGHUP},
		{desc: "number", in: "9", want: syscall.SIGKILL},
		{desc: "unknown", in: "NOPE", err: true},
		{desc: "zero", in: "0", err: true},
		{desc: "empty", in: "", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err {
				if !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("Parse(%q) = %v, %v; want ErrInvalid", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if Name(got) == "" {
				t.Fatalf("Name(%v) empty", got)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"TERM", "SIGKILL", "15", "usr2", "", "SIG"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err == nil && (sig <= 0 || sig > 64) {
			t.Fatalf("Parse(%q) = %d without error", s, sig)
		}
	})
}
