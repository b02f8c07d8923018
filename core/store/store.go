// Package store keeps paasd's platform state: apps, their release ledger,
// config vars, formation, dynos, builds, slugs, add-ons and attachments,
// domains and their TLS certificates (SNI endpoints), log drains, users,
// API tokens and collaborators.
//
// [Store] is the one interface the rest of paasd uses; it is the union of a
// few small interfaces, one per noun ([Apps], [Releases], …). [Open] returns
// the embedded default, a single bbolt file under the data directory.
//
// # Errors
//
// Every method reports failures by wrapping a sentinel of package core with
// %w, so callers test them with errors.Is:
//
//   - core.ErrNotFound: the app, release, user, … named does not exist
//     (the message names what was looked up).
//   - core.ErrConflict: a unique name is taken by another resource (app name,
//     add-on name, domain hostname, user email, drain URL within an app,
//     attachment name within an app), or an update would break an invariant.
//   - core.ErrAlreadyExists: the exact same relation already exists
//     (a collaborator added twice); callers may treat it as success.
//   - core.ErrInvalid: a required field is missing or malformed.
//
// Anything else is an I/O or encoding failure of the backend.
//
// # Notes
//
// The interface is deliberately narrow (get, list, create, update with a
// function, delete, and the two ledger operations that must be atomic) so
// that a PostgreSQL implementation can follow: every method is one
// transaction, lists are returned whole and sorted (pagination is the API's
// job), and the only read-modify-write methods ([Releases.UpdateConfig],
// the Update* methods) take a function that the backend runs inside its
// transaction (in SQL: SELECT … FOR UPDATE, then UPDATE).
//
// Release versions are allocated inside the transaction that appends the
// release: they never repeat and never skip, even under concurrent writers.
// The current release of an app is its highest version whose status is not
// failed.
package store

import (
	"context"
	"time"

	"github.com/paasd/paasd/core"
)

// Store is paasd's platform state. Implementations are safe for concurrent
// use; every method is atomic and durable when it returns nil.
type Store interface {
	Apps
	Releases
	Formations
	Dynos
	Builds
	Slugs
	Addons
	Domains
	SNIEndpoints
	Drains
	Users
	Tokens
	Collaborators
	// Stats counts the stored apps, releases, users and dynos.
	Stats(ctx context.Context) (Stats, error)
	// Close releases the backend; the Store must not be used afterwards.
	Close() error
}

// Stats are counts of stored resources, for metrics.
type Stats struct {
	Apps     int
	Releases int
	Users    int
	Dynos    int
}

// Apps stores apps.
type Apps interface {
	// CreateApp stores a new app and its first release (version 1) in one
	// transaction. Empty IDs are assigned. It returns ErrConflict if the name
	// is taken and ErrInvalid if the name or owner is empty.
	CreateApp(ctx context.Context, app core.App, first core.Release) (core.App, core.Release, error)
	// GetApp returns the app whose id or name is idOrName, or ErrNotFound.
	GetApp(ctx context.Context, idOrName string) (core.App, error)
	// ListApps returns the apps userID owns or collaborates on, sorted by
	// name; an empty userID lists every app.
	ListApps(ctx context.Context, userID string) ([]core.App, error)
	// UpdateApp runs fn on the stored app and stores the result (rename,
	// maintenance, owner, buildpacks). The ID cannot change. It returns
	// ErrNotFound, ErrConflict if a new name is taken, or fn's error.
	UpdateApp(ctx context.Context, idOrName string, fn func(*core.App) error) (core.App, error)
	// DeleteApp deletes the app and everything that belongs to it (releases,
	// formation, dynos, builds, slugs, add-ons and attachments, domains,
	// drains, collaborators) and returns it, or ErrNotFound.
	DeleteApp(ctx context.Context, idOrName string) (core.App, error)
}

// Releases stores each app's append-only release ledger.
type Releases interface {
	// AppendRelease stores r as the app's next release: Version is the last
	// version plus one, ID is assigned if empty, Status defaults to
	// succeeded. Returns ErrNotFound if the app does not exist.
	AppendRelease(ctx context.Context, appID string, r core.Release) (core.Release, error)
	// UpdateConfig is "config:set": in one transaction it reads the current
	// release's config vars, applies changes (a nil value unsets the var),
	// and appends a new release with the merged config and the current
	// release's slug and add-ons; r supplies Description, UserID and
	// UserEmail, and, when set, a new SlugID (a deploy) or a new Addons list
	// (an add-on attached or detached). Two concurrent calls both land, as
	// two releases, the later one holding both changes. Returns ErrNotFound
	// if the app does not exist.
	UpdateConfig(ctx context.Context, appID string, changes map[string]*string, r core.Release) (core.Release, error)
	// GetRelease returns the release whose id or version ("7" or "v7") is
	// idOrVersion, or ErrNotFound.
	GetRelease(ctx context.Context, appID, idOrVersion string) (core.Release, error)
	// ListReleases returns the app's releases by ascending version, with
	// Current set on the current one. Returns ErrNotFound if the app does not
	// exist.
	ListReleases(ctx context.Context, appID string) ([]core.Release, error)
	// CurrentRelease returns the highest-version release that is neither
	// pending (release phase running) nor
	// failed, or ErrNotFound.
	CurrentRelease(ctx context.Context, appID string) (core.Release, error)
	// UpdateRelease runs fn on a stored release (status after the release
	// phase). Version, ID and AppID cannot change.
	UpdateRelease(ctx context.Context, appID, id string, fn func(*core.Release) error) (core.Release, error)
}

