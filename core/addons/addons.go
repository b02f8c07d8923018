// Package addons is the add-on service the Platform API calls: it resolves
// "heroku-postgresql:essential-0" to a broker, provisions and binds
// instances, names add-ons and attachments the way Heroku does, and makes
// sure that a broker failing half way leaves nothing behind.
//
// The service keeps no state of its own. Its caller (the API) stores
// add-ons and attachments and passes them back in; the ids the brokers see
// are derived from what the caller stores:
//
//   - an add-on's broker instance id is its name ("postgresql-shaped-12345"),
//     unique among add-ons;
//   - an attachment's binding id is [BindingID] of the add-on name, the
//     app's id and the attachment name.
//
// # Names
//
// An add-on is named after its service without "heroku-", an adjective and
// a number: "postgresql-shaped-12345", "redis-curved-40213". An attachment
// takes the service's config var prefix ("DATABASE", "REDIS") when the app
// has no attachment of that name yet; a further one of the same service is
// named after the service and a colour, Heroku's way: the second
// PostgreSQL database of an app is HEROKU_POSTGRESQL_<COLOR>, e.g.
// HEROKU_POSTGRESQL_AMBER, its URL HEROKU_POSTGRESQL_AMBER_URL. The colour
// is picked deterministically from the add-on's name among the colours the
// app does not use yet. Each config value a binding returns ({"URL": …})
// becomes a config var NAME_KEY (DATABASE_URL).
//
// # Atomicity
//
// [Service.Provision] provisions, polls an asynchronous provision until it
// succeeds (honouring Retry-After, backing off, within
// [Options.ProvisionTimeout]) and binds. When any step fails or times out
// it deprovisions what it created and returns the error: no instance and
// no credentials are left, and the caller, which sets config vars only
// after a success, has nothing to undo. [Service.Attach] likewise unbinds a
// binding whose config it cannot use.
package addons

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
)

// Colors are the colours of further attachments of one service, after
// Heroku's HEROKU_POSTGRESQL_<COLOR>_URL names.
var Colors = []string{
	"AMBER", "AQUA", "BLACK", "BLUE", "BRONZE", "BROWN", "CHARCOAL", "COBALT", "COPPER", "CORAL",
	"CRIMSON", "CYAN", "GOLD", "GRAY", "GREEN", "IVORY", "JADE", "LIME", "MAGENTA", "MAROON",
	"MAUVE", "NAVY", "OLIVE", "ONYX", "ORANGE", "PINK", "PUCE", "PURPLE", "RED", "ROSE",
	"SILVER", "TEAL", "VIOLET", "WHITE", "YELLOW",
}

// adjectives make add-on names, after Heroku's ("postgresql-shaped-12345").
var adjectives = []string{
	"angular", "clean", "concave", "convex", "cubed", "curly", "curved", "cylindrical", "deep", "defined",
	"dimensional", "elliptical", "encircled", "flat", "fluffy", "graceful", "horizontal", "opaque", "parallel", "perpendicular",
	"polished", "regular", "rigid", "round", "shaped", "silhouetted", "sinuous", "slippery", "solid", "spherical",
	"square", "symmetrical", "tapered", "transparent", "triangular", "vertical",
}

// Options configure a Service; the zero value of each field is its
// documented default.
type Options struct {
	// ProvisionTimeout bounds an asynchronous provision, plan change or
	// deprovision, polls included; zero means 10 minutes.
	ProvisionTimeout time.Duration
	// PollInterval is the first wait between LastOperation polls when the
	// broker gives no Retry-After; it doubles up to MaxPollInterval. Zero
	// means 1 s.
	PollInterval time.Duration
	// MaxPollInterval caps the wait between polls (and any Retry-After);
	// zero means 30 s.
	MaxPollInterval time.Duration
	// CallTimeout bounds each broker call; zero means 60 s.
	CallTimeout time.Duration
	// NewName returns a new add-on name for a service name; nil means
	// Heroku's style ([AddonName] with a random adjective and number).
	NewName func(service string) string
	// Logger receives the service's log; nil means slog.Default().
	Logger *slog.Logger
}

