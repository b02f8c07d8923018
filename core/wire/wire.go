// Package wire carries contract calls across a process or sandbox boundary.
//
// A call is a method name plus a JSON request, answered by a JSON response or
// an error. Transports (go-plugin gRPC in core/pluginhost, wazero modules)
// move those bytes; this package turns them back into the Go interfaces of
// package core on the host side ([NewDrainClient], …) and dispatches them to
// an implementation on the plugin side ([NewDrainMux], …).
//
// # Validation
//
// Every response that comes back through a client is validated against the
// contract's CUE definition (see [Validator]) before the core uses it.
// Streamed messages (log lines) are the exception that keeps CUE off the
// per-line path: the first message of a stream is validated, and every
// message is decoded strictly (unknown fields rejected) and size-bounded. The
// definition for method M of contract C is "#<C>M<Response>", e.g.
// "#DrainDeliverResponse"; Describe answers are checked against "#PluginInfo".
//
// # Errors
//
// An implementation's error crosses the boundary as an [ErrorBody] carrying a
// wire code from [core.ErrorCode]; [DecodeError] rebuilds a *RemoteError that
// unwraps to the same core sentinel, so errors.Is works on both sides.
package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/paasd/paasd/core"
)

// Method names shared by every contract.
const (
	MethodDescribe  = "Describe"
	MethodConfigure = "Configure"
	MethodHealth    = "Health"
)

// Conn carries calls to one plugin instance.
//
// Call returns the JSON response, or an error: a *RemoteError for an error
// the plugin returned, or an error wrapping core.ErrUnavailable or
// core.ErrTimeout when the transport failed. Implementations are safe for
// concurrent use.
type Conn interface {
	Call(ctx context.Context, method string, req []byte) ([]byte, error)
}

// Streamer is an optional Conn capability for methods that stream results
// (dyno logs, router logs): recv is called with each JSON message until the
// stream ends (nil), recv fails (its error) or ctx ends.
type Streamer interface {
	Stream(ctx context.Context, method string, req []byte, recv func([]byte) error) error
}

// Handler serves calls on the plugin side; a *Mux is one.
type Handler interface {
	Call(ctx context.Context, method string, req []byte) ([]byte, error)
}

// StreamHandler is the plugin side of Streamer.
type StreamHandler interface {
	Stream(ctx context.Context, method string, req []byte, send func([]byte) error) error
}

// Validator checks a JSON message against a named CUE definition. It returns
// an error wrapping core.ErrSchemaViolation that names the field and the rule.
type Validator interface {
	Validate(definition string, data []byte) error
}

// NoValidation is a Validator that accepts everything; for builtin
// implementations, which are trusted, and for tests of transports.
type NoValidation struct{}

// Validate implements Validator.
func (NoValidation) Validate(string, []byte) error { return nil }

// ErrorBody is an error as it crosses the wire.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Output is what a failed buildpack Compile printed, so that the user
	// reads why the build failed.
	Output string `json:"output,omitempty"`
}

