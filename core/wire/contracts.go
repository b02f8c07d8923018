package wire

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/paasd/paasd/core"
)

// Contract method names, one constant per method that crosses the wire.
const (
	MethodDeliver = "Deliver"
	MethodFilter  = "Filter"

	MethodDetect  = "Detect"
	MethodCompile = "Compile"
	MethodRelease = "Release"

	MethodStart   = "Start"
	MethodStop    = "Stop"
	MethodSignal  = "Signal"
	MethodInspect = "Inspect"
	MethodList    = "List"
	MethodWait    = "Wait"
	MethodLogs    = "Logs"
	MethodRemove  = "Remove"

	MethodSetRoutes = "SetRoutes"

	MethodCatalog       = "Catalog"
	MethodProvision     = "Provision"
	MethodUpdate        = "Update"
	MethodDeprovision   = "Deprovision"
	MethodLastOperation = "LastOperation"
	MethodBind          = "Bind"
	MethodUnbind        = "Unbind"
)

// ---- log drain ----

type drainClient struct{ base }

// NewDrainClient returns a core.LogDrain (and core.LogFilter) that calls c.
func NewDrainClient(c *Client) interface {
	core.LogDrain
	core.LogFilter
	core.HealthChecker
} {
	return drainClient{base{c}}
}

func (d drainClient) Deliver(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	return Invoke[core.DrainBatch, core.DeliverResult](ctx, d.c, MethodDeliver, b)
}

// FilterMessages is the wire form of a Filter call and its answer.
type FilterMessages struct {
	Messages []core.LogMessage `json:"messages"`
}

func (d drainClient) Filter(ctx context.Context, msgs []core.LogMessage) ([]core.LogMessage, error) {
	out, err := Invoke[FilterMessages, FilterMessages](ctx, d.c, MethodFilter, FilterMessages{msgs})
	return out.Messages, err
}

// NewDrainMux serves d; Filter is served when d implements core.LogFilter.
func NewDrainMux(d core.LogDrain) *Mux {
	m := NewMux()
	handleBase(m, d)
	Handle(m, MethodDeliver, d.Deliver)
	if f, ok := d.(core.LogFilter); ok {
		Handle(m, MethodFilter, func(ctx context.Context, in FilterMessages) (FilterMessages, error) {
			out, err := f.Filter(ctx, in.Messages)
			return FilterMessages{out}, err
		})
	}
	return m
}

// ---- buildpack ----

type buildpackClient struct{ base }

// NewBuildpackClient returns a core.Buildpack that calls c. Compile output
// arrives in the response and is copied to CompileRequest.Output when set.
func NewBuildpackClient(c *Client) core.Buildpack { return buildpackClient{base{c}} }

func (b buildpackClient) Detect(ctx context.Context, req core.DetectRequest) (core.DetectResponse, error) {
	return Invoke[core.DetectRequest, core.DetectResponse](ctx, b.c, MethodDetect, req)
}

func (b buildpackClient) Compile(ctx context.Context, req core.CompileRequest) (core.CompileResponse, error) {
	if req.Output != nil {
		ctx = ContextWithOutput(ctx, req.Output)
	}
	resp, err := Invoke[core.CompileRequest, core.CompileResponse](ctx, b.c, MethodCompile, req)
	var re *RemoteError
	if err != nil && req.Output != nil && errors.As(err, &re) && re.Output != "" {
		_, _ = io.WriteString(req.Output, re.Output)
	}
	if req.Output != nil && resp.Output != "" {
		_, _ = req.Output.Write([]byte(resp.Output))
		resp.Output = ""
	}
	return resp, err
}

func (b buildpackClient) Release(ctx context.Context, req core.ReleaseRequest) (core.ReleaseResponse, error) {
	return Invoke[core.ReleaseRequest, core.ReleaseResponse](ctx, b.c, MethodRelease, req)
}

type outputKey struct{}

// ContextWithOutput returns ctx carrying w, where a transport that can stream
// a plugin's output as it runs (wasmhost tees a Wasm buildpack's standard
// output and error) writes it. The buildpack client sets it from
// CompileRequest.Output.
func ContextWithOutput(ctx context.Context, w io.Writer) context.Context {
	return context.WithValue(ctx, outputKey{}, w)
}

// OutputFromContext returns the writer [ContextWithOutput] put in ctx, or nil.
func OutputFromContext(ctx context.Context) io.Writer {
	w, _ := ctx.Value(outputKey{}).(io.Writer)
	return w
}

// NewBuildpackMux serves b. Compile output is collected into the response.
func NewBuildpackMux(b core.Buildpack) *Mux {
	m := NewMux()
	handleBase(m, b)
	Handle(m, MethodDetect, b.Detect)
	Handle(m, MethodCompile, func(ctx context.Context, req core.CompileRequest) (core.CompileResponse, error) {
		var out limitedBuffer
		req.Output = &out
		resp, err := b.Compile(ctx, req)
		if resp.Output == "" {
			resp.Output = out.String()
		}
		if err != nil && resp.Output != "" {
			err = &OutputError{Err: err, Output: resp.Output}
		}
		return resp, err
	})
	Handle(m, MethodRelease, b.Release)
	return m
}

