package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paasd/paasd/core"
)

// loopConn is a Conn that serves calls with a Handler in-process, copying the
// bytes, and carries errors through the wire encoding as a real transport would.
type loopConn struct{ h *Mux }

func (c loopConn) Call(ctx context.Context, method string, req []byte) ([]byte, error) {
	out, err := c.h.Call(ctx, method, append([]byte(nil), req...))
	if err != nil {
		return nil, DecodeError(EncodeError(err))
	}
	return out, nil
}

func (c loopConn) Stream(ctx context.Context, method string, req []byte, recv func([]byte) error) error {
	err := c.h.Stream(ctx, method, req, recv)
	if err != nil && !errors.Is(err, errStop) {
		return DecodeError(EncodeError(err))
	}
	return err
}

var errStop = errors.New("stop")

// fakeDrain records batches; its behaviour is set by function fields.
type fakeDrain struct {
	info    core.PluginInfo
	deliver func(core.DrainBatch) (core.DeliverResult, error)
	got     []core.DrainBatch
	cfg     core.ConfigureRequest
}

func (f *fakeDrain) Describe(context.Context) (core.PluginInfo, error) { return f.info, nil }
func (f *fakeDrain) Configure(_ context.Context, r core.ConfigureRequest) error {
	f.cfg = r
	return nil
}
func (f *fakeDrain) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	f.got = append(f.got, b)
	if f.deliver != nil {
		return f.deliver(b)
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}
func (f *fakeDrain) Filter(_ context.Context, m []core.LogMessage) ([]core.LogMessage, error) {
	return m[:len(m)/2], nil
}

// recordingValidator records definitions and fails the ones listed in bad.
type recordingValidator struct {
	defs []string
	bad  map[string]string
}

func (v *recordingValidator) Validate(def string, data []byte) error {
	v.defs = append(v.defs, def)
	if msg, ok := v.bad[def]; ok {
		return fmt.Errorf("%s: %w", msg, core.ErrSchemaViolation)
	}
	return nil
}

func TestDrainRoundTrip(t *testing.T) {
	ctx := context.Background()
	impl := &fakeDrain{info: core.PluginInfo{ID: "test.drain", Contract: core.ContractDrain, APIVersions: []int{1}}}
	v := &recordingValidator{}
	d := NewDrainClient(&Client{Conn: loopConn{NewDrainMux(impl)}, Name: "plugin:test", Contract: core.ContractDrain, Validator: v})

	info, err := d.Describe(ctx)
	require.NoError(t, err)
	assert.Equal(t, "test.drain", info.ID)
	require.NoError(t, d.Configure(ctx, core.ConfigureRequest{APIVersion: 1, Config: json.RawMessage(`{"a":1}`)}))
	assert.JSONEq(t, `{"a":1}`, string(impl.cfg.Config))

	now := time.Date(2026, 11, 22, 1, 2, 3, 123456000, time.UTC)
	batch := core.DrainBatch{DrainID: "d.1", FrameID: "f1", Messages: []core.LogMessage{{Time: now, Priority: 190, Host: "host", App: "app", ProcID: "web.1", Text: "hi"}}}
	res, err := d.Deliver(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Accepted)
	require.Len(t, impl.got, 1)
	assert.True(t, impl.got[0].Messages[0].Time.Equal(now))

	out, err := d.Filter(ctx, []core.LogMessage{{Text: "a"}, {Text: "b"}})
	require.NoError(t, err)
	assert.Len(t, out, 1)
	assert.Equal(t, []string{"#PluginInfo", "#DrainDeliverResponse", "#DrainFilterResponse"}, v.defs)
}

