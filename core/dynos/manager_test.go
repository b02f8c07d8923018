package dynos

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paasd/paasd/core"
)

// recorder collects the manager's log lines and route publications.
type recorder struct {
	mu     sync.Mutex
	lines  []string
	routes [][]core.Backend
	states []core.AppState
}

func (r *recorder) log(app string, m core.LogMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, app+" "+m.App+"["+m.ProcID+"]: "+m.Text)
}

func (r *recorder) route(app string, b []core.Backend, s core.AppState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = append(r.routes, append([]core.Backend(nil), b...))
	r.states = append(r.states, s)
}

func (r *recorder) has(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func (r *recorder) count(sub string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func (r *recorder) lastBackends() []core.Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.routes) == 0 {
		return nil
	}
	return r.routes[len(r.routes)-1]
}

func newTestManager(t *testing.T, rt core.DynoRuntime, o Options) (*Manager, *recorder) {
	t.Helper()
	rec := &recorder{}
	o.Log, o.Routes = rec.log, rec.route
	if o.FirstBackoff == 0 {
		o.FirstBackoff = 20 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 80 * time.Millisecond
	}
	if o.StopGrace == 0 {
		o.StopGrace = 100 * time.Millisecond
	}
	m := New(rt, o)
	t.Cleanup(m.Close)
	return m, rec
}

func desired(rel int, procs ...Process) Desired {
	return Desired{App: "demo-app", AppID: "demo", Release: rel, Slug: "/slugs/x.tgz", Config: map[string]string{"FOO": "bar"}, Processes: procs}
}

func upNames(m *Manager) []string {
	var out []string
	for _, d := range m.List("demo") {
		if d.State == core.DynoUp {
			out = append(out, d.Name)
		}
	}
	return out
}

const wait = 10 * time.Second
const tick = 10 * time.Millisecond

func TestScaleUpAndDown(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{})
	ctx := context.Background()
	require.NoError(t, m.Apply(ctx, desired(1, Process{Type: "web", Command: "serve", Quantity: 2}, Process{Type: "worker", Command: "noport", Quantity: 1})))
	require.Eventually(t, func() bool { return len(upNames(m)) == 3 }, wait, tick)
	require.Eventually(t, func() bool { return len(rec.lastBackends()) == 2 }, wait, tick)
	assert.True(t, rec.has("demo heroku[web.1]: State changed from starting to up"))
	assert.True(t, rec.has("demo heroku[web.2]: Starting process with command `serve`"))
	assert.True(t, rec.has("demo app[web.1]: hello from web.1"), "dyno output reaches the log")

	require.NoError(t, m.Apply(ctx, desired(1, Process{Type: "web", Command: "serve", Quantity: 1})))
	require.Eventually(t, func() bool { return rt.running() == 1 }, wait, tick)
	require.Eventually(t, func() bool { return len(rec.lastBackends()) == 1 }, wait, tick)
	assert.Equal(t, "web.1", rec.lastBackends()[0].Dyno)
	assert.True(t, rec.has("heroku[web.2]: Stopping all processes with SIGTERM (Scaling)"))
	// The runtime reports the stop before the supervisor logs it.
	require.Eventually(t, func() bool { return rec.has("heroku[web.2]: State changed from up to down") }, wait, tick)
}

func TestEachDynoGetsItsOwnPortAndEnv(t *testing.T) {
	rt := newFakeRuntime()
	m, _ := newTestManager(t, rt, Options{BasePort: 6100})
	require.NoError(t, m.Apply(context.Background(), desired(1, Process{Type: "web", Command: "serve", Quantity: 2})))
	require.Eventually(t, func() bool { return len(upNames(m)) == 2 }, wait, tick)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	ports := map[string]bool{}
	for _, d := range rt.dynos {
		ports[d.spec.Env["PORT"]] = true
		assert.Equal(t, d.spec.Name, d.spec.Env["DYNO"])
		assert.Equal(t, "bar", d.spec.Env["FOO"])
		assert.Equal(t, int64(1024<<20), d.spec.Limits.MemoryBytes, "standard-1x by default: twice its 512 MB quota")
	}
	assert.Len(t, ports, 2)
}

func TestNewReleasePreboots(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{})
	ctx := context.Background()
	require.NoError(t, m.Apply(ctx, desired(1, Process{Type: "web", Command: "serve", Quantity: 2})))
	require.Eventually(t, func() bool { return len(rec.lastBackends()) == 2 }, wait, tick)
	rec.mu.Lock()
	first := len(rec.routes)
	rec.mu.Unlock()

	require.NoError(t, m.Apply(ctx, desired(2, Process{Type: "web", Command: "serve", Quantity: 2})))
	require.Eventually(t, func() bool {
		l := m.List("demo")
		if len(l) != 2 {
			return false
		}
		for _, d := range l {
			if d.Release != 2 || d.State != core.DynoUp {
				return false
			}
		}
		return true
	}, wait, tick)
	require.Eventually(t, func() bool { return rt.running() == 2 }, wait, tick)
	assert.True(t, rec.has("(Preboot)"))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, r := range rec.routes[first:] {
		assert.NotEmpty(t, r, "route publication %d after the deploy started left no backend", i)
	}
}

