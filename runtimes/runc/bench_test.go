package runc

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
)

// benchSlug writes a slug holding the test binary as the conformance app
// (TestMain makes it serve HTTP on $PORT).
func benchSlug(b testing.TB) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	src, err := os.Open(exe)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	fi, _ := src.Stat()
	p := filepath.Join(b.TempDir(), "slug.tar")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: conformance.RuntimeAppName, Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(tw, src); err != nil {
		b.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return p
}

// waitListen polls addr until a TCP connection succeeds.
func waitListen(b *testing.B, addr string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("%s never accepted", addr)
}

// percentiles returns the p50 and p95 of d in milliseconds.
func percentiles(d []time.Duration) (p50, p95 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	p := func(q float64) float64 {
		return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
	}
	return p(0.50), p(0.95)
}

// BenchmarkStartToListen measures the time from Start to the dyno's web
// process accepting on $PORT, next to a bare `runc run` of the same root
// file system and app. The two alternate within each iteration, so both see
// the same machine load. "cached-slug" reuses the slug tree extracted by the
// previous start (a restarted dyno, or a second dyno of the release);
// "fresh-slug" extracts the slug at every start. Run with -benchtime=50x
// (bench/runtimes.sh).
func BenchmarkStartToListen(b *testing.B) {
	testenv.NeedRoot(b)
	runcBin := testenv.NeedCommand(b, "runc")
	slugPath := benchSlug(b)
	b.Run("cached-slug", func(b *testing.B) { benchStart(b, runcBin, slugPath, defaultIdleSlugs) })
	b.Run("fresh-slug", func(b *testing.B) { benchStart(b, runcBin, slugPath, 0) })
}