func TestRemoteErrorsKeepSentinels(t *testing.T) {
	impl := &fakeDrain{deliver: func(core.DrainBatch) (core.DeliverResult, error) {
		return core.DeliverResult{}, fmt.Errorf("destination down: %w", core.ErrUnavailable)
	}}
	d := NewDrainClient(&Client{Conn: loopConn{NewDrainMux(impl)}, Name: "plugin:x", Contract: core.ContractDrain})
	_, err := d.Deliver(context.Background(), core.DrainBatch{})
	require.Error(t, err)
	assert.ErrorIs(t, err, core.ErrUnavailable)
	assert.True(t, IsRemote(err))
	assert.Contains(t, err.Error(), "plugin:x: Deliver: destination down")
}

func TestSchemaViolationNamesPlugin(t *testing.T) {
	impl := &fakeDrain{}
	v := &recordingValidator{bad: map[string]string{"#DrainDeliverResponse": "accepted: must be >= 0"}}
	d := NewDrainClient(&Client{Conn: loopConn{NewDrainMux(impl)}, Name: "wasm:bad.wasm", Contract: core.ContractDrain, Validator: v})
	_, err := d.Deliver(context.Background(), core.DrainBatch{})
	assert.ErrorIs(t, err, core.ErrSchemaViolation)
	assert.Contains(t, err.Error(), "plugin wasm:bad.wasm: Deliver response: accepted: must be >= 0")
}

func TestMuxErrors(t *testing.T) {
	m := NewDrainMux(&fakeDrain{})
	_, err := m.Call(context.Background(), "Nope", nil)
	assert.ErrorIs(t, err, core.ErrUnsupported)
	_, err = m.Call(context.Background(), MethodDeliver, []byte("{not json"))
	assert.ErrorIs(t, err, core.ErrInvalid)
	assert.Contains(t, err.Error(), "Deliver: decode request")
	err = m.Stream(context.Background(), "Logs", nil, func([]byte) error { return nil })
	assert.ErrorIs(t, err, core.ErrUnsupported)
}

func TestDecodeErrorMalformed(t *testing.T) {
	err := DecodeError([]byte("garbage"))
	var re *RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "internal", re.Code)
	assert.Contains(t, err.Error(), "malformed error from plugin")
}

// fakeRuntime implements core.DynoRuntime with canned answers.
type fakeRuntime struct{ lines []core.LogLine }

