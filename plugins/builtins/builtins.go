// Package builtins lists every implementation compiled into paasd: the one
// place a builtin: reference is resolved from. Add a new builtin here, under
// its contract, with the name users write after "builtin:".
package builtins

import (
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/plugins/brokers/osb"
	"github.com/paasd/paasd/plugins/brokers/postgres"
	"github.com/paasd/paasd/plugins/brokers/redis"
	"github.com/paasd/paasd/plugins/drains/redact"
)

// Register adds every builtin implementation to r. A duplicate name within a
// contract panics: it is a programming error in this file.
func Register(r *pluginhost.Registry) {
	// log drains
	r.MustRegister(core.ContractDrain, "redact", func() core.Plugin { return redact.New() })

	// add-on brokers
	r.MustRegister(core.ContractBroker, "postgres", func() core.Plugin { return postgres.New() })
	r.MustRegister(core.ContractBroker, "redis", func() core.Plugin { return redis.New() })
	r.MustRegister(core.ContractBroker, "osb", func() core.Plugin { return osb.New() })
}
