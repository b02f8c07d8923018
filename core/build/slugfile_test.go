package build_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/core/slug"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCreateSlugRoundTrip makes a slug and extracts it with core/slug, the
// runtimes' extraction: files, modes and links come back; the same tree
// gives the same checksum.
func TestCreateSlugRoundTrip(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"Procfile": "web: bin/web\n", "bin/web": "#!/bin/sh\necho hi\n", "lib/a/b.txt": "deep"})
	if err := os.Symlink("lib/a/b.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	slugs := t.TempDir()
	sum, size, err := build.CreateSlug(context.Background(), src, slugs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sum, "SHA256:") || size <= 0 {
		t.Fatalf("sum %q size %d", sum, size)
	}
	path := build.SlugFile(slugs, sum)
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != size {
		t.Fatalf("slug file: %v (size %d, want %d)", err, fi.Size(), size)
	}
	sum2, _, err := build.CreateSlug(context.Background(), src, slugs, 0)
	if err != nil || sum2 != sum {
		t.Fatalf("second slug of the same tree: %s, %v; want %s", sum2, err, sum)
	}
	dst := t.TempDir()
	if err := slug.ExtractFile(path, dst); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "lib/a/b.txt"))
	if err != nil || string(b) != "deep" {
		t.Fatalf("deep file: %v %q", err, b)
	}
	if fi, err := os.Stat(filepath.Join(dst, "bin/web")); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("bin/web lost its mode: %v", err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "link")); err != nil || l != "lib/a/b.txt" {
		t.Fatalf("link: %q %v", l, err)
	}
}

func TestCreateSlugSizeLimit(t *testing.T) {
	src := t.TempDir()
	blob := make([]byte, 256<<10)
	_, _ = rand.Read(blob)
	writeTree(t, src, map[string]string{"blob": string(blob)})
	slugs := t.TempDir()
	_, _, err := build.CreateSlug(context.Background(), src, slugs, 64<<10)
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "exceeds the 64.0K limit") {
		t.Fatalf("err = %v, want ErrInvalid naming the limit", err)
	}
	left, _ := os.ReadDir(slugs)
	if len(left) != 0 {
		t.Fatalf("a too-large slug left files: %v", left)
	}
}

func TestSlugignore(t *testing.T) {
	tests := []struct {
		desc     string
		ignore   string
		files    []string
		wantGone []string
		wantKept []string
	}{
		{desc: "name anywhere", ignore: "*.psd\n", files: []string{"a.psd", "x/y/b.psd", "c.png"},
			wantGone: []string{"a.psd", "x/y/b.psd"}, wantKept: []string{"c.png"}},
		{desc: "anchored path", ignore: "/docs\n", files: []string{"docs/a.md", "src/docs/b.md"},
			wantGone: []string{"docs"}, wantKept: []string{"src/docs/b.md"}},
		{desc: "inner slash anchors", ignore: "test/fixtures\n", files: []string{"test/fixtures/f", "test/unit/u", "x/test/fixtures/f"},
			wantGone: []string{"test/fixtures"}, wantKept: []string{"test/unit/u", "x/test/fixtures/f"}},
		{desc: "dir only", ignore: "tmp/\n", files: []string{"tmp/x", "a/tmp"},
			wantGone: []string{"tmp"}, wantKept: []string{"a/tmp"}},
		{desc: "double star", ignore: "spec/**/*.rb\n# comment\n\n", files: []string{"spec/a.rb", "spec/x/y/b.rb", "lib/c.rb"},
			wantGone: []string{"spec/a.rb", "spec/x/y/b.rb"}, wantKept: []string{"lib/c.rb"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{".slugignore": tc.ignore}
			for _, f := range tc.files {
				files[f] = "x"
			}
			writeTree(t, dir, files)
			if _, err := build.ApplySlugignore(dir); err != nil {
				t.Fatal(err)
			}
			for _, g := range tc.wantGone {
				if _, err := os.Lstat(filepath.Join(dir, g)); err == nil {
					t.Errorf("%s still there", g)
				}
			}
			for _, k := range tc.wantKept {
				if _, err := os.Lstat(filepath.Join(dir, k)); err != nil {
					t.Errorf("%s removed: %v", k, err)
				}
			}
		})
	}
}

func TestParseSlugignoreErrors(t *testing.T) {
	for _, in := range []string{"!keep.me\n", "[unclosed\n"} {
		if _, err := build.ParseSlugignore(strings.NewReader(in)); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err = %v, want ErrInvalid naming line 1", in, err)
		}
	}
}

func FuzzParseSlugignore(f *testing.F) {
	for _, s := range []string{"*.psd\n/docs\ntmp/\nspec/**/*.rb\n# c\n", "!x\n", "[a-\n", "/\n//\n**\n"} {
		f.Add(s, "spec/a/b.rb")
	}
	f.Fuzz(func(t *testing.T, ignore, path string) {
		pats, err := build.ParseSlugignore(strings.NewReader(ignore))
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, p := range pats {
			_ = p.Match(path, true)
			_ = p.Match(path, false)
		}
	})
}
