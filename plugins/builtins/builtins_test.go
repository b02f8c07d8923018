package builtins

import (
	"context"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
)

// TestRegister checks that every builtin registers once and describes
// itself as an implementation of the contract it is registered under.
func TestRegister(t *testing.T) {
	r := pluginhost.NewRegistry()
	Register(r)
	total := 0
	for _, c := range core.Contracts {
		for _, name := range r.Names(c) {
			total++
			t.Run(string(c)+"/"+name, func(t *testing.T) {
				f, err := r.Lookup(c, name)
				if err != nil {
					t.Fatal(err)
				}
				info, err := f().Describe(context.Background())
				if err != nil {
					t.Fatalf("Describe: %v", err)
				}
				if info.Contract != c {
					t.Errorf("builtin %s %q describes itself as a %s implementation", c, name, info.Contract)
				}
			})
		}
	}
	if _, err := r.Lookup(core.ContractDrain, "redact"); err != nil {
		t.Errorf("redact is not registered: %v", err)
	}
	if total == 0 {
		t.Fatal("no builtins registered")
	}
}
