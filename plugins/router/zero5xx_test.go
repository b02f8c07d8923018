package router

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/internal/testenv"
)

// TestZero5xxDuringDeploys keeps 32 keep-alive connections busy for 5 s
// while the route table moves the app to fresh backends every 150 ms; each
// old backend stops only after the table without it is in place (as with
// preboot). No request may fail or get a 5xx.
func TestZero5xxDuringDeploys(t *testing.T) {
	testenv.Short(t, "5 s of load")
	var errLines sync.Map
	r, addr := startRouter(t, Options{OnLog: func(_ string, m core.LogMessage) {
		if len(m.Text) > 8 && m.Text[:8] == "at=error" {
			errLines.Store(m.Text, true)
		}
	}})
	newDyno := func(gen int) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "gen %d\n", gen)
		}))
		return s
	}
	gen := 1
	cur := []*httptest.Server{newDyno(gen), newDyno(gen)}
	table := func(v int64, ss []*httptest.Server) core.RouteTable {
		var bs []core.Backend
		for i, s := range ss {
			bs = append(bs, core.Backend{Dyno: fmt.Sprintf("web.%d", i+1), Address: s.Listener.Addr().String()})
		}
		return core.RouteTable{Version: v, Routes: []core.Route{{App: "steady", State: core.AppRunning, Backends: bs}}}
	}
	if err := r.SetRoutes(context.Background(), table(1, cur)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ok, bad, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 30 * time.Second}
			defer client.CloseIdleConnections()
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				req.Host = "steady.localhost"
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, resp.Status)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	var deploys int
	var version int64 = 1
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		gen++
		next := []*httptest.Server{newDyno(gen), newDyno(gen)}
		version++
		if err := r.SetRoutes(context.Background(), table(version, next)); err != nil {
			t.Fatal(err)
		}
		for _, s := range cur {
			s.Close() // waits for requests in flight on the old dyno
		}
		cur = next
		deploys++
	}
	wg.Wait()
	for _, s := range cur {
		s.Close()
	}
	t.Logf("%d deploys, %d ok, %d 5xx, %d transport errors", deploys, ok.Load(), bad.Load(), failed.Load())
	errLines.Range(func(k, _ any) bool { t.Log(k); return true })
	if bad.Load() != 0 || failed.Load() != 0 {
		t.Fatalf("%d 5xx and %d failed requests during deploys (first: %v)", bad.Load(), failed.Load(), firstErr.Load())
	}
	if ok.Load() == 0 || deploys < 5 {
		t.Fatalf("load did not run: %d ok, %d deploys", ok.Load(), deploys)
	}
}
