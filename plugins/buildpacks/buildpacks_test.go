package buildpacks_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/plugins/buildpacks"
	"github.com/paasd/paasd/plugins/buildpacks/classic"
	"github.com/paasd/paasd/runtimes/process"
)

// TestWrite writes the scripts and checks each buildpack is complete.
func TestWrite(t *testing.T) {
	dirs, err := buildpacks.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range buildpacks.Names {
		for _, s := range []string{"detect", "compile", "release"} {
			fi, err := os.Stat(filepath.Join(dirs[name], "bin", s))
			if err != nil || fi.Mode()&0o111 == 0 {
				t.Errorf("%s/bin/%s: %v (mode %v)", name, s, err, fi.Mode())
			}
		}
	}
}

// target is one reference buildpack's conformance setup.
type target struct {
	name, app, other, broken string
	types                    []string
	tools                    []string
}

var targets = []target{
	{name: "go", app: "go", other: "nodejs", broken: "broken-go", types: []string{"web"}},
	{name: "nodejs", app: "nodejs", other: "go", broken: "broken-nodejs", types: []string{"web"}, tools: []string{"node", "npm"}},
	{name: "python", app: "python", other: "nodejs", broken: "broken-python", types: []string{"web"}, tools: []string{"python3"}},
	{name: "static", app: "static", other: "go", types: []string{"web"}, tools: []string{"python3"}},
	{name: "procfile", app: "procfile", other: "static", tools: []string{"python3"}},
}

// TestConformance runs the buildpack suite against every reference
// buildpack through the classic runner, in build dynos of the process
// runtime; the compiled dir is made a slug and its web process must answer
// HTTP 200.
func TestConformance(t *testing.T) {
	testenv.Short(t, "compiles the sample apps many times")
	rt, err := process.New(process.Config{StateDir: filepath.Join(t.TempDir(), "rt")})
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := buildpacks.Write(filepath.Join(t.TempDir(), "bps"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "go" {
				if _, err := os.Stat("/usr/local/go/bin/go"); err != nil {
					testenv.Missing(t, "Go toolchain at /usr/local/go")
				}
			}
			for _, tool := range tc.tools {
				testenv.NeedCommand(t, tool)
			}
			newBP := func() core.Buildpack {
				bp, err := classic.New(classic.Options{Dir: dirs[tc.name], Name: buildpacks.HerokuName(tc.name), Runtime: rt, WorkDir: work, Env: proxyEnv()})
				if err != nil {
					t.Fatal(err)
				}
				return bp
			}
			tg := conformance.InProcessBuildpack(newBP, nil)
			tg.App = filepath.Join("testdata", tc.app)
			tg.OtherApp = filepath.Join("testdata", tc.other)
			if tc.broken != "" {
				tg.BrokenApp = filepath.Join("testdata", tc.broken)
			}
			tg.WantProcessTypes = tc.types
			tg.Verify = func(ct *conformance.T, buildDir string, types map[string]string) { verifyWeb(ct, rt, buildDir, types) }
			if tc.name == "go" {
				tg.WarmCache = warmCache(t, newBP(), tg.App)
			}
			conformance.Buildpack(t, tg)
		})
	}
}

// warmCache compiles app once and returns the cache dir it left, so that
// the suite's many compiles of the Go app do not each build the standard
// library from scratch.
func warmCache(t *testing.T, bp core.Buildpack, app string) string {
	t.Helper()
	root := t.TempDir()
	b, c, e := filepath.Join(root, "b"), filepath.Join(root, "c"), filepath.Join(root, "e")
	for _, d := range []string{b, c, e} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.ReadDir(app)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range src {
		data, err := os.ReadFile(filepath.Join(app, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b, f.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bp.Compile(context.Background(), core.CompileRequest{BuildDir: b, CacheDir: c, EnvDir: e}); err != nil {
		t.Fatalf("warm the cache: %v", err)
	}
	return c
}

// proxyEnv passes the module proxy settings on to build dynos.
func proxyEnv() map[string]string {
	env := map[string]string{}
	for _, k := range []string{"GOPROXY", "GOSUMDB", "GOFLAGS"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	return env
}

// verifyWeb makes a slug of buildDir, starts its web process with rt and
// expects HTTP 200.
func verifyWeb(t *conformance.T, rt core.DynoRuntime, buildDir string, types map[string]string) {
	web := types["web"]
	if pf, err := os.ReadFile(filepath.Join(buildDir, "Procfile")); err == nil {
		for _, l := range strings.Split(string(pf), "\n") {
			if c, ok := strings.CutPrefix(l, "web:"); ok {
				web = strings.TrimSpace(c)
			}
		}
	}
	if web == "" {
		t.Fatalf("no web process type")
	}
	slugs := t.TempDir()
	sum, _, err := build.CreateSlug(t.Context(), buildDir, slugs, 0)
	if err != nil {
		t.Fatalf("slug: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("%v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	id := fmt.Sprintf("verify-%d", time.Now().UnixNano())
	st, err := rt.Start(t.Context(), core.DynoSpec{ID: id, App: "verify", Name: "web.1", Type: "web", Command: web, Port: port,
		Slug: build.SlugFile(slugs, sum),
		Env:  map[string]string{"PORT": fmt.Sprint(port), "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/app"}})
	if err != nil {
		t.Fatalf("start web: %v", err)
	}
	defer func() {
		_, _ = rt.Stop(context.Background(), id, 5*time.Second)
		_ = rt.Remove(context.Background(), id)
	}()
	addr := st.Address
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("web process %q: no HTTP 200 within 60 s: %v", web, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
