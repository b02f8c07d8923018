package conformance

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
)

// BrokerCapabilities are the add-on broker capabilities the suite knows.
var BrokerCapabilities = []string{core.BrokerCapAsync, core.BrokerCapPlanUpdate}

// BrokerTarget is an add-on broker implementation under test.
type BrokerTarget struct {
	// Name names the implementation in reports, e.g. its plugin reference.
	Name string
	// New returns a fresh instance configured with config (JSON; nil for
	// none), and a function that releases it (nil if there is nothing to
	// release). Every check gets its own instance. [HostBroker] and
	// [InProcessBroker] build New from a plugin reference or a constructor.
	New func(ctx context.Context, config json.RawMessage) (core.AddonBroker, func() error, error)
	// Config is the configuration each check's instance gets; nil for none.
	Config json.RawMessage
	// Service is the name of the service the checks provision; empty means
	// the catalog's first service.
	Service string
	// Plan and OtherPlan are plan names of Service: the checks provision
	// Plan, and use OtherPlan for the plan-conflict and plan-update checks.
	// Empty means the service's first and second plans; with one plan the
	// checks needing two are skipped.
	Plan, OtherPlan string
	// Parameters are the provisioning parameters; nil for none.
	Parameters json.RawMessage
	// OtherParameters differ from Parameters in a way the broker must
	// treat as a different instance (ErrConflict); nil skips that check.
	OtherParameters json.RawMessage
	// CheckCredentials, when set, uses a binding's config (e.g. connects
	// with its URL and round-trips data): it returns nil when the
	// credentials work. The suite calls it after Bind, expecting nil, and
	// after Unbind and Deprovision, expecting an error.
	CheckCredentials func(ctx context.Context, config map[string]string) error
	// PollInterval is the first wait between LastOperation polls when the
	// broker gives no Retry-After; zero means 50 ms (doubling to 2 s).
	PollInterval time.Duration
}

// HostBroker is a target that loads ref through h for every check: the
// same path (transport, describe, version negotiation, config validation,
// configure) that paasd itself takes.
func HostBroker(h *pluginhost.Host, ref string, config json.RawMessage) BrokerTarget {
	return BrokerTarget{
		Name:   ref,
		Config: config,
		New: func(ctx context.Context, cfg json.RawMessage) (core.AddonBroker, func() error, error) {
			l, err := h.Load(ctx, core.ContractBroker, ref, cfg)
			if err != nil {
				return nil, nil, err
			}
			b := l.Broker()
			if b == nil {
				_ = l.Close()
				return nil, nil, fmt.Errorf("%s: loaded implementation is not a core.AddonBroker: %w", ref, core.ErrUnsupported)
			}
			return b, l.Close, nil
		},
	}
}

// InProcessBroker is a target that builds each instance with newBroker and
// loads it as a builtin through a private pluginhost.Host (no config
// validation), named "builtin:under-test" in reports.
func InProcessBroker(newBroker func() core.AddonBroker, config json.RawMessage) BrokerTarget {
	reg := pluginhost.NewRegistry()
	reg.MustRegister(core.ContractBroker, "under-test", func() core.Plugin { return newBroker() })
	h := &pluginhost.Host{Registry: reg, Logger: slog.New(slog.DiscardHandler)}
	return HostBroker(h, "builtin:under-test", config)
}

// Broker runs the add-on broker suite against target under go test, one
// subtest per requirement.
func Broker(t *testing.T, target BrokerTarget) {
	t.Helper()
	RunTest(t, BrokerSuite(target))
}