// Service provisions add-ons through the brokers it was given. It is safe
// for concurrent use.
type Service struct {
	opts Options

	mu       sync.RWMutex
	brokers  map[string]core.AddonBroker // ref → broker
	services map[string]offer            // service name → offer
	pending  map[string]Pending          // ref → why it is not loaded yet
	order    []string                    // refs, in the order first seen
}

// Pending is a configured broker that could not be loaded yet.
type Pending struct {
	// Err is the last load error.
	Err error
	// Since is when the first attempt failed; NextTry when the next one
	// is due.
	Since, NextTry time.Time
	// Attempts counts the failed attempts.
	Attempts int
}

// BrokerState is one configured broker's state, for /healthz and metrics.
type BrokerState struct {
	// Ref is the broker's plugin reference.
	Ref string
	// Up is true once the broker is loaded and its services are offered.
	Up bool
	// Services are the service names it offers (empty while down).
	Services []string
	// Pending is why it is down; zero when Up.
	Pending Pending
}

// offer is one service of one broker.
type offer struct {
	ref     string
	broker  core.AddonBroker
	service core.Service
}

// New returns a Service with no brokers.
func New(opts Options) *Service {
	if opts.ProvisionTimeout == 0 {
		opts.ProvisionTimeout = 10 * time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	if opts.MaxPollInterval == 0 {
		opts.MaxPollInterval = 30 * time.Second
	}
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{opts: opts, brokers: map[string]core.AddonBroker{}, services: map[string]offer{}, pending: map[string]Pending{}}
}

// SetPending records that the broker ref is configured but could not be
// loaded (yet): add-on operations that need it, and requests for services
// no loaded broker offers, then fail with an error wrapping
// core.ErrUnavailable that names it and err. [Service.AddBroker] clears it.
func (s *Service) SetPending(ref string, p Pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.brokers[ref]; ok {
		return
	}
	s.note(ref)
	s.pending[ref] = p
}

// note records ref's place in the configured order; s.mu is held.
func (s *Service) note(ref string) {
	for _, r := range s.order {
		if r == ref {
			return
		}
	}
	s.order = append(s.order, ref)
}

// Brokers lists the configured brokers' states, in the order they were
// first added or marked pending.
func (s *Service) Brokers() []BrokerState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]BrokerState, 0, len(s.order))
	for _, ref := range s.order {
		st := BrokerState{Ref: ref}
		if _, ok := s.brokers[ref]; ok {
			st.Up = true
			for name, o := range s.services {
				if o.ref == ref {
					st.Services = append(st.Services, name)
				}
			}
			sort.Strings(st.Services)
		} else {
			st.Pending = s.pending[ref]
		}
		out = append(out, st)
	}
	return out
}

// pendingErr describes the pending brokers, or is nil; s.mu is held.
func (s *Service) pendingErr() error {
	if len(s.pending) == 0 {
		return nil
	}
	var parts []string
	for _, ref := range s.order {
		if p, ok := s.pending[ref]; ok {
			parts = append(parts, pendingText(ref, p))
		}
	}
	return fmt.Errorf("%s: %w", strings.Join(parts, "; "), core.ErrUnavailable)
}

func pendingText(ref string, p Pending) string {
	msg := "add-on broker " + ref + " is not available yet"
	if !p.NextTry.IsZero() {
		msg += fmt.Sprintf(" (paasd retries in %v)", max(time.Until(p.NextTry), 0).Round(time.Second))
	}
	if p.Err != nil {
		msg += ": " + strings.TrimSuffix(p.Err.Error(), ": "+core.ErrUnavailable.Error())
	}
	return msg
}

