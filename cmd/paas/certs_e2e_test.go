package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core/tlscert"
)

// TestCertsAndFeatures drives certs:*, domains:add --cert and features:*
// against a real paasd.
func TestCertsAndFeatures(t *testing.T) {
	p := startPaasd(t)
	p.ok("apps:create", "secure")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	crt, key, _ := tlscert.Generate([]string{"www.example.com"}, time.Now(), 30*24*time.Hour)
	crt2, key2, _ := tlscert.Generate([]string{"www.example.com", "api.example.com"}, time.Now(), 60*24*time.Hour)
	_, otherKey, _ := tlscert.Generate([]string{"x.example.com"}, time.Now(), time.Hour)

	r := p.ok("certs", "-a", "secure")
	contains(t, "certs with none", r.out, "secure has no SSL certificates.")
	r = p.fails(1, "certs:add", write("a.crt", crt), write("other.key", otherKey), "-a", "secure")
	contains(t, "certs:add with the wrong key", r.err, "Private key does not match the certificate")
	r = p.ok("certs:add", write("a.crt", crt), write("a.key", key), "-a", "secure")
	contains(t, "certs:add", r.err, "Adding SSL certificate to ⬢ secure... done")
	contains(t, "certs:add", r.out, "Common Name(s): www.example.com", "SSL certificate is self signed.")
	if strings.Contains(r.out, "PRIVATE KEY") {
		t.Fatalf("certs:add prints the key: %s", r.out)
	}
	r = p.ok("certs", "-a", "secure")
	contains(t, "certs", r.out, "Name", "Common Name(s)", "www.example.com", "False    SNI   0")
	name := strings.Fields(strings.Split(r.out, "\n")[2])[0]

	p.ok("domains:add", "www.example.com", "--cert", name, "-a", "secure")
	r = p.ok("domains", "-a", "secure")
	contains(t, "domains", r.out, "SNI Endpoint", name)
	r = p.fails(1, "domains:add", "api.example.com", "--cert", "nope", "-a", "secure")
	contains(t, "domains:add --cert nope", r.err, "nope")

	r = p.ok("certs:info", "-a", "secure")
	contains(t, "certs:info", r.out, "Certificate details:", "Expires At:")
	r = p.ok("certs:update", write("b.crt", crt2), write("b.key", key2), "--name", name, "-a", "secure")
	contains(t, "certs:update", r.out, "www.example.com, api.example.com")
	r = p.ok("certs", "-a", "secure", "--json")
	if strings.Contains(r.out, "PRIVATE KEY") || !strings.Contains(r.out, `"ssl_cert"`) {
		t.Fatalf("certs --json = %s", r.out)
	}
	p.ok("certs:remove", "--name", name, "-a", "secure", "--confirm", "secure")
	r = p.ok("certs", "-a", "secure")
	contains(t, "certs after remove", r.out, "no SSL certificates")

	// certs:add --domains associates the new certificate with domains.
	p.ok("domains:add", "api.example.com", "-a", "secure")
	r = p.ok("certs:add", write("b.crt", crt2), write("b.key", key2), "--domains", "api.example.com", "-a", "secure")
	contains(t, "certs:add --domains", r.err, "Adding api.example.com to ")
	r = p.ok("certs", "-a", "secure")
	name = strings.Fields(strings.Split(r.out, "\n")[2])[0]
	r = p.ok("domains", "-a", "secure")
	if !regexp.MustCompile(`(?m)^api\.example\.com +CNAME +secure\.localhost +` + name + `$`).MatchString(r.out) {
		t.Fatalf("domains after certs:add --domains:\n%s", r.out)
	}

	r = p.ok("features", "-a", "secure")
	contains(t, "features", r.out, "[ ] router-least-connections", "[ ] router-power-of-two")
	p.ok("features:enable", "router-power-of-two", "-a", "secure")
	r = p.ok("features", "-a", "secure")
	contains(t, "features after enable", r.out, "[+] router-power-of-two")
	r = p.ok("features:info", "router-power-of-two", "-a", "secure")
	contains(t, "features:info", r.out, "Enabled:     true")
	p.ok("features:disable", "router-power-of-two", "-a", "secure")
	r = p.fails(1, "features:enable", "nope", "-a", "secure")
	contains(t, "unknown feature", r.err, "find that feature")
}

// TestCertsAuto drives certs:auto, certs:auto:enable, certs:auto:refresh
// and certs:auto:disable against a real paasd whose ACME directory is
// unreachable, so the domain's certificate fails with a reason
// (issuance itself is tested against pebble in core/daemon's
// TestACMEWithPebble).
func TestCertsAuto(t *testing.T) {
	p := startPaasd(t, "--acme-directory-url", "https://127.0.0.1:1/directory")
	p.ok("apps:create", "auto")
	r := p.ok("certs:auto", "-a", "auto")
	contains(t, "certs:auto before enabling", r.out, "=== Automatic Certificate Management is disabled on ⬢ auto")
	p.ok("domains:add", "www.example.com", "-a", "auto")
	r = p.ok("certs:auto:enable", "-a", "auto")
	contains(t, "certs:auto:enable", r.err, "Enabling Automatic Certificate Management... starting. See status with paas certs:auto")
	contains(t, "certs:auto:enable", r.out, "=== Your certificate will now be managed by paasd.")
	deadline := time.Now().Add(60 * time.Second)
	for {
		r = p.ok("certs:auto", "-a", "auto")
		if strings.Contains(r.out, "Failed") || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	contains(t, "certs:auto after a failure", r.out, "=== Automatic Certificate Management is enabled on ⬢ auto",
		"Domain", "Status", "www.example.com  Failed", "retry by running: paas certs:auto:refresh", "www.example.com: ", "127.0.0.1:1")
	if strings.Contains(r.out, "auto.localhost") {
		t.Fatalf("certs:auto lists the default hostname:\n%s", r.out)
	}
	r = p.ok("certs:auto:refresh", "-a", "auto")
	contains(t, "certs:auto:refresh", r.err, "Refreshing Automatic Certificate Management for ⬢ auto... done")
	r = p.ok("certs:auto:disable", "-a", "auto", "--confirm", "auto")
	contains(t, "certs:auto:disable", r.err, "Disabling Automatic Certificate Management for ⬢ auto... done")
	r = p.ok("certs:auto", "-a", "auto")
	contains(t, "certs:auto after disabling", r.out, "is disabled on ⬢ auto")
	p.fails(1, "certs:auto:refresh", "-a", "auto")
}
