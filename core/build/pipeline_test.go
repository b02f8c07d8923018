package build_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/build"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/plugins/buildpacks"
	"github.com/paasd/paasd/plugins/buildpacks/classic"
	"github.com/paasd/paasd/runtimes/process"
	"github.com/paasd/paasd/runtimes/runc"
)

// samples is where the reference buildpacks' sample apps live.
const samples = "../../plugins/buildpacks/testdata"

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runtimeKind names a dyno runtime the end-to-end tests run on.
type runtimeKind string

const (
	processRT runtimeKind = "process"
	runcRT    runtimeKind = "runc"
)

// newRuntime returns a runtime of kind, skipping (failing in CI) when the
// machine cannot run it.
func newRuntime(t testing.TB, kind runtimeKind) core.DynoRuntime {
	t.Helper()
	switch kind {
	case runcRT:
		testenv.NeedRoot(t)
		rt, err := runc.New(runc.Config{StateDir: filepath.Join(t.TempDir(), "runc"), CgroupParent: "/paasd-buildtest",
			Bridge: "paasdbld0", Subnet: "10.245.0.0/16"})
		if err != nil {
			t.Fatalf("runc runtime: %v", err)
		}
		return rt
	default:
		rt, err := process.New(process.Config{StateDir: filepath.Join(t.TempDir(), "process")})
		if err != nil {
			t.Fatalf("process runtime: %v", err)
		}
		return rt
	}
}

// hostEnv passes the Go module proxy settings of the test's environment
// into build dynos.
func hostEnv() map[string]string {
	env := map[string]string{}
	for _, k := range []string{"GOPROXY", "GONOSUMDB", "GOSUMDB", "GOFLAGS", "npm_config_registry"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	return env
}

// newPipeline returns a pipeline with the reference buildpacks over rt.
func newPipeline(t testing.TB, rt core.DynoRuntime, dataDir string) *build.Pipeline {
	t.Helper()
	bps, err := buildpacks.Reference(buildpacks.Options{
		Dir: filepath.Join(dataDir, "buildpacks"), Runtime: rt,
		Classic: classic.Options{Env: hostEnv(), WorkDir: filepath.Join(dataDir, "tmp"), Size: "performance-m"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	var list []build.Buildpack
	for _, bp := range bps {
		list = append(list, build.Buildpack{Name: bp.Name(), Buildpack: bp})
	}
	p, err := build.New(build.Options{DataDir: dataDir, Buildpacks: list})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// needTools skips (fails in CI) when a sample's toolchain is missing.
func needTools(t testing.TB, sample string) {
	t.Helper()
	switch sample {
	case "go", "go-deps", "broken-go":
		if _, err := os.Stat("/usr/local/go/bin/go"); err != nil {
			testenv.Missing(t, "Go toolchain at /usr/local/go")
		}
	case "nodejs":
		testenv.NeedCommand(t, "node")
		testenv.NeedCommand(t, "npm")
	case "python", "static", "procfile":
		testenv.NeedCommand(t, "python3")
	}
}

// startWeb starts the slug's web process with rt and returns its address.
func startWeb(t *testing.T, rt core.DynoRuntime, slugPath, command string) string {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("web-%d", time.Now().UnixNano())
	port := freePort(t)
	st, err := rt.Start(ctx, core.DynoSpec{
		ID: id, App: "sample", Name: "web.1", Type: "web", Command: command, Slug: slugPath, Port: port,
		Env: map[string]string{"PORT": fmt.Sprint(port), "DYNO": "web.1", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/app"},
	})
	if err != nil {
		t.Fatalf("start web dyno: %v", err)
	}
	t.Cleanup(func() {
		_, _ = rt.Stop(context.Background(), id, 5*time.Second)
		_ = rt.Remove(context.Background(), id)
	})
	if st.Address == "" {
		st.Address = fmt.Sprintf("127.0.0.1:%d", port)
	}
	return st.Address
}

// get polls url until it answers 200 or a generous deadline passes.
func get(t *testing.T, rt core.DynoRuntime, url string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
			last = fmt.Errorf("status %d: %s", resp.StatusCode, b)
		} else {
			last = err
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("GET %s: no 200 within 90 s: %v", url, last)
	return ""
}
