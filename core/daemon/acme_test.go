package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/paasd/paasd/core/tlscert"
	"github.com/paasd/paasd/internal/testenv"
)

// buildPebble builds Let's Encrypt's ACME test server (the go.mod tool
// dependency) into dir, or skips t saying why.
func buildPebble(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "pebble")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/letsencrypt/pebble/v2/cmd/pebble")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIPPED, NOT PASSED: cannot build the pebble ACME server (no network or module cache?): %v\n%s", err, out)
	}
	return bin
}

// loopbackDNS serves A 127.0.0.1 for every name on a UDP port of
// 127.0.0.1 (TCP and UDP), so that pebble's validation of any test domain reaches the
// router; it returns the address.
func loopbackDNS(t *testing.T) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
					A: net.IPv4(127, 0, 0, 1)})
			}
		}
		_ = w.WriteMsg(m)
	})
	// pebble asks over TCP; UDP on the same port too, for any other client.
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err != nil {
			ln.Close()
			continue
		}
		for _, srv := range []*dns.Server{{Listener: ln, Handler: handler}, {PacketConn: pc, Handler: handler}} {
			go srv.ActivateAndServe() //nolint:errcheck // ends with Shutdown
			t.Cleanup(func() { _ = srv.Shutdown() })
		}
		return ln.Addr().String()
	}
	t.Fatal("no port free for both TCP and UDP")
	return ""
}

