package addons_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/addons"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/sdk/examples/broker-memory/memory"
)

// flaky is the memory broker whose server is unreachable while down is set.
type flaky struct {
	*memory.Broker
	down *atomic.Bool
}

func (f flaky) Configure(ctx context.Context, req core.ConfigureRequest) error {
	if f.down.Load() {
		return fmt.Errorf("broker flaky: connect to 127.0.0.1:1: connection refused: %w", core.ErrUnavailable)
	}
	return f.Broker.Configure(ctx, req)
}

func flakyHost(t *testing.T, down *atomic.Bool) *pluginhost.Host {
	t.Helper()
	reg := pluginhost.NewRegistry()
	reg.MustRegister(core.ContractBroker, "flaky", func() core.Plugin { return flaky{memory.New(), down} })
	reg.MustRegister(core.ContractBroker, "memory", func() core.Plugin { return memory.New() })
	h := &pluginhost.Host{Registry: reg, Logger: slog.New(slog.DiscardHandler)}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// TestStartRetriesUnreachableBroker: a broker whose server is down is
// pending (add-on requests answer ErrUnavailable naming it) and loads in
// the background once the server is back.
func TestStartRetriesUnreachableBroker(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	h := flakyHost(t, &down)
	s, stop, err := addons.Start(context.Background(), h, []addons.BrokerConfig{{Ref: "builtin:flaky"}}, quietOpts(),
		addons.Retry{Min: time.Millisecond, Max: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	st := s.Brokers()
	if len(st) != 1 || st[0].Up || st[0].Ref != "builtin:flaky" || !errors.Is(st[0].Pending.Err, core.ErrUnavailable) {
		t.Fatalf("states while down = %+v", st)
	}
	_, err = s.Provision(context.Background(), addons.ProvisionRequest{AppID: "a", AppName: "a", Plan: "memory-kv"})
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "builtin:flaky is not available yet") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("provision while down: %v", err)
	}
	down.Store(false)
	deadline := time.Now().Add(30 * time.Second)
	for !s.Brokers()[0].Up {
		if time.Now().After(deadline) {
			t.Fatalf("broker never came up: %+v", s.Brokers())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := s.Brokers(); len(st[0].Services) != 1 || st[0].Services[0] != "memory-kv" {
		t.Fatalf("states when up = %+v", st)
	}
	if _, err := s.Resolve("memory-kv"); err != nil {
		t.Fatal(err)
	}
}

// TestStartRefusesBadEntries: an entry that can never work stops start-up
// with an error naming brokers[N] and the cause.
func TestStartRefusesBadEntries(t *testing.T) {
	var down atomic.Bool
	for _, tc := range []struct {
		name    string
		brokers []addons.BrokerConfig
		want    string
		is      error
	}{
		{"bad ref", []addons.BrokerConfig{{Ref: "builtin:memory"}, {Ref: "docker:pg"}}, "brokers[1] (docker:pg)", core.ErrInvalid},
		{"unknown builtin", []addons.BrokerConfig{{Ref: "builtin:nope"}}, "brokers[0] (builtin:nope)", core.ErrNotFound},
		{"bad config", []addons.BrokerConfig{{Ref: "builtin:memory", Config: []byte(`{"nope":1}`)}}, "brokers[0] (builtin:memory)", nil},
		{"catalog clash", []addons.BrokerConfig{{Ref: "builtin:memory"}, {Ref: "builtin:flaky"}}, "brokers[1] (builtin:flaky)", core.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := addons.Start(context.Background(), flakyHost(t, &down), tc.brokers, quietOpts(), addons.Retry{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want %q wrapping %v", err, tc.want, tc.is)
			}
		})
	}
}
