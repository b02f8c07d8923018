// Package memory is an example third-party add-on broker: a "memory-kv"
// service whose instances live in the broker's memory. It shows the whole
// add-on broker contract, asynchronous operations included, in a few
// hundred lines: copy it to start a broker of your own, then serve it as a
// go-plugin with sdk.Serve (see ../main.go).
//
// With the default configuration provision, plan changes and deprovision
// are asynchronous when the caller accepts it: they answer at once with an
// operation id, and LastOperation reports "in progress" for async_polls
// polls (default 2) before "succeeded" (or, after a deprovision, ErrGone).
// A caller that does not accept incomplete operations gets
// core.ErrAsyncRequired. Set "async": false for a synchronous broker.
//
// Bindings return {"URL": "memory://<instance>/<binding>", "TOKEN": …}.
// Instances are lost when the broker stops: this is an example, not a
// data store.
package memory

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/paasd/paasd/core"
)

// ID is the plugin id the broker describes itself with.
const ID = "example.broker.memory"

// Service identity in the catalog.
const (
	ServiceID = "memory-kv"
	PlanSmall = "memory-kv.small"
	PlanLarge = "memory-kv.large"
)

// ConfigSchema is the CUE schema of the broker's configuration.
const ConfigSchema = `close({
	// async makes provision, update and deprovision asynchronous when the
	// caller accepts incomplete operations; default true.
	async?: bool
	// async_polls is how many LastOperation polls answer "in progress";
	// default 2.
	async_polls?: int & >=0 & <=100
})`

// Config is the broker's configuration; the zero value is the default
// (asynchronous, two polls in progress).
type Config struct {
	// Async, when non-nil and false, makes every operation synchronous.
	Async *bool `json:"async,omitempty"`
	// AsyncPolls is how many polls answer "in progress"; nil means 2.
	AsyncPolls *int `json:"async_polls,omitempty"`
}

// instance is one provisioned instance.
type instance struct {
	serviceID, planID string
	params            json.RawMessage
	bindings          map[string]string // binding id → token
	// op is the running operation ("" when none), pending the polls left.
	op      string
	pending int
	// deleting is true while an async deprovision runs.
	deleting bool
}

// Broker is the memory broker. It is safe for concurrent use.
type Broker struct {
	mu        sync.Mutex
	async     bool
	polls     int
	instances map[string]*instance
	// gone remembers deprovisioned instances so that LastOperation gives
	// ErrGone after an async deprovision.
	gone map[string]bool
}

var _ core.AddonBroker = (*Broker)(nil)

// New returns a Broker with the default configuration.
func New() *Broker {
	return &Broker{async: true, polls: 2, instances: map[string]*instance{}, gone: map[string]bool{}}
}

// Describe describes the broker.
func (b *Broker) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID:           ID,
		Contract:     core.ContractBroker,
		APIVersions:  []int{1},
		Version:      "1.0.0",
		Capabilities: []string{core.BrokerCapAsync, core.BrokerCapPlanUpdate},
		ConfigSchema: ConfigSchema,
	}, nil
}

// Configure reads the config (see [Config]); it returns an error wrapping
// core.ErrInvalid for one it cannot use.
func (b *Broker) Configure(_ context.Context, req core.ConfigureRequest) error {
	if req.APIVersion != 1 {
		return fmt.Errorf("broker memory: api version %d: %w", req.APIVersion, core.ErrUnsupported)
	}
	var cfg Config
	if len(req.Config) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return fmt.Errorf("broker memory: config: %w: %w", err, core.ErrInvalid)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cfg.Async != nil {
		b.async = *cfg.Async
	}
	if cfg.AsyncPolls != nil {
		if *cfg.AsyncPolls < 0 || *cfg.AsyncPolls > 100 {
			return fmt.Errorf("broker memory: config: async_polls %d: want 0 to 100: %w", *cfg.AsyncPolls, core.ErrInvalid)
		}
		b.polls = *cfg.AsyncPolls
	}
	return nil
}

