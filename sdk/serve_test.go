package sdk_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/sdk"
)

// describer is a core.Plugin whose Describe answer is a field.
type describer struct {
	info core.PluginInfo
	err  error
}

func (d describer) Describe(context.Context) (core.PluginInfo, error)    { return d.info, d.err }
func (describer) Configure(context.Context, core.ConfigureRequest) error { return nil }

func TestCheck(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		desc string
		impl core.Plugin
		want error
		says string
	}{
		{desc: "good drain", impl: &stdoutDrain{}},
		{desc: "nil", impl: nil, want: core.ErrInvalid, says: "nil implementation"},
		{desc: "describe fails", impl: describer{err: boom}, want: boom, says: "describe: boom"},
		{desc: "unknown contract", impl: describer{info: core.PluginInfo{ID: "x", Contract: "dns", APIVersions: []int{1}}}, want: core.ErrInvalid, says: `unknown contract "dns"`},
		{desc: "no versions", impl: describer{info: core.PluginInfo{ID: "x", Contract: core.ContractRouter}}, want: core.ErrInvalid, says: "no router contract API versions"},
		{desc: "version zero", impl: describer{info: core.PluginInfo{ID: "x", Contract: core.ContractRouter, APIVersions: []int{0}}}, want: core.ErrInvalid, says: "version 0"},
		{desc: "wrong interface", impl: describer{info: core.PluginInfo{ID: "x", Contract: core.ContractBroker, APIVersions: []int{1}}}, want: core.ErrInvalid, says: "does not implement"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := sdk.Check(tt.impl)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Check = %v; want %v saying %q", err, tt.want, tt.says)
			}
		})
	}
}
