package syslogdrain_test

import (
	"encoding/json"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/schemas"
)

// TestConformanceAsGoPlugin runs the whole drain suite, destination checks
// included, against the syslog drain served as a go-plugin process and
// loaded the way paasd loads it (CUE validation on).
func TestConformanceAsGoPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a plugin binary")
	}
	bin := filepath.Join(t.TempDir(), "paasd-drain-syslog")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/paasd-drain-syslog").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	h := &pluginhost.Host{GoPlugin: &goplugin.Opener{Logger: quiet}, Validator: v, Logger: quiet}
	t.Cleanup(func() { _ = h.Close() })
	target := conformance.HostDrain(h, "plugin:"+bin, nil)
	target.TrustCA = func(_ json.RawMessage, caPEM string) json.RawMessage {
		b, _ := json.Marshal(map[string]string{"tls_ca_pem": caPEM})
		return b
	}
	conformance.Drain(t, target)
}
