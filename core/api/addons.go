package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/store"
)

// ---- add-ons ----

var addonFields = map[string]sortKey[core.Addon]{
	"id":   byString(func(a core.Addon) string { return a.ID }),
	"name": byString(func(a core.Addon) string { return a.Name }),
}

// addonVars returns the config var names the add-on set on its own app.
func (s *Server) addonVars(ctx context.Context, ad core.Addon) []string {
	ats, err := s.st.ListAttachments(ctx, store.AttachmentFilter{AddonID: ad.ID, AppID: ad.AppID})
	if err != nil {
		return nil
	}
	var out []string
	for _, at := range ats {
		out = append(out, at.ConfigVars...)
	}
	return out
}

func (s *Server) renderAddonFull(ctx context.Context, ad core.Addon) AddonJSON {
	a, err := s.st.GetApp(ctx, ad.AppID)
	if err != nil {
		a = core.App{ID: ad.AppID}
	}
	return renderAddon(a, ad, s.addonVars(ctx, ad))
}

// visibleApps returns the ids of the apps the caller may see.
func (s *Server) visibleApps(r *http.Request) (map[string]core.App, error) {
	u := user(r)
	uid := u.ID
	if u.Admin {
		uid = ""
	}
	apps, err := s.st.ListApps(r.Context(), uid)
	out := make(map[string]core.App, len(apps))
	for _, a := range apps {
		out[a.ID] = a
	}
	return out, err
}

func (s *Server) listAllAddons(w http.ResponseWriter, r *http.Request) {
	apps, err := s.visibleApps(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	all, err := s.st.ListAddons(r.Context(), "")
	if err != nil {
		s.fail(w, err)
		return
	}
	all = slices.DeleteFunc(all, func(ad core.Addon) bool { _, ok := apps[ad.AppID]; return !ok })
	paginate(w, r, all, "id", addonFields, func(ad core.Addon) any { return renderAddon(apps[ad.AppID], ad, s.addonVars(r.Context(), ad)) })
}

func (s *Server) listAppAddons(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	ads, err := s.st.ListAddons(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	// Heroku also lists add-ons attached to the app from other apps.
	ats, err := s.st.ListAttachments(r.Context(), store.AttachmentFilter{AppID: a.ID})
	if err != nil {
		s.fail(w, err)
		return
	}
	for _, at := range ats {
		if !slices.ContainsFunc(ads, func(ad core.Addon) bool { return ad.ID == at.AddonID }) {
			if ad, err := s.st.GetAddon(r.Context(), at.AddonID); err == nil {
				ads = append(ads, ad)
			}
		}
	}
	paginate(w, r, ads, "id", addonFields, func(ad core.Addon) any { return s.renderAddonFull(r.Context(), ad) })
}

var errAddonNotFound = fmt.Errorf("couldn't find that add-on: %w", core.ErrNotFound)

// addon resolves {addon} (and {app} when present) to an add-on the caller
// may see.
func (s *Server) addon(w http.ResponseWriter, r *http.Request) (core.Addon, core.App, bool) {
	var app core.App
	if r.PathValue("app") != "" {
		var ok bool
		if app, ok = s.app(w, r); !ok {
			return core.Addon{}, app, false
		}
	}
	ad, err := s.st.GetAddon(r.Context(), r.PathValue("addon"))
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			err = errAddonNotFound
		}
		s.fail(w, err)
		return ad, app, false
	}
	owner, err := s.st.GetApp(r.Context(), ad.AppID)
	if err != nil {
		s.fail(w, err)
		return ad, app, false
	}
	if app.ID != "" && app.ID != ad.AppID {
		s.fail(w, errAddonNotFound)
		return ad, app, false
	}
	if ok, err := s.visible(r.Context(), user(r), owner); err != nil || !ok {
		if err == nil {
			err = errAddonNotFound
		}
		s.fail(w, err)
		return ad, app, false
	}
	return ad, owner, true
}

func (s *Server) getAddon(w http.ResponseWriter, r *http.Request) {
	if ad, owner, ok := s.addon(w, r); ok {
		writeJSON(w, http.StatusOK, renderAddon(owner, ad, s.addonVars(r.Context(), ad)))
	}
}

