package runc

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func stackTar(t testing.TB, hdrs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h := h
		body := []byte("x")
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write(body)
		}
	}
	_ = tw.Close()
	return buf.Bytes()
}

// FuzzExtractStack checks that a stack tarball, however malformed, writes
// nothing outside the destination.
func FuzzExtractStack(f *testing.F) {
	f.Add(stackTar(f, tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, tar.Header{Name: "bin/sh", Typeflag: tar.TypeReg, Mode: 0o755}))
	f.Add(stackTar(f, tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add(stackTar(f, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"}, tar.Header{Name: "l/x", Typeflag: tar.TypeReg}))
	f.Add(stackTar(f, tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		src := filepath.Join(parent, "stack.tar")
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(parent, "root")
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = extractStack(src, dest)
		ents, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 2 {
			t.Fatalf("extraction wrote outside the destination: %v", ents)
		}
	})
}

func TestStackNames(t *testing.T) {
	tests := []struct {
		desc string
		name string
		ok   bool
	}{
		{desc: "host stack", name: HostStack, ok: true},
		{desc: "versioned", name: "heroku-24@20250101", ok: true},
		{desc: "upper case", name: "Heroku", ok: false},
		{desc: "path", name: "a/b", ok: false},
		{desc: "dot-dot", name: "..", ok: false},
		{desc: "empty", name: "", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := stackNameRE.MatchString(tc.name); got != tc.ok {
				t.Fatalf("valid(%q) = %v, want %v", tc.name, got, tc.ok)
			}
		})
	}
}
