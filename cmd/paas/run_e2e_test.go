package main_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// putSlug stores a slug tarball of files in paasd's slug dir and returns its
// checksum.
func putSlug(t *testing.T, dataDir string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "./" + name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	if err := os.MkdirAll(filepath.Join(dataDir, "slugs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "slugs", hex.EncodeToString(sum[:])+".tgz"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// TestRunInRealDyno: `paas run` starts a one-off dyno in paasd (process
// runtime), attaches over the paasd-attach protocol, shows its output and
// exits with its exit code; the dyno sees the app's config vars.
func TestRunInRealDyno(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts paasd and a real dyno")
	}
	p := startPaasd(t)
	p.api("POST", "/apps", map[string]any{"name": "runner"}, nil)
	p.api("PATCH", "/apps/runner/config-vars", map[string]any{"GREETING": "hi there"}, nil)
	sum := putSlug(t, p.data, map[string]string{"hello.sh": "#!/bin/sh\necho \"$GREETING from $DYNO\"\n"})
	var slug map[string]any
	p.api("POST", "/apps/runner/slugs", map[string]any{"process_types": map[string]string{}, "checksum": sum}, &slug)
	p.api("POST", "/apps/runner/releases", map[string]any{"slug": slug["id"]}, nil)

	r := p.run("", nil, "run", "-a", "runner", "--", "sh", "hello.sh")
	if r.code != 0 || !strings.Contains(r.out, "hi there from run.") {
		t.Fatalf("paas run: exit %d, out %q, err %q", r.code, r.out, r.err)
	}
	if r = p.run("", nil, "run", "-a", "runner", "--", "exit", "7"); r.code != 7 {
		t.Fatalf("paas run exit 7: exit %d, out %q, err %q", r.code, r.out, r.err)
	}
}