// limitedBuffer keeps the last 1 MiB written to it.
type limitedBuffer struct{ b []byte }

const maxCompileOutput = 1 << 20

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > maxCompileOutput {
		l.b = append(l.b[:0], l.b[len(l.b)-maxCompileOutput:]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// ---- dyno runtime ----

// DynoRef names a dyno in runtime requests.
type DynoRef struct {
	ID string `json:"id"`
}

// StopRequest is the wire form of Stop.
type StopRequest struct {
	ID          string `json:"id"`
	GraceMillis int64  `json:"grace_ms"`
}

// SignalRequest is the wire form of Signal.
type SignalRequest struct {
	ID     string `json:"id"`
	Signal string `json:"signal"`
}

// DynoList is the wire form of List's answer.
type DynoList struct {
	Dynos []core.DynoStatus `json:"dynos"`
}

type runtimeClient struct{ base }

// NewRuntimeClient returns a core.DynoRuntime that calls c. Logs needs a
// streaming Conn. Attach is not offered over the wire in API version 1.
func NewRuntimeClient(c *Client) core.DynoRuntime { return runtimeClient{base{c}} }

func (r runtimeClient) Start(ctx context.Context, s core.DynoSpec) (core.DynoStatus, error) {
	return Invoke[core.DynoSpec, core.DynoStatus](ctx, r.c, MethodStart, s)
}

func (r runtimeClient) Stop(ctx context.Context, id string, grace time.Duration) (core.StopResult, error) {
	return Invoke[StopRequest, core.StopResult](ctx, r.c, MethodStop, StopRequest{id, grace.Milliseconds()})
}

func (r runtimeClient) Signal(ctx context.Context, id, sig string) error {
	_, err := Invoke[SignalRequest, empty](ctx, r.c, MethodSignal, SignalRequest{id, sig})
	return err
}

func (r runtimeClient) Inspect(ctx context.Context, id string) (core.DynoStatus, error) {
	return Invoke[DynoRef, core.DynoStatus](ctx, r.c, MethodInspect, DynoRef{id})
}

func (r runtimeClient) List(ctx context.Context) ([]core.DynoStatus, error) {
	out, err := Invoke[empty, DynoList](ctx, r.c, MethodList, empty{})
	return out.Dynos, err
}

func (r runtimeClient) Wait(ctx context.Context, id string) (core.DynoStatus, error) {
	return Invoke[DynoRef, core.DynoStatus](ctx, r.c, MethodWait, DynoRef{id})
}

func (r runtimeClient) Logs(ctx context.Context, id string, fn func(core.LogLine) error) error {
	return InvokeStream(ctx, r.c, MethodLogs, DynoRef{id}, fn)
}

func (r runtimeClient) Remove(ctx context.Context, id string) error {
	_, err := Invoke[DynoRef, empty](ctx, r.c, MethodRemove, DynoRef{id})
	return err
}

// NewRuntimeMux serves r.
func NewRuntimeMux(r core.DynoRuntime) *Mux {
	m := NewMux()
	handleBase(m, r)
	Handle(m, MethodStart, r.Start)
	Handle(m, MethodStop, func(ctx context.Context, req StopRequest) (core.StopResult, error) {
		return r.Stop(ctx, req.ID, time.Duration(req.GraceMillis)*time.Millisecond)
	})
	Handle(m, MethodSignal, func(ctx context.Context, req SignalRequest) (empty, error) {
		return empty{}, r.Signal(ctx, req.ID, req.Signal)
	})
	Handle(m, MethodInspect, func(ctx context.Context, req DynoRef) (core.DynoStatus, error) { return r.Inspect(ctx, req.ID) })
	Handle(m, MethodList, func(ctx context.Context, _ empty) (DynoList, error) {
		l, err := r.List(ctx)
		return DynoList{l}, err
	})
	Handle(m, MethodWait, func(ctx context.Context, req DynoRef) (core.DynoStatus, error) { return r.Wait(ctx, req.ID) })
	HandleStream(m, MethodLogs, func(ctx context.Context, req DynoRef, send func(core.LogLine) error) error {
		return r.Logs(ctx, req.ID, send)
	})
	Handle(m, MethodRemove, func(ctx context.Context, req DynoRef) (empty, error) { return empty{}, r.Remove(ctx, req.ID) })
	return m
}

// ---- router ----

// RouterLog is one streamed router log line.
type RouterLog struct {
	App     string          `json:"app"`
	Message core.LogMessage `json:"message"`
}

type routerClient struct{ base }

// NewRouterClient returns a core.Router (and core.RouterLogSource, which
// needs a streaming Conn) that calls c.
func NewRouterClient(c *Client) interface {
	core.Router
	core.RouterLogSource
} {
	return routerClient{base{c}}
}

func (r routerClient) SetRoutes(ctx context.Context, t core.RouteTable) error {
	_, err := Invoke[core.RouteTable, empty](ctx, r.c, MethodSetRoutes, t)
	return err
}

func (r routerClient) Logs(ctx context.Context, fn func(string, core.LogMessage) error) error {
	return InvokeStream(ctx, r.c, MethodLogs, empty{}, func(l RouterLog) error { return fn(l.App, l.Message) })
}

// NewRouterMux serves r; Logs is served when r implements core.RouterLogSource.
func NewRouterMux(r core.Router) *Mux {
	m := NewMux()
	handleBase(m, r)
	Handle(m, MethodSetRoutes, func(ctx context.Context, t core.RouteTable) (empty, error) { return empty{}, r.SetRoutes(ctx, t) })
	if ls, ok := r.(core.RouterLogSource); ok {
		HandleStream(m, MethodLogs, func(ctx context.Context, _ empty, send func(RouterLog) error) error {
			return ls.Logs(ctx, func(app string, msg core.LogMessage) error { return send(RouterLog{app, msg}) })
		})
	}
	return m
}

// ---- add-on broker ----

type brokerClient struct{ base }

// NewBrokerClient returns a core.AddonBroker that calls c.
func NewBrokerClient(c *Client) core.AddonBroker { return brokerClient{base{c}} }

func (b brokerClient) Catalog(ctx context.Context) (core.Catalog, error) {
	return Invoke[empty, core.Catalog](ctx, b.c, MethodCatalog, empty{})
}

func (b brokerClient) Provision(ctx context.Context, r core.ProvisionRequest) (core.OperationResponse, error) {
	return Invoke[core.ProvisionRequest, core.OperationResponse](ctx, b.c, MethodProvision, r)
}

func (b brokerClient) Update(ctx context.Context, r core.UpdateRequest) (core.OperationResponse, error) {
	return Invoke[core.UpdateRequest, core.OperationResponse](ctx, b.c, MethodUpdate, r)
}

func (b brokerClient) Deprovision(ctx context.Context, r core.DeprovisionRequest) (core.OperationResponse, error) {
	return Invoke[core.DeprovisionRequest, core.OperationResponse](ctx, b.c, MethodDeprovision, r)
}

func (b brokerClient) LastOperation(ctx context.Context, r core.LastOperationRequest) (core.LastOperation, error) {
	return Invoke[core.LastOperationRequest, core.LastOperation](ctx, b.c, MethodLastOperation, r)
}

func (b brokerClient) Bind(ctx context.Context, r core.BindRequest) (core.BindResponse, error) {
	return Invoke[core.BindRequest, core.BindResponse](ctx, b.c, MethodBind, r)
}

func (b brokerClient) Unbind(ctx context.Context, r core.UnbindRequest) error {
	_, err := Invoke[core.UnbindRequest, empty](ctx, b.c, MethodUnbind, r)
	return err
}

// NewBrokerMux serves b.
func NewBrokerMux(b core.AddonBroker) *Mux {
	m := NewMux()
	handleBase(m, b)
	Handle(m, MethodCatalog, func(ctx context.Context, _ empty) (core.Catalog, error) { return b.Catalog(ctx) })
	Handle(m, MethodProvision, b.Provision)
	Handle(m, MethodUpdate, b.Update)
	Handle(m, MethodDeprovision, b.Deprovision)
	Handle(m, MethodLastOperation, b.LastOperation)
	Handle(m, MethodBind, b.Bind)
	Handle(m, MethodUnbind, func(ctx context.Context, r core.UnbindRequest) (empty, error) { return empty{}, b.Unbind(ctx, r) })
	return m
}

// NewMuxFor returns the Mux serving impl for contract c, or nil when impl
// does not implement c's interface.
func NewMuxFor(c core.Contract, impl core.Plugin) *Mux {
	switch c {
	case core.ContractDrain:
		if d, ok := impl.(core.LogDrain); ok {
			return NewDrainMux(d)
		}
	case core.ContractBuildpack:
		if b, ok := impl.(core.Buildpack); ok {
			return NewBuildpackMux(b)
		}
	case core.ContractRuntime:
		if r, ok := impl.(core.DynoRuntime); ok {
			return NewRuntimeMux(r)
		}
	case core.ContractRouter:
		if r, ok := impl.(core.Router); ok {
			return NewRouterMux(r)
		}
	case core.ContractBroker:
		if b, ok := impl.(core.AddonBroker); ok {
			return NewBrokerMux(b)
		}
	}
	return nil
}

// NewClientFor returns the typed client for c's contract as a core.Plugin
// (assert it to the contract's interface).
func NewClientFor(c *Client) core.Plugin {
	switch c.Contract {
	case core.ContractDrain:
		return NewDrainClient(c)
	case core.ContractBuildpack:
		return NewBuildpackClient(c)
	case core.ContractRuntime:
		return NewRuntimeClient(c)
	case core.ContractRouter:
		return NewRouterClient(c)
	case core.ContractBroker:
		return NewBrokerClient(c)
	}
	return base{c}
}
