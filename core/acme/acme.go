// Package acme is paasd's Automated Certificate Management (Heroku's ACM):
// it obtains and renews certificates for the custom domains of apps with
// ACM enabled from an ACME certificate authority (Let's Encrypt by default)
// through certmagic, answering HTTP-01 challenges on the router's HTTP
// port. Certificates and the ACME account live in certmagic's file storage
// under the data dir; the platform puts them in the route table, where the
// router serves them by SNI.
package acme

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/paasd/paasd/core"
)

// Domain ACM statuses, as Heroku names them in a domain's acm_status.
const (
	StatusPending = "pending"
	StatusIssued  = "cert issued"
	StatusFailed  = "failed"
)

// DefaultDirectoryURL is Let's Encrypt's production ACME directory.
const DefaultDirectoryURL = certmagic.LetsEncryptProductionCA

// Config configures a Manager.
type Config struct {
	// DirectoryURL is the ACME directory; default DefaultDirectoryURL.
	DirectoryURL string
	// Email is the ACME account's contact address; may be empty.
	Email string
	// CARootFile, if set, is a PEM file of CA certificates to trust for the
	// ACME server's HTTPS (a private CA, or Pebble in tests).
	CARootFile string
	// StorageDir holds the ACME account, certificates and keys.
	StorageDir string
	// RouterHTTPAddr is the router's HTTP address (host:port), where the
	// CA's HTTP-01 validation requests arrive.
	RouterHTTPAddr string
	// OnChange is called (off the caller's goroutine) with an app's id when
	// one of its certificates was obtained, renewed or failed.
	OnChange func(appID string)
	// Logger receives issuance events; default slog.Default().
	Logger *slog.Logger
}

// DomainStatus is the ACM state of one domain.
type DomainStatus struct {
	Status    string
	Reason    string
	UpdatedAt time.Time
}

// Manager obtains and renews certificates for the domains it is told to
// manage. It is safe for concurrent use.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	cache  *certmagic.Cache
	magic  *certmagic.Config
	issuer *certmagic.ACMEIssuer

	mu      sync.Mutex
	apps    map[string][]string           // app id -> managed domains
	owner   map[string]string             // domain -> app id
	cancel  map[string]context.CancelFunc // domain -> its issuance
	status  map[string]DomainStatus
	closing bool
}

// ErrConfig marks an invalid ACME configuration.
var ErrConfig = errors.New("acme config")

// New returns a Manager for cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.DirectoryURL == "" {
		cfg.DirectoryURL = DefaultDirectoryURL
	}
	if cfg.StorageDir == "" {
		return nil, fmt.Errorf("%w: no storage directory: %w", ErrConfig, core.ErrInvalid)
	}
	host, portStr, err := net.SplitHostPort(cfg.RouterHTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("%w: router HTTP address %q: %w: %w", ErrConfig, cfg.RouterHTTPAddr, err, core.ErrInvalid)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("%w: router HTTP port %q: %w: %w", ErrConfig, portStr, err, core.ErrInvalid)
	}
	var roots *x509.CertPool
	if cfg.CARootFile != "" {
		pemBytes, err := os.ReadFile(cfg.CARootFile)
		if err != nil {
			return nil, fmt.Errorf("%w: acme_ca_root: %w: %w", ErrConfig, err, core.ErrInvalid)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%w: acme_ca_root %s: no PEM certificate: %w", ErrConfig, cfg.CARootFile, core.ErrInvalid)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, apps: map[string][]string{}, owner: map[string]string{},
		cancel: map[string]context.CancelFunc{}, status: map[string]DomainStatus{}}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zap.NewNop(),
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: cfg.StorageDir},
		OnEvent: m.onEvent,
		Logger:  zap.NewNop(),
	})
	// certmagic retries failures against a test CA (Let's Encrypt's
	// staging for its production) to spare rate limits; any other CA is
	// its own test CA.
	testCA := ""
	if cfg.DirectoryURL != certmagic.LetsEncryptProductionCA {
		testCA = cfg.DirectoryURL
	}
	m.issuer = certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA: cfg.DirectoryURL, TestCA: testCA, Email: cfg.Email, Agreed: true,
		// The router answers HTTP-01 on its HTTP port (SetACMEChallenge):
		// certmagic finds the port taken and leaves the answering to it.
		ListenHost: host, AltHTTPPort: port,
		DisableTLSALPNChallenge: true,
		TrustedRoots:            roots,
		Logger:                  zap.NewNop(),
	})
	m.magic.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// Close stops issuance and renewals.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closing = true
	for _, c := range m.cancel {
		c()
	}
	m.mu.Unlock()
	m.cache.Stop()
}

// Challenge answers an HTTP-01 challenge request for host and path with
// the key authorization of a challenge this Manager started; it is the
// router's ACMEChallenge hook.
func (m *Manager) Challenge(host, path string) (string, bool) {
	chal, ok := certmagic.GetACMEChallenge(host)
	if !ok || chal.HTTP01ResourcePath() != path || !strings.EqualFold(chal.Identifier.Value, host) {
		return "", false
	}
	return chal.KeyAuthorization, true
}