func benchStart(b *testing.B, runcBin, slugPath string, idleKeep int) {
	r, err := New(testConfig(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	r.slugs.idleKeep = idleKeep
	ctx := context.Background()
	bare := newBareRunc(b, r, runcBin, slugPath)
	var ours, peer []time.Duration
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("bench-%d", i)
		b.Cleanup(func() {
			_, _ = r.Stop(ctx, id, time.Second)
			_ = r.Remove(ctx, id)
		})
		t0 := time.Now()
		st, err := r.Start(ctx, core.DynoSpec{ID: id, Name: "web.1", Type: "web", Slug: slugPath, Port: 5000,
			Command: "exec ./" + conformance.RuntimeAppName + " serve", Env: map[string]string{"PORT": "5000"},
			Limits: core.DynoLimits{MemoryBytes: 512 << 20, CPUShares: 512, Pids: 256}})
		if err != nil {
			b.Fatal(err)
		}
		waitListen(b, st.Address)
		ours = append(ours, time.Since(t0))
		if _, err := r.Stop(ctx, id, 5*time.Second); err != nil {
			b.Fatal(err)
		}
		if err := r.Remove(ctx, id); err != nil {
			b.Fatal(err)
		}
		peer = append(peer, bare.run(b, i))
	}
	p50, p95 := percentiles(ours)
	bp50, bp95 := percentiles(peer)
	b.ReportMetric(p50, "paasd-p50-ms")
	b.ReportMetric(p95, "paasd-p95-ms")
	b.ReportMetric(bp50, "runc-p50-ms")
	b.ReportMetric(bp95, "runc-p95-ms")
	b.ReportMetric(p50/bp50, "p50-ratio")
	b.ReportMetric(p95/bp95, "p95-ratio")
	b.ReportMetric(0, "ns/op")
}

// bareRunc runs the benchmark's app with the runc command on the host
// stack's root: no slug (the app is extracted once), host network.
type bareRunc struct {
	bin, bundle, root string
	port              int
	devnull           *os.File
}

func newBareRunc(b *testing.B, r *Runtime, runcBin, slugPath string) *bareRunc {
	stk, err := r.stacks.resolve(HostStack)
	if err != nil {
		b.Fatal(err)
	}
	bundle := b.TempDir()
	app := filepath.Join(bundle, "app")
	if err := os.Mkdir(app, 0o755); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xf", slugPath, "-C", app).CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := specconv.Example()
	s.Root = &specs.Root{Path: stk.rootfs, Readonly: true}
	s.Process.Terminal = false
	s.Process.Args = []string{"/bin/sh", "-c", "exec /app/" + conformance.RuntimeAppName + " serve"}
	s.Process.Env = []string{"PORT=" + strconv.Itoa(port)}
	s.Process.Cwd = "/app"
	s.Process.User = specs.User{UID: 65534, GID: 65534}
	s.Mounts = append(s.Mounts, stk.mounts...)
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/app", Type: "bind", Source: app, Options: []string{"rbind", "ro"}})
	var nss []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace {
			nss = append(nss, ns)
		}
	}
	s.Linux.Namespaces = nss
	cfg, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), cfg, 0o644); err != nil {
		b.Fatal(err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	return &bareRunc{bin: runcBin, bundle: bundle, root: b.TempDir(), port: port, devnull: devnull}
}

// run starts one container, waits for the port, deletes the container and
// returns the time to the port.
func (br *bareRunc) run(b *testing.B, i int) time.Duration {
	id := fmt.Sprintf("bare-%d-%d", os.Getpid(), i)
	b.Cleanup(func() { _ = exec.Command(br.bin, "--root", br.root, "delete", "-f", id).Run() })
	t0 := time.Now()
	// Not a pipe: the detached container keeps its stdio open.
	cmd := exec.Command(br.bin, "--root", br.root, "run", "-d", "--bundle", br.bundle, id)
	cmd.Stdout, cmd.Stderr = br.devnull, br.devnull
	if err := cmd.Run(); err != nil {
		b.Fatalf("runc run: %v", err)
	}
	waitListen(b, "127.0.0.1:"+strconv.Itoa(br.port))
	d := time.Since(t0)
	if out, err := exec.Command(br.bin, "--root", br.root, "delete", "-f", id).CombinedOutput(); err != nil {
		b.Fatalf("runc delete: %v: %s", err, out)
	}
	return d
}

// BenchmarkIdleDynos starts 200 idle dynos and reports the runtime's own
// heap per dyno and the time to start and to stop all of them.
func BenchmarkIdleDynos(b *testing.B) {
	testenv.NeedRoot(b)
	const n = 200
	for b.Loop() {
		r, err := New(testConfig(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		// Warm the host stack and the network once.
		if _, err := r.Start(ctx, core.DynoSpec{ID: "warm", Command: "true"}); err != nil {
			b.Fatal(err)
		}
		_, _ = r.Wait(ctx, "warm")
		_ = r.Remove(ctx, "warm")
		var before, after goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		t0 := time.Now()
		parallel(n, 4, func(i int) {
			if _, err := r.Start(ctx, core.DynoSpec{ID: fmt.Sprintf("idle-%d", i), Name: fmt.Sprintf("worker.%d", i),
				Command: "sleep 3600", Env: map[string]string{"DYNO": fmt.Sprintf("worker.%d", i)},
				Limits: core.DynoLimits{MemoryBytes: 64 << 20, Pids: 64}}); err != nil {
				b.Error(err)
			}
		})
		startAll := time.Since(t0)
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		t1 := time.Now()
		parallel(n, 8, func(i int) {
			if _, err := r.Stop(ctx, fmt.Sprintf("idle-%d", i), 10*time.Second); err != nil {
				b.Error(err)
			}
		})
		stopAll := time.Since(t1)
		parallel(n, 8, func(i int) { _ = r.Remove(ctx, fmt.Sprintf("idle-%d", i)) })
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n/1024, "heap-KB/dyno")
		b.ReportMetric(startAll.Seconds(), "start-200-s")
		b.ReportMetric(stopAll.Seconds(), "stop-200-s")
		b.ReportMetric(0, "ns/op")
	}
}

// parallel runs fn(0..n-1) on workers goroutines.
func parallel(n, workers int, fn func(int)) {
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()
}