func (fakeRuntime) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.rt", Contract: core.ContractRuntime, APIVersions: []int{1}}, nil
}
func (fakeRuntime) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (fakeRuntime) Start(_ context.Context, s core.DynoSpec) (core.DynoStatus, error) {
	return core.DynoStatus{ID: s.ID, Name: s.Name, State: core.DynoStarting}, nil
}
func (fakeRuntime) Stop(_ context.Context, id string, grace time.Duration) (core.StopResult, error) {
	return core.StopResult{Killed: grace == 0, Status: core.DynoStatus{ID: id, State: core.DynoDown}}, nil
}
func (fakeRuntime) Signal(_ context.Context, id, sig string) error {
	if id == "missing" {
		return fmt.Errorf("dyno %s: %w", id, core.ErrNotFound)
	}
	return nil
}
func (fakeRuntime) Inspect(_ context.Context, id string) (core.DynoStatus, error) {
	return core.DynoStatus{ID: id, State: core.DynoUp}, nil
}
func (fakeRuntime) List(context.Context) ([]core.DynoStatus, error) {
	return []core.DynoStatus{{ID: "a"}, {ID: "b"}}, nil
}
func (fakeRuntime) Wait(_ context.Context, id string) (core.DynoStatus, error) {
	code := 3
	return core.DynoStatus{ID: id, State: core.DynoCrashed, ExitCode: &code}, nil
}
func (r fakeRuntime) Logs(_ context.Context, _ string, fn func(core.LogLine) error) error {
	for _, l := range r.lines {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}
func (fakeRuntime) Remove(context.Context, string) error { return nil }

func TestRuntimeRoundTrip(t *testing.T) {
	ctx := context.Background()
	impl := fakeRuntime{lines: []core.LogLine{{Stream: "stdout", Text: "one"}, {Stream: "stderr", Text: "two"}}}
	r := NewRuntimeClient(&Client{Conn: loopConn{NewRuntimeMux(impl)}, Name: "plugin:rt", Contract: core.ContractRuntime})

	st, err := r.Start(ctx, core.DynoSpec{ID: "x1", Name: "web.1"})
	require.NoError(t, err)
	assert.Equal(t, core.DynoStarting, st.State)
	sr, err := r.Stop(ctx, "x1", 0)
	require.NoError(t, err)
	assert.True(t, sr.Killed)
	sr, err = r.Stop(ctx, "x1", time.Second)
	require.NoError(t, err)
	assert.False(t, sr.Killed)
	assert.ErrorIs(t, r.Signal(ctx, "missing", "TERM"), core.ErrNotFound)
	l, err := r.List(ctx)
	require.NoError(t, err)
	assert.Len(t, l, 2)
	w, err := r.Wait(ctx, "x1")
	require.NoError(t, err)
	require.NotNil(t, w.ExitCode)
	assert.Equal(t, 3, *w.ExitCode)

	var got []string
	require.NoError(t, r.Logs(ctx, "x1", func(l core.LogLine) error { got = append(got, l.Stream+":"+l.Text); return nil }))
	assert.Equal(t, []string{"stdout:one", "stderr:two"}, got)

	// A consumer error stops the stream and comes back.
	err = r.Logs(ctx, "x1", func(core.LogLine) error { return errStop })
	assert.ErrorIs(t, err, errStop)
}

func TestStreamNeedsStreamer(t *testing.T) {
	type callOnly struct{ Conn }
	r := NewRuntimeClient(&Client{Conn: callOnly{loopConn{NewRuntimeMux(fakeRuntime{})}}, Name: "wasm:rt", Contract: core.ContractRuntime})
	err := r.Logs(context.Background(), "x", func(core.LogLine) error { return nil })
	assert.ErrorIs(t, err, core.ErrUnsupported)
}

// fakeBuildpack writes output while compiling.
type fakeBuildpack struct{}

func (fakeBuildpack) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.bp", Contract: core.ContractBuildpack, APIVersions: []int{1}}, nil
}
func (fakeBuildpack) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (fakeBuildpack) Detect(_ context.Context, r core.DetectRequest) (core.DetectResponse, error) {
	return core.DetectResponse{Detected: r.BuildDir == "/go-app", Name: "Go"}, nil
}
func (fakeBuildpack) Compile(_ context.Context, r core.CompileRequest) (core.CompileResponse, error) {
	fmt.Fprintf(r.Output, "-----> Compiling %s\n", r.BuildDir)
	return core.CompileResponse{Export: map[string]string{"GOPATH": "/app/go"}}, nil
}
func (fakeBuildpack) Release(context.Context, core.ReleaseRequest) (core.ReleaseResponse, error) {
	return core.ReleaseResponse{DefaultProcessTypes: map[string]string{"web": "./bin/app"}}, nil
}

func TestBuildpackOutputCrossesWire(t *testing.T) {
	ctx := context.Background()
	b := NewBuildpackClient(&Client{Conn: loopConn{NewBuildpackMux(fakeBuildpack{})}, Name: "plugin:bp", Contract: core.ContractBuildpack})
	det, err := b.Detect(ctx, core.DetectRequest{BuildDir: "/go-app"})
	require.NoError(t, err)
	assert.True(t, det.Detected)
	var out strings.Builder
	resp, err := b.Compile(ctx, core.CompileRequest{BuildDir: "/go-app", Output: &out})
	require.NoError(t, err)
	assert.Equal(t, "-----> Compiling /go-app\n", out.String())
	assert.Empty(t, resp.Output)
	assert.Equal(t, "/app/go", resp.Export["GOPATH"])
	rel, err := b.Release(ctx, core.ReleaseRequest{BuildDir: "/go-app"})
	require.NoError(t, err)
	assert.Equal(t, "./bin/app", rel.DefaultProcessTypes["web"])
}