// BrokerSuite returns the add-on broker contract's checks bound to target:
// describe, catalog shape, idempotent and conflicting provisions,
// asynchronous operations ("async"), bind and unbind, deprovision (unknown
// instances are gone; nothing is left behind) and plan changes
// ("plan_update").
func BrokerSuite(target BrokerTarget) Suite {
	b := brokerChecks{target: target}
	return Suite{
		Contract: core.ContractBroker,
		Describe: func(ctx context.Context) (core.PluginInfo, error) {
			br, release, err := target.New(ctx, target.Config)
			if err != nil {
				return core.PluginInfo{}, err
			}
			if release != nil {
				defer func() { _ = release() }()
			}
			return br.Describe(ctx)
		},
		Checks: []Check{
			{ID: "broker.describe.shape", Level: Must, Run: b.describeShape,
				Title: "Describe gives a dotted id, the broker contract, an API version the host speaks and known capabilities"},
			{ID: "broker.catalog.shape", Level: Must, Run: b.catalogShape,
				Title: "the catalog has services with unique ids and names, each with at least one plan, all ids unique"},
			{ID: "broker.provision.idempotent", Level: Must, Run: b.provisionIdempotent,
				Title: "provisioning an identical instance again succeeds with already_exists"},
			{ID: "broker.provision.conflict-plan", Level: Must, Run: b.provisionConflictPlan,
				Title: "provisioning an existing instance id with another plan fails with ErrConflict"},
			{ID: "broker.provision.conflict-parameters", Level: Must, Run: b.provisionConflictParams,
				Title: "provisioning an existing instance id with other parameters fails with ErrConflict"},
			{ID: "broker.provision.unknown-plan", Level: Should, Run: b.provisionUnknownPlan,
				Title: "provisioning an unknown plan fails with ErrInvalid or ErrNotFound and creates nothing"},
			{ID: "broker.async.poll", Level: Must, Capability: core.BrokerCapAsync, Run: b.asyncPoll,
				Title: "an asynchronous provision is polled with LastOperation until it succeeds"},
			{ID: "broker.async.required", Level: Should, Capability: core.BrokerCapAsync, Run: b.asyncRequired,
				Title: "without accepts_incomplete an async-only broker fails with ErrAsyncRequired (or completes synchronously)"},
			{ID: "broker.bind.config", Level: Must, Run: b.bindConfig,
				Title: "Bind returns config vars with upper-case suffixes, including URL, whose credentials work"},
			{ID: "broker.bind.unknown-instance", Level: Must, Run: b.bindUnknown,
				Title: "binding an unknown instance fails"},
			{ID: "broker.unbind.gone", Level: Must, Run: b.unbindGone,
				Title: "Unbind removes the binding (its credentials stop working); unbinding again or an unknown binding gives ErrGone"},
			{ID: "broker.deprovision.unknown", Level: Must, Run: b.deprovisionUnknown,
				Title: "deprovisioning an unknown instance fails with ErrGone"},
			{ID: "broker.deprovision.leaves-nothing", Level: Must, Run: b.deprovisionLeavesNothing,
				Title: "after Deprovision the instance is gone: bind fails, credentials stop working, deprovisioning again gives ErrGone"},
			{ID: "broker.update.plan", Level: Must, Capability: core.BrokerCapPlanUpdate, Run: b.updatePlan,
				Title: "Update changes the plan: the instance then matches the new plan, not the old"},
		},
	}
}

// brokerChecks holds the check bodies of the broker suite.
type brokerChecks struct{ target BrokerTarget }

// open returns a fresh, configured instance released when the check ends.
func (b brokerChecks) open(t *T) core.AddonBroker {
	t.Helper()
	br, release, err := b.target.New(t.Context(), b.target.Config)
	if err != nil {
		t.Fatalf("load and configure the broker: %v", err)
	}
	if release != nil {
		t.Cleanup(func() { _ = release() })
	}
	return br
}

// offer is the service and plans the checks use.
type offer struct {
	service         core.Service
	plan, otherPlan core.Plan
	hasOther        bool
}

// offer resolves the target's service and plans from br's catalog.
func (b brokerChecks) offer(t *T, br core.AddonBroker) offer {
	t.Helper()
	cat, err := br.Catalog(t.Context())
	if err != nil {
		t.Fatalf("Catalog: %v", err)
	}
	var o offer
	found := false
	for _, s := range cat.Services {
		if b.target.Service == "" || s.Name == b.target.Service {
			o.service, found = s, true
			break
		}
	}
	if !found || len(o.service.Plans) == 0 {
		t.Fatalf("catalog has no service %q with plans", b.target.Service)
	}
	pick := func(name string, fallback int) (core.Plan, bool) {
		for _, p := range o.service.Plans {
			if name != "" && p.Name == name {
				return p, true
			}
		}
		if name == "" && fallback < len(o.service.Plans) {
			return o.service.Plans[fallback], true
		}
		return core.Plan{}, false
	}
	var ok bool
	if o.plan, ok = pick(b.target.Plan, 0); !ok {
		t.Fatalf("service %s has no plan %q", o.service.Name, b.target.Plan)
	}
	o.otherPlan, o.hasOther = pick(b.target.OtherPlan, 1)
	return o
}

