// Command testplugin is a paasd plugin for the goplugin tests: a log drain
// (or, with PAASD_TESTPLUGIN_CONTRACT=router, a router with a Logs stream of
// three lines, or of one line and then nothing until the host hangs up when
// PAASD_TESTPLUGIN_LOGS=forever)
// whose behaviour is chosen by the batch it is given.
//
// Deliver looks at the batch's AppName:
//
//	"pid"     answers Accepted = the process id
//	"sleep"   logs "sleeping" on stderr, then sleeps for the duration in URL (or until cancelled)
//	"crash"   exits the process with status 3 in the middle of the call
//	"bad"     answers Accepted = -1, which breaks #DrainDeliverResponse
//	"missing" fails with an error wrapping core.ErrNotFound
//	"getenv"  answers Accepted = 1 when the variable named by URL is set, else 0
//	anything else answers Accepted = len(Messages)
//
// Every Deliver fails with core.ErrConflict until Configure was called.
// PAASD_TESTPLUGIN_VERSIONS ("1,2") sets the API versions it describes.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk"
)

type drain struct {
	configured atomic.Bool
}

var (
	_ core.LogDrain = (*drain)(nil)
	_ core.Router   = (*router)(nil)
)

func versions() []int {
	s := os.Getenv("PAASD_TESTPLUGIN_VERSIONS")
	if s == "" {
		return []int{1}
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(f)
		if err == nil {
			out = append(out, v)
		}
	}
	return out
}

func (d *drain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID: "paasd.test.drain", Contract: core.ContractDrain, APIVersions: versions(),
		Version: "0.0.1", ConfigSchema: "{ tag?: string }",
	}, nil
}

func (d *drain) Configure(_ context.Context, req core.ConfigureRequest) error {
	d.configured.Store(true)
	fmt.Fprintf(os.Stderr, "testplugin configured: api %d config %s\n", req.APIVersion, req.Config)
	return nil
}

func (d *drain) Deliver(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	if !d.configured.Load() {
		return core.DeliverResult{}, fmt.Errorf("drain used before Configure: %w", core.ErrConflict)
	}
	switch b.AppName {
	case "pid":
		return core.DeliverResult{Accepted: os.Getpid()}, nil
	case "sleep":
		dur, err := time.ParseDuration(b.URL)
		if err != nil {
			return core.DeliverResult{}, fmt.Errorf("sleep duration %q: %v: %w", b.URL, err, core.ErrInvalid)
		}
		fmt.Fprintf(os.Stderr, "sleeping for %s\n", dur)
		select {
		case <-time.After(dur):
		case <-ctx.Done():
			return core.DeliverResult{}, ctx.Err()
		}
	case "crash":
		os.Exit(3)
	case "getenv":
		if _, ok := os.LookupEnv(b.URL); ok {
			return core.DeliverResult{Accepted: 1}, nil
		}
		return core.DeliverResult{}, nil
	case "bad":
		return core.DeliverResult{Accepted: -1}, nil
	case "missing":
		return core.DeliverResult{}, fmt.Errorf("app %q: %w", b.AppName, core.ErrNotFound)
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

// router streams three router log lines from Logs.
type router struct{}

func (router) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID: "paasd.test.router", Contract: core.ContractRouter, APIVersions: versions(),
		Capabilities: []string{core.RouterCapLogs},
	}, nil
}

func (router) Configure(context.Context, core.ConfigureRequest) error { return nil }

func (router) SetRoutes(context.Context, core.RouteTable) error { return nil }

func (router) Logs(ctx context.Context, fn func(string, core.LogMessage) error) error {
	n := 3
	if os.Getenv("PAASD_TESTPLUGIN_LOGS") == "forever" {
		n = 1 // then wait for the host to go away
		defer func() { <-ctx.Done() }()
	}
	for i := 1; i <= n; i++ {
		msg := core.LogMessage{
			Time: time.Unix(1700000000, 0).UTC(), Priority: 190, Host: "host", App: "heroku", ProcID: "router",
			Text: fmt.Sprintf("at=info method=GET path=\"/%d\" status=200", i),
		}
		if err := fn("myapp", msg); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if os.Getenv("PAASD_TESTPLUGIN_CONTRACT") == "router" {
		sdk.Serve(router{})
	}
	sdk.Serve(&drain{})
}
