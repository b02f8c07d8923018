package goplugin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// The call channel: unary calls cross a second connection, next to
// go-plugin's gRPC one, that carries length-prefixed frames instead of
// HTTP/2 streams. A gRPC unary call costs a new HTTP/2 stream, headers both
// ways and several goroutine hand-offs on each side; a frame on the call
// channel is one TLS record each way. Streams (Logs) stay on gRPC.
//
// Setting it up: the host listens on a Unix socket in a fresh 0700
// directory, with a one-time self-signed certificate, and calls the wire
// service's Attach method over the AutoMTLS gRPC connection, passing the
// socket path, the certificate and a random token. The plugin dials, checks
// that the server's certificate is that one (TLS 1.3), and sends the token;
// the host accepts exactly one connection carrying it and removes the
// socket. So, as with gRPC, only this host talks to this plugin, encrypted.
// A plugin built before the call channel existed answers Attach with
// Unimplemented, and its calls keep going over gRPC.
//
// A frame is a 4-byte big-endian length of what follows, an 8-byte call id,
// a kind byte and a payload:
//
//	host → plugin  kindCall    8-byte deadline (Unix ns, 0 = none), method, NUL, JSON request
//	host → plugin  kindCancel  nothing: the caller gave up on call id
//	plugin → host  kindAnswer  an answer as on gRPC (tagResult/tagError and a body)
const (
	fullAttachName = "/" + serviceName + "/Attach"

	kindCall   byte = 'C'
	kindCancel byte = 'X'
	kindAnswer byte = 'A'

	frameHeader = 4 + 8 + 1
	// maxFrame bounds a frame's length field: one message and its framing.
	maxFrame = maxMessage + 64
	// tokenSize is the size of the call channel's one-time token.
	tokenSize = 32
	// attachTimeout bounds setting up the call channel.
	attachTimeout = 10 * time.Second
)

// attachRequest is the body of an Attach call.
type attachRequest struct {
	Socket string `json:"socket"`
	Cert   []byte `json:"cert"`
	Token  []byte `json:"token"`
}

// appendFrame appends a frame header for a payload of n bytes.
func appendFrame(b []byte, id uint64, kind byte, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(8+1+n))
	b = binary.BigEndian.AppendUint64(b, id)
	return append(b, kind)
}

// readFrame reads one frame into buf (grown as needed) and returns its id,
// kind and payload, which is valid until the next readFrame with buf.
func readFrame(r io.Reader, buf *[]byte) (id uint64, kind byte, payload []byte, err error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 9 || n > maxFrame {
		return 0, 0, nil, fmt.Errorf("call channel frame of %d bytes (limit %d): %w", n, maxFrame, core.ErrInvalid)
	}
	id, kind = binary.BigEndian.Uint64(hdr[4:12]), hdr[12]
	size := int(n) - 9
	if cap(*buf) < size {
		*buf = make([]byte, size)
	}
	payload = (*buf)[:size]
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, 0, nil, err
	}
	return id, kind, payload, nil
}

// ---- plugin side ----

// attachHandler is the plugin side of Attach: dial the host's socket, check
// its certificate, send the token, and serve calls on the connection.
func attachHandler(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.BytesValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	var req attachRequest
	if err := json.Unmarshal(in.GetValue(), &req); err != nil {
		return encodeAnswer(nil, fmt.Errorf("attach request: %w: %w", err, core.ErrInvalid)), nil
	}
	c, err := dialCallChannel(ctx, req)
	if err != nil {
		return encodeAnswer(nil, err), nil
	}
	go serveCallChannel(c, srv.(wireServer))
	return encodeAnswer(nil, nil), nil
}

func dialCallChannel(ctx context.Context, req attachRequest) (net.Conn, error) {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The certificate is pinned below, not checked against a CA.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || subtle.ConstantTimeCompare(cs.PeerCertificates[0].Raw, req.Cert) != 1 {
				return fmt.Errorf("call channel: the host's certificate is not the one offered over gRPC: %w", core.ErrPluginFailed)
			}
			return nil
		},
	}
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "unix", req.Socket)
	if err != nil {
		return nil, fmt.Errorf("call channel: dial %s: %w: %w", req.Socket, err, core.ErrUnavailable)
	}
	if _, err := c.Write(req.Token); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("call channel: send token: %w: %w", err, core.ErrUnavailable)
	}
	return c, nil
}

