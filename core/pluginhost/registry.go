// Package pluginhost loads contract implementations from a reference string:
// builtin:NAME from a [Registry], plugin:PATH as a HashiCorp go-plugin
// process (package goplugin), wasm:PATH as a WebAssembly module run by wazero
// (package wasmhost).
//
// Every implementation goes through the same steps in [Host.Load]: open the
// transport, Describe, check the contract, negotiate the contract API version,
// validate the config against the plugin's config schema, Configure. Messages
// from go-plugin and Wasm implementations are validated against the
// contract's CUE definitions (package schemas) before the core uses them;
// builtins are trusted and not validated.
package pluginhost

import (
	"fmt"
	"sort"
	"sync"

	"github.com/paasd/paasd/core"
)

// Factory makes a new, unconfigured instance of a builtin implementation.
type Factory func() core.Plugin

// Registry holds the builtin implementations, keyed by contract and name.
// A Registry is safe for concurrent use. There is no global registry:
// plugins/builtins registers paasd's own into a Registry its caller owns.
type Registry struct {
	mu sync.RWMutex
	m  map[core.Contract]map[string]Factory
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{m: map[core.Contract]map[string]Factory{}}
}

// Register adds a builtin. It returns an error wrapping core.ErrAlreadyExists
// for a duplicate name within a contract, and core.ErrInvalid for an unknown
// contract or an empty name.
func (r *Registry) Register(c core.Contract, name string, f Factory) error {
	if !c.Valid() {
		return fmt.Errorf("register builtin %q: unknown contract %q: %w", name, c, core.ErrInvalid)
	}
	if name == "" || f == nil {
		return fmt.Errorf("register builtin for %s: empty name or nil factory: %w", c, core.ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[c] == nil {
		r.m[c] = map[string]Factory{}
	}
	if _, dup := r.m[c][name]; dup {
		return fmt.Errorf("register builtin %s %q: %w", c, name, core.ErrAlreadyExists)
	}
	r.m[c][name] = f
	return nil
}

// MustRegister is Register that panics on error; for the one file that lists
// every builtin, where a duplicate is a programming error.
func (r *Registry) MustRegister(c core.Contract, name string, f Factory) {
	if err := r.Register(c, name, f); err != nil {
		panic(err)
	}
}

// Lookup returns the factory for a builtin, or an error wrapping
// core.ErrNotFound that lists the names known for the contract.
func (r *Registry) Lookup(c core.Contract, name string) (Factory, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.m[c][name]
	if !ok {
		return nil, fmt.Errorf("no builtin %s named %q (known: %v): %w", c, name, r.namesLocked(c), core.ErrNotFound)
	}
	return f, nil
}

// Names lists the builtin names for a contract, sorted.
func (r *Registry) Names(c core.Contract) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked(c)
}

func (r *Registry) namesLocked(c core.Contract) []string {
	names := make([]string, 0, len(r.m[c]))
	for n := range r.m[c] {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
