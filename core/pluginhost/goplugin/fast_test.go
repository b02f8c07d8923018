package goplugin

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// blockingMux answers "Echo" with its request and blocks "Block" until the
// call's ctx ends, reporting the ctx error on ended.
func blockingMux(ended chan<- error) *wire.Mux {
	m := wire.NewMux()
	wire.Handle(m, "Echo", func(_ context.Context, s string) (string, error) { return s, nil })
	wire.Handle(m, "Missing", func(context.Context, string) (string, error) { return "", core.ErrNotFound })
	wire.Handle(m, "Block", func(ctx context.Context, _ string) (string, error) {
		<-ctx.Done()
		ended <- ctx.Err()
		return "", ctx.Err()
	})
	return m
}

// grpcPair serves desc with h over gRPC on a Unix socket and returns the
// client connection.
func grpcPair(t *testing.T, desc *grpc.ServiceDesc, h any) *grpc.ClientConn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "grpc.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := newGRPCServer(nil)
	srv.RegisterService(desc, h)
	go func() { _ = srv.Serve(ln) }()
	cc, err := grpc.NewClient("unix://"+sock, append(dialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close(); srv.Stop() })
	return cc
}

func TestCallChannel(t *testing.T) {
	ended := make(chan error, 1)
	cc := grpcPair(t, &wireServiceDesc, blockingMux(ended))
	ch, err := (&Opener{}).attach(t.Context(), cc, false)
	if err != nil || ch == nil {
		t.Fatalf("attach = %v, %v; want a call channel", ch, err)
	}
	t.Cleanup(ch.close)

	t.Run("answer", func(t *testing.T) {
		out, remote, err := ch.call(t.Context(), "Echo", []byte(`"hi"`))
		if err != nil || remote || string(out) != `"hi"` {
			t.Fatalf("Echo = %s, %v, %v", out, remote, err)
		}
	})
	t.Run("plugin error keeps its sentinel", func(t *testing.T) {
		_, remote, err := ch.call(t.Context(), "Missing", []byte(`""`))
		if !remote || !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("Missing = %v, %v; want a remote ErrNotFound", remote, err)
		}
	})
	t.Run("unknown method", func(t *testing.T) {
		_, remote, err := ch.call(t.Context(), "Nope", nil)
		if !remote || !errors.Is(err, core.ErrUnsupported) {
			t.Fatalf("Nope = %v, %v; want a remote ErrUnsupported", remote, err)
		}
	})
	t.Run("deadline reaches the plugin and the caller", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, remote, err := ch.call(ctx, "Block", []byte(`""`))
		if remote && !errors.Is(err, core.ErrTimeout) || !remote && status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Block = %v, %v; want a deadline error", remote, err)
		}
		select {
		case err := <-ended:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("plugin's ctx ended with %v; want its deadline", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the plugin's call never ended")
		}
	})
	t.Run("cancel reaches the plugin", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		if _, remote, err := ch.call(ctx, "Block", []byte(`""`)); remote || status.Code(err) != codes.Canceled {
			t.Fatalf("Block = %v, %v; want Canceled", remote, err)
		}
		select {
		case err := <-ended:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("plugin's ctx ended with %v; want Canceled", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the plugin's call was never cancelled")
		}
	})
	t.Run("close fails calls in flight as unavailable", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, _, err := ch.call(context.Background(), "Block", []byte(`""`))
			done <- err
		}()
		<-waitPending(t, ch)
		ch.close()
		select {
		case err := <-done:
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("call in flight = %v; want Unavailable", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("a call in flight outlived the channel")
		}
		<-ended // the plugin's call was cancelled too
		if !ch.broken() {
			t.Fatal("channel not marked broken")
		}
	})
}

// waitPending returns a channel closed once ch has a call in flight.
func waitPending(t *testing.T, ch *callChannel) <-chan struct{} {
	t.Helper()
	out := make(chan struct{})
	go func() {
		defer close(out)
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			ch.mu.Lock()
			n := len(ch.pending)
			ch.mu.Unlock()
			if n > 0 {
				return
			}
		}
	}()
	return out
}

func TestCallChannelFallback(t *testing.T) {
	// A plugin built before the call channel: its service has no Attach.
	old := wireServiceDesc
	old.Methods = old.Methods[:1]
	cc := grpcPair(t, &old, blockingMux(make(chan error, 1)))
	ch, err := (&Opener{}).attach(t.Context(), cc, false)
	if err != nil || ch != nil {
		t.Fatalf("attach to a plugin without Attach = %v, %v; want no channel and no error", ch, err)
	}
	rc := &rpcClient{cc: cc, done: context.Background()}
	out, _, err := rc.call(t.Context(), "Echo", []byte(`"over grpc"`))
	if err != nil || string(out) != `"over grpc"` {
		t.Fatalf("Echo over gRPC = %s, %v", out, err)
	}
}

func TestCallChannelWrongCertificate(t *testing.T) {
	cert, err := oneTimeCert()
	if err != nil {
		t.Fatal(err)
	}
	other, err := oneTimeCert()
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "calls.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { _, _ = acceptCallChannel(t.Context(), ln, other, make([]byte, tokenSize)) }()
	_, err = dialCallChannel(t.Context(), attachRequest{Socket: sock, Cert: cert.Certificate[0], Token: make([]byte, tokenSize)})
	if err == nil {
		t.Fatal("dialled a host whose certificate is not the pinned one")
	}
}

func TestReadFrame(t *testing.T) {
	good := appendFrame(nil, 7, kindAnswer, 3)
	good = append(good, "R{}"...)
	tests := []struct {
		desc    string
		in      []byte
		wantID  uint64
		wantErr bool
	}{
		{desc: "answer", in: good, wantID: 7},
		{desc: "truncated header", in: good[:5], wantErr: true},
		{desc: "truncated payload", in: good[:len(good)-1], wantErr: true},
		{desc: "length below the header", in: []byte{0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 'A'}, wantErr: true},
		{desc: "length above the limit", in: []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 'A'}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var buf []byte
			id, _, payload, err := readFrame(bytes.NewReader(tt.in), &buf)
			if (err != nil) != tt.wantErr {
				t.Fatalf("readFrame err = %v; want error %v", err, tt.wantErr)
			}
			if err == nil && (id != tt.wantID || string(payload) != "R{}") {
				t.Fatalf("readFrame = %d, %q", id, payload)
			}
		})
	}
}

// FuzzReadFrame checks that any input either fails or yields a frame that
// re-encodes to the bytes read.
func FuzzReadFrame(f *testing.F) {
	f.Add(append(appendFrame(nil, 1, kindCall, 2), "{}"...))
	f.Add(appendFrame(nil, 2, kindCancel, 0))
	f.Add([]byte{0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		var buf []byte
		r := bytes.NewReader(b)
		id, kind, payload, err := readFrame(r, &buf)
		if err != nil {
			return
		}
		again := append(appendFrame(nil, id, kind, len(payload)), payload...)
		if !bytes.Equal(again, b[:len(b)-r.Len()]) {
			t.Fatalf("frame %q re-encodes as %q", b[:len(b)-r.Len()], again)
		}
	})
}
