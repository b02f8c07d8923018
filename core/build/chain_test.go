package build_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/plugins/buildpacks/classic"
)

// fixturePipeline returns a pipeline over the fixture buildpacks in
// testdata/buildpacks, run in build dynos of the process runtime.
func fixturePipeline(t *testing.T) *build.Pipeline {
	t.Helper()
	rt := newRuntime(t, processRT)
	data := t.TempDir()
	var list []build.Buildpack
	for _, name := range []string{"never", "exporter", "consumer"} {
		bp, err := classic.New(classic.Options{Dir: filepath.Join("testdata", "buildpacks", name), Name: "test/" + name, Runtime: rt, WorkDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, build.Buildpack{Name: "test/" + name, Buildpack: bp})
	}
	p, err := build.New(build.Options{DataDir: data, Buildpacks: list})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBuildpackChain runs an explicit two-buildpack chain: the second sees
// what the first exported, config vars stay in ENV_DIR, the cache dir
// survives between builds, the Procfile wins over release defaults and the
// defaults fill the rest.
func TestBuildpackChain(t *testing.T) {
	p := fixturePipeline(t)
	req := func(out *syncBuffer) build.Request {
		return build.Request{App: "chain", SourceDir: "testdata/apps/chain", Buildpacks: []string{"test/exporter", "test/consumer"},
			Config: map[string]string{"SECRET_VAR": "s3cret"}, Output: out}
	}
	var out syncBuffer
	res, err := p.Build(context.Background(), req(&out))
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	for _, want := range []string{"-----> Using buildpacks:\n       1. test/exporter\n       2. test/consumer\n", "Exporter app detected", "Consumer app detected", "secret from env dir is s3cret", "CHAIN_VALUE=from exporter", "cache runs: 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	want := map[string]string{"web": "bin/consumer-web", "worker": "bin/from-procfile"}
	if len(res.Slug.ProcessTypes) != 2 || res.Slug.ProcessTypes["web"] != want["web"] || res.Slug.ProcessTypes["worker"] != want["worker"] {
		t.Errorf("process types %v, want %v", res.Slug.ProcessTypes, want)
	}
	if strings.Join(res.Buildpacks, ",") != "test/exporter,test/consumer" {
		t.Errorf("buildpacks %v", res.Buildpacks)
	}
	var again syncBuffer
	if _, err := p.Build(context.Background(), req(&again)); err != nil {
		t.Fatalf("second build: %v", err)
	}
	if !strings.Contains(again.String(), "cache runs: 2") {
		t.Errorf("the cache dir did not survive between builds:\n%s", again.String())
	}
	if _, err := os.Stat(filepath.Join(p.CacheDir("chain"), "exporter", "runs")); err != nil {
		t.Errorf("cache file: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	p := fixturePipeline(t)
	tests := []struct {
		desc string
		req  build.Request
		want string
	}{
		{desc: "explicit buildpack that does not detect", req: build.Request{App: "errs", SourceDir: "testdata/apps/chain", Buildpacks: []string{"test/never"}},
			want: "app not compatible with buildpack: test/never"},
		{desc: "unknown buildpack", req: build.Request{App: "errs", SourceDir: "testdata/apps/chain", Buildpacks: []string{"heroku/cobol"}},
			want: `unknown buildpack "heroku/cobol"`},
		{desc: "nothing detected", req: build.Request{App: "errs", SourceDir: t.TempDir()}, want: "no default language could be detected"},
		{desc: "bad app name", req: build.Request{App: "Bad_Name", SourceDir: t.TempDir()}, want: "app name"},
		{desc: "no source", req: build.Request{App: "errs"}, want: "exactly one of"},
		{desc: "bad config var name", req: build.Request{App: "errs", SourceDir: t.TempDir(), Config: map[string]string{"../x": "y"}}, want: `config var "../x"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var out syncBuffer
			tc.req.Output = &out
			_, err := p.Build(context.Background(), tc.req)
			if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.want)
			}
			if !strings.Contains(out.String(), " !     ") {
				t.Fatalf("output does not show the error:\n%s", out.String())
			}
		})
	}
}

func TestCanonicalBuildpackName(t *testing.T) {
	tests := []struct{ desc, in, want string }{
		{desc: "short name", in: "heroku/go", want: "heroku/go"},
		{desc: "repository URL", in: "https://example.com/heroku/heroku-buildpack-nodejs", want: "heroku/nodejs"},
		{desc: "with .git and ref", in: "https://example.com/heroku/heroku-buildpack-python.git#v250", want: "heroku/python"},
		{desc: "registry tarball", in: "https://example.com/buildpacks/heroku/go.tgz", want: "heroku/go"},
		{desc: "third party", in: "https://example.com/acme/acme-buildpack", want: "https://example.com/acme/acme-buildpack"},
		{desc: "bare word", in: "procfile", want: "procfile"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := build.CanonicalBuildpackName(tc.in); got != tc.want {
				t.Fatalf("CanonicalBuildpackName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// fakeBP is a buildpack that is never run; CheckBuildpack only looks it up.
type fakeBP struct{ core.Buildpack }

func TestCheckBuildpack(t *testing.T) {
	list := []build.Buildpack{{Name: "heroku/go", Buildpack: fakeBP{}}, {Name: "wasm:/opt/bp.wasm", Buildpack: fakeBP{}}}
	p, err := build.New(build.Options{DataDir: t.TempDir(), Buildpacks: list})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		desc, ref, want string
		mention         []string
	}{
		{desc: "short name", ref: "heroku/go", want: "heroku/go"},
		{desc: "official URL", ref: "https://github.com/heroku/heroku-buildpack-go.git#v1", want: "heroku/go"},
		{desc: "installed plugin", ref: "wasm:/opt/bp.wasm", want: "wasm:/opt/bp.wasm"},
		{desc: "other plugin", ref: "plugin:/usr/bin/true", mention: []string{`"plugin:/usr/bin/true"`, "heroku/go, wasm:/opt/bp.wasm"}},
		{desc: "unknown", ref: "heroku/cobol", mention: []string{"heroku/cobol"}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := p.CheckBuildpack(context.Background(), tt.ref)
			if tt.mention == nil {
				if err != nil || got != tt.want {
					t.Fatalf("CheckBuildpack(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("CheckBuildpack(%q) = %q, %v; want ErrInvalid", tt.ref, got, err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
		})
	}
	if got := strings.Join(p.Names(), ","); got != "heroku/go,wasm:/opt/bp.wasm" {
		t.Errorf("Names = %s", got)
	}
}