// AddBroker reads b's catalog and offers its services under ref (the
// broker's plugin reference, e.g. "builtin:postgres", recorded in each
// add-on). It returns an error wrapping core.ErrConflict when a service
// name is already offered by another broker (nothing is added then), and
// the catalog's error otherwise.
func (s *Service) AddBroker(ctx context.Context, ref string, b core.AddonBroker) error {
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	cat, err := b.Catalog(cctx)
	if err != nil {
		return fmt.Errorf("add-on broker %s: catalog: %w", ref, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.brokers[ref]; dup {
		return fmt.Errorf("add-on broker %s is already added: %w", ref, core.ErrConflict)
	}
	for _, svc := range cat.Services {
		if o, dup := s.services[svc.Name]; dup {
			return fmt.Errorf("add-on broker %s: service %q is already offered by %s: %w", ref, svc.Name, o.ref, core.ErrConflict)
		}
		if len(svc.Plans) == 0 {
			return fmt.Errorf("add-on broker %s: service %q has no plans: %w", ref, svc.Name, core.ErrInvalid)
		}
	}
	s.brokers[ref] = b
	delete(s.pending, ref)
	s.note(ref)
	for _, svc := range cat.Services {
		s.services[svc.Name] = offer{ref: ref, broker: b, service: svc}
	}
	return nil
}

// Offering is a resolved "service:plan".
type Offering struct {
	// BrokerRef is the reference the broker was added under.
	BrokerRef string
	Service   core.Service
	Plan      core.Plan
}

// Services lists the offered services, sorted by name.
func (s *Service) Services() []core.Service {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]core.Service, 0, len(s.services))
	for _, o := range s.services {
		out = append(out, o.service)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Resolve resolves "service:plan" (plan by name or id; "service" alone
// means the service's first plan, its default). It returns an error
// wrapping core.ErrNotFound that names the known services or the service's
// plans, and core.ErrInvalid for an empty spec.
func (s *Service) Resolve(spec string) (Offering, error) {
	o, plan, err := s.resolve(spec)
	if err != nil {
		return Offering{}, err
	}
	return Offering{BrokerRef: o.ref, Service: o.service, Plan: plan}, nil
}

func (s *Service) resolve(spec string) (offer, core.Plan, error) {
	name, planName, _ := strings.Cut(strings.TrimSpace(spec), ":")
	if name == "" {
		return offer{}, core.Plan{}, fmt.Errorf("add-on plan %q: want SERVICE or SERVICE:PLAN: %w", spec, core.ErrInvalid)
	}
	s.mu.RLock()
	o, ok := s.services[name]
	var known []string
	var pending error
	if !ok {
		for n := range s.services {
			known = append(known, n)
		}
		pending = s.pendingErr()
	}
	s.mu.RUnlock()
	if !ok {
		if pending != nil {
			// The service may be one a broker that is down offers.
			return offer{}, core.Plan{}, fmt.Errorf("add-on service %q is not offered now: %w", name, pending)
		}
		sort.Strings(known)
		return offer{}, core.Plan{}, fmt.Errorf("add-on service %q not found (offered: %s): %w", name, strings.Join(known, ", "), core.ErrNotFound)
	}
	if planName == "" {
		return o, o.service.Plans[0], nil
	}
	var plans []string
	for _, p := range o.service.Plans {
		if p.Name == planName || p.ID == planName {
			return o, p, nil
		}
		plans = append(plans, p.Name)
	}
	return offer{}, core.Plan{}, fmt.Errorf("add-on plan %q of %s not found (plans: %s): %w", planName, name, strings.Join(plans, ", "), core.ErrNotFound)
}

// Addon is an add-on as the service sees it; the caller stores it.
type Addon struct {
	// Name is the add-on's name and its broker instance id.
	Name string
	// BrokerRef is the reference of the broker that provisioned it.
	BrokerRef string
	// ServiceID, PlanID, Service and Plan identify its plan
	// ("heroku-postgresql:essential-0").
	ServiceID, PlanID string
	Service, Plan     string
	// ConfigVarPrefix is the service's default attachment name.
	ConfigVarPrefix string
}

// PlanName is "service:plan".
func (a Addon) PlanName() string { return a.Service + ":" + a.Plan }

// Attachment is an add-on attached to an app under a name.
type Attachment struct {
	// Addon is the add-on's name.
	Addon string
	// AppID is the app's id; AppName its name (for the broker's records).
	AppID, AppName string
	// Name is the attachment's name, the config vars' prefix ("DATABASE").
	Name string
	// ConfigVars are the config vars the attachment sets, by full name
	// ("DATABASE_URL").
	ConfigVars map[string]string
}

// BindingID is the broker binding id of an attachment: derived from the
// add-on name, the app's id and the attachment name, so that the caller
// need not store it.
func BindingID(addon, appID, attachment string) string {
	sum := sha256.Sum256([]byte(addon + "\x00" + appID + "\x00" + attachment))
	return fmt.Sprintf("%s.%x", addon, sum[:10])
}

// ProvisionRequest asks for a new add-on attached to an app.
type ProvisionRequest struct {
	// AppID and AppName identify the app.
	AppID, AppName string
	// Plan is "service:plan" or "service".
	Plan string
	// Name is the add-on's name; empty means a new Heroku-style name.
	Name string
	// AttachmentName is the attachment's name ("--as"); empty means the
	// service's prefix, or a coloured name when the app already has one.
	AttachmentName string
	// Parameters are the provisioning parameters (the CLI's --key=value);
	// nil for none.
	Parameters map[string]any
	// Existing are the app's current attachment names, to avoid.
	Existing []string
}

// Result is a provisioned (or attached) add-on.
type Result struct {
	Addon      Addon
	Attachment Attachment
	// Description is the release description: "Attach DATABASE
	// (postgresql-shaped-12345)". The caller creates the release.
	Description string
	// Message is the broker's message for the user, if any.
	Message string
}

var (
	attachmentNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	addonNameRE      = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
)

// Provision provisions an add-on of req.Plan and attaches it to the app.
// It returns an error wrapping core.ErrNotFound for an unknown service or
// plan, core.ErrInvalid for a bad name or parameters, core.ErrConflict for
// an attachment name the app already uses, core.ErrTimeout when an
// asynchronous provision did not finish within ProvisionTimeout, and the
// broker's error otherwise; in every error case nothing is left
// provisioned.
func (s *Service) Provision(ctx context.Context, req ProvisionRequest) (Result, error) {
	o, plan, err := s.resolve(req.Plan)
	if err != nil {
		return Result{}, err
	}
	name := req.Name
	if name == "" {
		name = s.newName(o.service.Name)
	}
	if !addonNameRE.MatchString(name) {
		return Result{}, fmt.Errorf("add-on name %q: want a lower-case letter, then lower-case letters, digits and hyphens (at most 63): %w", name, core.ErrInvalid)
	}
	ad := Addon{Name: name, BrokerRef: o.ref, ServiceID: o.service.ID, PlanID: plan.ID, Service: o.service.Name, Plan: plan.Name,
		ConfigVarPrefix: prefixOf(o.service)}
	attName, err := attachmentName(ad, req.AttachmentName, req.Existing)
	if err != nil {
		return Result{}, err
	}
	params, err := marshalParams(req.Parameters)
	if err != nil {
		return Result{}, err
	}
	resp, err := s.call(ctx, func(ctx context.Context) (core.OperationResponse, error) {
		return o.broker.Provision(ctx, core.ProvisionRequest{InstanceID: name, ServiceID: ad.ServiceID, PlanID: ad.PlanID,
			Parameters: params, AppName: req.AppName, AcceptsIncomplete: true})
	})
	if err != nil {
		if mayHaveCreated(err) {
			s.undoProvision(ad, o.broker)
		}
		return Result{}, fmt.Errorf("provision %s (%s): %w", name, ad.PlanName(), err)
	}
	if resp.AlreadyExists {
		// A name collision with an add-on the caller stores is the
		// caller's to report; never adopt someone else's instance.
		return Result{}, fmt.Errorf("provision %s: an add-on with this name exists: %w", name, core.ErrConflict)
	}
	if resp.Async {
		if err := s.wait(ctx, o.broker, ad, resp.Operation, false); err != nil {
			s.undoProvision(ad, o.broker)
			return Result{}, fmt.Errorf("provision %s (%s): %w", name, ad.PlanName(), err)
		}
	}
	att, err := s.bind(ctx, o.broker, ad, req.AppID, req.AppName, attName)
	if err != nil {
		s.undoProvision(ad, o.broker)
		return Result{}, err
	}
	return Result{Addon: ad, Attachment: att, Description: fmt.Sprintf("Attach %s (%s)", att.Name, ad.Name), Message: resp.Message}, nil
}

// AttachRequest attaches an existing add-on to an app.
type AttachRequest struct {
	Addon          Addon
	AppID, AppName string
	// Name is the attachment's name; empty means the default as in
	// Provision.
	Name string
	// Existing are the app's current attachment names.
	Existing []string
}

// Attach binds an existing add-on to an app (the same add-on may be
// attached to several apps, or to one app under several names). Errors as
// Provision's; a failed attach leaves no binding.
func (s *Service) Attach(ctx context.Context, req AttachRequest) (Result, error) {
	b, err := s.broker(req.Addon.BrokerRef)
	if err != nil {
		return Result{}, err
	}
	attName, err := attachmentName(req.Addon, req.Name, req.Existing)
	if err != nil {
		return Result{}, err
	}
	att, err := s.bind(ctx, b, req.Addon, req.AppID, req.AppName, attName)
	if err != nil {
		return Result{}, err
	}
	return Result{Addon: req.Addon, Attachment: att, Description: fmt.Sprintf("Attach %s (%s)", att.Name, req.Addon.Name)}, nil
}

// Detach unbinds an attachment and returns the release description
// "Detach DATABASE (postgresql-shaped-12345)". A binding the broker no
// longer knows (ErrGone) counts as detached.
func (s *Service) Detach(ctx context.Context, ad Addon, att Attachment) (string, error) {
	b, err := s.broker(ad.BrokerRef)
	if err != nil {
		return "", err
	}
	err = s.callErr(ctx, func(ctx context.Context) error {
		return b.Unbind(ctx, core.UnbindRequest{InstanceID: ad.Name, BindingID: BindingID(ad.Name, att.AppID, att.Name), ServiceID: ad.ServiceID, PlanID: ad.PlanID})
	})
	if err != nil && !errors.Is(err, core.ErrGone) {
		return "", fmt.Errorf("detach %s from %s: %w", att.Name, ad.Name, err)
	}
	return fmt.Sprintf("Detach %s (%s)", att.Name, ad.Name), nil
}

// Deprovision detaches every attachment given (OSB brokers may refuse to
// delete an instance with bindings), then deprovisions the add-on and waits
// for an asynchronous deprovision. An instance the broker no longer knows
// (ErrGone) counts as deprovisioned. It returns the release descriptions of
// the detachments, in order.
func (s *Service) Deprovision(ctx context.Context, ad Addon, atts []Attachment) ([]string, error) {
	b, err := s.broker(ad.BrokerRef)
	if err != nil {
		return nil, err
	}
	var descs []string
	for _, att := range atts {
		d, err := s.Detach(ctx, ad, att)
		if err != nil {
			return descs, err
		}
		descs = append(descs, d)
	}
	resp, err := s.call(ctx, func(ctx context.Context) (core.OperationResponse, error) {
		return b.Deprovision(ctx, core.DeprovisionRequest{InstanceID: ad.Name, ServiceID: ad.ServiceID, PlanID: ad.PlanID, AcceptsIncomplete: true})
	})
	if errors.Is(err, core.ErrGone) {
		return descs, nil
	}
	if err != nil {
		return descs, fmt.Errorf("deprovision %s: %w", ad.Name, err)
	}
	if resp.Async {
		if err := s.wait(ctx, b, ad, resp.Operation, true); err != nil {
			return descs, fmt.Errorf("deprovision %s: %w", ad.Name, err)
		}
	}
	return descs, nil
}

// ChangePlan moves an add-on to another plan of its service ("plan" or
// "service:plan") and returns it updated. It returns an error wrapping
// core.ErrNotFound for an unknown plan, core.ErrUnsupported when the
// service's plans cannot be changed, and the broker's error otherwise.
func (s *Service) ChangePlan(ctx context.Context, ad Addon, plan string) (Addon, error) {
	if !strings.Contains(plan, ":") {
		plan = ad.Service + ":" + plan
	}
	o, p, err := s.resolve(plan)
	if err != nil {
		return ad, err
	}
	if o.service.Name != ad.Service {
		return ad, fmt.Errorf("change plan of %s: %s is a plan of %s, not %s: %w", ad.Name, plan, o.service.Name, ad.Service, core.ErrInvalid)
	}
	if !o.service.PlanUpdateable {
		return ad, fmt.Errorf("change plan of %s: %s plans cannot be changed: %w", ad.Name, ad.Service, core.ErrUnsupported)
	}
	resp, err := s.call(ctx, func(ctx context.Context) (core.OperationResponse, error) {
		return o.broker.Update(ctx, core.UpdateRequest{InstanceID: ad.Name, ServiceID: ad.ServiceID, PlanID: p.ID, PreviousPlanID: ad.PlanID, AcceptsIncomplete: true})
	})
	if err != nil {
		return ad, fmt.Errorf("change plan of %s to %s: %w", ad.Name, p.Name, err)
	}
	if resp.Async {
		if err := s.wait(ctx, o.broker, ad, resp.Operation, false); err != nil {
			return ad, fmt.Errorf("change plan of %s to %s: %w", ad.Name, p.Name, err)
		}
	}
	ad.PlanID, ad.Plan = p.ID, p.Name
	return ad, nil
}

func (s *Service) broker(ref string) (core.AddonBroker, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.brokers[ref]
	if !ok {
		if p, ok := s.pending[ref]; ok {
			return nil, fmt.Errorf("%s: %w", pendingText(ref, p), core.ErrUnavailable)
		}
		return nil, fmt.Errorf("add-on broker %s is not configured: %w", ref, core.ErrUnavailable)
	}
	return b, nil
}

// bind binds ad to an app under name and builds the attachment; a config
// it cannot use is unbound again.
func (s *Service) bind(ctx context.Context, b core.AddonBroker, ad Addon, appID, appName, name string) (Attachment, error) {
	bid := BindingID(ad.Name, appID, name)
	var resp core.BindResponse
	err := s.callErr(ctx, func(ctx context.Context) error {
		var err error
		resp, err = b.Bind(ctx, core.BindRequest{InstanceID: ad.Name, BindingID: bid, ServiceID: ad.ServiceID, PlanID: ad.PlanID, AppName: appName})
		return err
	})
	if err != nil {
		return Attachment{}, fmt.Errorf("attach %s to %s as %s: %w", ad.Name, appName, name, err)
	}
	vars, err := ConfigVars(name, resp.Config)
	if err != nil {
		s.undo(func(ctx context.Context) error {
			return b.Unbind(ctx, core.UnbindRequest{InstanceID: ad.Name, BindingID: bid, ServiceID: ad.ServiceID, PlanID: ad.PlanID})
		}, "unbind "+bid)
		return Attachment{}, fmt.Errorf("attach %s to %s: %w", ad.Name, appName, err)
	}
	return Attachment{Addon: ad.Name, AppID: appID, AppName: appName, Name: name, ConfigVars: vars}, nil
}

// ConfigVars turns a binding's config into config vars named
// "<attachment>_<KEY>". It returns an error wrapping
// core.ErrSchemaViolation when the config is empty or a key is not
// upper-case letters, digits and underscores.
func ConfigVars(attachment string, config map[string]string) (map[string]string, error) {
	if len(config) == 0 {
		return nil, fmt.Errorf("the broker's binding has no config vars: %w", core.ErrSchemaViolation)
	}
	out := make(map[string]string, len(config))
	for k, v := range config {
		if !attachmentNameRE.MatchString(k) {
			return nil, fmt.Errorf("the broker's binding has config key %q (want upper-case letters, digits and underscores): %w", k, core.ErrSchemaViolation)
		}
		out[attachment+"_"+k] = v
	}
	return out, nil
}

// mayHaveCreated reports whether a failed Provision may have left an
// instance: not when the broker refused the request as such.
func mayHaveCreated(err error) bool {
	for _, refused := range []error{core.ErrConflict, core.ErrInvalid, core.ErrNotFound, core.ErrAsyncRequired,
		core.ErrConcurrency, core.ErrSchemaViolation, core.ErrPermissionDenied, core.ErrUnsupported} {
		if errors.Is(err, refused) {
			return false
		}
	}
	return true
}

// marshalParams encodes provisioning parameters; nil gives nil.
func marshalParams(p map[string]any) (json.RawMessage, error) {
	if len(p) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("add-on parameters: %w: %w", err, core.ErrInvalid)
	}
	return raw, nil
}

// undoProvision deprovisions ad after a failure, best effort, on a context
// of its own (the caller's may be what failed).
func (s *Service) undoProvision(ad Addon, b core.AddonBroker) {
	s.undo(func(ctx context.Context) error {
		resp, err := b.Deprovision(ctx, core.DeprovisionRequest{InstanceID: ad.Name, ServiceID: ad.ServiceID, PlanID: ad.PlanID, AcceptsIncomplete: true})
		if errors.Is(err, core.ErrGone) {
			return nil
		}
		if err == nil && resp.Async {
			err = s.wait(ctx, b, ad, resp.Operation, true)
		}
		return err
	}, "deprovision "+ad.Name)
}

func (s *Service) undo(fn func(ctx context.Context) error, what string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ProvisionTimeout)
	defer cancel()
	// A broker still busy with the operation that failed or timed out
	// answers ErrConcurrency: retry with backoff until the deadline.
	var err error
	delay := s.opts.PollInterval
	for ctx.Err() == nil {
		if err = fn(ctx); !errors.Is(err, core.ErrConcurrency) {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		delay = min(delay*2, s.opts.MaxPollInterval)
	}
	if err != nil {
		s.opts.Logger.Error("add-on clean-up failed; the broker may hold an orphan", "op", what, "err", err)
	}
}

// call runs one broker operation with the call timeout.
func (s *Service) call(ctx context.Context, fn func(ctx context.Context) (core.OperationResponse, error)) (core.OperationResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	resp, err := fn(cctx)
	if err != nil && cctx.Err() != nil && ctx.Err() == nil && !errors.Is(err, core.ErrTimeout) {
		err = fmt.Errorf("%w: %w", err, core.ErrTimeout)
	}
	return resp, err
}

func (s *Service) callErr(ctx context.Context, fn func(ctx context.Context) error) error {
	_, err := s.call(ctx, func(ctx context.Context) (core.OperationResponse, error) { return core.OperationResponse{}, fn(ctx) })
	return err
}

// wait polls LastOperation until the operation finishes, within
// ProvisionTimeout. For a deprovision, ErrGone means done.
func (s *Service) wait(ctx context.Context, b core.AddonBroker, ad Addon, op string, deprovision bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ProvisionTimeout)
	defer cancel()
	delay := s.opts.PollInterval
	for {
		var lo core.LastOperation
		err := s.callErr(ctx, func(ctx context.Context) error {
			var err error
			lo, err = b.LastOperation(ctx, core.LastOperationRequest{InstanceID: ad.Name, ServiceID: ad.ServiceID, PlanID: ad.PlanID, Operation: op})
			return err
		})
		switch {
		case deprovision && errors.Is(err, core.ErrGone):
			return nil
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("still in progress after %v: %w", s.opts.ProvisionTimeout, core.ErrTimeout)
		case err != nil:
			return fmt.Errorf("poll operation %q: %w", op, err)
		}
		switch lo.State {
		case core.OpSucceeded:
			return nil
		case core.OpFailed:
			return fmt.Errorf("the broker reports the operation failed: %s: %w", lo.Description, core.ErrPluginFailed)
		case core.OpInProgress:
		default:
			return fmt.Errorf("poll operation %q: unknown state %q: %w", op, lo.State, core.ErrSchemaViolation)
		}
		wait := delay
		if lo.RetryAfterSeconds > 0 {
			wait = time.Duration(lo.RetryAfterSeconds) * time.Second
		}
		wait = min(wait, s.opts.MaxPollInterval)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("still in progress after %v: %w", s.opts.ProvisionTimeout, core.ErrTimeout)
			}
			return ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, s.opts.MaxPollInterval)
	}
}

