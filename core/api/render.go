package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/paasd/paasd/core"
)

// The JSON shapes below follow the Heroku Platform API v3 schema. Fields
// Heroku has and paasd does not model are present with their empty value
// (null, false, []) so that clients written against Heroku find them.

// Time is a timestamp in Heroku's format (RFC 3339, UTC, whole seconds);
// the zero Time is null.
type Time time.Time

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(time.Time(t).UTC().Format(time.RFC3339))
}

// UnmarshalJSON implements json.Unmarshaler (null is the zero Time).
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var v time.Time
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Time(v)
	return nil
}

// Ref is a {id, name} reference to another resource.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// UserRef is a {id, email} reference to a user.
type UserRef struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// AccountJSON is the account resource.
type AccountJSON struct {
	AllowTracking           bool    `json:"allow_tracking"`
	Beta                    bool    `json:"beta"`
	CreatedAt               Time    `json:"created_at"`
	Email                   string  `json:"email"`
	Federated               bool    `json:"federated"`
	ID                      string  `json:"id"`
	IdentityProvider        any     `json:"identity_provider"`
	LastLogin               *Time   `json:"last_login"`
	Name                    *string `json:"name"`
	SMSNumber               *string `json:"sms_number"`
	SuspendedAt             *Time   `json:"suspended_at"`
	DelinquentAt            *Time   `json:"delinquent_at"`
	TwoFactorAuthentication bool    `json:"two_factor_authentication"`
	UpdatedAt               Time    `json:"updated_at"`
	Verified                bool    `json:"verified"`
	DefaultOrganization     any     `json:"default_organization"`
	DefaultTeam             any     `json:"default_team"`
	// Admin is a paasd extension: the account may see and change every app.
	Admin bool `json:"admin"`
}

func renderAccount(u core.User) AccountJSON {
	return AccountJSON{CreatedAt: Time(u.CreatedAt), Email: u.Email, ID: u.ID, UpdatedAt: Time(u.CreatedAt), Verified: true, Admin: u.Admin}
}

// AppJSON is the app resource.
type AppJSON struct {
	ACM                          bool    `json:"acm"`
	ArchivedAt                   *Time   `json:"archived_at"`
	BuildpackProvidedDescription *string `json:"buildpack_provided_description"`
	BuildStack                   Ref     `json:"build_stack"`
	CreatedAt                    Time    `json:"created_at"`
	GitURL                       string  `json:"git_url"`
	ID                           string  `json:"id"`
	InternalRouting              bool    `json:"internal_routing"`
	Maintenance                  bool    `json:"maintenance"`
	Name                         string  `json:"name"`
	Owner                        UserRef `json:"owner"`
	Organization                 any     `json:"organization"`
	Team                         any     `json:"team"`
	Region                       Ref     `json:"region"`
	ReleasedAt                   Time    `json:"released_at"`
	RepoSize                     *int64  `json:"repo_size"`
	SlugSize                     *int64  `json:"slug_size"`
	Space                        any     `json:"space"`
	Stack                        Ref     `json:"stack"`
	UpdatedAt                    Time    `json:"updated_at"`
	WebURL                       string  `json:"web_url"`
}

// RefJSON is a generic {id, name} app reference used inside other resources.
type appRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func refOf(a core.App) appRef { return appRef{ID: a.ID, Name: a.Name} }

// ReleaseJSON is the release resource.
type ReleaseJSON struct {
	AddonPlanNames      []string `json:"addon_plan_names"`
	Artifacts           []any    `json:"artifacts"`
	App                 appRef   `json:"app"`
	CreatedAt           Time     `json:"created_at"`
	Description         string   `json:"description"`
	ID                  string   `json:"id"`
	UpdatedAt           Time     `json:"updated_at"`
	Slug                *Ref     `json:"slug"`
	Status              string   `json:"status"`
	User                UserRef  `json:"user"`
	Version             int      `json:"version"`
	Current             bool     `json:"current"`
	OutputStreamURL     *string  `json:"output_stream_url"`
	EligibleForRollback bool     `json:"eligible_for_rollback"`
}