// FormationUpdate changes one process type's scale; nil fields are kept.
type FormationUpdate struct {
	Type     string
	Quantity *int
	Size     *string
}

// Formations stores each app's desired scale by process type.
type Formations interface {
	// ListFormation returns the app's process types sorted by type.
	ListFormation(ctx context.Context, appID string) ([]core.Formation, error)
	// GetFormation returns the process type whose type or id is typeOrID, or
	// ErrNotFound.
	GetFormation(ctx context.Context, appID, typeOrID string) (core.Formation, error)
	// PutFormation creates or replaces the process type f.Type (the build
	// pipeline calls it with a slug's process types).
	PutFormation(ctx context.Context, appID string, f core.Formation) (core.Formation, error)
	// UpdateFormation applies every update in one transaction, or none: it
	// returns ErrNotFound naming the first unknown type.
	UpdateFormation(ctx context.Context, appID string, updates []FormationUpdate) ([]core.Formation, error)
	// DeleteFormation removes a process type, or returns ErrNotFound.
	DeleteFormation(ctx context.Context, appID, typ string) error
}

// Dynos stores the dynos the dyno manager reports.
type Dynos interface {
	// PutDyno creates or replaces the dyno d.Name of app d.AppID.
	PutDyno(ctx context.Context, d core.Dyno) (core.Dyno, error)
	// GetDyno returns the dyno whose name or id is nameOrID, or ErrNotFound.
	GetDyno(ctx context.Context, appID, nameOrID string) (core.Dyno, error)
	// ListDynos returns the app's dynos sorted by name.
	ListDynos(ctx context.Context, appID string) ([]core.Dyno, error)
	// DeleteDyno removes a dyno record, or returns ErrNotFound.
	DeleteDyno(ctx context.Context, appID, name string) error
}

// Builds stores builds.
type Builds interface {
	// CreateBuild stores a new build (status defaults to pending).
	CreateBuild(ctx context.Context, b core.Build) (core.Build, error)
	// GetBuild returns a build of the app, or ErrNotFound.
	GetBuild(ctx context.Context, appID, id string) (core.Build, error)
	// ListBuilds returns the app's builds by creation time.
	ListBuilds(ctx context.Context, appID string) ([]core.Build, error)
	// UpdateBuild runs fn on a stored build (status, slug, release).
	UpdateBuild(ctx context.Context, appID, id string, fn func(*core.Build) error) (core.Build, error)
}

// Slugs stores slug metadata (the blobs live in the slug store).
type Slugs interface {
	// CreateSlug stores a new slug.
	CreateSlug(ctx context.Context, s core.Slug) (core.Slug, error)
	// GetSlug returns a slug of the app, or ErrNotFound.
	GetSlug(ctx context.Context, appID, id string) (core.Slug, error)
}

// AttachmentFilter selects attachments; empty fields match everything.
type AttachmentFilter struct {
	AppID   string
	AddonID string
}

// Addons stores add-ons and their attachments.
type Addons interface {
	// CreateAddon stores a new add-on; names are unique across the platform
	// (ErrConflict).
	CreateAddon(ctx context.Context, a core.Addon) (core.Addon, error)
	// GetAddon returns the add-on whose id or name is idOrName, or ErrNotFound.
	GetAddon(ctx context.Context, idOrName string) (core.Addon, error)
	// ListAddons returns the add-ons owned by appID (all when empty), by name.
	ListAddons(ctx context.Context, appID string) ([]core.Addon, error)
	// UpdateAddon runs fn on a stored add-on (state, plan). Renames are
	// checked for uniqueness.
	UpdateAddon(ctx context.Context, idOrName string, fn func(*core.Addon) error) (core.Addon, error)
	// DeleteAddon deletes the add-on and its attachments and returns it.
	DeleteAddon(ctx context.Context, idOrName string) (core.Addon, error)
	// CreateAttachment attaches an add-on to an app; the attachment name is
	// unique within the app (ErrConflict). ErrNotFound if the add-on or app
	// does not exist.
	CreateAttachment(ctx context.Context, at core.AddonAttachment) (core.AddonAttachment, error)
	// GetAttachment returns the attachment with that id, or ErrNotFound.
	GetAttachment(ctx context.Context, id string) (core.AddonAttachment, error)
	// ListAttachments returns matching attachments by name.
	ListAttachments(ctx context.Context, f AttachmentFilter) ([]core.AddonAttachment, error)
	// DeleteAttachment removes an attachment and returns it.
	DeleteAttachment(ctx context.Context, id string) (core.AddonAttachment, error)
}