// newID returns a fresh OSB id with a readable prefix.
func newID(prefix string) string {
	return "conformance-" + prefix + "-" + strings.ToLower(rand.Text()[:12])
}

// provision provisions a new instance of plan with params, waits for an
// async provision to finish, and deprovisions it when the check ends.
func (b brokerChecks) provision(t *T, br core.AddonBroker, o offer, plan core.Plan, params json.RawMessage) string {
	t.Helper()
	id := newID("instance")
	resp, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: plan.ID,
		Parameters: params, AppName: "conformance-app", AcceptsIncomplete: true})
	if err != nil {
		t.Fatalf("Provision %s (plan %s): %v", id, plan.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r, err := br.Deprovision(ctx, core.DeprovisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: plan.ID, AcceptsIncomplete: true})
		if err == nil && r.Async {
			_, _ = b.wait(ctx, br, id, r.Operation, true)
		}
	})
	if resp.Async {
		state, err := b.wait(t.Context(), br, id, resp.Operation, false)
		if err != nil || state.State != core.OpSucceeded {
			t.Fatalf("asynchronous provision of %s: state %+v, %v", id, state, err)
		}
	}
	return id
}

// wait polls LastOperation until the operation leaves "in progress", with
// exponential backoff bounded by the broker's Retry-After. For a
// deprovision, ErrGone (or ErrNotFound) means it finished.
func (b brokerChecks) wait(ctx context.Context, br core.AddonBroker, id, op string, deprovision bool) (core.LastOperation, error) {
	delay := b.target.PollInterval
	if delay == 0 {
		delay = 50 * time.Millisecond
	}
	for {
		lo, err := br.LastOperation(ctx, core.LastOperationRequest{InstanceID: id, Operation: op})
		if deprovision && (errors.Is(err, core.ErrGone) || errors.Is(err, core.ErrNotFound)) {
			return core.LastOperation{State: core.OpSucceeded}, nil
		}
		if err != nil {
			return lo, fmt.Errorf("LastOperation of %s: %w", id, err)
		}
		switch lo.State {
		case core.OpSucceeded, core.OpFailed:
			return lo, nil
		case core.OpInProgress:
		default:
			return lo, fmt.Errorf("LastOperation of %s: state %q is not one of %q, %q, %q", id, lo.State, core.OpInProgress, core.OpSucceeded, core.OpFailed)
		}
		wait := delay
		if lo.RetryAfterSeconds > 0 {
			wait = min(time.Duration(lo.RetryAfterSeconds)*time.Second, 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return lo, fmt.Errorf("operation on %s still in progress: %w", id, ctx.Err())
		case <-time.After(wait):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// bind binds id and returns the binding id and its config.
func (b brokerChecks) bind(t *T, br core.AddonBroker, o offer, id string) (string, map[string]string) {
	t.Helper()
	bid := newID("binding")
	resp, err := br.Bind(t.Context(), core.BindRequest{InstanceID: id, BindingID: bid, ServiceID: o.service.ID, PlanID: o.plan.ID, AppName: "conformance-app"})
	if err != nil {
		t.Fatalf("Bind %s to %s: %v", bid, id, err)
	}
	return bid, resp.Config
}

var configSuffix = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

func (b brokerChecks) describeShape(t *T) {
	info, err := b.open(t).Describe(t.Context())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if !dottedID.MatchString(info.ID) {
		t.Errorf("id %q is not a dotted, lower-case id such as \"vendor.broker.name\"", info.ID)
	}
	if info.Contract != core.ContractBroker {
		t.Errorf("contract %q, want %q", info.Contract, core.ContractBroker)
	}
	if _, err := core.NegotiateVersion(core.BrokerAPIVersions, info.APIVersions); err != nil {
		t.Errorf("api_versions %v: %v", info.APIVersions, err)
	}
	for _, c := range info.Capabilities {
		known := false
		for _, k := range BrokerCapabilities {
			known = known || c == k
		}
		if !known {
			t.Errorf("capability %q is not a broker capability (known: %s)", c, strings.Join(BrokerCapabilities, ", "))
		}
	}
}

func (b brokerChecks) catalogShape(t *T) {
	br := b.open(t)
	cat, err := br.Catalog(t.Context())
	if err != nil {
		t.Fatalf("Catalog: %v", err)
	}
	if len(cat.Services) == 0 {
		t.Fatalf("the catalog has no services")
	}
	ids := map[string]string{}
	names := map[string]bool{}
	seen := func(id, what string) {
		if id == "" {
			t.Errorf("%s has an empty id", what)
			return
		}
		if prev, dup := ids[id]; dup {
			t.Errorf("id %q is used by %s and %s", id, prev, what)
		}
		ids[id] = what
	}
	for _, s := range cat.Services {
		seen(s.ID, "service "+s.Name)
		if s.Name == "" || names[s.Name] {
			t.Errorf("service %q: empty or duplicate name", s.Name)
		}
		names[s.Name] = true
		if s.Description == "" {
			t.Errorf("service %s has no description", s.Name)
		}
		if s.ConfigVarPrefix != "" && !configSuffix.MatchString(s.ConfigVarPrefix) {
			t.Errorf("service %s: config_var_prefix %q is not upper-case letters, digits and underscores", s.Name, s.ConfigVarPrefix)
		}
		if len(s.Plans) == 0 {
			t.Errorf("service %s has no plans", s.Name)
		}
		plans := map[string]bool{}
		for _, p := range s.Plans {
			seen(p.ID, "plan "+s.Name+":"+p.Name)
			if p.Name == "" || plans[p.Name] {
				t.Errorf("service %s: plan %q: empty or duplicate name", s.Name, p.Name)
			}
			plans[p.Name] = true
			if p.Description == "" {
				t.Errorf("plan %s:%s has no description", s.Name, p.Name)
			}
		}
	}
}

func (b brokerChecks) provisionIdempotent(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	id := b.provision(t, br, o, o.plan, b.target.Parameters)
	resp, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID,
		Parameters: b.target.Parameters, AppName: "conformance-app", AcceptsIncomplete: true})
	if err != nil {
		t.Fatalf("second identical Provision of %s: %v", id, err)
	}
	if !resp.AlreadyExists {
		t.Errorf("second identical Provision of %s: already_exists is false (%+v)", id, resp)
	}
}

func (b brokerChecks) provisionConflictPlan(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	if !o.hasOther {
		t.Skipf("service %s has one plan", o.service.Name)
	}
	id := b.provision(t, br, o, o.plan, b.target.Parameters)
	_, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.otherPlan.ID,
		Parameters: b.target.Parameters, AcceptsIncomplete: true})
	if !errors.Is(err, core.ErrConflict) {
		t.Errorf("Provision of existing %s (plan %s) with plan %s: got %v, want an error wrapping ErrConflict", id, o.plan.Name, o.otherPlan.Name, err)
	}
}

