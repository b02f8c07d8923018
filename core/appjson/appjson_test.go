package appjson

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

// TestGolden parses testdata/*.json and compares the decoded manifest (or the
// error) with the .golden file next to it.
func TestGolden(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.json")
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
			a, err := Parse(in, v)
			var got string
			if err != nil {
				if !errors.Is(err, core.ErrInvalid) {
					t.Errorf("error %v does not wrap core.ErrInvalid", err)
				}
				got = "error: " + err.Error() + "\n"
			} else {
				b, _ := json.MarshalIndent(a, "", "  ")
				got = string(b) + "\n"
			}
			golden := strings.TrimSuffix(f, ".json") + ".golden"
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

func TestDefaults(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc, in string
		check    func(*AppJSON) bool
	}{
		{desc: "env object is required by default", in: `{"env":{"A":{"description":"d"}}}`, check: func(a *AppJSON) bool { return a.Env["A"].Required }},
		{desc: "env string is a required value", in: `{"env":{"A":"v"}}`, check: func(a *AppJSON) bool { return a.Env["A"].Required && a.Env["A"].Value == "v" }},
		{desc: "required false", in: `{"env":{"A":{"required":false}}}`, check: func(a *AppJSON) bool { return !a.Env["A"].Required }},
		{desc: "postdeploy string", in: `{"scripts":{"postdeploy":"bin/x"}}`, check: func(a *AppJSON) bool { return a.Scripts.Postdeploy.Command == "bin/x" }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			a, err := Parse(strings.NewReader(tc.in), v)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(a) {
				t.Errorf("unexpected result %+v", a)
			}
		})
	}
	if _, err := Parse(strings.NewReader(`{"description":"`+strings.Repeat("x", MaxSize)+`"}`), v); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("oversized manifest: got %v, want ErrInvalid", err)
	}
}

// FuzzParse checks that Parse never panics and fails only with ErrInvalid.
func FuzzParse(f *testing.F) {
	v, err := schemas.New()
	if err != nil {
		f.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Parse(strings.NewReader(string(data)), v); err != nil && !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	})
}