// prefixOf is a service's default attachment name.
func prefixOf(svc core.Service) string {
	if svc.ConfigVarPrefix != "" {
		return svc.ConfigVarPrefix
	}
	return envName(svc.Name)
}

// DefaultPrefix is the default attachment name of a service whose catalog
// gives no config var prefix: its name upper-cased, "heroku-redis" gives
// "HEROKU_REDIS".
func DefaultPrefix(service string) string { return envName(service) }

// envName upper-cases a name into a config var name.
func envName(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	out := strings.Trim(sb.String(), "_")
	if out == "" || out[0] < 'A' || out[0] > 'Z' {
		out = "ADDON_" + out
	}
	return out
}

// attachmentName picks the attachment's name: the requested one (checked),
// else the service's prefix, else <SERVICE>_<COLOR>.
func attachmentName(ad Addon, requested string, existing []string) (string, error) {
	used := map[string]bool{}
	for _, e := range existing {
		used[e] = true
	}
	if requested != "" {
		if !attachmentNameRE.MatchString(requested) {
			return "", fmt.Errorf("attachment name %q: want upper-case letters, digits and underscores, starting with a letter: %w", requested, core.ErrInvalid)
		}
		if used[requested] {
			return "", fmt.Errorf("attachment name %s is already used on this app: %w", requested, core.ErrConflict)
		}
		return requested, nil
	}
	if !used[ad.ConfigVarPrefix] {
		return ad.ConfigVarPrefix, nil
	}
	return ColorName(envName(ad.Service), ad.Name, used)
}