func (b brokerChecks) provisionConflictParams(t *T) {
	if b.target.OtherParameters == nil {
		t.Skipf("the target gives no OtherParameters")
	}
	br := b.open(t)
	o := b.offer(t, br)
	id := b.provision(t, br, o, o.plan, b.target.Parameters)
	_, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID,
		Parameters: b.target.OtherParameters, AcceptsIncomplete: true})
	if !errors.Is(err, core.ErrConflict) {
		t.Errorf("Provision of existing %s with parameters %s (was %s): got %v, want an error wrapping ErrConflict", id, b.target.OtherParameters, b.target.Parameters, err)
	}
}

func (b brokerChecks) provisionUnknownPlan(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	id := newID("instance")
	_, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: "conformance-no-such-plan", AcceptsIncomplete: true})
	if !errors.Is(err, core.ErrInvalid) && !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Provision with an unknown plan: got %v, want an error wrapping ErrInvalid or ErrNotFound", err)
	}
	if _, err := br.Deprovision(t.Context(), core.DeprovisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID}); !errors.Is(err, core.ErrGone) {
		t.Errorf("Deprovision after a rejected Provision: got %v, want ErrGone (nothing created)", err)
	}
}

func (b brokerChecks) asyncPoll(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	id := newID("instance")
	resp, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID,
		Parameters: b.target.Parameters, AcceptsIncomplete: true})
	if err != nil {
		t.Fatalf("Provision with accepts_incomplete: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if r, err := br.Deprovision(ctx, core.DeprovisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID, AcceptsIncomplete: true}); err == nil && r.Async {
			_, _ = b.wait(ctx, br, id, r.Operation, true)
		}
	})
	if !resp.Async {
		t.Logf("the provision completed synchronously")
	}
	state, err := b.wait(t.Context(), br, id, resp.Operation, false)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if state.State != core.OpSucceeded {
		t.Fatalf("provision ended %q: %s", state.State, state.Description)
	}
	if _, cfg := b.bind(t, br, o, id); cfg["URL"] == "" {
		t.Errorf("Bind after an asynchronous provision gave no URL: %v", cfg)
	}
	r, err := br.Deprovision(t.Context(), core.DeprovisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID, AcceptsIncomplete: true})
	if err != nil {
		t.Fatalf("Deprovision: %v", err)
	}
	if r.Async {
		if _, err := b.wait(t.Context(), br, id, r.Operation, true); err != nil {
			t.Fatalf("asynchronous deprovision: %v", err)
		}
	}
	if _, err := br.LastOperation(t.Context(), core.LastOperationRequest{InstanceID: id}); !errors.Is(err, core.ErrGone) && !errors.Is(err, core.ErrNotFound) {
		t.Errorf("LastOperation after deprovision: got %v, want ErrGone or ErrNotFound", err)
	}
}

