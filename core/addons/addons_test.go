package addons_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/addons"
	"github.com/paasd/paasd/sdk/examples/broker-memory/memory"
)

// hooked wraps a broker; a non-nil function field replaces that method.
type hooked struct {
	core.AddonBroker
	provision     func(ctx context.Context, req core.ProvisionRequest) (core.OperationResponse, error)
	bind          func(ctx context.Context, req core.BindRequest) (core.BindResponse, error)
	lastOperation func(ctx context.Context, req core.LastOperationRequest) (core.LastOperation, error)

	mu    sync.Mutex
	calls []string
}

func (h *hooked) record(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, s)
}

func (h *hooked) Provision(ctx context.Context, req core.ProvisionRequest) (core.OperationResponse, error) {
	h.record("provision")
	if h.provision != nil {
		return h.provision(ctx, req)
	}
	return h.AddonBroker.Provision(ctx, req)
}

func (h *hooked) Bind(ctx context.Context, req core.BindRequest) (core.BindResponse, error) {
	h.record("bind")
	if h.bind != nil {
		return h.bind(ctx, req)
	}
	return h.AddonBroker.Bind(ctx, req)
}

func (h *hooked) LastOperation(ctx context.Context, req core.LastOperationRequest) (core.LastOperation, error) {
	h.record("last_operation")
	if h.lastOperation != nil {
		return h.lastOperation(ctx, req)
	}
	return h.AddonBroker.LastOperation(ctx, req)
}

func (h *hooked) Deprovision(ctx context.Context, req core.DeprovisionRequest) (core.OperationResponse, error) {
	h.record("deprovision")
	return h.AddonBroker.Deprovision(ctx, req)
}

func quietOpts() addons.Options {
	return addons.Options{PollInterval: time.Millisecond, MaxPollInterval: 10 * time.Millisecond, ProvisionTimeout: 30 * time.Second,
		Logger: slog.New(slog.DiscardHandler)}
}

// newService returns a service offering the memory broker (async) as
// "memory-kv".
func newService(t *testing.T, opts addons.Options, wrap func(core.AddonBroker) core.AddonBroker) (*addons.Service, *memory.Broker) {
	t.Helper()
	mem := memory.New()
	var b core.AddonBroker = mem
	if wrap != nil {
		b = wrap(mem)
	}
	s := addons.New(opts)
	if err := s.AddBroker(context.Background(), "plugin:memory", b); err != nil {
		t.Fatal(err)
	}
	return s, mem
}

func TestResolve(t *testing.T) {
	s, _ := newService(t, quietOpts(), nil)
	for _, tc := range []struct {
		desc, spec, wantPlan string
		wantErr              error
	}{
		{desc: "default plan", spec: "memory-kv", wantPlan: "small"},
		{desc: "plan by name", spec: "memory-kv:large", wantPlan: "large"},
		{desc: "plan by id", spec: "memory-kv:memory-kv.large", wantPlan: "large"},
		{desc: "unknown service", spec: "heroku-kafka:basic-0", wantErr: core.ErrNotFound},
		{desc: "unknown plan", spec: "memory-kv:huge", wantErr: core.ErrNotFound},
		{desc: "empty", spec: "", wantErr: core.ErrInvalid},
		{desc: "colon only", spec: ":small", wantErr: core.ErrInvalid},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			o, err := s.Resolve(tc.spec)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve(%q) = %v, want %v", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil || o.Plan.Name != tc.wantPlan || o.BrokerRef != "plugin:memory" {
				t.Fatalf("Resolve(%q) = %+v, %v; want plan %s", tc.spec, o, err, tc.wantPlan)
			}
		})
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"memory-kv", "memory-kv:large", ":", "", "a:b:c", " memory-kv:small "} {
		f.Add(s)
	}
	s := addons.New(quietOpts())
	if err := s.AddBroker(context.Background(), "plugin:memory", memory.New()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		o, err := s.Resolve(spec)
		if err != nil {
			if !errors.Is(err, core.ErrNotFound) && !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("Resolve(%q): %v wraps neither ErrNotFound nor ErrInvalid", spec, err)
			}
			return
		}
		if o.Service.Name != "memory-kv" || o.Plan.ID == "" {
			t.Fatalf("Resolve(%q) = %+v", spec, o)
		}
	})
}

func TestAddBrokerDuplicateService(t *testing.T) {
	s, _ := newService(t, quietOpts(), nil)
	if err := s.AddBroker(context.Background(), "plugin:other", memory.New()); !errors.Is(err, core.ErrConflict) {
		t.Errorf("a second broker offering memory-kv: %v, want ErrConflict", err)
	}
}

var addonName = regexp.MustCompile(`^memory-kv-[a-z]+-[0-9]{5}$`)