func renderRelease(a core.App, r core.Release) ReleaseJSON {
	out := ReleaseJSON{
		AddonPlanNames: nonNil(r.Addons), Artifacts: []any{}, App: refOf(a),
		CreatedAt: Time(r.CreatedAt), Description: r.Description, ID: r.ID,
		UpdatedAt: Time(r.UpdatedAt), Status: r.Status,
		User: UserRef{ID: r.UserID, Email: r.UserEmail}, Version: r.Version, Current: r.Current,
		EligibleForRollback: r.Status == core.ReleaseSucceeded,
	}
	if r.SlugID != "" {
		out.Slug = &Ref{ID: r.SlugID}
	}
	return out
}

// FormationJSON is the formation resource.
type FormationJSON struct {
	App       appRef `json:"app"`
	Command   string `json:"command"`
	CreatedAt Time   `json:"created_at"`
	ID        string `json:"id"`
	Quantity  int    `json:"quantity"`
	Size      string `json:"size"`
	Type      string `json:"type"`
	UpdatedAt Time   `json:"updated_at"`
	DynoSize  Ref    `json:"dyno_size"`
}

func renderFormation(a core.App, f core.Formation) FormationJSON {
	return FormationJSON{App: refOf(a), Command: f.Command, CreatedAt: Time(f.UpdatedAt), ID: f.ID,
		Quantity: f.Quantity, Size: f.Size, Type: f.Type, UpdatedAt: Time(f.UpdatedAt),
		DynoSize: Ref{ID: f.Size, Name: f.Size}}
}

// DynoJSON is the dyno resource.
type DynoJSON struct {
	AttachURL *string `json:"attach_url"`
	Command   string  `json:"command"`
	CreatedAt Time    `json:"created_at"`
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Release   struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	} `json:"release"`
	App       appRef `json:"app"`
	Size      string `json:"size"`
	State     string `json:"state"`
	Type      string `json:"type"`
	UpdatedAt Time   `json:"updated_at"`
}

func renderDyno(a core.App, d core.Dyno) DynoJSON {
	out := DynoJSON{Command: d.Command, CreatedAt: Time(d.CreatedAt), ID: d.ID, Name: d.Name,
		App: refOf(a), Size: d.Size, State: string(d.State), Type: d.Type, UpdatedAt: Time(d.UpdatedAt)}
	out.Release.ID, out.Release.Version = d.ReleaseID, d.Release
	return out
}

// BuildJSON is the build resource.
type BuildJSON struct {
	App        Ref `json:"app"`
	Buildpacks []struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	} `json:"buildpacks"`
	CreatedAt       Time    `json:"created_at"`
	ID              string  `json:"id"`
	OutputStreamURL *string `json:"output_stream_url"`
	SourceBlob      struct {
		Checksum *string `json:"checksum"`
		URL      string  `json:"url"`
		Version  *string `json:"version"`
	} `json:"source_blob"`
	Release   *Ref    `json:"release"`
	Slug      *Ref    `json:"slug"`
	Stack     string  `json:"stack"`
	Status    string  `json:"status"`
	UpdatedAt Time    `json:"updated_at"`
	User      UserRef `json:"user"`
}

func renderBuild(a core.App, b core.Build, u core.User) BuildJSON {
	out := BuildJSON{App: Ref{ID: a.ID}, CreatedAt: Time(b.CreatedAt), ID: b.ID,
		Stack: a.Stack, Status: b.Status, UpdatedAt: Time(b.UpdatedAt), User: UserRef{ID: u.ID, Email: u.Email}}
	out.Buildpacks = make([]struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	}, len(b.Buildpacks))
	for i, bp := range b.Buildpacks {
		out.Buildpacks[i].URL, out.Buildpacks[i].Name = bp, bp
	}
	out.SourceBlob.URL = b.SourceURL
	if b.SlugID != "" {
		out.Slug = &Ref{ID: b.SlugID}
	}
	if b.ReleaseID != "" {
		out.Release = &Ref{ID: b.ReleaseID}
	}
	return out
}