func (b brokerChecks) asyncRequired(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	id := newID("instance")
	resp, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID,
		Parameters: b.target.Parameters, AcceptsIncomplete: false})
	switch {
	case errors.Is(err, core.ErrAsyncRequired):
		if _, err := br.Deprovision(t.Context(), core.DeprovisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID}); !errors.Is(err, core.ErrGone) {
			t.Errorf("Deprovision after AsyncRequired: got %v, want ErrGone (nothing created)", err)
		}
	case err != nil:
		t.Errorf("Provision without accepts_incomplete: got %v, want success or ErrAsyncRequired", err)
	default:
		t.Cleanup(func() {
			_, _ = br.Deprovision(context.Background(), core.DeprovisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID})
		})
		if resp.Async {
			t.Errorf("Provision without accepts_incomplete answered asynchronously (%+v)", resp)
		}
	}
}

func (b brokerChecks) bindConfig(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	id := b.provision(t, br, o, o.plan, b.target.Parameters)
	_, cfg := b.bind(t, br, o, id)
	if cfg["URL"] == "" {
		t.Errorf("Bind config has no URL: %v", cfg)
	}
	for k := range cfg {
		if !configSuffix.MatchString(k) {
			t.Errorf("config var suffix %q is not upper-case letters, digits and underscores", k)
		}
	}
	if b.target.CheckCredentials != nil {
		if err := b.target.CheckCredentials(t.Context(), cfg); err != nil {
			t.Errorf("the binding's credentials do not work: %v", err)
		}
	}
}

func (b brokerChecks) bindUnknown(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	_, err := br.Bind(t.Context(), core.BindRequest{InstanceID: newID("instance"), BindingID: newID("binding"), ServiceID: o.service.ID, PlanID: o.plan.ID})
	if err == nil {
		t.Errorf("Bind to an unknown instance succeeded")
	}
}

