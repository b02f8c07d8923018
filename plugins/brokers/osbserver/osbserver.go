// Package osbserver serves any core.AddonBroker as an Open Service Broker
// API v2 (2.17) endpoint, so that other platforms (Cloud Foundry,
// Kubernetes' service catalog, another paasd through plugins/brokers/osb)
// can use paasd's brokers.
//
// Routes: GET /v2/catalog; PUT, PATCH, DELETE /v2/service_instances/:id;
// GET /v2/service_instances/:id/last_operation; PUT, DELETE
// /v2/service_instances/:id/service_bindings/:bid. Every request must carry
// X-Broker-API-Version 2.x (else 412) and, when [Server.Username] is set,
// HTTP basic credentials (else 401).
//
// Core errors map to OSB statuses: ErrConflict 409, ErrGone 410,
// ErrAsyncRequired 422 {"error":"AsyncRequired"}, ErrConcurrency 422
// {"error":"ConcurrencyError"}, ErrInvalid 400, ErrNotFound 404,
// ErrPermissionDenied 403, ErrUnavailable and ErrTimeout 503, anything else
// 500. A binding's config becomes its credentials object verbatim
// ({"URL": …}); a service's config_var_prefix travels in its metadata.
package osbserver

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/paasd/paasd/core"
)

// APIVersion is the OSB API version the server speaks.
const APIVersion = "2.17"

// maxBody bounds request bodies.
const maxBody = 1 << 20

// Server is an http.Handler serving Broker as an OSB v2 API. Set Broker;
// the other fields are optional.
type Server struct {
	// Broker is the configured broker to serve. Required.
	Broker core.AddonBroker
	// Username and Password, when Username is non-empty, are the HTTP
	// basic credentials every request must carry.
	Username, Password string
	// Logger receives one line per failed request; nil means
	// slog.Default().
	Logger *slog.Logger

	once sync.Once
	mux  *http.ServeMux
}

var _ http.Handler = (*Server)(nil)

// ServiceMetadata is the OSB service metadata the server emits and
// plugins/brokers/osb reads.
type ServiceMetadata struct {
	// ConfigVarPrefix is the attachment's default name ("DATABASE").
	ConfigVarPrefix string `json:"config_var_prefix,omitempty"`
}

// ServeHTTP serves one OSB request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.once.Do(s.routes)
	if s.Username != "" {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.Username)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(s.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="paasd broker"`)
			writeJSON(w, http.StatusUnauthorized, errBody{Description: "valid basic credentials are required"})
			return
		}
	}
	if v := r.Header.Get("X-Broker-API-Version"); !strings.HasPrefix(v, "2.") {
		writeJSON(w, http.StatusPreconditionFailed, errBody{Description: fmt.Sprintf("X-Broker-API-Version %q: this broker speaks %s", v, APIVersion)})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// routes builds the request router.
func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /v2/catalog", s.catalog)
	m.HandleFunc("PUT /v2/service_instances/{id}", s.provision)
	m.HandleFunc("PATCH /v2/service_instances/{id}", s.update)
	m.HandleFunc("DELETE /v2/service_instances/{id}", s.deprovision)
	m.HandleFunc("GET /v2/service_instances/{id}/last_operation", s.lastOperation)
	m.HandleFunc("PUT /v2/service_instances/{id}/service_bindings/{bid}", s.bind)
	m.HandleFunc("DELETE /v2/service_instances/{id}/service_bindings/{bid}", s.unbind)
	s.mux = m
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// errBody is OSB's error response.
type errBody struct {
	Error       string `json:"error,omitempty"`
	Description string `json:"description,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fail writes err as an OSB error response.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, name := http.StatusInternalServerError, ""
	switch {
	case errors.Is(err, core.ErrAsyncRequired):
		code, name = http.StatusUnprocessableEntity, "AsyncRequired"
	case errors.Is(err, core.ErrConcurrency):
		code, name = http.StatusUnprocessableEntity, "ConcurrencyError"
	case errors.Is(err, core.ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, core.ErrGone):
		code = http.StatusGone
	case errors.Is(err, core.ErrInvalid), errors.Is(err, core.ErrSchemaViolation):
		code = http.StatusBadRequest
	case errors.Is(err, core.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, core.ErrPermissionDenied):
		code = http.StatusForbidden
	case errors.Is(err, core.ErrUnavailable), errors.Is(err, core.ErrTimeout):
		code = http.StatusServiceUnavailable
	case errors.Is(err, core.ErrUnsupported):
		code = http.StatusUnprocessableEntity
	}
	if code >= 500 {
		s.logger().Warn("osb request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusGone {
		writeJSON(w, code, struct{}{})
		return
	}
	writeJSON(w, code, errBody{Error: name, Description: err.Error()})
}

// osbPlan, osbService and osbCatalog are OSB's catalog shapes.
type osbPlan struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Free        bool   `json:"free"`
}