// Catalog lists the memory-kv service.
func (b *Broker) Catalog(context.Context) (core.Catalog, error) {
	return core.Catalog{Services: []core.Service{{
		ID: ServiceID, Name: "memory-kv", Description: "An example key-value store kept in the broker's memory",
		Bindable: true, PlanUpdateable: true, ConfigVarPrefix: "MEMORY_KV",
		Plans: []core.Plan{
			{ID: PlanSmall, Name: "small", Description: "A small example plan", Free: true},
			{ID: PlanLarge, Name: "large", Description: "A large example plan"},
		},
	}}}, nil
}

func checkPlan(serviceID, planID string) error {
	if serviceID != ServiceID {
		return fmt.Errorf("unknown service %q: %w", serviceID, core.ErrInvalid)
	}
	if planID != PlanSmall && planID != PlanLarge {
		return fmt.Errorf("unknown plan %q: %w", planID, core.ErrInvalid)
	}
	return nil
}

// sameParams compares two parameter objects as JSON values.
func sameParams(a, b json.RawMessage) bool {
	var x, y any
	_ = json.Unmarshal(a, &x)
	_ = json.Unmarshal(b, &y)
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

// start begins an operation on in: async when the broker is and the
// caller accepts it.
func (b *Broker) start(in *instance, accepts bool, kind string) (core.OperationResponse, error) {
	if !b.async || b.polls == 0 {
		return core.OperationResponse{}, nil
	}
	if !accepts {
		return core.OperationResponse{}, fmt.Errorf("broker memory: %s: %w", kind, core.ErrAsyncRequired)
	}
	in.op = kind + "-" + strings.ToLower(rand.Text()[:8])
	in.pending = b.polls
	return core.OperationResponse{Async: true, Operation: in.op}, nil
}

// Provision creates an instance.
func (b *Broker) Provision(_ context.Context, req core.ProvisionRequest) (core.OperationResponse, error) {
	if err := checkPlan(req.ServiceID, req.PlanID); err != nil {
		return core.OperationResponse{}, fmt.Errorf("broker memory: provision %s: %w", req.InstanceID, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if in, ok := b.instances[req.InstanceID]; ok {
		if in.op != "" {
			if in.planID == req.PlanID && sameParams(in.params, req.Parameters) && !in.deleting {
				return core.OperationResponse{Async: true, Operation: in.op}, nil
			}
			return core.OperationResponse{}, fmt.Errorf("broker memory: provision %s: %w", req.InstanceID, core.ErrConcurrency)
		}
		if in.planID == req.PlanID && sameParams(in.params, req.Parameters) {
			return core.OperationResponse{AlreadyExists: true}, nil
		}
		return core.OperationResponse{}, fmt.Errorf("broker memory: provision %s: exists with other plan or parameters: %w", req.InstanceID, core.ErrConflict)
	}
	in := &instance{serviceID: req.ServiceID, planID: req.PlanID, params: req.Parameters, bindings: map[string]string{}}
	resp, err := b.start(in, req.AcceptsIncomplete, "provision")
	if err != nil {
		return resp, err
	}
	b.instances[req.InstanceID] = in
	delete(b.gone, req.InstanceID)
	return resp, nil
}

// Update changes an instance's plan or parameters.
func (b *Broker) Update(_ context.Context, req core.UpdateRequest) (core.OperationResponse, error) {
	if err := checkPlan(req.ServiceID, req.PlanID); err != nil {
		return core.OperationResponse{}, fmt.Errorf("broker memory: update %s: %w", req.InstanceID, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.instances[req.InstanceID]
	if !ok {
		return core.OperationResponse{}, fmt.Errorf("broker memory: update %s: %w", req.InstanceID, core.ErrNotFound)
	}
	if in.op != "" {
		return core.OperationResponse{}, fmt.Errorf("broker memory: update %s: %w", req.InstanceID, core.ErrConcurrency)
	}
	resp, err := b.start(in, req.AcceptsIncomplete, "update")
	if err != nil {
		return resp, err
	}
	in.planID = req.PlanID
	if len(req.Parameters) > 0 {
		in.params = req.Parameters
	}
	return resp, nil
}

// Deprovision deletes an instance; an unknown one gives core.ErrGone.
func (b *Broker) Deprovision(_ context.Context, req core.DeprovisionRequest) (core.OperationResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.instances[req.InstanceID]
	if !ok {
		return core.OperationResponse{}, fmt.Errorf("broker memory: deprovision %s: %w", req.InstanceID, core.ErrGone)
	}
	if in.op != "" {
		return core.OperationResponse{}, fmt.Errorf("broker memory: deprovision %s: %w", req.InstanceID, core.ErrConcurrency)
	}
	resp, err := b.start(in, req.AcceptsIncomplete, "deprovision")
	if err != nil {
		return resp, err
	}
	in.bindings = map[string]string{}
	if resp.Async {
		in.deleting = true
		return resp, nil
	}
	delete(b.instances, req.InstanceID)
	b.gone[req.InstanceID] = true
	return resp, nil
}

// LastOperation reports the running operation's state.
func (b *Broker) LastOperation(_ context.Context, req core.LastOperationRequest) (core.LastOperation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.instances[req.InstanceID]
	if !ok {
		if b.gone[req.InstanceID] {
			return core.LastOperation{}, fmt.Errorf("broker memory: instance %s: %w", req.InstanceID, core.ErrGone)
		}
		return core.LastOperation{}, fmt.Errorf("broker memory: instance %s: %w", req.InstanceID, core.ErrNotFound)
	}
	if in.op == "" {
		return core.LastOperation{State: core.OpSucceeded}, nil
	}
	if in.pending > 0 {
		in.pending--
		return core.LastOperation{State: core.OpInProgress, Description: in.op + " running"}, nil
	}
	in.op = ""
	if in.deleting {
		delete(b.instances, req.InstanceID)
		b.gone[req.InstanceID] = true
		return core.LastOperation{}, fmt.Errorf("broker memory: instance %s: %w", req.InstanceID, core.ErrGone)
	}
	return core.LastOperation{State: core.OpSucceeded}, nil
}

// Bind returns the binding's URL and token.
func (b *Broker) Bind(_ context.Context, req core.BindRequest) (core.BindResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.instances[req.InstanceID]
	if !ok || in.deleting {
		return core.BindResponse{}, fmt.Errorf("broker memory: bind %s: %w", req.InstanceID, core.ErrNotFound)
	}
	if in.op != "" {
		return core.BindResponse{}, fmt.Errorf("broker memory: bind %s: %w", req.InstanceID, core.ErrConcurrency)
	}
	tok, ok := in.bindings[req.BindingID]
	if !ok {
		tok = rand.Text()
		in.bindings[req.BindingID] = tok
	}
	return core.BindResponse{Config: map[string]string{"URL": "memory://" + req.InstanceID + "/" + req.BindingID, "TOKEN": tok}}, nil
}

// Unbind forgets a binding; an unknown one gives core.ErrGone.
func (b *Broker) Unbind(_ context.Context, req core.UnbindRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.instances[req.InstanceID]
	if !ok {
		return fmt.Errorf("broker memory: unbind %s: %w", req.InstanceID, core.ErrGone)
	}
	if _, ok := in.bindings[req.BindingID]; !ok {
		return fmt.Errorf("broker memory: unbind %s from %s: %w", req.BindingID, req.InstanceID, core.ErrGone)
	}
	delete(in.bindings, req.BindingID)
	return nil
}

// Valid reports whether token is the current token of a binding; tests use
// it as the binding's "credentials check".
func (b *Broker) Valid(instanceID, bindingID, token string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.instances[instanceID]
	return ok && !in.deleting && in.bindings[bindingID] == token && token != ""
}
