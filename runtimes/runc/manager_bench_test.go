package runc

import (
	"context"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/dynos"
	"github.com/paasd/paasd/internal/testenv"
)

// managerWatch turns the manager's callbacks into a wake-up channel and
// records the last web backends each app published. The callbacks run
// under the manager's lock, so they only record and poke.
type managerWatch struct {
	mu       sync.Mutex
	backends map[string][]core.Backend
	poke     chan struct{}
}

func newManagerWatch() *managerWatch {
	return &managerWatch{backends: map[string][]core.Backend{}, poke: make(chan struct{}, 1)}
}

func (w *managerWatch) wake() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

func (w *managerWatch) routes(app string, b []core.Backend, _ core.AppState) {
	w.mu.Lock()
	w.backends[app] = b
	w.mu.Unlock()
	w.wake()
}

func (w *managerWatch) log(string, core.LogMessage) { w.wake() }

// until waits, woken by the manager's callbacks, for cond to hold.
func (w *managerWatch) until(b *testing.B, what string, cond func() bool) {
	deadline := time.After(5 * time.Minute)
	for !cond() {
		select {
		case <-w.poke:
		case <-time.After(time.Second): // a callback-free change
		case <-deadline:
			b.Fatalf("%s: timed out", what)
		}
	}
}

func (w *managerWatch) routed(app string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.backends[app]) > 0
}

// newBenchManager returns a dyno manager over a fresh runc runtime, with
// its default options except the callbacks.
func newBenchManager(b *testing.B) (*Runtime, *dynos.Manager, *managerWatch) {
	r, err := New(testConfig(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	w := newManagerWatch()
	m := dynos.New(r, dynos.Options{SameAddressPort: true, Routes: w.routes, Log: w.log})
	b.Cleanup(m.Close)
	return r, m, w
}

// BenchmarkManagerScaleToRoute measures, through the dyno manager, the time
// from Apply scaling a web process 0 → 1 to the manager publishing the
// dyno's backend to the router (its boot check found $PORT accepting), next
// to a bare `runc run` of the same root file system and app, alternating
// within each iteration as BenchmarkStartToListen does. Each iteration then
// scales back to 0 and waits until the dyno is gone (not timed). Run with
// -benchtime=50x (bench/runtimes.sh).
func BenchmarkManagerScaleToRoute(b *testing.B) {
	testenv.NeedRoot(b)
	runcBin := testenv.NeedCommand(b, "runc")
	slugPath := benchSlug(b)
	r, m, w := newBenchManager(b)
	bare := newBareRunc(b, r, runcBin, slugPath)
	ctx := context.Background()
	const app = "bench"
	desired := func(n int) dynos.Desired {
		return dynos.Desired{App: app, Release: 1, Slug: slugPath, Processes: []dynos.Process{
			{Type: "web", Command: "exec ./" + conformance.RuntimeAppName + " serve", Quantity: n},
		}}
	}
	var ours, peer []time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if err := m.Apply(ctx, desired(1)); err != nil {
			b.Fatal(err)
		}
		w.until(b, "web.1 routed", func() bool { return w.routed(app) })
		ours = append(ours, time.Since(t0))
		if err := m.Apply(ctx, desired(0)); err != nil {
			b.Fatal(err)
		}
		w.until(b, "web.1 gone", func() bool { return len(m.List(app)) == 0 })
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

// BenchmarkManagerIdleDynos scales a `sleep` worker 0 → 200 → 0 through the
// dyno manager with one Apply each way, and reports the time until all 200
// are up and until all are gone, and paasd's own cost per idle dyno: Go heap
// (after GC), goroutines and RSS, each as the delta over the manager and
// runtime with no dynos, divided by 200; and the CPU paasd uses over 5 s
// with the 200 dynos idle. The heap and goroutines include the
// runtime's share (BenchmarkIdleDynos measures that alone).
func BenchmarkManagerIdleDynos(b *testing.B) {
	testenv.NeedRoot(b)
	const n = 200
	for b.Loop() {
		_, m, w := newBenchManager(b)
		ctx := context.Background()
		slug := benchSlug(b)
		const app = "idle"
		desired := func(q int) dynos.Desired {
			return dynos.Desired{App: app, Release: 1, Slug: slug, Processes: []dynos.Process{
				{Type: "worker", Command: "sleep 3600", Quantity: q, Size: "eco"},
			}}
		}
		count := func(want core.DynoState) int {
			k := 0
			for _, x := range m.List(app) {
				if x.State == want {
					k++
				}
			}
			return k
		}
		// Warm the host stack, the slug cache and the network once.
		if err := m.Apply(ctx, desired(1)); err != nil {
			b.Fatal(err)
		}
		w.until(b, "warm-up dyno up", func() bool { return count(core.DynoUp) == 1 })
		if err := m.Apply(ctx, desired(0)); err != nil {
			b.Fatal(err)
		}
		w.until(b, "warm-up dyno gone", func() bool { return len(m.List(app)) == 0 })

		var before, after goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		g0, rss0 := goruntime.NumGoroutine(), rssKB(b)
		t0 := time.Now()
		if err := m.Apply(ctx, desired(n)); err != nil {
			b.Fatal(err)
		}
		w.until(b, "200 up", func() bool { return count(core.DynoUp) == n })
		up := time.Since(t0)
		time.Sleep(time.Second) // let per-dyno start-up work (log followers, waits) settle
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		g1, rss1 := goruntime.NumGoroutine(), rssKB(b)
		idle := idleCPU(b, 5*time.Second)
		t1 := time.Now()
		if err := m.Apply(ctx, desired(0)); err != nil {
			b.Fatal(err)
		}
		w.until(b, "200 gone", func() bool { return len(m.List(app)) == 0 })
		down := time.Since(t1)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n/1024, "heap-KB/dyno")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/dyno")
		b.ReportMetric(float64(rss1-rss0)/n, "rss-KB/dyno")
		b.ReportMetric(idle, "idle-cpu-%")
		b.ReportMetric(up.Seconds(), "up-200-s")
		b.ReportMetric(down.Seconds(), "gone-200-s")
		b.ReportMetric(0, "ns/op")
	}
}

// idleCPU returns the CPU this process used over d (user and system, in
// percent of one core) while doing nothing but supervise its dynos.
func idleCPU(b *testing.B, d time.Duration) float64 {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, t0 := cpu(), time.Now()
	time.Sleep(d)
	return 100 * float64(cpu()-c0) / float64(time.Since(t0))
}

// rssKB returns this process's resident set size (VmRSS).
func rssKB(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
