package slug

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/paasd/paasd/core"
)

type entry struct {
	name, link string
	typ        byte
	body       string
	mode       int64
}

func makeTar(t testing.TB, gz bool, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: mode, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := w.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestExtractFile(t *testing.T) {
	tests := []struct {
		desc    string
		gz      bool
		entries []entry
		want    map[string]string // path -> content ("->target" for links)
		wantErr bool
	}{
		{desc: "plain tar", entries: []entry{
			{name: "Procfile", typ: tar.TypeReg, body: "web: ./server\n"},
			{name: "bin/", typ: tar.TypeDir, mode: 0o755},
			{name: "bin/server", typ: tar.TypeReg, body: "#!/bin/sh\n", mode: 0o755},
		}, want: map[string]string{"Procfile": "web: ./server\n", "bin/server": "#!/bin/sh\n"}},
		{desc: "heroku ./app layout is stripped", gz: true, entries: []entry{
			{name: "./app/", typ: tar.TypeDir, mode: 0o755},
			{name: "./app/Procfile", typ: tar.TypeReg, body: "web: x"},
			{name: "./app/lib/a.rb", typ: tar.TypeReg, body: "a"},
		}, want: map[string]string{"Procfile": "web: x", "lib/a.rb": "a"}},
		{desc: "rails app dir beside other files is kept", entries: []entry{
			{name: "Gemfile", typ: tar.TypeReg, body: "g"},
			{name: "app/models/u.rb", typ: tar.TypeReg, body: "u"},
		}, want: map[string]string{"Gemfile": "g", "app/models/u.rb": "u"}},
		{desc: "link target with dot-dot after a name is refused", entries: []entry{
			{name: "lib/real", typ: tar.TypeReg, body: "r"},
			{name: "lib/rel", typ: tar.TypeSymlink, link: "real"},
			{name: "up", typ: tar.TypeSymlink, link: "lib/../lib/real"},
			{name: "abs", typ: tar.TypeSymlink, link: "/app/lib/real"},
			{name: "hard", typ: tar.TypeLink, link: "lib/real"},
		}, wantErr: true},
		{desc: "relative links that stay inside", entries: []entry{
			{name: "lib/real", typ: tar.TypeReg, body: "r"},
			{name: "lib/rel", typ: tar.TypeSymlink, link: "real"},
			{name: "lib/sub/x", typ: tar.TypeSymlink, link: "../../lib/real"},
			{name: "abs", typ: tar.TypeSymlink, link: "/app/lib/real"},
			{name: "hard", typ: tar.TypeLink, link: "lib/real"},
		}, want: map[string]string{"lib/real": "r", "lib/rel": "->real", "lib/sub/x": "->../../lib/real", "abs": "->/app/lib/real", "hard": "r"}},
		{desc: "absolute name", entries: []entry{{name: "/etc/passwd", typ: tar.TypeReg, body: "x"}}, wantErr: true},
		{desc: "dot-dot name", entries: []entry{{name: "a/../../x", typ: tar.TypeReg, body: "x"}}, wantErr: true},
		{desc: "symlink escaping", entries: []entry{{name: "a/l", typ: tar.TypeSymlink, link: "../../etc"}}, wantErr: true},
		{desc: "absolute symlink outside /app", entries: []entry{{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}}, wantErr: true},
		{desc: "write through a symlinked dir", entries: []entry{
			{name: "d", typ: tar.TypeSymlink, link: "."},
			{name: "d/x", typ: tar.TypeReg, body: "x"},
		}, wantErr: true},
		{desc: "dot-dot after a link component", entries: []entry{
			{name: "s", typ: tar.TypeSymlink, link: "."},
			{name: "x", typ: tar.TypeSymlink, link: "s/.."},
		}, wantErr: true},
		{desc: "hard link outside", entries: []entry{{name: "h", typ: tar.TypeLink, link: "../etc/shadow"}}, wantErr: true},
		{desc: "device file", entries: []entry{{name: "dev", typ: tar.TypeChar}}, wantErr: true},
		{desc: "fifo", entries: []entry{{name: "f", typ: tar.TypeFifo}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "slug.tgz")
			if err := os.WriteFile(src, makeTar(t, tc.gz, tc.entries...), 0o644); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(dir, "app")
			if err := os.Mkdir(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			err := ExtractFile(src, dest)
			if tc.wantErr {
				if !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("got %v, want an error wrapping ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, want := range tc.want {
				full := filepath.Join(dest, p)
				if len(want) > 2 && want[:2] == "->" {
					got, err := os.Readlink(full)
					if err != nil || got != want[2:] {
						t.Errorf("%s: link %q, %v; want %q", p, got, err, want[2:])
					}
					continue
				}
				got, err := os.ReadFile(full)
				if err != nil || string(got) != want {
					t.Errorf("%s: %q, %v; want %q", p, got, err, want)
				}
			}
		})
	}
}

func TestExtractMaxBytes(t *testing.T) {
	data := makeTar(t, false, entry{name: "big", typ: tar.TypeReg, body: "0123456789"})
	err := Extract(bytes.NewReader(data), t.TempDir(), Options{MaxBytes: 5})
	if !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(makeTar(f, false, entry{name: "a", typ: tar.TypeReg, body: "x"}))
	f.Add(makeTar(f, true, entry{name: "./app/b", typ: tar.TypeReg, body: "y"}))
	f.Add(makeTar(f, false, entry{name: "l", typ: tar.TypeSymlink, link: "../x"}, entry{name: "l/y", typ: tar.TypeReg}))
	f.Add(makeTar(f, false, entry{name: "d/", typ: tar.TypeDir}, entry{name: "d/h", typ: tar.TypeLink, link: "d"}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "app")
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = Extract(bytes.NewReader(data), dest, Options{MaxBytes: 1 << 20})
		// Whatever happened, nothing may appear beside dest.
		ents, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 {
			t.Fatalf("extraction wrote outside the destination: %v", ents)
		}
	})
}
