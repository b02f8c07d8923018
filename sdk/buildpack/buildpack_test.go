package buildpack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

func TestOutputLines(t *testing.T) {
	tests := []struct {
		desc string
		run  func(w *strings.Builder)
		want string
	}{
		{"step", func(w *strings.Builder) { Step(w, "Installing %s", "go 1.24") }, "-----> Installing go 1.24\n"},
		{"info", func(w *strings.Builder) { Info(w, "done") }, "       done\n"},
		{"multi-line info", func(w *strings.Builder) { Info(w, "a\nb\n") }, "       a\n       b\n"},
		{"fail", func(w *strings.Builder) { _ = Fail(w, "no %s", "index.html") }, " !     no index.html\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var b strings.Builder
			tt.run(&b)
			if b.String() != tt.want {
				t.Fatalf("wrote %q, want %q", b.String(), tt.want)
			}
		})
	}
	Step(nil, "nil writer is fine")
}

func TestFailWrapsErrInvalid(t *testing.T) {
	err := Fail(nil, "static.json: %s", "bad")
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "static.json: bad") {
		t.Fatalf("Fail = %v", err)
	}
}

func TestReadEnvDir(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{"PLAIN": "v", "MULTI": "a\nb\n", "EMPTY": ""} {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	vars, err := ReadEnvDir(dir)
	if err != nil || len(vars) != 3 || vars["MULTI"] != "a\nb\n" || vars["EMPTY"] != "" || vars["PLAIN"] != "v" {
		t.Fatalf("ReadEnvDir = %q, %v", vars, err)
	}
	if vars, err := ReadEnvDir(""); err != nil || len(vars) != 0 {
		t.Fatalf("ReadEnvDir(\"\") = %v, %v", vars, err)
	}
	if _, err := ReadEnvDir(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestExists(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		rel  string
		want bool
	}{{"go.mod", true}, {"package.json", false}, {".", true}} {
		if got, err := Exists(dir, tt.rel); err != nil || got != tt.want {
			t.Errorf("Exists(%q) = %v, %v", tt.rel, got, err)
		}
	}
}