// serveCallChannel serves calls from c until it fails or the host closes it;
// each call runs in its own goroutine, with the host's deadline, and is
// cancelled by a kindCancel frame or by the channel's end.
func serveCallChannel(c net.Conn, h wire.Handler) {
	defer c.Close()
	var (
		wmu     sync.Mutex
		mu      sync.Mutex
		cancels = map[uint64]context.CancelFunc{}
		buf     []byte
	)
	defer func() {
		mu.Lock()
		for _, cancel := range cancels {
			cancel()
		}
		mu.Unlock()
	}()
	for {
		id, kind, payload, err := readFrame(c, &buf)
		if err != nil {
			return
		}
		switch kind {
		case kindCancel:
			mu.Lock()
			if cancel, ok := cancels[id]; ok {
				cancel()
			}
			mu.Unlock()
			continue
		case kindCall:
		default:
			return // not a frame this side understands: drop the channel
		}
		if len(payload) < 8 {
			return
		}
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if dl := int64(binary.BigEndian.Uint64(payload[:8])); dl != 0 {
			ctx, cancel = context.WithDeadline(ctx, time.Unix(0, dl))
		} else {
			ctx, cancel = context.WithCancel(ctx)
		}
		// The payload is reused by the next read: copy it for the call.
		msg := make([]byte, len(payload)-8)
		copy(msg, payload[8:])
		mu.Lock()
		cancels[id] = cancel
		mu.Unlock()
		go func() {
			defer func() {
				mu.Lock()
				delete(cancels, id)
				mu.Unlock()
				cancel()
			}()
			var ans *wrapperspb.BytesValue
			method, req, err := decodeRequest(wrapperspb.Bytes(msg))
			if err != nil {
				ans = encodeAnswer(nil, err)
			} else {
				out, err := h.Call(ctx, method, req)
				ans = encodeAnswer(out, ctxError(err))
			}
			frame := appendFrame(make([]byte, 0, frameHeader+len(ans.Value)), id, kindAnswer, len(ans.Value))
			frame = append(frame, ans.Value...)
			wmu.Lock()
			_, err = c.Write(frame)
			wmu.Unlock()
			if err != nil {
				_ = c.Close() // the reader sees it and ends every call
			}
		}()
	}
}

// ---- host side ----

// callChannel is the host side of one plugin's call channel.
type callChannel struct {
	c   net.Conn
	wmu sync.Mutex // serialises frames

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan []byte // nil answer: the channel broke
	err     error                  // why it broke; nil while it works
}

// errChannelBroken is the transport error of calls on a broken call channel.
var errChannelBroken = status.Error(codes.Unavailable, "plugin call channel closed")

// attach sets up the call channel to the plugin behind cc. It returns nil and
// no error for a plugin that does not offer one (built before it existed).
func (o *Opener) attach(ctx context.Context, cc *grpc.ClientConn, remote bool) (*callChannel, error) {
	if o.grpcOnly || remote {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "paasd-plugin-")
	if err != nil {
		return nil, fmt.Errorf("call channel: %w", err)
	}
	defer os.RemoveAll(dir)
	cert, err := oneTimeCert()
	if err != nil {
		return nil, err
	}
	token := make([]byte, tokenSize)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("call channel token: %w", err)
	}
	sock := filepath.Join(dir, "calls.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("call channel: %w", err)
	}
	defer ln.Close()
	// A plugin that answers Attach but never dials must not hold the load.
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	type accepted struct {
		c   net.Conn
		err error
	}
	acc := make(chan accepted, 1)
	go func() {
		c, err := acceptCallChannel(ctx, ln, cert, token)
		acc <- accepted{c, err}
	}()
	body, _ := json.Marshal(attachRequest{Socket: sock, Cert: cert.Certificate[0], Token: token})
	ans := new(wrapperspb.BytesValue)
	err = cc.Invoke(ctx, fullAttachName, wrapperspb.Bytes(body), ans)
	if err == nil {
		_, err = decodeAnswer(ans)
	}
	if err != nil {
		_ = ln.Close() // stops the accept
		if a := <-acc; a.c != nil {
			_ = a.c.Close()
		}
		if status.Code(err) == codes.Unimplemented {
			return nil, nil
		}
		return nil, fmt.Errorf("call channel: attach: %w", err)
	}
	a := <-acc
	if a.err != nil {
		return nil, a.err
	}
	ch := &callChannel{c: a.c, pending: map[uint64]chan []byte{}}
	go ch.read()
	return ch, nil
}

