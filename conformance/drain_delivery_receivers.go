package conformance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// ddCA is a throwaway certificate authority for the suite's TLS receivers.
type ddCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newDDCA(name string) (*ddCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("test CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("test CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("test CA certificate: %w", err)
	}
	return &ddCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// serverConfig returns a TLS config with a leaf for 127.0.0.1 and localhost.
func (ca *ddCA) serverConfig() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("leaf certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, nil
}

// ddSyslogReceiver is a real TCP (or TLS) syslog receiver decoding
// octet-counted frames.
type ddSyslogReceiver struct {
	ln net.Listener

	mu      sync.Mutex
	msgs    []core.LogMessage
	conns   int
	errs    []error
	changed chan struct{}
	// closeAfter, when > 0, makes the receiver close each of the first
	// connections after reading that many frames from it.
	closeAfter int
}

func newDDSyslogReceiver(t *T, tlsCfg *tls.Config, closeAfter int) *ddSyslogReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	r := &ddSyslogReceiver{ln: ln, changed: make(chan struct{}, 1), closeAfter: closeAfter}
	t.Cleanup(func() { ln.Close() })
	go r.accept()
	return r
}

func (r *ddSyslogReceiver) addr() string { return r.ln.Addr().String() }

func (r *ddSyslogReceiver) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns++
		first := r.conns == 1
		r.mu.Unlock()
		go r.serve(c, first)
	}
}

func (r *ddSyslogReceiver) serve(c net.Conn, first bool) {
	defer c.Close()
	dec := syslog.NewDecoder(c, 64<<10)
	for n := 0; ; n++ {
		if first && r.closeAfter > 0 && n == r.closeAfter {
			r.signal()
			return
		}
		b, err := dec.Next()
		if err != nil {
			if err != io.EOF {
				r.mu.Lock()
				r.errs = append(r.errs, err)
				r.mu.Unlock()
			}
			r.signal()
			return
		}
		m, err := syslog.Parse(b)
		r.mu.Lock()
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("frame %q: %w", b, err))
		} else {
			r.msgs = append(r.msgs, m)
		}
		r.mu.Unlock()
		r.signal()
	}
}

func (r *ddSyslogReceiver) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until n messages arrived or the check's context ends.
func (r *ddSyslogReceiver) waitFor(t *T, n int) []core.LogMessage {
	for {
		r.mu.Lock()
		msgs, errs := append([]core.LogMessage(nil), r.msgs...), r.errs
		r.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("receiver could not decode what the drain sent: %v", errs[0])
		}
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-r.changed:
		case <-t.Context().Done():
			t.Fatalf("receiver got %d of %d messages before the check timed out", len(msgs), n)
		}
	}
}

func (r *ddSyslogReceiver) received() []core.LogMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]core.LogMessage(nil), r.msgs...)
}

// ddRequest is one request an HTTPS receiver got.
type ddRequest struct {
	header http.Header
	msgs   []core.LogMessage
	body   int
	err    error
	dup    bool
}

// ddHTTPSReceiver is a real HTTPS application/logplex-1 receiver that drops
// requests whose Logplex-Frame-Id it already accepted.
type ddHTTPSReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	reqs     []ddRequest
	accepted map[string]bool
	msgs     []core.LogMessage
	failNext int // answer 503 to this many requests first
	status   int // when non-zero, answer it to every request
	hang     chan struct{}
	changed  chan struct{}
}

func newDDHTTPSReceiver(t *T, tlsCfg *tls.Config) *ddHTTPSReceiver {
	r := &ddHTTPSReceiver{accepted: map[string]bool{}, changed: make(chan struct{}, 1)}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serveHTTP))
	r.srv.TLS = tlsCfg
	r.srv.StartTLS()
	t.Cleanup(func() {
		r.mu.Lock()
		if r.hang != nil {
			close(r.hang)
			r.hang = nil
		}
		r.mu.Unlock()
		r.srv.CloseClientConnections()
		r.srv.Close()
	})
	return r
}

func (r *ddHTTPSReceiver) url() string { return r.srv.URL + "/logs" }

func (r *ddHTTPSReceiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	lr := ddRequest{header: req.Header.Clone(), body: len(body), err: err}
	if err == nil {
		lr.msgs, lr.err = syslog.ParseFrames(body, 64<<10)
	}
	r.mu.Lock()
	hang := r.hang
	status := r.status
	fail := r.failNext > 0
	if fail {
		r.failNext--
	}
	frame := req.Header.Get("Logplex-Frame-Id")
	switch {
	case hang != nil || fail || status != 0 || lr.err != nil:
	case r.accepted[frame]:
		lr.dup = true
	default:
		r.accepted[frame] = true
		r.msgs = append(r.msgs, lr.msgs...)
	}
	r.reqs = append(r.reqs, lr)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	switch {
	case hang != nil:
		select {
		case <-hang:
		case <-req.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	case fail:
		w.WriteHeader(http.StatusServiceUnavailable)
	case status != 0:
		w.WriteHeader(status)
	case lr.err != nil:
		http.Error(w, lr.err.Error(), http.StatusBadRequest)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (r *ddHTTPSReceiver) snapshot() ([]ddRequest, []core.LogMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ddRequest(nil), r.reqs...), append([]core.LogMessage(nil), r.msgs...)
}

// ddCountHeader parses Logplex-Msg-Count.
func ddCountHeader(h http.Header) (int, error) {
	return strconv.Atoi(h.Get("Logplex-Msg-Count"))
}
