package apiclient

import "time"

// The resource types below hold the fields of the Heroku Platform API v3
// schema the CLI shows; the API's answers have more, which --json prints
// unchanged.

// Ref is a {id, name} reference.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// UserRef is a {id, email} reference.
type UserRef struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// Account is GET /account.
type Account struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// App is the app resource.
type App struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	GitURL      string `json:"git_url"`
	WebURL      string `json:"web_url"`
	Maintenance bool   `json:"maintenance"`
	// ACM is Automated Certificate Management (certs:auto).
	ACM        bool       `json:"acm"`
	Owner      UserRef    `json:"owner"`
	Region     Ref        `json:"region"`
	Stack      Ref        `json:"stack"`
	BuildStack Ref        `json:"build_stack"`
	RepoSize   *int64     `json:"repo_size"`
	SlugSize   *int64     `json:"slug_size"`
	CreatedAt  time.Time  `json:"created_at"`
	ReleasedAt *time.Time `json:"released_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Release is the release resource.
type Release struct {
	ID             string    `json:"id"`
	Version        int       `json:"version"`
	Description    string    `json:"description"`
	Status         string    `json:"status"`
	Current        bool      `json:"current"`
	User           UserRef   `json:"user"`
	Slug           *Ref      `json:"slug"`
	AddonPlanNames []string  `json:"addon_plan_names"`
	CreatedAt      time.Time `json:"created_at"`
}

// Formation is one process type's scale.
type Formation struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Quantity int    `json:"quantity"`
	Size     string `json:"size"`
	Command  string `json:"command"`
}

// Dyno is the dyno resource.
type Dyno struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Size      string  `json:"size"`
	State     string  `json:"state"`
	Command   string  `json:"command"`
	AttachURL *string `json:"attach_url"`
	Release   struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	} `json:"release"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Addon is the add-on resource.
type Addon struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	AddonService Ref       `json:"addon_service"`
	Plan         Ref       `json:"plan"`
	App          Ref       `json:"app"`
	State        string    `json:"state"`
	ConfigVars   []string  `json:"config_vars"`
	CreatedAt    time.Time `json:"created_at"`
	BilledPrice  *struct {
		Cents int    `json:"cents"`
		Unit  string `json:"unit"`
	} `json:"billed_price"`
	ProvisionMessage *string `json:"provision_message"`
}

// Attachment is the add-on attachment resource.
type Attachment struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	App   Ref    `json:"app"`
	Addon struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		App  Ref    `json:"app"`
	} `json:"addon"`
}

// Domain is the domain resource.
type Domain struct {
	ID       string  `json:"id"`
	Hostname string  `json:"hostname"`
	Kind     string  `json:"kind"`
	CNAME    *string `json:"cname"`
	Status   string  `json:"status"`
	// ACMStatus and ACMStatusReason are the domain's automated
	// certificate state ("cert issued", "pending", "failed") and why.
	ACMStatus       *string `json:"acm_status"`
	ACMStatusReason *string `json:"acm_status_reason"`
	// SNIEndpoint is the {id, name} of the certificate serving the
	// hostname, or nil.
	SNIEndpoint *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"sni_endpoint"`
}

// SNIEndpoint is the sni-endpoint resource (an app's TLS certificate).
type SNIEndpoint struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	CertificateChain string   `json:"certificate_chain"`
	Domains          []string `json:"domains"`
	SSLCert          struct {
		CASigned    bool      `json:"ca_signed?"`
		CertDomains []string  `json:"cert_domains"`
		ExpiresAt   time.Time `json:"expires_at"`
		Issuer      string    `json:"issuer"`
		SelfSigned  bool      `json:"self_signed?"`
		StartsAt    time.Time `json:"starts_at"`
		Subject     string    `json:"subject"`
	} `json:"ssl_cert"`
}

// AppFeature is the app-feature resource.
type AppFeature struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
	State       string `json:"state"`
}

// Drain is the log-drain resource.
type Drain struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Token string `json:"token"`
}

// LogSession is the log-session resource.
type LogSession struct {
	ID         string `json:"id"`
	LogplexURL string `json:"logplex_url"`
}

// BuildpackInstallation is one entry of an app's buildpack list.
type BuildpackInstallation struct {
	Ordinal   int `json:"ordinal"`
	Buildpack struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	} `json:"buildpack"`
}

// Authorization is an OAuth authorization (API token).
type Authorization struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	AccessToken *struct {
		Token string `json:"token"`
	} `json:"access_token"`
}
