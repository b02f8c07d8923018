package dynos

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
)

// fakeRuntime simulates dynos in memory. The command decides behaviour:
// "serve" listens on a loopback port until stopped, "noport" runs without
// listening, "crash" exits 1 at once, "exit:N" exits N, "stubborn" ignores
// SIGTERM (Stop needs SIGKILL).
type fakeRuntime struct {
	mu     sync.Mutex
	dynos  map[string]*fakeDyno
	starts int
}

type fakeDyno struct {
	spec   core.DynoSpec
	status core.DynoStatus
	ln     net.Listener
	exit   chan struct{}
	once   sync.Once
}

func newFakeRuntime() *fakeRuntime { return &fakeRuntime{dynos: map[string]*fakeDyno{}} }

var _ core.DynoRuntime = (*fakeRuntime)(nil)

func (f *fakeRuntime) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.fake", Contract: core.ContractRuntime, APIVersions: []int{1}}, nil
}
func (f *fakeRuntime) Configure(context.Context, core.ConfigureRequest) error { return nil }

func (f *fakeRuntime) Start(_ context.Context, s core.DynoSpec) (core.DynoStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	d := &fakeDyno{spec: s, exit: make(chan struct{}), status: core.DynoStatus{ID: s.ID, Name: s.Name, State: core.DynoStarting, StartedAt: time.Now(), Labels: s.Labels}}
	switch {
	case s.Command == "serve":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return core.DynoStatus{}, err
		}
		d.ln = ln
		d.status.Address = ln.Addr().String()
		d.status.State = core.DynoUp
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	case s.Command == "noport":
		d.status.Address = "127.0.0.1:1" // nothing listens there
	case s.Command == "crash":
		d.finish(1)
	default:
		var code int
		if _, err := fmt.Sscanf(s.Command, "exit:%d", &code); err == nil {
			d.finish(code)
		}
	}
	f.dynos[s.ID] = d
	return d.status, nil
}

func (d *fakeDyno) finish(code int) {
	d.once.Do(func() {
		d.status.State = core.DynoDown
		d.status.ExitCode = &code
		d.status.FinishedAt = time.Now()
		if d.ln != nil {
			d.ln.Close()
		}
		close(d.exit)
	})
}

func (f *fakeRuntime) get(id string) (*fakeDyno, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dynos[id]
	if d == nil {
		return nil, fmt.Errorf("dyno %s: %w", id, core.ErrNotFound)
	}
	return d, nil
}

func (f *fakeRuntime) Stop(_ context.Context, id string, grace time.Duration) (core.StopResult, error) {
	d, err := f.get(id)
	if err != nil {
		return core.StopResult{}, err
	}
	killed := d.spec.Command == "stubborn" || grace == 0
	f.mu.Lock()
	if killed {
		d.finish(137)
	} else {
		d.finish(0)
	}
	st := d.status
	f.mu.Unlock()
	return core.StopResult{Killed: killed, Status: st}, nil
}

func (f *fakeRuntime) Signal(context.Context, string, string) error { return nil }

func (f *fakeRuntime) Inspect(_ context.Context, id string) (core.DynoStatus, error) {
	d, err := f.get(id)
	if err != nil {
		return core.DynoStatus{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return d.status, nil
}

func (f *fakeRuntime) List(context.Context) ([]core.DynoStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []core.DynoStatus
	for _, d := range f.dynos {
		out = append(out, d.status)
	}
	return out, nil
}

func (f *fakeRuntime) Wait(ctx context.Context, id string) (core.DynoStatus, error) {
	d, err := f.get(id)
	if err != nil {
		return core.DynoStatus{}, err
	}
	select {
	case <-d.exit:
		f.mu.Lock()
		defer f.mu.Unlock()
		return d.status, nil
	case <-ctx.Done():
		return core.DynoStatus{}, ctx.Err()
	}
}

func (f *fakeRuntime) Logs(ctx context.Context, id string, fn func(core.LogLine) error) error {
	d, err := f.get(id)
	if err != nil {
		return err
	}
	if err := fn(core.LogLine{Time: time.Now(), Stream: "stdout", Text: "hello from " + d.spec.Name + " PORT=" + d.spec.Env["PORT"]}); err != nil {
		return err
	}
	select {
	case <-d.exit:
	case <-ctx.Done():
	}
	return nil
}

func (f *fakeRuntime) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.dynos, id)
	return nil
}

func (f *fakeRuntime) running() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, d := range f.dynos {
		select {
		case <-d.exit:
		default:
			n++
		}
	}
	return n
}

// memRuntime is a fakeRuntime that reports a fixed memory use.
type memRuntime struct {
	*fakeRuntime
	used int64
}

func (r memRuntime) MemoryStats(_ context.Context, id string) (core.DynoMemory, error) {
	if _, err := r.get(id); err != nil {
		return core.DynoMemory{}, err
	}
	return core.DynoMemory{UsageBytes: r.used}, nil
}
