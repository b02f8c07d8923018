package netrc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

func TestParse(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		machine string
		want    *Machine
		wantErr string
	}{
		{"one line", "machine api.example.com login a@b.c password tok", "api.example.com",
			&Machine{Name: "api.example.com", Login: "a@b.c", Password: "tok"}, ""},
		{"multi line with comment", "# mine\nmachine h\n  login u # who\n  password p\n", "h",
			&Machine{Name: "h", Login: "u", Password: "p"}, ""},
		{"quoted password", `machine h login u password "a b\"c"`, "h",
			&Machine{Name: "h", Login: "u", Password: `a b"c`}, ""},
		{"default entry", "machine x login 1 password 2\ndefault login d password e\n", "other",
			&Machine{Login: "d", Password: "e", Default: true}, ""},
		{"macdef body skipped", "macdef init\ncd /pub\nmachine fake\n\nmachine h login u password p\n", "h",
			&Machine{Name: "h", Login: "u", Password: "p"}, ""},
		{"absent", "machine x login 1 password 2", "h", nil, ""},
		{"unknown keyword", "machine h user u", "h", nil, `unknown keyword "user"`},
		{"missing value", "machine h login", "h", nil, `"login" at byte 10 has no value`},
		{"login outside machine", "login u", "h", nil, "outside a machine"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := f.Machine(tt.machine)
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("Machine(%q) = %+v, want %+v", tt.machine, got, tt.want)
			}
		})
	}
}

func TestSetKeepsTheRest(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "netrc.in"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Set(Machine{Name: "127.0.0.1", Login: "new@example.com", Password: "HRKU-new"})
	golden := filepath.Join("testdata", "netrc.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("Set =\n%s\nwant\n%s", got, want)
	}
	f2, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if m := f2.Machine("127.0.0.1"); m == nil || m.Password != "HRKU-new" {
		t.Fatalf("after Set: %+v", m)
	}
	if m := f2.Machine("github.com"); m == nil || m.Password != "ghp" {
		t.Fatalf("other machine lost: %+v", m)
	}
	if removed, _ := Parse(f2.Remove("127.0.0.1")); removed.Machine("127.0.0.1") != nil {
		t.Fatal("Remove kept the entry")
	}
}

func TestWriteMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".netrc")
	if err := Write(p, []byte("machine h login u password p\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, err %v", fi.Mode(), err)
	}
	f, err := Load(filepath.Join(t.TempDir(), "missing"))
	if err != nil || len(f.Machines) != 0 {
		t.Fatalf("Load(missing) = %+v, %v", f, err)
	}
}

// FuzzParse: Parse never panics; Set's output parses and holds the entry.
func FuzzParse(f *testing.F) {
	f.Add("machine h login u password p\n", "h", "p w")
	f.Add("default login a password b", "x", `q"uote`)
	f.Add("macdef m\nbody\n\nmachine z login l password q", "z", "")
	f.Add("# c\nmachine \"a b\" login \"\\\\\" password x", "a b", "#")
	f.Fuzz(func(t *testing.T, in, host, pass string) {
		file, err := Parse([]byte(in))
		if err != nil {
			return
		}
		if host == "" || strings.ContainsAny(host+pass, "\x00") {
			return
		}
		out := file.Set(Machine{Name: host, Login: "u@x", Password: pass})
		again, err := Parse(out)
		if err != nil {
			// Set only appends to text that parsed; a macdef body swallowing
			// the new entry is the one known way this can fail.
			if strings.Contains(in, "macdef") {
				return
			}
			t.Fatalf("Set output does not parse: %v\n%q", err, out)
		}
		if m := again.Machine(host); !strings.Contains(in, "macdef") && (m == nil || m.Password != pass) {
			t.Fatalf("after Set(%q): %+v\n%q", host, m, out)
		}
	})
}
