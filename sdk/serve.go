package sdk

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/core/wire"
)

// describeTimeout bounds the Describe call Serve makes at start.
const describeTimeout = 10 * time.Second

// Serve serves impl as a paasd plugin and does not return until paasd closes
// the plugin; then the process exits. It is the only call a plugin's main
// needs.
//
// Serve calls impl.Describe to learn the contract and the contract API
// versions impl speaks, and serves every method of that contract. It exits
// the process with status 1 and a message on stderr when Describe fails,
// names an unknown contract or no API version, or when impl does not
// implement the interface of the contract it names.
func Serve(impl core.Plugin) {
	mux, info, err := newMux(impl)
	if err != nil {
		fmt.Fprintf(os.Stderr, "paasd plugin: %v\n", err)
		os.Exit(1)
	}
	goplugin.Serve(info.Contract, info.APIVersions, mux)
	os.Exit(0)
}

// Check makes the checks Serve makes before serving impl, and returns what
// impl describes: use it in a plugin's own tests. Errors wrap core.ErrInvalid
// (or Describe's own error) and say what is wrong.
func Check(impl core.Plugin) (core.PluginInfo, error) {
	_, info, err := newMux(impl)
	return info, err
}

// newMux describes impl and builds the wire mux that serves it.
func newMux(impl core.Plugin) (*wire.Mux, core.PluginInfo, error) {
	if impl == nil {
		return nil, core.PluginInfo{}, fmt.Errorf("Serve called with a nil implementation: %w", core.ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	info, err := impl.Describe(ctx)
	if err != nil {
		return nil, info, fmt.Errorf("describe: %w", err)
	}
	if !info.Contract.Valid() {
		return nil, info, fmt.Errorf("plugin %q describes unknown contract %q (want one of %v): %w", info.ID, info.Contract, core.Contracts, core.ErrInvalid)
	}
	if len(info.APIVersions) == 0 {
		return nil, info, fmt.Errorf("plugin %q lists no %s contract API versions: %w", info.ID, info.Contract, core.ErrInvalid)
	}
	for _, v := range info.APIVersions {
		if v <= 0 {
			return nil, info, fmt.Errorf("plugin %q lists contract API version %d; versions start at 1: %w", info.ID, v, core.ErrInvalid)
		}
	}
	mux := wire.NewMuxFor(info.Contract, impl)
	if mux == nil {
		return nil, info, fmt.Errorf("plugin %q describes the %s contract but %T does not implement its interface: %w", info.ID, info.Contract, impl, core.ErrInvalid)
	}
	return mux, info, nil
}
