// Package osb adapts any Open Service Broker API v2 endpoint into a
// core.AddonBroker, so that paasd can offer the services of a broker
// written for Cloud Foundry or Kubernetes' service catalog.
//
// Every request carries X-Broker-API-Version: 2.17 and, when configured,
// HTTP basic credentials. Provision, update and deprovision pass
// accepts_incomplete through; LastOperation polls
// …/last_operation and reports the broker's Retry-After header.
//
// OSB answers map to the core contract: 200 on provision is AlreadyExists,
// 201 created, 202 Async with its operation; 409 ErrConflict; 410
// ErrGone; 422 {"error":"AsyncRequired"} ErrAsyncRequired, 422
// {"error":"ConcurrencyError"} ErrConcurrency, other 422s and 400
// ErrInvalid; 401 and 403 ErrPermissionDenied; 404 ErrNotFound; 412
// ErrUnsupported (version mismatch); 5xx and network errors
// ErrUnavailable, a deadline ErrTimeout.
//
// A binding's credentials object becomes its config (see
// [CredentialsConfig]): string and number members keyed by their names
// upper-cased ("uri" and "url" both become "URL"), other members as JSON.
// A service's config var prefix is its metadata's config_var_prefix
// (plugins/brokers/osbserver emits it), else the one configured for it,
// else its name upper-cased.
package osb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paasd/paasd/core"
)

// ID is the plugin id the adapter describes itself with.
const ID = "paasd.broker.osb"

// APIVersion is the OSB API version the adapter sends.
const APIVersion = "2.17"

// ConfigSchema is the CUE schema of the adapter's configuration.
const ConfigSchema = `close({
	// url is the broker's base URL (the one holding /v2/catalog).
	url!: =~"^https?://"
	// username and password are the broker's HTTP basic credentials.
	username?: string
	password?: string
	// timeout bounds each HTTP request, as a Go duration; default "60s".
	timeout?: =~"^[0-9]+(\\.[0-9]+)?(ms|s|m)$"
	// config_var_prefixes maps service names to attachment names
	// ("DATABASE"), for brokers whose metadata carries none.
	config_var_prefixes?: [string]: =~"^[A-Z][A-Z0-9_]*$"
})`

// Config is the adapter's configuration.
type Config struct {
	// URL is the broker's base URL. Required.
	URL string `json:"url"`
	// Username and Password are HTTP basic credentials; empty sends none.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Timeout bounds each request (Go duration); empty means 60 s.
	Timeout string `json:"timeout,omitempty"`
	// ConfigVarPrefixes maps service names to attachment names.
	ConfigVarPrefixes map[string]string `json:"config_var_prefixes,omitempty"`
}

// Broker is the OSB adapter. Configure it before use; after that it is safe
// for concurrent use.
type Broker struct {
	mu     sync.Mutex
	cfg    Config
	base   *url.URL
	client *http.Client
}

var (
	_ core.AddonBroker   = (*Broker)(nil)
	_ core.HealthChecker = (*Broker)(nil)
)

// New returns an unconfigured adapter.
func New() *Broker { return &Broker{} }

// Describe describes the adapter. The OSB broker behind it may or may not
// be asynchronous or allow plan changes; the adapter declares both and
// passes the broker's answers through.
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

var prefixRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// Configure reads the config (see [Config]). It returns an error wrapping
// core.ErrInvalid for a config it cannot use. It does not contact the
// broker.
func (b *Broker) Configure(_ context.Context, req core.ConfigureRequest) error {
	if req.APIVersion != 1 {
		return fmt.Errorf("broker osb: api version %d: only version 1 is spoken: %w", req.APIVersion, core.ErrUnsupported)
	}
	var cfg Config
	if len(req.Config) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return fmt.Errorf("broker osb: config: %w: %w", err, core.ErrInvalid)
		}
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("broker osb: config: url %q must be an http(s) URL: %w", cfg.URL, core.ErrInvalid)
	}
	timeout := 60 * time.Second
	if cfg.Timeout != "" {
		if timeout, err = time.ParseDuration(cfg.Timeout); err != nil || timeout <= 0 {
			return fmt.Errorf("broker osb: config: timeout %q: want a positive Go duration such as \"30s\": %w", cfg.Timeout, core.ErrInvalid)
		}
	}
	for svc, p := range cfg.ConfigVarPrefixes {
		if !prefixRE.MatchString(p) {
			return fmt.Errorf("broker osb: config: config_var_prefixes[%q] = %q: want upper-case letters, digits and underscores: %w", svc, p, core.ErrInvalid)
		}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg, b.base = cfg, u
	b.client = &http.Client{Timeout: timeout}
	return nil
}

