// Package apiaddons serves the Platform API's add-on hook
// (api.AddonService) with an addons.Service: the one piece of wiring
// between core/api and core/addons.
//
// # Notes
//
// The broker instance id of an add-on is its name, and the binding id of
// its first attachment is addons.BindingID(name, app id, attachment name);
// both are derived from what the API stores, so nothing broker-specific is
// stored. The API's request carries no attachment name (--as): when the API
// then names the attachment itself, its config var names are still the
// ones computed here from the default attachment name.
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

var _ api.AddonService = (*Service)(nil)

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
		Parameters: Parameters(req.Config), Existing: existing,
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
