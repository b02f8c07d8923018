package router

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// TestLogsNeverBlockRequests stalls a Logs subscriber: requests still
// complete, lines beyond the bounded queues are dropped and counted, and
// the subscriber is told how many once it reads again.
func TestLogsNeverBlockRequests(t *testing.T) {
	be := echoBackend(t, "web.1")
	r, addr := startRouter(t, Options{LogBuffer: 16})
	setRoutes(t, r, 1, core.Route{App: "a", Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}})
	release := make(chan struct{})
	var mu sync.Mutex
	var lines []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- r.Logs(ctx, func(app string, m core.LogMessage) error {
			<-release
			mu.Lock()
			lines = append(lines, m.Text)
			mu.Unlock()
			return nil
		})
	}()
	// Wait for the subscription to register.
	for r.logs.subCount.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 1500; i++ {
		if resp, _ := get(t, addr, "a.localhost", "/", nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if r.DroppedLogLines() == 0 {
		t.Fatalf("no line dropped with a stalled subscriber")
	}
	close(release)
	// One more request after the backlog drains brings the overflow notice.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		get(t, addr, "a.localhost", "/", nil)
		mu.Lock()
		for _, l := range lines {
			if strings.HasPrefix(l, "Error L12 (router log buffer overflow): ") {
				mu.Unlock()
				return
			}
		}
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no L12 overflow line among %d lines", len(lines))
}