type osbService struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	Description    string           `json:"description"`
	Bindable       bool             `json:"bindable"`
	PlanUpdateable bool             `json:"plan_updateable"`
	Plans          []osbPlan        `json:"plans"`
	Metadata       *ServiceMetadata `json:"metadata,omitempty"`
}

func (s *Server) catalog(w http.ResponseWriter, r *http.Request) {
	cat, err := s.Broker.Catalog(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Services []osbService `json:"services"`
	}{Services: []osbService{}}
	for _, sv := range cat.Services {
		o := osbService{ID: sv.ID, Name: sv.Name, Description: sv.Description, Bindable: sv.Bindable, PlanUpdateable: sv.PlanUpdateable, Plans: []osbPlan{}}
		if sv.ConfigVarPrefix != "" {
			o.Metadata = &ServiceMetadata{ConfigVarPrefix: sv.ConfigVarPrefix}
		}
		for _, p := range sv.Plans {
			o.Plans = append(o.Plans, osbPlan{ID: p.ID, Name: p.Name, Description: p.Description, Free: p.Free})
		}
		out.Services = append(out.Services, o)
	}
	writeJSON(w, http.StatusOK, out)
}

// InstanceBody is the body of OSB's provision (PUT) and update (PATCH).
type InstanceBody struct {
	ServiceID        string          `json:"service_id"`
	PlanID           string          `json:"plan_id"`
	Parameters       json.RawMessage `json:"parameters,omitempty"`
	Context          json.RawMessage `json:"context,omitempty"`
	OrganizationGUID string          `json:"organization_guid,omitempty"`
	SpaceGUID        string          `json:"space_guid,omitempty"`
	PreviousValues   *struct {
		PlanID string `json:"plan_id,omitempty"`
	} `json:"previous_values,omitempty"`
}

// BindingBody is the body of OSB's bind (PUT).
type BindingBody struct {
	ServiceID    string          `json:"service_id"`
	PlanID       string          `json:"plan_id"`
	Parameters   json.RawMessage `json:"parameters,omitempty"`
	Context      json.RawMessage `json:"context,omitempty"`
	BindResource *struct {
		AppGUID string `json:"app_guid,omitempty"`
	} `json:"bind_resource,omitempty"`
}

// DecodeInstanceBody decodes and checks a provision or update body: a JSON
// object with a service_id, a plan_id (unless planOptional) and, if
// present, an object of parameters. Errors wrap core.ErrInvalid and name
// the field.
func DecodeInstanceBody(r io.Reader, planOptional bool) (InstanceBody, error) {
	var b InstanceBody
	if err := decodeBody(r, &b); err != nil {
		return b, err
	}
	if b.ServiceID == "" {
		return b, fmt.Errorf("service_id is required: %w", core.ErrInvalid)
	}
	if b.PlanID == "" && !planOptional {
		return b, fmt.Errorf("plan_id is required: %w", core.ErrInvalid)
	}
	if err := checkObject("parameters", b.Parameters); err != nil {
		return b, err
	}
	return b, nil
}

func decodeBody(r io.Reader, v any) error {
	body, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return fmt.Errorf("read body: %w: %w", err, core.ErrInvalid)
	}
	if len(body) > maxBody {
		return fmt.Errorf("body larger than %d bytes: %w", maxBody, core.ErrInvalid)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("body: %w: %w", err, core.ErrInvalid)
	}
	return nil
}

func checkObject(field string, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%s must be a JSON object: %w", field, core.ErrInvalid)
	}
	return nil
}