// acceptCallChannel accepts connections on ln until one completes the TLS
// handshake and presents token, or ctx ends.
func acceptCallChannel(ctx context.Context, ln net.Listener, cert tls.Certificate, token []byte) (net.Conn, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	dl, _ := ctx.Deadline()
	for {
		raw, err := ln.Accept()
		if err != nil {
			return nil, fmt.Errorf("call channel: accept: %w", err)
		}
		c := tls.Server(raw, cfg)
		_ = c.SetDeadline(dl)
		got := make([]byte, tokenSize)
		if _, err := io.ReadFull(c, got); err != nil || subtle.ConstantTimeCompare(got, token) != 1 {
			_ = c.Close()
			continue
		}
		_ = c.SetDeadline(time.Time{})
		return c, nil
	}
}

// oneTimeCert makes the call channel's self-signed server certificate.
func oneTimeCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("call channel key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("call channel certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// read delivers answers to their callers until the channel fails, then
// fails every pending call.
func (ch *callChannel) read() {
	var buf []byte
	var err error
	for {
		var id uint64
		var kind byte
		var payload []byte
		id, kind, payload, err = readFrame(ch.c, &buf)
		if err != nil {
			break
		}
		if kind != kindAnswer {
			err = fmt.Errorf("call channel: unexpected frame kind %q from plugin: %w", kind, core.ErrPluginFailed)
			break
		}
		ch.mu.Lock()
		w, ok := ch.pending[id]
		delete(ch.pending, id)
		ch.mu.Unlock()
		if ok {
			w <- append([]byte(nil), payload...)
		}
	}
	_ = ch.c.Close()
	ch.mu.Lock()
	if ch.err == nil {
		ch.err = err
	}
	for id, w := range ch.pending {
		delete(ch.pending, id)
		w <- nil
	}
	ch.mu.Unlock()
}

// broken reports whether the channel has failed.
func (ch *callChannel) broken() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.err != nil
}

// close ends the channel; calls in flight fail with errChannelBroken.
func (ch *callChannel) close() {
	ch.mu.Lock()
	if ch.err == nil {
		ch.err = errors.New("call channel closed")
	}
	ch.mu.Unlock()
	_ = ch.c.Close()
}

// call runs one call on the channel; errors are gRPC status errors, as from
// the gRPC path, so that the caller classifies both the same way.
func (ch *callChannel) call(ctx context.Context, method string, req []byte) (out []byte, remote bool, err error) {
	// Like gRPC, a call whose context has already ended is not sent: the
	// select below could otherwise pick a fast answer over ctx.Done.
	if err := ctx.Err(); err != nil {
		return nil, false, status.FromContextError(err).Err()
	}
	w := make(chan []byte, 1)
	ch.mu.Lock()
	if ch.err != nil {
		ch.mu.Unlock()
		return nil, false, errChannelBroken
	}
	ch.next++
	id := ch.next
	ch.pending[id] = w
	ch.mu.Unlock()

	var dl int64
	if t, ok := ctx.Deadline(); ok {
		dl = t.UnixNano()
	}
	n := 8 + len(method) + 1 + len(req)
	frame := appendFrame(make([]byte, 0, frameHeader+n), id, kindCall, n)
	frame = binary.BigEndian.AppendUint64(frame, uint64(dl))
	frame = append(frame, method...)
	frame = append(frame, 0)
	frame = append(frame, req...)
	ch.wmu.Lock()
	_, err = ch.c.Write(frame)
	ch.wmu.Unlock()
	if err != nil {
		_ = ch.c.Close() // the reader fails every pending call
		return nil, false, errChannelBroken
	}
	select {
	case ans := <-w:
		if ans == nil {
			return nil, false, errChannelBroken
		}
		out, err = decodeAnswer(wrapperspb.Bytes(ans))
		return out, err != nil, err
	case <-ctx.Done():
		ch.mu.Lock()
		delete(ch.pending, id)
		ch.mu.Unlock()
		if dl != 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The plugin's ctx has the same deadline (same clock): it ends
			// there as DeadlineExceeded, not as a cancel.
			return nil, false, status.FromContextError(ctx.Err()).Err()
		}
		cancelFrame := appendFrame(make([]byte, 0, frameHeader), id, kindCancel, 0)
		ch.wmu.Lock()
		_ = ch.c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = ch.c.Write(cancelFrame)
		_ = ch.c.SetWriteDeadline(time.Time{})
		ch.wmu.Unlock()
		return nil, false, status.FromContextError(ctx.Err()).Err()
	}
}
