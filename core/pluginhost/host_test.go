package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// stubDrain is a configurable builtin drain.
type stubDrain struct {
	info     core.PluginInfo
	gotCfg   *core.ConfigureRequest
	cfgErr   error
	closed   *bool
	describe func() (core.PluginInfo, error)
}

func (s stubDrain) Describe(context.Context) (core.PluginInfo, error) {
	if s.describe != nil {
		return s.describe()
	}
	return s.info, nil
}
func (s stubDrain) Configure(_ context.Context, r core.ConfigureRequest) error {
	if s.gotCfg != nil {
		*s.gotCfg = r
	}
	return s.cfgErr
}
func (s stubDrain) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}
func (s stubDrain) Close() error {
	if s.closed != nil {
		*s.closed = true
	}
	return nil
}

// fakeValidator rejects configs containing "bad".
type fakeValidator struct{ wire.NoValidation }

func (fakeValidator) ValidateConfig(schema string, cfg []byte) error {
	if strings.Contains(string(cfg), "bad") {
		return fmt.Errorf("url: invalid value %q: %w", "bad", core.ErrInvalid)
	}
	return nil
}

func drainInfo(versions ...int) core.PluginInfo {
	return core.PluginInfo{ID: "test.stub", Contract: core.ContractDrain, APIVersions: versions}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	f := func() core.Plugin { return stubDrain{} }
	require.NoError(t, r.Register(core.ContractDrain, "stub", f))
	assert.ErrorIs(t, r.Register(core.ContractDrain, "stub", f), core.ErrAlreadyExists)
	require.NoError(t, r.Register(core.ContractRouter, "stub", f), "names are per contract")
	assert.ErrorIs(t, r.Register("bogus", "x", f), core.ErrInvalid)
	assert.ErrorIs(t, r.Register(core.ContractDrain, "", f), core.ErrInvalid)
	assert.Panics(t, func() { r.MustRegister(core.ContractDrain, "stub", f) })
	_, err := r.Lookup(core.ContractDrain, "nope")
	assert.ErrorIs(t, err, core.ErrNotFound)
	assert.Contains(t, err.Error(), "known: [stub]")
	assert.Equal(t, []string{"stub"}, r.Names(core.ContractDrain))
}

