package builtins

import (
	"context"
	"errors"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/schemas"
)

// TestBrokerConfigSchemas checks each builtin broker's CUE config schema
// against a config it documents and ones it must reject.
func TestBrokerConfigSchemas(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	r := pluginhost.NewRegistry()
	Register(r)
	for _, tc := range []struct {
		desc, name, good string
		bad              []string
	}{
		{desc: "postgres", name: "postgres",
			good: `{"admin_url":"postgres://paasd_admin:pw@127.0.0.1:5432/postgres","public_host":"10.0.0.1","public_port":6432,"name_prefix":"paasd_"}`,
			bad:  []string{`{}`, `{"admin_url":"mysql://x"}`, `{"admin_url":"postgres://x","public_port":0}`, `{"admin_url":"postgres://x","name_prefix":"Bad"}`, `{"admin_url":"postgres://x","extra":1}`}},
		{desc: "redis", name: "redis",
			good: `{"admin_url":"redis://paasd-admin:pw@127.0.0.1:6379","name_prefix":"paasd"}`,
			bad:  []string{`{}`, `{"admin_url":"http://x"}`, `{"admin_url":"redis://x","name_prefix":"a_b"}`}},
		{desc: "osb", name: "osb",
			good: `{"url":"https://broker.example.com","username":"u","password":"p","timeout":"30s","config_var_prefixes":{"cloudamqp":"CLOUDAMQP"}}`,
			bad:  []string{`{}`, `{"url":"ftp://x"}`, `{"url":"http://x","timeout":"soon"}`, `{"url":"http://x","config_var_prefixes":{"a":"lower"}}`}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f, err := r.Lookup(core.ContractBroker, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			info, err := f().Describe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := v.ValidateConfig(info.ConfigSchema, []byte(tc.good)); err != nil {
				t.Errorf("good config %s: %v", tc.good, err)
			}
			for _, bad := range tc.bad {
				if err := v.ValidateConfig(info.ConfigSchema, []byte(bad)); !errors.Is(err, core.ErrSchemaViolation) && !errors.Is(err, core.ErrInvalid) {
					t.Errorf("bad config %s: %v, want a schema violation", bad, err)
				}
			}
		})
	}
}