func (b brokerChecks) unbindGone(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	id := b.provision(t, br, o, o.plan, b.target.Parameters)
	bid, cfg := b.bind(t, br, o, id)
	req := core.UnbindRequest{InstanceID: id, BindingID: bid, ServiceID: o.service.ID, PlanID: o.plan.ID}
	if err := br.Unbind(t.Context(), req); err != nil {
		t.Fatalf("Unbind: %v", err)
	}
	if b.target.CheckCredentials != nil {
		if err := b.target.CheckCredentials(t.Context(), cfg); err == nil {
			t.Errorf("the binding's credentials still work after Unbind")
		}
	}
	if err := br.Unbind(t.Context(), req); !errors.Is(err, core.ErrGone) {
		t.Errorf("second Unbind: got %v, want an error wrapping ErrGone", err)
	}
	req.BindingID = newID("binding")
	if err := br.Unbind(t.Context(), req); !errors.Is(err, core.ErrGone) {
		t.Errorf("Unbind of an unknown binding: got %v, want an error wrapping ErrGone", err)
	}
}

func (b brokerChecks) deprovisionUnknown(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	_, err := br.Deprovision(t.Context(), core.DeprovisionRequest{InstanceID: newID("instance"), ServiceID: o.service.ID, PlanID: o.plan.ID, AcceptsIncomplete: true})
	if !errors.Is(err, core.ErrGone) {
		t.Errorf("Deprovision of an unknown instance: got %v, want an error wrapping ErrGone", err)
	}
}

func (b brokerChecks) deprovisionLeavesNothing(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	id := b.provision(t, br, o, o.plan, b.target.Parameters)
	_, cfg := b.bind(t, br, o, id)
	r, err := br.Deprovision(t.Context(), core.DeprovisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID, AcceptsIncomplete: true})
	if err != nil {
		t.Fatalf("Deprovision: %v", err)
	}
	if r.Async {
		if _, err := b.wait(t.Context(), br, id, r.Operation, true); err != nil {
			t.Fatalf("asynchronous deprovision: %v", err)
		}
	}
	if b.target.CheckCredentials != nil {
		if err := b.target.CheckCredentials(t.Context(), cfg); err == nil {
			t.Errorf("a binding's credentials still work after Deprovision")
		}
	}
	if _, err := br.Bind(t.Context(), core.BindRequest{InstanceID: id, BindingID: newID("binding"), ServiceID: o.service.ID, PlanID: o.plan.ID}); err == nil {
		t.Errorf("Bind after Deprovision succeeded")
	}
	if _, err := br.Deprovision(t.Context(), core.DeprovisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID, AcceptsIncomplete: true}); !errors.Is(err, core.ErrGone) {
		t.Errorf("second Deprovision: got %v, want an error wrapping ErrGone", err)
	}
}

func (b brokerChecks) updatePlan(t *T) {
	br := b.open(t)
	o := b.offer(t, br)
	if !o.hasOther {
		t.Skipf("service %s has one plan", o.service.Name)
	}
	id := b.provision(t, br, o, o.plan, b.target.Parameters)
	r, err := br.Update(t.Context(), core.UpdateRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.otherPlan.ID, PreviousPlanID: o.plan.ID, AcceptsIncomplete: true})
	if err != nil {
		t.Fatalf("Update from %s to %s: %v", o.plan.Name, o.otherPlan.Name, err)
	}
	if r.Async {
		if st, err := b.wait(t.Context(), br, id, r.Operation, false); err != nil || st.State != core.OpSucceeded {
			t.Fatalf("asynchronous update: %+v, %v", st, err)
		}
	}
	again, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.otherPlan.ID,
		Parameters: b.target.Parameters, AcceptsIncomplete: true})
	if err != nil || !again.AlreadyExists {
		t.Errorf("Provision with the new plan after Update: got %+v, %v; want already_exists", again, err)
	}
	if _, err := br.Provision(t.Context(), core.ProvisionRequest{InstanceID: id, ServiceID: o.service.ID, PlanID: o.plan.ID,
		Parameters: b.target.Parameters, AcceptsIncomplete: true}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("Provision with the old plan after Update: got %v, want ErrConflict", err)
	}
	if _, cfg := b.bind(t, br, o, id); b.target.CheckCredentials != nil {
		if err := b.target.CheckCredentials(t.Context(), cfg); err != nil {
			t.Errorf("credentials after Update do not work: %v", err)
		}
	}
}