func TestCrashLoopBacksOff(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{})
	require.NoError(t, m.Apply(context.Background(), desired(1, Process{Type: "worker", Command: "crash", Quantity: 1})))
	require.Eventually(t, func() bool { return rec.count("Process crashed; restarting in") >= 3 }, wait, tick)
	assert.True(t, rec.has("heroku[worker.1]: Process exited with status 1"))
	assert.True(t, rec.has("heroku[worker.1]: State changed from up to crashed"))
}

func TestBackoffSchedule(t *testing.T) {
	m := New(newFakeRuntime(), Options{})
	tests := []struct {
		desc    string
		crashes int
		want    time.Duration
	}{
		{desc: "first crash restarts at once", crashes: 0, want: 0},
		{desc: "second waits the first cool-off", crashes: 1, want: 20 * time.Second},
		{desc: "then doubles", crashes: 2, want: 40 * time.Second},
		{desc: "and doubles", crashes: 4, want: 160 * time.Second},
		{desc: "capped at 20 minutes", crashes: 12, want: 20 * time.Minute},
		{desc: "stays capped", crashes: 1000, want: 20 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) { assert.Equal(t, tc.want, m.backoff(tc.crashes)) })
	}
}

func TestBootTimeoutR10(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{BootTimeout: 150 * time.Millisecond})
	require.NoError(t, m.Apply(context.Background(), desired(1, Process{Type: "web", Command: "noport", Quantity: 1})))
	require.Eventually(t, func() bool { return rec.has("Error R10 (Boot timeout) -> Web process failed to bind to $PORT") }, wait, tick)
	require.Eventually(t, func() bool { return rec.has("State changed from starting to crashed") }, wait, tick)
}

func TestExitTimeoutR12(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{})
	ctx := context.Background()
	require.NoError(t, m.Apply(ctx, desired(1, Process{Type: "worker", Command: "stubborn", Quantity: 1})))
	require.Eventually(t, func() bool { return len(upNames(m)) == 1 }, wait, tick)
	require.NoError(t, m.Apply(ctx, desired(1, Process{Type: "worker", Command: "stubborn", Quantity: 0})))
	require.Eventually(t, func() bool { return rec.has("heroku[worker.1]: Error R12 (Exit timeout)") }, wait, tick)
}

func TestOneOffExitCode(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{})
	ctx := context.Background()
	_, err := m.Run(ctx, "demo", RunOptions{Command: "exit:3"})
	assert.ErrorIs(t, err, core.ErrNotFound, "no release yet")
	require.NoError(t, m.Apply(ctx, desired(1)))
	info, err := m.Run(ctx, "demo", RunOptions{Command: "exit:3"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(info.Name, "run."), info.Name)
	code, err := m.Wait(ctx, "demo", info.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, code)
	assert.Equal(t, 0, rec.count("restarting in"), "one-off dynos are not restarted")
	_, err = m.Run(ctx, "demo", RunOptions{Command: " "})
	assert.ErrorIs(t, err, core.ErrInvalid)
	_, err = m.Run(ctx, "demo", RunOptions{Command: "x", Size: "giant"})
	assert.ErrorIs(t, err, core.ErrInvalid)
}

func TestApplyRejectsBadInput(t *testing.T) {
	m, _ := newTestManager(t, newFakeRuntime(), Options{})
	err := m.Apply(context.Background(), desired(1, Process{Type: "web", Command: "serve", Quantity: -1}))
	assert.ErrorIs(t, err, core.ErrInvalid)
	err = m.Apply(context.Background(), desired(1, Process{Type: "web", Command: "serve", Quantity: 1, Size: "hobby-9x"}))
	assert.ErrorIs(t, err, core.ErrInvalid)
	assert.Contains(t, err.Error(), `unknown dyno size "hobby-9x"`)
}

func TestRestartIsNotACrash(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{})
	ctx := context.Background()
	require.NoError(t, m.Apply(ctx, desired(1, Process{Type: "web", Command: "serve", Quantity: 1})))
	require.Eventually(t, func() bool { return len(upNames(m)) == 1 }, wait, tick)
	before := m.List("demo")[0].ID
	require.NoError(t, m.Restart(ctx, "demo", "web.1"))
	require.Eventually(t, func() bool {
		l := m.List("demo")
		return len(l) == 1 && l[0].ID != before && l[0].State == core.DynoUp
	}, wait, tick)
	assert.Equal(t, 0, rec.count("crashed"))
	assert.ErrorIs(t, m.Restart(ctx, "demo", "worker"), core.ErrNotFound)
}

