package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core/tlscert"
	"github.com/paasd/paasd/internal/testenv"
)

// echoApp answers with the X-Forwarded-Proto the router sent and its dyno.
const echoApp = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("proto=%s dyno=%s\n" % (self.headers.get("X-Forwarded-Proto"), os.environ.get("DYNO"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`

// httpsGet GETs https://host/path through the router's TLS address with
// SNI host, trusting roots; it returns the response's status, body,
// protocol and the certificate the router presented.
func httpsGet(routerTLS, host, path string, roots *x509.CertPool) (int, string, string, *x509.Certificate, error) {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: host},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, routerTLS)
		},
	}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get("https://" + host + path)
	if err != nil {
		return 0, "", "", nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Proto, res.TLS.PeerCertificates[0], nil
}

// TestRouterTLSBySNI: certificates uploaded as SNI endpoints are served by
// the router's HTTPS listener, chosen by the client's SNI name (exact, then
// wildcard), with HTTP/2 by ALPN, to a real dyno that sees
// X-Forwarded-Proto: https; updating and removing endpoints takes effect.
func TestRouterTLSBySNI(t *testing.T) {
	testenv.Short(t, "starts paasd and a real dyno")
	testenv.NeedCommand(t, "python3")
	dataDir := filepath.Join(t.TempDir(), "data")
	d, _ := startDaemonWithRouter(t, dataDir, "--runtime", testRuntime(), "--router-tls-addr", "127.0.0.1:0")
	defer d.stop(t)
	defer d.scaleDown(t, "secure")
	if d.routerTLS == "" {
		t.Fatal("paasd reported no router TLS address")
	}
	now := time.Now()
	crtA, keyA, _ := tlscert.Generate([]string{"www.example.com"}, now, 30*24*time.Hour)
	crtB, keyB, _ := tlscert.Generate([]string{"*.example.net"}, now, 30*24*time.Hour)
	crtA2, keyA2, _ := tlscert.Generate([]string{"www.example.com"}, now, 60*24*time.Hour)
	roots := x509.NewCertPool()
	for _, c := range [][]byte{crtA, crtB, crtA2} {
		roots.AppendCertsFromPEM(c)
	}

	if code, _ := d.call(t, "POST", "/apps", map[string]any{"name": "secure"}); code != 201 {
		t.Fatalf("create app: %d", code)
	}
	code, epA := d.call(t, "POST", "/apps/secure/sni-endpoints", map[string]any{"certificate_chain": string(crtA), "private_key": string(keyA)})
	if code != 201 {
		t.Fatalf("add cert A: %d %v", code, epA)
	}
	code, epB := d.call(t, "POST", "/apps/secure/sni-endpoints", map[string]any{"certificate_chain": string(crtB), "private_key": string(keyB)})
	if code != 201 {
		t.Fatalf("add cert B: %d %v", code, epB)
	}
	// www.example.com names no endpoint: the one whose certificate covers it
	// serves it. api.example.net names endpoint B.
	if code, _ := d.call(t, "POST", "/apps/secure/domains", map[string]any{"hostname": "www.example.com"}); code != 201 {
		t.Fatalf("add domain: %d", code)
	}
	if code, _ := d.call(t, "POST", "/apps/secure/domains", map[string]any{"hostname": "api.example.net", "sni_endpoint": epB["name"]}); code != 201 {
		t.Fatalf("add domain with endpoint: %d", code)
	}

	sum := writeSlug(t, dataDir, map[string]string{"web.py": echoApp})
	_, slug := d.call(t, "POST", "/apps/secure/slugs", map[string]any{"process_types": map[string]string{"web": "python3 web.py"}, "checksum": sum})
	if code, rel := d.call(t, "POST", "/apps/secure/releases", map[string]any{"slug": slug["id"]}); code != 201 {
		t.Fatalf("release: %d %v", code, rel)
	}
	if code, f := d.call(t, "PATCH", "/apps/secure/formation/web", map[string]any{"quantity": 1}); code != 200 {
		t.Fatalf("scale: %d %v", code, f)
	}

	var body, proto string
	var cert *x509.Certificate
	deadline := time.Now().Add(90 * time.Second)
	for {
		var c int
		var err error
		c, body, proto, cert, err = httpsGet(d.routerTLS, "www.example.com", "/", roots)
		if err == nil && c == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 over HTTPS: %d %q %v\nlogs: %s", c, body, err, d.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if body != "proto=https dyno=web.1\n" || proto != "HTTP/2.0" || strings.Join(cert.DNSNames, ",") != "www.example.com" {
		t.Fatalf("www.example.com: body %q proto %s cert %v", body, proto, cert.DNSNames)
	}

	// The wildcard certificate, by SNI; HTTP/1.1 when the client offers only that.
	c, body, _, cert, err := httpsGet(d.routerTLS, "api.example.net", "/", roots)
	if err != nil || c != 200 || strings.Join(cert.DNSNames, ",") != "*.example.net" {
		t.Fatalf("api.example.net: %d %q %v cert %v", c, body, err, cert)
	}
	conn, err := tls.Dial("tcp", d.routerTLS, &tls.Config{RootCAs: roots, ServerName: "api.example.net", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: api.example.net\r\nConnection: close\r\n\r\n")
	raw, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.HasPrefix(string(raw), "HTTP/1.1 200") || !strings.Contains(string(raw), "proto=https") {
		t.Fatalf("HTTP/1.1 over TLS: %q", raw)
	}

	// The app's default hostname gets paasd's "*.localhost" certificate.
	def, err := os.ReadFile(filepath.Join(dataDir, RouterCertFile))
	if err != nil {
		t.Fatal(err)
	}
	defRoots := x509.NewCertPool()
	defRoots.AppendCertsFromPEM(def)
	if c, body, _, cert, err := httpsGet(d.routerTLS, "secure.localhost", "/", defRoots); err != nil || c != 200 || body != "proto=https dyno=web.1\n" || cert.DNSNames[0] != "*.localhost" {
		t.Fatalf("https://secure.localhost/: %d %q %v", c, body, err)
	}

	// A name no certificate covers: the default certificate, which the
	// client does not trust for it.
	if _, err := tls.Dial("tcp", d.routerTLS, &tls.Config{RootCAs: roots, ServerName: "other.example.org"}); err == nil {
		t.Fatal("handshake for a name without a certificate succeeded")
	}

	// certs:update replaces A's certificate.
	if code, _ := d.call(t, "PATCH", "/apps/secure/sni-endpoints/"+epA["name"].(string), map[string]any{"certificate_chain": string(crtA2), "private_key": string(keyA2)}); code != 200 {
		t.Fatalf("update: %d", code)
	}
	want, _ := tlscert.Parse(crtA2, keyA2, time.Now())
	if _, _, _, cert, err := httpsGet(d.routerTLS, "www.example.com", "/", roots); err != nil || !cert.Equal(want.TLS.Leaf) {
		t.Fatalf("after update: %v, serial %v want %v", err, cert.SerialNumber, want.TLS.Leaf.SerialNumber)
	}

	// certs:remove B: api.example.net has no certificate left.
	if code, _ := d.call(t, "DELETE", "/apps/secure/sni-endpoints/"+epB["name"].(string), nil); code != 200 {
		t.Fatalf("remove: %d", code)
	}
	if _, err := tls.Dial("tcp", d.routerTLS, &tls.Config{RootCAs: roots, ServerName: "api.example.net"}); err == nil {
		t.Fatal("handshake for api.example.net succeeded after its certificate was removed")
	}
	// Private keys never come back from the API.
	_, list := d.callList(t, "/apps/secure/sni-endpoints")
	for _, e := range list {
		for k, v := range e {
			if strings.Contains(k, "key") || strings.Contains(strings.ToUpper(toString(v)), "PRIVATE KEY") {
				t.Fatalf("endpoint %v shows %s", e["name"], k)
			}
		}
	}
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}
