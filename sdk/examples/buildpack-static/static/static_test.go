package static

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
)

func TestSiteRoot(t *testing.T) {
	tests := []struct {
		desc    string
		files   map[string]string
		envRoot string
		want    string
		msg     string
	}{
		{desc: "top-level index", files: map[string]string{"index.html": "x"}, want: "."},
		{desc: "public", files: map[string]string{"public/index.html": "x"}, want: "public"},
		{desc: "static.json root", files: map[string]string{"site/index.html": "x", "static.json": `{"root":"site/"}`}, want: "site"},
		{desc: "STATIC_ROOT wins", files: map[string]string{"static.json": `{"root":"site"}`}, envRoot: "docs\n", want: "docs"},
		{desc: "invalid static.json", files: map[string]string{"static.json": `{`}, msg: "static.json is not valid JSON"},
		{desc: "outside the app", envRoot: "../etc", msg: "outside the app"},
		{desc: "absolute", envRoot: "/etc", msg: "outside the app"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			root, msg := siteRoot(dir, tt.envRoot)
			if root != tt.want || !strings.Contains(msg, tt.msg) || (tt.msg == "") != (msg == "") {
				t.Fatalf("siteRoot = %q, %q; want %q, %q", root, msg, tt.want, tt.msg)
			}
		})
	}
}

func TestCompileUsesStaticRootVar(t *testing.T) {
	build, cache, env := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(build, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, body := range map[string]string{filepath.Join(build, "index.html"): "top", filepath.Join(build, "docs", "index.html"): "docs", filepath.Join(env, "STATIC_ROOT"): "docs"} {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	bp := New("")
	res, err := bp.Compile(context.Background(), core.CompileRequest{BuildDir: build, CacheDir: cache, EnvDir: env, Output: &out})
	if err != nil || res.Export["STATIC_ROOT"] != "docs" || !strings.Contains(out.String(), "-----> Static HTML app\n       Serving docs") {
		t.Fatalf("Compile = %+v, %v\n%s", res, err, out.String())
	}
	rel, err := bp.Release(context.Background(), core.ReleaseRequest{BuildDir: build})
	if err != nil || rel.DefaultProcessTypes["web"] != "python3 -m http.server $PORT --directory docs" {
		t.Fatalf("Release = %+v, %v", rel, err)
	}
	// A missing root fails as a user error.
	if err := os.WriteFile(filepath.Join(env, "STATIC_ROOT"), []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := bp.Compile(context.Background(), core.CompileRequest{BuildDir: build, CacheDir: cache, EnvDir: env, Output: &out}); !errors.Is(err, core.ErrInvalid) ||
		!strings.Contains(out.String(), ` !     the site root "nope" has no index.html`) {
		t.Fatalf("Compile with a missing root = %v\n%s", err, out.String())
	}
}
