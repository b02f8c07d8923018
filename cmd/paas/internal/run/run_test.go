package run

import (
	"reflect"
	"strings"
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/apiclient"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"empty", "", map[string]string{}, false},
		{"pairs", "A=1;B=x=y", map[string]string{"A": "1", "B": "x=y"}, false},
		{"trailing separator", "A=1;", map[string]string{"A": "1"}, false},
		{"no =", "A", nil, true},
		{"empty key", "=1", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseEnv(tt.in)
			if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
				t.Fatalf("ParseEnv(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

func TestAttachURL(t *testing.T) {
	d := apiclient.Dyno{ID: "id-1", Name: "run.12"}
	if got := AttachURL("http://127.0.0.1:5000/", "my app", d); got != "http://127.0.0.1:5000/apps/my%20app/dynos/run.12/attach" {
		t.Fatalf("AttachURL = %q", got)
	}
	u := "https://rendezvous.example.com/apps/x/dynos/run.12/attach"
	d.AttachURL = &u
	if got := AttachURL("http://api", "x", d); got != u {
		t.Fatalf("AttachURL with attach_url = %q", got)
	}
	r := "rendezvous://rendezvous.runtime.heroku.com:5000/secret"
	d.AttachURL = &r
	if got := AttachURL("http://api", "x", d); !strings.HasPrefix(got, "http://api/") {
		t.Fatalf("a rendezvous:// URL is not ours: %q", got)
	}
}

// FuzzParseEnv: accepted pairs have non-empty, trimmed keys.
func FuzzParseEnv(f *testing.F) {
	f.Add("A=1;B=2")
	f.Add(";;=;")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseEnv(s)
		if err != nil {
			return
		}
		for k := range m {
			if k == "" || strings.TrimSpace(k) != k || strings.Contains(k, ";") {
				t.Fatalf("ParseEnv(%q) key %q", s, k)
			}
		}
	})
}