// call sends one OSB request and decodes a 2xx answer into out. It returns
// the status and an error mapped to a core sentinel for other statuses.
func (b *Broker) call(ctx context.Context, method, path string, query url.Values, body, out any) (_ int, _ http.Header, err error) {
	b.mu.Lock()
	base, client, cfg := b.base, b.client, b.cfg
	b.mu.Unlock()
	if base == nil {
		return 0, nil, fmt.Errorf("broker osb: not configured: %w", core.ErrUnavailable)
	}
	// path is escaped (ids go through url.PathEscape).
	u := *base
	u.RawPath = base.EscapedPath() + path
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return 0, nil, fmt.Errorf("broker osb: path %q: %w: %w", path, err, core.ErrInvalid)
	}
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, fmt.Errorf("broker osb: %s %s: %w: %w", method, path, err, core.ErrInvalid)
	}
	req.Header.Set("X-Broker-API-Version", APIVersion)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cfg.Username != "" {
		req.SetBasicAuth(cfg.Username, cfg.Password)
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return 0, nil, fmt.Errorf("broker osb: %s %s: %w: %w", method, u.Redacted(), err, core.ErrTimeout)
		}
		return 0, nil, fmt.Errorf("broker osb: %s %s: %w: %w", method, u.Redacted(), err, core.ErrUnavailable)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, resp.Header, fmt.Errorf("broker osb: %s %s: read answer: %w: %w", method, path, err, core.ErrUnavailable)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && len(bytes.TrimSpace(raw)) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return resp.StatusCode, resp.Header, fmt.Errorf("broker osb: %s %s: answer %d is not the expected JSON: %w: %w", method, path, resp.StatusCode, err, core.ErrPluginFailed)
			}
		}
		return resp.StatusCode, resp.Header, nil
	}
	return resp.StatusCode, resp.Header, fmt.Errorf("broker osb: %s %s: %w", method, path, StatusError(resp.StatusCode, raw))
}

