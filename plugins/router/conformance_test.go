package router

import (
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// TestConformance runs the router contract's suite against the reference
// router, serving HTTP and HTTPS on loopback.
func TestConformance(t *testing.T) {
	conformance.Router(t, conformance.RouterTarget{
		Describe: New(Options{}).Describe,
		New: func(t *conformance.T) conformance.RouterInstance {
			r := New(Options{})
			if err := r.Configure(t.Context(), core.ConfigureRequest{APIVersion: 1,
				Config: []byte(`{"http_addr":"127.0.0.1:0","https_addr":"127.0.0.1:0"}`)}); err != nil {
				t.Fatalf("configure: %v", err)
			}
			t.Cleanup(func() { r.Close() })
			return conformance.RouterInstance{Router: r, HTTPAddr: r.HTTPAddr(), HTTPSAddr: r.HTTPSAddr()}
		},
	})
}

// TestConformanceOverWire runs the suite through core/wire's JSON encoding
// (the go-plugin path's message layer): SetRoutes and the Logs stream cross
// wire.NewRouterMux and wire.NewRouterClient.
func TestConformanceOverWire(t *testing.T) {
	conformance.Router(t, conformance.RouterTarget{
		Describe: New(Options{}).Describe,
		New: func(t *conformance.T) conformance.RouterInstance {
			r := New(Options{})
			if err := r.Configure(t.Context(), core.ConfigureRequest{APIVersion: 1,
				Config: []byte(`{"http_addr":"127.0.0.1:0","https_addr":"127.0.0.1:0"}`)}); err != nil {
				t.Fatalf("configure: %v", err)
			}
			t.Cleanup(func() { r.Close() })
			client := wire.NewRouterClient(&wire.Client{Conn: wire.NewRouterMux(r), Name: "builtin:router", Contract: core.ContractRouter})
			return conformance.RouterInstance{Router: client, HTTPAddr: r.HTTPAddr(), HTTPSAddr: r.HTTPSAddr()}
		},
	})
}