func TestLimitedBufferKeepsTail(t *testing.T) {
	var l limitedBuffer
	chunk := strings.Repeat("x", 1000)
	for i := 0; i < 2000; i++ {
		_, _ = l.Write([]byte(chunk))
	}
	_, _ = l.Write([]byte("END"))
	assert.Len(t, l.String(), maxCompileOutput)
	assert.True(t, strings.HasSuffix(l.String(), "END"))
}

func TestNewMuxForRejectsWrongContract(t *testing.T) {
	assert.Nil(t, NewMuxFor(core.ContractRuntime, &fakeDrain{}))
	assert.NotNil(t, NewMuxFor(core.ContractDrain, &fakeDrain{}))
	assert.NotNil(t, NewMuxFor(core.ContractBuildpack, fakeBuildpack{}))
}

// lineConn streams fixed raw messages for any stream call.
type lineConn struct {
	Conn
	msgs [][]byte
}

func (c lineConn) Stream(_ context.Context, _ string, _ []byte, recv func([]byte) error) error {
	for _, m := range c.msgs {
		if err := recv(m); err != nil {
			return err
		}
	}
	return nil
}

func TestStreamValidation(t *testing.T) {
	tests := []struct {
		desc    string
		msgs    []string
		bad     map[string]string
		wantErr string
		wantN   int
	}{
		{desc: "good lines", msgs: []string{`{"stream":"stdout","text":"a"}`, `{"stream":"stderr","text":"b"}`}, wantN: 2},
		{desc: "first line checked by the schema", msgs: []string{`{"stream":"x","text":"a"}`},
			bad: map[string]string{"#RuntimeLogsResponse": "stream: invalid value"}, wantErr: "stream: invalid value"},
		{desc: "later lines decoded strictly", msgs: []string{`{"stream":"stdout","text":"a"}`, `{"stream":"stdout","bogus":1}`},
			wantErr: `unknown field "bogus"`, wantN: 1},
		{desc: "oversized line", msgs: []string{`{"stream":"stdout","text":"` + strings.Repeat("x", MaxStreamMessage) + `"}`},
			wantErr: "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var raw [][]byte
			for _, m := range tc.msgs {
				raw = append(raw, []byte(m))
			}
			v := &recordingValidator{bad: tc.bad}
			r := NewRuntimeClient(&Client{Conn: lineConn{msgs: raw}, Name: "plugin:rt", Contract: core.ContractRuntime, Validator: v})
			n := 0
			err := r.Logs(context.Background(), "x", func(core.LogLine) error { n++; return nil })
			assert.Equal(t, tc.wantN, n)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Len(t, v.defs, 1, "only the first message goes to the schema")
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, core.ErrSchemaViolation)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// failingBuildpack prints why its Compile fails, then fails.
type failingBuildpack struct{ fakeBuildpack }

func (failingBuildpack) Compile(_ context.Context, r core.CompileRequest) (core.CompileResponse, error) {
	fmt.Fprintf(r.Output, " !     go.mod: syntax error\n")
	return core.CompileResponse{}, fmt.Errorf("compile failed: %w", core.ErrInvalid)
}

func TestFailedCompileOutputCrossesWire(t *testing.T) {
	b := NewBuildpackClient(&Client{Conn: loopConn{NewBuildpackMux(failingBuildpack{})}, Name: "plugin:bp", Contract: core.ContractBuildpack})
	var out strings.Builder
	_, err := b.Compile(context.Background(), core.CompileRequest{BuildDir: "/go-app", Output: &out})
	require.ErrorIs(t, err, core.ErrInvalid)
	assert.Equal(t, " !     go.mod: syntax error\n", out.String())
	assert.NotContains(t, err.Error(), "syntax error", "the output is not repeated in the error")
}

func TestContextWithOutput(t *testing.T) {
	var out strings.Builder
	assert.Nil(t, OutputFromContext(context.Background()))
	assert.Equal(t, &out, OutputFromContext(ContextWithOutput(context.Background(), &out)))
}
