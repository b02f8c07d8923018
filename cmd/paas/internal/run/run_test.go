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

func TestSplitArgs(t *testing.T) {
	known := map[string]bool{"app": false, "a": false, "size": false, "s": false, "env": false, "e": false, "no-tty": true, "x": true, "exit-code": true}
	lookup := func(name string, short bool) (bool, bool) {
		b, ok := known[name]
		return ok, b
	}
	tests := []struct {
		desc    string
		args    []string
		flags   []string
		command []string
		wantErr bool
	}{
		{"flags first", []string{"-a", "myapp", "bash"}, []string{"-a", "myapp"}, []string{"bash"}, false},
		{"flags after the command", []string{"ls", "-la", "-a", "myapp"}, []string{"-a", "myapp"}, []string{"ls", "-la"}, false},
		{"long with =", []string{"--app=myapp", "rails", "c"}, []string{"--app=myapp"}, []string{"rails", "c"}, false},
		{"short with attached value", []string{"-amyapp", "bash"}, []string{"-amyapp"}, []string{"bash"}, false},
		{"bool flags", []string{"--no-tty", "-x", "true"}, []string{"--no-tty", "-x"}, []string{"true"}, false},
		{"double dash ends flags", []string{"-a", "myapp", "--", "rails", "c", "-e", "production"}, []string{"-a", "myapp"}, []string{"rails", "c", "-e", "production"}, false},
		{"unknown long flag is the command's", []string{"grep", "--color", "x"}, nil, []string{"grep", "--color", "x"}, false},
		{"lone dash", []string{"cat", "-"}, nil, []string{"cat", "-"}, false},
		{"missing value", []string{"bash", "-a"}, nil, nil, true},
		{"-- is not a value", []string{"-a", "--", "bash"}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			flags, command, err := SplitArgs(tt.args, lookup)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && (!reflect.DeepEqual(flags, tt.flags) || !reflect.DeepEqual(command, tt.command)) {
				t.Fatalf("SplitArgs(%q) = %q, %q", tt.args, flags, command)
			}
		})
	}
}

// FuzzSplitArgs: every argument ends up in flags or command, in order.
func FuzzSplitArgs(f *testing.F) {
	f.Add("ls\x00-la\x00-a\x00x")
	f.Add("-a\x00--\x00-a")
	f.Add("--app=\x00-x\x00-")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		flags, command, err := SplitArgs(args, func(name string, short bool) (bool, bool) {
			return name == "a" || name == "app" || name == "x", name == "x"
		})
		if err != nil {
			return
		}
		dd := 0
		for _, a := range args {
			if a == "--" {
				dd = 1
				break
			}
		}
		if len(flags)+len(command)+dd != len(args) {
			t.Fatalf("SplitArgs(%q) = %q %q: arguments lost", args, flags, command)
		}
	})
}
