package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Contract names one of the five extension points.
type Contract string

// The five contracts.
const (
	ContractBuildpack Contract = "buildpack"
	ContractRuntime   Contract = "runtime"
	ContractRouter    Contract = "router"
	ContractDrain     Contract = "drain"
	ContractBroker    Contract = "broker"
)

// Contracts lists every contract, in a stable order.
var Contracts = []Contract{ContractBuildpack, ContractRuntime, ContractRouter, ContractDrain, ContractBroker}

// Valid reports whether c is one of the five contracts.
func (c Contract) Valid() bool {
	for _, k := range Contracts {
		if c == k {
			return true
		}
	}
	return false
}

// PluginInfo is how an implementation describes itself.
type PluginInfo struct {
	// ID is a namespaced, dotted identifier, e.g. "paasd.drain.syslog".
	ID string `json:"id"`
	// Contract is the extension point the plugin implements.
	Contract Contract `json:"contract"`
	// APIVersions lists the contract API versions the plugin speaks; the host
	// picks the highest one it also speaks.
	APIVersions []int `json:"api_versions"`
	// Version is the plugin's own release version (free form).
	Version string `json:"version,omitempty"`
	// Capabilities lists the optional capabilities the plugin offers, from
	// the contract's documented set (e.g. "attach" for runtimes).
	Capabilities []string `json:"capabilities,omitempty"`
	// ConfigSchema is a CUE definition source (a struct) that the plugin's
	// configuration must satisfy; empty means the plugin takes no config.
	ConfigSchema string `json:"config_schema,omitempty"`
}

// HasCapability reports whether the plugin declared capability c.
func (p PluginInfo) HasCapability(c string) bool {
	for _, have := range p.Capabilities {
		if have == c {
			return true
		}
	}
	return false
}

// ConfigureRequest configures a plugin after the host has negotiated a
// contract API version.
type ConfigureRequest struct {
	// APIVersion is the negotiated contract API version.
	APIVersion int `json:"api_version"`
	// Config is the plugin's configuration as JSON; it has already been
	// validated against the plugin's ConfigSchema. Nil means no config.
	Config json.RawMessage `json:"config,omitempty"`
}

// Plugin is what every contract implementation offers.
//
// Describe must be cheap and must not depend on configuration. Configure is
// called once, after Describe, before any contract method; it returns an error
// wrapping ErrInvalid for a config it cannot use.
type Plugin interface {
	Describe(ctx context.Context) (PluginInfo, error)
	Configure(ctx context.Context, req ConfigureRequest) error
}

// HealthChecker is an optional capability: Health returns nil when the plugin
// can serve, and an error wrapping ErrUnavailable when it cannot.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// RefKind is the transport part of a plugin reference.
type RefKind string

// The three ways to load an implementation.
const (
	RefBuiltin RefKind = "builtin"
	RefPlugin  RefKind = "plugin"
	RefWasm    RefKind = "wasm"
)

// Ref is a parsed plugin reference: "builtin:NAME", "plugin:PATH" or "wasm:PATH".
type Ref struct {
	Kind RefKind
	// Target is the built-in name or the file path.
	Target string
}

// String returns the reference in its canonical "kind:target" form.
func (r Ref) String() string { return string(r.Kind) + ":" + r.Target }

// ParseRef parses a plugin reference. It returns an error wrapping ErrInvalid
// that names the reference when the kind is unknown or the target empty.
func ParseRef(s string) (Ref, error) {
	kind, target, ok := strings.Cut(s, ":")
	if !ok {
		return Ref{}, fmt.Errorf("plugin reference %q: want builtin:NAME, plugin:PATH or wasm:PATH: %w", s, ErrInvalid)
	}
	r := Ref{Kind: RefKind(kind), Target: target}
	switch r.Kind {
	case RefBuiltin, RefPlugin, RefWasm:
	default:
		return Ref{}, fmt.Errorf("plugin reference %q: unknown kind %q (want builtin, plugin or wasm): %w", s, kind, ErrInvalid)
	}
	if strings.TrimSpace(target) == "" {
		return Ref{}, fmt.Errorf("plugin reference %q: empty %s target: %w", s, kind, ErrInvalid)
	}
	return r, nil
}

// NegotiateVersion returns the highest version present in both lists, or an
// error wrapping ErrUnsupported naming both lists when there is none.
func NegotiateVersion(host, plugin []int) (int, error) {
	best := 0
	for _, h := range host {
		for _, p := range plugin {
			if h == p && h > best {
				best = h
			}
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("no common contract API version (host speaks %v, plugin speaks %v): %w", host, plugin, ErrUnsupported)
	}
	return best, nil
}