// appName reads context.app_name (paasd) or context.instance_name.
func appName(raw json.RawMessage) string {
	var c struct {
		AppName string `json:"app_name"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.AppName
}

func params(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

func acceptsIncomplete(r *http.Request) bool {
	ok, _ := strconv.ParseBool(r.URL.Query().Get("accepts_incomplete"))
	return ok
}

// operationBody is OSB's answer to provision, update and deprovision.
type operationBody struct {
	DashboardURL string `json:"dashboard_url,omitempty"`
	Operation    string `json:"operation,omitempty"`
}

func (s *Server) provision(w http.ResponseWriter, r *http.Request) {
	b, err := DecodeInstanceBody(r.Body, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp, err := s.Broker.Provision(r.Context(), core.ProvisionRequest{
		InstanceID: r.PathValue("id"), ServiceID: b.ServiceID, PlanID: b.PlanID,
		Parameters: params(b.Parameters), AppName: appName(b.Context), AcceptsIncomplete: acceptsIncomplete(r),
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body := operationBody{DashboardURL: resp.DashboardURL, Operation: resp.Operation}
	switch {
	case resp.Async:
		writeJSON(w, http.StatusAccepted, body)
	case resp.AlreadyExists:
		writeJSON(w, http.StatusOK, body)
	default:
		writeJSON(w, http.StatusCreated, body)
	}
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	b, err := DecodeInstanceBody(r.Body, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req := core.UpdateRequest{InstanceID: r.PathValue("id"), ServiceID: b.ServiceID, PlanID: b.PlanID,
		Parameters: params(b.Parameters), AcceptsIncomplete: acceptsIncomplete(r)}
	if b.PreviousValues != nil {
		req.PreviousPlanID = b.PreviousValues.PlanID
	}
	if req.PlanID == "" {
		req.PlanID = req.PreviousPlanID
	}
	resp, err := s.Broker.Update(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if resp.Async {
		code = http.StatusAccepted
	}
	writeJSON(w, code, operationBody{DashboardURL: resp.DashboardURL, Operation: resp.Operation})
}

func (s *Server) deprovision(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("service_id") == "" {
		s.fail(w, r, fmt.Errorf("query parameter service_id is required: %w", core.ErrInvalid))
		return
	}
	resp, err := s.Broker.Deprovision(r.Context(), core.DeprovisionRequest{InstanceID: r.PathValue("id"),
		ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id"), AcceptsIncomplete: acceptsIncomplete(r)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if resp.Async {
		writeJSON(w, http.StatusAccepted, operationBody{Operation: resp.Operation})
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) lastOperation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lo, err := s.Broker.LastOperation(r.Context(), core.LastOperationRequest{InstanceID: r.PathValue("id"),
		ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id"), Operation: q.Get("operation")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if lo.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(lo.RetryAfterSeconds))
	}
	writeJSON(w, http.StatusOK, struct {
		State       string `json:"state"`
		Description string `json:"description,omitempty"`
	}{lo.State, lo.Description})
}

func (s *Server) bind(w http.ResponseWriter, r *http.Request) {
	var b BindingBody
	if err := decodeBody(r.Body, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	if b.ServiceID == "" || b.PlanID == "" {
		s.fail(w, r, fmt.Errorf("service_id and plan_id are required: %w", core.ErrInvalid))
		return
	}
	if err := checkObject("parameters", b.Parameters); err != nil {
		s.fail(w, r, err)
		return
	}
	app := appName(b.Context)
	if app == "" && b.BindResource != nil {
		app = b.BindResource.AppGUID
	}
	resp, err := s.Broker.Bind(r.Context(), core.BindRequest{InstanceID: r.PathValue("id"), BindingID: r.PathValue("bid"),
		ServiceID: b.ServiceID, PlanID: b.PlanID, AppName: app, Parameters: params(b.Parameters)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	creds := resp.Config
	if creds == nil {
		creds = map[string]string{}
	}
	writeJSON(w, http.StatusCreated, struct {
		Credentials map[string]string `json:"credentials"`
	}{creds})
}

func (s *Server) unbind(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("service_id") == "" {
		s.fail(w, r, fmt.Errorf("query parameter service_id is required: %w", core.ErrInvalid))
		return
	}
	err := s.Broker.Unbind(r.Context(), core.UnbindRequest{InstanceID: r.PathValue("id"), BindingID: r.PathValue("bid"),
		ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
