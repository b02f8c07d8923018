package wasmguest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
	"github.com/paasd/paasd/sdk/wasmguest"
)

type drain struct{ describeErr error }

func (d drain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "t.drain", Contract: core.ContractDrain, APIVersions: []int{1}}, d.describeErr
}
func (drain) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (drain) Deliver(_ context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	if b.AppName == "" {
		return core.DeliverResult{}, fmt.Errorf("no app name: %w", core.ErrInvalid)
	}
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

type notADrain struct{}

func (notADrain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "t.none", Contract: core.ContractDrain, APIVersions: []int{1}}, nil
}
func (notADrain) Configure(context.Context, core.ConfigureRequest) error { return nil }

func TestDispatcher(t *testing.T) {
	tests := []struct {
		desc     string
		impl     core.Plugin
		method   string
		req      string
		status   byte
		contains string
		code     string
	}{
		{desc: "ok", impl: drain{}, method: wire.MethodDeliver, req: `{"app_name":"a","messages":[{"text":"x"}]}`,
			status: wasmguest.StatusOK, contains: `"accepted":1`},
		{desc: "describe", impl: drain{}, method: wire.MethodDescribe, status: wasmguest.StatusOK, contains: `"t.drain"`},
		{desc: "bad request JSON", impl: drain{}, method: wire.MethodDeliver, req: `{`, status: wasmguest.StatusError, code: "invalid"},
		{desc: "unknown method", impl: drain{}, method: "Nope", status: wasmguest.StatusError, code: "unsupported"},
		{desc: "contract not implemented", impl: notADrain{}, method: wire.MethodDescribe, status: wasmguest.StatusError,
			code: "plugin_failed", contains: "does not implement"},
		{desc: "describe fails", impl: drain{describeErr: core.ErrUnavailable}, method: wire.MethodDescribe,
			status: wasmguest.StatusError, code: "unavailable"},
		{desc: "nil implementation", method: wire.MethodDescribe, status: wasmguest.StatusError, code: "plugin_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			out := wasmguest.NewDispatcher(tt.impl).Call(tt.method, []byte(tt.req))
			if len(out) == 0 || out[0] != tt.status {
				t.Fatalf("result %q, want status %d", out, tt.status)
			}
			if !strings.Contains(string(out[1:]), tt.contains) {
				t.Fatalf("result %q, want it to contain %q", out, tt.contains)
			}
			if tt.code != "" {
				var body wire.ErrorBody
				if err := json.Unmarshal(out[1:], &body); err != nil || body.Code != tt.code {
					t.Fatalf("error body %q (%v), want code %q", out[1:], err, tt.code)
				}
			}
		})
	}
}

// FuzzDispatcher: any method and request give a well-formed result.
func FuzzDispatcher(f *testing.F) {
	f.Add("Deliver", []byte(`{"app_name":"a","messages":[]}`))
	f.Add("Filter", []byte(`{"messages":null}`))
	f.Add("Describe", []byte(nil))
	f.Add("", []byte("\x00\xff"))
	d := wasmguest.NewDispatcher(drain{})
	f.Fuzz(func(t *testing.T, method string, req []byte) {
		out := d.Call(method, req)
		if len(out) == 0 {
			t.Fatal("empty result")
		}
		switch out[0] {
		case wasmguest.StatusOK:
			if len(out) > 1 && !json.Valid(out[1:]) {
				t.Fatalf("ok result is not JSON: %q", out)
			}
		case wasmguest.StatusError:
			var body wire.ErrorBody
			if err := json.Unmarshal(out[1:], &body); err != nil || body.Message == "" {
				t.Fatalf("error result does not decode: %q", out)
			}
		default:
			t.Fatalf("status byte %d", out[0])
		}
	})
}
