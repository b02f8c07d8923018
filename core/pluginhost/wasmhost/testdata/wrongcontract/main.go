// Command wrongcontract declares the drain contract but implements none.
package main

import (
	"context"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk/wasmguest"
)

type plugin struct{}

func (plugin) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.wrong", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}

func (plugin) Configure(context.Context, core.ConfigureRequest) error { return nil }

func init() { wasmguest.Serve(plugin{}) }

func main() {}