func TestLoadBuiltin(t *testing.T) {
	var got core.ConfigureRequest
	closed := false
	reg := NewRegistry()
	info := drainInfo(1)
	info.ConfigSchema = "url: string"
	reg.MustRegister(core.ContractDrain, "stub", func() core.Plugin {
		return stubDrain{info: info, gotCfg: &got, closed: &closed}
	})
	h := &Host{Registry: reg, Validator: fakeValidator{}}
	l, err := h.Load(context.Background(), core.ContractDrain, "builtin:stub", json.RawMessage(`{"url":"x"}`))
	require.NoError(t, err)
	assert.Equal(t, 1, l.APIVersion)
	assert.Equal(t, 1, got.APIVersion)
	assert.JSONEq(t, `{"url":"x"}`, string(got.Config))
	require.NotNil(t, l.Drain())
	assert.Nil(t, l.Router())
	require.NoError(t, h.Close())
	assert.True(t, closed)
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		desc     string
		contract core.Contract
		ref      string
		config   string
		plugin   stubDrain
		wantIs   error
		wantMsg  string
	}{
		{desc: "bad ref", contract: core.ContractDrain, ref: "nope", wantIs: core.ErrInvalid, wantMsg: `plugin reference "nope"`},
		{desc: "unknown builtin", contract: core.ContractDrain, ref: "builtin:missing", wantIs: core.ErrNotFound, wantMsg: `builtin:missing: no builtin drain named "missing"`},
		{desc: "wrong contract", contract: core.ContractDrain, ref: "builtin:stub",
			plugin: stubDrain{info: core.PluginInfo{ID: "x.y", Contract: core.ContractRouter, APIVersions: []int{1}}},
			wantIs: core.ErrUnsupported, wantMsg: `implements the "router" contract, not "drain"`},
		{desc: "version mismatch", contract: core.ContractDrain, ref: "builtin:stub", plugin: stubDrain{info: drainInfo(7, 8)},
			wantIs: core.ErrUnsupported, wantMsg: "host speaks [1], plugin speaks [7 8]"},
		{desc: "config without schema", contract: core.ContractDrain, ref: "builtin:stub", config: `{"a":1}`, plugin: stubDrain{info: drainInfo(1)},
			wantIs: core.ErrInvalid, wantMsg: "takes no configuration"},
		{desc: "config breaks schema", contract: core.ContractDrain, ref: "builtin:stub", config: `{"url":"bad"}`,
			plugin: stubDrain{info: func() core.PluginInfo { i := drainInfo(1); i.ConfigSchema = "url: string"; return i }()},
			wantIs: core.ErrInvalid, wantMsg: `builtin:stub: plugin "test.stub" config: url: invalid value "bad"`},
		{desc: "configure fails", contract: core.ContractDrain, ref: "builtin:stub",
			plugin: stubDrain{info: drainInfo(1), cfgErr: fmt.Errorf("no url: %w", core.ErrInvalid)},
			wantIs: core.ErrInvalid, wantMsg: "configure: no url"},
		{desc: "describe fails", contract: core.ContractDrain, ref: "builtin:stub",
			plugin: stubDrain{describe: func() (core.PluginInfo, error) {
				return core.PluginInfo{}, fmt.Errorf("boom: %w", core.ErrPluginFailed)
			}},
			wantIs: core.ErrPluginFailed, wantMsg: "builtin:stub: describe: boom"},
		{desc: "go-plugin disabled", contract: core.ContractDrain, ref: "plugin:/x", wantIs: core.ErrUnsupported, wantMsg: "plugin plugins are not enabled"},
		{desc: "wasm disabled", contract: core.ContractDrain, ref: "wasm:/x.wasm", wantIs: core.ErrUnsupported, wantMsg: "wasm plugins are not enabled"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			reg := NewRegistry()
			reg.MustRegister(core.ContractDrain, "stub", func() core.Plugin { return tc.plugin })
			h := &Host{Registry: reg, Validator: fakeValidator{}}
			var cfg json.RawMessage
			if tc.config != "" {
				cfg = json.RawMessage(tc.config)
			}
			_, err := h.Load(context.Background(), tc.contract, tc.ref, cfg)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.wantIs)
			assert.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

// pipeOpener opens an in-process Mux as if it were a remote plugin.
type pipeOpener struct {
	mux    *wire.Mux
	closed bool
}

type muxConn struct{ m *wire.Mux }

func (c muxConn) Call(ctx context.Context, method string, req []byte) ([]byte, error) {
	out, err := c.m.Call(ctx, method, req)
	if err != nil {
		return nil, wire.DecodeError(wire.EncodeError(err))
	}
	return out, nil
}

func (p *pipeOpener) Open(context.Context, string, core.Contract) (wire.Conn, io.Closer, error) {
	return muxConn{p.mux}, closerFunc(func() error { p.closed = true; return nil }), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestLoadRemoteGoesThroughClient(t *testing.T) {
	op := &pipeOpener{mux: wire.NewDrainMux(stubDrain{info: drainInfo(1)})}
	h := &Host{GoPlugin: op, Validator: fakeValidator{}}
	l, err := h.Load(context.Background(), core.ContractDrain, "plugin:/opt/drain", nil)
	require.NoError(t, err)
	res, err := l.Drain().Deliver(context.Background(), core.DrainBatch{Messages: make([]core.LogMessage, 3)})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Accepted)
	require.NoError(t, l.Close())
	assert.True(t, op.closed)
	require.NoError(t, l.Close(), "second close is a no-op")
}

func TestHostVersions(t *testing.T) {
	for _, c := range core.Contracts {
		assert.NotEmpty(t, HostVersions(c), c)
	}
	assert.Nil(t, HostVersions("bogus"))
}
