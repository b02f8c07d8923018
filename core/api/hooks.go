package api

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/paasd/paasd/core"
)

// The interfaces in this file are where the rest of the platform plugs into
// the API. The API stores the desired state first, then calls the hook; the
// components behind the hooks are level-triggered (they read the store and
// converge), so a failed hook call is logged, not returned, unless the
// hook's result is part of the response (Run, Provision, NewLogSession).
// Every field of [Options] that holds one may be nil: the default is stated
// on the field.

// DynoManager acts on what should run. paasd's dyno manager implements it.
type DynoManager interface {
	// Converge is called after every change to what should run for the app:
	// a new release, a formation change, maintenance toggled, the app
	// deleted (then the app is gone from the store). It should return
	// quickly and converge in the background.
	Converge(ctx context.Context, appID string) error
	// Run starts a one-off dyno ("heroku run") and returns its record,
	// already stored with the store's Dynos methods.
	Run(ctx context.Context, app core.App, req RunRequest) (core.Dyno, error)
	// Restart restarts the app's dynos: all when target is empty, else the
	// dyno named target ("web.1") or every dyno of process type target.
	Restart(ctx context.Context, app core.App, target string) error
	// Stop stops the dyno named target, or every dyno of process type
	// target; the formation brings back what it still asks for.
	Stop(ctx context.Context, app core.App, target string) error
}

// DynoAttacher is an optional DynoManager capability: Attach connects tio
// to the one-off dyno named or identified by dyno (started with attach) and
// returns its exit code. It returns an error wrapping core.ErrNotFound for
// an unknown dyno.
type DynoAttacher interface {
	Attach(ctx context.Context, app core.App, dyno string, tio core.AttachIO) (int, error)
}

// Rendezvous issues attach URLs for one-off dynos, as Heroku's rendezvous
// service does for `heroku run` (package attach implements it).
type Rendezvous interface {
	// AttachURL returns a single-use rendezvous://HOST:PORT/SECRET URL for
	// the dyno of app a; host is the name the client used to reach the API
	// and size, if not zero, the terminal's size.
	AttachURL(a core.App, dyno, host string, size core.TermSize) (string, error)
}

// RunRequest is POST /apps/{app}/dynos.
type RunRequest struct {
	Command string            `json:"command"`
	Env     map[string]string `json:"env,omitempty"`
	Size    string            `json:"size,omitempty"`
	Type    string            `json:"type,omitempty"`
	Attach  bool              `json:"attach,omitempty"`
	// ForceNoTTY is sent by `heroku run --no-tty`; paasd's one-off dynos
	// always get a terminal when attached.
	ForceNoTTY bool `json:"force_no_tty,omitempty"`
	TimeToLive int  `json:"time_to_live,omitempty"`
}

// Builder runs builds. paasd's build pipeline implements it.
type Builder interface {
	// Build starts build b (stored, status pending) in the background. The
	// builder updates the build in the store when it finishes, creates the
	// slug and the release, and calls back nothing: the store is the truth.
	Build(ctx context.Context, app core.App, b core.Build) error
}

// SlugBlobs hands out URLs for slug tarballs. The slug store implements it.
type SlugBlobs interface {
	// BlobURL returns the URL to upload (method "put") or download
	// (method "get") the tarball of slug.
	BlobURL(ctx context.Context, app core.App, slug core.Slug, method string) (string, error)
}

// AddonRequest is what POST /apps/{app}/addons asks for.
type AddonRequest struct {
	// Plan is "service:plan" or "service" for the default plan.
	Plan string
	// Name is the requested add-on name; empty to let the service choose.
	Name string
	// Config is the provisioning parameters (--key=value on the CLI).
	Config map[string]string
	// AttachmentName is the attachment's requested name (--as); empty
	// lets the service choose ("DATABASE", then a coloured name).
	AttachmentName string
}

// Provisioned is an add-on a broker created.
type Provisioned struct {
	// Addon holds Broker, ServiceID, PlanID, Service, Plan, State and,
	// optionally, Name; the API fills ID, AppID and the timestamps.
	Addon core.Addon
	// AttachmentName is the config var prefix ("DATABASE"), used when the
	// request did not name one.
	AttachmentName string
	// Config holds the config vars to set on the app, keyed by their full
	// names ("DATABASE_URL").
	Config map[string]string
	// Message is shown to the user ("Database has been created …").
	Message string
}

// AddonService provisions and deprovisions add-ons through the add-on
// brokers. paasd's add-on manager implements it.
type AddonService interface {
	// Provision creates an add-on for app. It returns an error wrapping
	// core.ErrNotFound for an unknown service or plan.
	Provision(ctx context.Context, app core.App, req AddonRequest) (Provisioned, error)
	// Deprovision destroys the add-on.
	Deprovision(ctx context.Context, app core.App, addon core.Addon) error
}

// AttachRequest attaches an existing add-on to an app (POST
// /addon-attachments).
type AttachRequest struct {
	// Name is the requested attachment name (--as); empty lets the
	// service choose.
	Name string
	// Existing are the target app's attachment names.
	Existing []string
}

