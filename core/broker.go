package core

import (
	"context"
	"encoding/json"
)

// BrokerAPIVersions are the add-on broker contract versions this core speaks.
var BrokerAPIVersions = []int{1}

// Add-on broker capabilities a plugin may declare.
const (
	// BrokerCapAsync: provision, update or deprovision may complete
	// asynchronously, polled with LastOperation.
	BrokerCapAsync = "async"
	// BrokerCapPlanUpdate: plans can be changed with Update.
	BrokerCapPlanUpdate = "plan_update"
)

// Catalog lists the services and plans a broker offers (OSB GET /v2/catalog).
type Catalog struct {
	Services []Service `json:"services"`
}

// Service is one add-on service, e.g. "heroku-postgresql".
type Service struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Bindable    bool   `json:"bindable"`
	// PlanUpdateable is OSB's spelling.
	PlanUpdateable bool   `json:"plan_updateable,omitempty"`
	Plans          []Plan `json:"plans"`
	// ConfigVarPrefix is the attachment's default name, e.g. "DATABASE" gives
	// DATABASE_URL.
	ConfigVarPrefix string `json:"config_var_prefix,omitempty"`
}

// Plan is one plan of a service, e.g. "essential-0".
type Plan struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Free        bool   `json:"free,omitempty"`
}

// ProvisionRequest creates an instance (OSB PUT /v2/service_instances/:id).
// Provisioning is idempotent on InstanceID.
type ProvisionRequest struct {
	InstanceID        string          `json:"instance_id"`
	ServiceID         string          `json:"service_id"`
	PlanID            string          `json:"plan_id"`
	Parameters        json.RawMessage `json:"parameters,omitempty"`
	AppName           string          `json:"app_name,omitempty"`
	AcceptsIncomplete bool            `json:"accepts_incomplete,omitempty"`
}

// OperationResponse answers provision, update and deprovision.
type OperationResponse struct {
	// Async is true when the operation continues; poll LastOperation with Operation.
	Async     bool   `json:"async,omitempty"`
	Operation string `json:"operation,omitempty"`
	// AlreadyExists is true when an identical instance existed (OSB 200).
	AlreadyExists bool   `json:"already_exists,omitempty"`
	DashboardURL  string `json:"dashboard_url,omitempty"`
	Message       string `json:"message,omitempty"`
}

// UpdateRequest changes an instance's plan or parameters (OSB PATCH).
type UpdateRequest struct {
	InstanceID        string          `json:"instance_id"`
	ServiceID         string          `json:"service_id"`
	PlanID            string          `json:"plan_id"`
	PreviousPlanID    string          `json:"previous_plan_id,omitempty"`
	Parameters        json.RawMessage `json:"parameters,omitempty"`
	AcceptsIncomplete bool            `json:"accepts_incomplete,omitempty"`
}

// DeprovisionRequest deletes an instance (OSB DELETE).
type DeprovisionRequest struct {
	InstanceID        string `json:"instance_id"`
	ServiceID         string `json:"service_id"`
	PlanID            string `json:"plan_id"`
	AcceptsIncomplete bool   `json:"accepts_incomplete,omitempty"`
}

// LastOperationRequest polls an asynchronous operation.
type LastOperationRequest struct {
	InstanceID string `json:"instance_id"`
	ServiceID  string `json:"service_id,omitempty"`
	PlanID     string `json:"plan_id,omitempty"`
	Operation  string `json:"operation,omitempty"`
}

// Operation states, with OSB's spelling.
const (
	OpInProgress = "in progress"
	OpSucceeded  = "succeeded"
	OpFailed     = "failed"
)

// LastOperation is an operation's state.
type LastOperation struct {
	State       string `json:"state"`
	Description string `json:"description,omitempty"`
	// RetryAfterSeconds is a polling hint; 0 means the caller's default.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
}

// BindRequest attaches an instance to an app (OSB PUT …/service_bindings/:bid).
type BindRequest struct {
	InstanceID string          `json:"instance_id"`
	BindingID  string          `json:"binding_id"`
	ServiceID  string          `json:"service_id"`
	PlanID     string          `json:"plan_id"`
	AppName    string          `json:"app_name,omitempty"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// BindResponse carries the attachment's credentials.
type BindResponse struct {
	// Config maps config var suffixes to values: {"URL": "postgres://…"}
	// becomes DATABASE_URL for an attachment named DATABASE.
	Config map[string]string `json:"config"`
}

// UnbindRequest detaches an instance from an app.
type UnbindRequest struct {
	InstanceID string `json:"instance_id"`
	BindingID  string `json:"binding_id"`
	ServiceID  string `json:"service_id"`
	PlanID     string `json:"plan_id"`
}

// AddonBroker provisions add-on instances and their credentials.
//
// Error contract (OSB semantics): Provision returns AlreadyExists=true for an
// identical existing instance and an error wrapping ErrConflict for one with
// different attributes; ErrAsyncRequired when it can only finish
// asynchronously and AcceptsIncomplete is false; ErrConcurrency while another
// operation on the instance runs. Deprovision and Unbind of an unknown
// instance or binding return an error wrapping ErrGone. LastOperation returns
// ErrNotFound (ErrGone after an async deprovision finished) for an unknown
// instance.
type AddonBroker interface {
	Plugin
	Catalog(ctx context.Context) (Catalog, error)
	Provision(ctx context.Context, req ProvisionRequest) (OperationResponse, error)
	Update(ctx context.Context, req UpdateRequest) (OperationResponse, error)
	Deprovision(ctx context.Context, req DeprovisionRequest) (OperationResponse, error)
	LastOperation(ctx context.Context, req LastOperationRequest) (LastOperation, error)
	Bind(ctx context.Context, req BindRequest) (BindResponse, error)
	Unbind(ctx context.Context, req UnbindRequest) error
}