// Domains stores custom and default hostnames.
type Domains interface {
	// CreateDomain stores a hostname for an app; hostnames are unique across
	// the platform (ErrConflict).
	CreateDomain(ctx context.Context, d core.Domain) (core.Domain, error)
	// GetDomain returns the app's domain by id or hostname, or ErrNotFound.
	GetDomain(ctx context.Context, appID, idOrHostname string) (core.Domain, error)
	// ListDomains returns the app's domains by hostname.
	ListDomains(ctx context.Context, appID string) ([]core.Domain, error)
	// DeleteDomain removes the domain and returns it.
	DeleteDomain(ctx context.Context, appID, idOrHostname string) (core.Domain, error)
	// UpdateDomain runs fn on the stored domain (its SNI endpoint) and
	// stores the result; ID, AppID and Hostname cannot change. A non-empty
	// SNIEndpointID must name an endpoint of the app (ErrNotFound).
	UpdateDomain(ctx context.Context, appID, idOrHostname string, fn func(*core.Domain) error) (core.Domain, error)
}

// SNIEndpoints stores apps' TLS certificates (Heroku's SNI endpoints).
type SNIEndpoints interface {
	// CreateSNIEndpoint stores a certificate for e.AppID; names are unique
	// within the app (ErrConflict). Empty IDs are assigned.
	CreateSNIEndpoint(ctx context.Context, e core.SNIEndpoint) (core.SNIEndpoint, error)
	// GetSNIEndpoint returns the app's endpoint by id or name, or
	// ErrNotFound.
	GetSNIEndpoint(ctx context.Context, appID, idOrName string) (core.SNIEndpoint, error)
	// ListSNIEndpoints returns the app's endpoints by creation time.
	ListSNIEndpoints(ctx context.Context, appID string) ([]core.SNIEndpoint, error)
	// UpdateSNIEndpoint runs fn on a stored endpoint (a new certificate
	// and key); ID, AppID and Name cannot change.
	UpdateSNIEndpoint(ctx context.Context, appID, idOrName string, fn func(*core.SNIEndpoint) error) (core.SNIEndpoint, error)
	// DeleteSNIEndpoint removes the endpoint, clears it from the app's
	// domains that referenced it, and returns it.
	DeleteSNIEndpoint(ctx context.Context, appID, idOrName string) (core.SNIEndpoint, error)
}

// Drains stores log drains.
type Drains interface {
	// CreateDrain stores a drain; a URL appears once per app (ErrConflict).
	CreateDrain(ctx context.Context, d core.Drain) (core.Drain, error)
	// GetDrain returns the app's drain by id, URL or token, or ErrNotFound.
	GetDrain(ctx context.Context, appID, idURLOrToken string) (core.Drain, error)
	// ListDrains returns the app's drains by creation time.
	ListDrains(ctx context.Context, appID string) ([]core.Drain, error)
	// DeleteDrain removes the drain and returns it.
	DeleteDrain(ctx context.Context, appID, idURLOrToken string) (core.Drain, error)
}

// Users stores accounts.
type Users interface {
	// CreateUser stores an account; emails are unique (ErrConflict).
	CreateUser(ctx context.Context, u core.User) (core.User, error)
	// GetUser returns the user whose id or email is idOrEmail, or ErrNotFound.
	GetUser(ctx context.Context, idOrEmail string) (core.User, error)
	// ListUsers returns every user by email.
	ListUsers(ctx context.Context) ([]core.User, error)
}

// Token is an API token's metadata. The secret itself is never stored: the
// store keeps its SHA-256 and looks tokens up by hashing what is presented.
type Token struct {
	ID          string    `json:"id"`
	UserID      string    `json:"user_id"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// Tokens stores API tokens, hashed at rest (SHA-256).
type Tokens interface {
	// CreateToken stores the hash of secret for t.UserID. ErrNotFound if the
	// user does not exist, ErrInvalid if secret is shorter than 16 bytes.
	CreateToken(ctx context.Context, t Token, secret string) (Token, error)
	// Authenticate returns the user and token whose secret this is, or
	// ErrNotFound.
	Authenticate(ctx context.Context, secret string) (core.User, Token, error)
	// ListTokens returns the user's tokens by creation time.
	ListTokens(ctx context.Context, userID string) ([]Token, error)
	// DeleteToken revokes a token, or returns ErrNotFound.
	DeleteToken(ctx context.Context, id string) error
}

// Collaborators stores who may use an app besides its owner.
type Collaborators interface {
	// AddCollaborator gives c.UserID access to c.AppID. ErrAlreadyExists if
	// the user already collaborates, ErrConflict if the user owns the app,
	// ErrNotFound if the app or user does not exist.
	AddCollaborator(ctx context.Context, c core.Collaborator) (core.Collaborator, error)
	// ListCollaborators returns the app's collaborators by creation time
	// (the owner is not listed).
	ListCollaborators(ctx context.Context, appID string) ([]core.Collaborator, error)
	// GetCollaborator returns the collaborator by id or user id, or ErrNotFound.
	GetCollaborator(ctx context.Context, appID, idOrUserID string) (core.Collaborator, error)
	// RemoveCollaborator revokes access and returns the removed record.
	RemoveCollaborator(ctx context.Context, appID, idOrUserID string) (core.Collaborator, error)
}