// Attached is a new attachment's name and credentials.
type Attached struct {
	// Name is the attachment's name ("SHOP_DB").
	Name string
	// Config holds the config vars to set on the target app, keyed by
	// their full names ("SHOP_DB_URL").
	Config map[string]string
}

// AddonAttacher is implemented by add-on services that give each
// attachment its own credentials (a broker binding). Without it, an
// attachment to another app copies the add-on's config vars from its
// own app.
type AddonAttacher interface {
	// Attach binds ad to app. It returns an error wrapping
	// core.ErrConflict for a name app already uses; a failed attach
	// leaves no credentials.
	Attach(ctx context.Context, app core.App, ad core.Addon, req AttachRequest) (Attached, error)
	// Detach revokes the attachment's credentials. Credentials the broker
	// no longer knows count as revoked.
	Detach(ctx context.Context, ad core.Addon, at core.AddonAttachment) error
}

// LogSessionRequest is POST /apps/{app}/log-sessions.
type LogSessionRequest struct {
	Dyno   string `json:"dyno,omitempty"`
	Lines  int    `json:"lines,omitempty"`
	Source string `json:"source,omitempty"`
	Tail   bool   `json:"tail,omitempty"`
}

// LogSessions mints log session URLs. Logplex implements it.
type LogSessions interface {
	// NewLogSession returns the logplex_url a client GETs to read the app's
	// logs (recent lines, then the tail when req.Tail).
	NewLogSession(ctx context.Context, app core.App, req LogSessionRequest) (string, error)
}

// APILogger receives the heroku[api] log lines of an app ("Release v7
// created by user user@example.com"). Logplex implements it.
type APILogger interface {
	LogAPI(ctx context.Context, app core.App, line string)
}

// RouteSyncer is told when an app's routes may have changed (app created,
// renamed or deleted, maintenance toggled, domain added or removed). The
// router implements it by re-reading the app's domains from the store.
type RouteSyncer interface {
	SyncRoutes(ctx context.Context, appID string) error
}

// DrainSyncer is told when an app's log drains changed. Logplex implements it.
type DrainSyncer interface {
	SyncDrains(ctx context.Context, appID string) error
}

// Defaults used for nil Options fields. They keep the API usable on its own:
// the state is stored and served, and nothing runs.

type noDynos struct{}

func (noDynos) Converge(context.Context, string) error { return nil }
func (noDynos) Run(context.Context, core.App, RunRequest) (core.Dyno, error) {
	return core.Dyno{}, fmt.Errorf("one-off dynos need a dyno runtime, and this paasd has none configured: %w", core.ErrUnavailable)
}
func (noDynos) Restart(context.Context, core.App, string) error { return nil }
func (noDynos) Stop(context.Context, core.App, string) error    { return nil }

type noBuilder struct{}

func (noBuilder) Build(context.Context, core.App, core.Build) error { return nil }

type noBlobs struct{}

func (noBlobs) BlobURL(context.Context, core.App, core.Slug, string) (string, error) { return "", nil }

type noAddons struct{}

func (noAddons) Provision(_ context.Context, _ core.App, req AddonRequest) (Provisioned, error) {
	return Provisioned{}, fmt.Errorf("add-on service or plan %q: no add-on brokers are configured: %w", req.Plan, core.ErrNotFound)
}
func (noAddons) Deprovision(context.Context, core.App, core.Addon) error { return nil }

type noLogSessions struct{}

func (noLogSessions) NewLogSession(context.Context, core.App, LogSessionRequest) (string, error) {
	return "", fmt.Errorf("log sessions need Logplex, and this paasd has none configured: %w", core.ErrUnavailable)
}

// SlogAPILogger writes heroku[api] lines to a slog.Logger, at Info.
type SlogAPILogger struct{ Log *slog.Logger }

// LogAPI implements APILogger.
func (l SlogAPILogger) LogAPI(_ context.Context, app core.App, line string) {
	l.Log.Info(line, "app", app.Name, "source", "heroku", "dyno", "api")
}

type noSync struct{}

func (noSync) SyncRoutes(context.Context, string) error { return nil }
func (noSync) SyncDrains(context.Context, string) error { return nil }

var (
	_ DynoManager  = noDynos{}
	_ Builder      = noBuilder{}
	_ SlugBlobs    = noBlobs{}
	_ AddonService = noAddons{}
	_ LogSessions  = noLogSessions{}
	_ APILogger    = SlogAPILogger{}
	_ RouteSyncer  = noSync{}
	_ DrainSyncer  = noSync{}
)

// BuildpackChecker vets the entries of an app's buildpack list. paasd's
// build pipeline implements it.
type BuildpackChecker interface {
	// CheckBuildpack returns the name users see for ref ("heroku/go" for
	// "heroku/go" or the URL of Heroku's Go buildpack), or an error
	// wrapping core.ErrInvalid that names what is wrong (an unknown
	// buildpack, a plugin reference the operator did not install).
	CheckBuildpack(ctx context.Context, ref string) (name string, err error)
}

// anyBuildpack accepts every non-empty reference under its own name.
type anyBuildpack struct{}

func (anyBuildpack) CheckBuildpack(_ context.Context, ref string) (string, error) { return ref, nil }