// planNames returns the "service:plan" names of the add-ons attached to app.
func (s *Server) planNames(ctx context.Context, appID string) []string {
	ats, err := s.st.ListAttachments(ctx, store.AttachmentFilter{AppID: appID})
	if err != nil {
		return nil
	}
	out := []string{}
	for _, at := range ats {
		if ad, err := s.st.GetAddon(ctx, at.AddonID); err == nil {
			name := ad.Service + ":" + ad.Plan
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

var attachmentNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

func defaultAttachmentName(service string) string {
	n := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(service))
	n = strings.TrimPrefix(n, "HEROKU_")
	if n == "POSTGRESQL" {
		n = "DATABASE"
	}
	if n == "" || !attachmentNameRE.MatchString(n) {
		n = "ADDON"
	}
	return n
}

func (s *Server) createAddon(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Plan       nameRef                    `json:"plan"`
		Name       string                     `json:"name"`
		Config     map[string]json.RawMessage `json:"config"`
		Attachment *struct {
			Name string `json:"name"`
		} `json:"attachment"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	// The CLI sends --key=value flags as strings and bare --flags as true.
	config := make(map[string]string, len(req.Config))
	for k, v := range req.Config {
		var str string
		if json.Unmarshal(v, &str) != nil {
			str = string(v)
		}
		config[k] = str
	}
	if req.Plan == "" {
		s.fail(w, fmt.Errorf("plan is required (\"service:plan\"): %w", core.ErrInvalid))
		return
	}
	attName := ""
	if req.Attachment != nil && req.Attachment.Name != "" {
		attName = req.Attachment.Name
		if !attachmentNameRE.MatchString(attName) {
			s.fail(w, fmt.Errorf("attachment.name %q must be upper-case letters, digits and underscores, starting with a letter: %w", attName, core.ErrInvalid))
			return
		}
	}
	ctx := r.Context()
	prov, err := s.opts.Addons.Provision(ctx, a, AddonRequest{Plan: string(req.Plan), Name: req.Name, Config: config, AttachmentName: attName})
	if err != nil {
		s.fail(w, err)
		return
	}
	ad := prov.Addon
	ad.AppID = a.ID
	ad.ID = ""
	if req.Name != "" {
		ad.Name = req.Name
	}
	if ad.Name == "" {
		ad.Name = ad.Service + "-" + randomName()
	}
	if ad.State == "" {
		ad.State = "provisioned"
	}
	ad, err = s.st.CreateAddon(ctx, ad)
	if err != nil {
		if derr := s.opts.Addons.Deprovision(ctx, a, ad); derr != nil {
			s.log.Warn("deprovision after failed create", "addon", ad.Name, "err", derr)
		}
		if errors.Is(err, core.ErrConflict) {
			writeError(w, http.StatusUnprocessableEntity, "invalid_params", fmt.Sprintf("Name %s is already taken", ad.Name))
			return
		}
		s.fail(w, err)
		return
	}
	if attName == "" {
		attName = prov.AttachmentName
	}
	if attName == "" {
		attName = defaultAttachmentName(ad.Service)
	}
	vars := make([]string, 0, len(prov.Config))
	changes := make(map[string]*string, len(prov.Config))
	for k, v := range prov.Config {
		vars = append(vars, k)
		changes[k] = &v
	}
	slices.Sort(vars)
	if _, err := s.st.CreateAttachment(ctx, core.AddonAttachment{AddonID: ad.ID, AppID: a.ID, Name: attName, ConfigVars: vars}); err != nil {
		s.fail(w, err)
		return
	}
	u := user(r)
	desc := fmt.Sprintf("Attach %s (@ref:%s)", attName, ad.Name)
	rel, err := s.st.UpdateConfig(ctx, a.ID, changes, core.Release{Description: desc, UserID: u.ID, UserEmail: u.Email, Addons: s.planNames(ctx, a.ID)})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(ctx, a, "%s by user %s", desc, u.Email)
	s.apiLog(ctx, a, "Release v%d created by user %s", rel.Version, u.Email)
	s.converge(ctx, a.ID)
	out := renderAddon(a, ad, vars)
	if prov.Message != "" {
		out.ProvisionMessage = &prov.Message
	}
	writeJSON(w, http.StatusCreated, out)
}

// detach removes the attachment's config vars from its app in a new release.
func (s *Server) detach(ctx context.Context, u core.User, at core.AddonAttachment, ad core.Addon) error {
	app, err := s.st.GetApp(ctx, at.AppID)
	if err != nil {
		return err
	}
	changes := map[string]*string{}
	for _, v := range at.ConfigVars {
		changes[v] = nil
	}
	desc := fmt.Sprintf("Detach %s (@ref:%s)", at.Name, ad.Name)
	rel, err := s.st.UpdateConfig(ctx, app.ID, changes, core.Release{Description: desc, UserID: u.ID, UserEmail: u.Email, Addons: s.planNames(ctx, app.ID)})
	if err != nil {
		return err
	}
	s.apiLog(ctx, app, "%s by user %s", desc, u.Email)
	s.apiLog(ctx, app, "Release v%d created by user %s", rel.Version, u.Email)
	s.converge(ctx, app.ID)
	return nil
}

func (s *Server) deleteAddon(w http.ResponseWriter, r *http.Request) {
	ad, owner, ok := s.addon(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ats, err := s.st.ListAttachments(ctx, store.AttachmentFilter{AddonID: ad.ID})
	if err != nil {
		s.fail(w, err)
		return
	}
	vars := s.addonVars(ctx, ad)
	if err := s.opts.Addons.Deprovision(ctx, owner, ad); err != nil {
		s.fail(w, fmt.Errorf("deprovision %s: %w", ad.Name, err))
		return
	}
	if _, err := s.st.DeleteAddon(ctx, ad.ID); err != nil {
		s.fail(w, err)
		return
	}
	for _, at := range ats {
		if err := s.detach(ctx, user(r), at, ad); err != nil {
			s.log.Warn("detach after add-on delete", "addon", ad.Name, "app", at.AppID, "err", err)
		}
	}
	ad.State = "deprovisioned"
	writeJSON(w, http.StatusOK, renderAddon(owner, ad, vars))
}

// nameRef is a reference given either as a string or as an object with a
// name or id ({"plan": "x"} and {"plan": {"name": "x"}} are both Heroku's).
type nameRef string

// UnmarshalJSON implements json.Unmarshaler.
func (n *nameRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*n = nameRef(s)
		return nil
	}
	var o struct {
		Name string `json:"name"`
		ID   string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return &json.UnmarshalTypeError{Value: "non-object", Type: reflectString}
	}
	*n = nameRef(o.Name)
	if o.Name == "" {
		*n = nameRef(o.ID)
	}
	return nil
}

var reflectString = reflect.TypeFor[string]()

// ---- attachments ----

var attachmentFields = map[string]sortKey[core.AddonAttachment]{
	"id":   byString(func(a core.AddonAttachment) string { return a.ID }),
	"name": byString(func(a core.AddonAttachment) string { return a.Name }),
}

func (s *Server) renderAttachmentFull(ctx context.Context, at core.AddonAttachment) AttachmentJSON {
	app, _ := s.st.GetApp(ctx, at.AppID)
	ad, _ := s.st.GetAddon(ctx, at.AddonID)
	addonApp, _ := s.st.GetApp(ctx, ad.AppID)
	return renderAttachment(app, addonApp, ad, at)
}

func (s *Server) writeAttachments(w http.ResponseWriter, r *http.Request, ats []core.AddonAttachment) {
	paginate(w, r, ats, "id", attachmentFields, func(at core.AddonAttachment) any { return s.renderAttachmentFull(r.Context(), at) })
}

func (s *Server) listAllAttachments(w http.ResponseWriter, r *http.Request) {
	apps, err := s.visibleApps(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	ats, err := s.st.ListAttachments(r.Context(), store.AttachmentFilter{})
	if err != nil {
		s.fail(w, err)
		return
	}
	ats = slices.DeleteFunc(ats, func(at core.AddonAttachment) bool { _, ok := apps[at.AppID]; return !ok })
	s.writeAttachments(w, r, ats)
}

func (s *Server) listAppAttachments(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	ats, err := s.st.ListAttachments(r.Context(), store.AttachmentFilter{AppID: a.ID})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeAttachments(w, r, ats)
}

func (s *Server) listAddonAttachments(w http.ResponseWriter, r *http.Request) {
	ad, _, ok := s.addon(w, r)
	if !ok {
		return
	}
	ats, err := s.st.ListAttachments(r.Context(), store.AttachmentFilter{AddonID: ad.ID})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.writeAttachments(w, r, ats)
}

var errAttachmentNotFound = fmt.Errorf("couldn't find that add-on attachment: %w", core.ErrNotFound)

// attachment resolves an attachment id the caller may see.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, id string) (core.AddonAttachment, bool) {
	at, err := s.st.GetAttachment(r.Context(), id)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			err = errAttachmentNotFound
		}
		s.fail(w, err)
		return at, false
	}
	app, err := s.st.GetApp(r.Context(), at.AppID)
	if err == nil {
		var ok bool
		ok, err = s.visible(r.Context(), user(r), app)
		if err == nil && !ok {
			err = errAttachmentNotFound
		}
	}
	if err != nil {
		s.fail(w, err)
		return at, false
	}
	return at, true
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request) {
	if at, ok := s.attachment(w, r, r.PathValue("attachment")); ok {
		writeJSON(w, http.StatusOK, s.renderAttachmentFull(r.Context(), at))
	}
}

func (s *Server) getAppAttachment(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	ats, err := s.st.ListAttachments(r.Context(), store.AttachmentFilter{AppID: a.ID})
	if err != nil {
		s.fail(w, err)
		return
	}
	key := r.PathValue("attachment")
	i := slices.IndexFunc(ats, func(at core.AddonAttachment) bool { return at.ID == key || at.Name == key })
	if i < 0 {
		s.fail(w, errAttachmentNotFound)
		return
	}
	writeJSON(w, http.StatusOK, s.renderAttachmentFull(r.Context(), ats[i]))
}

func (s *Server) createAttachment(w http.ResponseWriter, r *http.Request) {
	// The Heroku CLI sends {"addon": {"name": …}, "app": {"name": …}};
	// plain strings are accepted too.
	var req struct {
		Addon nameRef `json:"addon"`
		App   nameRef `json:"app"`
		Name  string  `json:"name"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.Addon == "" || req.App == "" {
		s.fail(w, fmt.Errorf("addon and app are required: %w", core.ErrInvalid))
		return
	}
	if req.Name != "" && !attachmentNameRE.MatchString(req.Name) {
		s.fail(w, fmt.Errorf("name %q must be upper-case letters, digits and underscores, starting with a letter: %w", req.Name, core.ErrInvalid))
		return
	}
	r.SetPathValue("app", string(req.App))
	r.SetPathValue("addon", string(req.Addon))
	target, ok := s.app(w, r)
	if !ok {
		return
	}
	r.SetPathValue("app", "")
	ad, owner, ok := s.addon(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	existing, err := s.st.ListAttachments(ctx, store.AttachmentFilter{AppID: target.ID})
	if err != nil {
		s.fail(w, err)
		return
	}
	var names []string
	for _, at := range existing {
		names = append(names, at.Name)
	}
	if req.Name != "" && slices.Contains(names, req.Name) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_params", fmt.Sprintf("Name %s is already used by another add-on attachment on %s.", req.Name, target.Name))
		return
	}
	var name string
	var vars []string
	changes := map[string]*string{}
	attacher, own := s.opts.Addons.(AddonAttacher)
	if own {
		// Each attachment gets credentials of its own from the broker.
		got, err := attacher.Attach(ctx, target, ad, AttachRequest{Name: req.Name, Existing: names})
		if err != nil {
			if errors.Is(err, core.ErrConflict) {
				writeError(w, http.StatusUnprocessableEntity, "invalid_params", message(err))
				return
			}
			s.fail(w, err)
			return
		}
		name = got.Name
		for k, v := range got.Config {
			changes[k] = &v
			vars = append(vars, k)
		}
		slices.Sort(vars)
	} else {
		// The add-on's own attachment tells which vars it provides.
		ownAts, err := s.st.ListAttachments(ctx, store.AttachmentFilter{AddonID: ad.ID, AppID: owner.ID})
		if err != nil || len(ownAts) == 0 {
			s.fail(w, fmt.Errorf("add-on %s has no attachment on its own app: %w", ad.Name, core.ErrConflict))
			return
		}
		src := ownAts[0]
		name = req.Name
		if name == "" {
			name = src.Name
		}
		cur, err := s.st.CurrentRelease(ctx, owner.ID)
		if err != nil {
			s.fail(w, err)
			return
		}
		for _, v := range src.ConfigVars {
			nv := name + strings.TrimPrefix(v, src.Name)
			val := cur.Config[v]
			changes[nv] = &val
			vars = append(vars, nv)
		}
	}
	undo := func() {
		if own {
			if derr := attacher.Detach(ctx, ad, core.AddonAttachment{AddonID: ad.ID, AppID: target.ID, Name: name}); derr != nil {
				s.log.Warn("detach after failed attach", "addon", ad.Name, "app", target.Name, "err", derr)
			}
		}
	}
	at, err := s.st.CreateAttachment(ctx, core.AddonAttachment{AddonID: ad.ID, AppID: target.ID, Name: name, ConfigVars: vars})
	if err != nil {
		undo()
		if errors.Is(err, core.ErrConflict) {
			writeError(w, http.StatusUnprocessableEntity, "invalid_params", message(err))
			return
		}
		s.fail(w, err)
		return
	}
	u := user(r)
	desc := fmt.Sprintf("Attach %s (@ref:%s)", name, ad.Name)
	rel, err := s.st.UpdateConfig(ctx, target.ID, changes, core.Release{Description: desc, UserID: u.ID, UserEmail: u.Email, Addons: s.planNames(ctx, target.ID)})
	if err != nil {
		if _, derr := s.st.DeleteAttachment(ctx, at.ID); derr == nil {
			undo()
		}
		s.fail(w, err)
		return
	}
	s.apiLog(ctx, target, "%s by user %s", desc, u.Email)
	s.apiLog(ctx, target, "Release v%d created by user %s", rel.Version, u.Email)
	s.converge(ctx, target.ID)
	writeJSON(w, http.StatusCreated, renderAttachment(target, owner, ad, at))
}

func (s *Server) deleteAttachment(w http.ResponseWriter, r *http.Request) {
	at, ok := s.attachment(w, r, r.PathValue("attachment"))
	if !ok {
		return
	}
	ctx := r.Context()
	ad, err := s.st.GetAddon(ctx, at.AddonID)
	if err != nil {
		s.fail(w, err)
		return
	}
	if at.AppID == ad.AppID {
		s.fail(w, fmt.Errorf("the attachment of %s to its own app goes with the add-on; destroy the add-on instead: %w", ad.Name, core.ErrInvalid))
		return
	}
	out := s.renderAttachmentFull(ctx, at)
	// Revoke the credentials first: if the broker fails, the attachment
	// and its config vars stay, and the user can retry.
	if attacher, ok := s.opts.Addons.(AddonAttacher); ok {
		if err := attacher.Detach(ctx, ad, at); err != nil {
			s.fail(w, fmt.Errorf("detach %s from %s: %w", at.Name, ad.Name, err))
			return
		}
	}
	if _, err := s.st.DeleteAttachment(ctx, at.ID); err != nil {
		s.fail(w, err)
		return
	}
	if err := s.detach(ctx, user(r), at, ad); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// resolveNotFound answers 404 with the "resource" the Heroku CLI checks
// before it falls back to a global lookup.
func resolveNotFound(w http.ResponseWriter, resource, msg string) {
	writeJSON(w, http.StatusNotFound, struct {
		ErrorJSON
		Resource string `json:"resource"`
	}{ErrorJSON{ID: "not_found", Message: msg}, resource})
}

// resolveAddons is POST /actions/addons/resolve: the add-ons an
// identifier names, as the Heroku CLI resolves "addons:info X -a APP":
// with app, an add-on of the app or attached to it whose id, name or
// attachment name (DATABASE) is X; without, the add-on whose id or name is
// X, or "APP::ATTACHMENT". addon_service filters by service.
func (s *Server) resolveAddons(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Addon        string  `json:"addon"`
		App          nameRef `json:"app"`
		AddonService nameRef `json:"addon_service"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.Addon == "" {
		s.fail(w, fmt.Errorf("addon is required: %w", core.ErrInvalid))
		return
	}
	ctx := r.Context()
	id, app := req.Addon, string(req.App)
	if a, n, ok := strings.Cut(id, "::"); ok {
		app, id = a, n
	}
	var found []core.Addon
	seen := map[string]bool{}
	add := func(ad core.Addon) {
		if !seen[ad.ID] && (req.AddonService == "" || ad.Service == string(req.AddonService)) {
			seen[ad.ID] = true
			found = append(found, ad)
		}
	}
	if app != "" {
		r.SetPathValue("app", app)
		a, ok := s.app(w, r)
		if !ok {
			return
		}
		ats, err := s.st.ListAttachments(ctx, store.AttachmentFilter{AppID: a.ID})
		if err != nil {
			s.fail(w, err)
			return
		}
		for _, at := range ats {
			ad, err := s.st.GetAddon(ctx, at.AddonID)
			if err == nil && (at.Name == id || ad.ID == id || ad.Name == id) {
				add(ad)
			}
		}
		if ads, err := s.st.ListAddons(ctx, a.ID); err == nil {
			for _, ad := range ads {
				if ad.ID == id || ad.Name == id {
					add(ad)
				}
			}
		}
	} else if ad, err := s.st.GetAddon(ctx, id); err == nil {
		if owner, err := s.st.GetApp(ctx, ad.AppID); err == nil {
			if ok, err := s.visible(ctx, user(r), owner); err == nil && ok {
				add(ad)
			}
		}
	}
	if len(found) == 0 {
		resolveNotFound(w, "add_on", "Couldn't find that add-on.")
		return
	}
	out := make([]AddonJSON, 0, len(found))
	for _, ad := range found {
		out = append(out, s.renderAddonFull(ctx, ad))
	}
	writeJSON(w, http.StatusOK, out)
}

// resolveAttachments is POST /actions/addon-attachments/resolve: the
// attachments an identifier names: with app, the app's attachment whose
// id or name (DATABASE) it is; without, the attachment with that id, or
// "APP::NAME". addon_service filters by the add-on's service.
func (s *Server) resolveAttachments(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AddonAttachment string  `json:"addon_attachment"`
		App             nameRef `json:"app"`
		AddonService    nameRef `json:"addon_service"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.AddonAttachment == "" {
		s.fail(w, fmt.Errorf("addon_attachment is required: %w", core.ErrInvalid))
		return
	}
	ctx := r.Context()
	id, app := req.AddonAttachment, string(req.App)
	if a, n, ok := strings.Cut(id, "::"); ok {
		app, id = a, n
	}
	var found []core.AddonAttachment
	if app != "" {
		r.SetPathValue("app", app)
		a, ok := s.app(w, r)
		if !ok {
			return
		}
		ats, err := s.st.ListAttachments(ctx, store.AttachmentFilter{AppID: a.ID})
		if err != nil {
			s.fail(w, err)
			return
		}
		for _, at := range ats {
			if at.ID == id || at.Name == id {
				found = append(found, at)
			}
		}
	} else if at, err := s.st.GetAttachment(ctx, id); err == nil {
		if a, err := s.st.GetApp(ctx, at.AppID); err == nil {
			if ok, err := s.visible(ctx, user(r), a); err == nil && ok {
				found = append(found, at)
			}
		}
	}
	if req.AddonService != "" {
		found = slices.DeleteFunc(found, func(at core.AddonAttachment) bool {
			ad, err := s.st.GetAddon(ctx, at.AddonID)
			return err != nil || ad.Service != string(req.AddonService)
		})
	}
	if len(found) == 0 {
		resolveNotFound(w, "add_on attachment", "Couldn't find that add-on attachment.")
		return
	}
	out := make([]AttachmentJSON, 0, len(found))
	for _, at := range found {
		out = append(out, s.renderAttachmentFull(ctx, at))
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- log drains and sessions ----

var drainFields = map[string]sortKey[core.Drain]{
	"id":  byString(func(d core.Drain) string { return d.ID }),
	"url": byString(func(d core.Drain) string { return d.URL }),
}

// ValidateDrainURL checks a log drain URL: syslog://, syslog+tls://, http://
// or https://, with a host.
func ValidateDrainURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q is not a URL: %w", raw, core.ErrInvalid)
	}
	switch u.Scheme {
	case "syslog", "syslog+tls", "syslog+tcp", "http", "https":
	default:
		return fmt.Errorf("url %q must use syslog://, syslog+tls://, http:// or https://: %w", raw, core.ErrInvalid)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("url %q has no host: %w", raw, core.ErrInvalid)
	}
	if strings.HasPrefix(u.Scheme, "syslog") && u.Port() == "" {
		return fmt.Errorf("url %q needs a port: %w", raw, core.ErrInvalid)
	}
	return nil
}

func (s *Server) listDrains(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	ds, err := s.st.ListDrains(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	paginate(w, r, ds, "id", drainFields, func(d core.Drain) any { return renderDrain(a, d) })
}

func (s *Server) createDrain(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		URL string `json:"url"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if err := ValidateDrainURL(req.URL); err != nil {
		s.fail(w, err)
		return
	}
	d, err := s.st.CreateDrain(r.Context(), core.Drain{AppID: a.ID, URL: req.URL})
	if errors.Is(err, core.ErrConflict) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_params", "Url has already been taken")
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.syncDrains(r.Context(), a.ID)
	writeJSON(w, http.StatusCreated, renderDrain(a, d))
}

func (s *Server) getDrain(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	d, err := s.st.GetDrain(r.Context(), a.ID, r.PathValue("drain"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderDrain(a, d))
}

func (s *Server) deleteDrain(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	d, err := s.st.DeleteDrain(r.Context(), a.ID, r.PathValue("drain"))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.syncDrains(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, renderDrain(a, d))
}

func (s *Server) createLogSession(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req LogSessionRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Lines < 0 || req.Lines > 1500 {
		s.fail(w, fmt.Errorf("lines must be between 0 and 1500, not %d: %w", req.Lines, core.ErrInvalid))
		return
	}
	if req.Source != "" && req.Source != "app" && req.Source != "heroku" {
		s.fail(w, fmt.Errorf("source must be \"app\" or \"heroku\", not %q: %w", req.Source, core.ErrInvalid))
		return
	}
	u, err := s.opts.LogSessions.NewLogSession(r.Context(), a, req)
	if err != nil {
		s.fail(w, err)
		return
	}
	now := Time(time.Now())
	writeJSON(w, http.StatusCreated, LogSessionJSON{CreatedAt: now, ID: uuid.NewString(), LogplexURL: u, UpdatedAt: now})
}

// ---- domains ----

var domainFields = map[string]sortKey[core.Domain]{
	"id":       byString(func(d core.Domain) string { return d.ID }),
	"hostname": byString(func(d core.Domain) string { return d.Hostname }),
}

var hostnameRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateHostname checks a custom domain: lower-case DNS labels, an
// optional leading "*." wildcard, at most 253 bytes.
func ValidateHostname(h string) error {
	if len(h) > 253 || !hostnameRE.MatchString(h) {
		return fmt.Errorf("hostname %q is not a valid domain name: %w", h, core.ErrInvalid)
	}
	return nil
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	ds, err := s.st.ListDomains(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	eps, _ := s.st.ListSNIEndpoints(r.Context(), a.ID)
	paginate(w, r, ds, "id", domainFields, func(d core.Domain) any { return s.domainJSON(a, d, eps) })
}

func (s *Server) createDomain(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Hostname    string  `json:"hostname"`
		SNIEndpoint *string `json:"sni_endpoint"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	req.Hostname = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(req.Hostname), "."))
	if err := ValidateHostname(req.Hostname); err != nil {
		s.fail(w, err)
		return
	}
	endpoint := ""
	if req.SNIEndpoint != nil && *req.SNIEndpoint != "" {
		e, err := s.st.GetSNIEndpoint(r.Context(), a.ID, *req.SNIEndpoint)
		if errors.Is(err, core.ErrNotFound) {
			err = fmt.Errorf("sni_endpoint %q is not an SNI endpoint of this app: %w", *req.SNIEndpoint, core.ErrInvalid)
		}
		if err != nil {
			s.fail(w, err)
			return
		}
		endpoint = e.ID
	}
	d, err := s.st.CreateDomain(r.Context(), core.Domain{AppID: a.ID, Hostname: req.Hostname, Kind: "custom", SNIEndpointID: endpoint})
	if errors.Is(err, core.ErrConflict) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_params", fmt.Sprintf("Domain %s is already in use by another app or this one.", req.Hostname))
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Add %s domain by user %s", d.Hostname, user(r).Email)
	s.syncRoutes(r.Context(), a.ID)
	eps, _ := s.st.ListSNIEndpoints(r.Context(), a.ID)
	writeJSON(w, http.StatusCreated, s.domainJSON(a, d, eps))
}

func (s *Server) getDomain(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	d, err := s.st.GetDomain(r.Context(), a.ID, r.PathValue("domain"))
	if err != nil {
		s.fail(w, err)
		return
	}
	eps, _ := s.st.ListSNIEndpoints(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, s.domainJSON(a, d, eps))
}

// updateDomain answers PATCH /apps/{app}/domains/{domain}: it sets or
// clears ("sni_endpoint": null) the SNI endpoint serving the hostname.
func (s *Server) updateDomain(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		SNIEndpoint *string `json:"sni_endpoint"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	endpoint := ""
	if req.SNIEndpoint != nil && *req.SNIEndpoint != "" {
		e, err := s.st.GetSNIEndpoint(r.Context(), a.ID, *req.SNIEndpoint)
		if errors.Is(err, core.ErrNotFound) {
			err = fmt.Errorf("sni_endpoint %q is not an SNI endpoint of this app: %w", *req.SNIEndpoint, core.ErrInvalid)
		}
		if err != nil {
			s.fail(w, err)
			return
		}
		endpoint = e.ID
	}
	d, err := s.st.UpdateDomain(r.Context(), a.ID, r.PathValue("domain"), func(d *core.Domain) error {
		d.SNIEndpointID = endpoint
		return nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Update %s domain by user %s", d.Hostname, user(r).Email)
	s.syncRoutes(r.Context(), a.ID)
	eps, _ := s.st.ListSNIEndpoints(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, s.domainJSON(a, d, eps))
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	d, err := s.st.GetDomain(r.Context(), a.ID, r.PathValue("domain"))
	if err != nil {
		s.fail(w, err)
		return
	}
	if d.Kind == "heroku" {
		s.fail(w, fmt.Errorf("%s is the app's default domain and cannot be removed: %w", d.Hostname, core.ErrInvalid))
		return
	}
	if _, err := s.st.DeleteDomain(r.Context(), a.ID, d.ID); err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Remove %s domain by user %s", d.Hostname, user(r).Email)
	s.syncRoutes(r.Context(), a.ID)
	writeJSON(w, http.StatusOK, s.domainJSON(a, d, nil))
}

// ---- collaborators ----

var collaboratorFields = map[string]sortKey[CollaboratorJSON]{
	"id":    byString(func(c CollaboratorJSON) string { return c.ID }),
	"email": byString(func(c CollaboratorJSON) string { return c.User.Email }),
}

func (s *Server) listCollaborators(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	cs, err := s.st.ListCollaborators(r.Context(), a.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	var out []CollaboratorJSON
	if owner, err := s.st.GetUser(r.Context(), a.OwnerID); err == nil {
		out = append(out, renderCollaborator(a, core.Collaborator{ID: owner.ID, AppID: a.ID, UserID: owner.ID, CreatedAt: a.CreatedAt}, owner, "owner"))
	}
	for _, c := range cs {
		u, err := s.st.GetUser(r.Context(), c.UserID)
		if err != nil {
			u = core.User{ID: c.UserID}
		}
		out = append(out, renderCollaborator(a, c, u, "collaborator"))
	}
	paginate(w, r, out, "id", collaboratorFields, func(c CollaboratorJSON) any { return c })
}

var errUserNotFound = fmt.Errorf("couldn't find that user: %w", core.ErrNotFound)

func (s *Server) createCollaborator(w http.ResponseWriter, r *http.Request) {
	a, ok := s.ownedApp(w, r, "add collaborators")
	if !ok {
		return
	}
	var req struct {
		User   string `json:"user"`
		Silent bool   `json:"silent"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if req.User == "" {
		s.fail(w, fmt.Errorf("user is required (email or id): %w", core.ErrInvalid))
		return
	}
	u, err := s.st.GetUser(r.Context(), req.User)
	if errors.Is(err, core.ErrNotFound) {
		err = errUserNotFound
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.st.AddCollaborator(r.Context(), core.Collaborator{AppID: a.ID, UserID: u.ID})
	if errors.Is(err, core.ErrAlreadyExists) || errors.Is(err, core.ErrConflict) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_params", fmt.Sprintf("%s is already a collaborator on app %s.", u.Email, a.Name))
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Add %s as collaborator by user %s", u.Email, user(r).Email)
	writeJSON(w, http.StatusCreated, renderCollaborator(a, c, u, "collaborator"))
}

// collaborator resolves {collaborator} (email, user id or collaborator id).
func (s *Server) collaborator(w http.ResponseWriter, r *http.Request, a core.App) (core.Collaborator, core.User, bool) {
	key := r.PathValue("collaborator")
	if u, err := s.st.GetUser(r.Context(), key); err == nil {
		key = u.ID
	}
	c, err := s.st.GetCollaborator(r.Context(), a.ID, key)
	if errors.Is(err, core.ErrNotFound) {
		err = fmt.Errorf("couldn't find that collaborator: %w", core.ErrNotFound)
	}
	if err != nil {
		s.fail(w, err)
		return c, core.User{}, false
	}
	u, err := s.st.GetUser(r.Context(), c.UserID)
	if err != nil {
		u = core.User{ID: c.UserID}
	}
	return c, u, true
}

func (s *Server) getCollaborator(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	if c, u, ok := s.collaborator(w, r, a); ok {
		writeJSON(w, http.StatusOK, renderCollaborator(a, c, u, "collaborator"))
	}
}

func (s *Server) deleteCollaborator(w http.ResponseWriter, r *http.Request) {
	a, ok := s.app(w, r)
	if !ok {
		return
	}
	c, u, ok := s.collaborator(w, r, a)
	if !ok {
		return
	}
	me := user(r)
	if !me.Admin && me.ID != a.OwnerID && me.ID != c.UserID {
		s.fail(w, fmt.Errorf("only the owner of %s can remove other collaborators: %w", a.Name, core.ErrPermissionDenied))
		return
	}
	if _, err := s.st.RemoveCollaborator(r.Context(), a.ID, c.UserID); err != nil {
		s.fail(w, err)
		return
	}
	s.apiLog(r.Context(), a, "Remove %s as collaborator by user %s", u.Email, me.Email)
	writeJSON(w, http.StatusOK, renderCollaborator(a, c, u, "collaborator"))
}
