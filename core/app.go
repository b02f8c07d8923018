package core

import "time"

// App is a Heroku app.
type App struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Stack       string `json:"stack"`
	Region      string `json:"region"`
	OwnerID     string `json:"owner_id"`
	Maintenance bool   `json:"maintenance"`
	// Buildpacks is the app's explicit ordered buildpack list (references);
	// empty means detect.
	Buildpacks []string  `json:"buildpacks,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// ReleasedAt is when the current release was created; zero for none.
	ReleasedAt time.Time `json:"released_at,omitempty"`
	// Features are the names of the app features enabled on the app
	// (Heroku's app-feature resource), e.g. "router-least-connections".
	Features []string `json:"features,omitempty"`
	// ACM is Automated Certificate Management: paasd obtains and renews
	// certificates for the app's custom domains from an ACME CA.
	ACM bool `json:"acm,omitempty"`
}

// Release states.
const (
	ReleasePending   = "pending"
	ReleaseSucceeded = "succeeded"
	ReleaseFailed    = "failed"
)

// Release is one entry of an app's append-only release ledger.
type Release struct {
	ID      string `json:"id"`
	AppID   string `json:"app_id"`
	Version int    `json:"version"`
	// SlugID is empty for releases before the first build (config-only).
	SlugID      string            `json:"slug_id,omitempty"`
	Config      map[string]string `json:"config"`
	Addons      []string          `json:"addons,omitempty"`
	Description string            `json:"description"`
	UserID      string            `json:"user_id"`
	UserEmail   string            `json:"user_email"`
	// Status is pending (release phase running), succeeded or failed.
	Status    string    `json:"status"`
	Current   bool      `json:"current"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Slug is a compiled app: a content-addressed tarball plus its process types.
type Slug struct {
	ID    string `json:"id"`
	AppID string `json:"app_id"`
	// Checksum is "SHA256:<hex>" of the tarball; the blob is stored under it.
	Checksum                     string            `json:"checksum"`
	Size                         int64             `json:"size"`
	ProcessTypes                 map[string]string `json:"process_types"`
	Stack                        string            `json:"stack"`
	Commit                       string            `json:"commit,omitempty"`
	BuildpackProvidedDescription string            `json:"buildpack_provided_description,omitempty"`
	CreatedAt                    time.Time         `json:"created_at"`
}

// Build statuses.
const (
	BuildPending   = "pending"
	BuildSucceeded = "succeeded"
	BuildFailed    = "failed"
)

// Build is one run of the buildpack chain.
type Build struct {
	ID         string    `json:"id"`
	AppID      string    `json:"app_id"`
	Status     string    `json:"status"`
	SlugID     string    `json:"slug_id,omitempty"`
	ReleaseID  string    `json:"release_id,omitempty"`
	UserID     string    `json:"user_id"`
	Buildpacks []string  `json:"buildpacks,omitempty"`
	SourceURL  string    `json:"source_url,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Formation is one process type's desired scale.
type Formation struct {
	ID        string    `json:"id"`
	AppID     string    `json:"app_id"`
	Type      string    `json:"type"`
	Quantity  int       `json:"quantity"`
	Size      string    `json:"size"`
	Command   string    `json:"command"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Dyno is a running (or recently run) process of an app, as the platform
// records it.
type Dyno struct {
	ID        string    `json:"id"`
	AppID     string    `json:"app_id"`
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	Size      string    `json:"size"`
	Command   string    `json:"command"`
	ReleaseID string    `json:"release_id"`
	Release   int       `json:"release_version"`
	State     DynoState `json:"state"`
	// RuntimeID is the runtime's id for the dyno (DynoSpec.ID).
	RuntimeID string    `json:"runtime_id"`
	Attach    bool      `json:"attach,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Addon is a provisioned add-on instance.
type Addon struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	AppID     string `json:"app_id"`
	Broker    string `json:"broker"`
	ServiceID string `json:"service_id"`
	PlanID    string `json:"plan_id"`
	// Service and Plan names, as shown to users ("heroku-postgresql:essential-0").
	Service   string    `json:"service"`
	Plan      string    `json:"plan"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AddonAttachment attaches an add-on to an app under a config var prefix.
type AddonAttachment struct {
	ID      string `json:"id"`
	AddonID string `json:"addon_id"`
	AppID   string `json:"app_id"`
	// Name is the config var prefix, e.g. "DATABASE" for DATABASE_URL.
	Name string `json:"name"`
	// ConfigVars are the var names the attachment set.
	ConfigVars []string  `json:"config_vars"`
	CreatedAt  time.Time `json:"created_at"`
}

// Domain is a hostname routed to an app.
type Domain struct {
	ID       string `json:"id"`
	AppID    string `json:"app_id"`
	Hostname string `json:"hostname"`
	Kind     string `json:"kind"` // "heroku" or "custom"
	// SNIEndpointID is the id of the app's SNI endpoint whose certificate
	// the router serves for this hostname; empty lets the router pick any
	// of the app's certificates that covers it.
	SNIEndpointID string    `json:"sni_endpoint_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at,omitempty"`
}

// SNIEndpoint is a TLS certificate and key an app uploaded for its custom
// domains; the router chooses it by SNI (Heroku's SNI endpoint).
type SNIEndpoint struct {
	ID    string `json:"id"`
	AppID string `json:"app_id"`
	// Name is unique within the app.
	Name string `json:"name"`
	// CertificateChain is the PEM chain, leaf first.
	CertificateChain string `json:"certificate_chain"`
	// PrivateKey is the PEM key; the API never returns it.
	PrivateKey string    `json:"private_key"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Drain is a log drain attached to an app.
type Drain struct {
	ID    string `json:"id"`
	AppID string `json:"app_id"`
	// Token is "d.<uuid>", sent as Logplex-Drain-Token.
	Token     string    `json:"token"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

// User is an account.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
}

// Collaborator gives a user access to an app.
type Collaborator struct {
	ID        string    `json:"id"`
	AppID     string    `json:"app_id"`
	UserID    string    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
}

// DynoSize is a Heroku dyno size and its limits.
type DynoSize struct {
	Name   string
	Limits DynoLimits
}

// DynoSizes are Heroku's dyno sizes with their memory quotas. CPU shares grow
// with memory; pids limits are generous but bounded (a fork bomb stops there).
var DynoSizes = []DynoSize{
	{"eco", DynoLimits{MemoryBytes: 512 << 20, CPUShares: 256, Pids: 256}},
	{"basic", DynoLimits{MemoryBytes: 512 << 20, CPUShares: 256, Pids: 256}},
	{"standard-1x", DynoLimits{MemoryBytes: 512 << 20, CPUShares: 512, Pids: 256}},
	{"standard-2x", DynoLimits{MemoryBytes: 1 << 30, CPUShares: 1024, Pids: 512}},
	{"performance-m", DynoLimits{MemoryBytes: 2560 << 20, CPUShares: 2048, Pids: 16384}},
	{"performance-l", DynoLimits{MemoryBytes: 14 << 30, CPUShares: 8192, Pids: 32768}},
}

// LookupDynoSize returns the size named name (case-insensitive on Heroku; here
// exact lower case) and whether it exists.
func LookupDynoSize(name string) (DynoSize, bool) {
	for _, s := range DynoSizes {
		if s.Name == name {
			return s, true
		}
	}
	return DynoSize{}, false
}
