package goplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync/atomic"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// The magic cookie a paasd plugin expects in its environment. It only stops a
// user from running a plugin binary by hand by mistake; it is not a secret
// and not a security measure.
const (
	MagicCookieKey   = "PAASD_PLUGIN"
	MagicCookieValue = "c7f3b2a4-paasd-plugin-handshake"
)

// handshake is the go-plugin handshake shared by host and plugin. Its
// ProtocolVersion is unused: both sides set VersionedPlugins, keyed by the
// contract API versions they speak.
func handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{MagicCookieKey: MagicCookieKey, MagicCookieValue: MagicCookieValue}
}

// pluginSets returns go-plugin's VersionedPlugins for a contract: one plugin,
// named after the contract, per contract API version. The host dispenses the
// contract's name, so a plugin serving another contract fails to dispense.
func pluginSets(c core.Contract, versions []int, p *grpcPlugin) map[int]plugin.PluginSet {
	sets := make(map[int]plugin.PluginSet, len(versions))
	for _, v := range versions {
		sets[v] = plugin.PluginSet{string(c): p}
	}
	return sets
}

// The gRPC service that carries wire calls. It is written by hand (there is
// no .proto compiled into this package): requests and answers are
// wrapperspb.BytesValue messages.
//
// A request is the method name, a NUL byte, and the JSON request. An answer
// (and every streamed message) is one tag byte followed by a body: tagResult
// and the JSON answer, or tagError and a wire.EncodeError body. A stream ends
// with the gRPC stream's end (success) or with one tagError message.
const (
	serviceName    = "paasd.plugin.v1.Wire"
	fullCallName   = "/" + serviceName + "/Call"
	fullStreamName = "/" + serviceName + "/Stream"

	tagResult byte = 'R'
	tagError  byte = 'E'
)

// wireServer is the HandlerType of the service: the plugin side.
type wireServer interface {
	wire.Handler
	wire.StreamHandler
}

var wireServiceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*wireServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Call",
		Handler:    callHandler,
	}, {
		MethodName: "Attach",
		Handler:    attachHandler,
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Stream",
		Handler:       streamHandler,
		ServerStreams: true,
	}},
	Metadata: "paasd/plugin/v1/wire.proto",
}

func encodeRequest(method string, req []byte) *wrapperspb.BytesValue {
	b := make([]byte, 0, len(method)+1+len(req))
	b = append(b, method...)
	b = append(b, 0)
	b = append(b, req...)
	return wrapperspb.Bytes(b)
}

func decodeRequest(in *wrapperspb.BytesValue) (method string, req []byte, err error) {
	for i, c := range in.GetValue() {
		if c == 0 {
			return string(in.Value[:i]), in.Value[i+1:], nil
		}
	}
	return "", nil, fmt.Errorf("wire request without a method name: %w", core.ErrInvalid)
}

func encodeAnswer(out []byte, err error) *wrapperspb.BytesValue {
	if err != nil {
		return wrapperspb.Bytes(append([]byte{tagError}, wire.EncodeError(err)...))
	}
	b := make([]byte, 0, len(out)+1)
	b = append(b, tagResult)
	return wrapperspb.Bytes(append(b, out...))
}

// decodeAnswer splits an answer into the JSON body or the plugin's error.
func decodeAnswer(in *wrapperspb.BytesValue) ([]byte, error) {
	b := in.GetValue()
	if len(b) == 0 {
		return nil, fmt.Errorf("empty answer frame from plugin: %w", core.ErrPluginFailed)
	}
	switch b[0] {
	case tagResult:
		return b[1:], nil
	case tagError:
		return nil, wire.DecodeError(b[1:])
	}
	return nil, fmt.Errorf("answer frame with unknown tag %q from plugin: %w", b[0], core.ErrPluginFailed)
}

func callHandler(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.BytesValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	method, req, err := decodeRequest(in)
	if err != nil {
		return encodeAnswer(nil, err), nil
	}
	out, err := srv.(wireServer).Call(ctx, method, req)
	return encodeAnswer(out, ctxError(err)), nil
}

// ctxError marks a context error from the implementation with its core
// sentinel, so that it crosses the wire as "timeout" rather than "internal".
func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, core.ErrTimeout) {
		return fmt.Errorf("%w: %w", err, core.ErrTimeout)
	}
	if errors.Is(err, context.Canceled) && !errors.Is(err, core.ErrUnavailable) {
		return fmt.Errorf("%w: %w", err, core.ErrUnavailable)
	}
	return err
}

func streamHandler(srv any, stream grpc.ServerStream) error {
	in := new(wrapperspb.BytesValue)
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	method, req, err := decodeRequest(in)
	if err == nil {
		err = srv.(wireServer).Stream(stream.Context(), method, req, func(msg []byte) error {
			return stream.SendMsg(encodeAnswer(msg, nil))
		})
	}
	if err != nil {
		// A failed send means the host went away; nothing to report to it.
		return stream.SendMsg(encodeAnswer(nil, ctxError(err)))
	}
	return nil
}

// grpcPlugin is the go-plugin GRPCPlugin for every contract: on the plugin
// side it registers the wire service for handler; on the host side it
// returns a *rpcClient.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	handler wireServer
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

// GRPCServer implements plugin.GRPCPlugin.
func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.handler == nil {
		return fmt.Errorf("paasd plugin: no handler to serve: %w", core.ErrPluginFailed)
	}
	s.RegisterService(&wireServiceDesc, p.handler)
	return nil
}

// GRPCClient implements plugin.GRPCPlugin. done ends when the plugin process
// exits.
func (p *grpcPlugin) GRPCClient(done context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &rpcClient{cc: cc, done: done}, nil
}

// rpcClient is the host side of the wire service over one process.
type rpcClient struct {
	cc   *grpc.ClientConn
	done context.Context
	// calls is the call channel (fast.go), nil until attached or when the
	// plugin has none; unary calls use gRPC while it is nil or broken.
	calls atomic.Pointer[callChannel]
}

// call runs a unary call; remote reports whether err came from the plugin
// rather than from the transport.
func (c *rpcClient) call(ctx context.Context, method string, req []byte) (out []byte, remote bool, err error) {
	if ch := c.calls.Load(); ch != nil && !ch.broken() {
		return ch.call(ctx, method, req)
	}
	ans := new(wrapperspb.BytesValue)
	if err := c.cc.Invoke(ctx, fullCallName, encodeRequest(method, req), ans); err != nil {
		return nil, false, err
	}
	out, err = decodeAnswer(ans)
	return out, err != nil, err
}

// stream runs a streaming call; remote reports whether err came from the
// plugin (or from recv) rather than from the transport.
func (c *rpcClient) stream(ctx context.Context, method string, req []byte, recv func([]byte) error) (remote bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the plugin's side when recv gives up
	s, err := c.cc.NewStream(ctx, &wireServiceDesc.Streams[0], fullStreamName)
	if err != nil {
		return false, err
	}
	if err := s.SendMsg(encodeRequest(method, req)); err != nil {
		return false, err
	}
	if err := s.CloseSend(); err != nil {
		return false, err
	}
	for {
		in := new(wrapperspb.BytesValue)
		if err := s.RecvMsg(in); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, err
		}
		msg, err := decodeAnswer(in)
		if err != nil {
			return true, err
		}
		if err := recv(msg); err != nil {
			return true, err
		}
	}
}

// versionList renders versions sorted, for error messages.
func versionList(vs []int) string {
	s := append([]int(nil), vs...)
	sort.Ints(s)
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += strconv.Itoa(v)
	}
	return out + "]"
}
