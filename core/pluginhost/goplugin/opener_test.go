package goplugin

import (
	"testing"
	"time"

	"github.com/paasd/paasd/core/wire"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		desc     string
		o        Opener
		failures int
		want     time.Duration
	}{
		{desc: "first restart", failures: 0, want: DefaultMinBackoff},
		{desc: "doubles", failures: 3, want: 8 * DefaultMinBackoff},
		{desc: "capped", failures: 40, want: DefaultMaxBackoff},
		{desc: "custom", o: Opener{MinBackoff: time.Second, MaxBackoff: 5 * time.Second}, failures: 2, want: 4 * time.Second},
		{desc: "custom cap", o: Opener{MinBackoff: time.Second, MaxBackoff: 5 * time.Second}, failures: 3, want: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := tt.o.backoff(tt.failures); got != tt.want {
				t.Fatalf("backoff(%d) = %s, want %s", tt.failures, got, tt.want)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		desc   string
		o      Opener
		method string
		want   time.Duration
	}{
		{desc: "default", method: wire.MethodDeliver, want: DefaultCallTimeout},
		{desc: "custom", o: Opener{CallTimeout: time.Second}, method: wire.MethodDeliver, want: time.Second},
		{desc: "Compile unbounded by default", method: wire.MethodCompile, want: -1},
		{desc: "Wait unbounded by default", method: wire.MethodWait, want: -1},
		{desc: "override", o: Opener{MethodTimeouts: map[string]time.Duration{wire.MethodDeliver: 5 * time.Second}}, method: wire.MethodDeliver, want: 5 * time.Second},
		{desc: "override replaces the defaults", o: Opener{MethodTimeouts: map[string]time.Duration{}}, method: wire.MethodCompile, want: DefaultCallTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := tt.o.timeout(tt.method); got != tt.want {
				t.Fatalf("timeout(%s) = %s, want %s", tt.method, got, tt.want)
			}
		})
	}
}
