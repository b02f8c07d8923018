package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/addons"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/internal/testenv"
	"github.com/paasd/paasd/schemas"
	"github.com/paasd/paasd/sdk"
	"github.com/paasd/paasd/sdk/examples/broker-memory/memory"
)

// build compiles this example into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "broker-memory")
	cmd := exec.Command(testenv.NeedCommand(t, "go"), "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func host(t *testing.T) *pluginhost.Host {
	t.Helper()
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	h := &pluginhost.Host{
		Validator: v,
		GoPlugin:  &goplugin.Opener{Logger: slog.New(slog.DiscardHandler)},
		Logger:    slog.New(slog.DiscardHandler),
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestCheck(t *testing.T) {
	info, err := sdk.Check(memory.New())
	if err != nil || info.Contract != core.ContractBroker {
		t.Fatalf("sdk.Check = %+v, %v", info, err)
	}
}

// TestConformanceOverGoPlugin builds the example, loads it as plugin:PATH
// through pluginhost with the go-plugin opener and CUE validation of every
// message, and runs the broker suite against it.
func TestConformanceOverGoPlugin(t *testing.T) {
	testenv.Short(t, "builds and runs the plugin process")
	bin := build(t)
	target := conformance.HostBroker(host(t), "plugin:"+bin, json.RawMessage(`{"async_polls":1}`))
	target.OtherParameters = json.RawMessage(`{"size":2}`)
	conformance.Broker(t, target)
}

// TestAddonsOverGoPlugin provisions through core/addons with the plugin
// process behind it.
func TestAddonsOverGoPlugin(t *testing.T) {
	testenv.Short(t, "builds and runs the plugin process")
	bin := build(t)
	ctx := context.Background()
	l, err := host(t).Load(ctx, core.ContractBroker, "plugin:"+bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := addons.New(addons.Options{PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddBroker(ctx, "plugin:"+bin, l.Broker()); err != nil {
		t.Fatal(err)
	}
	r, err := s.Provision(ctx, addons.ProvisionRequest{AppID: "a", AppName: "shop", Plan: "memory-kv:large"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Attachment.Name != "MEMORY_KV" || r.Attachment.ConfigVars["MEMORY_KV_URL"] == "" {
		t.Errorf("attachment %+v", r.Attachment)
	}
	if _, err := s.Deprovision(ctx, r.Addon, []addons.Attachment{r.Attachment}); err != nil {
		t.Fatal(err)
	}
}