// StatusError maps a non-2xx OSB answer (status and body) to an error
// wrapping the matching core sentinel, carrying the broker's description.
func StatusError(status int, body []byte) error {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"description"`
	}
	_ = json.Unmarshal(body, &e)
	msg := fmt.Sprintf("OSB status %d", status)
	if e.Error != "" {
		msg += " " + e.Error
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	var sentinel error
	switch {
	case status == http.StatusUnprocessableEntity && e.Error == "AsyncRequired":
		sentinel = core.ErrAsyncRequired
	case status == http.StatusUnprocessableEntity && e.Error == "ConcurrencyError":
		sentinel = core.ErrConcurrency
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		sentinel = core.ErrInvalid
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		sentinel = core.ErrPermissionDenied
	case status == http.StatusNotFound:
		sentinel = core.ErrNotFound
	case status == http.StatusConflict:
		sentinel = core.ErrConflict
	case status == http.StatusGone:
		sentinel = core.ErrGone
	case status == http.StatusPreconditionFailed:
		sentinel = core.ErrUnsupported
	case status == http.StatusRequestTimeout, status == http.StatusGatewayTimeout:
		sentinel = core.ErrTimeout
	case status >= 500, status == http.StatusTooManyRequests:
		sentinel = core.ErrUnavailable
	default:
		sentinel = core.ErrPluginFailed
	}
	return fmt.Errorf("%s: %w", msg, sentinel)
}

// osbCatalog is the part of OSB's catalog the adapter reads.
type osbCatalog struct {
	Services []struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		Description    string `json:"description"`
		Bindable       bool   `json:"bindable"`
		PlanUpdateable bool   `json:"plan_updateable"`
		Metadata       struct {
			ConfigVarPrefix string `json:"config_var_prefix"`
		} `json:"metadata"`
		Plans []struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			Description string `json:"description"`
			Free        *bool  `json:"free"`
		} `json:"plans"`
	} `json:"services"`
}

// Health fetches the catalog: nil when the broker answers it, an error
// wrapping core.ErrUnavailable (or the answer's sentinel) otherwise.
func (b *Broker) Health(ctx context.Context) error {
	if _, _, err := b.call(ctx, http.MethodGet, "/v2/catalog", nil, nil, nil); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return nil
}

// Catalog fetches the broker's catalog.
func (b *Broker) Catalog(ctx context.Context) (core.Catalog, error) {
	var in osbCatalog
	if _, _, err := b.call(ctx, http.MethodGet, "/v2/catalog", nil, nil, &in); err != nil {
		return core.Catalog{}, err
	}
	b.mu.Lock()
	overrides := b.cfg.ConfigVarPrefixes
	b.mu.Unlock()
	var out core.Catalog
	for _, s := range in.Services {
		svc := core.Service{ID: s.ID, Name: s.Name, Description: s.Description, Bindable: s.Bindable, PlanUpdateable: s.PlanUpdateable}
		switch {
		case s.Metadata.ConfigVarPrefix != "" && prefixRE.MatchString(s.Metadata.ConfigVarPrefix):
			svc.ConfigVarPrefix = s.Metadata.ConfigVarPrefix
		case overrides[s.Name] != "":
			svc.ConfigVarPrefix = overrides[s.Name]
		default:
			svc.ConfigVarPrefix = envName(s.Name)
		}
		for _, p := range s.Plans {
			free := p.Free == nil || *p.Free // OSB's default is free
			svc.Plans = append(svc.Plans, core.Plan{ID: p.ID, Name: p.Name, Description: p.Description, Free: free})
		}
		out.Services = append(out.Services, svc)
	}
	return out, nil
}

// envName turns a name into an upper-case config var name: letters and
// digits kept, everything else "_" (trimmed at both ends), "X" before a
// leading digit, "ADDON" for nothing left.
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
	if out == "" {
		return "ADDON"
	}
	if out[0] >= '0' && out[0] <= '9' {
		out = "X" + out
	}
	return out
}

// instancePath is …/service_instances/:id with id escaped.
func instancePath(id string) string { return "/v2/service_instances/" + url.PathEscape(id) }

// osbContext is the OSB context object paasd sends.
type osbContext struct {
	Platform string `json:"platform"`
	AppName  string `json:"app_name,omitempty"`
}

type osbOperation struct {
	DashboardURL string `json:"dashboard_url"`
	Operation    string `json:"operation"`
	Description  string `json:"description"`
}

func incompleteQuery(accepts bool, extra url.Values) url.Values {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	if accepts {
		q.Set("accepts_incomplete", "true")
	}
	return q
}

// Provision creates an instance (OSB PUT).
func (b *Broker) Provision(ctx context.Context, req core.ProvisionRequest) (core.OperationResponse, error) {
	body := map[string]any{
		"service_id":        req.ServiceID,
		"plan_id":           req.PlanID,
		"organization_guid": "paasd",
		"space_guid":        "paasd",
		"context":           osbContext{Platform: "paasd", AppName: req.AppName},
	}
	if len(req.Parameters) > 0 {
		body["parameters"] = req.Parameters
	}
	var out osbOperation
	status, _, err := b.call(ctx, http.MethodPut, instancePath(req.InstanceID), incompleteQuery(req.AcceptsIncomplete, nil), body, &out)
	if err != nil {
		return core.OperationResponse{}, fmt.Errorf("provision %s: %w", req.InstanceID, err)
	}
	resp := core.OperationResponse{DashboardURL: out.DashboardURL, Message: out.Description}
	switch status {
	case http.StatusOK:
		resp.AlreadyExists = true
	case http.StatusAccepted:
		resp.Async, resp.Operation = true, out.Operation
	}
	return resp, nil
}

// Update changes an instance's plan or parameters (OSB PATCH).
func (b *Broker) Update(ctx context.Context, req core.UpdateRequest) (core.OperationResponse, error) {
	body := map[string]any{
		"service_id": req.ServiceID,
		"plan_id":    req.PlanID,
		"context":    osbContext{Platform: "paasd"},
	}
	if len(req.Parameters) > 0 {
		body["parameters"] = req.Parameters
	}
	if req.PreviousPlanID != "" {
		body["previous_values"] = map[string]string{"plan_id": req.PreviousPlanID, "service_id": req.ServiceID}
	}
	var out osbOperation
	status, _, err := b.call(ctx, http.MethodPatch, instancePath(req.InstanceID), incompleteQuery(req.AcceptsIncomplete, nil), body, &out)
	if err != nil {
		return core.OperationResponse{}, fmt.Errorf("update %s: %w", req.InstanceID, err)
	}
	resp := core.OperationResponse{DashboardURL: out.DashboardURL}
	if status == http.StatusAccepted {
		resp.Async, resp.Operation = true, out.Operation
	}
	return resp, nil
}

// Deprovision deletes an instance (OSB DELETE).
func (b *Broker) Deprovision(ctx context.Context, req core.DeprovisionRequest) (core.OperationResponse, error) {
	q := incompleteQuery(req.AcceptsIncomplete, url.Values{"service_id": {req.ServiceID}, "plan_id": {req.PlanID}})
	var out osbOperation
	status, _, err := b.call(ctx, http.MethodDelete, instancePath(req.InstanceID), q, nil, &out)
	if err != nil {
		return core.OperationResponse{}, fmt.Errorf("deprovision %s: %w", req.InstanceID, err)
	}
	if status == http.StatusAccepted {
		return core.OperationResponse{Async: true, Operation: out.Operation}, nil
	}
	return core.OperationResponse{}, nil
}

// LastOperation polls an operation (OSB GET …/last_operation). Retry-After
// (seconds or an HTTP date) becomes RetryAfterSeconds.
func (b *Broker) LastOperation(ctx context.Context, req core.LastOperationRequest) (core.LastOperation, error) {
	q := url.Values{}
	for k, v := range map[string]string{"service_id": req.ServiceID, "plan_id": req.PlanID, "operation": req.Operation} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out struct {
		State       string `json:"state"`
		Description string `json:"description"`
	}
	_, hdr, err := b.call(ctx, http.MethodGet, instancePath(req.InstanceID)+"/last_operation", q, nil, &out)
	if err != nil {
		return core.LastOperation{}, fmt.Errorf("last operation of %s: %w", req.InstanceID, err)
	}
	switch out.State {
	case core.OpInProgress, core.OpSucceeded, core.OpFailed:
	default:
		return core.LastOperation{}, fmt.Errorf("broker osb: last operation of %s: state %q is not an OSB state: %w", req.InstanceID, out.State, core.ErrPluginFailed)
	}
	return core.LastOperation{State: out.State, Description: out.Description, RetryAfterSeconds: RetryAfter(hdr.Get("Retry-After"), time.Now())}, nil
}

// RetryAfter parses a Retry-After value (delay seconds or an HTTP date,
// relative to now) into whole seconds; 0 for none or a bad value, at most
// one hour.
func RetryAfter(v string, now time.Time) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return max(0, min(n, 3600))
	}
	if t, err := http.ParseTime(v); err == nil {
		d := int(t.Sub(now).Round(time.Second) / time.Second)
		return max(0, min(d, 3600))
	}
	return 0
}

// Bind creates a binding (OSB PUT …/service_bindings/:bid) and returns its
// credentials as config.
func (b *Broker) Bind(ctx context.Context, req core.BindRequest) (core.BindResponse, error) {
	body := map[string]any{
		"service_id":    req.ServiceID,
		"plan_id":       req.PlanID,
		"bind_resource": map[string]string{"app_guid": req.AppName},
		"context":       osbContext{Platform: "paasd", AppName: req.AppName},
	}
	if len(req.Parameters) > 0 {
		body["parameters"] = req.Parameters
	}
	var out struct {
		Credentials json.RawMessage `json:"credentials"`
	}
	path := instancePath(req.InstanceID) + "/service_bindings/" + url.PathEscape(req.BindingID)
	status, _, err := b.call(ctx, http.MethodPut, path, nil, body, &out)
	if err != nil {
		return core.BindResponse{}, fmt.Errorf("bind %s to %s: %w", req.BindingID, req.InstanceID, err)
	}
	if status == http.StatusAccepted {
		return core.BindResponse{}, fmt.Errorf("bind %s to %s: the broker answered asynchronously, which paasd does not request: %w", req.BindingID, req.InstanceID, core.ErrPluginFailed)
	}
	cfg, err := CredentialsConfig(out.Credentials)
	if err != nil {
		return core.BindResponse{}, fmt.Errorf("bind %s to %s: %w", req.BindingID, req.InstanceID, err)
	}
	return core.BindResponse{Config: cfg}, nil
}

// Unbind deletes a binding (OSB DELETE …/service_bindings/:bid).
func (b *Broker) Unbind(ctx context.Context, req core.UnbindRequest) error {
	path := instancePath(req.InstanceID) + "/service_bindings/" + url.PathEscape(req.BindingID)
	q := url.Values{"service_id": {req.ServiceID}, "plan_id": {req.PlanID}}
	if _, _, err := b.call(ctx, http.MethodDelete, path, q, nil, nil); err != nil {
		return fmt.Errorf("unbind %s from %s: %w", req.BindingID, req.InstanceID, err)
	}
	return nil
}

// CredentialsConfig turns an OSB credentials object into config var
// suffixes: each member's name upper-cased with every character other than
// a letter or digit replaced by "_" ("uri" and "url" become "URL"), its
// value as is for a string, in JSON for anything else. A missing or null
// object gives an empty config; anything but an object is an error
// wrapping core.ErrPluginFailed. When two members map to one name, the
// one whose name sorts first wins.
func CredentialsConfig(raw json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("broker osb: credentials are not a JSON object: %w", core.ErrPluginFailed)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := envName(k)
		if strings.EqualFold(k, "uri") {
			name = "URL"
		}
		if _, dup := out[name]; dup {
			continue
		}
		v := m[k]
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out[name] = s
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return nil, fmt.Errorf("broker osb: credentials member %q: %w", k, core.ErrPluginFailed)
		}
		out[name] = compact.String()
	}
	return out, nil
}