// Manage sets the domains of appID to obtain and renew certificates for
// (nil: none, ACM off). New domains are issued in the background; domains
// no longer listed stop being renewed and their certificates are deleted.
func (m *Manager) Manage(appID string, domains []string) {
	want := make([]string, 0, len(domains))
	for _, d := range domains {
		want = append(want, strings.ToLower(d))
	}
	slices.Sort(want)
	want = slices.Compact(want)
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return
	}
	old := m.apps[appID]
	var added, removed []string
	for _, d := range want {
		if !slices.Contains(old, d) {
			added = append(added, d)
		}
	}
	for _, d := range old {
		if !slices.Contains(want, d) {
			removed = append(removed, d)
		}
	}
	if len(want) == 0 {
		delete(m.apps, appID)
	} else {
		m.apps[appID] = want
	}
	for _, d := range removed {
		if c := m.cancel[d]; c != nil {
			c()
		}
		delete(m.cancel, d)
		delete(m.owner, d)
		delete(m.status, d)
	}
	for _, d := range added {
		m.owner[d] = appID
		m.startLocked(d)
	}
	m.mu.Unlock()
	if len(removed) > 0 {
		subjects := make([]certmagic.SubjectIssuer, 0, len(removed))
		for _, d := range removed {
			subjects = append(subjects, certmagic.SubjectIssuer{Subject: d})
		}
		m.cache.RemoveManaged(subjects)
		m.deleteStored(removed)
	}
}

// startLocked starts managing domain d: it loads its stored certificate or
// obtains one in the background, retrying failures.
func (m *Manager) startLocked(d string) {
	if c := m.cancel[d]; c != nil {
		c()
	}
	st := DomainStatus{Status: StatusPending, UpdatedAt: time.Now().UTC()}
	if _, _, ok := m.stored(d); ok {
		st.Status = StatusIssued
	}
	m.status[d] = st
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel[d] = cancel
	if err := m.magic.ManageAsync(ctx, []string{d}); err != nil {
		m.status[d] = DomainStatus{Status: StatusFailed, Reason: err.Error(), UpdatedAt: time.Now().UTC()}
	}
}

// Refresh retries issuance now for appID's domains whose certificate is
// not issued (Heroku's ACM refresh).
func (m *Manager) Refresh(appID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.apps[appID] {
		if m.status[d].Status != StatusIssued {
			m.startLocked(d)
		}
	}
}

// Status is the ACM status of domain, or false if it is not managed.
func (m *Manager) Status(domain string) (DomainStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.status[strings.ToLower(domain)]
	return st, ok
}

// Certificate returns the stored PEM certificate chain and key for a
// managed domain, or false if none was issued yet.
func (m *Manager) Certificate(domain string) (certPEM, keyPEM string, ok bool) {
	domain = strings.ToLower(domain)
	m.mu.Lock()
	_, managed := m.owner[domain]
	m.mu.Unlock()
	if !managed {
		return "", "", false
	}
	c, k, ok := m.stored(domain)
	return string(c), string(k), ok
}

func (m *Manager) stored(domain string) (certPEM, keyPEM []byte, ok bool) {
	ctx := context.Background()
	key := m.issuer.IssuerKey()
	c, err := m.magic.Storage.Load(ctx, certmagic.StorageKeys.SiteCert(key, domain))
	if err != nil {
		return nil, nil, false
	}
	k, err := m.magic.Storage.Load(ctx, certmagic.StorageKeys.SitePrivateKey(key, domain))
	if err != nil {
		return nil, nil, false
	}
	return c, k, true
}

func (m *Manager) deleteStored(domains []string) {
	ctx := context.Background()
	key := m.issuer.IssuerKey()
	for _, d := range domains {
		if err := m.magic.Storage.Delete(ctx, certmagic.StorageKeys.CertsSitePrefix(key, d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.log.Warn("acme: deleting certificate", "domain", d, "err", err)
		}
	}
}

// onEvent follows certmagic's issuance events into domain statuses.
func (m *Manager) onEvent(_ context.Context, event string, data map[string]any) error {
	var st DomainStatus
	switch event {
	case "cert_obtained":
		st.Status = StatusIssued
	case "cert_failed":
		st.Status = StatusFailed
		if err, ok := data["error"].(error); ok {
			if errors.Is(err, context.Canceled) {
				return nil // an attempt Refresh or Manage replaced or stopped
			}
			st.Reason = err.Error()
		}
	default:
		return nil
	}
	d, _ := data["identifier"].(string)
	d = strings.ToLower(d)
	st.UpdatedAt = time.Now().UTC()
	m.mu.Lock()
	appID, ok := m.owner[d]
	if ok {
		m.status[d] = st
	}
	m.mu.Unlock()
	if !ok {
		return nil
	}
	if st.Status == StatusFailed {
		m.log.Warn("acme: certificate failed; retrying", "domain", d, "err", st.Reason)
	} else {
		m.log.Info("acme: certificate issued", "domain", d)
	}
	if m.cfg.OnChange != nil {
		go m.cfg.OnChange(appID)
	}
	return nil
}

// DomainStatus is Status as the API renders it: acm_status and
// acm_status_reason (implements api.ACM).
func (m *Manager) DomainStatus(hostname string) (status, reason string, ok bool) {
	st, ok := m.Status(hostname)
	return st.Status, st.Reason, ok
}