// TestProvisionNames covers add-on names, attachment names and config
// vars, and the release description.
func TestProvisionNames(t *testing.T) {
	s, _ := newService(t, quietOpts(), nil)
	ctx := context.Background()
	first, err := s.Provision(ctx, addons.ProvisionRequest{AppID: "app-1", AppName: "shop", Plan: "memory-kv"})
	if err != nil {
		t.Fatal(err)
	}
	if !addonName.MatchString(first.Addon.Name) {
		t.Errorf("add-on name %q, want memory-kv-<adjective>-<5 digits>", first.Addon.Name)
	}
	if first.Attachment.Name != "MEMORY_KV" || first.Attachment.ConfigVars["MEMORY_KV_URL"] == "" || first.Attachment.ConfigVars["MEMORY_KV_TOKEN"] == "" {
		t.Errorf("first attachment %+v", first.Attachment)
	}
	if want := "Attach MEMORY_KV (" + first.Addon.Name + ")"; first.Description != want {
		t.Errorf("description %q, want %q", first.Description, want)
	}
	second, err := s.Provision(ctx, addons.ProvisionRequest{AppID: "app-1", AppName: "shop", Plan: "memory-kv:large", Existing: []string{"MEMORY_KV"}})
	if err != nil {
		t.Fatal(err)
	}
	color := strings.TrimPrefix(second.Attachment.Name, "MEMORY_KV_")
	if color == second.Attachment.Name || !contains(addons.Colors, color) {
		t.Errorf("second attachment %q, want MEMORY_KV_<COLOR>", second.Attachment.Name)
	}
	if second.Attachment.ConfigVars[second.Attachment.Name+"_URL"] == "" {
		t.Errorf("second attachment's vars %v", second.Attachment.ConfigVars)
	}
	if _, err := s.Provision(ctx, addons.ProvisionRequest{AppID: "app-1", Plan: "memory-kv", AttachmentName: "MEMORY_KV", Existing: []string{"MEMORY_KV"}}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("attachment name in use: %v, want ErrConflict", err)
	}
	if _, err := s.Provision(ctx, addons.ProvisionRequest{AppID: "app-1", Plan: "memory-kv", AttachmentName: "lower"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("bad attachment name: %v, want ErrInvalid", err)
	}
	if _, err := s.Provision(ctx, addons.ProvisionRequest{AppID: "app-1", Plan: "memory-kv", Name: first.Addon.Name}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("add-on name in use: %v, want ErrConflict", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestAttachDetach(t *testing.T) {
	s, mem := newService(t, quietOpts(), nil)
	ctx := context.Background()
	r, err := s.Provision(ctx, addons.ProvisionRequest{AppID: "app-1", AppName: "shop", Plan: "memory-kv"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Attach(ctx, addons.AttachRequest{Addon: r.Addon, AppID: "app-2", AppName: "admin", Name: "SHARED_KV"})
	if err != nil {
		t.Fatal(err)
	}
	if other.Attachment.ConfigVars["SHARED_KV_TOKEN"] == r.Attachment.ConfigVars["MEMORY_KV_TOKEN"] {
		t.Errorf("two attachments share one credential")
	}
	desc, err := s.Detach(ctx, r.Addon, other.Attachment)
	if err != nil || desc != "Detach SHARED_KV ("+r.Addon.Name+")" {
		t.Errorf("Detach = %q, %v", desc, err)
	}
	if mem.Valid(r.Addon.Name, addons.BindingID(r.Addon.Name, "app-2", "SHARED_KV"), other.Attachment.ConfigVars["SHARED_KV_TOKEN"]) {
		t.Errorf("the detached attachment's credential is still valid")
	}
	if _, err := s.Detach(ctx, r.Addon, other.Attachment); err != nil {
		t.Errorf("second Detach (binding gone): %v, want success", err)
	}
	descs, err := s.Deprovision(ctx, r.Addon, []addons.Attachment{r.Attachment})
	if err != nil || len(descs) != 1 {
		t.Fatalf("Deprovision = %v, %v", descs, err)
	}
	if _, err := mem.LastOperation(ctx, core.LastOperationRequest{InstanceID: r.Addon.Name}); !errors.Is(err, core.ErrGone) {
		t.Errorf("instance after Deprovision: %v, want ErrGone", err)
	}
	if _, err := s.Deprovision(ctx, r.Addon, nil); err != nil {
		t.Errorf("second Deprovision: %v, want success (gone)", err)
	}
}

func TestChangePlan(t *testing.T) {
	s, _ := newService(t, quietOpts(), nil)
	ctx := context.Background()
	r, err := s.Provision(ctx, addons.ProvisionRequest{AppID: "a", Plan: "memory-kv:small"})
	if err != nil {
		t.Fatal(err)
	}
	ad, err := s.ChangePlan(ctx, r.Addon, "large")
	if err != nil || ad.Plan != "large" || ad.PlanID != memory.PlanLarge {
		t.Errorf("ChangePlan = %+v, %v", ad, err)
	}
	if _, err := s.ChangePlan(ctx, r.Addon, "huge"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown plan: %v", err)
	}
}

// TestFailuresLeaveNothing makes each step fail and checks the instance
// is deprovisioned and the error reported.
func TestFailuresLeaveNothing(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		desc      string
		opts      func(*addons.Options)
		wrap      func(h *hooked)
		memConfig string
		wantErr   error
	}{
		{desc: "bind fails", wrap: func(h *hooked) {
			h.bind = func(context.Context, core.BindRequest) (core.BindResponse, error) {
				return core.BindResponse{}, fmt.Errorf("bind: %w: %w", boom, core.ErrUnavailable)
			}
		}, wantErr: core.ErrUnavailable},
		{desc: "bind gives bad config", wrap: func(h *hooked) {
			h.bind = func(context.Context, core.BindRequest) (core.BindResponse, error) {
				return core.BindResponse{Config: map[string]string{"url": "x"}}, nil
			}
		}, wantErr: core.ErrSchemaViolation},
		{desc: "async provision fails", wrap: func(h *hooked) {
			inner := h.AddonBroker
			h.lastOperation = func(ctx context.Context, req core.LastOperationRequest) (core.LastOperation, error) {
				lo, err := inner.LastOperation(ctx, req)
				if strings.HasPrefix(req.Operation, "provision") && err == nil && lo.State == core.OpSucceeded {
					return core.LastOperation{State: core.OpFailed, Description: "disk full"}, nil
				}
				return lo, err
			}
		}, wantErr: core.ErrPluginFailed},
		{desc: "async provision times out", opts: func(o *addons.Options) { o.ProvisionTimeout = 200 * time.Millisecond }, wrap: func(h *hooked) {
			inner := h.AddonBroker
			h.lastOperation = func(ctx context.Context, req core.LastOperationRequest) (core.LastOperation, error) {
				lo, err := inner.LastOperation(ctx, req)
				if strings.HasPrefix(req.Operation, "provision") {
					return core.LastOperation{State: core.OpInProgress}, nil
				}
				return lo, err
			}
		}, wantErr: core.ErrTimeout},
		{desc: "provision call times out", opts: func(o *addons.Options) { o.CallTimeout = 100 * time.Millisecond }, wrap: func(h *hooked) {
			inner := h.AddonBroker
			h.provision = func(ctx context.Context, req core.ProvisionRequest) (core.OperationResponse, error) {
				// The instance is created, then the answer is lost.
				if _, err := inner.Provision(context.Background(), req); err != nil {
					return core.OperationResponse{}, err
				}
				<-ctx.Done()
				return core.OperationResponse{}, ctx.Err()
			}
		}, memConfig: `{"async":false}`, wantErr: core.ErrTimeout},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			opts := quietOpts()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			var h *hooked
			s, mem := newService(t, opts, func(b core.AddonBroker) core.AddonBroker {
				h = &hooked{AddonBroker: b}
				tc.wrap(h)
				return h
			})
			if tc.memConfig != "" {
				if err := mem.Configure(context.Background(), core.ConfigureRequest{APIVersion: 1, Config: []byte(tc.memConfig)}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := s.Provision(context.Background(), addons.ProvisionRequest{AppID: "a", AppName: "shop", Plan: "memory-kv", Name: "memory-kv-doomed-00001"})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Provision: %v, want %v", err, tc.wantErr)
			}
			_, lerr := mem.LastOperation(context.Background(), core.LastOperationRequest{InstanceID: "memory-kv-doomed-00001"})
			if !errors.Is(lerr, core.ErrGone) && !errors.Is(lerr, core.ErrNotFound) {
				t.Errorf("instance after a failed provision: %v; calls %v", lerr, h.calls)
			}
		})
	}
}

func TestAddonName(t *testing.T) {
	for _, tc := range []struct {
		desc, service, adj string
		n                  int
		want               string
	}{
		{desc: "postgres", service: "heroku-postgresql", adj: "shaped", n: 12345, want: "postgresql-shaped-12345"},
		{desc: "redis", service: "heroku-redis", adj: "curved", n: 7, want: "redis-curved-00007"},
		{desc: "odd", service: "My_Service!", adj: "flat", n: 1, want: "my-service-flat-00001"},
		{desc: "digits first", service: "3scale", adj: "flat", n: 1, want: "addon3scale-flat-00001"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := addons.AddonName(tc.service, tc.adj, tc.n); got != tc.want {
				t.Errorf("AddonName = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestColorName(t *testing.T) {
	used := map[string]bool{}
	seen := map[string]bool{}
	for i := range addons.Colors {
		n, err := addons.ColorName("HEROKU_POSTGRESQL", fmt.Sprint("db-", i), used)
		if err != nil {
			t.Fatal(err)
		}
		if seen[n] {
			t.Fatalf("%s picked twice", n)
		}
		seen[n], used[n] = true, true
	}
	if _, err := addons.ColorName("HEROKU_POSTGRESQL", "one-more", used); !errors.Is(err, core.ErrConflict) {
		t.Errorf("all colours used: %v, want ErrConflict", err)
	}
	a, _ := addons.ColorName("X", "seed", nil)
	b, _ := addons.ColorName("X", "seed", nil)
	if a != b {
		t.Errorf("not deterministic: %s, %s", a, b)
	}
}