// SlugJSON is the slug resource.
type SlugJSON struct {
	Blob struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"blob"`
	BuildpackProvidedDescription *string           `json:"buildpack_provided_description"`
	Checksum                     *string           `json:"checksum"`
	Commit                       *string           `json:"commit"`
	CommitDescription            *string           `json:"commit_description"`
	CreatedAt                    Time              `json:"created_at"`
	ID                           string            `json:"id"`
	ProcessTypes                 map[string]string `json:"process_types"`
	Size                         *int64            `json:"size"`
	Stack                        Ref               `json:"stack"`
	UpdatedAt                    Time              `json:"updated_at"`
}

func renderSlug(s core.Slug, method, url string) SlugJSON {
	out := SlugJSON{BuildpackProvidedDescription: strPtr(s.BuildpackProvidedDescription),
		Checksum: strPtr(s.Checksum), Commit: strPtr(s.Commit), CreatedAt: Time(s.CreatedAt), ID: s.ID,
		ProcessTypes: s.ProcessTypes, Stack: Ref{ID: s.Stack, Name: s.Stack}, UpdatedAt: Time(s.CreatedAt)}
	if out.ProcessTypes == nil {
		out.ProcessTypes = map[string]string{}
	}
	if s.Size > 0 {
		out.Size = &s.Size
	}
	out.Blob.Method, out.Blob.URL = method, url
	return out
}

// AddonJSON is the add-on resource.
type AddonJSON struct {
	Actions       []any `json:"actions"`
	AddonService  Ref   `json:"addon_service"`
	BillingEntity struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"billing_entity"`
	App         appRef `json:"app"`
	BilledPrice struct {
		Cents    int    `json:"cents"`
		Contract bool   `json:"contract"`
		Unit     string `json:"unit"`
	} `json:"billed_price"`
	ConfigVars       []string `json:"config_vars"`
	CreatedAt        Time     `json:"created_at"`
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Plan             Ref      `json:"plan"`
	ProviderID       string   `json:"provider_id"`
	ProvisionMessage *string  `json:"provision_message,omitempty"`
	State            string   `json:"state"`
	UpdatedAt        Time     `json:"updated_at"`
	WebURL           *string  `json:"web_url"`
}

func renderAddon(a core.App, ad core.Addon, configVars []string) AddonJSON {
	out := AddonJSON{Actions: []any{}, AddonService: Ref{ID: ad.ServiceID, Name: ad.Service}, App: refOf(a),
		ConfigVars: nonNil(configVars), CreatedAt: Time(ad.CreatedAt), ID: ad.ID, Name: ad.Name,
		Plan: Ref{ID: ad.PlanID, Name: ad.Service + ":" + ad.Plan}, ProviderID: ad.ID, State: ad.State, UpdatedAt: Time(ad.UpdatedAt)}
	out.BillingEntity.ID, out.BillingEntity.Name, out.BillingEntity.Type = a.ID, a.Name, "app"
	out.BilledPrice.Unit = "month"
	return out
}