// ColorName returns base_<COLOR> for the first colour, starting at one
// picked from seed, that is not in used. It returns an error wrapping
// core.ErrConflict when every colour is used.
func ColorName(base, seed string, used map[string]bool) (string, error) {
	sum := sha256.Sum256([]byte(seed))
	start := int(binary.BigEndian.Uint32(sum[:4]) % uint32(len(Colors)))
	for i := range Colors {
		n := base + "_" + Colors[(start+i)%len(Colors)]
		if !used[n] {
			return n, nil
		}
	}
	return "", fmt.Errorf("every colour of %s is used on this app; give the attachment a name: %w", base, core.ErrConflict)
}

// AddonName returns a Heroku-style add-on name for a service:
// "heroku-postgresql", "shaped", 12345 give "postgresql-shaped-12345".
func AddonName(service, adjective string, number int) string {
	base := strings.TrimPrefix(service, "heroku-")
	base = strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, base), "-")
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "addon" + base
	}
	if len(base) > 40 {
		base = base[:40]
	}
	return fmt.Sprintf("%s-%s-%05d", base, adjective, number)
}

func (s *Service) newName(service string) string {
	if s.opts.NewName != nil {
		return s.opts.NewName(service)
	}
	return AddonName(service, adjectives[rand.IntN(len(adjectives))], rand.IntN(100000))
}
