package syslogdrain

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex"
	"github.com/paasd/paasd/core/logplex/syslog"
	"github.com/paasd/paasd/internal/testenv"
)

// rsyslogd is a private rsyslogd: its own config in a temp dir, imtcp on a
// free loopback port, foreground (-n), its own pid file (-i). It never
// touches the system's rsyslog.
type rsyslogd struct {
	dir  string
	port string
	cmd  *exec.Cmd
}

// startRsyslogd starts rsyslogd with imtcp feeding a ruleset whose body is
// given (it may use {{DIR}} for the temp dir) and waits until it listens.
func startRsyslogd(tb testing.TB, ruleset string) *rsyslogd {
	return startRsyslogdTLS(tb, ruleset, nil)
}

// rsyslogTLS names PEM files for an imtcp listener over TLS (gtls driver).
type rsyslogTLS struct{ caFile, certFile, keyFile string }

// startRsyslogdTLS is startRsyslogd with imtcp over TLS when tlsFiles is set.
func startRsyslogdTLS(tb testing.TB, ruleset string, tlsFiles *rsyslogTLS) *rsyslogd {
	tb.Helper()
	bin := testenv.NeedCommand(tb, "rsyslogd")
	dir := tb.TempDir()
	global, imtcp := "", `module(load="imtcp")`
	if tlsFiles != nil {
		global = fmt.Sprintf(` defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q`,
			tlsFiles.caFile, tlsFiles.certFile, tlsFiles.keyFile)
		imtcp = `module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")`
	}
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k"%s)
main_queue(queue.type="FixedArray" queue.size="200000" queue.dequeueBatchSize="2048")
%s
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName=%q ruleset="paasd")
ruleset(name="paasd") {
%s
}
`, dir, global, imtcp, filepath.Join(dir, "port"), strings.ReplaceAll(ruleset, "{{DIR}}", dir))
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	r := &rsyslogd{dir: dir}
	var stderr bytes.Buffer
	r.cmd = exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = &stderr, &stderr
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("start rsyslogd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- r.cmd.Wait() }()
	tb.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-exited
	})
	// rsyslogd writes the port file once imtcp listens; poll for it (there
	// is no other signal), generously.
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "port"))
		if p := strings.TrimSpace(string(b)); err == nil && p != "" && p != "0" {
			r.port = p
			return r
		}
		select {
		case err := <-exited:
			tb.Fatalf("rsyslogd exited: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("rsyslogd did not listen within 60 s\n%s", stderr.String())
		}
	}
}

// waitLines waits until file has at least n lines and returns them.
func waitLines(tb testing.TB, file string, n int) []string {
	tb.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		var lines []string
		if f, err := os.Open(file); err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			f.Close()
		}
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s has %d of %d lines after 120 s", file, len(lines), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRsyslogEndToEnd sends dyno output, router, state and API lines through
// Logplex and the syslog drain to a real rsyslogd, which writes them to a
// file with its RFC 5424 template; every line must arrive, in order, with
// the right APP-NAME and PROCID.
func TestRsyslogEndToEnd(t *testing.T) {
	testenv.Short(t, "starts rsyslogd")
	rs := startRsyslogd(t, `action(type="omfile" file="{{DIR}}/out.log" template="RSYSLOG_SyslogProtocol23Format")`)
	factory, err := Factory(Config{})
	if err != nil {
		t.Fatal(err)
	}
	// The lines are written far faster than any dyno would; a drain buffer
	// larger than Logplex's 1,024 keeps the burst from overflowing it.
	lp := logplex.New(logplex.Config{Drains: logplex.Schemes{"syslog": factory}, DrainBuffer: 8192})
	defer lp.Close()
	st, err := lp.AddDrain(context.Background(), "myapp", "syslog://127.0.0.1:"+rs.port, logplex.DrainOptions{})
	if err != nil {
		t.Fatal(err)
	}

	type want struct{ app, procid, text string }
	var sent []want
	_ = lp.State("myapp", "web.1", "State changed from starting to up")
	sent = append(sent, want{"heroku", "web.1", "State changed from starting to up"})
	_ = lp.API("myapp", "Release v2 created by user@example.com")
	sent = append(sent, want{"app", "api", "Release v2 created by user@example.com"})
	web1, web2 := lp.Dyno("myapp", "web.1"), lp.Dyno("myapp", "web.2")
	for i := range 2000 {
		w, ps := web1, "web.1"
		if i%3 == 0 {
			w, ps = web2, "web.2"
		}
		text := fmt.Sprintf("line %04d from %s: ünïcode ✓ {\"k\": [1,2]}", i, ps)
		fmt.Fprintf(w, "%s\n", text)
		sent = append(sent, want{"app", ps, text})
		if i%100 == 0 {
			r := fmt.Sprintf(`at=info method=GET path="/%d" host=myapp.example.com dyno=%s connect=0ms service=1ms status=200 bytes=12`, i, ps)
			_ = lp.Router("myapp", r)
			sent = append(sent, want{"heroku", "router", r})
		}
	}
	long := strings.Repeat("z", 12000) // over 10,000 bytes: two messages
	fmt.Fprintf(web1, "%s\n", long)
	sent = append(sent, want{"app", "web.1", long[:10000]}, want{"app", "web.1", long[10000:]})

	lines := waitLines(t, filepath.Join(rs.dir, "out.log"), len(sent))
	if len(lines) != len(sent) {
		t.Fatalf("rsyslog wrote %d lines, sent %d", len(lines), len(sent))
	}
	var prev time.Time
	for i, l := range lines {
		m, err := syslog.Parse([]byte(l))
		if err != nil {
			t.Fatalf("line %d from rsyslog: %v\n%q", i, err, l)
		}
		w := sent[i]
		if m.App != w.app || m.ProcID != w.procid || m.Text != w.text || m.Host != "host" || m.Priority != 190 {
			t.Fatalf("line %d: got %s[%s] %q (host %q, pri %d)\nwant %s[%s] %q", i, m.App, m.ProcID, trunc(m.Text), m.Host, m.Priority, w.app, w.procid, trunc(w.text))
		}
		if m.Time.Before(prev) {
			t.Fatalf("line %d: time %v before the previous line's %v", i, m.Time, prev)
		}
		prev = m.Time
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s := lp.Drains("myapp")[0]; s.Delivered == int64(len(sent)) {
			return
		}
	}
	t.Errorf("drain %s status %+v, want %d delivered", st.ID, lp.Drains("myapp")[0], len(sent))
}

// TestRsyslogTLSEndToEnd delivers through Logplex and a syslog+tls:// drain
// to a real rsyslogd listening with TLS (gtls), whose certificate the drain
// verifies against a test CA; a drain that does not trust the CA delivers
// nothing.
func TestRsyslogTLSEndToEnd(t *testing.T) {
	testenv.Short(t, "starts rsyslogd")
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
		testenv.Missing(t, "rsyslog's gtls driver is not installed (rsyslog-gnutls)")
	}
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := testCertificates(t)
	files := &rsyslogTLS{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	for f, b := range map[string][]byte{files.caFile: caPEM, files.certFile: certPEM, files.keyFile: keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rs := startRsyslogdTLS(t, `action(type="omfile" file="{{DIR}}/out.log" template="RSYSLOG_SyslogProtocol23Format")`, files)

	trusting, err := Factory(Config{TLSCAPEM: string(caPEM)})
	if err != nil {
		t.Fatal(err)
	}
	lp := logplex.New(logplex.Config{Drains: logplex.Schemes{"syslog+tls": trusting}, DrainBuffer: 8192})
	defer lp.Close()
	if _, err := lp.AddDrain(context.Background(), "myapp", "syslog+tls://127.0.0.1:"+rs.port, logplex.DrainOptions{}); err != nil {
		t.Fatal(err)
	}
	w := lp.Dyno("myapp", "worker.3")
	for i := range 500 {
		fmt.Fprintf(w, "tls line %d\n", i)
	}
	lines := waitLines(t, filepath.Join(rs.dir, "out.log"), 500)
	for i, l := range lines {
		m, err := syslog.Parse([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if m.Text != fmt.Sprintf("tls line %d", i) || m.ProcID != "worker.3" || m.App != "app" {
			t.Fatalf("line %d: %+v", i, m)
		}
	}

	// A drain that trusts only the system's roots refuses rsyslogd's certificate.
	d := New()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = d.Deliver(ctx, core.DrainBatch{URL: "syslog+tls://127.0.0.1:" + rs.port, Messages: []core.LogMessage{{Text: "must not arrive"}}})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted delivery: %v", err)
	}
	d.Close()
}

// testCertificates returns a CA and a leaf for 127.0.0.1 that it signed.
func testCertificates(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paasd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