// RemoteError is an error a plugin returned. It unwraps to the core sentinel
// named by its code, if any.
type RemoteError struct {
	Code    string
	Message string
	// Output is the output a failed call carried (a buildpack Compile's).
	Output string
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the core sentinel for e.Code, or nil.
func (e *RemoteError) Unwrap() error { return core.ErrorForCode(e.Code) }

// EncodeError renders err for the wire.
func EncodeError(err error) []byte {
	body := ErrorBody{Code: core.ErrorCode(err), Message: err.Error()}
	var oe *OutputError
	if errors.As(err, &oe) {
		body.Output = oe.Output
	}
	b, _ := json.Marshal(body)
	return b
}

// OutputError is an error with the output the failed call printed; the
// wire carries both (ErrorBody.Output) and the client hands the output on
// (a buildpack Compile's goes to CompileRequest.Output).
type OutputError struct {
	Err    error
	Output string
}

func (e *OutputError) Error() string { return e.Err.Error() }

// Unwrap returns the error itself.
func (e *OutputError) Unwrap() error { return e.Err }

// DecodeError rebuilds an error encoded by EncodeError. Malformed input gives
// a *RemoteError with code "internal" that quotes it.
func DecodeError(b []byte) error {
	var body ErrorBody
	if err := json.Unmarshal(b, &body); err != nil || body.Message == "" {
		return &RemoteError{Code: "internal", Message: fmt.Sprintf("malformed error from plugin: %.200q", b)}
	}
	return &RemoteError{Code: body.Code, Message: body.Message, Output: body.Output}
}

// Mux dispatches calls by method name to typed functions. Register methods
// with [Handle] and [HandleStream] before serving; a Mux is then safe for
// concurrent use.
type Mux struct {
	calls   map[string]func(context.Context, []byte) ([]byte, error)
	streams map[string]func(context.Context, []byte, func([]byte) error) error
}

// NewMux returns an empty Mux.
func NewMux() *Mux {
	return &Mux{
		calls:   map[string]func(context.Context, []byte) ([]byte, error){},
		streams: map[string]func(context.Context, []byte, func([]byte) error) error{},
	}
}

// Handle registers fn as method: the request is decoded into Req (an error
// wrapping core.ErrInvalid if it does not decode) and the response encoded.
func Handle[Req, Resp any](m *Mux, method string, fn func(context.Context, Req) (Resp, error)) {
	m.calls[method] = func(ctx context.Context, b []byte) ([]byte, error) {
		var req Req
		if len(b) > 0 && !decodeFast(b, &req) {
			req = *new(Req) // the fast path may have written part of it
			if err := json.Unmarshal(b, &req); err != nil {
				return nil, fmt.Errorf("%s: decode request: %v: %w", method, err, core.ErrInvalid)
			}
		}
		resp, err := fn(ctx, req)
		if err != nil {
			return nil, err
		}
		if out, ok := encodeFast(resp); ok {
			return out, nil
		}
		return json.Marshal(resp)
	}
}

// HandleStream registers fn as a streaming method; fn calls send with each
// message.
func HandleStream[Req, Msg any](m *Mux, method string, fn func(context.Context, Req, func(Msg) error) error) {
	m.streams[method] = func(ctx context.Context, b []byte, send func([]byte) error) error {
		var req Req
		if len(b) > 0 {
			if err := json.Unmarshal(b, &req); err != nil {
				return fmt.Errorf("%s: decode request: %v: %w", method, err, core.ErrInvalid)
			}
		}
		return fn(ctx, req, func(msg Msg) error {
			out, err := json.Marshal(msg)
			if err != nil {
				return err
			}
			return send(out)
		})
	}
}

// Call implements Handler. An unknown method gives an error wrapping
// core.ErrUnsupported.
func (m *Mux) Call(ctx context.Context, method string, req []byte) ([]byte, error) {
	fn, ok := m.calls[method]
	if !ok {
		return nil, fmt.Errorf("method %q: %w", method, core.ErrUnsupported)
	}
	return fn(ctx, req)
}

// Stream implements StreamHandler.
func (m *Mux) Stream(ctx context.Context, method string, req []byte, send func([]byte) error) error {
	fn, ok := m.streams[method]
	if !ok {
		return fmt.Errorf("stream method %q: %w", method, core.ErrUnsupported)
	}
	return fn(ctx, req, send)
}

// Methods lists the registered call methods (for tests and diagnostics).
func (m *Mux) Methods() []string {
	out := make([]string, 0, len(m.calls))
	for k := range m.calls {
		out = append(out, k)
	}
	return out
}

// Client is the host side of one plugin: it encodes requests, calls the
// Conn, validates and decodes responses.
type Client struct {
	// Conn carries the calls.
	Conn Conn
	// Name identifies the plugin in errors, e.g. "plugin:/usr/lib/paasd/drain".
	Name string
	// Contract selects the schema definitions.
	Contract core.Contract
	// Validator checks responses; nil means NoValidation.
	Validator Validator
}

// definition returns the CUE definition name for method's response.
func (c *Client) definition(method string) string {
	switch method {
	case MethodDescribe:
		return "#PluginInfo"
	case MethodConfigure, MethodHealth:
		return ""
	}
	return "#" + contractPrefix(c.Contract) + method + "Response"
}

func contractPrefix(c core.Contract) string {
	switch c {
	case core.ContractBuildpack:
		return "Buildpack"
	case core.ContractRuntime:
		return "Runtime"
	case core.ContractRouter:
		return "Router"
	case core.ContractDrain:
		return "Drain"
	case core.ContractBroker:
		return "Broker"
	}
	return string(c)
}

// Invoke calls method with req and decodes the validated response into Resp.
// Errors name the plugin and the method.
func Invoke[Req, Resp any](ctx context.Context, c *Client, method string, req Req) (Resp, error) {
	var resp Resp
	in, ok := encodeFast(req)
	var err error
	if !ok {
		in, err = json.Marshal(req)
	}
	if err != nil {
		return resp, fmt.Errorf("%s: %s: encode request: %w", c.Name, method, err)
	}
	out, err := c.Conn.Call(ctx, method, in)
	if err != nil {
		return resp, fmt.Errorf("%s: %s: %w", c.Name, method, err)
	}
	if err := c.check(method, out); err != nil {
		return resp, err
	}
	if len(out) > 0 && !decodeFast(out, &resp) {
		resp = *new(Resp) // the fast path may have written part of it
		if err := json.Unmarshal(out, &resp); err != nil {
			return resp, fmt.Errorf("%s: %s: response does not decode: %v: %w", c.Name, method, err, core.ErrSchemaViolation)
		}
	}
	return resp, nil
}

func (c *Client) check(method string, out []byte) error {
	def := c.definition(method)
	if def == "" || c.Validator == nil {
		return nil
	}
	if err := c.Validator.Validate(def, out); err != nil {
		return fmt.Errorf("plugin %s: %s response: %w", c.Name, method, err)
	}
	return nil
}

// InvokeStream calls a streaming method and calls fn with each decoded,
// validated message. It returns an error wrapping core.ErrUnsupported when
// the Conn cannot stream.
func InvokeStream[Req, Msg any](ctx context.Context, c *Client, method string, req Req, fn func(Msg) error) error {
	s, ok := c.Conn.(Streamer)
	if !ok {
		return fmt.Errorf("%s: %s: transport cannot stream: %w", c.Name, method, core.ErrUnsupported)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: %s: encode request: %w", c.Name, method, err)
	}
	first := true
	err = s.Stream(ctx, method, in, func(b []byte) error {
		// Streams carry log lines: CUE checks the first message of each
		// stream; every message is decoded strictly and bounded, which
		// keeps CUE off the per-log-line path.
		if first {
			first = false
			if err := c.check(method, b); err != nil {
				return err
			}
		}
		if len(b) > MaxStreamMessage {
			return fmt.Errorf("%s: %s: streamed message of %d bytes exceeds %d: %w", c.Name, method, len(b), MaxStreamMessage, core.ErrSchemaViolation)
		}
		var msg Msg
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&msg); err != nil {
			return fmt.Errorf("%s: %s: message does not decode: %v: %w", c.Name, method, err, core.ErrSchemaViolation)
		}
		return fn(msg)
	})
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.Name, method, err)
	}
	return nil
}

