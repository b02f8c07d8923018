package goplugin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"net"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// NewTestConn serves impl over a real in-process gRPC connection — the same
// wire service a plugin process serves, with the same message limits, on a
// Unix socket in tb.TempDir(), but with no child process and no TLS — and
// returns the host side and what impl describes. Plugin authors use it to
// test an implementation over the wire without building a binary; wrap the
// Conn in a wire.Client to get the contract's interface back. The
// connection is closed when the test ends. Transport failures wrap
// core.ErrUnavailable.
func NewTestConn(tb testing.TB, impl core.Plugin) (wire.Conn, core.PluginInfo) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := impl.Describe(ctx)
	if err != nil {
		tb.Fatalf("describe: %v", err)
	}
	mux := wire.NewMuxFor(info.Contract, impl)
	if mux == nil {
		tb.Fatalf("%T does not implement the %s contract it describes", impl, info.Contract)
	}
	sock := filepath.Join(tb.TempDir(), "plugin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	srv := newGRPCServer(nil)
	srv.RegisterService(&wireServiceDesc, mux)
	go func() { _ = srv.Serve(ln) }()
	cc, err := grpc.NewClient("unix://"+sock, append(dialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		srv.Stop()
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
	})
	return testConn{&rpcClient{cc: cc, done: context.Background()}}, info
}

// testConn is the wire.Conn of NewTestConn.
type testConn struct{ rc *rpcClient }

var (
	_ wire.Conn     = testConn{}
	_ wire.Streamer = testConn{}
)

func (c testConn) Call(ctx context.Context, method string, req []byte) ([]byte, error) {
	out, remote, err := c.rc.call(ctx, method, req)
	if err != nil && !remote {
		return nil, fmt.Errorf("in-process plugin transport: %w: %w", err, core.ErrUnavailable)
	}
	return out, err
}

func (c testConn) Stream(ctx context.Context, method string, req []byte, recv func([]byte) error) error {
	remote, err := c.rc.stream(ctx, method, req, recv)
	if err != nil && !remote {
		return fmt.Errorf("in-process plugin transport: %w: %w", err, core.ErrUnavailable)
	}
	return err
}