func TestAdoptAfterRestart(t *testing.T) {
	rt := newFakeRuntime()
	ctx := context.Background()
	m1 := New(rt, Options{})
	require.NoError(t, m1.Apply(ctx, desired(1, Process{Type: "web", Command: "serve", Quantity: 2})))
	require.Eventually(t, func() bool { return len(upNames(m1)) == 2 }, wait, tick)
	m1.Close()
	assert.Equal(t, 2, rt.running(), "closing the manager leaves dynos running")
	rt.mu.Lock()
	starts := rt.starts
	rt.mu.Unlock()

	m2, rec := newTestManager(t, rt, Options{})
	n, err := m2.Adopt(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	require.NoError(t, m2.Apply(ctx, desired(1, Process{Type: "web", Command: "serve", Quantity: 2})))
	require.Eventually(t, func() bool { return len(rec.lastBackends()) == 2 }, wait, tick)
	rt.mu.Lock()
	assert.Equal(t, starts, rt.starts, "adopted dynos are not started again")
	rt.mu.Unlock()
}

// TestOneOffOnRelease runs a one-off dyno on a given release (the release
// phase) before the app has any, and while another release is current.
func TestOneOffOnRelease(t *testing.T) {
	rt := newFakeRuntime()
	m, _ := newTestManager(t, rt, Options{})
	ctx := context.Background()
	next := desired(2)
	next.Slug = "/slugs/v2.tar.gz"
	info, err := m.Run(ctx, "demo", RunOptions{Command: "exit:0", Type: "release", On: &next})
	require.NoError(t, err, "a release phase runs before the first release")
	assert.True(t, strings.HasPrefix(info.Name, "release."), info.Name)
	assert.Equal(t, 2, info.Release)
	code, err := m.Wait(ctx, "demo", info.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, code)

	require.NoError(t, m.Apply(ctx, desired(1)))
	info, err = m.Run(ctx, "demo", RunOptions{Command: "exit:4", Type: "release", On: &next})
	require.NoError(t, err)
	assert.Equal(t, 2, info.Release, "runs on the given release, not the current one")
	code, err = m.Wait(ctx, "demo", info.ID)
	require.NoError(t, err)
	assert.Equal(t, 4, code)
}

func TestMemoryQuotaR14(t *testing.T) {
	tests := []struct {
		desc    string
		used    int64
		wantR14 bool
	}{
		{desc: "over the 512 MB quota", used: 600 << 20, wantR14: true},
		{desc: "under the quota", used: 100 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rt := memRuntime{newFakeRuntime(), tc.used}
			m, rec := newTestManager(t, rt, Options{MemoryCheckEvery: 10 * time.Millisecond})
			require.NoError(t, m.Apply(context.Background(), desired(1, Process{Type: "worker", Command: "noport", Quantity: 1})))
			if tc.wantR14 {
				require.Eventually(t, func() bool { return rec.has("heroku[worker.1]: Error R14 (Memory quota exceeded)") }, wait, tick)
				assert.True(t, rec.has("Process running mem=600M(117.2%)"))
				return
			}
			require.Eventually(t, func() bool { return len(upNames(m)) == 1 }, wait, tick)
			time.Sleep(100 * time.Millisecond)
			assert.False(t, rec.has("R14"))
		})
	}
}

func TestHardMemoryLimitIsTwiceTheQuota(t *testing.T) {
	rt := newFakeRuntime()
	m, _ := newTestManager(t, rt, Options{})
	require.NoError(t, m.Apply(context.Background(), desired(1, Process{Type: "worker", Command: "noport", Quantity: 1, Size: "standard-2x"})))
	require.Eventually(t, func() bool { return len(upNames(m)) == 1 }, wait, tick)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, d := range rt.dynos {
		assert.Equal(t, int64(2<<30), d.spec.Limits.MemoryBytes, "R15 kills at twice the 1 GB quota")
	}
}

func TestAttachedOneOffWaitsForItsClient(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{AttachTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	require.NoError(t, m.Apply(ctx, desired(1)))
	info, err := m.Run(ctx, "demo", RunOptions{Command: "exit:0", Attach: true})
	require.NoError(t, err)
	code, err := m.Wait(ctx, "demo", info.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, code)
	assert.True(t, rec.has("Error R13 (Attach error) -> Failed to attach to process within 50ms"))
	rt.mu.Lock()
	defer rt.mu.Unlock()
	assert.Equal(t, 0, rt.starts, "the command never ran without its client")
}

// TestDailyCycleRestartsWithoutCrash: when the cycle period passes, the
// dyno is stopped with "Cycling" and started again at once, as a restart,
// not a crash (no cool-off, no "crashed" state).
func TestDailyCycleRestartsWithoutCrash(t *testing.T) {
	rt := newFakeRuntime()
	m, rec := newTestManager(t, rt, Options{CycleEvery: 50 * time.Millisecond, CycleJitter: -1, FirstBackoff: time.Hour})
	require.NoError(t, m.Apply(context.Background(), desired(1, Process{Type: "worker", Command: "noport", Quantity: 1})))
	require.Eventually(t, func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return rt.starts >= 3
	}, wait, tick, "cycled twice")
	assert.True(t, rec.has("heroku[worker.1]: Cycling"))
	assert.False(t, rec.has("State changed from up to crashed"), "a cycle is not a crash")
	assert.False(t, rec.has("restarting in"), "a cycle has no cool-off")
}
