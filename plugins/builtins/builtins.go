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
	"github.com/paasd/paasd/plugins/drains/httpsdrain"
	"github.com/paasd/paasd/plugins/drains/redact"
	syslogdrain "github.com/paasd/paasd/plugins/drains/syslog"
	"github.com/paasd/paasd/plugins/router"
	"github.com/paasd/paasd/runtimes/process"
	"github.com/paasd/paasd/runtimes/runc"
)

// Register adds every builtin implementation to r. A duplicate name within a
// contract panics: it is a programming error in this file.
func Register(r *pluginhost.Registry) {
	// log drains
	r.MustRegister(core.ContractDrain, "redact", func() core.Plugin { return redact.New() })
	r.MustRegister(core.ContractDrain, "syslog", func() core.Plugin { return syslogdrain.New() })
	r.MustRegister(core.ContractDrain, "https", func() core.Plugin { return httpsdrain.New() })

	// dyno runtimes (configured by Configure: state_dir, …). A program that
	// may run the runc runtime calls runc.Init() first in main.
	r.MustRegister(core.ContractRuntime, "process", func() core.Plugin { return new(process.Runtime) })
	r.MustRegister(core.ContractRuntime, "runc", func() core.Plugin { return new(runc.Runtime) })

	// routers
	r.MustRegister(core.ContractRouter, "router", func() core.Plugin { return router.New(router.Options{}) })

	// add-on brokers
	r.MustRegister(core.ContractBroker, "postgres", func() core.Plugin { return postgres.New() })
	r.MustRegister(core.ContractBroker, "redis", func() core.Plugin { return redis.New() })
	r.MustRegister(core.ContractBroker, "osb", func() core.Plugin { return osb.New() })
}
