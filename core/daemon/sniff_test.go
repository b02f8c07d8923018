package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSniffListener: one port answers plain HTTP and HTTPS, and a client
// that connects and says nothing does not hold up the others.
func TestSniffListener(t *testing.T) {
	dir := t.TempDir()
	tlsCfg, err := serverTLS(Config{DataDir: dir, APIAddr: "127.0.0.1:0", RendezvousAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newSniffListener(raw, tlsCfg)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			io.WriteString(w, "https")
			return
		}
		io.WriteString(w, "http")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	silent, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	pemBytes, err := os.ReadFile(filepath.Join(dir, TLSCertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("tls.crt holds no certificate")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, tc := range []struct{ desc, scheme, want string }{
		{"plain", "http", "http"},
		{"tls, certificate trusted from tls.crt", "https", "https"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := client.Get(tc.scheme + "://" + raw.Addr().String() + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if b, _ := io.ReadAll(res.Body); string(b) != tc.want {
				t.Fatalf("body %q, want %q", b, tc.want)
			}
		})
	}
	// A second start reuses the certificate.
	before, _ := os.ReadFile(filepath.Join(dir, TLSCertFile))
	if _, err := serverTLS(Config{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, TLSCertFile)); string(after) != string(before) {
		t.Fatal("certificate regenerated on the second start")
	}
}