// MaxStreamMessage bounds one streamed message (a log line is at most
// 10,000 bytes of text plus its envelope).
const MaxStreamMessage = 64 << 10

// empty is the request and response of methods that carry nothing.
type empty struct{}

// base implements core.Plugin and core.HealthChecker over a Client.
type base struct{ c *Client }

func (b base) Describe(ctx context.Context) (core.PluginInfo, error) {
	return Invoke[empty, core.PluginInfo](ctx, b.c, MethodDescribe, empty{})
}

func (b base) Configure(ctx context.Context, req core.ConfigureRequest) error {
	_, err := Invoke[core.ConfigureRequest, empty](ctx, b.c, MethodConfigure, req)
	return err
}

func (b base) Health(ctx context.Context) error {
	_, err := Invoke[empty, empty](ctx, b.c, MethodHealth, empty{})
	return err
}

// handleBase registers Describe, Configure and Health for p.
func handleBase(m *Mux, p core.Plugin) {
	Handle(m, MethodDescribe, func(ctx context.Context, _ empty) (core.PluginInfo, error) { return p.Describe(ctx) })
	Handle(m, MethodConfigure, func(ctx context.Context, req core.ConfigureRequest) (empty, error) {
		return empty{}, p.Configure(ctx, req)
	})
	Handle(m, MethodHealth, func(ctx context.Context, _ empty) (empty, error) {
		if h, ok := p.(core.HealthChecker); ok {
			return empty{}, h.Health(ctx)
		}
		return empty{}, nil
	})
}

// IsRemote reports whether err came from the plugin itself rather than the
// transport.
func IsRemote(err error) bool {
	var re *RemoteError
	return errors.As(err, &re)
}