// freePort is a TCP port of 127.0.0.1 free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestACMEWithPebble: Automated Certificate Management end to end against
// a real ACME server (pebble) with real HTTP-01 validation: pebble resolves
// the custom domain through a DNS server answering 127.0.0.1 and fetches
// the challenge from paasd's router HTTP port. Enabling ACM gets the domain
// a certificate issued by pebble's CA, served by SNI on the router's TLS
// port, and acm_status "cert issued"; disabling ACM removes it.
func TestACMEWithPebble(t *testing.T) {
	testenv.Short(t, "starts paasd and an ACME server")
	tmp := t.TempDir()
	pebble := buildPebble(t, tmp)
	dnsAddr := loopbackDNS(t)

	// The router's HTTP port is where pebble validates: pick it first.
	routerPort := freePort(t)
	acmePort, mgmtPort := freePort(t), freePort(t)
	crt, key, err := tlscert.Generate([]string{"localhost"}, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crtFile, keyFile := filepath.Join(tmp, "pebble.crt"), filepath.Join(tmp, "pebble.key")
	if err := os.WriteFile(crtFile, crt, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	pcfg, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": "127.0.0.1:" + strconv.Itoa(acmePort), "managementListenAddress": "127.0.0.1:" + strconv.Itoa(mgmtPort),
		"certificate": crtFile, "privateKey": keyFile, "httpPort": routerPort, "tlsPort": freePort(t),
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
	}})
	pcfgFile := filepath.Join(tmp, "pebble.json")
	if err := os.WriteFile(pcfgFile, pcfg, 0o600); err != nil {
		t.Fatal(err)
	}
	var plog syncBuffer
	cmd := exec.Command(pebble, "-config", pcfgFile, "-dnsserver", dnsAddr)
	// Real validation: no PEBBLE_VA_ALWAYS_VALID.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = &plog, &plog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	caPool := x509.NewCertPool()
	caPool.AppendCertsFromPEM(crt)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool}}}
	dirURL := fmt.Sprintf("https://localhost:%d/dir", acmePort)
	pollUntil(t, 30*time.Second, "pebble's directory", func() error {
		res, err := client.Get(dirURL)
		if err != nil {
			return err
		}
		res.Body.Close()
		return nil
	}, &plog)

	dataDir := filepath.Join(tmp, "data")
	cfgFile := filepath.Join(tmp, "paasd.json")
	cfg, _ := json.Marshal(map[string]any{"acme_directory_url": dirURL, "acme_ca_root": crtFile, "acme_email": "ops@acm.test"})
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *daemon {
		d, _ := startDaemonWithRouter(t, dataDir, "--config", cfgFile, "--runtime", "builtin:process",
			"--router-addr", "127.0.0.1:"+strconv.Itoa(routerPort), "--router-tls-addr", "127.0.0.1:0")
		t.Cleanup(func() { d.stop(t) })
		return d
	}
	d := start()

	const host = "www.acm.test"
	if code, _ := d.call(t, "POST", "/apps", map[string]any{"name": "acm"}); code != 201 {
		t.Fatalf("create app: %d", code)
	}
	if code, _ := d.call(t, "POST", "/apps/acm/domains", map[string]any{"hostname": host}); code != 201 {
		t.Fatalf("add domain: %d", code)
	}
	code, app := d.call(t, "POST", "/apps/acm/acm", nil)
	if code != 200 || app["acm"] != true {
		t.Fatalf("enable ACM: %d %v", code, app)
	}
	pollUntil(t, 120*time.Second, "acm_status \"cert issued\"", func() error {
		_, dom := d.call(t, "GET", "/apps/acm/domains/"+host, nil)
		if dom["acm_status"] != "cert issued" {
			return fmt.Errorf("acm_status %v, reason %v", dom["acm_status"], dom["acm_status_reason"])
		}
		return nil
	}, &plog, d.logs)

	// pebble's root of the moment (it makes a new one each start).
	res, err := client.Get(fmt.Sprintf("https://localhost:%d/roots/0", mgmtPort))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := io.ReadAll(res.Body)
	res.Body.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble root: %q", rootPEM)
	}
	var leaf *x509.Certificate
	pollUntil(t, 30*time.Second, "the router serving the issued certificate", func() error {
		conn, err := tls.Dial("tcp", d.routerTLS, &tls.Config{RootCAs: roots, ServerName: host})
		if err != nil {
			return err
		}
		leaf = conn.ConnectionState().PeerCertificates[0]
		return conn.Close()
	}, &plog, d.logs)
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != host {
		t.Fatalf("certificate for %v, want %s", leaf.DNSNames, host)
	}
	if !strings.Contains(plog.String(), "Attempting to validate w/ HTTP: http://"+host+":"+strconv.Itoa(routerPort)) {
		t.Errorf("pebble did not validate over HTTP through the router:\n%s", plog.String())
	}

	// A restart serves the stored certificate without asking pebble again.
	orders := strings.Count(plog.String(), "POST /order-plz")
	d.stop(t)
	d = start()
	if _, dom := d.call(t, "GET", "/apps/acm/domains/"+host, nil); dom["acm_status"] != "cert issued" {
		t.Fatalf("acm_status after a restart: %v %v", dom["acm_status"], dom["acm_status_reason"])
	}
	conn, err := tls.Dial("tcp", d.routerTLS, &tls.Config{RootCAs: roots, ServerName: host})
	if err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	if !conn.ConnectionState().PeerCertificates[0].Equal(leaf) {
		t.Fatal("after a restart the router serves another certificate")
	}
	conn.Close()
	if n := strings.Count(plog.String(), "POST /order-plz"); n != orders {
		t.Fatalf("%d new orders after a restart", n-orders)
	}

	// Disable: the domain loses its status and the router its certificate.
	code, app = d.call(t, "DELETE", "/apps/acm/acm", nil)
	if code != 200 || app["acm"] != false {
		t.Fatalf("disable ACM: %d %v", code, app)
	}
	if _, dom := d.call(t, "GET", "/apps/acm/domains/"+host, nil); dom["acm_status"] != nil {
		t.Fatalf("acm_status %v after disabling", dom["acm_status"])
	}
	if conn, err := tls.Dial("tcp", d.routerTLS, &tls.Config{RootCAs: roots, ServerName: host}); err == nil {
		conn.Close()
		t.Fatal("the router still serves the ACM certificate after disabling")
	}
}

// pollUntil polls fn until it returns nil or timeout passes, then fails
// with its last error and the logs.
func pollUntil(t *testing.T, timeout time.Duration, what string, fn func() error, logs ...interface{ String() string }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := fn()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			msg := ""
			for _, l := range logs {
				msg += "\n--- log:\n" + l.String()
			}
			t.Fatalf("waiting for %s: %v%s", what, err, msg)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
