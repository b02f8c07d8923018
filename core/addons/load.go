package addons

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
)

// BrokerConfig is one entry of paasd's "brokers" configuration: a plugin
// reference and the broker's own configuration.
type BrokerConfig struct {
	// Ref is builtin:NAME, plugin:PATH or wasm:PATH.
	Ref string `json:"ref"`
	// Config is the broker's configuration; nil for none.
	Config json.RawMessage `json:"config,omitempty"`
}

// Load loads every broker through h (transport, describe, version
// negotiation, config validation, configure) and returns a Service
// offering their services. A broker that fails to load or whose catalog
// clashes with another's fails the whole load with an error naming its
// reference; the brokers loaded so far are closed again.
func Load(ctx context.Context, h *pluginhost.Host, brokers []BrokerConfig, opts Options) (*Service, error) {
	s := New(opts)
	var loaded []*pluginhost.Loaded
	fail := func(err error) (*Service, error) {
		for _, l := range loaded {
			_ = l.Close()
		}
		return nil, err
	}
	for _, bc := range brokers {
		l, err := h.Load(ctx, core.ContractBroker, bc.Ref, bc.Config)
		if err != nil {
			return fail(fmt.Errorf("add-on brokers: %w", err))
		}
		loaded = append(loaded, l)
		b := l.Broker()
		if b == nil {
			return fail(fmt.Errorf("add-on brokers: %s is not an add-on broker: %w", bc.Ref, core.ErrUnsupported))
		}
		if err := s.AddBroker(ctx, bc.Ref, b); err != nil {
			return fail(err)
		}
	}
	return s, nil
}
