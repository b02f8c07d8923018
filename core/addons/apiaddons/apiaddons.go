// Package apiaddons serves the Platform API's add-on hook
// (api.AddonService) with an addons.Service: the one piece of wiring
// between core/api and core/addons.
//
// # Notes
//
// The broker instance id of an add-on is its name, and the binding id of
// its first attachment is addons.BindingID(name, app id, attachment name);
// both are derived from what the API stores, so nothing broker-specific is
// stored. Every attachment, including one to another app (addons:attach),
// is a binding of its own with its own credentials; detaching it unbinds
// it.
package apiaddons

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/addons"
	"github.com/paasd/paasd/core/api"
	"github.com/paasd/paasd/core/store"
)

// Attachments is the part of the store the adapter reads: the app's
// attachment names (to pick free names and colours) and an add-on's
// attachments (to detach them before deprovisioning).
type Attachments interface {
	ListAttachments(ctx context.Context, f store.AttachmentFilter) ([]core.AddonAttachment, error)
}

// Service adapts an addons.Service to api.AddonService.
type Service struct {
	// Addons provisions through the brokers. Required.
	Addons *addons.Service
	// Store lists attachments; nil means the app has none (every first
	// add-on of a service gets the default name).
	Store Attachments
}

var (
	_ api.AddonService  = (*Service)(nil)
	_ api.AddonAttacher = (*Service)(nil)
)

// Provision provisions and binds an add-on for app. The config vars in
// the answer are keyed by their full names (DATABASE_URL). Errors are
// addons.Service.Provision's: core.ErrNotFound for an unknown service or
// plan, core.ErrInvalid for bad parameters, and so on; nothing is left
// provisioned after an error.
func (s *Service) Provision(ctx context.Context, app core.App, req api.AddonRequest) (api.Provisioned, error) {
	var existing []string
	if s.Store != nil {
		ats, err := s.Store.ListAttachments(ctx, store.AttachmentFilter{AppID: app.ID})
		if err != nil {
			return api.Provisioned{}, fmt.Errorf("list attachments of %s: %w", app.Name, err)
		}
		for _, at := range ats {
			existing = append(existing, at.Name)
		}
	}
	r, err := s.Addons.Provision(ctx, addons.ProvisionRequest{
		AppID: app.ID, AppName: app.Name, Plan: req.Plan, Name: req.Name,
		Parameters: Parameters(req.Config), Existing: existing, AttachmentName: req.AttachmentName,
	})
	if err != nil {
		return api.Provisioned{}, err
	}
	return api.Provisioned{
		Addon: core.Addon{
			Name: r.Addon.Name, Broker: r.Addon.BrokerRef, ServiceID: r.Addon.ServiceID, PlanID: r.Addon.PlanID,
			Service: r.Addon.Service, Plan: r.Addon.Plan, State: "provisioned",
		},
		AttachmentName: r.Attachment.Name,
		Config:         r.Attachment.ConfigVars,
		Message:        r.Message,
	}, nil
}

// addon turns a stored add-on into the service's view of it, with its
// service's config var prefix when a loaded broker offers the service.
func (s *Service) addon(ad core.Addon) addons.Addon {
	a := addons.Addon{Name: ad.Name, BrokerRef: ad.Broker, ServiceID: ad.ServiceID, PlanID: ad.PlanID, Service: ad.Service, Plan: ad.Plan}
	if o, err := s.Addons.Resolve(ad.Service + ":" + ad.PlanID); err == nil {
		a.ConfigVarPrefix = o.Service.ConfigVarPrefix
	}
	if a.ConfigVarPrefix == "" {
		a.ConfigVarPrefix = addons.DefaultPrefix(ad.Service)
	}
	return a
}

// Attach binds the add-on to app under req.Name (or the default name)
// with credentials of its own. Errors are addons.Service.Attach's; a
// failed attach leaves no binding.
func (s *Service) Attach(ctx context.Context, app core.App, ad core.Addon, req api.AttachRequest) (api.Attached, error) {
	r, err := s.Addons.Attach(ctx, addons.AttachRequest{Addon: s.addon(ad), AppID: app.ID, AppName: app.Name, Name: req.Name, Existing: req.Existing})
	if err != nil {
		return api.Attached{}, err
	}
	return api.Attached{Name: r.Attachment.Name, Config: r.Attachment.ConfigVars}, nil
}

// Detach unbinds one attachment; a binding the broker no longer knows
// counts as unbound.
func (s *Service) Detach(ctx context.Context, ad core.Addon, at core.AddonAttachment) error {
	_, err := s.Addons.Detach(ctx, s.addon(ad), addons.Attachment{Addon: ad.Name, AppID: at.AppID, Name: at.Name})
	return err
}

// Deprovision detaches the add-on's attachments at the broker and
// deprovisions it. An add-on the broker no longer knows counts as
// deprovisioned.
func (s *Service) Deprovision(ctx context.Context, app core.App, ad core.Addon) error {
	a := addons.Addon{Name: ad.Name, BrokerRef: ad.Broker, ServiceID: ad.ServiceID, PlanID: ad.PlanID, Service: ad.Service, Plan: ad.Plan}
	var atts []addons.Attachment
	if s.Store != nil && ad.ID != "" {
		ats, err := s.Store.ListAttachments(ctx, store.AttachmentFilter{AddonID: ad.ID})
		if err != nil {
			return fmt.Errorf("list attachments of %s: %w", ad.Name, err)
		}
		for _, at := range ats {
			atts = append(atts, addons.Attachment{Addon: ad.Name, AppID: at.AppID, Name: at.Name})
		}
	}
	_, err := s.Addons.Deprovision(ctx, a, atts)
	return err
}

// Parameters turns the CLI's --key=value flags into provisioning
// parameters: a value that reads as a JSON number, boolean or null is
// passed as that, anything else as a string ("--connection_limit=5" gives
// {"connection_limit": 5}).
func Parameters(config map[string]string) map[string]any {
	if len(config) == 0 {
		return nil
	}
	out := make(map[string]any, len(config))
	for k, v := range config {
		var x any
		t := strings.TrimSpace(v)
		if err := json.Unmarshal([]byte(t), &x); err == nil {
			switch x.(type) {
			case float64, bool, nil:
				out[k] = json.RawMessage(t)
				continue
			}
		}
		out[k] = v
	}
	return out
}