// AttachmentJSON is the add-on attachment resource.
type AttachmentJSON struct {
	Addon struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		App  appRef `json:"app"`
		Plan Ref    `json:"plan"`
	} `json:"addon"`
	App         appRef   `json:"app"`
	CreatedAt   Time     `json:"created_at"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Namespace   *string  `json:"namespace"`
	UpdatedAt   Time     `json:"updated_at"`
	WebURL      *string  `json:"web_url"`
	LogInputURL *string  `json:"log_input_url"`
	ConfigVars  []string `json:"config_vars"`
}

func renderAttachment(app, addonApp core.App, ad core.Addon, at core.AddonAttachment) AttachmentJSON {
	out := AttachmentJSON{App: refOf(app), CreatedAt: Time(at.CreatedAt), ID: at.ID, Name: at.Name,
		UpdatedAt: Time(at.CreatedAt), ConfigVars: nonNil(at.ConfigVars)}
	out.Addon.ID, out.Addon.Name, out.Addon.App = ad.ID, ad.Name, refOf(addonApp)
	out.Addon.Plan = Ref{ID: ad.PlanID, Name: ad.Service + ":" + ad.Plan}
	return out
}

// DrainJSON is the log-drain resource.
type DrainJSON struct {
	Addon     any    `json:"addon"`
	App       appRef `json:"app"`
	CreatedAt Time   `json:"created_at"`
	ID        string `json:"id"`
	Token     string `json:"token"`
	UpdatedAt Time   `json:"updated_at"`
	URL       string `json:"url"`
}

func renderDrain(a core.App, d core.Drain) DrainJSON {
	return DrainJSON{App: refOf(a), CreatedAt: Time(d.CreatedAt), ID: d.ID, Token: d.Token, UpdatedAt: Time(d.CreatedAt), URL: d.URL}
}

// DomainJSON is the domain resource.
type DomainJSON struct {
	ACMStatus       *string `json:"acm_status"`
	ACMStatusReason *string `json:"acm_status_reason"`
	App             appRef  `json:"app"`
	CNAME           *string `json:"cname"`
	CreatedAt       Time    `json:"created_at"`
	Hostname        string  `json:"hostname"`
	ID              string  `json:"id"`
	Kind            string  `json:"kind"`
	UpdatedAt       Time    `json:"updated_at"`
	Status          string  `json:"status"`
	SNIEndpoint     any     `json:"sni_endpoint"`
}

func renderDomain(a core.App, d core.Domain, cname string, eps []core.SNIEndpoint) DomainJSON {
	out := DomainJSON{App: refOf(a), CreatedAt: Time(d.CreatedAt), Hostname: d.Hostname, ID: d.ID,
		Kind: d.Kind, UpdatedAt: Time(d.CreatedAt), Status: "succeeded"}
	if !d.UpdatedAt.IsZero() {
		out.UpdatedAt = Time(d.UpdatedAt)
	}
	if d.Kind == "custom" {
		out.CNAME = &cname
	}
	if d.SNIEndpointID != "" {
		ref := Ref{ID: d.SNIEndpointID}
		for _, e := range eps {
			if e.ID == d.SNIEndpointID {
				ref.Name = e.Name
			}
		}
		out.SNIEndpoint = ref
	}
	return out
}

// CollaboratorJSON is the collaborator resource.
type CollaboratorJSON struct {
	App         appRef `json:"app"`
	CreatedAt   Time   `json:"created_at"`
	ID          string `json:"id"`
	Permissions []any  `json:"permissions"`
	Role        string `json:"role"`
	UpdatedAt   Time   `json:"updated_at"`
	User        struct {
		Email     string `json:"email"`
		Federated bool   `json:"federated"`
		ID        string `json:"id"`
	} `json:"user"`
}

func renderCollaborator(a core.App, c core.Collaborator, u core.User, role string) CollaboratorJSON {
	out := CollaboratorJSON{App: refOf(a), CreatedAt: Time(c.CreatedAt), ID: c.ID, Permissions: []any{},
		Role: role, UpdatedAt: Time(c.CreatedAt)}
	out.User.Email, out.User.ID = u.Email, u.ID
	return out
}

// LogSessionJSON is the log-session resource.
type LogSessionJSON struct {
	CreatedAt  Time   `json:"created_at"`
	ID         string `json:"id"`
	LogplexURL string `json:"logplex_url"`
	UpdatedAt  Time   `json:"updated_at"`
}

// ErrorJSON is an error response.
type ErrorJSON struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	URL     string `json:"url,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, id, msg string) {
	writeJSON(w, status, ErrorJSON{ID: id, Message: msg})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
