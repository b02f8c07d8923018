package builtins

import (
	"encoding/json"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/schemas"
)

// trustCA sets the reference drains' "tls_ca_pem" config field.
func trustCA(config json.RawMessage, caPEM string) json.RawMessage {
	m := map[string]any{}
	if len(config) > 0 {
		_ = json.Unmarshal(config, &m)
	}
	m["tls_ca_pem"] = caPEM
	out, _ := json.Marshal(m)
	return out
}

// TestBuiltinDrainsConform runs the whole drain suite (base, filter and
// destination checks, as each drain's capabilities select) against every
// builtin drain, loaded the way paasd loads it.
func TestBuiltinDrainsConform(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	reg := pluginhost.NewRegistry()
	Register(reg)
	h := &pluginhost.Host{Registry: reg, Validator: v}
	for _, name := range []string{"redact", "syslog", "https"} {
		t.Run(name, func(t *testing.T) {
			target := conformance.HostDrain(h, "builtin:"+name, nil)
			if name != "redact" {
				target.TrustCA = trustCA
			}
			conformance.Drain(t, target)
		})
	}
}
