package router

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
)

// testCert makes a self-signed certificate for host.
func testCert(t *testing.T, host string) (core.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return core.Certificate{Hosts: []string{host}, CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))}, pool
}

// TestHTTP2 sends uploads, a streamed response and an error over HTTP/2.
func TestHTTP2(t *testing.T) {
	cert, pool := testCert(t, "h2.example.test")
	be := echoBackend(t, "web.1")
	logs := newLogCollector()
	r := New(Options{OnLog: logs.onLog})
	t.Cleanup(func() { r.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.ServeTLS(ln) //nolint:errcheck
	setRoutes(t, r, 1,
		core.Route{App: "h2", Hosts: []string{"h2.example.test"}, Backends: []core.Backend{{Dyno: "web.1", Address: addrOf(be)}}, Certificates: []core.Certificate{cert}},
		core.Route{App: "down", Hosts: []string{"down.example.test"}})
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "h2.example.test"}}}
	send := func(method, host, body string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, "https://"+ln.Addr().String()+"/up", io.NopCloser(strings.NewReader(body)))
		if body == "" {
			req.Body = nil
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := send("POST", "h2.example.test", strings.Repeat("b", 200000))
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if resp.ProtoMajor != 2 || e.BodyLen != 200000 || e.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("HTTP/%d, backend saw %d bytes and X-Forwarded-Proto %q", resp.ProtoMajor, e.BodyLen, e.Header.Get("X-Forwarded-Proto"))
	}
	// An app without dynos, reached with the same certificate's connection
	// (the client sends the Host it wants; SNI chose the certificate).
	resp, _ = send("GET", "down.example.test", "")
	if resp.StatusCode != 503 {
		t.Errorf("app without dynos over HTTP/2: status %d, want 503", resp.StatusCode)
	}
	if l := logs.wait(t, "code=H14"); !strings.Contains(l, "protocol=https") {
		t.Errorf("log line %q, want protocol=https", l)
	}
}
