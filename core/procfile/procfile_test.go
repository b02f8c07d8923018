package procfile

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/schemas"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

// TestGolden parses testdata/*.procfile and compares the result (the process
// list as JSON, or the error) with the .golden file next to it.
func TestGolden(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.procfile")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			p, err := Parse(in)
			var got string
			if err != nil {
				if !errors.Is(err, core.ErrInvalid) {
					t.Errorf("error %v does not wrap core.ErrInvalid", err)
				}
				got = "error: " + err.Error() + "\n"
			} else {
				if err := p.Validate(v); err != nil {
					t.Errorf("parsed Procfile breaks #Procfile: %v", err)
				}
				b, _ := json.MarshalIndent(p, "", "  ")
				got = string(b) + "\n"
			}
			golden := strings.TrimSuffix(f, ".procfile") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		desc, in string
		want     map[string]string
		errHas   string
	}{
		{desc: "bom", in: "\xef\xbb\xbfweb: a\n", want: map[string]string{"web": "a"}},
		{desc: "no final newline", in: "web: a", want: map[string]string{"web": "a"}},
		{desc: "tab after colon", in: "web:\tbin/x\n", want: map[string]string{"web": "bin/x"}},
		{desc: "too large", in: strings.Repeat("#", MaxSize+1), errHas: "larger than 65536 bytes"},
		{desc: "long type", in: strings.Repeat("w", 64) + ": x\n", errHas: "more than 63"},
		{desc: "bad utf8", in: "web: \xff\n", errHas: "line 1: not valid UTF-8"},
		{desc: "space in type", in: "my web: x\n", errHas: `line 1: invalid process type name "my web"`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p, err := Parse(strings.NewReader(tc.in))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("got %v, want an ErrInvalid containing %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := p.Map()
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// satisfies the #Procfile CUE definition.
func FuzzParse(f *testing.F) {
	v, err := schemas.New()
	if err != nil {
		f.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.procfile")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := p.Validate(v); err != nil {
			t.Fatalf("Parse accepted %q but #Procfile rejects it: %v", data, err)
		}
	})
}
