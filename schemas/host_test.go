package schemas_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/wire"
	"github.com/paasd/paasd/schemas"
)

// drain is a fake LogDrain (and LogFilter) answering with canned values.
type drain struct {
	info     core.PluginInfo
	accepted int
	filtered []core.LogMessage
}

func (d *drain) Describe(context.Context) (core.PluginInfo, error)      { return d.info, nil }
func (d *drain) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (d *drain) Deliver(context.Context, core.DrainBatch) (core.DeliverResult, error) {
	return core.DeliverResult{Accepted: d.accepted}, nil
}
func (d *drain) Filter(context.Context, []core.LogMessage) ([]core.LogMessage, error) {
	return d.filtered, nil
}

// muxOpener serves every plugin: reference in-process through the wire
// layer's Mux, so responses cross the same JSON boundary as a real plugin's.
type muxOpener struct{ d *drain }

func (o muxOpener) Open(context.Context, string, core.Contract) (wire.Conn, io.Closer, error) {
	return wire.NewDrainMux(o.d), io.NopCloser(nil), nil
}

// TestHostValidates loads drains through pluginhost.Host with the real
// Validator: Describe answers, configs and contract responses are checked.
func TestHostValidates(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	good := core.PluginInfo{ID: "example.drain.test", Contract: core.ContractDrain, APIVersions: []int{1}, ConfigSchema: `url: string, timeout?: int & >0`}
	msg := core.LogMessage{Time: time.Unix(0, 0).UTC(), Priority: 190, Host: "host", App: "app", ProcID: "web.1", Text: "hi"}
	for _, tc := range []struct {
		desc    string
		d       drain
		config  string
		loadErr error
		loadMsg string
		call    func(core.LogDrain) error
		callErr error
		callMsg string
	}{
		{desc: "valid plugin, filter drops everything", d: drain{info: good, accepted: 1}, config: `{"url":"syslog://x"}`,
			call: func(d core.LogDrain) error {
				if _, err := d.Deliver(context.Background(), core.DrainBatch{}); err != nil {
					return err
				}
				_, err := d.(core.LogFilter).Filter(context.Background(), []core.LogMessage{msg})
				return err
			}},
		{desc: "bad plugin id", d: drain{info: core.PluginInfo{ID: "Test Drain", Contract: core.ContractDrain, APIVersions: []int{1}}},
			loadErr: core.ErrSchemaViolation, loadMsg: `#PluginInfo: id: invalid value "Test Drain"`},
		{desc: "config breaks the plugin's schema", d: drain{info: good}, config: `{"url":"x","timeout":0}`,
			loadErr: core.ErrInvalid, loadMsg: "config: timeout: invalid value 0 (out of bound >0)"},
		{desc: "unknown config field", d: drain{info: good}, config: `{"url":"x","urll":"y"}`,
			loadErr: core.ErrInvalid, loadMsg: "config: urll: field not allowed"},
		{desc: "negative accepted count", d: drain{info: good, accepted: -1}, config: `{"url":"x"}`,
			call: func(d core.LogDrain) error {
				_, err := d.Deliver(context.Background(), core.DrainBatch{})
				return err
			}, callErr: core.ErrSchemaViolation, callMsg: "#DrainDeliverResponse: accepted: invalid value -1 (out of bound >=0)"},
		{desc: "filter returns a bad priority", d: drain{info: good, filtered: []core.LogMessage{{Time: msg.Time, Priority: 500, Host: "h", App: "app", ProcID: "web.1"}}}, config: `{"url":"x"}`,
			call: func(d core.LogDrain) error {
				_, err := d.(core.LogFilter).Filter(context.Background(), []core.LogMessage{msg})
				return err
			}, callErr: core.ErrSchemaViolation, callMsg: "#DrainFilterResponse: messages.0.priority: invalid value 500 (out of bound <=191)"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			h := &pluginhost.Host{Validator: v, GoPlugin: muxOpener{&tc.d}}
			defer h.Close()
			var cfg json.RawMessage
			if tc.config != "" {
				cfg = json.RawMessage(tc.config)
			}
			l, err := h.Load(context.Background(), core.ContractDrain, "plugin:/usr/lib/paasd/test-drain", cfg)
			if tc.loadErr != nil {
				if !errors.Is(err, tc.loadErr) || !strings.Contains(err.Error(), tc.loadMsg) {
					t.Fatalf("Load: got %v, want %v containing %q", err, tc.loadErr, tc.loadMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = tc.call(l.Impl.(core.LogDrain))
			if tc.callErr == nil {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.callErr) || !strings.Contains(err.Error(), tc.callMsg) {
				t.Fatalf("call: got %v, want %v containing %q", err, tc.callErr, tc.callMsg)
			}
		})
	}
}

// TestEveryWireMethodHasDefinitions checks that every method the wire layer
// carries has a request and a response definition, named as wire.Client
// derives them.
func TestEveryWireMethodHasDefinitions(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, d := range v.Definitions() {
		have[d] = true
	}
	methods := map[string][]string{
		"Drain":     {wire.MethodDeliver, wire.MethodFilter},
		"Buildpack": {wire.MethodDetect, wire.MethodCompile, wire.MethodRelease},
		"Runtime":   {wire.MethodStart, wire.MethodStop, wire.MethodSignal, wire.MethodInspect, wire.MethodList, wire.MethodWait, wire.MethodLogs, wire.MethodRemove},
		"Router":    {wire.MethodSetRoutes, wire.MethodLogs},
		"Broker":    {wire.MethodCatalog, wire.MethodProvision, wire.MethodUpdate, wire.MethodDeprovision, wire.MethodLastOperation, wire.MethodBind, wire.MethodUnbind},
	}
	for contract, ms := range methods {
		for _, m := range ms {
			for _, suffix := range []string{"Request", "Response"} {
				if def := "#" + contract + m + suffix; !have[def] {
					t.Errorf("no definition %s", def)
				}
			}
		}
	}
	for _, def := range []string{"#PluginInfo", "#ConfigureRequest"} {
		if !have[def] {
			t.Errorf("no definition %s", def)
		}
	}
}

// TestGoValuesValidate encodes values of the core types with encoding/json,
// as the wire layer does, and checks them against their definitions: nil
// slices and maps (null), zero times and empty limits must pass.
func TestGoValuesValidate(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	code := 137
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		desc, def string
		value     any
	}{
		{desc: "fresh dyno status", def: "#RuntimeStartResponse", value: core.DynoStatus{ID: "d1", Name: "web.1", State: core.DynoStarting}},
		{desc: "killed dyno", def: "#RuntimeStopResponse", value: core.StopResult{Killed: true, Status: core.DynoStatus{ID: "d1", Name: "web.1", State: core.DynoCrashed, ExitCode: &code, Signal: "KILL", StartedAt: now, FinishedAt: now, OOMKilled: true}}},
		{desc: "empty dyno list", def: "#RuntimeListResponse", value: wire.DynoList{}},
		{desc: "dyno spec", def: "#RuntimeStartRequest", value: core.DynoSpec{ID: "d1", App: "myapp", Name: "run.4821", Type: "run", Command: "bash", TTY: true}},
		{desc: "filter dropped all", def: "#DrainFilterResponse", value: wire.FilterMessages{}},
		{desc: "empty route table", def: "#RouterSetRoutesRequest", value: core.RouteTable{Version: 1}},
		{desc: "router log", def: "#RouterLogsResponse", value: wire.RouterLog{App: "myapp", Message: core.LogMessage{Time: now, Priority: 190, Host: "host", App: "heroku", ProcID: "router", Text: "at=info"}}},
		{desc: "empty catalog", def: "#BrokerCatalogResponse", value: core.Catalog{}},
		{desc: "sync provision", def: "#BrokerProvisionResponse", value: core.OperationResponse{}},
		{desc: "bind", def: "#BrokerBindResponse", value: core.BindResponse{Config: map[string]string{"URL": "redis://127.0.0.1:6379"}}},
		{desc: "not detected", def: "#BuildpackDetectResponse", value: core.DetectResponse{}},
		{desc: "empty release metadata", def: "#BuildpackReleaseResponse", value: core.ReleaseResponse{}},
		{desc: "config-only release", def: "#Release", value: core.Release{ID: "r1", AppID: "a1", Version: 1, Status: core.ReleaseSucceeded, CreatedAt: now, UpdatedAt: now}},
		{desc: "plugin info", def: "#PluginInfo", value: core.PluginInfo{ID: "paasd.runtime.runc", Contract: core.ContractRuntime, APIVersions: core.RuntimeAPIVersions}},
		{desc: "configure", def: "#ConfigureRequest", value: core.ConfigureRequest{APIVersion: 1}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			b, err := json.Marshal(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Validate(tc.def, b); err != nil {
				t.Errorf("%s: %v", b, err)
			}
		})
	}
}
